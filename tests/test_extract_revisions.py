"""Each partner extract carries a revisions file (issue 13, item 4).

Fast: no pipeline run. A warehouse is built by hand over four nights, each a vintage of
``marts.indicator_values`` aggregated from synthetic pupils (so every breakdown adds up to its
total and the true value of every cell is known here):

* night 0: an extract before the warehouse kept any history;
* night 1: the first publish the history records (v1), and an extract;
* night 2: corrected school files (same names, new bytes) and a new year (v2), and an extract;
  (a) five pupils of school 34400 in 2019 become eligible: published values change, and a
      school missing from the first file of 2019 appears (34404, 30 pupils);
  (b) school 34403 in 2020 shrinks from 30 to 8 pupils: a published cell becomes suppressed;
  (c) in 2021 one pupil of 34403 and one of 34402 (both withheld, small) swap eligibility: the
      withheld cells change underneath, no released cell changes, nothing may be listed;
  (d) 2022 appears: a new period, not a revision;
* night 3: ``ci-metrics extract`` again, nothing published since: a header-only file.

The history is what the history stage keeps: the snapshot tables (``history.*``) are written
here with dbt's check-strategy semantics, and the marts the extracts read
(``indicator_value_history``, ``indicator_values_as_of``, ``indicator_revisions``) are the
project's own models, rendered from ``models/marts/history/*.sql``. The disclosure checks are
those of ``tests/test_extracts.py`` (written without the suppression code).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import jinja2
import pandas as pd
import pytest
from test_extracts import fails_alone, linear_attacker, merged_truth, read_extract, truth_index, unneutralize
from test_indicators import registry_frame

from ci_metrics.publish.history import AS_OF_VARIABLE
from ci_metrics.share.extracts import DEFAULT_AGREEMENTS_DIR, load_agreement, produce_extracts
from ci_metrics.share.extracts.csv_writer import render_csv
from ci_metrics.share.extracts.disclosure import DERIVED_COLUMNS
from ci_metrics.share.extracts.produce import REVISIONS_RULE
from ci_metrics.share.extracts.revisions import REVISION_COLUMNS

PROJECT = Path(__file__).resolve().parents[1]
HISTORY_MODELS = PROJECT / "models" / "marts" / "history"
LOC = 1034
IND = "edu_bagrut_eligibility"
DIMS = ("school", "gender", "community")
TODAY = dt.date(2026, 6, 1)  # inside every shipped agreement's validity
PARTNERS = ["education_department", "leap_forward_foundation", "ministry_of_education", "public"]
KEY = ["indicator_id", "period", "locality_code", "dimension", "dimension_value"]

PUBLISHED = {  # UTC, no zone: ops.publications.published_at (microseconds, as the history stage)
    1: dt.datetime(2026, 5, 28, 1, 0, 0, 250_000),
    2: dt.datetime(2026, 5, 29, 1, 0, 0, 750_000),
}
EXTRACTED = {  # the `now` of each night's extract (UTC)
    0: dt.datetime(2026, 5, 27, 1, 5, tzinfo=dt.UTC),
    1: dt.datetime(2026, 5, 28, 1, 5, tzinfo=dt.UTC),
    2: dt.datetime(2026, 5, 29, 1, 5, tzinfo=dt.UTC),
    3: dt.datetime(2026, 5, 30, 9, 30, tzinfo=dt.UTC),
}
RUN = {n: f"run-{n}" for n in EXTRACTED}
DAY = {n: EXTRACTED[n].date() for n in EXTRACTED}


# ----------------------------------------------------------------------------- vintages


def _pupils(sizes: dict[str, int], period: int) -> list[dict]:
    """Deterministic pupils: two of three eligible, genders alternate, 1 in 6 Ethiopian-origin,
    1 in 11 not in the register (unknown)."""
    pupils = []
    for school, n in sizes.items():
        for i in range(n):
            pupils.append(
                dict(
                    id=f"{period}-{school}-{i}",
                    school=school,
                    gender="female" if i % 2 else "male",
                    eligible=i % 3 != 0,
                )
            )
    for j, p in enumerate(pupils):
        p["community"] = "ethiopian_origin" if j % 6 == 0 else "unknown" if j % 11 == 5 else "other"
    return pupils


def _cells(pupils: list[dict], period: int) -> list[dict]:
    groups: dict[tuple[str, str], list[dict]] = {("total", "all"): pupils}
    for d in DIMS:
        for p in pupils:
            groups.setdefault((d, p[d]), []).append(p)
    rows = []
    for (d, v), ps in groups.items():
        num, den = sum(p["eligible"] for p in ps), len(ps)
        rows.append(
            dict(
                indicator_id=IND,
                period=period,
                locality_code=LOC,
                dimension=d,
                dimension_value=v,
                numerator=float(num),
                denominator=float(den),
                value=100.0 * num / den,
                unit="percent",
                unweighted_count=den,
                min_cell_size=10,
                is_below_min_cell_size=den < 10,
            )
        )
    return rows


def _frame(rows: list[dict]) -> pd.DataFrame:
    values = pd.DataFrame(rows)
    values["unweighted_count"] = values["unweighted_count"].astype("int64")
    return values


BIG = {"34400": 70, "34401": 60, "34402": 40, "34403": 30}
SMALL = {"34400": 70, "34401": 60, "34402": 24, "34403": 8}


def vintages() -> tuple[pd.DataFrame, pd.DataFrame]:
    """v1 (nights 0 and 1) and v2 (night 2), see the module."""
    v1 = {2019: _pupils(BIG, 2019), 2020: _pupils(BIG, 2020), 2021: _pupils(SMALL, 2021)}
    v2 = {period: [dict(p) for p in ps] for period, ps in v1.items()}
    # (a) five pupils of 34400 in 2019 become eligible
    for p in [p for p in v2[2019] if p["school"] == "34400" and not p["eligible"]][:5]:
        p["eligible"] = True
    v2[2019] += _pupils({"34404": 30}, 2019)
    # (b) 34403 in 2020 shrinks to 8 pupils
    keep = [p for p in v2[2020] if p["school"] == "34403"][:8]
    v2[2020] = [p for p in v2[2020] if p["school"] != "34403" or p in keep]
    # (c) in 2021 two withheld schools swap one eligible pupil of the same gender and community
    ineligible = next(p for p in v2[2021] if p["school"] == "34403" and not p["eligible"])
    eligible = next(
        p
        for p in v2[2021]
        if p["school"] == "34402"
        and p["eligible"]
        and (p["gender"], p["community"]) == (ineligible["gender"], ineligible["community"])
    )
    ineligible["eligible"], eligible["eligible"] = True, False
    # (d) a new year
    v2[2022] = _pupils(BIG, 2022)
    first, second = (
        _frame([c for period, ps in sorted(v.items()) for c in _cells(ps, period)]) for v in (v1, v2)
    )
    return first, second


def registry() -> pd.DataFrame:
    indicators = pd.DataFrame(
        {
            "indicator_id": [IND],
            "name_he": ["זכאות לבגרות"],
            "name_en": ["Bagrut eligibility"],
            "domain": ["education"],
            "unit": ["percent"],
            "polarity": ["higher_is_better"],
            "definition": ["definition"],
            "source": ["fixture"],
            "owner_partner": ["education_department"],
            "baseline_period": [2016],
            "baseline_value": [60.0],
            "target_period": [2025],
            "target_value": [70.0],
            "min_cell_size": [10],
        }
    )
    derived = registry_frame().set_index("indicator_id")
    for col in DERIVED_COLUMNS:
        indicators[col] = indicators["indicator_id"].map(derived[col])
    return indicators


def files(night: int) -> pd.DataFrame:
    """The ledger (ops.files) as each publish saw it: one school file per year; night 2 brings
    a corrected file of each year (same name, new bytes) and the file of 2022."""
    rows = [(f"f{p}a", "schools", f"schools_{LOC}_{p}.csv", LOC, p, "loaded") for p in (2019, 2020, 2021)]
    if night >= 2:
        rows = [(*r[:5], "superseded") for r in rows]
        rows += [
            (f"f{p}b", "schools", f"schools_{LOC}_{p}.csv", LOC, p, "loaded") for p in (2019, 2020, 2021)
        ]
        rows.append(("f2022a", "schools", f"schools_{LOC}_2022.csv", LOC, 2022, "loaded"))
    return pd.DataFrame(rows, columns=["file_id", "source", "file_name", "locality_code", "period", "status"])


# ----------------------------------------------------------------------------- the warehouse


def _render(model: str) -> str:
    """A history model of the project, with dbt's ref/source/config resolved to this warehouse."""
    text = (HISTORY_MODELS / f"{model}.sql").read_text(encoding="utf-8")
    relations = {
        "indicator_values_snapshot": "history.indicator_values_snapshot",
        "files_snapshot": "history.files_snapshot",
        "indicator_inputs": "history.indicator_inputs",
        "indicator_value_history": "marts.indicator_value_history",
    }
    return (
        jinja2.Environment()
        .from_string(text)
        .render(
            ref=relations.__getitem__, source=lambda schema, name: f"{schema}.{name}", config=lambda **_: ""
        )
    )


