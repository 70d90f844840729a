"""Vintages: what each publish records, so that no published number is ever lost.

After validation and before the publish, the run's history stage

1. fixes the publish's time (UTC) and writes its row of ``ops.publications`` into the build,
2. runs the dbt nodes tagged ``history`` with that time and the run's id as variables: the
   snapshots (``snapshots/``) close the versions this publish changes or drops and open the
   new ones (valid_from = that time, macro ``duckdb__snapshot_get_time``), then the marts
   read from them are rebuilt: ``indicator_value_history``, ``indicator_progress_history``,
   the ``*_as_of`` views and ``indicator_revisions``.

The snapshots live in the warehouse (schema ``history``) and travel with it from build copy to
publish to the next build copy; the main ``dbt build`` never touches them (``--exclude
tag:history``) and ``--full-refresh`` does not rebuild a snapshot. A failure here blocks the
publish: a number is never published without its vintage.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
from pydantic import BaseModel, Field

from ci_metrics.pipeline.changes import definition_fingerprint, record_publication
from ci_metrics.publish.dbt import run_dbt
from ci_metrics.settings import Settings

HISTORY_SELECTOR = "tag:history"
"""The dbt nodes of the history stage (excluded from the main build)."""

AS_OF_VARIABLE = "ci_metrics_as_of"
"""The DuckDB variable the ``*_as_of`` views read (UTC timestamp)."""


class HistoryRecorded(BaseModel):
    """What a publish added to the history."""

    published_at: dt.datetime
    new_versions: int
    revisions: int
    failures: list[str] = Field(default_factory=list)
    """dbt's failures (a failed history blocks the publish)."""


def now_utc() -> dt.datetime:
    """The current time in UTC, without a zone (the convention of every ops time)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_history(
    settings: Settings, build: Path, run_id: str, fingerprint: str, published_at: dt.datetime | None = None
) -> HistoryRecorded:
    """Record the publish ``run_id`` in the (closed) build copy; see the module. The result's
    ``failures`` are dbt's, when it failed (nothing counted then)."""
    stamp = published_at or now_utc()
    con = duckdb.connect(str(build))
    try:
        record_publication(con, run_id, stamp, fingerprint, definition_fingerprint(settings))
    finally:
        con.close()
    variables = {"published_at": stamp.isoformat(sep=" "), "publish_run_id": run_id}
    args = ["build", "--select", HISTORY_SELECTOR, "--vars", json.dumps(variables)]
    result = run_dbt(settings, build, args)
    recorded = HistoryRecorded(published_at=stamp, new_versions=0, revisions=0, failures=result.failures)
    if not result.ok:
        return recorded
    con = duckdb.connect(str(build), read_only=True)
    try:
        recorded.new_versions = _count(con, "marts.indicator_value_history", "valid_from", stamp)
        recorded.revisions = _count(con, "marts.indicator_revisions", "revised_at", stamp)
    finally:
        con.close()
    return recorded


def _count(con: duckdb.DuckDBPyConnection, relation: str, column: str, stamp: dt.datetime) -> int:
    row = con.execute(f"select count(*) from {relation} where {column} = ?", [stamp]).fetchone()
    return int(row[0]) if row else 0
