"""Ingestion on Dask workers (issue 16): a run whose files are prepared on a two-worker local
Dask cluster, through Prefect's Dask task runner, publishes the same warehouse as the default
run; the key never travels to a worker; a worker holding another key loads nothing."""

from __future__ import annotations

import pickle
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_INBOX, TEST_KEY, make_settings, run_flow

from ci_metrics.ingest.key import KeyGuardError
from ci_metrics.ingest.layouts import load_layout_set
from ci_metrics.ingest.limits import InputLimits
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.ingest.workers import (
    FileJob,
    KeySource,
    ParquetHandOver,
    PrepareContext,
    batches,
    prepare_batch,
)

RUN_COLUMNS = {"_run_id", "run_id", "published_at", "received_at", "decided_at", "recorded_at"}
"""Columns that name the run or its time: they differ between any two runs."""
SKIPPED_SCHEMAS = ("history",)  # vintages: stamped with the publish's time
SKIPPED_TABLES = {
    "ops.runs",  # the run records, extracts released and key recorded: times of this run
    "ops.extracts",
    "ops.pseudonym_key",
    "ops.validation_chunks",  # which run validated each chunk, its examples in the order read
    "marts.indicator_value_history",  # vintages again, as marts
    "marts.indicator_progress_history",
}


def _tables(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, list[str]]:
    rows = con.execute(
        "select schema_name, table_name, list(column_name order by column_index) "
        "from duckdb_columns() where database_name = ? group by all",
        [db],
    ).fetchall()
    return {
        f"{schema}.{table}": [c for c in columns if c not in RUN_COLUMNS]
        for schema, table, columns in rows
        if schema not in SKIPPED_SCHEMAS and f"{schema}.{table}" not in SKIPPED_TABLES
    }


def differences(left: Path, right: Path) -> dict[str, tuple[int, int]]:
    """Per table or view of either warehouse: rows only in the left, rows only in the right
    (all columns but the run's ID and times); only tables that differ are listed."""
    con = duckdb.connect()
    con.execute(f"attach '{left}' as l (read_only)")
    con.execute(f"attach '{right}' as r (read_only)")
    mine, theirs = _tables(con, "l"), _tables(con, "r")
    found: dict[str, tuple[int, int]] = {}
    for name in sorted(set(mine) | set(theirs)):
        if mine.get(name) != theirs.get(name):
            found[name] = (-1, -1)  # missing on one side, or other columns
            continue
        columns = ", ".join(f'"{c}"' for c in mine[name])
        only = [
            con.execute(
                f"select count(*) from (select {columns} from {a}.{name} except all "
                f"select {columns} from {b}.{name})"
            ).fetchone()[0]
            for a, b in (("l", "r"), ("r", "l"))
        ]
        if any(only):
            found[name] = (only[0], only[1])
    con.close()
    return found


@pytest.fixture(scope="module")
def dask_run(sample_run, tmp_path_factory: pytest.TempPathFactory):
    """The sample inbox again, in a fresh home, its files prepared on two Dask workers."""
    home = tmp_path_factory.mktemp("dask-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CI_METRICS_DASK_WORKERS", "2")
        env.setenv("CI_METRICS_DASK_MIN_FILES", "0")
        env.delenv("CI_METRICS_DASK_ADDRESS", raising=False)
        settings = make_settings(home)
        record = run_flow(settings, SAMPLE_INBOX)
    return settings, record


def test_two_dask_workers_publish_the_same_warehouse_as_the_default_run(sample_run, dask_run) -> None:
    default_settings, default_record = sample_run
    settings, record = dask_run
    assert record.status == "succeeded", record.failures
    ingest = next(s for s in record.stages if s.name == "ingest")
    assert "on 2 Dask workers (a local cluster)" in ingest.detail
    default_ingest = next(s for s in default_record.stages if s.name == "ingest")
    assert "Dask" not in default_ingest.detail  # the sample is below dask_min_files
    assert record.counts == default_record.counts
    assert differences(default_settings.warehouse_path, settings.warehouse_path) == {}


def test_the_comparison_sees_a_changed_row(sample_run, tmp_path: Path) -> None:
    """The comparison above would see one row of one raw table changed."""
    settings, _ = sample_run
    changed = tmp_path / "changed.duckdb"
    changed.write_bytes(settings.warehouse_path.read_bytes())
    con = duckdb.connect(str(changed))
    con.execute("update raw.residents set neighborhood = 'elsewhere' where rowid = 0")
    con.close()
    assert differences(settings.warehouse_path, changed) == {"raw.residents": (1, 1)}


def _context(settings, key: str) -> PrepareContext:
    """The context of a run's tasks, its key source made as the ingest stage makes it."""
    layouts = load_layout_set(settings.layouts_dir, settings.dbt_project_dir)
    return PrepareContext(
        layouts=layouts,
        limits=InputLimits.from_settings(settings),
        known_headers=frozenset(),
        key=KeySource.of(settings.resolved_key_file, Pseudonymiser(key.encode())),
        run_id="test",
    )


def _jobs() -> list[FileJob]:
    import hashlib

    files = sorted((SAMPLE_INBOX / "residents").iterdir())[:2]
    return [
        FileJob(
            index=i,
            source="residents",
            path=path,
            file_id=hashlib.sha256(path.read_bytes()).hexdigest(),
            size=path.stat().st_size,
        )
        for i, path in enumerate(files)
    ]


