"""The public report says "revised" (issue 13): the values revised since the previous report,
old and new as the report prints them, the cause in words, and a mark on the indicators.

The warehouse is test_report's hand-made one (the sample city's values, the project's dbt
marts) published three times through the real history stage (:func:`record_history`: the
project's snapshots and history marts):

* night 1: as made;
* night 2: a corrected school file for 2021 (same name, new bytes: the ledger supersedes the
  old one) lowers bagrut eligibility in 2021; the youth-movement total of 2017, withheld as
  a small cell, is now counted in full (published: its value unchanged); a survey age group
  of 2021 shrinks below the threshold with a new value (withheld now);
* night 3: nothing new.

The expected revisions are computed here independently of the history: the public frames of
night 1's and night 2's values (``build_partner_frame``, the public agreement), compared.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import make_settings
from test_report import AGREEMENTS, FILE_IDS, TODAY, _values, make_warehouse, parse, text_of

from ci_metrics.publish.history import record_history
from ci_metrics.share.extracts import build_partner_frame, load_agreement
from ci_metrics.share.report import build_report, labels, texts
from ci_metrics.share.report.data import load_revisions
from ci_metrics.share.report.editions import (
    EDITION_NAME,
    Baseline,
    Edition,
    EditionLog,
    Publication,
    choose_baseline,
    read_editions,
    read_log,
    updated_log,
    write_log,
)
from ci_metrics.share.report.formatting import DASH, split_value
from ci_metrics.share.report.marts import IndicatorRow, read_rows
from ci_metrics.share.report.revised import cause_words
from ci_metrics.share.report.views import RevisionCause

PUBLIC = load_agreement(AGREEMENTS / "public.yml")
LOCALITY = 1034
T1 = dt.datetime(2022, 1, 5, 2, 0)
T2 = dt.datetime(2022, 1, 6, 2, 0)
T3 = dt.datetime(2022, 1, 6, 3, 0)
D1, D2 = T1.date(), T2.date()
CORRECTED_ID = "1" * 64
SCHOOL_FILE = "achievement_1034_2021.xlsx"
KEY = ["indicator_id", "period", "locality_code", "dimension", "dimension_value"]
NAME = "ערכים שתוקנו מאז הדוח הקודם"

# night 2: (indicator, period, dimension, value) -> changes of the row
BAGRUT = "edu_bagrut_eligibility"
NIGHT2: dict[tuple[str, int, str, str], dict[str, float]] = {
    (BAGRUT, 2021, "total", "all"): {"numerator": 305.0},
    (BAGRUT, 2021, "gender", "female"): {"numerator": 168.0},
    (BAGRUT, 2021, "community", "other"): {"numerator": 255.0},
    ("yth_movement_participation", 2017, "total", "all"): {"unweighted_count": 4121},
    ("srv_optimism", 2021, "age_group", "45-64"): {
        "numerator": 4.1,
        "denominator": 8.0,
        "unweighted_count": 8,
    },
}


def night_values(night: int) -> pd.DataFrame:
    """marts.indicator_values of a night (typed as the dbt contract has them)."""
    v = _values()
    if night >= 2:
        for (ind, period, dim, code), change in NIGHT2.items():
            at = (
                (v["indicator_id"] == ind)
                & (v["period"] == period)
                & (v["dimension"] == dim)
                & (v["dimension_value"] == code)
            )
            assert at.sum() == 1, (ind, period, dim, code)
            for col, new in change.items():
                v.loc[at, col] = new
            v.loc[at, "value"] = 100 * v.loc[at, "numerator"] / v.loc[at, "denominator"]
            v.loc[at, "is_below_min_cell_size"] = v.loc[at, "unweighted_count"] < 10
    return v


def _load_values(con: duckdb.DuckDBPyConnection, values: pd.DataFrame) -> None:
    con.execute("delete from marts.indicator_values")
    con.register("night_df", values)
    con.execute("insert into marts.indicator_values by name select * from night_df")
    con.unregister("night_df")


def _publish(home: Path, path: Path, run_id: str, at: dt.datetime) -> None:
    recorded = record_history(make_settings(home), path, run_id, "code", published_at=at)
    assert not recorded.failures, recorded.failures


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The warehouse as published after each night (0: before any publish)."""
    home = tmp_path_factory.mktemp("revisions_home")
    path = make_warehouse(home / "warehouse.duckdb", home)
    con = duckdb.connect(str(path))
    try:  # the types of the dbt contract (the history marts enforce it)
        for col in ("period", "locality_code", "min_cell_size"):
            con.execute(f"alter table marts.indicator_values alter {col} type integer")
    finally:
        con.close()
    copies = {0: home / "night0.duckdb"}
    shutil.copyfile(path, copies[0])

    _publish(home, path, "night-1", T1)
    copies[1] = home / "night1.duckdb"
    shutil.copyfile(path, copies[1])

    con = duckdb.connect(str(path))
    try:
        _load_values(con, night_values(2))
        decided = T2 - dt.timedelta(minutes=5)
        con.execute(
            "update ops.files set status = 'superseded', superseded_by = ?, decided_at = ? where file_id = ?",
            [CORRECTED_ID, decided, FILE_IDS[1]],
        )
        con.execute(
            "insert into ops.files (file_id, source, layout, file_name, size_bytes, locality_code, period, "
            "received_at, run_id, archived_path, status, rows_read, rows_loaded, rows_rejected, decided_at) "
            "values (?, 'schools', 'schools', ?, 1001, 1034, 2021, ?, 'night-2', ?, 'loaded', "
            "2580, 2580, 0, ?)",
            [CORRECTED_ID, SCHOOL_FILE, decided, f"archive/schools/{SCHOOL_FILE}", decided],
        )
    finally:
        con.close()
    _publish(home, path, "night-2", T2)
    copies[2] = home / "night2.duckdb"
    shutil.copyfile(path, copies[2])

    _publish(home, path, "night-3", T3)
    copies[3] = path
    return copies


