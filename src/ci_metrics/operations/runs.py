"""Run records: what each run did, kept as JSON beside the warehouse.

The published warehouse must stay exactly as it was when a run fails, so the record of a
failed run cannot live only inside it. Each run writes ``CI_METRICS_HOME/runs/<run_id>.json``
as it goes (atomically); a successful run copies every record into ``ops.runs`` before it
publishes. ``ci-metrics status`` reads the JSON records, so it sees failed runs too.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, Field

RunStatus = Literal["running", "succeeded", "failed", "blocked"]


class FileRecord(BaseModel):
    source: str
    file_name: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str = ""


class StageRecord(BaseModel):
    name: str
    seconds: float
    peak_rss_mb: float | None = None
    ok: bool = True
    detail: str = ""


class RunRecord(BaseModel):
    run_id: str
    flow_run_id: str | None = None
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: RunStatus = "running"
    current_stage: str | None = None
    inbox: str
    counts: dict[str, int] = Field(default_factory=dict)
    files: list[FileRecord] = Field(default_factory=list)
    stages: list[StageRecord] = Field(default_factory=list)
    validation_status: str | None = None
    failures: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    stale_sources: list[str] = Field(default_factory=list)
    data_docs: str | None = None
    published: bool = False
    extracts: list[str] = Field(default_factory=list)
    report: str | None = None
    message: str = ""

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now()
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


class RunStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, record: RunRecord) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{record.run_id}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(record.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, path)
        return path

    def all(self) -> list[RunRecord]:
        if not self.folder.exists():
            return []
        records = []
        for path in self.folder.glob("*.json"):
            try:
                records.append(RunRecord.model_validate_json(path.read_text(encoding="utf-8")))
            except ValueError:
                continue
        return sorted(records, key=lambda r: r.started_at, reverse=True)

    def get(self, run_id: str) -> RunRecord | None:
        """The run with this id, or the only one whose id starts with it."""
        exact = self.folder / f"{run_id}.json"
        if exact.exists():
            try:
                return RunRecord.model_validate_json(exact.read_text(encoding="utf-8"))
            except ValueError:
                pass  # being replaced at this instant: fall back to the scan
        matches = [r for r in self.all() if r.run_id.startswith(run_id)]
        return matches[0] if len(matches) == 1 else None

    def mark_abandoned(self, live_run_id: str) -> list[str]:
        """Runs still 'running' that are not the live one died (killed): say so."""
        abandoned = []
        for record in self.all():
            if record.status == "running" and record.run_id != live_run_id:
                record.status = "failed"
                record.finished_at = record.finished_at or record.started_at
                record.message = "the run's process ended before it finished (killed?); nothing was published"
                self.save(record)
                abandoned.append(record.run_id)
        return abandoned


def sync_runs_table(con: duckdb.DuckDBPyConnection, records: list[RunRecord]) -> None:
    """Copy run records into ops.runs (one row per run)."""
    from ci_metrics.ingest.ledger import ensure_ops

    ensure_ops(con)
    rows = [
        (
            r.run_id,
            r.flow_run_id,
            r.started_at,
            r.finished_at,
            r.status,
            r.inbox,
            r.counts.get("files_seen"),
            r.counts.get("files_loaded"),
            r.counts.get("files_skipped"),
            r.counts.get("files_rejected"),
            r.counts.get("rows_loaded"),
            r.counts.get("rows_rejected"),
            r.validation_status,
            r.published,
            r.message or None,
        )
        for r in records
    ]
    con.execute("delete from ops.runs")
    if rows:
        con.executemany("insert into ops.runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
