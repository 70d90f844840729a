"""Write, audit, publish: what the planning unit and the data unit see around a run."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_INBOX, TEST_KEY, run_flow


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
        "scan",
        "prepare",
        "ingest",
        "dbt build",
        "validate",
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
        assert {"residents", "schools", "youth", "welfare", "surveys", "marts", "registry"} <= suites
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
            "where table_schema in ('raw', 'marts') or (table_schema = 'ops' and table_name in ('files', 'rejects'))"
        ).fetchall()
    ]
    before = {t: con.execute(f"select count(*), sum(hash(columns(*))) from {t}").fetchall() for t in tables}
    con.close()
    record = run_flow(settings, SAMPLE_INBOX)
    assert record.status == "succeeded", record.failures
    # 44 partner files and the 2 CBS workbooks, all known by their bytes: nothing to rebuild
    assert record.counts["files_loaded"] == 0 and record.counts["files_skipped"] == 46
    assert [s.name for s in record.stages] == ["scan"] and "nothing new" in record.message
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    after = {t: con.execute(f"select count(*), sum(hash(columns(*))) from {t}").fetchall() for t in tables}
    con.close()
    assert after == before


def test_a_change_to_the_models_rebuilds_without_new_files(copy_of_home, tmp_path: Path, monkeypatch) -> None:
    from ci_metrics.pipeline.changes import code_fingerprint

    settings = copy_of_home
    agreements = tmp_path / "agreements"
    shutil.copytree(settings.agreements_dir, agreements)
    (agreements / "README.txt").write_text("a new note changes the fingerprint\n")
    changed = settings.model_copy(update={"agreements_dir": agreements})
    assert code_fingerprint(changed) != code_fingerprint(settings)
    monkeypatch.setenv("CI_METRICS_AGREEMENTS_DIR", str(agreements))
    record = run_flow(settings, SAMPLE_INBOX)
    assert record.status == "succeeded" and record.published
    assert "dbt build" in [s.name for s in record.stages]


def test_critical_failure_blocks_publishing_and_keeps_the_published_file(
    copy_of_home, tmp_path: Path
) -> None:
    settings = copy_of_home
    published = sha(settings.warehouse_path)
    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "55")  # design weights are never above 10
    record = run_flow(settings, inbox)
    assert record.status == "blocked"
    assert not record.published
    assert any("surveys" in f and "weight" in f for f in record.failures), record.failures
    assert sha(settings.warehouse_path) == published
    assert not list(settings.build_dir.glob("*.duckdb*"))


def test_cli_exits_non_zero_and_names_the_failed_expectation(copy_of_home, tmp_path: Path) -> None:
    settings = copy_of_home
    from prefect.settings import PREFECT_API_URL

    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "55")
    env = dict(
        os.environ,
        CI_METRICS_HOME=str(settings.root),
        CI_METRICS_PSEUDONYM_KEY=TEST_KEY,
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        COLUMNS="200",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "ci_metrics.cli", "run", "--inbox", str(inbox)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "BLOCKED" in proc.stdout
    assert "expect_column_values_to_be_between(weight)" in proc.stdout
    assert "55" in proc.stdout  # the observed values
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
    sys.stdin.readline()                       # the run happens now
    print("during", con.execute(q).fetchall()[0][0], flush=True)
    sys.stdin.readline()                       # the run is over
    print("old", con.execute(q).fetchall()[0][0], flush=True)
    con.close()
    con = duckdb.connect(path, read_only=True)
    print("new", con.execute(q).fetchall()[0][0], flush=True)
    """
)


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
        reader.stdin.write("\n")
        reader.stdin.flush()
        record = run_flow(settings, tmp_path / "inbox")  # the reader holds the file open throughout
        during = reader.stdout.readline().split()
        reader.stdin.write("\n")
        reader.stdin.flush()
        old = reader.stdout.readline().split()
        new = reader.stdout.readline().split()
    finally:
        reader.kill()
    assert record.status == "succeeded", record.failures
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


@pytest.mark.parametrize("kill_at", ["ingest", "dbt build"])
def test_sigkill_mid_run_leaves_the_published_file_intact(copy_of_home, tmp_path: Path, kill_at: str) -> None:
    from prefect.settings import PREFECT_API_URL

    settings = copy_of_home
    published = sha(settings.warehouse_path)
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE_INBOX / "surveys", inbox / "surveys")
    survey_with_weights(inbox, "1.0", year=2020)
    env = dict(
        os.environ,
        CI_METRICS_HOME=str(settings.root),
        CI_METRICS_PSEUDONYM_KEY=TEST_KEY,
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
    )
    if kill_at == "ingest":
        env["CI_METRICS_TEST_PAUSE_IN"] = "ingest"  # the ingest stage waits, so the kill lands in it
    proc = subprocess.Popen(
        [sys.executable, "-m", "ci_metrics.cli", "run", "--inbox", str(inbox)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    target = settings.root / "dbt" / "target" / "run_results.json"
    target.unlink(missing_ok=True)
    try:
        while time.time() < deadline:
            builds = list(settings.build_dir.glob("*.duckdb")) if settings.build_dir.exists() else []
            if (
                kill_at == "ingest"
                and (settings.root / "runs").exists()
                and builds
                and any(p.name.endswith(".paused") for p in settings.build_dir.iterdir())
            ):
                break
            if (
                kill_at == "dbt build"
                and builds
                and (settings.root / "dbt" / "target" / "manifest.json").exists()
                and _dbt_running(proc.pid)
            ):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the run never reached {kill_at}")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert sha(settings.warehouse_path) == published
    assert _lock_is_free(settings), "a killed run left its lock behind"
    record = run_flow(settings, inbox)  # the next run starts cleanly
    assert record.status == "succeeded", record.failures
    assert record.counts["files_loaded"] >= 1
    assert not list(settings.build_dir.glob("*"))


def _dbt_running(pid: int) -> bool:
    out = subprocess.run(["ps", "-o", "args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return "dbt.cli.main" in out