@pytest.fixture(scope="module")
def indicators(nights: dict[int, Path]) -> pd.DataFrame:
    con = duckdb.connect(str(nights[2]), read_only=True)
    try:
        return con.execute("select * from marts.indicators").df()
    finally:
        con.close()


def public_frame(night: int, indicators: pd.DataFrame) -> pd.DataFrame:
    """What the public got on a night, computed from that night's values alone."""
    v = night_values(night)
    return build_partner_frame(v[v["locality_code"] == LOCALITY], indicators, PUBLIC)


def printed(cell: pd.Series | None) -> str:
    """A cell as the report prints it in a table with its unit words: "—*" when withheld,
    "—" when absent, else the number and its unit words."""
    if cell is None:
        return DASH
    if cell["suppressed"]:
        return DASH + "*"
    number, words = split_value(float(cell["value"]), cell["unit"], int(cell["value_decimals"]))
    return f"{number} {words}".strip()


def expected_revisions(indicators: pd.DataFrame) -> dict[tuple, tuple[str, str]]:
    """Key -> (old, new) as printed: cells whose public form differs between night 1 and 2."""
    old = public_frame(1, indicators).set_index(KEY)
    new = public_frame(2, indicators).set_index(KEY)
    out: dict[tuple, tuple[str, str]] = {}
    for key in set(old.index) | set(new.index):
        a = old.loc[key] if key in old.index else None
        b = new.loc[key] if key in new.index else None
        if printed(a) != printed(b):
            out[key] = (printed(a), printed(b))
    return out


# --------------------------------------------------------------------------- pure


