"""Write, audit, publish: what the planning unit and the data unit see around a run."""

from __future__ import annotations

import fcntl
import hashlib
import os
import selectors
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, SAMPLE_INBOX, background_run, cli_env, run_flow


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def survey_with_weights(inbox: Path, weight: str, year: int = 2021) -> Path:
    """A corrected survey file whose weights are replaced (a vendor export gone wrong)."""
    (inbox / "surveys").mkdir(parents=True, exist_ok=True)
    lines = (SAMPLE_INBOX / "surveys" / f"survey_1034_{year}.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    at = header.index("weight")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[at] = weight
        out.append(",".join(cells))
    path = inbox / "surveys" / f"survey_1034_{year}.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def test_sample_run_publishes_and_records_everything(sample_run) -> None:
    settings, record = sample_run
    assert record.published and settings.warehouse_path.exists()
    assert [s.name for s in record.stages] == [
        "key",
        "scan",
        "prepare",
        "ingest",
        "dbt build",
        "validate",
        "history",
        "extracts",
        "publish",
        "report",
    ]
    assert record.validation_status in ("passed", "passed with warnings")
    assert record.data_docs and Path(record.data_docs).exists()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        runs = con.execute("select run_id, status, published from ops.runs").fetchall()
        assert (record.run_id, "succeeded", True) in runs
        n = con.execute("select count(*) from ops.validations where run_id = ?", [record.run_id]).fetchall()[
            0
        ][0]
        assert n > 30
        suites = {r[0] for r in con.execute("select distinct suite from ops.validations").fetchall()}
        assert {"residents", "schools", "youth", "welfare", "surveys", "jumps", "registry"} <= suites
    finally:
        con.close()
    assert not list(settings.build_dir.glob("*.duckdb")), "the build copy was published, not left behind"


def test_data_docs_are_html_and_show_the_latest_run(sample_run) -> None:
    _settings, record = sample_run
    index = Path(record.data_docs)
    html = index.read_text(encoding="utf-8")
    assert "<html" in html.lower()
    assert record.run_id in html, "the Data Docs index lists the run"
    pages = list(index.parent.glob("validations/**/*.html"))
    assert pages and any(record.run_id in str(p) for p in pages)


def test_second_run_on_the_same_inbox_changes_no_row(copy_of_home) -> None:
    settings = copy_of_home
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    tables = [
        f"{s}.{t}"
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'marts') "
            "or (table_schema = 'ops' and table_name in ('files', 'rejects'))"
        ).fetchall()
    ]
    before = {t: con.execute(f"select count(*), sum(hash(columns(*))) from {t}").fetchall() for t in tables}
    con.close()
    record = run_flow(settings, SAMPLE_INBOX)
    assert record.status == "succeeded", record.failures
    # every partner file and the 2 CBS workbooks, all known by their bytes: nothing to rebuild
    partner_files = sum(1 for p in SAMPLE_INBOX.rglob("*") if p.is_file())
    assert record.counts["files_loaded"] == 0 and record.counts["files_skipped"] == partner_files + 2
    assert [s.name for s in record.stages] == ["key", "scan"] and "nothing new" in record.message
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    after = {t: con.execute(f"select count(*), sum(hash(columns(*))) from {t}").fetchall() for t in tables}
    con.close()
    assert after == before


def copy_of_dbt_project(to: Path) -> Path:
    """The dbt project (what ``code_fingerprint`` reads of it, and its profile) copied to ``to``."""
    to.mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(ROOT / name, to / name)
    for folder in ("models", "macros", "seeds", "snapshots", "tests/dbt"):
        shutil.copytree(ROOT / folder, to / folder)
    return to


def test_a_change_to_the_models_rebuilds_without_new_files(copy_of_home, tmp_path: Path, monkeypatch) -> None:
    from ci_metrics.pipeline.changes import code_fingerprint

    settings = copy_of_home
    project = copy_of_dbt_project(tmp_path / "dbt_project")
    changed = settings.model_copy(update={"dbt_project_dir": project})
    assert code_fingerprint(changed) == code_fingerprint(settings), "the copy is the same project"
    model = project / "models" / "marts" / "indicator_values.sql"
    model.write_text(
        model.read_text(encoding="utf-8") + "\n-- a reviewed model: same numbers\n", encoding="utf-8"
    )
    assert code_fingerprint(changed) != code_fingerprint(settings)
    monkeypatch.setenv("CI_METRICS_DBT_PROJECT_DIR", str(project))
    record = run_flow(settings, SAMPLE_INBOX)  # no file is new: only the model changed
    assert record.status == "succeeded" and record.published, record.failures
    assert "nothing new" not in record.message
    assert record.counts["files_loaded"] == 0
    assert [s.name for s in record.stages][:5] == ["key", "scan", "prepare", "ingest", "dbt build"]
    assert "code changed" in record.stages[1].detail


