"""Shared fixtures: the pipeline runs once per test session on the bundled sample inbox,
under a real (test-harness) Prefect server, into a temporary CI_METRICS_HOME."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
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


def run_flow(settings, inbox: Path):
    """Run the nightly flow once more (under the session's Prefect harness): the run record."""
    from ci_metrics.operations.runs import RunStore, new_run_id
    from ci_metrics.pipeline.flow import nightly

    run_id = new_run_id()
    nightly(inbox=str(inbox), run_id=run_id, home=str(settings.root), return_state=True)
    record = RunStore(settings.root / "runs").get(run_id)
    assert record is not None
    return record