def test_causes_in_plain_hebrew():
    corrected = "schools/achievement_1034_2021.xlsx (entered); schools/achievement_1034_2021.xlsx (left)"
    schools, youth = labels.source_label("schools"), labels.source_label("youth")
    assert cause_words("files changed", corrected) == (RevisionCause("התקבל קובץ מתוקן מהמקור", (schools,)),)
    both = cause_words(
        "files changed; definition changed",
        f"{corrected}; youth/tzofim_1034_2022.csv (entered); youth/old.csv (left); youth/new.csv (entered)",
    )
    assert both == (
        RevisionCause("התקבל קובץ מתוקן מהמקור", (schools,)),
        RevisionCause("התקבלו קבצים חדשים מהמקור", (youth,)),
        RevisionCause("קובץ הוצא מהחישוב", (youth,)),
        RevisionCause("שינוי בהגדרת המדד"),
    )
    assert cause_words("disclosure control: a related cell changed", "") == (
        RevisionCause("שינוי בהסתרת תאים קטנים"),
    )
    assert cause_words("files changed", "") == (RevisionCause(texts.FILES_CHANGED_WORDS),)
    # every cause marts.indicator_revisions writes has its words (no English reaches the page)
    sql = (Path(__file__).resolve().parents[1] / "models/marts/history/indicator_revisions.sql").read_text()
    written = set(re.findall(r"then '([^']+)'|else '([^']+)'\s*\n\s*end as cause", sql, re.S))
    causes = {c for pair in written for c in pair if c and c not in ("appeared", "disappeared", "changed")}
    assert causes, "the causes of indicator_revisions were not found"
    for cause in causes:
        for part in cause.split("; "):
            assert part == texts.FILES_CHANGED_CAUSE or part in texts.REVISION_CAUSES, part


def _edition(run: str, at: dt.datetime, day: dt.date, baseline: Baseline | None = None) -> Edition:
    return Edition(run_id=run, published_at=at, report_date=day, compared_with=baseline)


def test_the_previous_report_is_chosen_and_kept(tmp_path):
    p1, p2 = (Publication(run_id=f"r{i}", published_at=t) for i, t in enumerate((T1, T2), 1))
    # no report on file: the previous publication; none: the first edition
    assert choose_baseline([], p2, p1) == Baseline(**p1.model_dump(), chosen_from="publication")
    assert choose_baseline([], p1, None) is None
    # the latest earlier edition, wherever it is; a later one is not "previous"
    e1 = _edition("r1", T1, D1)
    e3 = _edition("r3", T3, D2)
    assert choose_baseline([e1, e3], p2, p1) == Baseline(
        run_id="r1", published_at=T1, chosen_from="report", report_date=D1
    )
    # a rebuilt report of a publication keeps its comparison, even once another report is on file
    e2 = _edition("r2", T2, D2, Baseline(**p1.model_dump(), chosen_from="publication"))
    assert choose_baseline([e1, e2, e3], p2, p1) == e2.compared_with

    # one day, two publishes: the folder's log keeps both editions
    day = tmp_path / D2.isoformat()
    day.mkdir()
    write_log(day, updated_log(None, e2))
    write_log(day, updated_log(read_log(day), e3))
    write_log(day, updated_log(read_log(day), e3))  # a rebuild replaces, never duplicates
    assert [e.run_id for e in (read_log(day) or EditionLog(editions=[])).editions] == ["r2", "r3"]
    (tmp_path / D1.isoformat()).mkdir()
    write_log(tmp_path / D1.isoformat(), updated_log(None, e1))
    (tmp_path / ".2022-01-07.tmp-1234").mkdir()  # a half-written report is not on file
    write_log(tmp_path / ".2022-01-07.tmp-1234", updated_log(None, _edition("r9", T3, D2)))
    broken = tmp_path / "2021-12-31"
    broken.mkdir()
    (broken / EDITION_NAME).write_text("{not json", encoding="utf-8")
    assert [e.run_id for e in read_editions(tmp_path)] == ["r1", "r2", "r3"]


# --------------------------------------------------------------------------- data


def _load(path: Path, baseline: Baseline | None):
    con = duckdb.connect(str(path), read_only=True)
    try:
        registry = read_rows(con, IndicatorRow, "select * from marts.indicators order by display_order")
        values = con.execute("select * from marts.indicator_values where locality_code = ?", [LOCALITY]).df()
        indicators = con.execute("select * from marts.indicators").df()
        current = build_partner_frame(values, indicators, PUBLIC)
        return load_revisions(
            con,
            PUBLIC,
            locality=LOCALITY,
            indicators=indicators,
            current=current,
            registry=registry,
            publication=Publication(run_id="x", published_at=T3),
            baseline=baseline,
        )
    finally:
        con.close()