def _stage_work(cycle, table: str) -> Path:
    """Work in a cycle's build copy: a new table, and a pending extract folder."""
    build = cycle.prepare()
    with build.connect() as con:
        con.execute(f"create table ops.{table} as select 1 as x")
    folder = build.pending_extracts / "public" / "2026-01-01"
    folder.mkdir(parents=True)
    (folder / "values.csv").write_text("x\n1\n", encoding="utf-8")
    return build.path


def test_the_publish_cycle_publishes_only_when_its_block_succeeds(copy_of_home) -> None:
    from ci_metrics.publish.cycle import publish_cycle

    settings = copy_of_home
    published = sha(settings.warehouse_path)
    with pytest.raises(RuntimeError, match="the audit failed"), publish_cycle(settings, "cycle-1") as cycle:
        build = _stage_work(cycle, "scratch_1")
        raise RuntimeError("the audit failed")
    assert sha(settings.warehouse_path) == published
    assert not build.exists() and not (settings.extracts_dir / ".pending").exists()
    assert not (settings.extracts_dir / "public" / "2026-01-01").exists()
    assert _lock_is_free(settings)

    with publish_cycle(settings, "cycle-2") as cycle:
        _stage_work(cycle, "scratch_2")
        done = cycle.publish()
    assert done.extracts == [settings.extracts_dir / "public" / "2026-01-01"]
    assert (done.extracts[0] / "values.csv").read_text(encoding="utf-8") == "x\n1\n"
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'ops'"
            ).fetchall()
        }
    finally:
        con.close()
    assert "scratch_2" in tables and "scratch_1" not in tables
    assert not list(settings.build_dir.iterdir()) and not (settings.extracts_dir / ".pending").exists()


