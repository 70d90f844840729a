"""The nightly run as a Prefect flow: ingest -> dbt build -> validate -> publish -> share.

Write, audit, publish: everything is built in a private copy of the warehouse; the
published file is replaced atomically only when dbt's tests and the critical
expectations passed. Extracts and the public report are made from what was published.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Failed

from ci_metrics.ingest.cbs.files import ingest_cbs
from ci_metrics.ingest.freshness import newest_received, stale_sources
from ci_metrics.ingest.inbox import Ingestor
from ci_metrics.ingest.layouts import load_layouts
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.operations.alerts import notify
from ci_metrics.operations.runs import FileRecord, RunRecord, RunStore, new_run_id, sync_runs_table
from ci_metrics.operations.stages import stage
from ci_metrics.pipeline.changes import code_fingerprint, detect_changes, record_publication
from ci_metrics.publish import warehouse
from ci_metrics.publish.dbt import run_dbt
from ci_metrics.publish.validation import validate_build
from ci_metrics.settings import Settings
from ci_metrics.share.extracts.release import discard_pending, extract_into_pending, pending_dir, release


class RunFailed(RuntimeError):
    """A stage failed; the published warehouse is unchanged."""


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except Exception:  # outside a flow run (direct call in a test)
        return logging.getLogger("ci_metrics.flow")


def _retry_on_transient_io(task: Any, task_run: Any, state: Any) -> bool:
    """Retry ingestion only for transient file-system trouble (a file locked or vanishing
    while a partner's upload finishes); never for a bug or bad data."""
    try:
        state.result()
    except (PermissionError, BlockingIOError, FileNotFoundError, InterruptedError):
        return True
    except Exception:
        return False
    return False


@task(
    name="ingest",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=15,
    retry_condition_fn=_retry_on_transient_io,
)
def ingest_task(settings: Settings, build: Path, inbox: Path, run_id: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(build))
    try:
        ingestor = Ingestor(
            con,
            home=settings.root,
            archive_dir=settings.archive_dir,
            layouts=load_layouts(settings.layouts_dir),
            pseudonymise=Pseudonymiser.from_settings(settings),
            run_id=run_id,
        )
        summary = ingestor.ingest_inbox(inbox, settle_seconds=settings.settle_seconds)
        summary.outcomes.extend(ingest_cbs(ingestor, settings.cbs_dir))
        stale = stale_sources(newest_received(inbox, con), settings.freshness_days)
    finally:
        con.close()
    logger = _logger()
    for o in summary.outcomes:
        if o.status in ("rejected", "replaced") or o.rows_rejected:
            logger.warning(
                "%s/%s: %s (%d of %d rows rejected) %s",
                o.source,
                o.file_name,
                o.status,
                o.rows_rejected,
                o.rows_read,
                o.message,
            )
    for line in stale:
        logger.warning("stale source: %s", line)
    return {
        "stale": stale,
        "counts": summary.as_dict(),
        "files": [
            FileRecord(**{k: getattr(o, k) for k in FileRecord.model_fields}).model_dump()
            for o in summary.outcomes
        ],
    }


@task(name="dbt build", cache_policy=NO_CACHE)
def dbt_task(settings: Settings, build: Path) -> dict[str, Any]:
    result = run_dbt(settings, build, ["build"])
    return {
        "ok": result.ok,
        "failures": result.failures,
        "counts": result.counts,
        "log_tail": result.log_tail,
    }


@task(name="validate", cache_policy=NO_CACHE)
def validate_task(settings: Settings, build: Path, run_id: str) -> dict[str, Any]:
    report = validate_build(build, settings, run_id)
    return {
        "status": report.status,
        "critical": [o.describe() for o in report.critical_failures],
        "warnings": [o.describe() for o in report.warnings],
        "data_docs": str(report.data_docs) if report.data_docs else None,
        "evaluated": len(report.outcomes),
        "seconds": report.seconds,
    }


@task(name="extracts", cache_policy=NO_CACHE)
def extracts_task(settings: Settings, build: Path, run_id: str) -> dict[str, Any]:
    """Partner extracts from the validated build, into a pending folder (released on publish)."""
    results = extract_into_pending(build, settings.extracts_dir, settings.agreements_dir, run_id)
    logger = _logger()
    problems = []
    for r in results:
        if not r.ok:
            logger.warning("extract %s: %s", r.partner, r.message)
            problems.append(f"extract {r.partner}: {r.message}")
    return {"written": [r.partner for r in results if r.ok], "problems": problems}


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(
    settings: Settings, build: Path, record: RunRecord, store: RunStore, fingerprint: str
) -> str:
    import duckdb

    con = duckdb.connect(str(build))
    try:
        sync_runs_table(con, store.all())
        record_publication(con, record.run_id, fingerprint)
    finally:
        con.close()
    return str(warehouse.publish(settings, build))


@task(name="report", cache_policy=NO_CACHE)
def report_task(settings: Settings, run_id: str) -> dict[str, Any]:
    """The public report, from the warehouse just published (read-only)."""
    from ci_metrics.share.report import build_report

    con = warehouse.connect_published(settings)
    try:
        result = build_report(
            con,
            settings.reports_dir,
            run_id=run_id,
            as_of=dt.date.today(),
            agreements_dir=settings.agreements_dir,
        )
    finally:
        con.close()
    return {"index": str(result.index), "pdf": str(result.pdf) if result.pdf else None}


def _fault_injection_pause(settings: Settings, run_id: str, stage_name: str) -> None:
    """Test hook: with CI_METRICS_TEST_PAUSE_IN=<stage>, the run waits at the start of that
    stage (after writing ``build/<run_id>.paused``) so that a test can kill it there."""
    import os
    import time

    if os.environ.get("CI_METRICS_TEST_PAUSE_IN") == stage_name:
        (settings.build_dir / f"{run_id}.paused").touch()
        time.sleep(600)


def run_pipeline(
    settings: Settings, inbox: Path, *, run_id: str | None = None, flow_run_id: str | None = None
) -> RunRecord:
    """One full nightly run. Returns the run record (also saved under HOME/runs); raises
    :class:`RunFailed` (after saving the record) when nothing was published."""
    logger = _logger()
    run_id = run_id or new_run_id()
    store = RunStore(settings.root / "runs")
    record = RunRecord(run_id=run_id, flow_run_id=flow_run_id, started_at=dt.datetime.now(), inbox=str(inbox))
    build: Path | None = None
    with warehouse.run_lock(settings):
        store.save(record)
        store.mark_abandoned(run_id)

        def saving() -> None:
            store.save(record)

        warehouse.clean_stale_builds(settings)
        discard_pending(settings.extracts_dir)
        try:
            with stage(record, "scan", on_start=saving) as st:
                fingerprint = code_fingerprint(settings)
                changes = detect_changes(settings, inbox, fingerprint)
                st.detail = f"{changes.new_files} new files, {changes.known_files} known" + (
                    ", code changed" if changes.code_changed else ""
                )
            if changes.nothing_new:
                record.status = "succeeded"
                record.counts.update(
                    files_seen=changes.known_files,
                    files_loaded=0,
                    files_skipped=changes.known_files,
                    files_rejected=0,
                    rows_loaded=0,
                    rows_rejected=0,
                )
                record.message = (
                    f"nothing new since run {changes.last_run_id}: the published "
                    "warehouse, extracts and report are unchanged"
                )
                logger.info("run %s: %s", run_id, record.message)
                return record
            with stage(record, "prepare", on_start=saving):
                build = warehouse.prepare_build(settings, run_id)
            with stage(record, "ingest", on_start=saving) as st:
                _fault_injection_pause(settings, run_id, "ingest")
                ingested = ingest_task(settings, build, inbox, run_id)
                record.counts.update(ingested["counts"])
                record.files = [FileRecord(**f) for f in ingested["files"]]
                record.stale_sources = ingested["stale"]
                st.detail = ", ".join(f"{k}={v}" for k, v in ingested["counts"].items())
            store.save(record)
            with stage(record, "dbt build", on_start=saving) as st:
                dbt = dbt_task(settings, build)
                st.detail = ", ".join(f"{k}={v}" for k, v in sorted(dbt["counts"].items()))
                if not dbt["ok"]:
                    st.ok = False
                    record.failures = dbt["failures"]
                    raise RunFailed("dbt build failed: " + "; ".join(dbt["failures"][:5]))
            with stage(record, "validate", on_start=saving) as st:
                checked = validate_task(settings, build, run_id)
                record.validation_status = checked["status"]
                record.data_docs = checked["data_docs"]
                record.warnings = checked["warnings"]
                st.detail = f"{checked['evaluated']} expectations, {checked['status']}"
                if checked["critical"]:
                    st.ok = False
                    record.failures = checked["critical"]
                    record.status = "blocked"
                    raise RunFailed(
                        f"publishing blocked: {len(checked['critical'])} critical expectation(s) failed"
                    )
            with stage(record, "extracts", on_start=saving) as st:
                shared = extracts_task(settings, build, run_id)
                record.warnings.extend(shared["problems"])
                st.detail = f"{len(shared['written'])} partners: {', '.join(shared['written'])}"
            record.status = "succeeded"
            record.published = True
            record.finished_at = dt.datetime.now()
            with stage(record, "publish", on_start=saving):
                store.save(record)  # ops.runs, copied from the records, shows this run as published
                publish_task(settings, build, record, store, fingerprint)
                build = None
                record.extracts = [
                    str(p) for p in release(pending_dir(settings.extracts_dir, run_id), settings.extracts_dir)
                ]
            logger.info("run %s published %s", run_id, settings.warehouse_path)
            with stage(record, "report", on_start=saving) as st:
                try:
                    made = report_task(settings, run_id)
                    record.report = made["index"]
                    st.detail = "html" + (" + pdf" if made["pdf"] else "")
                except Exception as exc:  # the data is published; the report is retried next run
                    st.ok = False
                    st.detail = f"{type(exc).__name__}: {exc}"[:300]
                    record.warnings.append(f"the public report could not be built: {st.detail}")
                    logger.error("report failed: %s", st.detail)
        except BaseException as exc:
            record.published = False
            if record.status not in ("blocked",):
                record.status = "failed"
            record.message = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
            if not record.failures:
                record.failures = [record.message]
            logger.error("run %s %s: %s", run_id, record.status, record.message)
            if build is not None:
                warehouse.discard(build)
            discard_pending(settings.extracts_dir)
            raise
        finally:
            record.finished_at = record.finished_at or dt.datetime.now()
            store.save(record)
            sent = notify(record, settings)
            if sent:
                logger.info("alert sent by %s", ", ".join(sent))
    return record


@flow(name="ci-metrics-nightly", persist_result=False, log_prints=False)
def nightly(inbox: str | None = None, run_id: str | None = None, home: str | None = None) -> Any:
    """Ingest the inbox, build the indicators, validate, publish, then extracts and report."""
    settings = Settings(home=Path(home)) if home else Settings()
    chosen = Path(inbox).resolve() if inbox else settings.inbox
    try:
        record = run_pipeline(
            settings, chosen, run_id=run_id, flow_run_id=str(flow_run.get_id() or "") or None
        )
    except RunFailed as exc:
        # An expected outcome (bad data, a failed test): a Failed state with the reason,
        # without a traceback; the run record says the rest.
        return Failed(message=str(exc))
    return {"run_id": record.run_id, "status": record.status, "counts": record.counts}
