"""Limits before work: a partner file is measured before it is parsed.

The size of the file; for a CSV, its longest line, the columns of its header and its cells
(lines x columns); for an xlsx workbook (a zip archive), the total uncompressed size, the
compression ratio of each large part and the dimension each sheet declares, read from the
start of the sheet's XML without expanding it. A file beyond a limit is rejected in
milliseconds, with the limit and the setting that sets it (docs/limits.md).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import numpy as np
from pydantic import BaseModel, ConfigDict

from ci_metrics.settings import Settings

MB = 1_000_000
SCAN_CHUNK = 1 << 24
"""Bytes of a CSV scanned at a time for its line lengths."""
RATIO_FLOOR_BYTES = 1 << 20
"""Parts of a workbook smaller than this are not held to the compression ratio."""
_SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml", re.IGNORECASE)
_DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\s+ref=\"([A-Za-z]{0,3})(\d{0,7})(?::([A-Za-z]{1,3})(\d{1,7}))?\""
)


class BeyondLimitError(ValueError):
    """The file is beyond one of the documented input limits: rejected unparsed."""


class InputLimits(BaseModel):
    """The limits of :class:`~ci_metrics.settings.Settings`, in bytes (docs/limits.md)."""

    model_config = ConfigDict(frozen=True)

    max_file_bytes: int
    max_line_bytes: int
    max_columns: int
    max_cells: int
    max_uncompressed_bytes: int
    max_compression_ratio: float
    reader_memory_bytes: int
    reader_timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> InputLimits:
        """The limits of ``settings`` (default: the environment's)."""
        s = settings if settings is not None else Settings()
        return cls(
            max_file_bytes=int(s.max_file_mb * MB),
            max_line_bytes=s.max_line_bytes,
            max_columns=s.max_columns,
            max_cells=s.max_cells,
            max_uncompressed_bytes=int(s.max_uncompressed_mb * MB),
            max_compression_ratio=s.max_compression_ratio,
            reader_memory_bytes=s.reader_memory_mb * 1024 * 1024,
            reader_timeout_seconds=s.reader_timeout_seconds,
        )


def _mb(n: int) -> str:
    return f"{n / MB:,.1f} MB"


def too_large(size: int, limits: InputLimits) -> str:
    return (
        f"the file is {_mb(size)}, above the limit of {_mb(limits.max_file_bytes)} "
        "(CI_METRICS_MAX_FILE_MB): not read. If such a file is expected, the data unit raises the limit."
    )


def _line_lengths(data: bytes) -> tuple[int, int, int]:
    """(longest line's length, its start offset, number of non-empty lines), scanned in chunks
    so that the work memory stays small whatever the file's size."""
    longest = longest_at = lines = 0
    carried = carried_at = 0  # the line running into the next chunk: its length so far, its start
    for start in range(0, len(data), SCAN_CHUNK):
        arr = np.frombuffer(data, dtype=np.uint8, count=min(SCAN_CHUNK, len(data) - start), offset=start)
        breaks = np.flatnonzero((arr == 10) | (arr == 13))
        if not len(breaks):
            carried += len(arr)
            continue
        lengths = np.diff(np.concatenate(([-1], breaks))) - 1  # the lines ended in this chunk
        lengths[0] += carried
        starts = np.concatenate(([carried_at - start], breaks[:-1] + 1)) + start
        top = int(np.argmax(lengths))
        if lengths[top] > longest:
            longest, longest_at = int(lengths[top]), int(starts[top])
        lines += int(np.count_nonzero(lengths))
        carried, carried_at = len(arr) - int(breaks[-1]) - 1, start + int(breaks[-1]) + 1
    if carried > longest:
        longest, longest_at = carried, carried_at
    return longest, longest_at, lines + (carried > 0)


def check_csv(data: bytes, delimiter: str, limits: InputLimits) -> None:
    """Line length, header columns and cells of a CSV, from its bytes (no decoding, no parsing
    beyond the first line)."""
    longest, at, lines = _line_lengths(data)
    if longest > limits.max_line_bytes:
        line = data.count(b"\n", 0, at) + 1
        raise BeyondLimitError(
            f"line {line:,} is {longest:,} bytes long, above the limit of {limits.max_line_bytes:,} "
            "(CI_METRICS_MAX_LINE_BYTES): this is not the expected export. Ask the partner to "
            "export the file again."
        )
    first_end = min((i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0), default=len(data))
    first = data[:first_end].decode("latin-1")  # the delimiter is ASCII in every encoding read
    columns = len(next(csv.reader([first], delimiter=delimiter), []))
    if columns > limits.max_columns:
        raise BeyondLimitError(
            f"the first line has {columns:,} columns, above the limit of {limits.max_columns:,} "
            "(CI_METRICS_MAX_COLUMNS): this is not the expected export. Ask the partner to export "
            "the file again."
        )
    if lines * max(columns, 1) > limits.max_cells:
        raise BeyondLimitError(
            f"the file has {lines:,} lines of {columns:,} columns, above the limit of "
            f"{limits.max_cells:,} cells (CI_METRICS_MAX_CELLS). If such a file is expected, the "
            "data unit raises the limit."
        )


def column_number(letters: str) -> int:
    """A1-style column letters -> 1-based number (A=1, XFD=16384)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - ord("A") + 1
    return n


def check_xlsx(data: bytes, limits: InputLimits) -> None:
    """Total uncompressed size, compression ratios and declared sheet dimensions of a workbook."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BeyondLimitError(
            "not a readable xlsx workbook: not a zip archive (truncated, or not an xlsx file). "
            "Ask the partner to send the file again."
        ) from None
    with archive:
        parts = archive.infolist()
        total = sum(p.file_size for p in parts)
        if total > limits.max_uncompressed_bytes:
            raise BeyondLimitError(
                f"the workbook expands to {_mb(total)}, above the limit of "
                f"{_mb(limits.max_uncompressed_bytes)} (CI_METRICS_MAX_UNCOMPRESSED_MB): not read."
            )
        for part in parts:
            ratio = part.file_size / max(part.compress_size, 1)
            if part.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
                raise BeyondLimitError(
                    f"a part of the workbook expands {ratio:,.0f} times ({_mb(part.compress_size)} to "
                    f"{_mb(part.file_size)}), above the limit of {limits.max_compression_ratio:,.0f} "
                    "(CI_METRICS_MAX_COMPRESSION_RATIO): not a spreadsheet export as expected."
                )
        for part in parts:
            if _SHEET_PART.fullmatch(part.filename):
                _check_dimension(archive, part, limits)


