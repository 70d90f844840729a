"""The public report (ci_metrics.share.report): content, disclosure, accessibility, offline, browser.

A realistic warehouse is built in tmp_path: the sample city's values of
``data/samples/truth.json`` (2016-2021) with small cells as ``marts.indicator_values``, and
ops tables of a run with rejected rows (masked IDs) and failed warnings; then the project's
own dbt models build the rest from them (the registry seed, ``marts.indicators``,
``marts.indicator_progress`` and the data-quality marts), their unit tests included. The
report is checked against those marts: it computes nothing they hold.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import make_settings, require_program
from statsmodels.stats.proportion import proportion_confint

from ci_metrics.ingest.ledger import ensure_ops
from ci_metrics.publish.dbt import run_dbt
from ci_metrics.share.extracts import build_partner_frame, load_agreement
from ci_metrics.share.extracts.disclosure import round_half_up
from ci_metrics.share.report import ReportError, build_report, charts, labels
from ci_metrics.share.report.formatting import format_value, split_value
from ci_metrics.share.report.pdf import chromium_command, find_chromium

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "data" / "samples" / "truth.json"
REGISTRY_SEED = ROOT / "seeds" / "indicator_registry.csv"
AGREEMENTS = ROOT / "agreements"
SCREENSHOT = ROOT / "docs" / "report-screenshot.png"
AS_OF = dt.date(2022, 1, 5)
TODAY = dt.date(2026, 6, 1)  # the public agreement is in force 2026-2030
RUN_ID = "20220105T020000Z-5f3a9c"
FILE_IDS = ["a" * 64, "b" * 64, "c" * 64, "d" * 64, "e" * 64, "f" * 63 + "0", "9" * 64]
MASKED = "*******47"
SURVEYS = ("srv_trust_municipality", "srv_optimism", "srv_intent_to_stay")


# --------------------------------------------------------------------------- fixture


def _values() -> pd.DataFrame:
    v = pd.DataFrame(json.loads(TRUTH.read_text(encoding="utf-8")))
    v["unweighted_count"] = v["denominator"]
    surveys = v["indicator_id"].isin(SURVEYS)
    v.loc[surveys, "unweighted_count"] = (v.loc[surveys, "denominator"] / 1.07).round()
    # Small cells: a youth-movement total of 2017 counting 6 residents (primary suppression,
    # which withholds every breakdown of that year too), and a survey age group of 7.
    small = (
        (v["indicator_id"] == "yth_movement_participation")
        & (v["period"] == 2017)
        & (v["dimension"] == "total")
    )
    v.loc[small, "unweighted_count"] = 6
    extra = {
        "indicator_id": "srv_optimism",
        "period": 2021,
        "locality_code": 1034,
        "dimension": "age_group",
        "dimension_value": "90+",
        "numerator": 4.31,
        "denominator": 7.3,
        "value": 100 * 4.31 / 7.3,
        "unweighted_count": 7,
    }
    v = pd.concat([v, pd.DataFrame([extra])], ignore_index=True)
    v["unweighted_count"] = v["unweighted_count"].astype("Int64")
    reg = pd.read_csv(REGISTRY_SEED)
    v["unit"] = v["indicator_id"].map(reg.set_index("indicator_id")["unit"])
    v["min_cell_size"] = 10
    v["is_below_min_cell_size"] = v["unweighted_count"].fillna(99) < 10
    # The 95% interval (issue 15; dbt computes it in the pipeline): Wilson on the share and the
    # count of people / responses for percentages (statsmodels), none for the other units here.
    v["ci_method"] = v["indicator_id"].map(reg.set_index("indicator_id")["ci_method"]).fillna("none")
    share = v["unit"].isin(["%", "weighted %"]) & v["unweighted_count"].notna()
    n = v.loc[share, "unweighted_count"].astype(float)
    lo, hi = proportion_confint(
        n * v.loc[share, "numerator"] / v.loc[share, "denominator"], n, method="wilson"
    )
    v["ci_lower"], v["ci_upper"] = float("nan"), float("nan")
    v.loc[share, "ci_lower"], v.loc[share, "ci_upper"] = 100 * lo, 100 * hi
    return v


def _ops(con: duckdb.DuckDBPyConnection) -> None:
    ensure_ops(con)
    now = dt.datetime(2022, 1, 5, 2, 0)
    files = [
        # file_id, source, layout, name, status, read, loaded, rejected
        (FILE_IDS[0], "residents", "residents", "residents_1034_20220105.csv", "loaded", 25400, 25396, 4),
        (FILE_IDS[1], "schools", "schools", "achievement_1034_2021.xlsx", "loaded", 2580, 2577, 3),
        (FILE_IDS[2], "youth", "tzofim", "tzofim_1034_2021.csv", "loaded", 610, 610, 0),
        (FILE_IDS[3], "welfare", "welfare", "welfare_1034_20220105.csv", "loaded", 3650, 3649, 1),
        (FILE_IDS[4], "surveys", "surveys", "survey_1034_2021.csv", "loaded", 700, 700, 0),
        (FILE_IDS[5], "youth", None, "krembo_members_final_v2.xlsx", "rejected", None, None, None),
        (FILE_IDS[6], "schools", "schools", "achievement_1034_2020.xlsx", "superseded", 2500, 2500, 0),
    ]
    con.executemany(
        "insert into ops.files (file_id, source, layout, file_name, size_bytes, locality_code, period, "
        "received_at, run_id, archived_path, status, rows_read, rows_loaded, rows_rejected) "
        "values (?, ?, ?, ?, 1000, 1034, 2021, ?, ?, ?, ?, ?, ?, ?)",
        [
            [f, s, lay, n, now, RUN_ID, f"archive/{s}/{n}", st, rr, rl, rj]
            for f, s, lay, n, st, rr, rl, rj in files
        ],
    )
    rejects = [
        (
            FILE_IDS[0],
            "residents",
            "residents_1034_20220105.csv",
            17,
            "מספר זהות",
            "national ID fails its check digit",
            MASKED,
        ),
        (
            FILE_IDS[0],
            "residents",
            "residents_1034_20220105.csv",
            230,
            "מספר זהות",
            "national ID fails its check digit",
            "*******03",
        ),
        (
            FILE_IDS[0],
            "residents",
            "residents_1034_20220105.csv",
            231,
            "תאריך לידה",
            "תאריך לידה is not a valid date (dd/mm/yyyy)",
            "31/02/1990",
        ),
        (
            FILE_IDS[0],
            "residents",
            "residents_1034_20220105.csv",
            231,
            "מספר זהות",
            "national ID is empty",
            "",
        ),
        (
            FILE_IDS[0],
            "residents",
            "residents_1034_20220105.csv",
            900,
            "מספר זהות",
            "national ID fails its check digit",
            "*******88",
        ),
        (
            FILE_IDS[1],
            "schools",
            "achievement_1034_2021.xlsx",
            44,
            "ת.ז. תלמיד",
            "national ID fails its check digit",
            "*******19",
        ),
        (
            FILE_IDS[1],
            "schools",
            "achievement_1034_2021.xlsx",
            45,
            'יח"ל מתמטיקה',
            'יח"ל מתמטיקה is not one of 3 / 4 / 5',
            "6",
        ),
        (FILE_IDS[1], "schools", "achievement_1034_2021.xlsx", 46, "כיתה", "כיתה is empty", ""),
        (FILE_IDS[3], "welfare", "welfare_1034_20220105.csv", 12, "נפשות", "נפשות is above 30", "41"),
        (
            FILE_IDS[5],
            "youth",
            "krembo_members_final_v2.xlsx",
            None,
            None,
            "unknown file: no layout of youth/ matches this name "
            "(expected bnei_akiva_<locality>_<year>.xlsx)",
            None,
        ),
    ]
    con.executemany(
        "insert into ops.rejects values (?, ?, ?, ?, ?, ?, ?, ?)",
        [[RUN_ID, *r] for r in rejects],
    )
    checks = [
        ("residents", "expect_column_values_to_not_be_null", True, "critical", None),
        ("residents", "expect_column_values_to_not_be_null", False, "warning", 12),
        ("schools", "expect_column_values_to_be_in_set", True, "critical", 0),
        ("marts", "expect_compound_columns_to_be_unique", True, "critical", 0),
        ("registry", "expect_column_values_to_be_in_set", True, "warning", 0),
        ("jumps", "expect_column_values_to_be_between", False, "warning", 2),
        ("volumes", "expect_column_values_to_be_between", True, "warning", 0),
    ]
    con.executemany(
        "insert into ops.validations values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [RUN_ID, s, f"select * from {s}", e, "{}", ok, sev, "observed 7", n, "details"]
            for s, e, ok, sev, n in checks
        ],
    )
    con.execute(
        "insert into ops.runs (run_id, started_at, finished_at, status, published) "
        "values (?, ?, ?, 'succeeded', true)",
        [RUN_ID, now, now],
    )


# The models the report reads, built by dbt from the tables above (`cautious`: only the tests
# whose every parent is selected, so none that needs the partner sources).
REPORT_MODELS = [
    "indicator_registry",
    "indicators",
    "indicator_progress",
    "data_quality",
    "data_quality_rejects",
    "data_quality_checks",
    "data_quality_failed_checks",
]


def make_warehouse(path: Path, home: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts; create schema intermediate")
        con.register("df_view", _values())
        con.execute("create table marts.indicator_values as select * from df_view")
        con.unregister("df_view")
        # The localities of the progress mart (the pipeline's int_locality_periods).
        con.execute(
            "create table intermediate.int_locality_periods as select 1034 as locality_code, 2021 as period"
        )
        _ops(con)
    finally:
        con.close()
    args = ["build", "--select", *REPORT_MODELS, "--indirect-selection", "cautious"]
    result = run_dbt(make_settings(home), path, args)
    assert result.ok, "\n".join(result.failures) or result.log_tail
    return path


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("report_home")
    return make_warehouse(home / "warehouse.duckdb", home)


@pytest.fixture(scope="module")
def report(warehouse: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("reports")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        result = build_report(
            con, out, run_id=None, as_of=AS_OF, agreements_dir=AGREEMENTS, today=TODAY, pdf=False
        )
    finally:
        con.close()
    return result, result.index_html.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- HTML helpers


class _Cells(HTMLParser):
    """Text of every element with a data-key (a figure of a table) or a data-fact (a key fact:
    baseline, target, latest), tags stripped; and every attribute of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, str] = {}
        self.facts: dict[str, str] = {}
        self._stack: list[tuple[str, str | None]] = []
        self._open: dict[str, list[str]] = {}
        self.attrs: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))
        key = d.get("data-key") or (f"fact:{d['data-fact']}" if d.get("data-fact") else None)
        if tag not in ("br", "img", "meta", "link", "input", "path", "circle", "rect", "line"):
            self._stack.append((tag, key))
        if key:
            self._open[key] = []

    def handle_startendtag(self, tag, attrs):
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))

    def handle_endtag(self, tag):
        while self._stack:
            t, key = self._stack.pop()
            if key:
                text = re.sub(r"\s+", " ", "".join(self._open.pop(key))).strip()
                if key.startswith("fact:"):
                    self.facts[key.removeprefix("fact:")] = text
                else:
                    self.cells[key] = text
            if t == tag:
                break

    def handle_data(self, data):
        for buf in self._open.values():
            buf.append(data)


