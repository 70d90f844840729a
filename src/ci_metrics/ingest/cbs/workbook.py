"""Reading CBS workbooks: header flattening, data years, cell cleaning, columns by meaning.

A CBS sheet of local authorities has one row per authority under a header of several rows:

- a *section band* (כללי, דמוגרפיה, חינוך והשכלה...), written once above the first column of
  each section;
- a *data-year row*, opened by a cell such as ``שנת עדכון: 2021 (אלא אם כן צוין אחרת)``
  (the sheet's default year), holding the year of a column when it differs (``2020``,
  ``תשפ"א 2020/21``, ``2021-2017``);
- one or more header levels: a group title written once above its first column
  (``תלמידים``) and the sub-columns under it (``סה"כ``, ``בבתי ספר יסודיים``...). The
  socio-economic table has a Hebrew and an English header row instead.

The cells are not merged; a title applies to the columns to its left in the file (right on
screen) until the next title. :func:`analyse_sheet` rebuilds, for every column, the
flattened header ``<section> | <level 1> | <level 2>`` and the column's data year;
:func:`find_column` picks the column of a declared field by its patterns.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter
from pandas.io.parsers import TextParser  # type: ignore[attr-defined]  # read_excel's parser; not in pandas-stubs

from ci_metrics.ingest.cbs.layout import CbsLayoutError, FieldSpec, WorkbookSpec
from ci_metrics.ingest.filesystem import receive
from ci_metrics.ingest.limits import InputLimits, too_large
from ci_metrics.ingest.readers import UnreadableFileError
from ci_metrics.ingest.readers import read_sheets as read_workbook_sheets

# --------------------------------------------------------------------------- text

_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_FOOTNOTE = re.compile(
    r"\[\s*\d{1,2}\s*\]"  # [1]
    r"|[\u00b9\u00b2\u00b3\u2070-\u2079]+"  # superscript digits
    r"|\*+"  # asterisks
    r"|(?<!\S)\(\s*\d{1,2}\s*\)(?!\S)"  # a lone (1)
)
_QUOTES = str.maketrans(
    {
        "\u05f4": '"',  # gershayim
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u05f3": "'",  # geresh
        "\u2018": "'",
        "\u2019": "'",
        "\u05be": "-",  # maqaf
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)
_WS = re.compile(r"\s+")


def _is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def strip_footnotes(text: str) -> str:
    """Remove footnote markers: ``[1]``, superscript digits, ``*``, a lone ``(1)``."""
    return _FOOTNOTE.sub(" ", text)


def normalise_header(value: object) -> str:
    """Header text as patterns see it: markers stripped, quotes/dashes/whitespace normalised."""
    if _is_empty(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _BIDI.sub("", str(value)).translate(_QUOTES).replace("''", '"')
    text = strip_footnotes(text)
    return _WS.sub(" ", text).strip()


def normalise_text(value: object) -> str | None:
    """A text cell (a name): whitespace collapsed, footnote markers stripped, nothing else."""
    if _is_empty(value):
        return None
    text = _BIDI.sub("", str(value)).replace("\u00a0", " ")
    text = _WS.sub(" ", strip_footnotes(text)).strip()
    return text or None


# --------------------------------------------------------------------------- cells

NIL_MARKS = frozenset({"-", "--", "—", "–"})
NOT_AVAILABLE_MARKS = frozenset({"..", "...", "…", ". .", ":"})
_PAREN = re.compile(r"^\(\s*(.*?)\s*\)$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


@dataclass(frozen=True)
class Cell:
    """A cleaned cell.

    status: ``value`` (a plain figure), ``low_reliability`` (CBS printed it in parentheses),
    ``nil`` (``-``: no cases; value 0 or null as the field declares), ``not_available``
    (``..``), ``blank`` (empty), ``text`` (a text field's value) or ``invalid`` (text where
    a number was expected).
    """

    value: int | float | str | None
    status: str
    raw: str | None


def _raw_text(raw: object) -> str | None:
    if _is_empty(raw):
        return None
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def clean_cell(raw: object, type_: str = "number", nil: str = "zero") -> Cell:
    """Clean one cell of a CBS table for a field of type code/integer/number/text."""
    text = _raw_text(raw)
    if text is None:
        return Cell(None, "blank", None)
    if type_ == "text":
        return Cell(normalise_text(raw), "text", text)
    if isinstance(raw, bool):
        return Cell(None, "invalid", text)
    if isinstance(raw, (int, float)):
        number: float | int = raw
        status = "value"
    else:
        s = normalise_header(raw)  # strips markers, normalises dashes and spaces
        if s in NIL_MARKS:
            return Cell(0 if nil == "zero" else None, "nil", text)
        if s in NOT_AVAILABLE_MARKS:
            return Cell(None, "not_available", text)
        status = "value"
        m = _PAREN.match(s)
        if m:
            s, status = m.group(1), "low_reliability"
            if s in NIL_MARKS:
                return Cell(0 if nil == "zero" else None, "nil", text)
            if s in NOT_AVAILABLE_MARKS:
                return Cell(None, "not_available", text)
        s = s.replace(" ", "").rstrip("%")
        if _THOUSANDS.match(s):
            s = s.replace(",", "")
        if not _NUMBER.match(s):
            return Cell(None, "invalid", text)
        number = float(s)
    if type_ in ("code", "integer"):
        if isinstance(number, float):
            if not number.is_integer():
                return Cell(None, "invalid", text)
            number = int(number)
        return Cell(int(number), status, text)
    return Cell(float(number), status, text)


# --------------------------------------------------------------------------- years

_SCHOOL_YEAR = re.compile(r"((?:19|20)\d{2})\s*/\s*(\d{2}|(?:19|20)\d{2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


def parse_period(raw: object) -> tuple[int, str] | None:
    """The data year of a data-year cell, and its label.

    ``2020`` -> 2020; ``תשפ"א 2020/21`` -> 2021 (a school year counts as its spring year, as
    everywhere in ci-metrics); ``2021-2017`` -> 2021 (a span counts as its last year,
    label ``2017-2021``); ``יוני 2022`` -> 2022. None when the cell holds no year.
    """
    if _is_empty(raw):
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if float(raw).is_integer() and 1900 <= raw <= 2100:
            return int(raw), str(int(raw))
        return None
    text = normalise_header(raw)
    m = _SCHOOL_YEAR.search(text)
    if m:
        start, end = m.group(1), m.group(2)
        end_year = int(start[:2] + end) if len(end) == 2 else int(end)
        if end_year == int(start) + 1:
            return end_year, text
    years = [int(y) for y in _YEAR.findall(text)]
    if not years:
        return None
    if len(years) == 2 and re.fullmatch(r"\s*\d{4}\s*-\s*\d{4}\s*", text):
        return max(years), f"{min(years)}-{max(years)}"
    return max(years), text


# --------------------------------------------------------------------------- sheets


@dataclass(frozen=True)
class Column:
    sheet: str
    index: int  # 0-based
    parts: tuple[str, ...]  # section, level 1 (filled across its group), level 2...
    year: int | None  # from the data-year row (own cell or the group's), None otherwise
    period: str | None
    year_source: str | None  # column | group | header | None
    scale: float | None = None  # the factor of a declared scale mark ("(אלפים)"), None when none

    @property
    def letter(self) -> str:
        return get_column_letter(self.index + 1)

    @property
    def text(self) -> str:
        return " | ".join(p for p in self.parts if p)


@dataclass
class Sheet:
    name: str
    values: list[list[object]]  # the sheet's cells, row-major (row 0 = spreadsheet row 1)
    label_row: int  # first header level
    data_start: int  # first data row
    default_year: int | None
    default_period: str | None
    columns: list[Column] = field(default_factory=list)

    def cell(self, row: int, col: int) -> object:
        line = self.values[row]
        return line[col] if col < len(line) else None


def _excel_cell(value: object) -> object:
    """A cell as ``pandas.read_excel`` gives it (whole floats as int, dates as datetimes)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


