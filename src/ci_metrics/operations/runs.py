"""Run records: what each run did, kept as JSON beside the warehouse.

The published warehouse must stay exactly as it was when a run fails, so the record of a
failed run cannot live only inside it. Each run writes ``CI_METRICS_HOME/runs/<run_id>.json``
as it goes (atomically); a successful run copies every record into ``ops.runs`` before it
publishes. ``ci-metrics status`` reads the JSON records, so it sees failed runs too.

Whether a run published is a fact of the published warehouse: its ``ops.publications`` names
every run whose build became the published file. A run killed before it could close its
record leaves it "running"; the next run, before anything else, settles it against that
fact (:meth:`RunStore.reconcile`), so neither the JSON records, ``status`` nor the next
``ops.runs`` say "published" of a run that was not, or "nothing published" of one that was.
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
    rows_filtered: int = 0
    message: str = ""


class HeldSource(BaseModel):
    """A source held back by this run: its failed checks and the files held."""

    source: str
    checks: list[str]
    files: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        files = ", ".join(self.files) or "no file"
        return (
            f"source {self.source} held back (its previously published data kept): new file(s) "
            f"{files}; failed: {'; '.join(self.checks)}"
        )


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
    held: list[HeldSource] = Field(default_factory=list)
    """Sources held back by this run (their new files wait; the rest was published)."""
    layout_problems: list[str] = Field(default_factory=list)
    """Layout files that could not be used (the files they would read are rejected)."""
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
        """Write the record atomically (a reader sees the old one or the new one); an
        :class:`OSError` (disk full, a read-only folder) leaves the old one."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{record.run_id}.json"
        tmp = path.with_suffix(".json.tmp")
        try:
            tmp.write_text(record.model_dump_json(indent=2), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
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

    def reconcile(self, live_run_id: str, published: set[str] | None) -> list[RunRecord]:
        """Settle every record but the live run's with what was published (``published``: the
        run ids of ``ops.publications`` in the published warehouse; None when there is none
        to read). A record left open ("running", or in a stage) by a process that died
        becomes failed, or succeeded if its publish had happened; a record that says
        "published" of a run the warehouse never published becomes failed. Saves and returns
        the records it changed. Call it with the run lock held: no other run is alive."""
        changed = []
        for record in self.all():
            if record.run_id == live_run_id:
                continue
            was_published = published is not None and record.run_id in published
            if record.status == "running" or record.current_stage is not None:
                during = f" during {record.current_stage}" if record.current_stage else ""
                if was_published:
                    record.status, record.published = "succeeded", True
                    record.message = (
                        f"abandoned: the run's process ended{during} (killed?) after its publish: "
                        "the data is published (ops.publications); its extracts or report may be missing"
                    )
                else:
                    record.status, record.published = "failed", False
                    record.message = (
                        f"abandoned: the run's process ended{during} (killed?): nothing was published"
                        if record.current_stage != "publish"
                        else "killed during publish, not published: the warehouse published before it stands"
                    )
                    record.failures = record.failures or [record.message]
                record.current_stage = None
                record.finished_at = record.finished_at or record.started_at
            elif record.published and published is not None and not was_published:
                record.status, record.published = "failed", False
                record.message = (
                    "recorded as published, but the published warehouse has no publication of this "
                    "run (ops.publications): not published"
                )
                record.failures = record.failures or [record.message]
            else:
                continue
            self.save(record)
            changed.append(record)
        return changed


def published_run_ids(warehouse: Path) -> set[str] | None:
    """The runs ``ops.publications`` of the published warehouse names (read-only); None when
    there is no published warehouse or it holds no such table."""
    if not warehouse.exists():
        return None
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return None
    try:
        return {row[0] for row in con.execute("select run_id from ops.publications").fetchall()}
    except duckdb.Error:
        return None
    finally:
        con.close()


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