def parse(html: str) -> _Cells:
    p = _Cells()
    p.feed(html)
    p.close()
    return p


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("</article>", start)
    return html[start:end]


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", fragment))


def expected_text(value: float, unit: str, decimals: int = 1) -> str:
    """A figure with its unit words, as in the key facts: "−1.6 לאלף תושבים"."""
    return format_value(round_half_up(value, decimals), unit, decimals)


def expected_cell(value: float, unit: str, decimals: int = 1) -> str:
    """A figure in a table (the header carries the unit words): "−1.6", "71.5%"."""
    return split_value(round_half_up(value, decimals), unit, decimals)[0]


# --------------------------------------------------------------------------- tests


def test_page_is_hebrew_rtl_and_self_contained(report):
    result, html = report
    assert re.search(r'<html lang="he" dir="rtl">', html)
    assert "<title>" in html and "</title>" in html
    assert "<script" not in html.lower()
    p = parse(html)
    external = [
        (t, k, v)
        for t, k, v in p.attrs
        if k in ("src", "href", "xlink:href", "srcset", "action") and re.match(r"\s*(https?:)?//", v)
    ]
    assert external == []
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert "@import" not in html and "@font-face" not in html
    assert result.index_html.name == "index.html" and result.directory.name == AS_OF.isoformat()


