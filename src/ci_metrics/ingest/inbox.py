"""Ingestion: every file of the inbox archived, ledgered, read by its layout, typed,
pseudonymised and loaded into schema ``raw``, its bad rows kept in ``ops.rejects``.

Nothing is lost and nothing is counted twice:
- every received file is copied unchanged to the archive, under its SHA-256;
- a file whose bytes were loaded before is skipped, whatever its name;
- a corrected file under the same name replaces that file's earlier rows;
- a file that cannot be read at all is rejected whole with its reason; the run goes on;
- a link, a pipe or a device is never opened (:mod:`.filesystem`); a file beyond the input
  limits is rejected before it is parsed (:mod:`.limits`); no message quotes a file's cells
  (:func:`.ledger.clean_message`).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ci_metrics.ingest.filesystem import (
    InboxEntry,
    NotARegularFileError,
    ReceivedFile,
    inbox_entries,
    private_dir,
    receive,
    unread_reason,
    write_private,
)
from ci_metrics.ingest.filesystem import inbox_files as inbox_files  # the scan lists the inbox so
from ci_metrics.ingest.filesystem import sha256_of as sha256_of  # and hashes what it lists
from ci_metrics.ingest.layouts import SourceLayout
from ci_metrics.ingest.ledger import (
    FINAL_STATUSES,
    clean_message,
    ensure_ops,
    needs_reading,
    printable,
    record_file,
    record_file_rejection,
    record_row_rejections,
    verdict_of,
)
from ci_metrics.ingest.limits import InputLimits, too_large
from ci_metrics.ingest.prepare import readable_pattern as readable_pattern  # where clerks saw it
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.ingest.workers import (
    FileJob,
    FileResult,
    KeySource,
    ParquetHandOver,
    PrepareContext,
    prepare_job,
)

log = logging.getLogger(__name__)

IGNORED_PREFIXES = (".", "~$")
IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")

LINEAGE_COLUMNS = {
    "locality_code": "INTEGER",
    "_file_id": "VARCHAR",
    "_file_name": "VARCHAR",
    "_row_number": "INTEGER",
    "_layout": "VARCHAR",
    "_run_id": "VARCHAR",
}


Engine = Callable[[Sequence[FileJob], PrepareContext], Iterator[FileResult]]
"""Prepares jobs (on workers, :mod:`ci_metrics.pipeline.engine`) and yields their results in
the jobs' order."""

LEDGER_STATUS = {"replaced": "loaded"}
"""An outcome's status as ``ops.files`` keeps it, where they differ."""


@dataclass
class FileOutcome:
    source: str
    file_name: str
    status: str  # loaded | replaced | skipped | still_rejected | rejected | ignored | held | waiting
    file_id: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_filtered: int = 0
    message: str = ""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "message":  # every message about a file, wherever it is built
            value = clean_message(value)
        super().__setattr__(name, value)


@dataclass
class IngestSummary:
    outcomes: list[FileOutcome] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def rows_loaded(self) -> int:
        return sum(o.rows_loaded for o in self.outcomes)

    @property
    def rows_rejected(self) -> int:
        return sum(o.rows_rejected for o in self.outcomes)

    def as_dict(self) -> dict[str, int]:
        return {
            "files_seen": len(self.outcomes),
            "files_loaded": self.count("loaded", "replaced"),
            "files_skipped": self.count("skipped"),
            "files_still_rejected": self.count("still_rejected"),
            "files_rejected": self.count("rejected", "ignored"),
            "files_waiting": self.count("waiting"),
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
        }


