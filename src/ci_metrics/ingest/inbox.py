"""Ingestion: every file of the inbox archived, ledgered, read by its layout, typed,
pseudonymised and loaded into schema ``raw``, its bad rows kept in ``ops.rejects``.

Nothing is lost and nothing is counted twice:
- every received file is copied unchanged to the archive, under its SHA-256;
- a file whose bytes were loaded before is skipped, whatever its name;
- a corrected file under the same name replaces that file's earlier rows;
- a file that cannot be read at all is rejected whole with its reason; the run goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ci_metrics.ingest.layouts import SOURCES, SourceLayout, layout_for
from ci_metrics.ingest.ledger import ensure_ops
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.ingest.readers import ROW_NUMBER, UnreadableFile, read_table
from ci_metrics.ingest.typing_rules import DUCKDB_TYPES, type_rows

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


@dataclass
class FileOutcome:
    source: str
    file_name: str
    status: str  # loaded | replaced | skipped | rejected | waiting
    file_id: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str = ""


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
            "files_rejected": self.count("rejected"),
            "files_waiting": self.count("waiting"),
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
        }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def inbox_files(inbox: Path) -> Iterator[tuple[str, Path]]:
    """(source folder, file) for every file under the inbox, in a stable order."""
    for path in sorted(p for p in inbox.rglob("*") if p.is_file()):
        rel = path.relative_to(inbox)
        source = rel.parts[0] if len(rel.parts) > 1 else ""
        yield source, path


def still_being_written(paths: list[Path], settle_seconds: float) -> set[Path]:
    """Files modified in the last few seconds whose size or time still changes after
    ``settle_seconds``: a partner's upload in progress."""
    import time

    if settle_seconds <= 0:
        return set()
    now = time.time()
    recent = {
        p: (p.stat().st_size, p.stat().st_mtime_ns)
        for p in paths
        if now - p.stat().st_mtime < max(10.0, settle_seconds * 5)
    }
    if not recent:
        return set()
    time.sleep(settle_seconds)
    return {
        p
        for p, before in recent.items()
        if not p.exists() or (p.stat().st_size, p.stat().st_mtime_ns) != before
    }


