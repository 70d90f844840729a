"""``ci-metrics check-layout FILE``: a dry run of one partner file, touching nothing.

It says which layout reads the file and why each other layout of its source does not (file
name, header, encoding...), and how many rows would load, be rejected and be filtered, with the
first reasons. It goes through :func:`.prepare.prepare_file`, the nightly load's own path, so
its counts are the load's counts. Nothing is written: no warehouse, archive or ledger; IDs are
pseudonymised with a throwaway in-memory key (no key file is read or written); no message
quotes a cell (:func:`.ledger.clean_message`).

Exit code (:attr:`LayoutCheck.exit_code`): 0 every row would load (filtered rows aside),
1 the file would load but some rows would be rejected, 2 the file would be rejected whole.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from ci_metrics.ingest.filesystem import NotARegularFileError, receive, unread_reason
from ci_metrics.ingest.layouts import LayoutSet, SourceLayout, candidates, load_layout_set
from ci_metrics.ingest.ledger import clean_message
from ci_metrics.ingest.limits import InputLimits, too_large
from ci_metrics.ingest.prepare import choose_layout, prepare_file, readable_pattern
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.ingest.readers import UnreadableFileError, read_table
from ci_metrics.settings import Settings

FIRST_REASONS = 5
"""How many rejected rows the check shows."""


class RejectedRow(BaseModel):
    row_number: int = Field(description="The row as a person sees it in the file (header = 1).")
    reasons: list[str] = Field(description="Why it would be rejected (no cell quoted; IDs masked).")


class OtherLayout(BaseModel):
    name: str
    origin: Literal["bundled", "local", "broken"]
    reason: str = Field(description="Why it does not read this file.")


class LayoutCheck(BaseModel):
    """What the nightly load would do with one file."""

    file: str
    source: str
    layout: str | None = Field(default=None, description="The layout that would read it.")
    why: str = Field(default="", description="Why that layout (its name pattern, precedence, --layout).")
    verdict: Literal["loads", "loads_with_rejects", "rejected"]
    message: str = Field(default="", description="Why the whole file would be rejected.")
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_filtered: int = 0
    locality_code: int | None = None
    period: int | None = None
    snapshot_date: dt.date | None = None
    first_rejects: list[RejectedRow] = Field(default_factory=list)
    others: list[OtherLayout] = Field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {"loads": 0, "loads_with_rejects": 1, "rejected": 2}[self.verdict]

    def render(self) -> str:
        """The check as plain text for a terminal."""
        lines = [f"{self.source}/{self.file}"]
        if self.layout:
            lines.append(f"  layout: {self.layout} ({self.why})" if self.why else f"  layout: {self.layout}")
        if self.verdict == "rejected":
            lines.append(f"  WOULD BE REJECTED: {self.message}")
        else:
            where = ", ".join(
                f"{label} {value}"
                for label, value in (
                    ("locality", self.locality_code if self.locality_code is not None else "several"),
                    ("period", self.period),
                    ("snapshot", self.snapshot_date),
                )
                if value is not None
            )
            lines.append(f"  WOULD LOAD: {where}")
        if self.rows_read:
            lines.append(
                f"  rows: {self.rows_read:,} read, {self.rows_loaded:,} would load, "
                f"{self.rows_rejected:,} rejected, {self.rows_filtered:,} filtered out"
            )
        if self.first_rejects:
            lines.append(f"  first rejected rows (of {self.rows_rejected:,}):")
            lines += [f"    row {r.row_number:,}: {'; '.join(r.reasons)}" for r in self.first_rejects]
        if self.others:
            lines.append("  other layouts of this source:")
            lines += [f"    {o.name} ({o.origin}): {o.reason}" for o in self.others]
        lines.append("  nothing was written (dry run)")
        return "\n".join(lines)


def _content_fit(
    path: Path, layout: SourceLayout, data: bytes, limits: InputLimits, known: frozenset[str]
) -> str:
    """'its columns fit' or why this layout cannot read the file's content (encoding, header...)."""
    try:
        read_table(path, layout, data=data, limits=limits, known_headers=known)
    except UnreadableFileError as exc:
        return str(exc)
    return "its header and encoding fit"


