"""Printing run records for people: the run summary and the run history table.

Everything a record holds is printed as text: names and headers come from partners' files
(a file named ``evil[/]\x1b[31m.csv``), so each is stripped of control characters (an escape
sequence never reaches the terminal) and escaped for rich (``[/]`` is never markup), by
:func:`_text`, before it joins the few styles of this module.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ci_metrics.ingest.ledger import printable
from ci_metrics.operations.runs import RunRecord
from ci_metrics.settings import Settings

SHOWN_STATUSES = ("rejected", "ignored", "still_rejected", "held", "replaced", "waiting")
"""A file with one of these is listed in the run summary, with its message."""
STATUS_STYLE = {"succeeded": "green", "blocked": "yellow", "failed": "red", "running": "cyan"}


def _text(value: object) -> str:
    """A value of the record as rich markup that prints exactly as text (control characters
    shown as ``?``)."""
    return escape(printable(str(value)))


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
        f"run {_text(record.run_id)}: [{style}]{record.status.upper()}[/{style}] "
        f"({_seconds(record.seconds)}), inbox {_text(record.inbox)}"
    )
    if record.message and record.status == "succeeded":
        console.print(f"  {_text(record.message)}")
    c = record.counts
    if c:
        console.print(
            f"  files: {c.get('files_seen', 0)} seen, {c.get('files_loaded', 0)} loaded, "
            f"{c.get('files_skipped', 0)} already loaded, {c.get('files_rejected', 0)} rejected"
            + (f", {c['files_still_rejected']} still rejected" if c.get("files_still_rejected") else "")
            + (f", {c['files_held']} held back" if c.get("files_held") else "")
            + (f", {c['files_waiting']} waiting" if c.get("files_waiting") else "")
            + "; "
            f"rows: {c.get('rows_loaded', 0)} loaded, {c.get('rows_rejected', 0)} rejected"
        )
    for f in record.files:
        if f.status in SHOWN_STATUSES or f.rows_rejected:
            console.print(
                f"  - {_text(f.source)}/{_text(f.file_name)}: {_text(f.status)}"
                + (f", {f.rows_rejected} of {f.rows_read} rows rejected" if f.rows_rejected else "")
                + (f", {f.rows_filtered} rows filtered out by its layout" if f.rows_filtered else "")
                + (f": {_text(f.message)}" if f.message else "")
            )
    if any(f.rows_rejected for f in record.files):
        console.print(
            "    (each rejected row, with its reason: "
            "ci-metrics sql \"select * from ops.rejects where run_id = '" + _text(record.run_id) + "'\")"
        )
    for s in record.stages:
        mark = "ok" if s.ok else "FAILED"
        console.print(f"  stage {_text(s.name):<10} {_seconds(s.seconds):>8}  {mark}  {_text(s.detail)}")
    for problem in record.layout_problems:
        console.print(f"  [yellow]layout[/yellow]: {_text(problem)}")
    for h in record.held:
        console.print(f"  [yellow]held back[/yellow]: {_text(h.describe())}")
    if record.validation_status:
        console.print(f"  validation: {_text(record.validation_status)}")
    for w in (w for w in record.warnings if not any(w == h.describe() for h in record.held)):
        console.print(f"    warning: {_text(w)}")
    for failure in record.failures:
        console.print(f"  [red]failure[/red]: {_text(failure)}")
    if record.stale_sources:
        for source in record.stale_sources:
            console.print(f"  [yellow]stale[/yellow]: {_text(source)}")
    if record.data_docs:
        console.print(f"  data docs: file://{_text(record.data_docs)}")
    if record.published:
        console.print(f"  published: {_text(settings.warehouse_path)}")
    elif record.status != "running":
        console.print(f"  nothing published: {_text(settings.warehouse_path)} is unchanged")
    for e in record.extracts:
        console.print(f"  extract: {_text(e)}")
    if record.report:
        console.print(f"  report: {_text(record.report)}")


def print_runs(
    records: list[RunRecord], settings: Settings, as_json: bool = False, console: Console | None = None
) -> None:
    console = console or Console()
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False))
        return
    if not records:
        console.print(f"no runs yet under {_text(settings.root)}")
        return
    table = Table(title=f"ci-metrics runs ({_text(settings.root)})")
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
            _text(r.run_id),
            f"{r.started_at:%Y-%m-%d %H:%M}",
            _seconds(r.seconds),
            f"[{style}]{r.status}[/{style}]",
            f"{c.get('files_loaded', 0)}/{c.get('files_skipped', 0)}/{c.get('files_rejected', 0)}",
            str(c.get("rows_loaded", 0)),
            str(c.get("rows_rejected", 0)),
            _text(r.validation_status or "-"),
            "yes" if r.published else "no",
        )
    console.print(table)