ZIP_MAGIC = b"PK\x03\x04"
"""An xlsx/xlsm is a zip archive; anything else is handed to calamine as a legacy workbook
(.xls, BIFF8): the format is told by the bytes, never by the file name."""


def read_sheets(path: Path, limits: InputLimits | None = None) -> dict[str, list[list[object]]]:
    """Every sheet of a workbook file (see :func:`sheets_of`)."""
    limits = limits or InputLimits.from_settings()
    try:
        received = receive(path, limits.max_file_bytes)
    except OSError as exc:
        raise CbsLayoutError(f"{path.name}: not a readable workbook: {exc}") from exc
    if received.data is None:
        raise CbsLayoutError(f"{path.name}: not a readable workbook: {too_large(received.size, limits)}")
    return sheets_of(received.data, path.name, limits)


def sheets_of(data: bytes, file_name: str, limits: InputLimits) -> dict[str, list[list[object]]]:
    """Every sheet of a workbook's bytes (xlsx, xlsm or a legacy .xls) as rows of raw cell
    values: held to the input limits, parsed by python-calamine in the isolated worker, typed
    as ``pandas.read_excel(header=None)``."""
    try:
        sheets = read_workbook_sheets(data, "all", limits, zipped=data[:4] == ZIP_MAGIC)
    except UnreadableFileError as exc:
        raise CbsLayoutError(f"{file_name}: not a readable workbook: {exc}") from exc
    out: dict[str, list[list[object]]] = {}
    for name, rows in sheets:
        cells = [[_excel_cell(c) for c in row] for row in rows]
        try:
            frame = TextParser(cells, header=None, skip_blank_lines=False).read() if cells else pd.DataFrame()
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame()
        out[name] = frame.astype(object).to_numpy().tolist()
    return out