def test_every_registry_indicator_is_in_the_report(report, warehouse):
    result, html = report
    con = duckdb.connect(str(warehouse), read_only=True)
    ids = [r[0] for r in con.execute("select indicator_id from marts.indicators").fetchall()]
    names = dict(con.execute("select indicator_id, name_he from marts.indicators").fetchall())
    con.close()
    assert ids and result.indicators == len(ids) and result.indicators_published == len(ids)
    for ind in ids:
        assert f'id="ind-{ind}"' in html, ind
        assert names[ind] in section(html, f"ind-{ind}")
        assert f'id="chart-{ind}"' in html
    # Every chart has a title and a description in words, and a table of its figures.
    for ind in ids:
        svg = html[html.index(f'id="chart-{ind}"') :]
        svg = svg[: svg.index("</svg>")]
        assert f'aria-labelledby="chart-{ind}-title chart-{ind}-desc"' in svg and 'role="img"' in svg
        desc = re.search(r"<desc[^>]*>(.*?)</desc>", svg, re.S).group(1)
        assert "בשנת" in desc and "מצב:" in desc
    assert html.count('<table class="data series">') == len(ids)


def test_figures_equal_the_warehouse(report, warehouse):
    """Every figure printed is the warehouse value, rounded as the public extract rounds it;
    every cell the public extract withholds is a dash here, and nothing else is. Baseline,
    target, latest value and status are those of marts.indicator_progress."""
    _, html = report
    page = parse(html)
    cells = page.cells
    con = duckdb.connect(str(warehouse), read_only=True)
    values = con.execute("select * from marts.indicator_values").df()
    registry = con.execute("select * from marts.indicators").df()
    progress = con.execute(
        "select indicator_id, baseline_period, baseline_value, target_value, latest_period, latest_value, "
        "status from marts.indicator_progress"
    ).fetchall()
    con.close()
    agreement = load_agreement(AGREEMENTS / "public.yml")
    public = build_partner_frame(values, registry, agreement)
    raw = values.set_index(["indicator_id", "period", "dimension", "dimension_value"])["value"]
    counts = values.set_index(["indicator_id", "period", "dimension", "dimension_value"])

    def warehouse_value(indicator: str, period: int, dimension: str, category: str) -> float:
        """The warehouse's value of a cell; of a published group (global recoding), the value
        its members' summed numerators and denominators give, on the indicator's own scale."""
        if (indicator, period, dimension, category) in raw.index:
            return float(raw[(indicator, period, dimension, category)])
        members = agreement.groupings[dimension][category].members
        rows = counts.loc[
            [
                (indicator, period, dimension, m)
                for m in members
                if (indicator, period, dimension, m) in counts.index
            ]
        ]
        scale = (rows["value"] / (rows["numerator"] / rows["denominator"])).dropna().iloc[0]
        return float(scale * rows["numerator"].sum() / rows["denominator"].sum())

    units = registry.set_index("indicator_id")["unit"]
    checked = withheld = 0
    for r in public.to_dict(orient="records"):
        key = f"{r['indicator_id']}/{r['period']}/{r['dimension']}/{r['dimension_value']}"
        if key not in cells:
            assert r["dimension"] != "total", key  # every total of every period is printed
            continue
        if r["suppressed"]:
            assert cells[key] == "—*", key
            withheld += 1
        else:
            d = int(r["value_decimals"])
            v = warehouse_value(r["indicator_id"], r["period"], r["dimension"], r["dimension_value"])
            assert cells[key] == expected_cell(v, units[r["indicator_id"]], d), key
            checked += 1
    assert checked >= 90  # (withheld: whatever the public agreement's rules withhold, maybe none)
    assert len(cells) == checked + withheld
    words = {
        "achieved": "היעד הושג",
        "on track": "בדרך ליעד",
        "off track": "לא בקצב הנדרש",
        "no detectable change": "אין שינוי מובהק",
        "no data": "אין נתונים",
    }
    totals = {
        (r["indicator_id"], r["period"]): r
        for r in public.to_dict(orient="records")
        if r["dimension"] == "total"
    }
    for ind, base_period, base, target, latest_period, latest, status in progress:
        sec = section(html, f"ind-{ind}")
        assert f"הערך האחרון ({latest_period})" in sec
        assert words[status] in text_of(sec)
        assert f'class="status {status.replace(" ", "-")}"' in sec  # colour class and icon with the word
        # The mart's baseline and latest value, printed as their cell of the public extract.
        for fact, period, value in (("baseline", base_period, base), ("latest", latest_period, latest)):
            cell = totals[(ind, period)]
            decimals = int(cell["value_decimals"]) if not cell["suppressed"] else 0
            expected = "—*" if cell["suppressed"] else expected_text(value, units[ind], decimals)
            assert page.facts[f"{ind}/{fact}"] == expected, (ind, fact)
        whole = float(round_half_up(target, 1)).is_integer()
        assert page.facts[f"{ind}/target"] == expected_text(target, units[ind], 0 if whole else 1), ind
    # Spot checks of the status rule on the sample city (truth.json): optimism 49.3% in 2021
    # against a target of 31.3 + 15; net migration fell from 1.3 to -1.6 against a target of 5,
    # a fall whose 95% interval (-5.9 to +0.04 per 1,000) still holds 0: no detectable change;
    # bagrut eligibility rose from 53.7% to 71.5% in five years, on a line that passes 80% by 2025.
    status_of = {row[0]: row[-1] for row in progress}
    assert status_of["srv_optimism"] == "achieved"
    assert status_of["dem_net_migration"] == "no detectable change"
    assert status_of["edu_bagrut_eligibility"] == "on track"
    # Spot checks against the sample city's figures (truth.json).
    assert cells["edu_bagrut_eligibility/2021/total/all"] == "71.5%"
    assert cells["dem_net_migration/2021/total/all"] == "\u22121.6"
    assert cells["edu_bagrut_gap_ethiopian/2016/total/all"] == "8.6"
    # The key facts carry the unit in words.
    facts = text_of(section(html, "ind-dem_net_migration"))
    assert "הערך האחרון (2021)\u22121.6 לאלף תושבים" in facts
    assert "ערך (לאלף תושבים)" in facts


