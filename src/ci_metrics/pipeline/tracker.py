"""The run record of one nightly run, kept up to date as the stages go.

Each stage is timed (:func:`ci_metrics.operations.stages.stage`) and the record is saved when
it starts, so ``runs/<run_id>.json`` always names the stage in progress. A stage returns a
:class:`StageOutcome`, a typed result that copies into the record what the record keeps of
it, and stops the run (:class:`RunFailed`) when it must. However the run ends, the record is
closed, saved and, for a failed or blocked run, sent as an alert.

Before its first stage, a run settles the records of runs that died before closing theirs
against ``ops.publications`` (:meth:`~ci_metrics.operations.runs.RunStore.reconcile`). The
record says "published" only once the rename is on disk (the publish stage's outcome). A
record that cannot be written (a full disk, a read-only folder) fails the run, and never
stops the alert: the alert goes out, saying so.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import ParamSpec, TypeVar

from prefect import get_run_logger
from pydantic import BaseModel

from ci_metrics.operations.alerts import notify
from ci_metrics.operations.runs import RunRecord, RunStore, StageRecord, new_run_id, published_run_ids
from ci_metrics.operations.stages import stage
from ci_metrics.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")


# N818: the name reads as the outcome it reports ("raise RunFailed(...)"), like RunInProgress.
class RunFailed(RuntimeError):  # noqa: N818
    """A stage failed; the published warehouse is unchanged."""


class StageOutcome(BaseModel):
    """What a stage returns."""

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        """Copy into the run record (and the stage's line) what it keeps of this outcome;
        raise :class:`RunFailed` when the run must stop here."""


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger, or a plain one outside a flow run."""
    try:
        return get_run_logger()
    except Exception:  # outside a flow run (a direct call in a test)
        return logging.getLogger("ci_metrics.flow")


class RunTracker:
    """``with RunTracker(...) as run:`` around the stages of one run (inside its lock)."""

    def __init__(
        self, settings: Settings, inbox: Path, *, run_id: str | None = None, flow_run_id: str | None = None
    ) -> None:
        self.settings = settings
        self.store = RunStore(settings.root / "runs")
        self.record = RunRecord(
            run_id=run_id or new_run_id(),
            flow_run_id=flow_run_id,
            started_at=dt.datetime.now(),
            inbox=str(inbox),
        )

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def save(self) -> None:
        self.store.save(self.record)

    def __enter__(self) -> RunTracker:
        try:
            settled = self.store.reconcile(self.run_id, published_run_ids(self.settings.warehouse_path))
            self.save()
        except OSError as exc:
            self.__exit__(type(exc), exc, exc.__traceback__)  # closed, alerted
            raise RunFailed(f"the run record could not be written: {exc}") from exc
        for record in settled:
            run_logger().warning("run %s: %s", record.run_id, record.message)
        return self

    def stage(self, name: str, work: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run one stage: ``work(*args, **kwargs)``, timed, its outcome noted in the record."""
        with stage(self.record, name, on_start=self.save) as entry:
            outcome = work(*args, **kwargs)
            if isinstance(outcome, StageOutcome):
                outcome.into(self.record, entry)
        return outcome

    def runs_as_published(self) -> list[RunRecord]:
        """Every run record as ``ops.runs`` holds them once this run is published. The JSON
        record of this run says "published" only after the warehouse file was replaced."""
        self.record.finished_at = dt.datetime.now()
        this = self.record.model_copy(update={"status": "succeeded", "published": True})
        return [this, *(r for r in self.store.all() if r.run_id != self.run_id)]

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        record, log = self.record, run_logger()
        if exc is not None:
            record.published = False
            if record.status != "blocked":
                record.status = "failed"
            record.message = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
            if not record.failures:
                record.failures = [record.message]
            log.error("run %s %s: %s", record.run_id, record.status, record.message)
        if exc is not None and self.run_id in (published_run_ids(self.settings.warehouse_path) or ()):
            record.published = True  # it failed after its publish (releasing the extracts)
        record.finished_at = record.finished_at or dt.datetime.now()
        unsaved = None
        try:
            self.save()
        except OSError as save_error:
            unsaved = f"the run record could not be saved under {self.store.folder}: {save_error}"
            log.error("run %s: %s", record.run_id, unsaved)
        sent = notify(record, self.settings, unsaved=unsaved)
        if sent:
            log.info("alert sent by %s", ", ".join(sent))
