"""Intervals in the publications (issue 15, part 4): the extracts and the public report carry the
95% interval of each value under the same disclosure control as the value.

Fast: a hand-made warehouse (no dbt) whose bounds are deliberately odd numbers, so that
the tests can tell that what is drawn and printed are the marts' own bounds, rounded as the
value, and nothing computed here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ci_metrics.share.extracts import build_partner_frame, load_agreement
from ci_metrics.share.extracts.csv_writer import render_csv
from ci_metrics.share.extracts.produce import VALUE_COLUMNS
from ci_metrics.share.report import build_report, labels

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2022, 1, 5)
TODAY = dt.date(2026, 6, 1)
CITY, OTHER_CITY = 1034, 2600
ELIG, MIGR, GAP = "edu_bagrut_eligibility", "dem_net_migration", "edu_bagrut_gap_ethiopian"


def _cell(ind, period, loc, dim, dval, num, den, lo, hi, method="wilson", scale=100.0):
    return {
        "indicator_id": ind,
        "period": period,
        "locality_code": loc,
        "dimension": dim,
        "dimension_value": dval,
        "numerator": float(num),
        "denominator": float(den),
        "value": scale * num / den,
        "unweighted_count": int(den),
        "ci_lower": lo,
        "ci_upper": hi,
        "ci_method": method,
    }


def values_frame() -> pd.DataFrame:
    rows = []
    for loc, shift in ((CITY, 0), (OTHER_CITY, 5)):
        for period, num in ((2019, 200), (2020, 208), (2021, 212)):
            v = 100 * (num + shift) / 400
            rows.append(_cell(ELIG, period, loc, "total", "all", num + shift, 400, v - 4.876, v + 4.812))
    # 2021 breakdowns of the city: gender (200 each), community (40 / 345 / 15)
    rows += [
        _cell(ELIG, 2021, CITY, "gender", "male", 100, 200, 43.24, 56.76),
        _cell(ELIG, 2021, CITY, "gender", "female", 112, 200, 49.05, 62.75),
        _cell(ELIG, 2021, CITY, "community", "ethiopian_origin", 14, 40, 22.06, 50.44),
        _cell(ELIG, 2021, CITY, "community", "other", 190, 345, 49.78, 60.26),
        _cell(ELIG, 2021, CITY, "community", "unknown", 8, 15, 30.12, 75.19),
    ]
    # net migration: 2020 counts 6 residents (primary suppression: no value, no interval)
    for period, num, den, lo, hi in ((2019, -30, 21000, -2.222, -0.635), (2020, 1, 6, -9.0, 9.0)):
        cell = _cell(MIGR, period, CITY, "total", "all", num, den, lo, hi, "poisson_difference", 1000.0)
        rows.append(cell)
    rows += [
        _cell(ELIG, 2020, CITY, "community", "ethiopian_origin", 12, 40, 17.9, 45.6),
        _cell(ELIG, 2020, CITY, "community", "other", 188, 345, 49.2, 59.7),
        _cell(ELIG, 2020, CITY, "community", "unknown", 8, 15, 30.12, 75.19),
    ]
    # the gap: other - ethiopian origin, its interval from both (other is merged in public)
    for period, value, lo, hi in ((2020, 24.5, 9.9, 37.3), (2021, 55.07 - 35.0, 4.321, 31.987)):
        gap = {**_cell(GAP, period, CITY, "total", "all", 0, 1, lo, hi, "newcombe")}
        gap.update(numerator=math.nan, denominator=math.nan, value=value, unweighted_count=None)
        rows.append(gap)
    df = pd.DataFrame(rows)
    df["unweighted_count"] = df["unweighted_count"].astype("Int64")
    return df


def registry_frame() -> pd.DataFrame:
    reg = pd.read_csv(ROOT / "seeds" / "indicator_registry.csv")
    return reg[reg["indicator_id"].isin([ELIG, MIGR, GAP])].reset_index(drop=True)


def make_warehouse(path: Path, *, progress_extras: bool = True) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        values = values_frame()  # noqa: F841 - read by DuckDB's replacement scan
        registry = registry_frame()  # noqa: F841
        con.execute("create table marts.indicator_values as select * from values")
        con.execute("create table marts.indicators as select * from registry")
        con.execute(
            f"""
            create table marts.indicator_progress as
            select * from (values
                ('{ELIG}', {CITY}, 2019, 50.0, 2025, 'fixed', 80.0, 80.0, 2021, 53.0,
                 'no detectable change', false, -4.4, 10.4),
                ('{MIGR}', {CITY}, 2019, -1.4286, 2025, 'fixed', 0.0, 0.0, 2020, 166.7,
                 'off track', null, null, null),
                ('{GAP}', {CITY}, 2020, 24.5, 2025, 'fixed', 5.0, 5.0, 2021, 20.07,
                 'no detectable change', false, -24.25, 15.38)
            ) t(indicator_id, locality_code, baseline_period, baseline_value, target_period, target_rule,
                target_parameter, target_value, latest_period, latest_value, status,
                is_change_since_baseline_significant, change_since_baseline_ci_lower,
                change_since_baseline_ci_upper)
            """
            if progress_extras
            else f"""
            create table marts.indicator_progress as
            select * from (values
                ('{ELIG}', {CITY}, 2019, 50.0, 2025, 'fixed', 80.0, 80.0, 2021, 53.0, 'off track')
            ) t(indicator_id, locality_code, baseline_period, baseline_value, target_period, target_rule,
                target_parameter, target_value, latest_period, latest_value, status)
            """
        )
        con.execute(
            f"""
            create table marts.official_comparison as
            select * from (values ('{ELIG}', {CITY}, 2021, 'better', 'similar'),
                                  ('{MIGR}', {CITY}, 2020, 'worse', 'worse'))
            t(indicator_id, locality_code, period, benchmark_verdict_peers, benchmark_verdict_all)
            """
        )
        con.execute(
            f"""
            create table marts.indicator_funnel as
            select * from (values
                ('{ELIG}', 2021, {CITY}, 400.0, 53.0, 54.25, 49.37, 59.13, 46.9, 61.6, 'within'),
                ('{ELIG}', 2021, {OTHER_CITY}, 1500.0, 54.5, 54.25, 51.73, 56.77, 50.39, 58.11, 'within'),
                ('{ELIG}', 2021, 3000, 900.0, 60.0, 54.25, 51.0, 57.5, 49.5, 59.0, 'above 99.8%')
            ) t(indicator_id, period, locality_code, n, value, p0, lower_95, upper_95, lower_998, upper_998,
                funnel_position)
            """
        )
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def agreements(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public agreement, over two localities (so that the funnel has two public points)."""
    d = tmp_path_factory.mktemp("agreements")
    text = (ROOT / "agreements" / "public.yml").read_text(encoding="utf-8")
    (d / "public.yml").write_text(
        text.replace("localities: [1034]", f"localities: [{CITY}, {OTHER_CITY}]"), encoding="utf-8"
    )
    return d


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory, agreements: Path) -> str:
    home = tmp_path_factory.mktemp("intervals")
    path = make_warehouse(home / "w.duckdb")
    con = duckdb.connect(str(path), read_only=True)
    try:
        result = build_report(
            con, home / "out", run_id=None, as_of=AS_OF, agreements_dir=agreements, today=TODAY, pdf=False
        )
    finally:
        con.close()
    return result.index_html.read_text(encoding="utf-8")


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start : html.find("</article>", start)]