def test_revisions_are_the_public_frames_difference(nights, indicators):
    """Exactly the cells whose public form changed; each side printed as that night's public
    release printed it (a withheld side as "—*", never a number), the cause in words."""
    view = _load(nights[2], Baseline(run_id="night-1", published_at=T1, chosen_from="publication"))
    assert view.state == "revised" and view.since_date == D1 and not view.since_report
    expected = expected_revisions(indicators)
    got = {
        (r.indicator_id, r.period, LOCALITY, r.dimension, r.dimension_value): (
            f"{r.previous.text}*" if r.previous.suppressed else r.previous.text,
            f"{r.new.text}*" if r.new.suppressed else r.new.text,
        )
        for r in view.rows
    }
    assert got == expected
    # the scenario exercises every case: a value changed, cells published, a cell withheld
    bagrut = (BAGRUT, 2021, LOCALITY, "total", "all")
    assert expected[bagrut] == ("71.5%", "70.8%")
    assert expected[("yth_movement_participation", 2017, LOCALITY, "total", "all")][0] == "—*"
    assert expected[("srv_optimism", 2021, LOCALITY, "age_group", "45-64")] == ("49.7%", "—*")
    assert expected[("srv_optimism", 2021, LOCALITY, "age_group", "65+")] == ("—*", "45.0%")  # its complement
    # a grouped category is listed as the public sees it, with its members' cause
    rows = {(r.indicator_id, r.period, r.dimension, r.dimension_value): r for r in view.rows}
    grouped = rows[(BAGRUT, 2021, "community", "everyone_else")]
    assert grouped.breakdown == "לפי קהילת מוצא: כל השאר"
    corrected = (RevisionCause("התקבל קובץ מתוקן מהמקור", (labels.source_label("schools"),)),)
    for key in [(BAGRUT, 2021, "total", "all"), (BAGRUT, 2021, "gender", "female")]:
        assert rows[key].causes == corrected, key
    assert grouped.causes == corrected
    related = RevisionCause("שינוי בהסתרת תאים קטנים")
    assert rows[("yth_movement_participation", 2017, "total", "all")].causes == (related,)
    # A cell withheld on either side has its group's causes, never its own: the age group
    # withheld and the complement released for it read alike (else "only a related cell
    # changed" would say the complement's value did not move, and give the old one away).
    group = (RevisionCause(texts.REVISION_CAUSES["no file or definition change recorded"]), related)
    for age in ("45-64", "65+"):
        assert rows[("srv_optimism", 2021, "age_group", age)].causes == group, age
    # in the report's order: registry, period, breakdown
    order = [r.indicator_id for r in view.rows]
    assert order == sorted(order, key=lambda i: indicators.set_index("indicator_id").display_order[i])


def test_states_without_a_comparison(nights, indicators):
    assert _load(nights[2], None).state == "first"
    nothing_new = _load(nights[3], Baseline(run_id="night-2", published_at=T2, chosen_from="report"))
    assert nothing_new.state == "unchanged" and nothing_new.rows == []
    before = Baseline(run_id="night-0", published_at=T1 - dt.timedelta(days=30), chosen_from="report")
    assert _load(nights[2], before).state == "no_history"
    con = duckdb.connect(str(nights[0]), read_only=True)  # no publication recorded
    try:
        registry = read_rows(con, IndicatorRow, "select * from marts.indicators")
        assert (
            load_revisions(
                con,
                PUBLIC,
                locality=LOCALITY,
                indicators=indicators,
                current=public_frame(1, indicators),
                registry=registry,
                publication=None,
                baseline=None,
            ).state
            == "unavailable"
        )
    finally:
        con.close()


# --------------------------------------------------------------------------- the page