@dataclass(frozen=True)
class HeaderText:
    """A header cell as the patterns see it, with the marks the spec declares taken out."""

    text: str
    year: int | None = None
    scale: float | None = None


def header_text(value: object, spec: WorkbookSpec) -> HeaderText:
    """:func:`normalise_header`, then the spec's ``header_year`` and ``scales`` marks removed
    (and kept: the year and the factor)."""
    text = normalise_header(value)
    if not text:
        return HeaderText("")
    year = scale = None
    for pattern, factor in spec.scales.items():
        stripped = re.sub(pattern, " ", text, flags=re.IGNORECASE)
        if stripped != text:
            text, scale = _WS.sub(" ", stripped).strip(), factor
    if spec.header_year:
        m = re.search(spec.header_year, text, re.IGNORECASE)
        if m and m.group("year"):
            year = int(m.group("year"))
            text = _WS.sub(" ", text[: m.start()] + " " + text[m.end() :]).strip()
    return HeaderText(text, year, scale)


def header_row(values: list[list[object]], spec: WorkbookSpec) -> int | None:
    """The first row (0-based, within ``max_header_rows``) holding the header of the code
    field: where a sheet of authorities starts. None when the sheet has none."""
    ident = spec.identity
    key_specs = [spec.fields[ident.code_field]]
    if ident.code_fallback_field:
        key_specs.append(spec.fields[ident.code_fallback_field])
    for r in range(min(spec.max_header_rows, len(values))):
        for v in values[r]:
            if not _is_empty(v) and any(_matches_any(header_text(v, spec).text, k) for k in key_specs):
                return r
    return None


def _matches_any(text: str, spec: FieldSpec) -> bool:
    return any(rx.search(text) for rx in spec.regexes)


