"""Cost that follows the change (issue 16): a night on which one locality re-sends a file
recomputes only that locality, and gives the warehouse a full rebuild gives.

(a) End to end: two generated towns, night 1 (a first build: full), night 2 where one town
re-sends its population register corrected (same name, new bytes: some residents fewer).
Night 2 is incremental over that town alone; a ``--full-refresh`` rebuild of the same inputs
(a copy of the home after night 2) must give the same warehouse, relation for relation and
row for row (``except all`` both ways, on exact copies of every relation), run metadata
apart. (b) The decision rules of :mod:`ci_metrics.publish.increments`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import make_settings, run_flow

from ci_metrics.publish.increments import CHANGED_LOCALITIES_VAR, ChangedFile, Increment, decide

RUN_METADATA = {
    # a row per run, publish or release: the rebuild is one more run and adds its own
    "ops.runs",
    "ops.publications",
    "ops.validations",
    "ops.validation_chunks",  # which run validated each chunk
    "ops.extracts",
    # a row per run's validation (from ops.validations), the latest run flagged
    "marts.data_quality_checks",
    "marts.data_quality_failed_checks",
}
"""Relations that record runs rather than data: left out of the comparison."""

STAMPED = {
    "history.recorded_files",
    "history.recorded_indicator_values",
    "history.recorded_indicator_progress",
}
"""What a publish would record, stamped with the publishing run's ID (column ``run_id``):
compared without that column."""


def relations(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = current_database() order by 1"
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def export(path: Path, names: list[str], out: Path) -> None:
    """Every relation of ``names`` as a Parquet file (exact types and values), so that two
    warehouses whose views name their own catalog can be compared in one connection."""
    out.mkdir(parents=True)
    con = duckdb.connect(str(path), read_only=True)
    try:
        for name in names:
            con.execute(f"copy (select * from {name}) to '{out / name}.parquet' (format parquet)")
    finally:
        con.close()


def differences(a: Path, b: Path, tmp: Path) -> list[str]:
    """What differs between two warehouses: relations present in one only, and for each
    relation in both the rows one has and the other lacks (as a multiset)."""
    names_a, names_b = set(relations(a)) - RUN_METADATA, set(relations(b)) - RUN_METADATA
    problems = [f"{n}: only in the incremental night" for n in sorted(names_a - names_b)]
    problems += [f"{n}: only in the full rebuild" for n in sorted(names_b - names_a)]
    both = sorted(names_a & names_b)
    export(a, both, tmp / "a")
    export(b, both, tmp / "b")
    con = duckdb.connect()
    try:
        for name in both:
            pa, pb = tmp / "a" / f"{name}.parquet", tmp / "b" / f"{name}.parquet"
            columns = "* exclude (run_id)" if name in STAMPED else "*"
            only_a, only_b = (
                con.execute(
                    f"select count(*) from (select {columns} from '{x}' "
                    f"except all select {columns} from '{y}')"
                ).fetchone()
                for x, y in ((pa, pb), (pb, pa))
            )
            if only_a != (0,) or only_b != (0,):
                problems.append(
                    f"{name}: {only_a[0] if only_a else '?'} rows only in the incremental night, "
                    f"{only_b[0] if only_b else '?'} only in the full rebuild"
                )
    finally:
        con.close()
    return problems


def correct_register(inbox: Path, locality: int, dropped: int = 40) -> Path:
    """The town re-sends its register: the same file name, ``dropped`` residents fewer."""
    (path,) = sorted((inbox / "residents").glob(f"residents_{locality}_*"))
    lines = path.read_bytes().split(b"\n")
    body = [line for line in lines[1:] if line.strip()]
    ending = b"\n" if lines[-1] == b"" else b""
    path.write_bytes(b"\n".join([lines[0], *body[:-dropped]]) + ending)
    return path


def counts_by_locality(path: Path, relation: str) -> dict[int, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(f"select locality_code, count(*) from {relation} group by 1").fetchall()
    finally:
        con.close()
    return dict(rows)


def build_stage(record) -> str:
    (stage,) = [s for s in record.stages if s.name == "dbt build"]
    return stage.detail


def test_one_locality_night_equals_a_full_rebuild(tmp_path: Path, prefect_harness) -> None:
    from ci_metrics_synthetic import generate_cities

    inbox = tmp_path / "inbox"
    generate_cities(2, inbox, seed=5, residents_per_city=2500, truth=False, progress=lambda _: None)
    localities = sorted(int(p.name.split("_")[1]) for p in (inbox / "residents").glob("residents_*"))
    assert len(localities) == 2
    changed, untouched = localities

    settings = make_settings(tmp_path / "home")
    night1 = run_flow(settings, inbox)
    assert night1.status == "succeeded", night1.failures
    assert build_stage(night1).startswith("full rebuild (first build"), build_stage(night1)
    before = counts_by_locality(settings.warehouse_path, "staging.stg_residents__persons")

    correct_register(inbox, changed)
    night2 = run_flow(settings, inbox)
    assert night2.status == "succeeded", night2.failures
    assert build_stage(night2).startswith(f"incremental: 1 localities ({changed})"), build_stage(night2)
    after = counts_by_locality(settings.warehouse_path, "staging.stg_residents__persons")
    assert after[changed] < before[changed], "the corrected register was recomputed"
    assert after[untouched] == before[untouched]

    # The same inputs, rebuilt whole: a copy of the home after night 2, run --full-refresh.
    rebuilt = make_settings(tmp_path / "rebuilt")
    shutil.copytree(settings.root, rebuilt.root, ignore=shutil.ignore_patterns("prefect"))
    full = run_flow(rebuilt, inbox, full_refresh=True)
    assert full.status == "succeeded", full.failures
    assert build_stage(full).startswith("full rebuild (asked"), build_stage(full)

    problems = differences(settings.warehouse_path, rebuilt.warehouse_path, tmp_path / "compare")
    assert problems == [], "\n".join(problems)


# (b) The decision rules.


def f(source: str, locality: int | None, name: str = "x.csv") -> ChangedFile:
    return ChangedFile(source=source, file_name=name, locality_code=locality)


def test_the_localities_of_the_changed_files() -> None:
    increment = decide([f("schools", 70), f("youth", 31), f("residents", 70)])
    assert increment == Increment(localities=(31, 70), reason=increment.reason)
    assert not increment.full
    assert increment.dbt_args() == ["--vars", json.dumps({CHANGED_LOCALITIES_VAR: [31, 70]})]
    assert increment.describe() == "incremental: 2 localities (31, 70)"


def test_nothing_loaded_recomputes_nothing() -> None:
    increment = decide([])
    assert increment.localities == ()
    assert increment.dbt_args() == ["--vars", json.dumps({CHANGED_LOCALITIES_VAR: []})]


@pytest.mark.parametrize(
    ("files", "kwargs", "reason"),
    [
        ([f("schools", 70)], {"full_refresh": True}, "asked: --full-refresh"),
        ([f("schools", 70)], {"published_before": False}, "first build"),
        ([f("schools", 70)], {"definition_changed": True}, "the dbt project changed"),
        ([f("schools", 70), f("cbs", None, "profile.xlsx")], {}, "national file cbs/profile.xlsx"),
        ([f("cbs", 70, "index.xlsx")], {}, "national file cbs/index.xlsx"),
        ([f("schools", 70), f("surveys", None, "all.csv")], {}, "no single locality: surveys/all.csv"),
    ],
)
def test_a_full_rebuild_when_the_set_cannot_be_trusted(files, kwargs, reason) -> None:
    increment = decide(files, **kwargs)
    assert increment.full and increment.localities is None
    assert reason in increment.reason
    assert increment.dbt_args() == ["--full-refresh"]
    assert increment.describe().startswith("full rebuild (")


def test_changed_files_read_from_the_ledger() -> None:
    """This run's loaded files and what they superseded; not the rejected, not other runs'."""
    from ci_metrics.ingest.ledger import ensure_ops
    from ci_metrics.publish.increments import changed_files

    con = duckdb.connect()
    ensure_ops(con)
    rows = [
        # file_id, source, name, locality, run, status, superseded_by
        ("old", "residents", "residents_9.csv", 9, "r1", "superseded", "new"),
        ("new", "residents", "residents_9.csv", 8, "r2", "loaded", None),
        ("other", "schools", "a_5.xlsx", 5, "r1", "loaded", None),
        ("bad", "schools", "a_6.xlsx", 6, "r2", "rejected", None),
        ("cbs", "cbs", "profile.xlsx", None, "r2", "loaded", None),
    ]
    for file_id, source, name, locality, run, status, by in rows:
        con.execute(
            "insert into ops.files (file_id, source, file_name, size_bytes, locality_code, received_at, "
            "run_id, archived_path, status, superseded_by) values (?, ?, ?, 1, ?, now(), ?, '', ?, ?)",
            [file_id, source, name, locality, run, status, by],
        )
    assert changed_files(con, "r2") == [
        f("cbs", None, "profile.xlsx"),
        f("residents", 8, "residents_9.csv"),
        f("residents", 9, "residents_9.csv"),
    ]
    assert decide(changed_files(con, "r1")).localities == (5,)