def _report(path: Path, out: Path, day: dt.date) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        result = build_report(
            con, out, run_id=None, as_of=day, agreements_dir=AGREEMENTS, today=TODAY, pdf=False
        )
    finally:
        con.close()
    return result.index_html.read_text(encoding="utf-8")


def _revision_rows(html: str) -> dict[str, tuple[str, str, str]]:
    """data-revision key -> (old, new, cause) as the page reads."""
    start = html.index('id="revisions"')
    part = html[start : html.index("</section>", start)]
    rows = {}
    for key, body in re.findall(r'<tr data-revision="([^"]+)">(.*?)</tr>', part, re.S):
        cells = {c: text_of(t).strip() for c, t in re.findall(r'<td class="(\w+)">(.*?)</td>', body, re.S)}
        rows[key] = (cells["previous"], cells["new"], cells["cause"])
    return rows


def _marks(html: str) -> list[str]:
    return re.findall(r'<a class="revised-mark" href="#revisions" data-revised="([^"]+)"', html)


def test_the_report_lists_revisions_and_marks_their_indicators(nights, indicators, tmp_path):
    out = tmp_path / "reports"
    # night 1: the first edition (no section, no mark: a sentence in the data note)
    first = _report(nights[1], out, D1)
    assert 'id="revisions"' not in first and _marks(first) == []
    assert texts.revisions_note("first", None, False) in text_of(first)

    # night 2: compared with night 1's report
    html = _report(nights[2], out, D2)
    log = read_log(out / D2.isoformat())
    assert log is not None and [(e.run_id, e.report_date) for e in log.editions] == [("night-2", D2)]
    assert log.editions[0].compared_with == Baseline(
        run_id="night-1", published_at=T1, chosen_from="report", report_date=D1
    )
    expected = expected_revisions(indicators)
    rows = _revision_rows(html)
    assert {tuple(k.split("/")) for k in rows} == {(k[0], str(k[1]), k[3], k[4]) for k in expected}
    for (ind, period, _loc, dim, code), (old, new) in expected.items():
        got = rows[f"{ind}/{period}/{dim}/{code}"]
        assert (got[0], got[1]) == (old, new), (ind, period, dim, code)
    assert rows[f"{BAGRUT}/2021/total/all"] == (
        "71.5%",
        "70.8%",
        f"התקבל קובץ מתוקן מהמקור: {labels.source_label('schools')}",
    )
    # the section, its place in the contents, and the mark on each revised indicator's card and page
    sec = html[html.index('id="revisions"') : html.index('id="quality"')]
    assert f'<h2 id="revisions-h">{NAME}</h2>' in sec and "(5 בינואר 2022)" in sec
    assert f'<a href="#revisions">{NAME}</a>' in html
    revised = sorted({k[0] for k in expected})
    assert sorted(_marks(html)) == sorted(revised * 2)  # a card and a page each
    for ind in revised:
        assert re.search(f'<h3 id="ind-{ind}-h">[^<]*<a class="revised-mark"[^>]*>עודכן</a>', html), ind
    assert 'data-revised="edu_dropout"' not in html
    # the section's figures are not table cells of the indicators (their checks stay valid)
    assert not any(k in parse(sec).cells for k in rows)

    # a rebuilt report is the same page
    assert _report(nights[2], out, D2) == html

    # night 3, the same day: nothing revised since night 2's report; both editions kept
    third = _report(nights[3], out, D2)
    assert 'id="revisions"' not in third and _marks(third) == []
    assert texts.revisions_note("unchanged", "6 בינואר 2022", True) in text_of(third)
    log = read_log(out / D2.isoformat())
    assert log is not None and [e.run_id for e in log.editions] == ["night-2", "night-3"]
    assert _report(nights[3], out, D2) == third
    # night 2's report made again (its page was replaced by night 3's): the same revisions
    assert _report(nights[2], out, D2) == html


def test_no_publication_recorded_no_section(nights, tmp_path):
    html = _report(nights[0], tmp_path, D1)
    assert "revisions" not in re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    assert not (tmp_path / D1.isoformat() / EDITION_NAME).exists()