def _check_dimension(archive: zipfile.ZipFile, part: zipfile.ZipInfo, limits: InputLimits) -> None:
    try:
        with archive.open(part) as fh:
            head = fh.read(1 << 16)  # the dimension comes first, after the sheet's properties
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise BeyondLimitError(
            f"not a readable xlsx workbook: a sheet cannot be decompressed ({type(exc).__name__})"
        ) from None
    found = _DIMENSION.search(head)
    if not found:
        return  # no dimension declared: the isolated reader's own limits hold
    first_col, first_row, last_col, last_row = found.groups()
    last_col, last_row = (last_col or first_col), (last_row or first_row)
    if not last_col or not last_row:
        return
    columns = column_number(last_col.decode()) - column_number(first_col.decode() or "A") + 1
    rows = int(last_row) - int(first_row or 1) + 1
    if columns > limits.max_columns or rows * columns > limits.max_cells:
        raise BeyondLimitError(
            f"a sheet of the workbook declares {rows:,} rows x {columns:,} columns, above the limits of "
            f"{limits.max_columns:,} columns (CI_METRICS_MAX_COLUMNS) and {limits.max_cells:,} cells "
            "(CI_METRICS_MAX_CELLS): not read. A stray cell far from the data (e.g. in the last row "
            "or column of the sheet) does this: ask the partner to delete it and send the file again."
        )
