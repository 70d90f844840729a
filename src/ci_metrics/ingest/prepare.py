"""From a received file to the rows ingestion stores: the one path shared by the nightly
load and by ``ci-metrics check-layout`` (a dry run), so both always count the same.

:func:`prepare_file` picks the file's layout, reads its text table, types and checks every
row and pseudonymises the IDs; it stores nothing. A file that cannot be loaded at all raises
:class:`~ci_metrics.ingest.readers.UnreadableFileError` with the reason a clerk reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ci_metrics.ingest.layouts import SOURCES, SourceLayout, layout_for
from ci_metrics.ingest.limits import InputLimits
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.ingest.readers import UnreadableFileError, read_table
from ci_metrics.ingest.typing_rules import type_rows


def readable_pattern(pattern: str) -> str:
    """A layout's file-name pattern as a clerk reads it: ``tzofim_<locality>_<period>.csv``."""
    import re

    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", pattern).replace("\\.", ".")


@dataclass
class PreparedFile:
    """What a file would load: typed, pseudonymised rows and the rejected ones."""

    layout: SourceLayout
    rows: pd.DataFrame
    """Accepted rows: the layout's stored columns, its constants, ``locality_code`` and
    ``period`` or ``snapshot_date``, and ``_row_number``."""
    rejects: pd.DataFrame
    """One row per problem: row_number, column_name, reason, value (IDs masked)."""
    rows_read: int
    rows_filtered: int = 0
    """Rows the layout's filters leave out (not data of this partnership): neither loaded nor rejected."""
    meta: dict[str, int | dt.date | None] = field(default_factory=dict)
    """For the ledger: ``locality_code`` (None when rows differ), ``period`` or ``snapshot_date``."""

    @property
    def rows_loaded(self) -> int:
        return len(self.rows)

    @property
    def rows_rejected(self) -> int:
        return int(self.rejects["row_number"].nunique()) if len(self.rejects) else 0


class NoLayoutError(UnreadableFileError):
    """No layout (or no valid layout) reads this file."""


def choose_layout(file_name: str, source: str, layouts: list[SourceLayout]) -> SourceLayout:
    """The layout that reads ``file_name`` in folder ``source``, or :class:`NoLayoutError`."""
    if source not in SOURCES:
        where = f"'{source}/'" if source else "the inbox root"
        raise NoLayoutError(f"{where} is not a source folder: move the file into one of {', '.join(SOURCES)}")
    layout = layout_for(file_name, source, layouts)
    if layout is None:
        names = [readable_pattern(known.file_pattern) for known in layouts if known.source == source]
        expected = " or ".join(names) or "a source folder"
        raise NoLayoutError(
            f"unknown file: no layout of {source}/ reads a file of this name. Rename it as the "
            f"partner usually names it, or ask the data unit for a layout (expected {expected})"
        )
    return layout


def prepare_file(
    path: Path,
    source: str,
    data: bytes,
    layouts: list[SourceLayout],
    pseudonymise: Pseudonymiser,
    *,
    limits: InputLimits,
    known_headers: Collection[str] = (),
    layout: SourceLayout | None = None,
) -> PreparedFile:
    """The rows ``path`` (its bytes ``data``, received in folder ``source``) would load.
    ``layout``: read with this one instead of the one its name selects."""
    layout = layout or choose_layout(path.name, source, layouts)
    meta: dict[str, int | dt.date | None] = {}
    match = layout.match(path.name)
    if match is None:
        raise NoLayoutError(
            f"layout '{layout.name}' does not read a file of this name "
            f"(expected {readable_pattern(layout.file_pattern)})"
        )
    meta["locality_code"] = int(match["locality"])
    if layout.snapshot:
        try:
            meta["snapshot_date"] = dt.datetime.strptime(match["snapshot"], "%Y%m%d").date()
        except ValueError:
            raise UnreadableFileError(
                "the date in the file name is not a valid YYYYMMDD date: rename the file"
            ) from None
    else:
        meta["period"] = int(match["period"])
    table = read_table(path, layout, data=data, limits=limits, known_headers=known_headers)
    if len(table.frame) == 0:
        raise UnreadableFileError(
            "the file holds a header but no data row: ask the partner to export it again"
        )
    typed = type_rows(layout, table, pseudonymise)
    rows = typed.accepted
    for name, value in layout.constants.items():
        rows[name] = value
    for name, meta_value in meta.items():
        rows[name] = meta_value
    return PreparedFile(
        layout=layout, rows=rows, rejects=typed.rejects, rows_read=len(table.frame), meta=meta
    )
