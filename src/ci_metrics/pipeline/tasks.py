"""The stages of the nightly run as Prefect tasks, each returning a typed outcome
(:class:`~ci_metrics.pipeline.tracker.StageOutcome`) that says what the run record keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from ci_metrics.ingest.cbs.files import ingest_cbs
from ci_metrics.ingest.freshness import newest_received, stale_sources
from ci_metrics.ingest.inbox import Ingestor
from ci_metrics.ingest.judge import judge_fingerprint
from ci_metrics.ingest.key import KeyGuardError, KeyStatus, check_key, record_fingerprint
from ci_metrics.ingest.layouts import load_layout_set
from ci_metrics.ingest.ledger import printable
from ci_metrics.ingest.limits import InputLimits
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.ingest.workers import KeySource
from ci_metrics.operations.runs import FileRecord, HeldSource, RunRecord, StageRecord, sync_runs_table
from ci_metrics.pipeline.changes import Changes, detect_changes
from ci_metrics.pipeline.engine import DaskEngine
from ci_metrics.pipeline.tracker import RunFailed, StageOutcome, run_logger
from ci_metrics.publish.cycle import BuildCopy, PublishCycle
from ci_metrics.publish.history import HistoryRecorded, record_history
from ci_metrics.publish.holds import build_holding, hold_for_expectations
from ci_metrics.publish.increments import Increment, plan_increment
from ci_metrics.publish.validation import validate_build
from ci_metrics.settings import Settings
from ci_metrics.share.extracts.release import extract_into_pending, registry_warnings


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
def scan_task(
    settings: Settings, inbox: Path, forced: frozenset[str] = frozenset(), full_refresh: bool = False
) -> Changes:
    """Anything new since the last publish (files or code)? Read-only, cheap."""
    return detect_changes(settings, inbox, forced=forced, full_refresh=full_refresh)


class Prepared(StageOutcome):
    build: BuildCopy


@task(name="prepare", cache_policy=NO_CACHE)
def prepare_task(cycle: PublishCycle) -> Prepared:
    return Prepared(build=cycle.prepare())


class Ingested(StageOutcome):
    counts: dict[str, int]
    files: list[FileRecord]
    stale: list[str]
    layout_problems: list[str] = Field(default_factory=list)
    engine: str = ""
    """Where the files were prepared (:class:`~ci_metrics.pipeline.engine.DaskEngine`)."""

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        record.counts.update(self.counts)
        record.layout_problems = self.layout_problems
        record.files = self.files
        record.stale_sources = self.stale
        entry.detail = ", ".join(f"{k}={v}" for k, v in self.counts.items())
        if self.engine:
            entry.detail += f"; prepared {self.engine}"


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
def ingest_task(
    settings: Settings, build: BuildCopy, inbox: Path, forced: frozenset[str] = frozenset()
) -> Ingested:
    """Every file the ledger says to read (new, held, rejected under another judge, or
    ``forced``: reprocessed on demand, from the archive when no longer in the inbox)."""
    layouts = load_layout_set(settings.layouts_dir, settings.dbt_project_dir)
    pseudonymise = Pseudonymiser.from_settings(settings)
    with build.connect() as con:
        record_fingerprint(con, settings, build.run_id)
        ingestor = Ingestor(
            con,
            home=settings.root,
            archive_dir=settings.archive_dir,
            layouts=layouts,
            pseudonymise=pseudonymise,
            run_id=build.run_id,
            limits=InputLimits.from_settings(settings),
            judge=judge_fingerprint(settings),
            forced=forced,
            key_source=KeySource.of(settings.resolved_key_file, pseudonymise),
        )
        engine = DaskEngine(settings)
        summary = ingestor.ingest_inbox(inbox, settle_seconds=settings.settle_seconds, engine=engine)
        summary.outcomes.extend(ingest_cbs(ingestor, settings.cbs_dir))
        summary.outcomes.extend(ingestor.ingest_archived(forced))
        stale = stale_sources(newest_received(inbox, con), settings.freshness_days)
    logger = run_logger()
    for o in summary.outcomes:
        if o.status in ("rejected", "ignored", "replaced", "waiting") or o.rows_rejected:
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
    problems = [
        f"layout file {printable(p.path.name)} cannot be used (the files it would read are rejected "
        f"until it is fixed): {printable(p.message)}"
        for p in layouts.problems
    ]
    for line in problems:
        logger.warning(line)
    return Ingested(
        counts=summary.as_dict(),
        files=[FileRecord(**{k: getattr(o, k) for k in FileRecord.model_fields}) for o in summary.outcomes],
        stale=stale,
        layout_problems=problems,
        engine=engine.used,
    )


def _note_held(record: RunRecord, held: list[HeldSource]) -> None:
    """Held sources into the record: their files' status, a warning each, the counts."""
    for h in held:
        record.held.append(h)
        record.warnings.append(h.describe())
        run_logger().warning(h.describe())
        for f in record.files:
            if f.source == h.source and f.file_name in h.files:
                f.status = "held"
                f.message = "held back: " + "; ".join(h.checks)
    record.counts["files_held"] = sum(1 for f in record.files if f.status == "held")
    record.counts["files_loaded"] = sum(1 for f in record.files if f.status in ("loaded", "replaced"))