def still_being_written(paths: list[Path], settle_seconds: float) -> set[Path]:
    """Files modified in the last few seconds whose size or time still changes after
    ``settle_seconds``: a partner's upload in progress."""
    import time

    if settle_seconds <= 0:
        return set()
    now = time.time()
    stats = {p: p.lstat() for p in paths}
    recent = {
        p: (st.st_size, st.st_mtime_ns)
        for p, st in stats.items()
        if now - st.st_mtime < max(10.0, settle_seconds * 5)
    }
    if not recent:
        return set()
    time.sleep(settle_seconds)
    return {
        p
        for p, before in recent.items()
        if not p.exists() or (p.lstat().st_size, p.lstat().st_mtime_ns) != before
    }


def table_schema(table: str, layouts: list[SourceLayout]) -> dict[str, str]:
    """Columns of a raw table: the union of the layouts that write it, plus lineage."""
    columns: dict[str, str] = {}
    snapshot = False
    for layout in layouts:
        if layout.table != table:
            continue
        snapshot = snapshot or layout.snapshot
        for name, kind in layout.raw_columns().items():  # cells, derived columns, constants
            if columns.setdefault(name, kind) != kind:
                raise ValueError(f"raw.{table}.{name}: layouts disagree on its type")
    period = {"snapshot_date": "DATE"} if snapshot else {"period": "INTEGER"}
    return {"locality_code": "INTEGER", **period, **columns, **LINEAGE_COLUMNS}


def ensure_raw_table(con: duckdb.DuckDBPyConnection, table: str, layouts: list[SourceLayout]) -> None:
    schema = table_schema(table, layouts)
    cols = ", ".join(f'"{name}" {kind}' for name, kind in schema.items())
    con.execute(f"create table if not exists raw.{table} ({cols})")
    existing = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema='raw' and table_name=?",
            [table],
        ).fetchall()
    }
    for name, kind in schema.items():
        if name not in existing:  # a new layout brought a new field
            con.execute(f'alter table raw.{table} add column "{name}" {kind}')


