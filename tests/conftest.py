"""Shared fixtures: the pipeline runs once per test session on the bundled sample inbox,
under a real (test-harness) Prefect server, into a temporary CI_METRICS_HOME. Also: the
external programs a test drives (:func:`require_program`), and a run in the background that
a test stops at a stage and kills (:func:`background_run`)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_INBOX = ROOT / "data" / "samples" / "inbox"
TRUTH = ROOT / "data" / "samples" / "truth.json"
TEST_KEY = "test-key-" + "0" * 32

# Fixtures that run the pipeline (or start Prefect): a test that uses any of them, directly or
# through another fixture, is marked `pipeline`; `make test-fast` runs the others.
PIPELINE_FIXTURES = {"prefect_harness", "sample_run", "published_warehouse", "copy_of_home"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if PIPELINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.pipeline)


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect API for the whole session (it takes seconds to start)."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def make_settings(home: Path, **overrides: object):
    from ci_metrics.settings import Settings

    return Settings(home=home, pseudonym_key=TEST_KEY, **overrides)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None):
    """The nightly flow, run once on the sample inbox: (settings, run record)."""
    from ci_metrics.operations.runs import RunStore, new_run_id
    from ci_metrics.pipeline.flow import nightly

    home = tmp_path_factory.mktemp("home")
    os.environ["CI_METRICS_PSEUDONYM_KEY"] = TEST_KEY
    run_id = new_run_id()
    nightly(inbox=str(SAMPLE_INBOX), run_id=run_id, home=str(home), return_state=True)
    settings = make_settings(home)
    record = RunStore(home / "runs").get(run_id)
    assert record is not None, "the flow did not record its run"
    assert record.status == "succeeded", f"sample run {record.status}: {record.failures}"
    return settings, record


@pytest.fixture(scope="session")
def published_warehouse(sample_run) -> Path:
    settings, _ = sample_run
    return settings.warehouse_path


@pytest.fixture()
def copy_of_home(sample_run, tmp_path: Path):
    """A private copy of the sample run's home, for tests that run the pipeline again."""
    settings, _ = sample_run
    home = tmp_path / "home"
    shutil.copytree(settings.root, home, ignore=shutil.ignore_patterns("prefect"))
    return make_settings(home)


def run_flow(settings, inbox: Path, *, full_refresh: bool = False):
    """Run the nightly flow once more (under the session's Prefect harness): the run record.
    ``full_refresh``: as ``ci-metrics run --full-refresh``."""
    from ci_metrics.operations.runs import RunStore, new_run_id
    from ci_metrics.pipeline.flow import nightly

    run_id = new_run_id()
    nightly(
        inbox=str(inbox), run_id=run_id, home=str(settings.root), full_refresh=full_refresh, return_state=True
    )
    record = RunStore(settings.root / "runs").get(run_id)
    assert record is not None
    return record


def require_program(name: str, install_hint: str, locate: Callable[[], str | None] | None = None) -> str:
    """The path of an external program a test drives (``locate()``, default: ``name`` on PATH).
    When it is missing the test FAILS under CI (the environment variable CI set to anything,
    as ``.ci/run`` does) and is skipped elsewhere, with how to install it."""
    found = locate() if locate is not None else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed ({install_hint})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so the tests that need it must run")
    pytest.skip(message)


def cli_env(settings, **extra: str) -> dict[str, str]:
    """The environment of a ``ci-metrics`` command run by a test: the test's home and key,
    the session's Prefect API."""
    from prefect.settings import PREFECT_API_URL

    return dict(
        os.environ,
        CI_METRICS_HOME=str(settings.root),
        CI_METRICS_PSEUDONYM_KEY=TEST_KEY,
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        COLUMNS="220",
        **extra,
    )


class BackgroundRun:
    """``ci-metrics run`` in a process group of its own, which the test stops (SIGSTOP) when
    the run record says it reached a stage, and kills. Faults come from outside the run."""

    def __init__(self, settings, inbox: Path, **env: str) -> None:
        self.runs = settings.root / "runs"
        self.before = {p.name for p in self.runs.glob("*.json")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ci_metrics.cli", "run", "--inbox", str(inbox)],
            env=cli_env(settings, **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own group: dbt, its child, is stopped and killed with it
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def record(self) -> dict | None:
        """This run's record (``runs/<run_id>.json``, saved at the start of each stage)."""
        for path in self.runs.glob("*.json"):
            if path.name not in self.before:
                return json.loads(path.read_text(encoding="utf-8"))
        return None

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop_at(self, stage: str, ready: Callable[[], bool] = lambda: True, timeout: float = 300) -> dict:
        """Stop the run's process group in ``stage`` (once ``ready()`` too); its record then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the run ended (exit {self.proc.returncode}) before {stage}"
            seen = self.record()
            if seen and seen["current_stage"] == stage and ready():
                self._signal(signal.SIGSTOP)
                stopped = self.record()
                if stopped and stopped["current_stage"] == stage:
                    return stopped
                self._signal(signal.SIGCONT)  # it moved on between the look and the stop
            time.sleep(0.02)
        pytest.fail(f"the run never reached the stage {stage!r} within {timeout:.0f}s")

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)  # a stopped process dies of SIGKILL too
        self.proc.wait(timeout=60)

    def wait(self, timeout: float = 600) -> int:
        return self.proc.wait(timeout=timeout)


@contextlib.contextmanager
def background_run(settings, inbox: Path, **env: str) -> Iterator[BackgroundRun]:
    """A :class:`BackgroundRun`; its whole process group is killed on the way out, stopped or not."""
    run = BackgroundRun(settings, inbox, **env)
    try:
        yield run
    finally:
        run.kill()