def start_warehouse(path: Path, values: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """A published warehouse that keeps no history yet (night 0)."""
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.register("i", registry())
    con.execute("create table marts.indicators as select * from i")
    con.unregister("i")
    _replace(con, "marts.indicator_values", values)
    return con


def _replace(con: duckdb.DuckDBPyConnection, relation: str, frame: pd.DataFrame) -> None:
    con.register("frame", frame)
    con.execute(f"create or replace table {relation} as select * from frame")
    con.unregister("frame")


def _snapshot(
    con: duckdb.DuckDBPyConnection, table: str, key: list[str], rows: pd.DataFrame, at: dt.datetime, run: str
) -> None:
    """dbt's check strategy with hard_deletes=invalidate: a row whose checked columns changed,
    or that is gone, is closed at ``at``; a changed or new row opens a version at ``at``."""
    checked = [c for c in rows.columns if c not in key]
    current = con.execute(f"select * from {table} where valid_to is null").df()
    opened = {tuple(r[k] for k in key): r for r in current.to_dict(orient="records")}
    new = {tuple(r[k] for k in key): r for r in rows.to_dict(orient="records")}
    same = {k for k in new.keys() & opened.keys() if all(_equal(new[k][c], opened[k][c]) for c in checked)}
    for k in opened.keys() - same:
        where = " and ".join(f"{c} = ?" for c in key)
        con.execute(f"update {table} set valid_to = ? where valid_to is null and {where}", [at, *k])
    for k in new.keys() - same:
        row = {**new[k], "valid_from": at, "valid_to": None, "run_id": run}
        columns = list(row)
        con.execute(
            f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
            [None if pd.isna(v) else v for v in row.values()],
        )


def _equal(a, b) -> bool:
    """The snapshot's digest compares figures rounded below any published precision."""
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    if isinstance(a, float) or isinstance(b, float):
        return round(float(a), 6) == round(float(b), 6)
    return a == b


def publish(con: duckdb.DuckDBPyConnection, night: int, values: pd.DataFrame) -> None:
    """What a publish's history stage leaves in the warehouse: its row of ops.publications, the
    snapshots at its time, the history marts (the project's models) over them."""
    at, run = PUBLISHED[night], RUN[night]
    con.execute(
        """
        create schema if not exists ops;
        create schema if not exists history;
        create table if not exists ops.publications (
            run_id varchar, published_at timestamp, code_fingerprint varchar, definition_fingerprint varchar
        );
        create table if not exists history.indicator_values_snapshot (
            indicator_id varchar, period integer, locality_code integer, dimension varchar,
            dimension_value varchar, numerator double, denominator double, value double, unit varchar,
            unweighted_count bigint, min_cell_size integer, is_below_min_cell_size boolean,
            ci_lower double, ci_upper double, ci_method varchar,
            valid_from timestamp, valid_to timestamp, run_id varchar
        );
        create table if not exists history.files_snapshot (
            file_id varchar, source varchar, file_name varchar, locality_code integer, period integer,
            status varchar, valid_from timestamp, valid_to timestamp, run_id varchar
        );
        create or replace table history.indicator_inputs as
            select 'edu_bagrut_eligibility' as indicator_id, 'schools' as source_folder;
        """
    )
    con.execute("insert into ops.publications values (?, ?, 'code', 'definition')", [run, at])
    _snapshot(con, "history.indicator_values_snapshot", KEY, values, at, run)
    _snapshot(con, "history.files_snapshot", ["file_id"], files(night), at, run)
    _replace(con, "marts.indicator_values", values)
    for model in ("indicator_value_history", "indicator_values_as_of", "indicator_revisions"):
        con.execute(f"create or replace view marts.{model} as {_render(model)}")


def extract(con: duckdb.DuckDBPyConnection, out: Path, night: int, now: dt.datetime) -> dict:
    results = produce_extracts(
        con,
        out,
        run_id=RUN[night],
        as_of=DAY[night],
        agreements_dir=DEFAULT_AGREEMENTS_DIR,
        today=TODAY,
        now=now,
    )
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    return {r.partner: r for r in results}


def four_nights(
    tmp: Path, v1: pd.DataFrame, v2: pd.DataFrame, extracted: dict[int, dt.datetime] | None = None
) -> duckdb.DuckDBPyConnection:
    now = {**EXTRACTED, **(extracted or {})}
    con = start_warehouse(tmp / "w.duckdb", v1)
    extract(con, tmp / "out", 0, now[0])
    publish(con, 1, v1)
    extract(con, tmp / "out", 1, now[1])
    publish(con, 2, v2)
    extract(con, tmp / "out", 2, now[2])
    extract(con, tmp / "out", 3, now[3])  # `ci-metrics extract`: no publish in between
    return con


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("revisions")
    v1, v2 = vintages()
    con = four_nights(tmp, v1, v2)
    yield dict(con=con, out=tmp / "out", v1=v1, v2=v2)
    con.close()


def folder(nights: dict, partner: str, night: int) -> Path:
    return nights["out"] / partner / DAY[night].isoformat()


def revisions_file(nights: dict, partner: str, night: int) -> Path:
    return folder(nights, partner, night) / f"{partner}_{DAY[night].isoformat()}_revisions.csv"


def values_rows(nights: dict, partner: str, night: int) -> list[dict]:
    return read_extract(folder(nights, partner, night) / f"{partner}_{DAY[night].isoformat()}_values.csv")


def manifest(nights: dict, partner: str, night: int) -> dict:
    return json.loads((folder(nights, partner, night) / "manifest.json").read_text(encoding="utf-8"))


def cell_key(r: dict) -> tuple:
    return (
        r["indicator_id"],
        int(r["period"]),
        int(r["locality_code"]),
        r["dimension"],
        unneutralize(r["dimension_value"]),
    )


HEADER_ONLY = render_csv(pd.DataFrame(columns=REVISION_COLUMNS))


# ----------------------------------------------------------------------------- the fixture is what it says


def test_the_fixture_has_the_four_cases(nights):
    """The history is the vintages, and the releases differ as the module says."""
    con = nights["con"]
    con.execute(
        f"set variable {AS_OF_VARIABLE} = cast(? as timestamp)", [PUBLISHED[1] + dt.timedelta(hours=1)]
    )
    assert con.execute("select count(*) from marts.indicator_values_as_of").fetchone()[0] == len(nights["v1"])
    con.execute(f"reset variable {AS_OF_VARIABLE}")
    warehouse = {
        (r[0], r[1])
        for r in con.execute("select period, dimension_value from marts.indicator_revisions").fetchall()
    }
    assert (2021, "34403") in warehouse and (2021, "34402") in warehouse  # (c): changed underneath
    one = {cell_key(r): r for r in values_rows(nights, "education_department", 1)}
    two = {cell_key(r): r for r in values_rows(nights, "education_department", 2)}
    a = (IND, 2019, LOC, "school", "34400")
    assert one[a]["suppressed"] == two[a]["suppressed"] == "" and one[a]["value"] != two[a]["value"]
    b = (IND, 2020, LOC, "school", "34403")
    assert one[b]["suppressed"] == "" and two[b]["suppressed"] == "primary"
    for school in ("34402", "34403"):
        c = (IND, 2021, LOC, "school", school)
        assert one[c]["suppressed"] and two[c]["suppressed"]
    assert all(one[k] == two[k] for k in one if k[1] == 2021)
    assert {k[1] for k in two} - {k[1] for k in one} == {2022}


# ----------------------------------------------------------------------------- nothing to compare with


def test_first_extract_and_an_extract_older_than_the_history_compare_nothing(nights):
    for partner in PARTNERS:
        for night, reason in ((0, "first extract"), (1, "older than the history")):
            assert revisions_file(nights, partner, night).read_bytes() == HEADER_ONLY
            section = manifest(nights, partner, night)["revisions"]
            assert section["since"] is None and reason in section["reason"], section
            assert section["cells"] == {"changed": 0, "appeared": 0, "disappeared": 0}
            assert section["rule"] == REVISIONS_RULE


def test_nothing_published_since_gives_a_header_only_file(nights):
    for partner in PARTNERS:
        assert revisions_file(nights, partner, 3).read_bytes() == HEADER_ONLY
        section = manifest(nights, partner, 3)["revisions"]
        assert section["since"]["run_id"] == RUN[2] and section["reason"] is None
        assert section["cells"] == {"changed": 0, "appeared": 0, "disappeared": 0}


# ----------------------------------------------------------------------------- what is listed


def released_difference(old: list[dict], new: list[dict]) -> dict[tuple, str]:
    """The cells whose released form differs between two delivered values files, read back from
    the CSVs (not from the code under test): kind per cell. A period a release lacks is not
    compared."""
    before, after = {cell_key(r): r for r in old}, {cell_key(r): r for r in new}
    periods = {k[:1] + k[1:2] for k in before} & {k[:1] + k[1:2] for k in after}
    out = {}
    for k in before.keys() | after.keys():
        if k[:2] not in periods:
            continue
        if k not in before:
            out[k] = "appeared"
        elif k not in after:
            out[k] = "disappeared"
        elif (before[k]["suppressed"], before[k]["value"]) != (after[k]["suppressed"], after[k]["value"]):
            out[k] = "changed"
    return out


def test_the_revisions_file_lists_exactly_what_changed_in_the_partners_releases(nights):
    for partner in PARTNERS:
        path = revisions_file(nights, partner, 2)
        assert path.read_bytes().startswith(HEADER_ONLY)
        listed = read_extract(path)
        expected = released_difference(values_rows(nights, partner, 1), values_rows(nights, partner, 2))
        assert {cell_key(r): r["revision_kind"] for r in listed} == expected, partner
        assert expected, partner
        section = manifest(nights, partner, 2)["revisions"]
        assert section["since"]["run_id"] == RUN[1] and section["reason"] is None
        assert section["since"]["created_at"] == EXTRACTED[1].replace(tzinfo=None).isoformat() + "Z"
        assert sum(section["cells"].values()) == len(listed)
        assert all(r["period"] not in ("2021", "2022") for r in listed), "(c) and (d) are not revisions"

    rows = {cell_key(r): r for r in read_extract(revisions_file(nights, "education_department", 2))}
    a = rows[(IND, 2019, LOC, "school", "34400")]  # (a)
    assert a["revision_kind"] == "changed" and a["previous_suppressed"] == a["new_suppressed"] == ""
    assert float(a["new_value"]) > float(a["previous_value"])
    assert a["cause"] == "files changed"
    assert (
        a["cause_files"] == f"schools/schools_{LOC}_2019.csv (entered); schools/schools_{LOC}_2019.csv (left)"
    )
    new_school = rows[(IND, 2019, LOC, "school", "34404")]
    assert new_school["revision_kind"] == "appeared" and new_school["previous_value"] == ""
    assert new_school["new_value"] != "" and new_school["cause"] == "files changed"
    b = rows[(IND, 2020, LOC, "school", "34403")]  # (b)
    assert b["previous_value"] != "" and b["previous_suppressed"] == ""
    assert b["new_value"] == "" and b["new_suppressed"] == "primary" and b["value_decimals"] == ""
    # A withheld side never gets a cause of its own (that would tell whether its hidden value
    # moved): the small school and the complement withheld for it read the same, the causes of
    # their indicator, period and locality, and the disclosure cause.
    group_cause = "files changed; disclosure control: a related cell changed"
    assert b["cause"] == group_cause and f"schools_{LOC}_2020.csv" in b["cause_files"]
    complements = [r for k, r in rows.items() if k[1] == 2020 and r["new_suppressed"] == "complementary"]
    assert complements, "the small school takes a complement with it"
    for r in complements:  # a school whose own figures did not change: withheld for 34403
        assert (r["cause"], r["cause_files"]) == (b["cause"], b["cause_files"]), r

    # A merged cell (the public's `everyone_else` = other + unknown) has its members' causes.
    public = {cell_key(r): r for r in read_extract(revisions_file(nights, "public", 2))}
    merged = public[(IND, 2019, LOC, "community", "everyone_else")]
    assert merged["cause"] == "files changed" and f"schools_{LOC}_2019.csv" in merged["cause_files"]


def test_every_number_in_the_revisions_file_is_one_a_release_carries(nights):
    """Old values are the night-1 release's, new values the night-2 release's, cell for cell;
    a side withheld (or absent) in its release is blank, its reason that release's."""
    for partner in PARTNERS:
        old = {cell_key(r): r for r in values_rows(nights, partner, 1)}
        new = {cell_key(r): r for r in values_rows(nights, partner, 2)}
        for r in read_extract(revisions_file(nights, partner, 2)):
            k = cell_key(r)
            for release, value, suppressed in (
                (old, "previous_value", "previous_suppressed"),
                (new, "new_value", "new_suppressed"),
            ):
                cell = release.get(k)
                if cell is None:
                    assert r[value] == r[suppressed] == "", (partner, k)
                    continue
                assert r[suppressed] == cell["suppressed"], (partner, k)
                assert r[value] == cell["value"], (partner, k, r[value], cell["value"])
                if cell["suppressed"]:
                    assert r[value] == "", (partner, k)
            if r["new_value"]:
                assert r["value_decimals"] == new[k]["value_decimals"], (partner, k)


def revision_leaks(nights: dict, revisions: dict[str, list[dict]], night: int, side: str) -> list:
    """What the independent checker finds when the ``side`` (previous | new) of each partner's
    ``revisions`` rows is read with every release of ``night`` (that side's vintage): a number
    published about a cell failing rules 1-2 on its own, or a withheld cell recoverable as a
    linear combination of what is published (``linear_attacker``)."""
    truth = nights["v1"] if night == 1 else nights["v2"]
    found: list = []
    releases = []
    for partner in PARTNERS:
        agreement = load_agreement(DEFAULT_AGREEMENTS_DIR / f"{partner}.yml")
        cells = merged_truth(truth, agreement.groupings)
        threshold = max(agreement.min_cell_size, 10)
        # A number on the side is published whatever its `suppressed` column says.
        sides = [
            {
                **r,
                "suppressed": "" if r[f"{side}_value"] else r[f"{side}_suppressed"],
                "value": r[f"{side}_value"],
            }
            for r in revisions[partner]
            if r[f"{side}_value"] or r[f"{side}_suppressed"]
        ]
        found += [
            (partner, side, cell_key(r), "fails the rules alone")
            for r in sides
            if not r["suppressed"] and fails_alone(cells[cell_key(r)], threshold)
        ]
        releases.append((partner, values_rows(nights, partner, night), agreement.groupings))
        releases.append((f"{partner} revisions ({side})", sides, agreement.groupings))
    return found + linear_attacker(releases, truth, threshold=10)


def test_the_revisions_file_reveals_nothing_suppression_hides(nights):
    """The independent checker of tests/test_extracts.py, per vintage: the revisions file's old
    side read with every night-1 release, its new side with every night-2 release."""
    revisions = {p: read_extract(revisions_file(nights, p, 2)) for p in PARTNERS}
    assert revision_leaks(nights, revisions, 1, "previous") == []
    assert revision_leaks(nights, revisions, 2, "new") == []

    # The checker finds a leak when there is one. (b): the new value of the school that became
    # small, from the warehouse ...
    v2 = nights["v2"]
    b = (IND, 2020, LOC, "school", "34403")
    small = truth_index(v2)[b]
    edu = revisions["education_department"]
    leaky = [
        {**r, "new_suppressed": "", "new_value": str(small.value)} if cell_key(r) == b else r for r in edu
    ]
    found = revision_leaks(nights, {**revisions, "education_department": leaky}, 2, "new")
    assert ("education_department", "new", b, "fails the rules alone") in found
    # ... or the new value of its complement: total minus the published schools gives it back.
    complement = [r for r in edu if cell_key(r)[1] == 2020 and r["new_suppressed"] == "complementary"]
    assert any(r["dimension"] == "school" for r in complement)
    value = {cell_key(r): r for r in values_rows(nights, "education_department", 1)}
    leaky = [
        {**r, "new_suppressed": "", "new_value": value[cell_key(r)]["value"]}
        if r in complement and r["dimension"] == "school"
        else r
        for r in edu
    ]
    assert revision_leaks(nights, {**revisions, "education_department": leaky}, 2, "new")


# ----------------------------------------------------------------------------- the file itself


def test_the_revisions_file_is_recorded_like_the_others(nights):
    con = nights["con"]
    for partner in PARTNERS:
        path = revisions_file(nights, partner, 2)
        listed = {f["name"]: f for f in manifest(nights, partner, 2)["files"]}
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        rows = read_extract(path)
        assert listed[path.name]["sha256"] == sha and listed[path.name]["rows"] == len(rows)
        assert listed[path.name]["suppressed_cells"] == sum(
            bool(r["previous_suppressed"] or r["new_suppressed"]) for r in rows
        )
        audited = con.execute(
            "select sha256, row_count, suppressed_cells from ops.extracts "
            "where partner = ? and run_id = ? and file_name = ?",
            [partner, RUN[2], path.name],
        ).fetchall()
        assert audited == [(sha, len(rows), listed[path.name]["suppressed_cells"])]
        assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\n") == data.count(b"\r\n")


def test_the_revisions_file_is_byte_identical_for_identical_input(nights, tmp_path):
    """The same four nights again, from shuffled warehouse rows."""
    v1, v2 = (
        v.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        for v, seed in ((nights["v1"], 3), (nights["v2"], 5))
    )
    con = four_nights(tmp_path, v1, v2)
    con.close()
    again = dict(nights, out=tmp_path / "out")
    for partner in PARTNERS:
        for night in (0, 1, 2, 3):
            assert (
                revisions_file(again, partner, night).read_bytes()
                == revisions_file(nights, partner, night).read_bytes()
            ), (partner, night)


def test_an_extract_made_within_the_second_of_its_publish_is_compared_with_that_publish(nights, tmp_path):
    """created_at is kept to the second, the publish time is not: an extract 0.5 s after its
    publish is recorded before it, yet it carried that publish's values."""
    extracted = {1: (PUBLISHED[1] + dt.timedelta(seconds=0.5)).replace(tzinfo=dt.UTC)}
    assert extracted[1].replace(microsecond=0, tzinfo=None) < PUBLISHED[1]
    four_nights(tmp_path, nights["v1"], nights["v2"], extracted).close()
    again = dict(nights, out=tmp_path / "out")
    for partner in PARTNERS:
        assert manifest(again, partner, 2)["revisions"]["since"]["run_id"] == RUN[1]
        assert (
            revisions_file(again, partner, 2).read_bytes() == revisions_file(nights, partner, 2).read_bytes()
        )