def test_the_key_never_travels_in_a_tasks_parameters(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CI_METRICS_PSEUDONYM_KEY", TEST_KEY)
    settings = make_settings(tmp_path / "home")
    context = _context(settings, TEST_KEY)
    for batch in batches(_jobs(), 2):
        parameters = pickle.dumps({"jobs": batch, "context": context})
        assert TEST_KEY.encode() not in parameters
    results = prepare_batch(_jobs(), context)  # the worker finds the key itself
    assert all(r.rows_loaded > 0 and r.key_fingerprint == context.key.fingerprint for r in results)  # type: ignore[union-attr]
    assert all(TEST_KEY.encode() not in pickle.dumps(r) for r in results)


def test_a_worker_with_another_key_loads_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CI_METRICS_PSEUDONYM_KEY", "another-key-" + "1" * 32)
    settings = make_settings(tmp_path / "home")
    context = _context(settings, TEST_KEY)
    with pytest.raises(KeyGuardError, match="holds another pseudonymisation key"):
        prepare_batch(_jobs(), context)


def test_one_hand_over_serves_a_batch_each_file_its_own_rows_and_leaves_nothing(tmp_path: Path) -> None:
    """The batch's one scratch file is rewritten for each file (never appended to, never a
    previous file's rows), and removed, with its pseudonymised rows, when the batch ends."""
    import pandas as pd

    frames = [
        pd.DataFrame({"person_key": ["a", "b", "c"], "n": [1, 2, 3]}),
        pd.DataFrame({"person_key": ["d"], "n": [4]}),
        pd.DataFrame({"person_key": ["e", None], "n": [5, None]}).astype({"n": "Int64"}),
    ]
    con = duckdb.connect()
    with ParquetHandOver() as hand_over:
        folder = hand_over._target.parent
        for number, frame in enumerate(frames):
            path = tmp_path / f"{number}.parquet"
            path.write_bytes(hand_over(frame))
            back = con.execute(f"select person_key, n from read_parquet('{path}')").fetchall()
            rows = frame.itertuples(index=False)
            expected = [tuple(None if pd.isna(v) else v for v in row) for row in rows]
            assert back == expected
    assert not folder.exists()


def test_batches_keep_the_order_and_cut_by_size() -> None:
    jobs = [FileJob(index=i, source="s", path=Path(f"f{i}"), file_id=str(i), size=10) for i in range(10)]
    cut = batches(jobs, 3)
    assert [j.index for b in cut for j in b] == list(range(10))
    assert len(cut) == 3 and all(sum(j.size for j in b) >= 100 // 3 for b in cut[:-1])
    assert len(batches(jobs, 100)) == 10  # never an empty batch, never more than the files


def test_duckdb_spills_to_the_settings_temp_directory_instead_of_failing(tmp_path: Path) -> None:
    """A fresh home (no tmp/ yet), a small memory limit and a sort larger than it: the
    connection of a run spills to HOME/tmp/duckdb and finishes; dbt gets the same two settings."""
    from ci_metrics.publish.dbt import dbt_env

    settings = make_settings(tmp_path / "home", duckdb_memory_limit="100MB")
    con = duckdb.connect(str(tmp_path / "w.duckdb"), config=settings.duckdb_config)
    try:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] in ("95.3 MiB", "100.0 MB")
        # the writer commits every file: it checkpoints at the setting, not at DuckDB's 16MB
        assert con.execute("select current_setting('checkpoint_threshold')").fetchone()[0] in (
            "244.1 MiB",
            "256.0 MB",
        )
        con.execute(
            "create table t as select hash(range) as h, range::varchar || 'x' as s from range(6000000)"
        )
        largest = con.execute("select s from t order by h, s limit 1 offset 5999999").fetchone()
    finally:
        con.close()
    assert largest is not None
    assert settings.spill_dir == tmp_path / "home" / "tmp" / "duckdb" and settings.spill_dir.is_dir()
    env = dbt_env(settings, tmp_path / "w.duckdb")
    assert env["CI_METRICS_DUCKDB_MEMORY_LIMIT"] == "100MB"
    assert env["CI_METRICS_DUCKDB_TEMP_DIRECTORY"] == str(settings.spill_dir)
    import yaml

    profile = yaml.safe_load((Path(__file__).parents[1] / "profiles.yml").read_text())
    build = profile["ci_metrics"]["outputs"]["build"]
    # applied once, when dbt opens the database: DuckDB refuses to set temp_directory again
    # after it has spilled, which `settings:` (SET on every connection) would do
    assert "CI_METRICS_DUCKDB_MEMORY_LIMIT" in build["config_options"]["memory_limit"]
    assert "CI_METRICS_DUCKDB_TEMP_DIRECTORY" in build["config_options"]["temp_directory"]
    assert "temp_directory" not in (build.get("settings") or {})
    con = duckdb.connect(str(tmp_path / "w.duckdb"), config=settings.duckdb_config)
    try:  # what dbt-duckdb's `settings:` would do after a spill
        con.execute("select s from t order by h, s limit 1 offset 5999999").fetchone()
        with pytest.raises(duckdb.Error, match="Cannot switch temporary directory"):
            con.execute(f"set temp_directory = '{settings.spill_dir}'")
    finally:
        con.close()
