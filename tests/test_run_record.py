"""The record tells the truth (issue 18, item 7) and GX keeps no personal value (item 1).

Every case runs for real: Great Expectations on a DuckDB file, ``ci-metrics run`` killed by
SIGKILL at a stage, a run whose record cannot be written alerting a local webhook, a file
named with rich markup and an escape sequence through a run and ``ci-metrics status``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest
from conftest import SAMPLE_INBOX, background_run, cli_env, make_settings, run_flow
from pydantic import ValidationError
from test_publish import sha, survey_with_weights

from ci_metrics.operations.runs import RunRecord, RunStore
from ci_metrics.publish.validation import SuiteSpec, load_suites, validate_build

RAW_ID = "314159260"  # a national ID where a keyed hash belongs
MASKED_ID = "*******60"
WEIGHT = "55.25"  # not personal: a clerk must see it to act


def cli(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ci_metrics.cli", *args],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=600,
    )


# --- GX: counts and masked examples of personal columns ----------------------------------------


def test_a_suite_declares_its_personal_columns() -> None:
    base = {
        "name": "welfare",
        "relation": "staging.stg_welfare__files",
        "columns": ["head_key", "persons"],
        "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "persons"}}],
    }
    base["expectations"][0]["severity"] = "warning"
    with pytest.raises(ValidationError, match="head_key: a key, ID or number may point at a person"):
        SuiteSpec.model_validate(base)
    with pytest.raises(ValidationError, match="personal_columns not in `columns`: file_number"):
        SuiteSpec.model_validate({**base, "personal_columns": ["head_key", "file_number"]})
    spec = SuiteSpec.model_validate({**base, "personal_columns": ["head_key"]})
    assert spec.is_personal({"column": "head_key"}) and not spec.is_personal({"column": "persons"})
    shipped = {s.name: set(s.personal_columns) for s in load_suites()}
    assert shipped["welfare"] == {"head_key"} and shipped["residents"] == {"person_key", "household_number"}


@pytest.fixture(scope="module")
def gx_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The shipped welfare and surveys suites, run by GX on a build holding a raw ID as a head
    of family's key (a personal column), a family of 55 and a survey weight of 55.25."""
    home = tmp_path_factory.mktemp("home")
    warehouse = home / "build.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema staging; create schema raw")
    con.execute(
        "create table staging.stg_welfare__files "
        "(head_key varchar, persons integer, opened_on date, closed_on date)"
    )
    con.execute(
        "insert into staging.stg_welfare__files values (?, 55, null, null), (?, 3, null, null)",
        [RAW_ID, "a" * 64],
    )
    con.execute(
        "create table raw.survey_responses "
        "(weight double, origin varchar, q_trust integer, q_future integer, q_stay integer)"
    )
    con.execute(f"insert into raw.survey_responses values (1.0, 'אחר', 1, 2, 3), ({WEIGHT}, 'אחר', 1, 2, 3)")
    con.close()
    settings = make_settings(home)
    suites = [s for s in load_suites() if s.name in ("welfare", "surveys")]
    report = validate_build(warehouse, settings, "run-gx", suites)
    return settings, warehouse, report


def test_gx_keeps_counts_and_masked_examples_of_a_personal_column(gx_run: Any) -> None:
    _settings, _warehouse, report = gx_run
    keys = [o for o in report.outcomes if o.kwargs.get("column") == "head_key" and not o.success]
    assert len(keys) == 1 and keys[0].unexpected_count == 1 and keys[0].severity == "critical"
    described = [o.describe() for o in report.outcomes]  # what the run record and stdout hold
    assert MASKED_ID in keys[0].describe()
    assert not any(RAW_ID in line for line in described), described
    # what is not personal stays readable: a clerk can act on it
    assert any("weight" in line and WEIGHT in line for line in described), described
    assert any("persons" in line and "e.g. 55" in line for line in described), described


def test_no_raw_id_in_ops_validations_the_gx_store_or_data_docs(gx_run: Any) -> None:
    settings, warehouse, report = gx_run
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        stored = con.execute("select * from ops.validations").fetchall()
    finally:
        con.close()
    text = json.dumps(stored, default=str, ensure_ascii=False)
    assert RAW_ID not in text and MASKED_ID in text and WEIGHT in text
    files = [p for p in settings.validation_dir.rglob("*") if p.is_file()]
    results = [p for p in files if p.suffix == ".json" and "validations" in p.parts]
    pages = [p for p in files if p.suffix == ".html"]
    assert results and pages and report.data_docs is not None
    holding = [str(p) for p in files if RAW_ID.encode() in p.read_bytes()]
    assert holding == [], f"the raw ID is in {holding}"
    assert any(MASKED_ID.encode() in p.read_bytes() for p in results)  # masked, counted, kept
    assert any(WEIGHT.encode() in p.read_bytes() for p in pages)  # the Data Docs show the weight