def test_breakdowns_follow_the_public_agreement(report):
    _, html = report
    keys = parse(html).cells
    dims = {k.split("/")[2] for k in keys}
    assert dims <= {"total", "gender", "community", "age_group"}
    assert "edu_bagrut_eligibility/2021/gender/female" in keys
    assert "srv_optimism/2021/age_group/18-29" in keys
    assert not any("/school/" in k or "/neighborhood/" in k for k in keys)


def test_nothing_below_the_cell_threshold_is_shown(report, warehouse):
    result, html = report
    cells = parse(html).cells
    con = duckdb.connect(str(warehouse), read_only=True)
    small = con.execute(
        "select indicator_id, period, dimension, dimension_value from marts.indicator_values "
        "where unweighted_count < 10"
    ).fetchall()
    con.close()
    shown_small = 0
    for ind, period, dim, dval in small:
        key = f"{ind}/{period}/{dim}/{dval}"
        if key not in cells:
            continue  # a dimension or period the report does not print
        shown_small += 1
        assert cells[key] == "—*", key
        assert not re.search(r"\d", cells[key])
    assert shown_small >= 2  # the youth total of 2017 and the survey age group 90+
    # A suppressed total withholds that year's breakdowns as well; the chart has a gap.
    assert cells["yth_movement_participation/2017/total/all"] == "—*"
    sec = section(html, "ind-yth_movement_participation")
    assert "פחות מ־10 אנשים" in sec
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", sec, re.S).group(1)
    assert "2017" in desc and "פרטיות" in desc
    dashes = sum(v == "—*" for v in cells.values())
    assert result.cells_suppressed == dashes >= 3
    assert result.cells_shown == len(cells) - dashes


