"""Nightly operations: the served schedule, run history, alerts and the planning unit's
queries, each exercised for real (a Prefect deployment, a local SMTP and HTTP server)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

from conftest import SAMPLE_INBOX, background_run, cli_env, run_flow
from test_indicators import registry_ids
from test_publish import sha, shared_check_fails, survey_with_weights


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
    partner_files = sum(1 for p in SAMPLE_INBOX.rglob("*") if p.is_file())  # and the 2 CBS workbooks
    assert data[0]["run_id"] == record.run_id and data[0]["counts"]["files_loaded"] == partner_files + 2


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
    with background_run(settings, inbox) as run:
        run.stop_at("ingest")  # the run holds the lock and its build copy; it is stopped there
        started = time.time()
        proc = cli(settings, "sql", "select count(*) as n from marts.indicator_progress", "--format", "json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)[0]["n"] == len(registry_ids())
        assert time.time() - started < 60
        assert run.proc.poll() is None, "the run is still in progress"
        assert run.record()["current_stage"] == "ingest"


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

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
        survey_with_weights(inbox, "1.0", year=2019)
        record = run_flow(shared_check_fails(copy_of_home, tmp_path, monkeypatch), inbox)
    finally:
        smtp.stop()
        http.shutdown()
    assert record.status == "blocked"
    assert len(mails) == 1
    mail = mails[0]
    assert "BLOCKED" in mail["Subject"] and mail["To"] == "data-unit@example.org"
    body = mail.get_payload()
    assert "change_from_previous" in body and f"ci-metrics status {record.run_id}" in body
    assert "Data Docs" in body
    assert len(_Hook.received) == 1
    hook = _Hook.received[0]
    assert hook["status"] == "blocked" and hook["run_id"] == record.run_id
    assert any("change_from_previous" in f for f in hook["failures"])


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


def test_serve_runs_the_flow_on_its_schedule(copy_of_home, tmp_path: Path) -> None:
    """``ci-metrics serve`` as the systemd unit of the README runs it (no PREFECT_API_URL: it
    starts its own Prefect server, whose scheduler starts the runs). In a home with no run
    record, a run of the new file appears, publishes, and is a scheduled flow run of the
    served deployment in that server's API. Fails when serve does nothing."""
    from uuid import UUID

    from prefect.client.orchestration import SyncPrefectClient

    settings = copy_of_home
    shutil.rmtree(settings.root / "runs")
    published = sha(settings.warehouse_path)
    inbox = tmp_path / "inbox"
    survey_with_weights(inbox, "1.0", year=2019)  # a corrected file: a new file to publish
    env = cli_env(
        settings,
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_UI_ENABLED="false",
        # Prefect's own pace, quickened for the test: the scheduler and the runner poll every second
        PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS="1",
        PREFECT_RUNNER_POLL_FREQUENCY="1",
    )
    del env["PREFECT_API_URL"]
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ci_metrics.cli", "serve", "--every", "5", "--inbox", str(inbox)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 210
        finished = None
        while time.time() < deadline and finished is None:
            time.sleep(1)
            for path in (settings.root / "runs").glob("*.json"):
                data = json.loads(path.read_text(encoding="utf-8"))
                if data["status"] != "running" and data["current_stage"] is None:  # saved at its end
                    finished = data
        assert finished is not None, (
            "no scheduled run finished within 3.5 minutes:\n" + log.read_text()[-3000:]
        )
        api_url = re.search(r"Prefect API (\S+)\.", log.read_text()).group(1)
        with SyncPrefectClient(api_url) as client:
            flow_run = client.read_flow_run(UUID(finished["flow_run_id"]))
            assert flow_run.deployment_id is not None, (
                "a run of the served deployment, not an ad-hoc flow run"
            )
            assert flow_run.auto_scheduled, "started by the deployment's schedule"
            deployment = client.read_deployment(flow_run.deployment_id)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert finished["status"] == "succeeded" and finished["published"], finished["failures"]
    assert finished["counts"]["files_loaded"] == 1 and finished["inbox"] == str(inbox)
    assert sha(settings.warehouse_path) != published
    assert deployment.name == "nightly" and deployment.parameters["inbox"] == str(inbox)
    assert flow_run.parameters["home"] == str(settings.root)


def test_dbt_docs_generate_builds_the_catalog(sample_run) -> None:
    settings, _ = sample_run
    proc = cli(settings, "dbt", "docs", "generate")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    catalog = json.loads((settings.root / "dbt" / "target" / "catalog.json").read_text())
    assert "model.ci_metrics.indicator_values" in catalog["nodes"]
    assert catalog["nodes"]["model.ci_metrics.indicator_values"]["metadata"]["schema"] == "marts"