# --- a run killed during publish, settled by the next start ------------------------------------


def published_runs(settings: Any) -> dict[str, tuple[str, bool]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return {
            r: (s, p) for r, s, p in con.execute("select run_id, status, published from ops.runs").fetchall()
        }
    finally:
        con.close()


def test_a_run_killed_during_publish_is_settled_by_the_next_start(copy_of_home, tmp_path: Path) -> None:
    settings = copy_of_home
    before = sha(settings.warehouse_path)
    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "1.0", year=2020)
    with background_run(settings, inbox) as run:
        killed = run.stop_at("publish")
        renamed = not list(settings.build_dir.glob("*.duckdb"))  # the build copy became the warehouse
        run.kill()
    assert killed["status"] == "running" and not killed["published"]
    assert (sha(settings.warehouse_path) != before) == renamed
    after_kill = RunStore(settings.root / "runs").get(killed["run_id"])
    assert after_kill is not None and not after_kill.published, "published before the rename was durable"

    record = run_flow(settings, inbox)  # the next start
    assert record.status == "succeeded", record.failures
    dead = RunStore(settings.root / "runs").get(killed["run_id"])
    assert dead is not None and dead.current_stage is None
    if renamed:  # the kill landed after the rename: it did publish
        assert dead.status == "succeeded" and dead.published and "abandoned" in dead.message
    else:
        assert dead.status == "failed" and not dead.published
        assert "killed during publish, not published" in dead.message
        assert record.published and published_runs(settings)[dead.run_id] == ("failed", False)
    status = cli(settings, "status", dead.run_id)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert any(line.startswith("  published: ") for line in lines) == dead.published, status.stdout
    assert dead.status.upper() in status.stdout


def test_records_left_open_or_claiming_a_publish_are_settled_against_ops_publications(
    copy_of_home,
) -> None:
    settings = copy_of_home
    store = RunStore(settings.root / "runs")
    (sample,) = store.all()
    # killed in the report stage, after its publish: the JSON still said "running"
    store.save(sample.model_copy(update={"status": "running", "current_stage": "report", "published": False}))
    claim = sample.model_copy(update={"run_id": "20200101T000000-0a0b0c", "status": "succeeded"})
    store.save(claim)  # says published; ops.publications never heard of it
    before = sha(settings.warehouse_path)
    record = run_flow(settings, SAMPLE_INBOX)  # nothing new: the next start settles, publishes nothing
    assert record.status == "succeeded" and not record.published
    assert sha(settings.warehouse_path) == before
    settled = store.get(sample.run_id)
    assert settled is not None and settled.status == "succeeded" and settled.published
    assert "after its publish" in settled.message and settled.current_stage is None
    lie = store.get(claim.run_id)
    assert lie is not None and lie.status == "failed" and not lie.published
    assert "no publication of this run" in lie.message


# --- a record that cannot be written never stops the alert ----------------------------------


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def webhook() -> Iterator[str]:
    _Hook.received.clear()
    http = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{http.server_port}/hook"
    finally:
        http.shutdown()


def unwritable_runs_folder(settings: Any) -> None:
    """``runs`` is no longer a folder that takes a file: the tests run as root, for whom a
    mode of 0555 forbids nothing, so the folder is replaced by a file of the same name."""
    runs = settings.root / "runs"
    runs.rename(settings.root / "runs.kept")
    runs.write_text("not a folder\n", encoding="utf-8")


def test_a_record_that_cannot_be_written_mid_run_still_alerts(
    copy_of_home, tmp_path: Path, webhook: str
) -> None:
    settings = copy_of_home
    before = sha(settings.warehouse_path)
    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "1.0", year=2020)
    with background_run(settings, inbox, CI_METRICS_ALERT_WEBHOOK_URL=webhook) as run:
        run.stop_at("dbt build")
        unwritable_runs_folder(settings)  # the next save (the validate stage's start) fails
        run.resume()
        code = run.wait(timeout=600)
    assert code == 1
    assert len(_Hook.received) == 1, _Hook.received
    alert = _Hook.received[0]
    assert alert["status"] == "failed" and alert["record_saved"] is False and not alert["published"]
    assert any("could not be saved" in f for f in alert["failures"]), alert["failures"]
    assert sha(settings.warehouse_path) == before


def test_a_record_that_cannot_be_written_at_the_start_still_alerts(
    copy_of_home, tmp_path: Path, webhook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ci_metrics.pipeline.flow import nightly

    settings = copy_of_home
    unwritable_runs_folder(settings)
    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "1.0", year=2020)
    monkeypatch.setenv("CI_METRICS_ALERT_WEBHOOK_URL", webhook)
    run_id = "20300101T000000-00aa11"
    state = nightly(inbox=str(inbox), run_id=run_id, home=str(settings.root), return_state=True)
    assert state.is_failed() and "run record could not be written" in (state.message or "")
    assert [a["run_id"] for a in _Hook.received] == [run_id]
    assert _Hook.received[0]["record_saved"] is False