def _sheet_matches(name: str, patterns: list[str]) -> bool:
    return any(re.search(p, name.strip(), re.IGNORECASE) for p in patterns)


def analyse_sheet(name: str, values: list[list[object]], spec: WorkbookSpec, file_name: str) -> Sheet:
    """Locate the header of a sheet and flatten it, one :class:`Column` per header column."""
    ident = spec.identity
    key_specs = [spec.fields[ident.code_field]]
    if ident.code_fallback_field:
        key_specs.append(spec.fields[ident.code_fallback_field])
    n_rows = len(values)
    width = max((len(r) for r in values), default=0)

    label_row = header_row(values, spec)
    if label_row is None:
        patterns = spec.fields[ident.code_field].patterns
        raise CbsLayoutError(
            f"{file_name}, sheet {name.strip()!r}: no header row found: no cell in the first "
            f"{spec.max_header_rows} rows matches the code field {ident.code_field!r} "
            f"(patterns {patterns})"
        )

    # Columns holding a code: the data starts at the first row where one of them is a code.
    key_cols = {
        c
        for r in range(label_row, min(label_row + 5, n_rows))
        for c, v in enumerate(values[r])
        if not _is_empty(v) and any(_matches_any(header_text(v, spec).text, k) for k in key_specs)
    }
    data_start = None
    for r in range(label_row + 1, n_rows):
        row = values[r]
        if any(c < len(row) and clean_cell(row[c], "code").status == "value" for c in key_cols):
            data_start = r
            break
    if data_start is None:
        raise CbsLayoutError(
            f"{file_name}, sheet {name.strip()!r}: a header but no rows of authorities under it"
        )

    def at(r: int, c: int) -> object:
        return values[r][c] if c < len(values[r]) else None

    # The data-year row and the section band, above the header.
    year_row = marker_col = None
    default_year = default_period = None
    if spec.year_row_marker:
        rx = re.compile(spec.year_row_marker, re.IGNORECASE)
        for r in range(label_row):
            for c in range(len(values[r])):
                if rx.search(normalise_header(at(r, c))):
                    year_row, marker_col = r, c
                    parsed = parse_period(at(r, c))
                    if parsed:
                        default_year, default_period = parsed[0], str(parsed[0])
                    break
            if year_row is not None:
                break
    section_row = None
    if spec.section_band:
        candidate = (year_row if year_row is not None else label_row) - 1
        section_row = candidate if candidate >= 0 else None

    levels = list(range(label_row, data_start))
    columns: list[Column] = []
    section = ""
    group_title: dict[int, str] = {}  # level index -> current group title
    group_year: tuple[int, str] | None = None  # explicit year of the current level-1 group
    for c in range(width):
        if section_row is not None:
            s = normalise_header(at(section_row, c))
            if s:
                section = s
        marks = [header_text(at(r, c), spec) for r in levels]
        cells = [m.text for m in marks]
        header_year = next((m.year for m in reversed(marks) if m.year), None)
        scale = next((m.scale for m in marks if m.scale), None)
        explicit = None
        if year_row is not None and c != marker_col:
            explicit = parse_period(at(year_row, c))
        if not any(cells):
            group_title.clear()
            group_year = None
            continue
        parts = []
        inherited_top = False
        for k, text in enumerate(cells):
            deeper = any(cells[k + 1 :])
            if text:
                group_title[k] = text
                for j in list(group_title):
                    if j > k:
                        del group_title[j]
                parts.append(text)
            elif deeper and k in group_title:
                parts.append(group_title[k])
                inherited_top = inherited_top or k == 0
            else:
                parts.append("")
        year: int | None
        period: str | None
        source: str | None
        if explicit:
            year, period, source = explicit[0], explicit[1], "column"
        elif inherited_top and group_year:
            year, period, source = group_year[0], group_year[1], "group"
        elif header_year:
            year, period, source = header_year, str(header_year), "header"
        else:
            year = period = source = None
        if not inherited_top:
            group_year = explicit
        columns.append(Column(name, c, (section, *parts), year, period, source, scale))
    if default_year is None:  # no data-year row: a year on the code column's header (older editions)
        years = sorted(
            {
                col.year
                for col in columns
                if col.index in key_cols and col.year_source == "header" and col.year
            }
        )
        if years:
            default_year, default_period = years[-1], str(years[-1])
    return Sheet(name, values, label_row, data_start, default_year, default_period, columns)


