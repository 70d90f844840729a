"""The CBS workbooks as a ledgered source, one workbook at a time.

Every workbook of the CBS folder (``.xlsx``, ``.xlsm`` or the older binary ``.xls``) is
received, and, unless the ledger has decided it, archived, recognised by its content (sheets
and headers: the name is only a hint), read and written into its raw table in its own
transaction. A workbook that fails is rejected alone, with its own reason, leaving the
others and the tables as they were; one that no declared layout recognises is ``ignored``
and blocks nothing; a later workbook of the same kind and edition supersedes the earlier
one (its rows deleted, its ``ops.files`` row marked ``superseded``). Rows of workbooks loaded
by earlier runs stay: the build starts as a copy of the published warehouse.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ci_metrics.ingest.cbs.layout import CbsLayout, CbsLayoutError, load_cbs_layout
from ci_metrics.ingest.cbs.load import (
    WORKBOOK_SUFFIXES,
    NotACbsWorkbookError,
    cbs_tables,
    ensure_cbs_tables,
    recognise,
    same_edition,
    workbook_rows,
    write_rows,
)
from ci_metrics.ingest.cbs.workbook import sheets_of
from ci_metrics.ingest.filesystem import NotARegularFileError, ReceivedFile, kind_of, receive
from ci_metrics.ingest.inbox import FileOutcome, Ingestor
from ci_metrics.ingest.ledger import printable
from ci_metrics.ingest.limits import too_large

log = logging.getLogger(__name__)

SOURCE = "cbs"

__all__ = ["SOURCE", "cbs_candidates", "cbs_tables", "ingest_cbs"]


def cbs_candidates(cbs_dir: Path) -> list[Path]:
    """The workbooks of the CBS folder, by name: regular files (a link is never followed) named
    ``*.xlsx``, ``*.xlsm`` or ``*.xls``, neither hidden nor an Office lock file (``~$``)."""
    if not cbs_dir.is_dir():
        return []
    found = []
    for path in sorted(cbs_dir.iterdir()):
        if path.suffix.lower() not in WORKBOOK_SUFFIXES or path.name.startswith(("~$", ".")):
            continue
        try:
            problem = kind_of(path.lstat().st_mode)
        except OSError:  # vanished since the listing
            continue
        if problem is not None:
            log.warning("CBS folder %s: %s %s: never read", cbs_dir, printable(path.name), problem)
            continue
        found.append(path)
    return found


def _arrival_order(path: Path) -> tuple[float, str]:
    try:
        return path.stat().st_mtime, path.name
    except OSError:
        return 0.0, path.name


def ingest_cbs(ingestor: Ingestor, cbs_dir: Path) -> list[FileOutcome]:
    """Every workbook of ``cbs_dir``, each on its own (see the module); its outcome."""
    layout = load_cbs_layout()
    con = ingestor.con
    con.execute("begin transaction")
    ensure_cbs_tables(con, layout)  # the marts build with or without a workbook
    con.execute("commit")
    paths = cbs_candidates(cbs_dir)
    if not paths:
        log.warning("no CBS workbook in %s", cbs_dir)
    # the older first: a later edition of the same year supersedes it
    return [_ingest_one(ingestor, layout, path) for path in sorted(paths, key=_arrival_order)]


def _ingest_one(ingestor: Ingestor, layout: CbsLayout, path: Path) -> FileOutcome:
    outcome = FileOutcome(source=SOURCE, file_name=path.name, status="loaded")
    try:
        received = receive(path, ingestor.limits.max_file_bytes)
    except NotARegularFileError as exc:
        outcome.status = "rejected"
        outcome.message = f"{exc.strerror or 'not a regular file'}: never read"
        return outcome
    except OSError as exc:  # locked, vanishing: not the workbook's fault, read next run
        outcome.status = "waiting"
        outcome.message = f"could not be read just now ({exc.strerror or type(exc).__name__}): read next run"
        return outcome
    outcome.file_id = received.sha256
    decided = ingestor.already_decided(SOURCE, path.name, received.sha256)
    if decided is not None:
        return decided
    archived = (
        None if received.data is None else ingestor.archive(SOURCE, path.name, received.sha256, received.data)
    )
    if received.data is None:
        return _reject(ingestor, outcome, received, None, None, too_large(received.size, ingestor.limits))
    con = ingestor.con
    spec_name: str | None = None
    try:
        raw = sheets_of(received.data, path.name, ingestor.limits)
        spec = recognise(path.name, raw, layout)
        spec_name = spec.name
        rows = workbook_rows(path.name, received.sha256, raw, spec, ingestor.run_id)
    except NotACbsWorkbookError as exc:
        outcome.status = "ignored"
        outcome.message = str(exc)
        log.warning("ignored %s/%s: %s", SOURCE, printable(path.name), outcome.message)
        return _record(ingestor, outcome, received, archived, None)
    except Exception as exc:  # a layout error, an unreadable workbook, beyond limits, a bug
        reason = (
            f"CBS workbook layout: {exc}"
            if isinstance(exc, CbsLayoutError)
            else f"could not be processed (an unexpected {type(exc).__name__}); the data unit should "
            "report this workbook to the developers"
        )
        if not isinstance(exc, CbsLayoutError):
            log.exception("CBS workbook %s", printable(path.name))
        return _reject(ingestor, outcome, received, archived, spec_name, reason)
    editions = rows["edition_year"].dropna()
    edition = int(editions.max()) if len(editions) else None
    con.execute("begin transaction")
    try:
        write_rows(con, spec, received.sha256, rows)
        earlier = same_edition(con, spec, received.sha256, edition)
        for old_id in earlier:
            con.execute(f"delete from raw.{spec.table} where _file_id = ?", [old_id])
            con.execute(
                "update ops.files set status = 'superseded', superseded_by = ? where file_id = ?",
                [received.sha256, old_id],
            )
        outcome.rows_read = outcome.rows_loaded = len(rows)
        what = f"{spec.title or spec.name}, edition {edition}" if edition else spec.title or spec.name
        outcome.message = f"{what}: {len(rows)} rows into raw.{spec.table}"
        if earlier:
            names = [
                r[0]
                for r in con.execute(
                    "select file_name from ops.files where list_contains(?, file_id) order by 1", [earlier]
                ).fetchall()
            ]
            outcome.status = "replaced"
            outcome.message += f"; supersedes the same edition loaded from {', '.join(names) or 'earlier'}"
        ingestor.ledger(outcome, received.size, archived, spec.name, {})
        con.execute("commit")
    except Exception as exc:
        con.execute("rollback")
        log.exception("CBS workbook %s", printable(path.name))
        return _reject(
            ingestor,
            FileOutcome(source=SOURCE, file_name=path.name, status="rejected", file_id=received.sha256),
            received,
            archived,
            spec.name,
            f"could not be written into raw.{spec.table} (an unexpected {type(exc).__name__})",
        )
    log.info("CBS %s: %s", printable(path.name), outcome.message)
    return outcome


def _reject(
    ingestor: Ingestor,
    outcome: FileOutcome,
    received: ReceivedFile,
    archived: Path | None,
    spec_name: str | None,
    reason: str,
) -> FileOutcome:
    ingestor.con.execute("begin transaction")
    ingestor.reject_whole(outcome, reason)
    ingestor.ledger(outcome, received.size, archived, spec_name, {})
    ingestor.con.execute("commit")
    return outcome


def _record(
    ingestor: Ingestor, outcome: FileOutcome, received: ReceivedFile, archived: Path | None, spec: str | None
) -> FileOutcome:
    ingestor.con.execute("begin transaction")
    ingestor.ledger(outcome, received.size, archived, spec, {})
    ingestor.con.execute("commit")
    return outcome
