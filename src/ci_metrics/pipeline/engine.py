"""Where ingestion's CPU work runs: Prefect's Dask task runner (``prefect-dask``).

By default a local ``dask.distributed`` cluster is started for the ingest stage, one worker
process per core (``CI_METRICS_DASK_WORKERS`` to choose); ``CI_METRICS_DASK_ADDRESS`` points
the same run at an existing Dask scheduler instead, so more machines are a setting, not a
rewrite (README, "Beyond one machine"). A night with fewer than ``CI_METRICS_DASK_MIN_FILES``
files to read prepares them in the run's own process: starting a cluster would cost more.

Each Prefect task prepares a batch of files (:func:`ci_metrics.ingest.workers.prepare_batch`);
the writer takes the results in the inbox's order while the workers go on, with a bounded
number of batches in flight (memory stays bounded whatever the inbox's size).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import SyncClientContext
from prefect_dask import DaskTaskRunner
from prefect_dask.task_runners import PrefectDaskFuture

from ci_metrics.ingest.workers import FileJob, FileResult, PrepareContext, batches, prepare_batch
from ci_metrics.settings import Settings

log = logging.getLogger(__name__)

BATCHES_PER_WORKER = 4
"""Batches per worker a run is cut into (the last ones finish together)."""
IN_FLIGHT_PER_WORKER = 3
"""Batches per worker submitted ahead of the writer."""


@task(name="prepare files", cache_policy=NO_CACHE, persist_result=False, log_prints=False)
def prepare_files_task(jobs: list[FileJob], context: PrepareContext) -> list[FileResult]:
    """Read, type and pseudonymise a batch of files on a Dask worker."""
    return prepare_batch(jobs, context)


def task_runner(settings: Settings) -> DaskTaskRunner:
    """The Dask task runner the settings ask for: an existing scheduler, or a local cluster
    of single-threaded worker processes (pandas holds the GIL: processes, not threads)."""
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": local_workers(settings),
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
            "env": _prefect_api(),
        }
    )


def _prefect_api() -> dict[str, str]:
    """The run's Prefect API for the local workers' environment: without it each worker
    process would start a temporary Prefect server of its own (seconds and ~250 MB each)."""
    context = SyncClientContext.get()
    if context is None or context.client is None:
        return {}
    return {"PREFECT_API_URL": str(context.client.api_url)}


def local_workers(settings: Settings) -> int:
    return settings.dask_workers or os.cpu_count() or 1


class DaskEngine:
    """The engine of :meth:`ci_metrics.ingest.inbox.Ingestor.ingest_inbox` for these settings;
    ``used`` says where the last call ran (for the run record)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.used = "no file to read"

    def __call__(self, jobs: Sequence[FileJob], context: PrepareContext) -> Iterator[FileResult]:
        settings = self.settings
        if len(jobs) < settings.dask_min_files:
            self.used = f"in the run's process ({len(jobs)} files, fewer than dask_min_files)"
            yield from prepare_batch(jobs, context)
            return
        runner = task_runner(settings)
        with runner:
            workers = max(1, sum(runner.client.nthreads().values()))
            where = settings.dask_address and f"the Dask scheduler {settings.dask_address}"
            self.used = f"on {workers} Dask workers ({where or 'a local cluster'})"
            log.info("ingestion %s", self.used)
            queue = iter(batches(jobs, workers * BATCHES_PER_WORKER))
            in_flight: deque[PrefectDaskFuture[list[FileResult]]] = deque()

            def submit_next() -> None:
                batch = next(queue, None)
                if batch is not None:
                    in_flight.append(runner.submit(prepare_files_task, {"jobs": batch, "context": context}))

            for _ in range(workers * IN_FLIGHT_PER_WORKER):
                submit_next()
            while in_flight:
                results = in_flight.popleft().result()
                submit_next()
                yield from results
