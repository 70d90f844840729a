"""Reading partner files into text tables, whatever their format and encoding.

A reader returns every data row as text, with the row number a person sees when opening
the file (the CSV line, the spreadsheet row). It raises :class:`UnreadableFile` with a
clear reason when the file cannot be read at all; typing and row checks come later.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ci_metrics.ingest.layouts import SourceLayout

ROW_NUMBER = "_row_number"


class UnreadableFile(Exception):
    """The whole file is rejected: empty, truncated, not a spreadsheet, unknown layout..."""


@dataclass
class TextTable:
    frame: pd.DataFrame  # one column per header (stripped), all text (NA for empty), plus ROW_NUMBER
    headers: list[str]


def _clean_header(value: object) -> str:
    return str(value if value is not None else "").replace("\ufeff", "").strip()


def read_csv(path: Path, layout: SourceLayout) -> TextTable:
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFile("the file is empty")
    try:
        text = data.decode(layout.encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"not readable as {layout.encoding} (byte {exc.start}): the partner's export "
            "encoding may have changed"
        ) from None
    if layout.encoding == "utf-8" and text.startswith("\ufeff"):
        text = text[1:]
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
        raise UnreadableFile(f"not a readable CSV: {exc}".strip()) from None
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
            raise UnreadableFile(f"the file looks truncated: its last line ({data_lines[-1]}) stops mid-row")
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


def read_xlsx(path: Path, layout: SourceLayout) -> TextTable:
    from python_calamine import CalamineWorkbook

    if path.stat().st_size == 0:
        raise UnreadableFile("the file is empty")
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        if not workbook.sheet_names:
            raise UnreadableFile("the workbook has no sheet")
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except UnreadableFile:
        raise
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise UnreadableFile(f"not a readable xlsx workbook ({type(exc).__name__}: {exc})") from None
    if len(rows) < layout.header_row:
        raise UnreadableFile(f"the sheet has no header on row {layout.header_row}")
    headers = [_clean_header(h) for h in rows[layout.header_row - 1]]
    while headers and headers[-1] == "":
        headers.pop()
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


def read_table(path: Path, layout: SourceLayout) -> TextTable:
    table = read_csv(path, layout) if layout.format == "csv" else read_xlsx(path, layout)
    missing = [spec.header for spec in layout.columns.values() if spec.header not in table.headers]
    if missing:
        raise UnreadableFile(
            f"unknown layout: the header lacks {', '.join(repr(m) for m in missing)} expected by "
            f"layout '{layout.name}' (found: {', '.join(repr(h) for h in table.headers if h)})"
        )
    return table
