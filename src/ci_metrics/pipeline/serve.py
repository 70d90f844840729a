"""``ci-metrics serve``: the nightly flow served as a Prefect deployment that runs on its
schedule, at most one run at a time.

Prefect's scheduler lives in a Prefect server. The temporary API that a Prefect process
starts for itself when ``PREFECT_API_URL`` is unset has none: a deployment served on it is
created and never runs. So, without ``PREFECT_API_URL``, ``serve`` starts a Prefect server of
its own (state under ``PREFECT_HOME``, log in ``HOME/logs/prefect-server.log``) for as long
as it runs, and prints its address (the Prefect UI is there too).

``ci-metrics run`` needs an API too. Left to itself, Prefect would start a temporary server
in a child process (``prefect.server.api.server.SubprocessASGIServer``, stopped at exit) that
survives a run killed by a signal: every killed run left a ~200 MB server behind. So ``run``
starts its own, without scheduler and UI (:func:`prefect_api` with ``scheduler=False``).
Both servers die with the process that started them, however it ends
(:func:`~ci_metrics.operations.stages.dies_with_run`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from prefect.schedules import Schedule
from prefect.settings import PREFECT_API_URL, temporary_settings

from ci_metrics.operations.stages import dies_with_run
from ci_metrics.pipeline.flow import nightly
from ci_metrics.settings import Settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _flush_run_logs() -> None:
    """Send the flow and task run logs still queued for the Prefect API (Prefect's log
    handlers send in the background)."""
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            handler.flush()


@contextlib.contextmanager
def prefect_api(settings: Settings, *, scheduler: bool = True, startup_seconds: float = 180) -> Iterator[str]:
    """The address of a Prefect API: ``PREFECT_API_URL``, or a Prefect server started here
    (with its scheduler and UI, or, ``scheduler=False``, the API alone), stopped on leaving
    and killed with this process."""
    configured = PREFECT_API_URL.value()
    if configured:
        yield str(configured)
        return
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path: Path = settings.logs_dir / "prefect-server.log"
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    if not scheduler:
        command += ["--no-services", "--no-ui"]
    with log_path.open("ab") as log:
        server = subprocess.Popen(dies_with_run(command), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + startup_seconds
        while not _healthy(api_url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start; see {log_path}")
            time.sleep(0.5)
        os.environ["PREFECT_API_URL"] = api_url  # for the flow runs, started as child processes
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield api_url
    finally:
        _flush_run_logs()  # to this server, before it stops
        os.environ.pop("PREFECT_API_URL", None)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def serve(settings: Settings, inbox: Path, schedule: Schedule, when: str) -> None:
    """Serve the nightly flow on ``schedule`` until interrupted."""
    with prefect_api(settings) as api_url:
        print(
            f"ci-metrics serve: nightly run of {inbox} on {when}; at most one run at a time; "
            f"Prefect API {api_url}. Ctrl-C to stop.",
            flush=True,
        )
        nightly.serve(
            name="nightly",
            schedules=[schedule],
            parameters={"inbox": str(inbox), "home": str(settings.root)},
            limit=1,
            global_limit=1,
            description="The ci-metrics nightly run: ingest, dbt build, validate, publish, share.",
            tags=["ci-metrics"],
            print_starting_message=False,
        )
