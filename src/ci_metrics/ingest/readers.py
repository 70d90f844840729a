"""Reading partner files into text tables, whatever their format and encoding.

A reader returns every data row as text, with the row number a person sees when opening
the file (the CSV line, the spreadsheet row). It raises :class:`UnreadableFileError` with a
clear reason when the file cannot be read at all; typing and row checks come later.

Before anything is parsed, the file is held to the input limits (:mod:`.limits`);
spreadsheets are parsed in an isolated worker (:mod:`.isolation`). A reason never quotes
the file's cells: of a header, only the cells that are known column names are shown.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ci_metrics.ingest.filesystem import receive
from ci_metrics.ingest.isolation import SheetReadError, read_workbook
from ci_metrics.ingest.layouts import SourceLayout
from ci_metrics.ingest.limits import BeyondLimitError, InputLimits, check_csv, check_xlsx, too_large

ROW_NUMBER = "_row_number"
HEADER_SEARCH_ROWS = 10
"""A spreadsheet whose header is not on its layout's row is searched this far for it."""


class UnreadableFileError(Exception):
    """The whole file is rejected: empty, truncated, not a spreadsheet, unknown layout..."""


@dataclass
class TextTable:
    frame: pd.DataFrame  # one column per header (stripped), all text (NA for empty), plus ROW_NUMBER
    headers: list[str]


def _clean_header(value: object) -> str:
    return str(value if value is not None else "").replace("\ufeff", "").strip()


def _repeated_headers(headers: list[str], layout: SourceLayout) -> None:
    counts = Counter(headers)
    twice = [spec.header for spec in layout.columns.values() if counts[spec.header] > 1]
    if twice:
        raise UnreadableFileError(
            f"the header names {', '.join(repr(h) for h in twice[:5])} more than once: which "
            "column holds the data is ambiguous. Ask the partner to export the file again."
        )


UTF8_BOM = b"\xef\xbb\xbf"


