"""The operations ledger in schema ``ops``: files received, rows rejected, runs, validations.

These tables answer the data unit's questions: what arrived, what was loaded, what was
rejected and why, what each run did.
"""

from __future__ import annotations

import duckdb

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
    archived_path varchar not null,       -- unchanged copy, relative to CI_METRICS_HOME
    status varchar not null,              -- loaded | rejected | superseded
    rows_read bigint,
    rows_loaded bigint,
    rows_rejected bigint,
    message varchar,
    superseded_by varchar
);
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
