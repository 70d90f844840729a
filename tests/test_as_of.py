"""``ci-metrics sql --as-of WHEN``: the warehouse as it was published at a moment (issue 13, item 2).

Fast: no pipeline run. Each test builds a small published warehouse by hand (two publishes of
one value, the history's ``*_as_of`` views with the semantics of models/marts/history/, and a
few other relations) and runs the command through ``cli.main``, as the planning unit does.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from ci_metrics import cli
from ci_metrics.operations.query import AS_OF_FORMS, BLOCKED, SANDBOX
from ci_metrics.publish.history import AS_OF_VARIABLE

FIRST_RUN, SECOND_RUN = "20260310T080000-aaaaaa", "20260312T203000-bbbbbb"
FIRST_PUBLISH, SECOND_PUBLISH = "2026-03-10 08:00:00", "2026-03-12 20:30:00"  # UTC, as stored
BEFORE, AFTER = 71.5, 70.9  # bagrut eligibility, before and after the corrected school file
PROGRESS_BEFORE, PROGRESS_AFTER = "on_track", "off_track"

WAREHOUSE = f"""
create schema ops;
create schema marts;
create table ops.publications (run_id varchar, published_at timestamp);
insert into ops.publications values ('{FIRST_RUN}', '{FIRST_PUBLISH}'), ('{SECOND_RUN}', '{SECOND_PUBLISH}');
create table ops.files (file_id integer, file_name varchar, status varchar);
insert into ops.files values (1, 'schools_2025.csv', 'superseded'), (2, 'schools_2025.csv', 'loaded');
create view marts.data_quality as
    select status, count(*) as files from ops.files group by status;
create table marts.indicators (indicator_id varchar, title varchar);
insert into marts.indicators values ('edu_bagrut_eligibility', 'Bagrut eligibility');
create table marts.indicator_value_history (
    indicator_id varchar, period integer, locality_code integer, value double,
    valid_from timestamp, valid_to timestamp, run_id varchar
);
insert into marts.indicator_value_history values
    ('edu_bagrut_eligibility', 2025, 1, {BEFORE}, '{FIRST_PUBLISH}', '{SECOND_PUBLISH}', '{FIRST_RUN}'),
    ('edu_bagrut_eligibility', 2025, 1, {AFTER}, '{SECOND_PUBLISH}', null, '{SECOND_RUN}');
create table marts.indicator_values as
    select indicator_id, period, locality_code, value from marts.indicator_value_history
    where valid_to is null;
create view marts.indicator_values_as_of as
    select indicator_id, period, locality_code, value from marts.indicator_value_history
    where valid_from <= cast(getvariable('{AS_OF_VARIABLE}') as timestamp)
        and (valid_to is null or valid_to > cast(getvariable('{AS_OF_VARIABLE}') as timestamp));
create table marts.indicator_progress_history (
    indicator_id varchar, locality_code integer, status varchar, valid_from timestamp, valid_to timestamp
);
insert into marts.indicator_progress_history values
    ('edu_bagrut_eligibility', 1, '{PROGRESS_BEFORE}', '{FIRST_PUBLISH}', '{SECOND_PUBLISH}'),
    ('edu_bagrut_eligibility', 1, '{PROGRESS_AFTER}', '{SECOND_PUBLISH}', null);
create table marts.indicator_progress as
    select indicator_id, locality_code, status from marts.indicator_progress_history where valid_to is null;
create view marts.indicator_progress_as_of as
    select indicator_id, locality_code, status from marts.indicator_progress_history
    where valid_from <= cast(getvariable('{AS_OF_VARIABLE}') as timestamp)
        and (valid_to is null or valid_to > cast(getvariable('{AS_OF_VARIABLE}') as timestamp));
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home whose published warehouse holds two publishes of one value."""
    warehouse = tmp_path / "warehouse" / "ci_metrics.duckdb"
    warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(WAREHOUSE)
    finally:
        con.close()
    monkeypatch.setenv("CI_METRICS_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Set the machine's time zone for one test (``local_zone("Asia/Jerusalem")``): ``$TZ`` only,
    which ``--as-of`` reads; never ``time.tzset()``, whose process-wide state would outlive the
    test and reach every later test of the session."""

    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)

    yield set_zone


