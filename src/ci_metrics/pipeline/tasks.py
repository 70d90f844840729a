"""The stages of the nightly run as Prefect tasks, each returning a typed outcome
(:class:`~ci_metrics.pipeline.tracker.StageOutcome`) that says what the run record keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from ci_metrics.ingest.cbs.files import ingest_cbs
from ci_metrics.ingest.freshness import newest_received, stale_sources
from ci_metrics.ingest.inbox import Ingestor
from ci_metrics.ingest.key import KeyGuardError, KeyStatus, check_key, record_fingerprint
from ci_metrics.ingest.layouts import load_layouts
from ci_metrics.ingest.ledger import printable
from ci_metrics.ingest.limits import InputLimits
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.operations.runs import FileRecord, RunRecord, StageRecord, sync_runs_table
from ci_metrics.pipeline.changes import Changes, detect_changes, record_publication
from ci_metrics.pipeline.tracker import RunFailed, StageOutcome, run_logger
from ci_metrics.publish.cycle import BuildCopy, PublishCycle
from ci_metrics.publish.dbt import run_dbt
from ci_metrics.publish.validation import validate_build
from ci_metrics.settings import Settings
from ci_metrics.share.extracts.release import extract_into_pending


class KeyChecked(StageOutcome):
    status: KeyStatus

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        entry.detail = self.status.describe()
        record.warnings.extend(self.status.warnings)


def key_stage(settings: Settings) -> KeyChecked:
    """Is the pseudonymisation key the one the published data was loaded with? Before any
    other work (a plain function: it takes milliseconds). A refusal fails the run, with
    the reason and what to do, and leaves the published warehouse untouched."""
    try:
        status = check_key(settings)
    except KeyGuardError as exc:
        raise RunFailed(str(exc)) from None
    for line in status.warnings:
        run_logger().warning(line)
    return KeyChecked(status=status)


@task(name="scan", cache_policy=NO_CACHE)
def scan_task(settings: Settings, inbox: Path) -> Changes:
    """Anything new since the last publish (files or code)? Read-only, cheap."""
    return detect_changes(settings, inbox)


class Prepared(StageOutcome):
    build: BuildCopy


@task(name="prepare", cache_policy=NO_CACHE)
def prepare_task(cycle: PublishCycle) -> Prepared:
    return Prepared(build=cycle.prepare())


class Ingested(StageOutcome):
    counts: dict[str, int]
    files: list[FileRecord]
    stale: list[str]

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        record.counts.update(self.counts)
        record.files = self.files
        record.stale_sources = self.stale
        entry.detail = ", ".join(f"{k}={v}" for k, v in self.counts.items())


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
def ingest_task(settings: Settings, build: BuildCopy, inbox: Path) -> Ingested:
    with build.connect() as con:
        record_fingerprint(con, settings, build.run_id)
        ingestor = Ingestor(
            con,
            home=settings.root,
            archive_dir=settings.archive_dir,
            layouts=load_layouts(settings.layouts_dir),
            pseudonymise=Pseudonymiser.from_settings(settings),
            run_id=build.run_id,
            limits=InputLimits.from_settings(settings),
        )
        summary = ingestor.ingest_inbox(inbox, settle_seconds=settings.settle_seconds)
        summary.outcomes.extend(ingest_cbs(ingestor, settings.cbs_dir))
        stale = stale_sources(newest_received(inbox, con), settings.freshness_days)
    logger = run_logger()
    for o in summary.outcomes:
        if o.status in ("rejected", "replaced") or o.rows_rejected:
            logger.warning(
                "%s/%s: %s (%d of %d rows rejected) %s",
                printable(o.source),
                printable(o.file_name),
                o.status,
                o.rows_rejected,
                o.rows_read,
                o.message,
            )
    for line in stale:
        logger.warning("stale source: %s", line)
    return Ingested(
        counts=summary.as_dict(),
        files=[FileRecord(**{k: getattr(o, k) for k in FileRecord.model_fields}) for o in summary.outcomes],
        stale=stale,
    )


class Built(StageOutcome):
    ok: bool
    failures: list[str]
    counts: dict[str, int]
    log_tail: str

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        entry.detail = ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
        if not self.ok:
            entry.ok = False
            record.failures = self.failures
            raise RunFailed("dbt build failed: " + "; ".join(self.failures[:5]))


@task(name="dbt build", cache_policy=NO_CACHE)
def dbt_task(settings: Settings, build: BuildCopy) -> Built:
    result = run_dbt(settings, build.path, ["build"])
    return Built(ok=result.ok, failures=result.failures, counts=result.counts, log_tail=result.log_tail)


class Validated(StageOutcome):
    status: str
    critical: list[str]
    warnings: list[str]
    data_docs: str | None
    evaluated: int
    seconds: float

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        record.validation_status = self.status
        record.data_docs = self.data_docs
        record.warnings = list(self.warnings)
        entry.detail = f"{self.evaluated} expectations, {self.status}"
        if self.critical:
            entry.ok = False
            record.failures = self.critical
            record.status = "blocked"
            raise RunFailed(f"publishing blocked: {len(self.critical)} critical expectation(s) failed")


@task(name="validate", cache_policy=NO_CACHE)
def validate_task(settings: Settings, build: BuildCopy) -> Validated:
    report = validate_build(build.path, settings, build.run_id)
    return Validated(
        status=report.status,
        critical=[o.describe() for o in report.critical_failures],
        warnings=[o.describe() for o in report.warnings],
        data_docs=str(report.data_docs) if report.data_docs else None,
        evaluated=len(report.outcomes),
        seconds=report.seconds,
    )


class Extracted(StageOutcome):
    written: list[str]
    problems: list[str]

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        record.warnings.extend(self.problems)
        entry.detail = f"{len(self.written)} partners: {', '.join(self.written)}"


@task(name="extracts", cache_policy=NO_CACHE)
def extracts_task(settings: Settings, build: BuildCopy) -> Extracted:
    """Partner extracts from the validated build, into a pending folder (released on publish)."""
    results = extract_into_pending(build.path, settings.extracts_dir, settings.agreements_dir, build.run_id)
    problems = [f"extract {r.partner}: {r.message}" for r in results if not r.ok]
    for line in problems:
        run_logger().warning(line)
    return Extracted(written=[r.partner for r in results if r.ok], problems=problems)


class Publication(StageOutcome):
    warehouse: Path
    extracts: list[Path]

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        record.status = "succeeded"
        record.published = True
        record.extracts = [str(p) for p in self.extracts]
        run_logger().info("run %s published %s", record.run_id, self.warehouse)


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(
    cycle: PublishCycle, build: BuildCopy, runs: list[RunRecord], fingerprint: str
) -> Publication:
    """The run's own audit rows into the build (``ops.runs`` as it stands once published, the
    code fingerprint), then the publish: atomic, durable, extracts released."""
    with build.connect() as con:
        sync_runs_table(con, runs)
        record_publication(con, build.run_id, fingerprint)
    published = cycle.publish()
    return Publication(warehouse=published.warehouse, extracts=published.extracts)


class Reported(StageOutcome):
    index: Path | None = None
    pdf: Path | None = None
    error: str | None = None

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        if self.error is None:
            record.report = str(self.index)
            entry.detail = "html" + (" + pdf" if self.pdf else "")
            return
        # the data is published: a report that fails is a warning, retried next run
        entry.ok = False
        entry.detail = self.error
        record.warnings.append(f"the public report could not be built: {self.error}")
        run_logger().error("report failed: %s", self.error)


@task(name="report", cache_policy=NO_CACHE)
def report_task(settings: Settings, run_id: str) -> Reported:
    """The public report, from the warehouse just published (read-only)."""
    from ci_metrics.share.report import build_published_report

    result = build_published_report(settings, run_id=run_id)
    return Reported(index=result.index_html, pdf=result.pdf)


def report_or_warning(settings: Settings, run_id: str) -> Reported:
    """The report stage: its task's failure is noted in the outcome, it does not fail the run."""
    try:
        return report_task(settings, run_id)
    except Exception as exc:
        return Reported(error=f"{type(exc).__name__}: {exc}"[:300])