def decode(data: bytes, layout: SourceLayout) -> str:
    """The file's text: UTF-8 when it starts with a UTF-8 byte-order mark (the mark makes the
    encoding certain, whatever the layout says), else the first of the layout's encodings that
    reads every byte. The mark itself is not part of the text."""
    if data.startswith(UTF8_BOM):
        try:
            return data[len(UTF8_BOM) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableFileError(
                f"the file says it is UTF-8 (it starts with a byte-order mark) but is not (byte "
                f"{exc.start + len(UTF8_BOM):,}): ask the partner to export it again"
            ) from None
    first_error: UnicodeDecodeError | None = None
    for encoding in layout.encodings:
        try:
            return data.decode("utf-8" if encoding == "utf-8-sig" else encoding)
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
    accepted = " or ".join(layout.encodings)
    plural = "s" if len(layout.encodings) > 1 else ""
    at = f", byte {first_error.start:,}" if first_error else ""
    raise UnreadableFileError(
        "the file's characters cannot be read: ask the partner to export it again as before; if "
        "the partner changed its export's encoding, the data unit adds it to the layout's "
        f"`encoding`. Detail: not {accepted} (the encoding{plural} layout '{layout.name}' accepts{at})"
    )


def read_csv(path: Path, layout: SourceLayout, data: bytes, limits: InputLimits) -> TextTable:
    if not data.strip():
        raise UnreadableFileError("the file is empty")
    try:
        check_csv(data, layout.delimiter, limits)
    except BeyondLimitError as exc:
        raise UnreadableFileError(str(exc)) from None
    text = decode(data, layout)
    end = text.find("\n")
    first_line = text[: end if end >= 0 else len(text)].rstrip("\r")
    _repeated_headers(
        [_clean_header(h) for h in next(csv.reader([first_line], delimiter=layout.delimiter), [])], layout
    )
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=layout.delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            skip_blank_lines=True,
            engine="c",
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UnreadableFileError(f"not a readable CSV: {exc}".strip()) from None
    headers = [_clean_header(h) for h in frame.columns]
    frame.columns = headers
    # Line numbers as a person sees them: header on line 1. Blank lines are skipped by the
    # parser, so count them back in from the text itself.
    lines = text.splitlines()
    data_lines = [i + 1 for i, line in enumerate(lines) if line.strip()][1:]
    if len(data_lines) != len(frame):
        # Quoted multi-line fields: fall back to sequential numbering.
        data_lines = list(range(2, len(frame) + 2))
    frame[ROW_NUMBER] = data_lines
    if len(text) and not text.endswith(("\n", "\r")) and len(frame):
        last = frame.iloc[-1]
        filled = sum(1 for h in headers if str(last[h]).strip() != "")
        if filled < len(headers) // 2:
            raise UnreadableFileError(
                f"the file looks truncated: its last line ({data_lines[-1]:,}) stops mid-row"
            )
    return TextTable(frame=frame.replace("", pd.NA), headers=headers)


def _cell_text(value: object) -> object:
    if type(value) is str:  # the common case first
        text = value.strip()
        return text if text else pd.NA
    if value is None:
        return pd.NA
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time(0) else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text if text else pd.NA


def read_sheets(
    data: bytes, which: str, limits: InputLimits, *, zipped: bool = True
) -> list[tuple[str, list[list[object]]]]:
    """The cells of a workbook (its first sheet, or ``all``), held to the limits and parsed in
    the isolated worker. ``zipped``: an xlsx (a zip archive), not a legacy .xls."""
    try:
        if zipped:
            check_xlsx(data, limits)
        sheets = read_workbook(
            data,
            "all" if which == "all" else "first",
            memory_bytes=limits.reader_memory_bytes,
            max_cells=limits.max_cells,
            timeout=limits.reader_timeout_seconds,
        )
    except (BeyondLimitError, SheetReadError) as exc:
        raise UnreadableFileError(str(exc)) from None
    if not sheets:
        raise UnreadableFileError("the workbook has no sheet")
    return sheets


def _header_elsewhere(rows: list[list[object]], layout: SourceLayout) -> int | None:
    """The 1-based row holding every header of the layout, when it is not the layout's row."""
    expected = {spec.header for spec in layout.columns.values()}
    for number, row in enumerate(rows[:HEADER_SEARCH_ROWS], start=1):
        if number != layout.header_row and expected <= {_clean_header(c) for c in row}:
            return number
    return None


def read_xlsx(path: Path, layout: SourceLayout, data: bytes, limits: InputLimits) -> TextTable:
    if not data:
        raise UnreadableFileError("the file is empty")
    rows = read_sheets(data, "first", limits)[0][1]
    if len(rows) < layout.header_row:
        raise UnreadableFileError(f"the sheet has no header on row {layout.header_row}")
    headers = [_clean_header(h) for h in rows[layout.header_row - 1]]
    while headers and headers[-1] == "":
        headers.pop()
    if len(headers) > limits.max_columns:
        raise UnreadableFileError(
            f"the header row has {len(headers):,} columns, above the limit of {limits.max_columns:,} "
            "(CI_METRICS_MAX_COLUMNS): this is not the expected export. Ask the partner to export "
            "the file again."
        )
    if not {spec.header for spec in layout.columns.values()} <= set(headers):
        found = _header_elsewhere(rows, layout)
        if found is not None:
            raise UnreadableFileError(
                f"the header is on row {found}, but layout '{layout.name}' expects it on row "
                f"{layout.header_row}{' (below the title rows)' if layout.header_row > 1 else ''}: "
                "ask the partner for the usual export, or the data unit to adjust the layout."
            )
    _repeated_headers(headers, layout)
    body: list[list[object]] = []
    numbers: list[int] = []
    for offset, row in enumerate(rows[layout.header_row :], start=layout.header_row + 1):
        cells = [_cell_text(c) for c in row[: len(headers)]]
        cells += [pd.NA] * (len(headers) - len(cells))
        if all(c is pd.NA for c in cells):
            if layout.stop_at_blank and body:
                break
            continue
        body.append(cells)
        numbers.append(offset)
    frame = (
        pd.DataFrame(body, columns=headers, dtype="string")
        if body
        else pd.DataFrame(columns=headers, dtype="string")
    )
    frame[ROW_NUMBER] = numbers
    return TextTable(frame=frame, headers=headers)


def describe_header(headers: list[str], known: Collection[str]) -> str:
    """What a header holds, for a message: only the cells that are known column names are
    quoted (a header line may be missing: the first line may be a person's data)."""
    cells = [h for h in headers if h]
    shown = list(dict.fromkeys(h for h in cells if h in known))
    hidden = len(cells) - sum(1 for h in cells if h in known)
    if not shown:
        return (
            f"None of its {len(cells)} cells is a known column name (cells not shown: the header "
            "line may be missing)."
        )
    listed = ", ".join(repr(h) for h in shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else "")
    return f"It has {listed}" + (f" and {hidden} other cells (not shown)." if hidden else ".")


def missing_headers_message(layout: SourceLayout, headers: list[str], known: Collection[str]) -> str:
    missing = [spec.header for spec in layout.columns.values() if spec.header not in headers]
    listed = ", ".join(repr(m) for m in missing[:3]) + (
        f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    )
    where = "first line" if layout.format == "csv" else f"row {layout.header_row}"
    return (
        f"unknown layout: the header ({where}) lacks columns: is this the right export, with its "
        "header? If the partner changed its export, the data unit adjusts the layout. Detail: "
        f"layout '{layout.name}' needs {listed}. {describe_header(headers, known)}"
    )


def read_table(
    path: Path,
    layout: SourceLayout,
    *,
    data: bytes | None = None,
    limits: InputLimits | None = None,
    known_headers: Collection[str] = (),
) -> TextTable:
    """The text table of a partner file (``data``: its bytes, read from ``path`` when not given).
    ``known_headers``: column names that may be quoted in a message (default: the layout's)."""
    limits = limits or InputLimits.from_settings()
    if data is None:
        received = receive(path, limits.max_file_bytes)
        if received.data is None:
            raise UnreadableFileError(too_large(received.size, limits))
        data = received.data
    if layout.format == "csv":
        table = read_csv(path, layout, data, limits)
    else:
        table = read_xlsx(path, layout, data, limits)
    if any(spec.header not in table.headers for spec in layout.columns.values()):
        known = set(known_headers) | {spec.header for spec in layout.columns.values()}
        raise UnreadableFileError(missing_headers_message(layout, table.headers, known))
    return table