def test_cli_extract_publishes_its_audit_rows_and_releases_the_files(copy_of_home) -> None:
    settings = copy_of_home
    proc = subprocess.run(
        [sys.executable, "-m", "ci_metrics.cli", "extract", "--partner", "public"],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    released = Path(proc.stdout.split()[-1])
    assert released.parent == settings.extracts_dir / "public" and any(released.glob("*.csv"))
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        runs = {
            r[0] for r in con.execute("select run_id from ops.extracts where partner = 'public'").fetchall()
        }
    finally:
        con.close()
    assert any(r.startswith("extract-") for r in runs), runs
    assert not list(settings.build_dir.iterdir()) and not (settings.extracts_dir / ".pending").exists()


def shared_check_fails(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The settings of a home whose expectations include a failing check that belongs to no
    single source: the indicator-jumps audit made critical, with a threshold no change meets
    (in the environment too: the flow reads its settings from there)."""
    suites = tmp_path / "expectations"
    shutil.copytree(ROOT / "expectations", suites)
    jumps = suites / "jumps.yml"
    jumps.write_text(
        jumps.read_text(encoding="utf-8").replace("severity: warning", "severity: critical"), encoding="utf-8"
    )
    monkeypatch.setenv("CI_METRICS_EXPECTATIONS_DIR", str(suites))
    monkeypatch.setenv("CI_METRICS_JUMP_THRESHOLD_POINTS", "0")
    return settings.model_copy(update={"expectations_dir": suites, "jump_threshold_points": 0.0})


def test_a_failed_shared_check_blocks_publishing_and_keeps_the_published_file(
    copy_of_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = shared_check_fails(copy_of_home, tmp_path, monkeypatch)
    published = sha(settings.warehouse_path)
    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "1.0", year=2019)  # a sound correction: only the shared check fails
    record = run_flow(settings, inbox)
    assert record.status == "blocked"
    assert not record.published and not record.held
    assert any("jumps" in f and "change_from_previous" in f for f in record.failures), record.failures
    assert sha(settings.warehouse_path) == published
    assert not list(settings.build_dir.glob("*.duckdb*"))


def test_a_critical_expectation_on_one_source_holds_that_source_only(copy_of_home, tmp_path: Path) -> None:
    settings = copy_of_home
    inbox = tmp_path / "inbox"
    survey = survey_with_weights(inbox, "55")  # design weights are never above 10
    weights_before = (
        duckdb.connect(str(settings.warehouse_path), read_only=True)
        .execute("select max(weight) from raw.survey_responses")
        .fetchall()
    )
    record = run_flow(settings, inbox)
    assert record.status == "succeeded" and record.published, record.failures
    (held,) = record.held
    assert held.source == "surveys" and held.files == [survey.name]
    assert any("surveys" in c and "weight" in c and "55" in c for c in held.checks), held.checks
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert con.execute("select max(weight) from raw.survey_responses").fetchall() == weights_before
        assert con.execute(
            "select status from ops.files where file_name = ? and run_id = ?", [survey.name, record.run_id]
        ).fetchall() == [("held",)]
    finally:
        con.close()


def test_cli_exits_non_zero_and_names_the_failed_expectation(
    copy_of_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = shared_check_fails(copy_of_home, tmp_path, monkeypatch)
    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "1.0", year=2019)
    proc = subprocess.run(
        [sys.executable, "-m", "ci_metrics.cli", "run", "--inbox", str(inbox)],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "BLOCKED" in proc.stdout
    assert "expect_column_values_to_be_between(change_from_previous)" in proc.stdout
    assert "unchanged" in proc.stdout


def test_a_warning_does_not_block(copy_of_home, tmp_path: Path) -> None:
    settings = copy_of_home
    published = sha(settings.warehouse_path)
    inbox = tmp_path / "inbox" / "youth"
    inbox.mkdir(parents=True)
    lines = (SAMPLE_INBOX / "youth" / "tzofim_1034_2021.csv").read_text(encoding="utf-8").splitlines()
    # A corrected 2021 roster with a third of last year's members: suspicious, not impossible.
    (inbox / "tzofim_1034_2021.csv").write_text("\n".join(lines[:120]) + "\n", encoding="utf-8")
    record = run_flow(settings, tmp_path / "inbox")
    assert record.status == "succeeded", record.failures
    assert record.published and sha(settings.warehouse_path) != published
    assert any("volumes" in w and "ratio_to_previous" in w for w in record.warnings), record.warnings


READER = textwrap.dedent(
    """
    import sys, duckdb
    path = sys.argv[1]
    con = duckdb.connect(path, read_only=True)
    q = "select count(*) from ops.files"
    print("before", con.execute(q).fetchall()[0][0], flush=True)
    sys.stdin.readline()                       # the run is stopped mid-way now
    print("during", con.execute(q).fetchall()[0][0], flush=True)
    sys.stdin.readline()                       # the run is over
    print("old", con.execute(q).fetchall()[0][0], flush=True)
    con.close()
    con = duckdb.connect(path, read_only=True)
    print("new", con.execute(q).fetchall()[0][0], flush=True)
    """
)


def _answer(reader: subprocess.Popen, timeout: float = 60) -> list[str]:
    """The reader's next line, or a failure if it does not answer (blocked by the run)."""
    reader.stdin.write("\n")
    reader.stdin.flush()
    with selectors.DefaultSelector() as sel:
        sel.register(reader.stdout, selectors.EVENT_READ)
        assert sel.select(timeout), f"the reader did not answer within {timeout:.0f}s"
    return reader.stdout.readline().split()


def test_a_reader_keeps_working_during_a_run(copy_of_home, tmp_path: Path) -> None:
    settings = copy_of_home
    inbox = tmp_path / "inbox" / "youth"
    inbox.mkdir(parents=True)
    lines = (SAMPLE_INBOX / "youth" / "tzofim_1034_2021.csv").read_text(encoding="utf-8").splitlines()
    (inbox / "tzofim_1034_2021.csv").write_text("\n".join(lines[:-3]) + "\n", encoding="utf-8")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.warehouse_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        before = reader.stdout.readline().split()
        with background_run(settings, tmp_path / "inbox") as run:
            run.stop_at("dbt build")  # the run holds the lock and writes its build copy
            during = _answer(reader)
            run.resume()
            assert run.wait() == 0, "the run published"
        old = _answer(reader)  # the reader still holds the file it opened before the publish
        new = reader.stdout.readline().split()
    finally:
        reader.kill()
    assert before[1] == during[1] == old[1]
    assert int(new[1]) == int(before[1]) + 1


def _lock_is_free(settings) -> bool:
    fd = os.open(settings.warehouse_dir / "run.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _dbt_running(pid: int) -> bool:
    out = subprocess.run(["ps", "-o", "args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return "dbt.cli.main" in out


@pytest.mark.parametrize("kill_at", ["ingest", "dbt build"])
def test_sigkill_mid_run_leaves_the_published_file_intact(copy_of_home, tmp_path: Path, kill_at: str) -> None:
    from ci_metrics.operations.runs import RunStore

    settings = copy_of_home
    published = sha(settings.warehouse_path)
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE_INBOX / "surveys", inbox / "surveys")
    survey_with_weights(inbox, "1.0", year=2020)
    with background_run(settings, inbox) as run:
        # stopped in the stage (for dbt: once dbt's own process writes the build copy), killed there
        ready = (lambda: _dbt_running(run.pid)) if kill_at == "dbt build" else (lambda: True)
        killed = run.stop_at(kill_at, ready=ready)
        assert list(settings.build_dir.glob("*.duckdb")), "the kill lands while a build copy exists"
        run.kill()
    assert sha(settings.warehouse_path) == published
    assert _lock_is_free(settings), "a killed run left its lock behind"
    record = run_flow(settings, inbox)  # the next run starts cleanly
    assert record.status == "succeeded", record.failures
    assert record.counts["files_loaded"] >= 1
    assert not list(settings.build_dir.glob("*"))
    dead = RunStore(settings.root / "runs").get(killed["run_id"])
    assert dead is not None and dead.status == "failed" and not dead.published and "killed" in dead.message