def sql(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict], str]:
    """Run ``ci-metrics sql --format json ARGS``: the exit code, the rows (if any) and stderr."""
    capsys.readouterr()
    code = cli.main(["sql", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else [], err


def value_as_of(capsys: pytest.CaptureFixture[str], when: str) -> list[float]:
    code, rows, err = sql(capsys, "--as-of", when, "select value from marts.indicator_values")
    assert code == 0, err
    return [row["value"] for row in rows]


def test_between_two_publishes_answers_with_the_first(home: Path, capsys) -> None:
    assert value_as_of(capsys, "2026-03-11T12:00:00Z") == [BEFORE]
    code, rows, err = sql(
        capsys, "--as-of", "2026-03-11T12:00Z", "select status from marts.indicator_progress"
    )
    assert code == 0, err
    assert rows == [{"status": PROGRESS_BEFORE}]


def test_after_the_second_publish_answers_with_the_second(home: Path, capsys) -> None:
    assert value_as_of(capsys, "2026-03-13T00:00:00Z") == [AFTER]
    # the very instant of a publish already shows it
    assert value_as_of(capsys, "2026-03-12T20:30:00Z") == [AFTER]
    assert value_as_of(capsys, "2026-03-12T20:29:59.999999Z") == [BEFORE]
    code, rows, _ = sql(capsys, "--as-of", "2026-03-13", "select status from marts.indicator_progress")
    assert code == 0 and rows == [{"status": PROGRESS_AFTER}]


def test_before_the_first_publish_no_rows_and_a_note(home: Path, capsys, local_zone) -> None:
    local_zone("Asia/Jerusalem")  # UTC+2 in March 2026
    code, rows, err = sql(capsys, "--as-of", "2026-03-10T09:59:59", "select * from marts.indicator_values")
    assert code == 0 and rows == []
    assert "history begins at 2026-03-10 10:00:00+02:00" in err
    code, rows, err = sql(capsys, "--as-of", "2026-03-01", "select * from marts.indicator_progress")
    assert code == 0 and rows == [] and "history begins at 2026-03-10 10:00:00+02:00" in err
    # from the first publish on: values, and no note
    code, rows, err = sql(capsys, "--as-of", "2026-03-10T10:00:00", "select * from marts.indicator_values")
    assert code == 0 and len(rows) == 1 and "history begins" not in err


def test_an_offset_names_its_own_instant(home: Path, capsys, local_zone) -> None:
    local_zone("America/New_York")  # the machine's zone must not matter when WHEN has an offset
    # the second publish was at 20:30 UTC = 22:30 at +02:00
    assert value_as_of(capsys, "2026-03-12T22:29:59+02:00") == [BEFORE]
    assert value_as_of(capsys, "2026-03-12T22:30:00+02:00") == [AFTER]
    assert value_as_of(capsys, "2026-03-12T20:29:59+00:00") == [BEFORE]


def test_without_an_offset_it_is_the_machines_local_time(home: Path, capsys, local_zone) -> None:
    # the second publish was at 20:30 UTC: 22:30 in Jerusalem (UTC+2), 16:30 in New York (EDT, UTC-4)
    local_zone("Asia/Jerusalem")
    assert value_as_of(capsys, "2026-03-12T22:29:59") == [BEFORE]
    assert value_as_of(capsys, "2026-03-12T22:30:00") == [AFTER]
    assert value_as_of(capsys, "2026-03-12T17:00:00") == [BEFORE]
    local_zone("America/New_York")
    assert value_as_of(capsys, "2026-03-12T16:29:59") == [BEFORE]
    assert value_as_of(capsys, "2026-03-12T17:00:00") == [AFTER]


def test_a_date_means_the_end_of_that_day_in_local_time(home: Path, capsys, local_zone) -> None:
    # the second publish, 2026-03-12 20:30 UTC, fell on the 12th in Jerusalem (22:30) and on
    # the 13th at Kiritimati (UTC+14: 10:30)
    local_zone("Asia/Jerusalem")
    assert value_as_of(capsys, "2026-03-12") == [AFTER]  # not the start of the day
    assert value_as_of(capsys, "2026-03-11") == [BEFORE]
    local_zone("Pacific/Kiritimati")
    assert value_as_of(capsys, "2026-03-12") == [BEFORE]
    assert value_as_of(capsys, "2026-03-13") == [AFTER]


@pytest.mark.parametrize("when", ["yesterday", "2026-13-01", "12/03/2026", "2026-03-12T25:00", ""])
def test_a_when_that_does_not_parse_exits_2_with_the_accepted_forms(home: Path, capsys, when: str) -> None:
    code, rows, err = sql(capsys, "--as-of", when, "select 1 as one")
    assert code == 2 and rows == []
    assert AS_OF_FORMS in err


def test_every_other_relation_is_reachable_under_its_name(home: Path, capsys) -> None:
    when = ["--as-of", "2026-03-11T00:00Z"]
    code, rows, err = sql(capsys, *when, "select file_id from ops.files order by file_id")
    assert code == 0 and rows == [{"file_id": 1}, {"file_id": 2}], err
    code, rows, err = sql(capsys, *when, "select title from marts.indicators")
    assert code == 0 and rows == [{"title": "Bagrut eligibility"}], err
    code, rows, err = sql(
        capsys, *when, "select value from marts.indicator_value_history order by valid_from"
    )
    assert code == 0 and rows == [{"value": BEFORE}, {"value": AFTER}], err
    # a view of the warehouse that reads another relation (ops.files) still works
    code, rows, err = sql(capsys, *when, "select status, files from marts.data_quality order by status")
    assert code == 0 and rows == [{"status": "loaded", "files": 1}, {"status": "superseded", "files": 1}], err
    # the as-of views themselves, and the current values under the catalog's name
    code, rows, err = sql(capsys, *when, "select value from marts.indicator_values_as_of")
    assert code == 0 and rows == [{"value": BEFORE}], err
    code, rows, err = sql(capsys, *when, "select value from ci_metrics.marts.indicator_values")
    assert code == 0 and rows == [{"value": AFTER}], err


def test_without_as_of_nothing_changes(home: Path, capsys) -> None:
    code, rows, err = sql(capsys, "select value from marts.indicator_values")
    assert code == 0 and rows == [{"value": AFTER}], err
    code, rows, err = sql(capsys, "select current_database() as db")
    assert code == 0 and rows == [{"db": "ci_metrics"}], err
    # the as-of views read nothing while the variable is unset
    code, rows, err = sql(capsys, "select * from marts.indicator_values_as_of")
    assert code == 0 and rows == [] and err == ""


def test_the_sandbox_holds_under_as_of(home: Path, capsys, tmp_path: Path) -> None:
    when = ["--as-of", "2026-03-11T00:00Z"]
    other, warehouse = tmp_path / "other.duckdb", home / "warehouse" / "ci_metrics.duckdb"
    duckdb.connect(str(other)).close()
    for query in (
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/passwd')",
        f"attach '{other}' as other",
        # the warehouse's own paths were allowed when it was attached: not a way back in, read-write
        f"detach ci_metrics; attach '{warehouse}' as rw; create table rw.main.written as select 1",
        f"detach ci_metrics; copy (select 1 as x) to '{warehouse}.wal'",
        f"copy (select 1) to '{tmp_path / 'out.csv'}'",
        "set enable_external_access = true",
        "set lock_configuration = false",
        "install httpfs",
    ):
        capsys.readouterr()
        code = cli.main(["sql", *when, query])
        out, err = capsys.readouterr()
        assert code == 1 and BLOCKED in err, (query, err)
        assert "root:" not in out
    assert not (tmp_path / "out.csv").exists()
    assert sorted(path.name for path in warehouse.parent.iterdir()) == [warehouse.name]
    code, rows, err = sql(capsys, "select table_name from duckdb_tables() where table_name = 'written'")
    assert code == 0 and rows == [], err
    names = ", ".join(f"'{name}'" for name in SANDBOX)
    code, rows, err = sql(capsys, *when, f"select name, value from duckdb_settings() where name in ({names})")
    assert code == 0, err
    assert {row["name"]: row["value"] for row in rows} == {
        name: str(value).lower() for name, value in SANDBOX.items()
    }


def test_the_shell_honours_as_of(home: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "sys.stdin",
        io.StringIO(
            "select value\nfrom marts.indicator_values;\nselect * from read_text('/etc/passwd');\n\\q\n"
        ),
    )
    capsys.readouterr()
    code = cli.main(["sql", "--as-of", "2026-03-11T00:00Z", "--format", "csv"])
    out, err = capsys.readouterr()
    assert code == 0
    assert f"value\n{BEFORE}\n" in out and f"{AFTER}" not in out
    assert BLOCKED in err and "root:" not in out


def test_a_warehouse_without_history_is_told_so(home: Path, capsys) -> None:
    con = duckdb.connect(str(home / "warehouse" / "ci_metrics.duckdb"))
    try:
        con.execute("drop view marts.indicator_values_as_of")
    finally:
        con.close()
    code, rows, err = sql(capsys, "--as-of", "2026-03-11", "select 1 as one")
    assert code == 2 and rows == [] and "marts.indicator_values_as_of" in err


def test_the_help_explains_as_of(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["sql", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--as-of WHEN" in out and "end of that day" in out and "local time" in out
