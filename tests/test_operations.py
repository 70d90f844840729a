"""Nightly operations: the served schedule, run history, alerts and the planning unit's
queries, each exercised for real (a Prefect deployment, a local SMTP and HTTP server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from conftest import SAMPLE_INBOX, TEST_KEY, run_flow
from test_publish import survey_with_weights


def cli_env(settings, **extra: str) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return dict(
        os.environ,
        CI_METRICS_HOME=str(settings.root),
        CI_METRICS_PSEUDONYM_KEY=TEST_KEY,
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        COLUMNS="220",
        **extra,
    )


def cli(settings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ci_metrics.cli", *args],
        env=cli_env(settings, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_explains_every_verb() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ci_metrics.cli", "--help"], capture_output=True, text=True
    ).stdout
    for verb in ("run", "serve", "status", "sql", "extract", "report", "generate", "dbt"):
        assert f"    {verb}" in out, verb


def test_status_lists_runs_and_shows_one(sample_run) -> None:
    settings, record = sample_run
    proc = cli(settings, "status")
    assert proc.returncode == 0, proc.stderr
    assert record.run_id in proc.stdout and "succeeded" in proc.stdout
    detail = cli(settings, "status", record.run_id[:17])
    assert "stage dbt build" in detail.stdout and "published" in detail.stdout
    data = json.loads(cli(settings, "status", "--json").stdout)
    assert data[0]["run_id"] == record.run_id and data[0]["counts"]["files_loaded"] == 46


def test_sql_prints_table_csv_and_json(sample_run) -> None:
    settings, _ = sample_run
    q = (
        "select indicator_id, value from marts.indicator_values where indicator_id = 'edu_dropout' "
        "and period = 2021 and dimension = 'total'"
    )
    table = cli(settings, "sql", q)
    assert table.returncode == 0 and "edu_dropout" in table.stdout
    csv_out = cli(settings, "sql", q, "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "indicator_id,value" and csv_out[1].startswith("edu_dropout,")
    rows = json.loads(cli(settings, "sql", q, "--format", "json").stdout)
    assert rows[0]["indicator_id"] == "edu_dropout" and 0 < rows[0]["value"] < 100
    bad = cli(settings, "sql", "select * from no_such_table")
    assert bad.returncode == 1 and "no_such_table" in bad.stderr


def test_sql_is_read_only(sample_run) -> None:
    settings, _ = sample_run
    proc = cli(settings, "sql", "delete from marts.indicator_values")
    assert proc.returncode == 1 and "read-only" in proc.stderr.lower()


def test_sql_works_while_a_run_is_in_progress(copy_of_home, tmp_path: Path) -> None:
    settings = copy_of_home
    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "1.0", year=2019)
    run = subprocess.Popen(
        [sys.executable, "-m", "ci_metrics.cli", "run", "--inbox", str(inbox)],
        env=cli_env(settings, CI_METRICS_TEST_PAUSE_IN="ingest"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while not list(settings.build_dir.glob("*.paused")):
            assert time.time() < deadline, "the run never started"
            time.sleep(0.1)
        started = time.time()
        proc = cli(settings, "sql", "select count(*) as n from marts.indicator_progress", "--format", "json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)[0]["n"] == 11
        assert time.time() - started < 60
        assert run.poll() is None, "the run is still in progress"
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_blocked_run_alerts_by_email_and_webhook(copy_of_home, tmp_path: Path, monkeypatch) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    mails: list = []

    class Keep(Message):
        def handle_message(self, message) -> None:
            mails.append(message)

    import socket

    with socket.socket() as probe:  # a free port (aiosmtpd checks its own start on it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Keep(), hostname="127.0.0.1", port=port)
    smtp.start()
    http = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    _Hook.received.clear()
    try:
        monkeypatch.setenv("CI_METRICS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CI_METRICS_SMTP_PORT", str(port))
        monkeypatch.setenv("CI_METRICS_ALERT_EMAIL_TO", '["data-unit@example.org"]')
        monkeypatch.setenv("CI_METRICS_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{http.server_port}/hook")
        inbox = tmp_path / "inbox"
        survey_with_weights(inbox, "55")
        record = run_flow(copy_of_home, inbox)
    finally:
        smtp.stop()
        http.shutdown()
    assert record.status == "blocked"
    assert len(mails) == 1
    mail = mails[0]
    assert "BLOCKED" in mail["Subject"] and mail["To"] == "data-unit@example.org"
    body = mail.get_payload()
    assert "weight" in body and f"ci-metrics status {record.run_id}" in body and "Data Docs" in body
    assert len(_Hook.received) == 1
    hook = _Hook.received[0]
    assert hook["status"] == "blocked" and hook["run_id"] == record.run_id
    assert any("weight" in f for f in hook["failures"])


def test_a_succeeded_run_sends_no_alert(copy_of_home, monkeypatch) -> None:
    _Hook.received.clear()
    http = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("CI_METRICS_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{http.server_port}/hook")
        record = run_flow(copy_of_home, SAMPLE_INBOX)
    finally:
        http.shutdown()
    assert record.status == "succeeded" and _Hook.received == []


def test_stale_sources_are_reported(copy_of_home, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox" / "surveys"
    inbox.mkdir(parents=True)
    settings = copy_of_home.model_copy(update={"freshness_days": {"surveys": 400, "welfare": 1}})
    import duckdb

    from ci_metrics.ingest.freshness import newest_received, stale_sources

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        newest = newest_received(tmp_path / "inbox", con)
    finally:
        con.close()
    import datetime as dt

    later = dt.datetime.now() + dt.timedelta(days=3)
    stale = stale_sources(newest, settings.freshness_days, now=later)
    assert any(s.startswith("welfare:") and "expected every 1 days" in s for s in stale)
    assert not any(s.startswith("surveys:") for s in stale)


def test_serve_runs_the_flow_on_its_schedule(copy_of_home) -> None:
    settings = copy_of_home
    runs_before = {p.name for p in (settings.root / "runs").glob("*.json")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ci_metrics.cli", "serve", "--every", "5", "--inbox", str(SAMPLE_INBOX)],
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 240
        finished = None
        while time.time() < deadline and finished is None:
            time.sleep(1)
            for path in (settings.root / "runs").glob("*.json"):
                if path.name in runs_before:
                    data = json.loads(path.read_text())
                    if data["status"] != "running":
                        finished = data
        assert finished is not None, "no scheduled run finished within 4 minutes"
        assert finished["status"] == "succeeded", finished["failures"]
        assert finished["flow_run_id"], "the run was a Prefect flow run of the deployment"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_dbt_docs_generate_builds_the_catalog(sample_run) -> None:
    settings, _ = sample_run
    proc = cli(settings, "dbt", "docs", "generate")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    catalog = json.loads((settings.root / "dbt" / "target" / "catalog.json").read_text())
    assert "model.ci_metrics.indicator_values" in catalog["nodes"]
    assert catalog["nodes"]["model.ci_metrics.indicator_values"]["metadata"]["schema"] == "marts"
