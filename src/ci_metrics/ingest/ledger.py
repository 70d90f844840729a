"""The operations ledger in schema ``ops``: files received, rows rejected, runs, validations.

These tables answer the data unit's questions: what arrived, what was loaded, what was
rejected and why, what each run did.

Every message about a file passes through :func:`clean_message` on its way in (the ledger,
the run record, the logs): it never quotes a national ID (any run of five or more digits is
masked), holds no control character, and is capped at :data:`MESSAGE_LIMIT` characters.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

import duckdb
import pandas as pd

OPS_DDL = """
create schema if not exists ops;
create schema if not exists raw;
create table if not exists ops.files (
    file_id varchar primary key,          -- SHA-256 of the file's bytes
    source varchar not null,              -- inbox folder
    layout varchar,                       -- layout that read it (null: none matched)
    file_name varchar not null,           -- name as received
    size_bytes bigint not null,
    locality_code integer,
    period integer,
    snapshot_date date,
    received_at timestamp not null,
    run_id varchar not null,
    archived_path varchar not null,       -- unchanged copy, relative to CI_METRICS_HOME ('': not
                                          -- archived, beyond the size limit)
    status varchar not null,              -- loaded | rejected | ignored | held | superseded
    rows_read bigint,
    rows_loaded bigint,
    rows_rejected bigint,
    message varchar,
    superseded_by varchar
);
-- The verdict's time and judge (added in 0.4; older warehouses gain them here).
alter table ops.files add column if not exists decided_at timestamp;
alter table ops.files add column if not exists judged_by varchar;
create table if not exists ops.rejects (
    run_id varchar not null,
    file_id varchar not null,
    source varchar not null,
    file_name varchar not null,
    row_number bigint,                    -- null when the whole file is rejected
    column_name varchar,
    reason varchar not null,
    value varchar                         -- the offending value, any ID masked
);
create table if not exists ops.runs (
    run_id varchar primary key,
    flow_run_id varchar,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,              -- running | succeeded | failed | blocked
    inbox varchar,
    files_seen integer,
    files_loaded integer,
    files_skipped integer,
    files_rejected integer,
    rows_loaded bigint,
    rows_rejected bigint,
    validation_status varchar,
    published boolean,
    message varchar
);
create table if not exists ops.publications (
    run_id varchar not null,
    published_at timestamp not null,
    code_fingerprint varchar not null     -- models, suites, agreements, layouts at publish time
);
alter table ops.publications add column if not exists definition_fingerprint varchar;  -- the dbt project
create table if not exists ops.validation_chunks (
    suite varchar not null,
    chunk varchar not null,               -- its localities ('' : the whole relation)
    fingerprint varchar not null,         -- the suite as resolved, GX's version, the chunk's rows
    outcomes varchar not null,            -- its outcomes (JSON; examples masked as in ops.validations)
    run_id varchar not null               -- the run that validated it
);
create table if not exists ops.validations (
    run_id varchar not null,
    suite varchar not null,
    target varchar not null,              -- table validated
    expectation varchar not null,
    kwargs varchar,
    success boolean not null,
    severity varchar not null,            -- critical | warning
    observed_value varchar,
    unexpected_count bigint,
    details varchar
);
"""


def ensure_ops(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(OPS_DDL)


MESSAGE_LIMIT = 400
"""Longest message kept about a file (ops.files, ops.rejects, the run record, the logs)."""
VALUE_LIMIT = 60
"""Longest offending value kept in ``ops.rejects.value``."""

_DIGIT_RUN = re.compile(r"\d{5,}")  # any script's digits: an ID in Arabic-Indic digits is an ID
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return "*" * (len(run) - 2) + run[-2:]


def mask_digit_runs(text: str) -> str:
    """Every run of five or more digits (an ID, a phone number...) masked but its last two."""
    return _DIGIT_RUN.sub(_mask_run, text)


def printable(text: str) -> str:
    """A name (a file's, a folder's) fit for a log line: control and direction characters removed."""
    return _CONTROL.sub("?", text)


def clean_message(text: object, limit: int = MESSAGE_LIMIT) -> str:
    """A message fit for the ledger, the run record and the logs: IDs masked, control and
    direction characters removed, at most ``limit`` characters."""
    cleaned = mask_digit_runs(_CONTROL.sub(" ", str(text if text is not None else "")))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _clean_series(values: pd.Series, limit: int) -> pd.Series:
    """:func:`clean_message` over a column, vectorised."""
    text = values.astype("string").fillna("")
    text = text.str.replace(_CONTROL, " ", regex=True).str.replace(_DIGIT_RUN, _mask_run, regex=True)
    long = text.str.len() > limit
    return text.where(~long, text.str.slice(0, limit - 1) + "…")


FINAL_STATUSES = ("loaded", "superseded")
"""A file whose bytes reached one of these is never read again (unless reprocessed)."""
RETRIED_STATUSES = ("rejected", "ignored")
"""A file judged so is read again when its judge (or its name) changes, or on demand."""


class Verdict(NamedTuple):
    """What the ledger holds about a file's bytes."""

    source: str
    file_name: str
    status: str
    decided_at: dt.datetime | None
    received_at: dt.datetime
    judged_by: str | None
    message: str | None