@dataclass(frozen=True)
class Resolved:
    """The column a field was found in, and the year of its data."""

    field: str
    sheet: str
    column: Column
    year: int | None
    period: str | None

    @property
    def where(self) -> str:
        return f"sheet {self.sheet.strip()!r}, column {self.column.letter} ({self.column.text!r})"


def find_column(
    field_name: str,
    spec: FieldSpec,
    sheets: list[Sheet],
    file_name: str,
    sheet_patterns: list[str],
) -> Resolved | None:
    """The one column of ``sheets`` that the field's patterns designate.

    None when an optional field has no column; :class:`CbsLayoutError` when a required
    field has none, or when several columns match and ``pick`` cannot choose.
    """
    candidates: list[Resolved] = []
    for sheet in sheets:
        for col in sheet.columns:
            text = col.text
            if any(rx.search(text) for rx in spec.exclude_regexes):
                continue
            match = next((m for rx in spec.regexes if (m := rx.search(text))), None)
            if match is None:
                continue
            year, period = col.year, col.period
            if year is None:
                pattern_year = match.groupdict().get("year")
                if pattern_year:
                    year, period = int(pattern_year), pattern_year
                else:
                    year, period = sheet.default_year, sheet.default_period
            candidates.append(Resolved(field_name, sheet.name, col, year, period))

    where = f"{file_name}, sheet(s) {[s.name.strip() for s in sheets] or sheet_patterns}"
    if not candidates:
        if spec.required:
            raise CbsLayoutError(
                f"{where}: required field {field_name!r} not found: no column header matches any "
                f"of its patterns {spec.patterns}"
                + (f" (excluding {spec.exclude})" if spec.exclude else "")
                + ". Add the new header as a synonym in src/ci_metrics/ingest/cbs/workbooks.yml."
            )
        return None
    if len(candidates) == 1 and spec.pick != "previous":
        return candidates[0]

    def listing(items: list[Resolved]) -> str:
        return "; ".join(f"{r.column.letter} {r.column.text!r} (year {r.year})" for r in items)

    if spec.pick == "only":
        raise CbsLayoutError(
            f"{where}: field {field_name!r} is ambiguous: its patterns {spec.patterns} match "
            f"{len(candidates)} columns: {listing(candidates)}. Make the patterns more specific."
        )
    years = sorted({r.year for r in candidates if r.year is not None}, reverse=True)
    if not years:
        raise CbsLayoutError(f"{where}: field {field_name!r}: cannot tell the years of {listing(candidates)}")
    if spec.pick == "latest":
        wanted = years[0]
    else:  # previous
        if len(years) < 2:
            if spec.required:
                raise CbsLayoutError(
                    f"{where}: field {field_name!r} wants the year before the latest, but its "
                    f"patterns {spec.patterns} match only year {years[0]}: {listing(candidates)}"
                )
            return None
        wanted = years[1]
    chosen = [r for r in candidates if r.year == wanted]
    if len(chosen) > 1:
        raise CbsLayoutError(
            f"{where}: field {field_name!r} is ambiguous: {len(chosen)} columns of year {wanted} "
            f"match its patterns {spec.patterns}: {listing(chosen)}"
        )
    return chosen[0]


def sheets_for(names: list[str], patterns: list[str]) -> list[str]:
    """The sheet names matching any of the patterns (searched in the stripped name)."""
    return [n for n in names if _sheet_matches(n, patterns)]