def test_data_quality_note_has_counts_only(report, warehouse):
    _, html = report
    quality = html[html.index('id="quality"') :]
    text = text_of(quality)
    # The fixture's ops tables: 3 residents rows fail the check digit (rows 17, 230, 900), one
    # youth file matches no layout; 7 checks, 2 failed warnings; the superseded file not counted.
    assert "מרשם התושבים" in text and "מספר זהות שספרת הביקורת שלו שגויה — 3" in text
    assert "קובץ שלא זוהה — 1" in text
    assert "רצו 7 בדיקות; 5 עברו" in text
    assert "שינויים חריגים משנה לשנה" in text
    # The table of files is marts.data_quality, row by row.
    con = duckdb.connect(str(warehouse), read_only=True)
    counted = con.execute(
        "select source, files_received, files_loaded, files_rejected, rows_loaded, rows_rejected "
        "from marts.data_quality"
    ).fetchall()
    con.close()
    assert len(counted) == 5
    for source, *counts in counted:
        row = re.search(rf'<th scope="row">{re.escape(labels.source_label(source))}</th>(.*?)</tr>', quality)
        assert row is not None, source
        assert re.findall(r'class="num">([^<]*)<', row.group(1)) == [f"{n:,}" for n in counts], source
    for secret in [
        RUN_ID,
        MASKED,
        "*******03",
        "31/02/1990",
        "krembo_members_final_v2",
        "archive/",
        *FILE_IDS,
    ]:
        assert secret not in html, secret
    assert "*****" not in html