def verdict_of(con: duckdb.DuckDBPyConnection, file_id: str) -> Verdict | None:
    rows = con.execute(
        "select source, file_name, status, decided_at, received_at, judged_by, message "
        "from ops.files where file_id = ?",
        [file_id],
    ).fetchall()
    return Verdict(*rows[0]) if rows else None


def verdicts(con: duckdb.DuckDBPyConnection) -> dict[str, Verdict]:
    """Every file's verdict, by file_id."""
    rows = con.execute(
        "select file_id, source, file_name, status, decided_at, received_at, judged_by, message "
        "from ops.files"
    ).fetchall()
    return {r[0]: Verdict(*r[1:]) for r in rows}


def needs_reading(
    verdict: Verdict | None, source: str, file_name: str, judge: str, forced: bool = False
) -> bool:
    """Must these bytes (received as ``source/file_name``) be read by this run? New bytes,
    bytes held back or reprocessed on demand: yes. Loaded (or superseded): never again.
    Rejected or ignored: when the name or the judge changed since (see :mod:`.judge`)."""
    if verdict is None or forced:
        return True
    if verdict.status in FINAL_STATUSES:
        return False
    if verdict.status in RETRIED_STATUSES:
        return (verdict.source, verdict.file_name) != (source, file_name) or verdict.judged_by != judge
    return True  # held, or a status this version does not know: read again


def record_file(con: duckdb.DuckDBPyConnection, row: dict[str, object]) -> None:
    """A file's row in ``ops.files`` (its message cleaned): inserted the first time its bytes
    arrive, its verdict replaced when it is judged again (``received_at`` stays the first)."""
    row = {**row, "message": clean_message(row["message"]) if row.get("message") else None}
    first = con.execute("select received_at from ops.files where file_id = ?", [row["file_id"]]).fetchall()
    if first:
        row["received_at"] = first[0][0]
    names = ", ".join(row)
    # a plain insert for new bytes (almost every file, and a third of the cost)
    verb = "insert or replace" if first else "insert"
    con.execute(f"{verb} into ops.files ({names}) values ({', '.join('?' * len(row))})", list(row.values()))


def record_file_rejection(
    con: duckdb.DuckDBPyConnection, run_id: str, file_id: str | None, source: str, file_name: str, reason: str
) -> str:
    """A whole file rejected, in ``ops.rejects`` (no row, no column): the reason as stored."""
    reason = clean_message(reason)
    con.execute(
        "insert into ops.rejects (run_id, file_id, source, file_name, reason) values (?, ?, ?, ?, ?)",
        [run_id, file_id, source, file_name, reason],
    )
    return reason


def record_row_rejections(con: duckdb.DuckDBPyConnection, rejects: pd.DataFrame) -> None:
    """Rejected rows in ``ops.rejects`` (columns run_id, file_id, source, file_name, row_number,
    column_name, reason, value): reasons cleaned, values masked and cut short."""
    if rejects.empty:
        return
    frame = rejects.assign(
        reason=_clean_series(rejects["reason"], MESSAGE_LIMIT),
        value=_clean_series(rejects["value"], VALUE_LIMIT),
    )
    con.register("_rejects", frame)
    try:
        con.execute(
            """insert into ops.rejects
                   (run_id, file_id, source, file_name, row_number, column_name, reason, value)
               select run_id, file_id, source, file_name, row_number, column_name, reason, value
               from _rejects"""
        )
    finally:
        con.unregister("_rejects")