def public_frame() -> pd.DataFrame:
    agreement = load_agreement(ROOT / "agreements" / "public.yml")
    return build_partner_frame(values_frame(), registry_frame(), agreement)


# --------------------------------------------------------------------------- extracts


def test_extract_carries_the_interval_rounded_like_the_value():
    assert VALUE_COLUMNS.index("ci_lower") == VALUE_COLUMNS.index("value") + 1
    assert {"ci_lower", "ci_upper", "ci_method"} <= set(VALUE_COLUMNS)
    f = public_frame().set_index(["indicator_id", "period", "dimension", "dimension_value"])
    total = f.loc[(ELIG, 2021, "total", "all")]
    assert total["value_decimals"] == 1 and total["value"] == 53.0
    assert (total["ci_lower"], total["ci_upper"]) == (48.1, 57.8)  # 48.124, 57.812
    assert total["ci_method"] == "wilson"
    # a cell of fewer than exact_value_min_count (30) people: value and bounds in whole numbers
    # (none here in the public dimensions but the suppressed one; see the partner frame below)
    eth = f.loc[(ELIG, 2021, "community", "ethiopian_origin")]
    assert eth["value_decimals"] == 1 and (eth["ci_lower"], eth["ci_upper"]) == (22.1, 50.4)
    csv = render_csv(public_frame()).decode("utf-8-sig").splitlines()
    assert csv[0].split(",")[9:12] == ["ci_lower", "ci_upper", "ci_method"]