def _others(
    path: Path,
    source: str,
    chosen: SourceLayout | None,
    layouts: LayoutSet,
    data: bytes,
    limits: InputLimits,
    known: frozenset[str],
) -> list[OtherLayout]:
    ranked = candidates(path.name, source, layouts)
    out = []
    for layout in layouts:
        if layout.source != source or layout is chosen:
            continue
        if layout in ranked:
            reason = (
                f"its name pattern matches too, but '{chosen.name}' comes first (priority "
                f"{chosen.priority} vs {layout.priority}; on equal priority local before bundled)"
                if chosen is not None
                else "its name pattern matches too"
            )
        elif path.suffix.lower() != f".{layout.format}":
            reason = f"it reads .{layout.format} files named {readable_pattern(layout.file_pattern)}"
        else:
            fit = _content_fit(path, layout, data, limits, known)
            reason = f"the name does not match {readable_pattern(layout.file_pattern)}; content: {fit}"
        out.append(OtherLayout(name=layout.name, origin=layout.origin, reason=clean_message(reason)))
    for problem in layouts.problems:
        if problem.source in (source, None):
            out.append(
                OtherLayout(
                    name=problem.name or problem.path.name,
                    origin="broken",
                    reason=clean_message(problem.message),
                )
            )
    return out


def check_layout(
    path: Path, settings: Settings, *, source: str | None = None, layout_name: str | None = None
) -> LayoutCheck:
    """What the nightly load would do with ``path`` (in folder ``source``, default: the file's
    folder name), read by its layout or by ``layout_name``. Writes nothing."""
    source = source or path.parent.name
    layouts = load_layout_set(settings.layouts_dir, settings.dbt_project_dir)
    limits = InputLimits.from_settings(settings)
    known = frozenset(spec.header for layout in layouts for spec in layout.columns.values())
    check = LayoutCheck(file=path.name, source=source, verdict="rejected")

    def rejected(reason: str) -> LayoutCheck:
        check.verdict = "rejected"
        check.message = clean_message(reason)
        return check

    try:
        received = receive(path, limits.max_file_bytes)
    except NotARegularFileError as exc:
        return rejected(unread_reason(exc.strerror or "is not a regular file"))
    except FileNotFoundError:
        return rejected("no such file")
    if received.data is None:
        return rejected(too_large(received.size, limits))
    data = received.data
    chosen: SourceLayout | None = None
    try:
        if layout_name is not None:
            named = [layout for layout in layouts if layout.name == layout_name]
            if not named:
                broken = [p for p in layouts.problems if p.name == layout_name]
                raise UnreadableFileError(
                    broken[0].message if broken else f"there is no layout named '{layout_name}'"
                )
            chosen = named[0]
            check.why = "chosen with --layout"
        else:
            chosen = choose_layout(path.name, source, layouts)
            ahead = len(candidates(path.name, source, layouts)) > 1
            check.why = f"its name matches {readable_pattern(chosen.file_pattern)}" + (
                "; it comes first among the layouts whose pattern matches" if ahead else ""
            )
        check.layout = chosen.name
        prepared = prepare_file(
            path,
            source,
            data,
            layouts,
            Pseudonymiser(secrets.token_bytes(32)),
            limits=limits,
            known_headers=known,
            layout=chosen,
        )
    except UnreadableFileError as exc:
        check.others = _others(path, source, chosen, layouts, data, limits, known)
        return rejected(str(exc))
    check.rows_read = prepared.rows_read
    check.rows_loaded = prepared.rows_loaded
    check.rows_rejected = prepared.rows_rejected
    check.rows_filtered = prepared.rows_filtered
    locality, period, snapshot = (prepared.meta.get(k) for k in ("locality_code", "period", "snapshot_date"))
    check.locality_code = locality if isinstance(locality, int) else None
    check.period = period if isinstance(period, int) else None
    check.snapshot_date = snapshot if isinstance(snapshot, dt.date) else None
    rejects = prepared.rejects
    for row_number in rejects["row_number"].drop_duplicates().head(FIRST_REASONS).tolist():
        reasons = rejects.loc[rejects["row_number"] == row_number, "reason"].tolist()
        check.first_rejects.append(
            RejectedRow(row_number=int(row_number), reasons=[clean_message(r) for r in reasons])
        )
    check.others = _others(path, source, chosen, layouts, data, limits, known)
    if prepared.rows_loaded == 0:
        return rejected(f"every one of its {prepared.rows_read} rows would be rejected (first reasons below)")
    check.verdict = "loads_with_rejects" if prepared.rows_rejected else "loads"
    return check