class Built(StageOutcome):
    ok: bool
    failures: list[str]
    counts: dict[str, int]
    log_tail: str
    increment: Increment
    held: list[HeldSource] = Field(default_factory=list)

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        entry.detail = self.increment.describe() + "; "
        entry.detail += ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
        if self.held:
            entry.detail += "; held back: " + ", ".join(h.source for h in self.held)
        _note_held(record, self.held)
        if not self.ok:
            entry.ok = False
            record.failures = self.failures
            raise RunFailed("dbt build failed: " + "; ".join(self.failures[:5]))


@task(name="dbt build", cache_policy=NO_CACHE)
def dbt_task(settings: Settings, build: BuildCopy, full_refresh: bool = False) -> Built:
    """dbt build, whole or of the localities that changed (:mod:`ci_metrics.publish.increments`);
    a source whose own checks fail is held back and the build made again."""
    increment = plan_increment(settings, build.path, build.run_id, full_refresh=full_refresh)
    run_logger().info("dbt build: %s", increment.describe())
    result, held = build_holding(settings, build.path, build.run_id, increment)
    return Built(
        ok=result.ok,
        failures=result.failures,
        counts=result.counts,
        log_tail=result.log_tail,
        increment=increment,
        held=held,
    )


class Validated(StageOutcome):
    status: str
    critical: list[str]
    warnings: list[str]
    data_docs: str | None
    evaluated: int
    seconds: float
    chunks_validated: int = 0
    chunks_reused: int = 0
    held: list[HeldSource] = Field(default_factory=list)
    build_failures: list[str] = Field(default_factory=list)

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        record.validation_status = self.status
        record.data_docs = self.data_docs
        record.warnings = [w for w in record.warnings if w.startswith("source ")] + list(self.warnings)
        entry.detail = f"{self.evaluated} expectations, {self.status}"
        if self.chunks_reused:
            entry.detail += (
                f" ({self.chunks_reused} of {self.chunks_reused + self.chunks_validated} chunks "
                "unchanged since they were validated: their outcomes kept)"
            )
        if self.held:
            entry.detail += "; held back: " + ", ".join(h.source for h in self.held)
        _note_held(record, self.held)
        if self.build_failures:
            entry.ok = False
            record.failures = self.build_failures
            raise RunFailed("dbt build failed after holding a source: " + "; ".join(self.build_failures[:5]))
        if self.critical:
            entry.ok = False
            record.failures = self.critical
            record.status = "blocked"
            raise RunFailed(f"publishing blocked: {len(self.critical)} critical expectation(s) failed")


@task(name="validate", cache_policy=NO_CACHE)
def validate_task(settings: Settings, build: BuildCopy, increment: Increment) -> Validated:
    """The expectations; a source whose own suites fail critically is held back, the build
    made again (as the dbt build stage made it: ``increment``) and validated again."""
    held: list[HeldSource] = []
    while True:
        report = validate_build(build.path, settings, build.run_id)
        failures = [(o.target, o.describe()) for o in report.critical_failures]
        newly = hold_for_expectations(settings, build.path, build.run_id, failures, held) if failures else []
        if not newly:
            break
        held += newly
        result, more = build_holding(settings, build.path, build.run_id, increment)
        held += more
        if not result.ok:
            return Validated(
                status=report.status,
                critical=[],
                warnings=[],
                data_docs=None,
                evaluated=len(report.outcomes),
                seconds=report.seconds,
                held=held,
                build_failures=result.failures,
            )
    return Validated(
        status=report.status,
        critical=[o.describe() for o in report.critical_failures],
        warnings=[o.describe() for o in report.warnings],
        data_docs=str(report.data_docs) if report.data_docs else None,
        evaluated=len(report.outcomes),
        seconds=report.seconds,
        chunks_validated=report.chunks_validated,
        chunks_reused=report.chunks_reused,
        held=held,
    )


class HistoryAdded(StageOutcome):
    recorded: HistoryRecorded

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        r = self.recorded
        entry.detail = (
            f"{r.new_versions} new vintages, {r.revisions} revisions "
            f"(published at {r.published_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
        if r.failures:
            entry.ok = False
            record.failures = r.failures
            raise RunFailed(
                "the history of the published values could not be recorded: " + "; ".join(r.failures[:5])
            )


@task(name="history", cache_policy=NO_CACHE)
def history_task(settings: Settings, build: BuildCopy, fingerprint: str) -> HistoryAdded:
    """The publish's vintages: its row of ops.publications, the snapshots, the revisions."""
    return HistoryAdded(recorded=record_history(settings, build.path, build.run_id, fingerprint))


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
    problems += registry_warnings(build.path, settings.agreements_dir)
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
def publish_task(cycle: PublishCycle, build: BuildCopy, runs: list[RunRecord]) -> Publication:
    """The run's own audit rows into the build (``ops.runs`` as it stands once published; its
    row of ``ops.publications`` was written by the history stage), then the publish: atomic,
    durable, extracts released."""
    with build.connect() as con:
        sync_runs_table(con, runs)
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