def table_schema(table: str, layouts: list[SourceLayout]) -> dict[str, str]:
    """Columns of a raw table: the union of the layouts that write it, plus lineage."""
    columns: dict[str, str] = {}
    snapshot = False
    for layout in layouts:
        if layout.table != table:
            continue
        snapshot = snapshot or layout.snapshot
        for name, spec in layout.columns.items():
            if spec.type == "drop":
                continue
            kind = DUCKDB_TYPES[spec.type]
            if columns.setdefault(name, kind) != kind:
                raise ValueError(f"raw.{table}.{name}: layouts disagree on its type")
        for name, value in layout.constants.items():
            kind = "BOOLEAN" if isinstance(value, bool) else "BIGINT" if isinstance(value, int) else "VARCHAR"
            columns.setdefault(name, kind)
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
    ) -> None:
        self.con = con
        self.home = home
        self.archive_dir = archive_dir
        self.layouts = layouts
        self.pseudonymise = pseudonymise
        self.run_id = run_id
        self.now = dt.datetime.now().replace(microsecond=0)
        ensure_ops(con)
        for table in sorted({layout.table for layout in layouts}):
            ensure_raw_table(con, table, layouts)

    # -- one file -------------------------------------------------------------------------
    def archive(self, source: str, path: Path, file_id: str) -> Path:
        target = self.archive_dir / (source or "_unsorted") / file_id[:2] / file_id / path.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".copying")
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        return target

    def _ledger(
        self,
        outcome: FileOutcome,
        path: Path,
        archived: Path,
        layout: SourceLayout | None,
        meta: dict[str, object],
    ) -> None:
        self.con.execute(
            """insert into ops.files (file_id, source, layout, file_name, size_bytes, locality_code,
                   period, snapshot_date, received_at, run_id, archived_path, status, rows_read,
                   rows_loaded, rows_rejected, message)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                outcome.file_id,
                outcome.source,
                layout.name if layout else None,
                outcome.file_name,
                path.stat().st_size,
                meta.get("locality_code"),
                meta.get("period"),
                meta.get("snapshot_date"),
                self.now,
                self.run_id,
                str(archived.relative_to(self.home)) if archived.is_relative_to(self.home) else str(archived),
                "rejected" if outcome.status == "rejected" else "loaded",
                outcome.rows_read,
                outcome.rows_loaded,
                outcome.rows_rejected,
                outcome.message or None,
            ],
        )

    def _reject_whole(self, outcome: FileOutcome, reason: str) -> FileOutcome:
        outcome.status = "rejected"
        outcome.message = reason
        self.con.execute(
            "insert into ops.rejects values (?, ?, ?, ?, null, null, ?, null)",
            [self.run_id, outcome.file_id, outcome.source, outcome.file_name, reason],
        )
        log.warning("rejected %s/%s: %s", outcome.source, outcome.file_name, reason)
        return outcome

    def ingest_file(self, source: str, path: Path) -> FileOutcome:
        outcome = FileOutcome(source=source, file_name=path.name, status="loaded")
        if path.name.startswith(IGNORED_PREFIXES) or path.name.endswith(IN_PROGRESS_SUFFIXES):
            outcome.status = "waiting"
            outcome.message = "hidden or still being written: left in the inbox for the next run"
            return outcome
        file_id = sha256_of(path)
        outcome.file_id = file_id
        rows = self.con.execute(
            "select file_name, source, received_at from ops.files where file_id = ?", [file_id]
        ).fetchall()
        if rows:
            known = rows[0]
            outcome.status = "skipped"
            same = "" if (known[0], known[1]) == (path.name, source) else f" as {known[1]}/{known[0]}"
            outcome.message = f"same bytes{same} received {known[2]:%Y-%m-%d %H:%M}: not loaded again"
            return outcome
        archived = self.archive(source, path, file_id)
        meta: dict[str, object] = {}
        layout = layout_for(path.name, source, self.layouts) if source in SOURCES else None
        if layout is None:
            where = f"{source}/" if source else "the inbox root"
            if source and source not in SOURCES:
                reason = f"'{source}/' is not a source folder (expected one of: {', '.join(SOURCES)})"
            else:
                names = [l.file_pattern for l in self.layouts if l.source == source]
                reason = f"unknown file: no layout of {where} matches this name (expected {' or '.join(names) or 'a source folder'})"
            self._reject_whole(outcome, reason)
            self._ledger(outcome, path, archived, None, meta)
            return outcome
        match = layout.match(path.name)
        assert match is not None
        meta["locality_code"] = int(match["locality"])
        if layout.snapshot:
            try:
                meta["snapshot_date"] = dt.datetime.strptime(match["snapshot"], "%Y%m%d").date()
            except ValueError:
                self._reject_whole(
                    outcome, f"the file name's date {match['snapshot']} is not a valid YYYYMMDD date"
                )
                self._ledger(outcome, path, archived, layout, meta)
                return outcome
        else:
            meta["period"] = int(match["period"])
        try:
            table = read_table(path, layout)
        except UnreadableFile as exc:
            self._reject_whole(outcome, str(exc))
            self._ledger(outcome, path, archived, layout, meta)
            return outcome
        typed = type_rows(layout, table, self.pseudonymise)
        outcome.rows_read = len(table.frame)
        outcome.rows_loaded = len(typed.accepted)
        outcome.rows_rejected = typed.rejects["row_number"].nunique() if len(typed.rejects) else 0
        if outcome.rows_read == 0:
            self._reject_whole(outcome, "the file holds a header but no data row")
            self._ledger(outcome, path, archived, layout, meta)
            return outcome
        if outcome.rows_loaded == 0:
            outcome.status = "rejected"
            outcome.message = f"every one of its {outcome.rows_read} rows was rejected (see ops.rejects)"
        self._store_rejects(outcome, typed.rejects)
        if outcome.rows_loaded:
            self._replace_earlier_version(outcome, layout)
            self._store_rows(outcome, layout, typed.accepted, meta)
        self._ledger(outcome, path, archived, layout, meta)
        return outcome

    def _reject_unexpected(self, source: str, path: Path, exc: Exception) -> FileOutcome:
        file_id = sha256_of(path)
        outcome = FileOutcome(source=source, file_name=path.name, status="rejected", file_id=file_id)
        archived = self.archive(source, path, file_id)
        self.con.execute("begin transaction")
        self._reject_whole(
            outcome,
            f"could not be processed ({type(exc).__name__}: {exc}); the data unit should report this file",
        )
        self._ledger(outcome, path, archived, None, {})
        self.con.execute("commit")
        return outcome

    def _replace_earlier_version(self, outcome: FileOutcome, layout: SourceLayout) -> None:
        earlier = self.con.execute(
            "select file_id from ops.files where source = ? and file_name = ? and status = 'loaded'",
            [outcome.source, outcome.file_name],
        ).fetchall()
        for (old_id,) in earlier:
            self.con.execute(f"delete from raw.{layout.table} where _file_id = ?", [old_id])
            self.con.execute(
                "update ops.files set status = 'superseded', superseded_by = ? where file_id = ?",
                [outcome.file_id, old_id],
            )
            outcome.status = "replaced"
            outcome.message = f"corrected version: replaces the rows of the earlier {outcome.file_name}"

    def _store_rejects(self, outcome: FileOutcome, rejects: pd.DataFrame) -> None:
        if rejects.empty:
            return
        frame = rejects.assign(
            run_id=self.run_id, file_id=outcome.file_id, source=outcome.source, file_name=outcome.file_name
        )
        self.con.register("_rejects", frame)
        self.con.execute(
            """insert into ops.rejects (run_id, file_id, source, file_name, row_number, column_name, reason, value)
               select run_id, file_id, source, file_name, row_number, column_name, reason, value from _rejects"""
        )
        self.con.unregister("_rejects")

    def _store_rows(
        self, outcome: FileOutcome, layout: SourceLayout, rows: pd.DataFrame, meta: dict[str, object]
    ) -> None:
        frame = rows.rename(columns={ROW_NUMBER: "_row_number"})
        for name, value in layout.constants.items():
            frame[name] = value
        for name, value in meta.items():
            frame[name] = value
        frame["_file_id"] = outcome.file_id
        frame["_file_name"] = outcome.file_name
        frame["_layout"] = layout.name
        frame["_run_id"] = self.run_id
        self.con.register("_rows", frame)
        self.con.execute(f"insert into raw.{layout.table} by name select * from _rows")
        self.con.unregister("_rows")

    # -- the inbox --------------------------------------------------------------------------
    def ingest_inbox(self, inbox: Path, settle_seconds: float = 0.0) -> IngestSummary:
        summary = IngestSummary()
        if not inbox.is_dir():
            raise FileNotFoundError(f"inbox {inbox} does not exist")
        files = list(inbox_files(inbox))
        growing = still_being_written([p for _, p in files], settle_seconds)
        for source, path in files:
            if path in growing:
                summary.outcomes.append(
                    FileOutcome(
                        source=source,
                        file_name=path.name,
                        status="waiting",
                        message="still being written (its size changed): left for the next run",
                    )
                )
                continue
            self.con.execute("begin transaction")
            try:
                outcome = self.ingest_file(source, path)
                self.con.execute("commit")
            except Exception as exc:  # a file no rule foresaw: rejected whole, the run goes on
                self.con.execute("rollback")
                log.exception("unexpected error while reading %s/%s", source, path.name)
                outcome = self._reject_unexpected(source, path, exc)
            except BaseException:
                self.con.execute("rollback")
                raise
            summary.outcomes.append(outcome)
            log.info(
                "%-9s %-40s %-8s read=%d loaded=%d rejected=%d %s",
                source,
                path.name,
                outcome.status,
                outcome.rows_read,
                outcome.rows_loaded,
                outcome.rows_rejected,
                outcome.message,
            )
        return summary