def test_print_stylesheet_and_accessibility(report):
    _, html = report
    assert "@page" in html and "size: A4" in html
    assert "break-before: page" in html and "break-inside: avoid" in html
    # Heading hierarchy: one h1, then h2 sections, h3 indicators, h4 parts; no level skipped.
    levels = [int(h) for h in re.findall(r"<h([1-6])[\s>]", html)]
    assert levels[0] == 1 and levels.count(1) == 1
    for a, b in itertools.pairwise(levels):
        assert b <= a + 1, (a, b)
    # Colour pairs used for text and lines meet WCAG AA (4.5:1) on their backgrounds.
    for c in (charts.INK, charts.MUTED, charts.SERIES, charts.TARGET, charts.BASELINE):
        assert charts.contrast_ratio(c, charts.PAGE) >= 4.5, c
        assert charts.contrast_ratio(c, charts.FUTURE) >= 4.5, c
    for style in charts.STATUS_COLOURS.values():
        assert charts.contrast_ratio(style["fg"], style["bg"]) >= 4.5
        assert charts.contrast_ratio(style["fg"], charts.PAGE) >= 4.5
    # The stylesheet's own colours: text colours on the page and on the shaded boxes,
    # each status colour on its badge background.
    var = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", html))
    for fg in ("ink", "muted", "accent", "target"):
        for bg in ("#ffffff", var["soft"]):
            assert charts.contrast_ratio(var[fg], bg) >= 4.5, (fg, bg)
    for status in ("achieved", "on-track", "no-change", "off-track", "no-data"):
        assert charts.contrast_ratio(var[status], var[f"{status}-bg"]) >= 4.5, status


def test_report_is_replaced_whole_and_needs_an_agreement_in_force(warehouse, tmp_path):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        first = build_report(
            con, tmp_path, run_id=RUN_ID, as_of=AS_OF, agreements_dir=AGREEMENTS, today=TODAY, pdf=False
        )
        (first.directory / "stale.txt").write_text("old")
        again = build_report(
            con, tmp_path, run_id=RUN_ID, as_of=AS_OF, agreements_dir=AGREEMENTS, today=TODAY, pdf=False
        )
        assert again.index_html.is_file() and not (again.directory / "stale.txt").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == [AS_OF.isoformat()]
        with pytest.raises(ReportError, match="expired"):
            build_report(
                con,
                tmp_path / "x",
                run_id=None,
                as_of=AS_OF,
                agreements_dir=AGREEMENTS,
                today=dt.date(2031, 1, 1),
                pdf=False,
            )
        with pytest.raises(ReportError, match=r"public\.yml"):
            build_report(
                con, tmp_path / "y", run_id=None, as_of=AS_OF, agreements_dir=tmp_path, today=TODAY, pdf=False
            )
    finally:
        con.close()


def test_minimal_warehouse_and_an_indicator_outside_the_public_agreement(warehouse, tmp_path):
    """No ops tables and no progress mart: the report still says so plainly. An indicator of
    the registry that the public agreement does not list is described, never given values."""
    path = tmp_path / "w.duckdb"
    shutil.copyfile(warehouse, path)
    con = duckdb.connect(str(path))
    try:
        for view in REPORT_MODELS[3:]:
            con.execute(f"drop view marts.{view}")
        con.execute("drop table marts.indicator_progress; drop schema ops cascade")
        con.execute(
            "insert into marts.indicators select * replace ("
            "'edu_private_tutoring' as indicator_id, 'שיעורים פרטיים' as name_he, 12 as display_order) "
            "from marts.indicators where indicator_id = 'edu_dropout'"
        )
        con.execute(
            "insert into marts.indicator_values select * replace ("
            "'edu_private_tutoring' as indicator_id, 12.3456 as value) "
            "from marts.indicator_values where indicator_id = 'edu_dropout'"
        )
        registry_size = con.execute("select count(*) from marts.indicators").fetchone()[0]
        result = build_report(
            con, tmp_path / "out", run_id=None, as_of=AS_OF, agreements_dir=AGREEMENTS, today=TODAY, pdf=False
        )
    finally:
        con.close()
    html = result.index_html.read_text(encoding="utf-8")
    assert result.indicators == registry_size and result.indicators_published == registry_size - 1
    sec = section(html, "ind-edu_private_tutoring")
    assert "אינו כלול בהסכם הפרסום לציבור" in sec
    assert "12.3" not in html and 'data-key="edu_private_tutoring' not in html
    assert "chart-edu_private_tutoring" not in html
    assert "אין במחסן הנתונים רישום של הקבצים" in html
    assert "אין במחסן הנתונים תוצאות בדיקה" in html
    # no progress mart: no status is invented (every published indicator says "no data")
    assert html.count('class="status no-data"') >= registry_size - 1