def test_small_cells_round_the_interval_to_whole_numbers():
    agreement = load_agreement(ROOT / "agreements" / "public.yml").model_copy(
        update={"groupings": {}, "exact_value_min_count": 50}
    )
    v = values_frame()
    v = v[~((v["dimension"] == "community") & (v["dimension_value"] == "unknown"))]
    f = build_partner_frame(v, registry_frame(), agreement).set_index(
        ["indicator_id", "period", "dimension_value"]
    )
    eth = f.loc[(ELIG, 2021, "ethiopian_origin")]  # 40 pupils < 50
    assert eth["value_decimals"] == 0 and eth["value"] == 35.0
    assert (eth["ci_lower"], eth["ci_upper"]) == (22.0, 50.0)


def test_suppressed_cells_merged_groups_and_a_gap_with_a_merged_source_have_no_interval():
    f = public_frame().set_index(["indicator_id", "period", "dimension", "dimension_value"])
    hidden = f.loc[(MIGR, 2020, "total", "all")]
    assert hidden["suppressed"] == "primary"
    assert math.isnan(hidden["value"]) and math.isnan(hidden["ci_lower"]) and math.isnan(hidden["ci_upper"])
    # everyone_else merges other + unknown: its value is recomputed, and it has no interval
    merged = f.loc[(ELIG, 2021, "community", "everyone_else")]
    assert merged["suppressed"] == "" and merged["value"] == round(100 * 198 / 360, 1)
    assert math.isnan(merged["ci_lower"]) and math.isnan(merged["ci_upper"])
    # the gap's source 'other' is merged in public: its interval would give other's n away
    gap = f.loc[(GAP, 2021, "total", "all")]
    assert gap["suppressed"] == "" and not math.isnan(gap["value"])
    assert math.isnan(gap["ci_lower"]) and math.isnan(gap["ci_upper"])
    # ... and a partner without groupings gets it
    plain = load_agreement(ROOT / "agreements" / "public.yml").model_copy(update={"groupings": {}})
    g = build_partner_frame(values_frame(), registry_frame(), plain)
    row = g[(g["indicator_id"] == GAP) & (g["period"] == 2021)].iloc[0]
    assert (row["ci_lower"], row["ci_upper"]) == (4.3, 32.0)
    # every published cell with a method other than none has both bounds or neither
    pub = public_frame()
    assert (pub["ci_lower"].isna() == pub["ci_upper"].isna()).all()
    assert pub.loc[pub["suppressed"] != "", ["ci_lower", "ci_upper"]].isna().all(axis=None)


def test_a_warehouse_without_intervals_still_gives_extracts():
    v = values_frame().drop(columns=["ci_lower", "ci_upper", "ci_method"])
    f = build_partner_frame(v, registry_frame(), load_agreement(ROOT / "agreements" / "public.yml"))
    assert list(f.columns) == VALUE_COLUMNS and f["ci_lower"].isna().all()


# --------------------------------------------------------------------------- report


def _band_points(svg: str) -> list[tuple[float, float]]:
    m = re.search(r'<polygon class="ci-band" points="([^"]+)"', svg)
    assert m, "no band"
    return [tuple(map(float, p.split(","))) for p in m.group(1).split()]  # type: ignore[misc]


def test_the_line_has_a_band_from_the_marts_bounds(html):
    sec = section(html, f"ind-{ELIG}")
    pts = _band_points(sec)
    assert len(pts) == 6  # three periods, upper then lower
    # the data table beside the chart prints the same bounds, rounded as the value
    assert 'data-ci="edu_bagrut_eligibility/2021/total/all"' in sec
    cell = re.search(r'data-ci="edu_bagrut_eligibility/2021/total/all">(.*?)</td>', sec)
    assert cell and "48.1% – 57.8%" in cell.group(1)
    # the band's vertical extent follows the bounds: y of the upper bound of 2021 is above its value
    ys = [y for _, y in pts]
    assert ys[2] < ys[3]  # 2021 upper drawn higher (smaller y) than 2021 lower
    # the chart's scale: 2019's upper (54.8) and lower (45.1) are 9.7 apart, 2021's 9.7 too
    assert abs((ys[5] - ys[0]) - (ys[3] - ys[2])) < 0.2


