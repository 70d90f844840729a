"""Printing run records for people: the run summary and the run history table."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from ci_metrics.operations.runs import RunRecord
from ci_metrics.settings import Settings

STATUS_STYLE = {"succeeded": "green", "blocked": "yellow", "failed": "red", "running": "cyan"}


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}s" if value < 120 else f"{value / 60:.1f}min"


def print_run(
    record: RunRecord, settings: Settings, as_json: bool = False, console: Console | None = None
) -> None:
    console = console or Console(soft_wrap=True)
    if as_json:
        console.print_json(json.dumps(record.model_dump(mode="json"), ensure_ascii=False))
        return
    style = STATUS_STYLE.get(record.status, "white")
    console.print(
        f"run {record.run_id}: [{style}]{record.status.upper()}[/{style}] "
        f"({_seconds(record.seconds)}), inbox {record.inbox}"
    )
    if record.message and record.status == "succeeded":
        console.print(f"  {record.message}")
    c = record.counts
    if c:
        console.print(
            f"  files: {c.get('files_seen', 0)} seen, {c.get('files_loaded', 0)} loaded, "
            f"{c.get('files_skipped', 0)} already loaded, {c.get('files_rejected', 0)} rejected; "
            f"rows: {c.get('rows_loaded', 0)} loaded, {c.get('rows_rejected', 0)} rejected"
        )
    for f in record.files:
        if f.status in ("rejected", "replaced", "waiting") or f.rows_rejected:
            console.print(
                f"  - {f.source}/{f.file_name}: {f.status}"
                + (f", {f.rows_rejected} of {f.rows_read} rows rejected" if f.rows_rejected else "")
                + (f": {f.message}" if f.message else "")
            )
    if any(f.rows_rejected for f in record.files):
        console.print(
            "    (each rejected row, with its reason: "
            "ci-metrics sql \"select * from ops.rejects where run_id = '" + record.run_id + "'\")"
        )
    for s in record.stages:
        mark = "ok" if s.ok else "FAILED"
        console.print(f"  stage {s.name:<10} {_seconds(s.seconds):>8}  {mark}  {s.detail}")
    if record.validation_status:
        console.print(f"  validation: {record.validation_status}")
    for w in record.warnings:
        console.print(f"    warning: {w}")
    for failure in record.failures:
        console.print(f"  [red]failure[/red]: {failure}")
    if record.stale_sources:
        for source in record.stale_sources:
            console.print(f"  [yellow]stale[/yellow]: {source}")
    if record.data_docs:
        console.print(f"  data docs: file://{record.data_docs}")
    if record.published:
        console.print(f"  published: {settings.warehouse_path}")
    elif record.status != "running":
        console.print(f"  nothing published: {settings.warehouse_path} is unchanged")
    for e in record.extracts:
        console.print(f"  extract: {e}")
    if record.report:
        console.print(f"  report: {record.report}")


def print_runs(
    records: list[RunRecord], settings: Settings, as_json: bool = False, console: Console | None = None
) -> None:
    console = console or Console()
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False))
        return
    if not records:
        console.print(f"no runs yet under {settings.root}")
        return
    table = Table(title=f"ci-metrics runs ({settings.root})")
    for col in (
        "run",
        "started",
        "took",
        "status",
        "files new/skip/rej",
        "rows loaded",
        "rows rejected",
        "validation",
        "published",
    ):
        table.add_column(col)
    for r in records:
        c = r.counts
        style = STATUS_STYLE.get(r.status, "white")
        table.add_row(
            r.run_id,
            f"{r.started_at:%Y-%m-%d %H:%M}",
            _seconds(r.seconds),
            f"[{style}]{r.status}[/{style}]",
            f"{c.get('files_loaded', 0)}/{c.get('files_skipped', 0)}/{c.get('files_rejected', 0)}",
            str(c.get("rows_loaded", 0)),
            str(c.get("rows_rejected", 0)),
            r.validation_status or "-",
            "yes" if r.published else "no",
        )
    console.print(table)