# --------------------------------------------------------------------------- headless browser


# Chromium logs every console message of the page as "...:INFO:CONSOLE:<line>] ..." (older
# versions "CONSOLE(<line>)"); the report has no script, so any such line is an error.
CONSOLE_ERROR = re.compile(r"Uncaught|:CONSOLE[:(]\d+|net::ERR_|Failed to load resource|Refused to", re.I)


def test_headless_chromium_opens_the_report_and_prints_it(warehouse, tmp_path):
    exe = require_program("chromium", "bash scripts/install-system-deps.sh installs it", locate=find_chromium)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        result = build_report(
            con,
            tmp_path / "reports",
            run_id=None,
            as_of=AS_OF,
            agreements_dir=AGREEMENTS,
            today=TODAY,
            pdf=True,
            chromium=exe,
        )
    finally:
        con.close()

    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = chromium_command(
            exe,
            Path(profile),
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--screenshot={shot}",
            "--window-size=1240,1754",
            result.index_html.as_uri(),
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a page with content, not a blank one
    errors = [line for line in proc.stderr.splitlines() if CONSOLE_ERROR.search(line)]
    assert errors == [], errors

    assert result.pdf is not None and result.pdf.read_bytes()[:5] == b"%PDF-"
    pages = len(re.findall(rb"/Type\s*/Page[^s]", result.pdf.read_bytes()))
    assert pages >= 9  # cover, summary, a page (or more) per domain, data quality

    # CI_METRICS_UPDATE_SCREENSHOT=1 refreshes the README's picture (not on every run: it is binary).
    if os.environ.get("CI_METRICS_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


# --------------------------------------------------------------------------- the real pipeline


def test_report_from_the_published_sample_warehouse(published_warehouse: Path, tmp_path):
    con = duckdb.connect(str(published_warehouse), read_only=True)
    try:
        registry = [r[0] for r in con.execute("select indicator_id from marts.indicators").fetchall()]
        totals = con.execute(
            "select v.indicator_id, v.period, v.value, i.unit from marts.indicator_values v "
            "join marts.indicators i using (indicator_id) "
            "where dimension = 'total' and coalesce(v.unweighted_count, 100) >= 30"
        ).fetchall()
        statuses = con.execute(
            "select indicator_id, status from marts.indicator_progress where locality_code = 1034"
        ).fetchall()
        checks = con.execute(
            "select checks_total, checks_passed from marts.data_quality_checks where is_latest_run"
        ).fetchone()
        result = build_report(
            con, tmp_path, run_id=None, as_of=AS_OF, agreements_dir=AGREEMENTS, today=TODAY, pdf=False
        )
    finally:
        con.close()
    html = result.index_html.read_text(encoding="utf-8")
    cells = parse(html).cells
    assert registry and result.indicators == len(registry)
    assert len(statuses) == len(registry)
    for ind, status in statuses:
        assert f'class="status {status.replace(" ", "-")}"' in section(html, f"ind-{ind}"), ind
    # The validations are written after dbt builds: the view still sees this run's.
    assert checks is not None and f"רצו {checks[0]} בדיקות; {checks[1]} עברו" in text_of(html)
    for ind in registry:
        assert f'id="ind-{ind}"' in html
    for ind, period, value, unit in totals:
        key = f"{ind}/{period}/total/all"
        if cells.get(key) == "—*":
            continue  # withheld by disclosure control (e.g. complementary)
        assert cells[key] == expected_cell(value, unit), key
    assert 'lang="he" dir="rtl"' in html