def test_breakdowns_have_whiskers_and_the_wide_one_is_lighter(html):
    sec = section(html, f"ind-{ELIG}")
    whiskers = dict(
        (m.group(1), (float(m.group(2)), float(m.group(3))))
        for m in re.finditer(
            r'aria-label="([^"]+?):[^"]*"><rect[^>]*/>'
            r'<g class="whisker" data-lower="([^"]+)" data-upper="([^"]+)"',
            sec,
        )
    )
    assert whiskers["בנים"] == (43.2, 56.8) and whiskers["בנות"] == (49.1, 62.8)
    assert whiskers["יוצאי אתיופיה"] == (22.1, 50.4)
    # 28.3 points wide, more than twice the total's 9.7: lighter bar and a word
    assert re.search(r'<tr class="wide"><th scope="row">יוצאי אתיופיה<span class="why">', sec)
    assert sec.count('class="bar wide"') == 1 and sec.count('<tr class="wide">') == 1
    assert "כל השאר" not in whiskers  # a merged group: a bar, no whisker


def test_no_detectable_change_reads_within_chance(html):
    sec = section(html, f"ind-{ELIG}")
    assert labels.STATUS_WORDS["no detectable change"] == "אין שינוי מובהק"
    assert 'class="status no-detectable-change"' in sec and "אין שינוי מובהק" in sec
    assert f'data-fact="{ELIG}/chance">{labels.WITHIN_CHANCE}<' in sec
    assert "בטווח המקרי" in sec.split("<desc")[1].split("</desc>")[0]  # the chart's description
    assert "−4.4 נקודות אחוז עד +10.4 נקודות אחוז" in sec
    # the gap's ends have no published interval (a merged source): the words, not the interval
    gap = section(html, f"ind-{GAP}")
    assert f'data-fact="{GAP}/chance">{labels.WITHIN_CHANCE}<' in gap
    assert "טווח סביר של השינוי" not in gap and "24.3" not in gap and "15.4" not in gap
    # the about-the-data page explains the interval and the rule
    quality = html[html.index('id="quality"') :]
    assert "טווח סביר" in quality and "כולל את האפס" in quality and "אין שינוי מובהק" in quality


def test_benchmark_verdict_in_words(html):
    sec = section(html, f"ind-{ELIG}")
    assert "בשנת 2021 הערך של העיר גבוה מזה של הרשויות באשכול החברתי־כלכלי של העיר" in sec
    assert "דומה לזה של כלל הרשויות בארץ" in sec
    # no verdict on a withheld value (net migration 2020 counts 6 residents)
    assert 'class="benchmarks"' not in section(html, f"ind-{MIGR}")


def test_funnel_only_with_public_localities_and_no_interval_for_a_suppressed_cell(html):
    sec = section(html, f"ind-{ELIG}")
    assert 'id="funnel-edu_bagrut_eligibility"' in sec
    funnel = sec[sec.index('id="funnel-') :]
    funnel = funnel[: funnel.index("</svg>")]
    # locality 3000 is in no public agreement: not drawn
    assert funnel.count('class="this-city"') == 1 and funnel.count('class="peer"') == 1
    assert 'class="limit-95"' in funnel and 'class="limit-998"' in funnel
    assert "מיקום העיר: בתוך גבולות הבקרה" in funnel  # the city's funnel_position, in words
    mig = section(html, f"ind-{MIGR}")
    assert "funnel-" not in mig
    cell = re.search(r'data-ci="dem_net_migration/2020/total/all">(.*?)</td>', mig)
    assert cell and "–" not in cell.group(1).replace("—", "")  # suppressed: a dash, no bounds
    # the band is a single whisker line for the one published period
    assert mig.count('class="ci-band"') == 1 and "<polygon" not in mig


def test_without_the_new_columns_the_report_still_builds(tmp_path, agreements):
    path = make_warehouse(tmp_path / "w.duckdb", progress_extras=False)
    con = duckdb.connect(str(path))
    try:
        con.execute("drop table marts.official_comparison; drop table marts.indicator_funnel")
        con.execute("alter table marts.indicator_values drop column ci_lower")
        con.execute("alter table marts.indicator_values drop column ci_upper")
        result = build_report(
            con, tmp_path / "out", run_id=None, as_of=AS_OF, agreements_dir=agreements, today=TODAY, pdf=False
        )
    finally:
        con.close()
    html = result.index_html.read_text(encoding="utf-8")
    assert "ci-band" not in html and "whisker" not in html and "funnel-" not in html
    assert f'data-fact="{ELIG}/chance"' not in html
    shutil.rmtree(tmp_path / "out")
