"""CSV files that open correctly in Excel and cannot carry formulas.

* UTF-8 with a byte-order mark, so that Excel shows Hebrew (without it Excel guesses the
  ANSI code page and shows mojibake);
* RFC 4180: CRLF after every record, fields quoted only when they hold a comma, a double
  quote, CR or LF, quotes doubled;
* CSV injection (OWASP): a *text* cell starting with ``=``, ``+``, ``-``, ``@``, tab or
  CR (or with spaces and then one of ``=+-@``) gets a leading single quote, so that a
  spreadsheet shows it as text instead of evaluating it. Numeric columns are written as
  plain numbers and never altered: ``-3.2`` in a numeric column stays ``-3.2``;
* deterministic numbers: integers without decimals, other floats by their shortest
  round-trip representation (values are rounded before they get here), missing = empty.

The same DataFrame always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import SupportsFloat

import pandas as pd

BOM = "\ufeff"
CRLF = "\r\n"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_AFTER_SPACES = ("=", "+", "-", "@")
_NEEDS_QUOTES = (",", '"', "\r", "\n")


@dataclass(frozen=True)
class WrittenCsv:
    path: Path
    sha256: str
    rows: int
    size_bytes: int


def neutralize(text: str) -> str:
    """Prefix a formula-looking text with a single quote (OWASP CSV injection)."""
    if not text:
        return text
    if text.startswith(FORMULA_TRIGGERS) or text.lstrip(" \u00a0").startswith(_AFTER_SPACES):
        return "'" + text
    return text


def quote(field: str) -> str:
    """RFC 4180 quoting of one already-formatted field."""
    if any(ch in field for ch in _NEEDS_QUOTES):
        return '"' + field.replace('"', '""') + '"'
    return field


def format_number(x: object) -> str:
    """A number as a spreadsheet reads it: ``223``, ``53.7``, ``-3.2``; missing -> ``""``."""
    if x is None or x is pd.NA or x is pd.NaT:
        return ""
    if isinstance(x, bool):
        return "1" if x else "0"
    if isinstance(x, int):
        return str(x)
    if not isinstance(x, SupportsFloat):
        raise TypeError(f"not a number in a numeric column: {x!r}")
    f = float(x)  # floats, numpy numbers
    if math.isnan(f):
        return ""
    if math.isinf(f):
        raise ValueError(f"cannot write infinite number {x!r}")
    if f.is_integer() and abs(f) < 2**53:
        return str(int(f))
    return repr(f)


def format_text(x: object) -> str:
    if x is None or x is pd.NA or x is pd.NaT:
        return ""
    if isinstance(x, float) and math.isnan(x):
        return ""
    return neutralize(str(x))


def is_numeric_column(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def render_csv(df: pd.DataFrame) -> bytes:
    """The bytes of the Excel-safe CSV of ``df`` (columns in frame order, rows in frame order)."""
    numeric = [is_numeric_column(df[c]) for c in df.columns]
    lines = [",".join(quote(format_text(str(c))) for c in df.columns)]
    columns = [df[c].tolist() for c in df.columns]
    for r in range(len(df)):
        fields = []
        for col, is_num in zip(columns, numeric, strict=False):
            v = col[r]
            fields.append(format_number(v) if is_num else quote(format_text(v)))
        lines.append(",".join(fields))
    return (BOM + CRLF.join(lines) + CRLF).encode("utf-8")


def write_csv(path: Path, df: pd.DataFrame) -> WrittenCsv:
    """Write ``df`` with :func:`render_csv` (via a temporary file, then rename)."""
    path = Path(path)
    data = render_csv(df)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return WrittenCsv(path, hashlib.sha256(data).hexdigest(), len(df), len(data))