class Ingestor:
    """Loads the files of one inbox into a (build) warehouse connection."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        home: Path,
        archive_dir: Path,
        layouts: list[SourceLayout],
        pseudonymise: Pseudonymiser,
        run_id: str,
        limits: InputLimits | None = None,
        judge: str = "",
        forced: frozenset[str] = frozenset(),
        key_source: KeySource | None = None,
    ) -> None:
        """``judge``: the fingerprint of what judges files (:mod:`.judge`), kept with each
        verdict; ``forced``: file IDs to read again whatever the ledger says (reprocess);
        ``key_source``: where workers of another process find the key (an engine needs it)."""
        self.con = con
        self.home = home
        self.archive_dir = archive_dir
        self.layouts = layouts
        self.pseudonymise = pseudonymise
        self.run_id = run_id
        self.judge = judge
        self.forced = forced
        self.seen: set[str] = set()
        self._received: dict[int, tuple[int, Path | None]] = {}  # job -> size, archived copy
        self.limits = limits or InputLimits.from_settings()
        self.known_headers = frozenset(spec.header for layout in layouts for spec in layout.columns.values())
        self.context = PrepareContext(
            layouts=layouts,
            limits=self.limits,
            known_headers=self.known_headers,
            key=key_source,
            run_id=run_id,
        )
        self.now = dt.datetime.now().replace(microsecond=0)
        private_dir(home)
        private_dir(archive_dir)
        ensure_ops(con)
        for table in sorted({layout.table for layout in layouts}):
            ensure_raw_table(con, table, layouts)

    # -- one file -------------------------------------------------------------------------
    def archive(self, source: str, file_name: str, file_id: str, data: bytes) -> Path:
        """The file's bytes, unchanged, under the archive (folders 0700, the copy 0600)."""
        folder = self.archive_dir
        for part in (source or "_unsorted", file_id[:2], file_id):
            folder = private_dir(folder / part)  # narrowed too, where an earlier version made it 0755
        target = folder / file_name
        if not target.exists():
            write_private(target, data)
        return target

    def ledger(
        self,
        outcome: FileOutcome,
        size: int,
        archived: Path | None,
        layout_name: str | None,
        meta: Mapping[str, int | dt.date | None],
    ) -> None:
        """The file's row in ``ops.files``, as the outcome says."""
        if archived is None:
            where = ""  # not archived: beyond the size limit, still in the inbox
        elif archived.is_relative_to(self.home):
            where = str(archived.relative_to(self.home))
        else:
            where = str(archived)
        record_file(
            self.con,
            {
                "file_id": outcome.file_id,
                "source": outcome.source,
                "layout": layout_name,
                "file_name": outcome.file_name,
                "size_bytes": size,
                "locality_code": meta.get("locality_code"),
                "period": meta.get("period"),
                "snapshot_date": meta.get("snapshot_date"),
                "received_at": self.now,
                "run_id": self.run_id,
                "archived_path": where,
                "status": LEDGER_STATUS.get(outcome.status, outcome.status),
                "rows_read": outcome.rows_read,
                "rows_loaded": outcome.rows_loaded,
                "rows_rejected": outcome.rows_rejected,
                "message": outcome.message,
                "decided_at": self.now,
                "judged_by": self.judge,
            },
        )

    def reject_whole(self, outcome: FileOutcome, reason: str) -> FileOutcome:
        """The whole file rejected: its reason in ``ops.rejects`` and on the outcome."""
        outcome.status = "rejected"
        outcome.message = record_file_rejection(
            self.con, self.run_id, outcome.file_id, outcome.source, outcome.file_name, reason
        )
        log.warning("rejected %s/%s: %s", outcome.source, printable(outcome.file_name), outcome.message)
        return outcome

    def ingest_file(self, source: str, path: Path, entry: InboxEntry | None = None) -> FileOutcome:
        """One file, read here, in this process (a reprocessed file, a file or two)."""
        outcome = FileOutcome(source=source, file_name=path.name, status="loaded")
        try:
            outcome, job = self._receive_job(source, path, entry, outcome, index=0)
        except OSError as exc:  # locked, vanishing, an I/O error: not the file's fault
            return self._wait(outcome, exc)
        if job is None:
            return outcome
        return self._write(outcome, prepare_job(job, self.context, self.pseudonymise))

    def already_decided(self, source: str, file_name: str, file_id: str) -> FileOutcome | None:
        """The outcome of a file the ledger says need not be read again (``skipped``: it
        loaded; ``still_rejected``: rejected or ignored, and neither its name nor its judge
        changed since); None when the file is to be read (see :func:`.ledger.needs_reading`)."""
        self.seen.add(file_id)
        verdict = verdict_of(self.con, file_id)
        if verdict is None or needs_reading(verdict, source, file_name, self.judge, file_id in self.forced):
            return None
        when = f"{verdict.decided_at or verdict.received_at:%Y-%m-%d}"
        same = (
            ""
            if (verdict.source, verdict.file_name) == (source, file_name)
            else (f" as {verdict.source}/{verdict.file_name}")
        )
        if verdict.status in FINAL_STATUSES:
            return FileOutcome(
                source=source,
                file_name=file_name,
                status="skipped",
                file_id=file_id,
                message=f"same bytes{same} already loaded on {when}: not loaded again",
            )
        return FileOutcome(
            source=source,
            file_name=file_name,
            status="still_rejected",
            file_id=file_id,
            message=f"already received{same}, {verdict.status} on {when}: {verdict.message or ''} "
            "(read again once the layout or the file name changes, or by `ci-metrics reprocess`)",
        )

    @staticmethod
    def _wait(outcome: FileOutcome, exc: OSError) -> FileOutcome:
        """A transient error (a locked or vanishing file, an I/O error): the file waits for
        the next run; it is neither rejected nor ledgered."""
        outcome.status = "waiting"
        outcome.message = (
            f"could not be read just now ({exc.strerror or type(exc).__name__}): left in the inbox "
            "for the next run"
        )
        log.warning("waiting %s/%s: %s", outcome.source, printable(outcome.file_name), outcome.message)
        return outcome

    def ingest_archived(self, file_ids: set[str] | frozenset[str]) -> list[FileOutcome]:
        """Files to read again (reprocess) that are no longer in the inbox: read from the
        archive, where their bytes are kept exactly as received."""
        outcomes = []
        for file_id in sorted(file_ids - self.seen):
            rows = self.con.execute(
                "select source, archived_path from ops.files where file_id = ?", [file_id]
            ).fetchall()
            if not rows or not rows[0][1] or rows[0][0] == "cbs":
                continue  # unknown, never archived (beyond the size limit), or a CBS workbook
            source, archived = rows[0]
            path = self.home / archived
            if not path.is_file():
                path = Path(archived)
            self.con.execute("begin transaction")
            try:
                outcome = self.ingest_file(source, path)
                self.con.execute("commit")
            except BaseException:
                self.con.execute("rollback")
                raise
            outcome.message = f"read again from the archive: {outcome.message}".rstrip(": ")
            outcomes.append(outcome)
        return outcomes

    def _unread(self, outcome: FileOutcome, kind: str) -> FileOutcome:
        """Not a regular file: rejected unread, neither archived nor ledgered (it has no bytes
        to key the ledger by); reported by every run while it stays in the inbox."""
        outcome.status = "rejected"
        outcome.message = unread_reason(kind)
        log.warning("rejected %s/%s: %s", outcome.source, printable(outcome.file_name), outcome.message)
        return outcome

    def _job(
        self, outcome: FileOutcome, source: str, path: Path, received: ReceivedFile, index: int
    ) -> FileJob | None:
        """Archive the received bytes; the job that prepares them, or None when the file is
        rejected unread (beyond the size limit)."""
        data = received.data
        archived = None if data is None else self.archive(source, path.name, received.sha256, data)
        self._received[index] = (received.size, archived)
        if data is None:
            self.reject_whole(outcome, too_large(received.size, self.limits))
            self.ledger(outcome, received.size, archived, None, {})
            return None
        return FileJob(index=index, source=source, path=path, file_id=received.sha256, size=received.size)

    def _write(self, outcome: FileOutcome, result: FileResult) -> FileOutcome:
        """One prepared file into the warehouse and the ledger (the caller's transaction)."""
        size, archived = self._received.pop(result.index)
        if result.changed:
            outcome.status = "waiting"
            outcome.message = "its bytes changed while it was read: left in the inbox for the next run"
            return outcome
        if result.unexpected is not None:
            self.reject_whole(
                outcome,
                f"could not be processed (an unexpected {result.unexpected}); the data unit should "
                "report this file to the developers",
            )
            self.ledger(outcome, size, archived, result.layout_name, {})
            return outcome
        if result.unreadable is not None:
            self.reject_whole(outcome, result.unreadable)
            self.ledger(outcome, size, archived, result.layout_name, {})
            return outcome
        outcome.rows_read = result.rows_read
        outcome.rows_loaded = result.rows_loaded
        rejects = result.rejects if result.rejects is not None else pd.DataFrame()
        outcome.rows_rejected = int(rejects["row_number"].nunique()) if len(rejects) else 0
        outcome.rows_filtered = result.rows_filtered
        if outcome.rows_loaded == 0:
            outcome.status = "rejected"
            outcome.message = f"every one of its {outcome.rows_read} rows was rejected (see ops.rejects)"
        self._store_rejects(outcome, rejects)
        if outcome.rows_loaded and result.rows is not None and result.table is not None:
            self._replace_earlier_version(outcome, result.table)
            self._store_rows(result.table, result.rows)
        self.ledger(outcome, size, archived, result.layout_name, result.meta)
        return outcome

    def _reject_unexpected(self, entry: InboxEntry, exc: Exception) -> FileOutcome:
        outcome = FileOutcome(source=entry.source, file_name=entry.name, status="rejected")
        try:
            received = receive(entry.path, self.limits.max_file_bytes, entry)
        except NotARegularFileError as again:
            return self._unread(outcome, again.strerror or "is not a regular file")
        outcome.file_id = received.sha256
        archived = (
            None
            if received.data is None
            else self.archive(entry.source, entry.name, received.sha256, received.data)
        )
        self.con.execute("begin transaction")
        self.reject_whole(
            outcome,
            f"could not be processed (an unexpected {type(exc).__name__}); the data unit should "
            "report this file to the developers",
        )
        self.ledger(outcome, received.size, archived, None, {})
        self.con.execute("commit")
        return outcome

    def _replace_earlier_version(self, outcome: FileOutcome, table: str) -> None:
        # a file read again (reprocessed) first loses its own earlier rows
        self.con.execute(f"delete from raw.{table} where _file_id = ?", [outcome.file_id])
        earlier = self.con.execute(
            "select file_id from ops.files where source = ? and file_name = ? and status = 'loaded' "
            "and file_id <> ?",
            [outcome.source, outcome.file_name, outcome.file_id],
        ).fetchall()
        for (old_id,) in earlier:
            self.con.execute(f"delete from raw.{table} where _file_id = ?", [old_id])
            self.con.execute(
                "update ops.files set status = 'superseded', superseded_by = ? where file_id = ?",
                [outcome.file_id, old_id],
            )
            outcome.status = "replaced"
            outcome.message = f"corrected version: replaces the rows of the earlier {outcome.file_name}"

    def _store_rejects(self, outcome: FileOutcome, rejects: pd.DataFrame) -> None:
        if rejects.empty:
            return
        record_row_rejections(
            self.con,
            rejects.assign(
                run_id=self.run_id,
                file_id=outcome.file_id,
                source=outcome.source,
                file_name=outcome.file_name,
            ),
        )

    def _store_rows(self, table: str, rows: bytes) -> None:
        """Prepared rows (Parquet, lineage columns included) into their raw table."""
        spool = private_dir(self.home / "spool")
        fd, name = tempfile.mkstemp(suffix=".parquet", dir=spool)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(rows)
            self.con.execute(f"insert into raw.{table} by name select * from read_parquet(?)", [name])
        finally:
            os.unlink(name)

    # -- the inbox --------------------------------------------------------------------------
    def ingest_inbox(
        self, inbox: Path, settle_seconds: float = 0.0, engine: Engine | None = None
    ) -> IngestSummary:
        """Every file of the inbox: received, archived and checked against the ledger here,
        then prepared by ``engine`` (default: in this process, one after the other) and
        written here in the inbox's order, each file in its own transaction."""
        summary = IngestSummary()
        if not inbox.is_dir():
            raise FileNotFoundError(f"inbox {inbox} does not exist")
        entries = list(inbox_entries(inbox))
        growing = still_being_written([e.path for e in entries if e.problem is None], settle_seconds)
        jobs: list[FileJob] = []
        waiting_for: dict[int, tuple[InboxEntry, int]] = {}  # job -> its entry, its outcome's place
        for entry in entries:
            if entry.path in growing:
                summary.outcomes.append(
                    FileOutcome(
                        source=entry.source,
                        file_name=entry.name,
                        status="waiting",
                        message="still being written (its size changed): left for the next run",
                    )
                )
                continue
            if entry.problem is not None:
                outcome = FileOutcome(source=entry.source, file_name=entry.name, status="rejected")
                hidden = entry.name.startswith(IGNORED_PREFIXES) or entry.name.endswith(IN_PROGRESS_SUFFIXES)
                if hidden:
                    outcome.status = "waiting"
                    outcome.message = "hidden or still being written: left in the inbox for the next run"
                else:
                    self._unread(outcome, entry.problem)
                summary.outcomes.append(outcome)
                continue
            fresh = FileOutcome(source=entry.source, file_name=entry.name, status="loaded")
            receive_step = functools.partial(
                self._receive_job, entry.source, entry.path, entry, index=len(jobs)
            )
            outcome, job = self._guarded(entry, fresh, receive_step)
            summary.outcomes.append(outcome)
            if job is not None:
                jobs.append(job)
                waiting_for[job.index] = (entry, len(summary.outcomes) - 1)
            else:
                self._log(entry, outcome)
        prepare = engine or self._prepare_here
        for result in prepare(jobs, self.context):
            entry, place = waiting_for.pop(result.index)
            outcome, _ = self._guarded(
                entry, summary.outcomes[place], functools.partial(self._write_step, result)
            )
            summary.outcomes[place] = outcome
            self._log(entry, outcome)
        if waiting_for:  # pragma: no cover - an engine that lost a job is a bug
            raise RuntimeError(f"{len(waiting_for)} prepared files were not returned by the engine")
        return summary

    def _write_step(self, result: FileResult, outcome: FileOutcome) -> tuple[FileOutcome, FileJob | None]:
        return self._write(outcome, result), None

    def _prepare_here(self, jobs: Sequence[FileJob], context: PrepareContext) -> Iterator[FileResult]:
        with ParquetHandOver() as hand_over:
            for job in jobs:
                yield prepare_job(job, context, self.pseudonymise, hand_over)

    def _receive_job(
        self, source: str, path: Path, entry: InboxEntry | None, outcome: FileOutcome, index: int
    ) -> tuple[FileOutcome, FileJob | None]:
        """Receive a file: hashed, checked against the ledger, archived; the job that reads it
        (None when there is nothing to read: hidden, not a regular file, already decided, too
        large). An OSError (a transient error) is the caller's."""
        if path.name.startswith(IGNORED_PREFIXES) or path.name.endswith(IN_PROGRESS_SUFFIXES):
            outcome.status = "waiting"
            outcome.message = "hidden or still being written: left in the inbox for the next run"
            return outcome, None
        try:
            received = receive(path, self.limits.max_file_bytes, entry)
        except NotARegularFileError as exc:
            return self._unread(outcome, exc.strerror or "is not a regular file"), None
        outcome.file_id = received.sha256
        decided = self.already_decided(source, path.name, received.sha256)
        if decided is not None:
            return decided, None
        return outcome, self._job(outcome, source, path, received, index)

    def _guarded(
        self,
        entry: InboxEntry,
        outcome: FileOutcome,
        step: Callable[[FileOutcome], tuple[FileOutcome, FileJob | None]],
    ) -> tuple[FileOutcome, FileJob | None]:
        """One step for one file, in its own transaction: a transient error leaves the file
        waiting, an error no rule foresaw rejects it whole; the run goes on."""
        self.con.execute("begin transaction")
        try:
            result = step(outcome)
            self.con.execute("commit")
            return result
        except OSError as exc:  # a transient error while reading: the file waits
            self.con.execute("rollback")
            waiting = FileOutcome(source=entry.source, file_name=entry.name, status="waiting")
            return self._wait(waiting, exc), None
        except Exception as exc:  # a file no rule foresaw: rejected whole, the run goes on
            self.con.execute("rollback")
            # the type only: an error's text may quote the file's cells
            log.error(
                "unexpected %s while reading %s/%s",
                type(exc).__name__,
                entry.source,
                printable(entry.name),
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            return self._reject_unexpected(entry, exc), None
        except BaseException:
            self.con.execute("rollback")
            raise

    @staticmethod
    def _log(entry: InboxEntry, outcome: FileOutcome) -> None:
        log.info(
            "%-9s %-40s %-8s read=%d loaded=%d rejected=%d %s",
            entry.source,
            printable(entry.name),
            outcome.status,
            outcome.rows_read,
            outcome.rows_loaded,
            outcome.rows_rejected,
            outcome.message,
        )
