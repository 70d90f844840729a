"""The CBS workbooks as a ledgered source: archived, recorded in ``ops.files``, and loaded
into ``raw.cbs_*`` only when a workbook's bytes are new (they change once a year)."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from ci_metrics.ingest.cbs import load_cbs
from ci_metrics.ingest.cbs.layout import CbsLayoutError
from ci_metrics.ingest.filesystem import ReceivedFile, kind_of, receive
from ci_metrics.ingest.inbox import FileOutcome, Ingestor

log = logging.getLogger(__name__)

SOURCE = "cbs"


def _tables_exist(con: duckdb.DuckDBPyConnection) -> bool:
    n = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw' and table_name like 'cbs_%'"
    ).fetchall()[0][0]
    return n >= 2


def _ensure_empty_tables(con: duckdb.DuckDBPyConnection) -> None:
    from ci_metrics.ingest.cbs.layout import load_cbs_layout
    from ci_metrics.ingest.cbs.load import RAW_SCHEMA, table_columns

    for spec in load_cbs_layout().workbooks:
        ddl = ", ".join(f"{name} {kind}" for name, kind in table_columns(spec))
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.execute(f"create table if not exists {RAW_SCHEMA}.{spec.table} ({ddl})")


def _rows_per_file(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.execute(
        "select _file_id, count(*) from raw.cbs_local_authorities group by 1 "
        "union all select _file_id, count(*) from raw.cbs_socioeconomic_index group by 1"
    ).fetchall()
    out: dict[str, int] = {}
    for file_id, n in rows:
        out[file_id] = out.get(file_id, 0) + n
    return out


def ingest_cbs(ingestor: Ingestor, cbs_dir: Path) -> list[FileOutcome]:
    con = ingestor.con
    paths = sorted(p for p in cbs_dir.glob("*.xlsx") if kind_of(p.lstat().st_mode) is None)
    if not paths:
        log.warning("no CBS workbook in %s", cbs_dir)
        return []
    received: dict[Path, ReceivedFile] = {p: receive(p, ingestor.limits.max_file_bytes) for p in paths}
    ids = {p: r.sha256 for p, r in received.items()}
    known = {r[0] for r in con.execute("select file_id from ops.files where source = ?", [SOURCE]).fetchall()}
    new = [p for p in paths if ids[p] not in known]
    if not new and _tables_exist(con):
        return [
            FileOutcome(
                source=SOURCE,
                file_name=p.name,
                status="skipped",
                file_id=ids[p],
                message="same bytes already loaded",
            )
            for p in paths
        ]
    outcomes = []
    try:
        counts = load_cbs(con, cbs_dir, ingestor.run_id, limits=ingestor.limits)
        message = ", ".join(f"{t}: {n} rows" for t, n in counts.items())
        status = "loaded"
    except CbsLayoutError as exc:
        message, status = f"CBS workbook layout: {exc}", "rejected"
        log.error("%s", message)
        _ensure_empty_tables(con)  # the indicators still build; peer comparisons stay empty
    per_file = _rows_per_file(con) if status == "loaded" else {}
    for path in new:
        outcome = FileOutcome(
            source=SOURCE,
            file_name=path.name,
            status=status,
            file_id=ids[path],
            rows_loaded=per_file.get(ids[path], 0),
            message=message,
        )
        data = received[path].data
        archived = None if data is None else ingestor.archive(SOURCE, path.name, ids[path], data)
        con.execute("begin transaction")
        if status == "rejected":
            ingestor.reject_whole(outcome, message)
        ingestor.ledger(outcome, received[path].size, archived, None, {})
        con.execute("commit")
        outcomes.append(outcome)
    return outcomes
