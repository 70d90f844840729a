"""The nightly run as a Prefect flow: scan -> ingest -> dbt build -> validate -> history ->
extracts -> publish -> report.

Write, audit, publish (:func:`ci_metrics.publish.cycle.publish_cycle`): everything is built
in a private copy of the warehouse; the published file is replaced atomically only when dbt's
tests and the critical expectations passed. Extracts are released and the public report is
made from what was published. The stages are in :mod:`ci_metrics.pipeline.tasks`; the run
record they keep, in :mod:`ci_metrics.pipeline.tracker`.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Failed

from ci_metrics.operations.runs import RunRecord
from ci_metrics.pipeline.tasks import (
    dbt_task,
    extracts_task,
    history_task,
    ingest_task,
    key_stage,
    prepare_task,
    publish_task,
    report_or_warning,
    scan_task,
    validate_task,
)
from ci_metrics.pipeline.tracker import RunFailed, RunTracker
from ci_metrics.publish.cycle import publish_cycle
from ci_metrics.settings import Settings

__all__ = ["RunFailed", "nightly", "run_pipeline"]


def run_pipeline(
    settings: Settings,
    inbox: Path,
    *,
    run_id: str | None = None,
    flow_run_id: str | None = None,
    reprocess: frozenset[str] = frozenset(),
    full_refresh: bool = False,
) -> RunRecord:
    """One full nightly run. Returns the run record (also saved under HOME/runs); raises
    :class:`RunFailed` (after saving the record) when nothing was published. ``reprocess``:
    file IDs read again whatever the ledger says (``ci-metrics reprocess``); ``full_refresh``:
    every model rebuilt from the raw tables (dbt ``--full-refresh``) and published even when
    nothing is new (``ci-metrics run --full-refresh``)."""
    run = RunTracker(settings, inbox, run_id=run_id, flow_run_id=flow_run_id)
    with publish_cycle(settings, run.run_id) as cycle, run:
        run.stage("key", key_stage, settings)
        changes = run.stage("scan", scan_task, settings, inbox, reprocess, full_refresh)
        if changes.nothing_new:
            return run.record
        build = run.stage("prepare", prepare_task, cycle).build
        run.stage("ingest", ingest_task, settings, build, inbox, reprocess)
        built = run.stage("dbt build", dbt_task, settings, build, full_refresh)
        run.stage("validate", validate_task, settings, build, built.increment)
        run.stage("history", history_task, settings, build, changes.fingerprint)
        run.stage("extracts", extracts_task, settings, build)
        run.stage("publish", publish_task, cycle, build, run.runs_as_published())
        run.stage("report", report_or_warning, settings, run.run_id)
    return run.record


@flow(name="ci-metrics-nightly", persist_result=False, log_prints=False)
def nightly(
    inbox: str | None = None,
    run_id: str | None = None,
    home: str | None = None,
    reprocess: list[str] | None = None,
    full_refresh: bool = False,
) -> RunRecord | State:
    """Ingest the inbox, build the indicators, validate, publish, then extracts and report.
    ``reprocess``: file IDs (SHA-256) to read again, e.g. after a layout fix."""
    settings = Settings(home=Path(home)) if home else Settings()
    chosen = Path(inbox).resolve() if inbox else settings.inbox
    try:
        return run_pipeline(
            settings,
            chosen,
            run_id=run_id,
            flow_run_id=str(flow_run.get_id() or "") or None,
            reprocess=frozenset(reprocess or ()),
            full_refresh=full_refresh,
        )
    except RunFailed as exc:
        # An expected outcome (bad data, a failed test): a Failed state with the reason,
        # without a traceback; the run record says the rest.
        return Failed(message=str(exc))