# --- children die with the run ------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def processes_of(home: Path) -> list[str]:
    """Live processes (not zombies) whose environment or command line names ``home``."""
    mark, found = str(home).encode(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            names = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except (OSError, IndexError):
            continue
        if state != "Z" and mark in names:
            found.append(f"{entry.name}: {cmdline(int(entry.name))[:160]}")
    return found


def test_a_run_killed_during_dbt_leaves_no_process_behind(copy_of_home, tmp_path: Path) -> None:
    """``ci-metrics run`` without PREFECT_API_URL (as cron starts it): its Prefect server and
    dbt are its children; SIGKILL to the run alone (not its group) and both are gone."""
    settings = copy_of_home
    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "1.0", year=2020)
    env = cli_env(settings)
    del env["PREFECT_API_URL"]  # Prefect would start a temporary server of its own
    env["PREFECT_HOME"] = str(settings.root / "prefect")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ci_metrics.cli", "run", "--inbox", str(inbox)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # only to clean up if the test fails: the kill below is to the run alone
    )
    try:
        deadline = time.monotonic() + 300
        kids: list[str] = []
        while time.monotonic() < deadline and proc.poll() is None:
            kids = [cmdline(c) for c in children(proc.pid)]
            if any("dbt.cli.main" in k for k in kids):
                break
            time.sleep(0.05)
        assert any("dbt.cli.main" in k for k in kids), f"dbt never started: {kids}"
        # its Prefect server: the run's own, or the one Prefect starts for itself without one
        assert any("prefect server start" in k or "prefect.server.api.server" in k for k in kids), kids
        time.sleep(1.0)  # dbt is writing the build copy
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 5
        while processes_of(settings.root) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_of(settings.root) == []
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- names and headers are printed as text ------------------------------------------------------

EVIL_NAME = "evil[bold]\x1b[31m[red].csv"  # no "/" in a file name: [/] comes in the header
SHOWN_NAME = "evil[bold]?[31m[red].csv"  # as printed: markup as text, the ESC made visible


def test_markup_and_escape_sequences_in_names_and_headers_print_as_text(copy_of_home, tmp_path: Path) -> None:
    settings = copy_of_home
    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "1.0", year=2020)  # something sound to publish
    (inbox / "surveys" / EVIL_NAME).write_text("a,b\n1,2\n", encoding="utf-8")
    # a survey whose header lost its weight column, and holds markup and a clear-screen sequence
    header = "Response ID,Time Started,Date Submitted,Status,Language,[bold]w[/],[/]x\x1b[2J,q_trust"
    (inbox / "surveys" / "survey_1034_2019.csv").write_text(header + "\n1,2,3,4,5,6,7,8\n", encoding="utf-8")
    run = cli(settings, "run", "--inbox", str(inbox))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCEEDED" in run.stdout and "published:" in run.stdout
    assert SHOWN_NAME in run.stdout, run.stdout
    assert "survey_1034_2019.csv: rejected" in run.stdout
    assert "\x1b" not in run.stdout + run.stderr
    run_id = RunStore(settings.root / "runs").all()[0].run_id
    for args in (("status",), ("status", run_id)):
        shown = cli(settings, *args)
        assert shown.returncode == 0, shown.stderr
        assert "\x1b" not in shown.stdout + shown.stderr
    detail = cli(settings, "status", run_id).stdout
    assert SHOWN_NAME in detail and "SUCCEEDED" in detail


def test_print_run_escapes_every_field(tmp_path: Path) -> None:
    """Every text of a record (file, message, warning, failure, stage detail) as text."""
    import datetime as dt
    import io

    from rich.console import Console

    from ci_metrics.operations.runs import FileRecord, StageRecord
    from ci_metrics.operations.summaries import print_run, print_runs

    bad = "[/]x[bold]\x1b[31m"
    record = RunRecord(
        run_id="r1",
        started_at=dt.datetime(2024, 1, 1),
        finished_at=dt.datetime(2024, 1, 1, 0, 1),
        status="failed",
        inbox=f"/in/{bad}",
        files=[FileRecord(source=bad, file_name=bad, status="rejected", message=bad)],
        stages=[StageRecord(name="ingest", seconds=1.0, ok=False, detail=bad)],
        failures=[bad],
        warnings=[bad],
        stale_sources=[bad],
        validation_status=bad,
    )
    out = io.StringIO()
    console = Console(file=out, width=300, color_system=None, soft_wrap=True)
    print_run(record, make_settings(tmp_path), console=console)
    print_runs([record], make_settings(tmp_path), console=console)
    text = out.getvalue()
    assert "\x1b" not in text
    assert text.count("[/]x[bold]?[31m") >= 8, text
