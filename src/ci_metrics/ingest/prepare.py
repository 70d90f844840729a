"""From a received file to the rows ingestion stores: the one path shared by the nightly
load and by ``ci-metrics check-layout`` (a dry run, :mod:`.check`), so both always count the same.

:func:`prepare_file` picks the file's layout, reads its text table, applies the layout's value
maps and row filters, types and checks every row, adds the rows' locality and period and the
derived columns, and pseudonymises the IDs; it stores nothing. A file that cannot be loaded at
all raises :class:`~ci_metrics.ingest.readers.UnreadableFileError` with the reason a clerk reads.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ci_metrics.ingest.layouts import SOURCES, LayoutSet, LayoutTieError, SourceLayout, layout_for
from ci_metrics.ingest.limits import InputLimits
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.ingest.readers import TextTable, UnreadableFileError, read_table
from ci_metrics.ingest.transforms import kept_rows, recode
from ci_metrics.ingest.typing_rules import type_rows


def readable_pattern(pattern: str) -> str:
    """A layout's file-name pattern as a clerk reads it: ``tzofim_<locality>_<period>.csv``."""
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", pattern).replace("\\.", ".")


@dataclass
class PreparedFile:
    """What a file would load: typed, pseudonymised rows and the rejected ones."""

    layout: SourceLayout
    rows: pd.DataFrame
    """Accepted rows: the layout's stored and derived columns, its constants, ``locality_code``
    and ``period`` or ``snapshot_date``, and ``_row_number``."""
    rejects: pd.DataFrame
    """One row per problem: row_number, column_name, reason, value (IDs masked)."""
    rows_read: int
    """Data rows in the file: loaded + rejected + filtered."""
    rows_filtered: int = 0
    """Rows the layout's filters leave out (not data of this partnership): neither loaded nor rejected."""
    meta: dict[str, int | dt.date | None] = field(default_factory=dict)
    """For the ledger: ``locality_code`` (None when rows differ), ``period`` or ``snapshot_date``
    (None when rows differ)."""

    @property
    def rows_loaded(self) -> int:
        return len(self.rows)

    @property
    def rows_rejected(self) -> int:
        return int(self.rejects["row_number"].nunique()) if len(self.rejects) else 0


class NoLayoutError(UnreadableFileError):
    """No layout (or no valid layout) reads this file."""


def choose_layout(file_name: str, source: str, layouts: Sequence[SourceLayout]) -> SourceLayout:
    """The layout that reads ``file_name`` in folder ``source`` (precedence: see
    :mod:`.layouts`), or :class:`NoLayoutError` saying what to do. When ``layouts`` is a
    :class:`~.layouts.LayoutSet`, a broken layout of the source that might read the file is named."""
    if source not in SOURCES:
        where = f"'{source}/'" if source else "the inbox root"
        raise NoLayoutError(f"{where} is not a source folder: move the file into one of {', '.join(SOURCES)}")
    try:
        layout = layout_for(file_name, source, layouts)
    except LayoutTieError as exc:
        raise NoLayoutError(str(exc)) from None
    if layout is not None:
        return layout
    broken = layouts.problems_for(file_name, source) if isinstance(layouts, LayoutSet) else []
    if broken:
        reasons = "; ".join(problem.message for problem in broken[:3])
        raise NoLayoutError(
            f"the layout meant for this file cannot be used: the data unit corrects it, and the "
            f"file is read again on the next run. Detail: {reasons}"
        )
    names = [readable_pattern(known.file_pattern) for known in layouts if known.source == source]
    expected = " or ".join(names) or "none yet"
    raise NoLayoutError(
        f"unknown file: no layout of {source}/ reads a file of this name. Rename it as the partner "
        f"usually names it, or ask the data unit for a layout. Detail: the names read here are {expected}"
    )


def file_values(layout: SourceLayout, file_name: str) -> dict[str, int | dt.date | None]:
    """What the file name (or the layout) says of all its rows: ``locality_code`` and ``period``
    or ``snapshot_date``; a value the rows carry themselves (a column) is left out."""
    match = layout.match(file_name)
    if match is None:
        raise NoLayoutError(
            f"layout '{layout.name}' does not read a file of this name: rename the file as the "
            f"partner usually names it. Detail: expected {readable_pattern(layout.file_pattern)}"
        )
    values: dict[str, int | dt.date | None] = {}
    if layout.locality is None:
        values["locality_code"] = int(match["locality"])
    elif layout.locality.fixed is not None:
        values["locality_code"] = layout.locality.fixed
    if layout.snapshot:
        try:
            values["snapshot_date"] = dt.datetime.strptime(match["snapshot"], "%Y%m%d").date()
        except ValueError:
            raise UnreadableFileError(
                "the date in the file name is not a valid date: rename the file with the date of "
                "the export as YYYYMMDD"
            ) from None
    elif layout.period is None:
        values["period"] = int(match["period"])
    elif layout.period.fixed is not None:
        values["period"] = layout.period.fixed
    return values


def _single(rows: pd.DataFrame, column: str) -> int | None:
    """The one value of ``column`` over the rows, None when they hold several (or none)."""
    if column not in rows or rows.empty:
        return None
    distinct = rows[column].dropna().unique()
    return int(distinct[0]) if len(distinct) == 1 else None


def prepare_file(
    path: Path,
    source: str,
    data: bytes,
    layouts: Sequence[SourceLayout],
    pseudonymise: Pseudonymiser,
    *,
    limits: InputLimits,
    known_headers: Collection[str] = (),
    layout: SourceLayout | None = None,
) -> PreparedFile:
    """The rows ``path`` (its bytes ``data``, received in folder ``source``) would load.
    ``layout``: read with this one instead of the one its name selects."""
    layout = layout or choose_layout(path.name, source, layouts)
    whole_file = file_values(layout, path.name)
    table = read_table(path, layout, data=data, limits=limits, known_headers=known_headers)
    if len(table.frame) == 0:
        raise UnreadableFileError(
            "the file holds a header but no data row: ask the partner to export it again"
        )
    frame = recode(layout, table.frame)
    keep = kept_rows(layout, frame)
    rows_filtered = int((~keep).sum())
    if rows_filtered == len(frame):
        raise UnreadableFileError(
            f"none of its {len(frame):,} rows is data of this partnership (layout '{layout.name}' "
            "filters them all out, e.g. rows of other localities): check that this is the right "
            "export; if it is, the data unit adjusts the layout's filters"
        )
    typed = type_rows(layout, TextTable(frame=frame[keep], headers=table.headers), pseudonymise, whole_file)
    rows = typed.accepted
    for name, value in layout.constants.items():
        rows[name] = value
    meta = dict(whole_file)
    if layout.locality is not None and layout.locality.column is not None:
        meta["locality_code"] = _single(rows, "locality_code")
    if layout.period is not None and layout.period.column is not None:
        meta["period"] = _single(rows, "period")
    return PreparedFile(
        layout=layout,
        rows=rows,
        rejects=typed.rejects,
        rows_read=len(table.frame),
        rows_filtered=rows_filtered,
        meta=meta,
    )
