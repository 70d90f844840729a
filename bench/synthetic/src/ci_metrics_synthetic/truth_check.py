"""Compare the published indicator values with an independently computed truth.

`truth_rows` are dicts with indicator_id, period, locality_code, dimension, dimension_value,
numerator, denominator, value (the shape of data/samples/truth.json). Every truth row must
be in marts.indicator_values with the same numerator, denominator and value (absolute
tolerance; a missing number, null or NaN, only matches a missing number).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

KEY_FIELDS = ("indicator_id", "period", "locality_code", "dimension", "dimension_value")
NUMBER_FIELDS = ("numerator", "denominator", "value")

_QUERY = """
    select indicator_id, period, locality_code, dimension, dimension_value,
           numerator, denominator, value
    from {table}
"""


def load_truth(path: str | Path) -> list[dict[str, Any]]:
    """Read a truth file (a JSON list of rows)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _key(row: Mapping[str, Any]) -> tuple:
    return (
        str(row["indicator_id"]),
        int(row["period"]),
        int(row["locality_code"]),
        str(row["dimension"]),
        str(row["dimension_value"]),
    )


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _same(expected: Any, actual: Any, tolerance: float) -> bool:
    if _missing(expected) or _missing(actual):
        return _missing(expected) and _missing(actual)
    return abs(float(expected) - float(actual)) <= tolerance


def _fmt(key: tuple) -> str:
    return "{}/{}/{}/{}={}".format(*key)


def compare_with_truth(
    con: Any,
    truth_rows: Iterable[Mapping[str, Any]],
    *,
    tolerance: float = 1e-6,
    table: str = "marts.indicator_values",
    report_extra: bool = False,
) -> list[str]:
    """Return human-readable mismatches between `truth_rows` and `table` (empty = all match).

    `con` is a DuckDB connection (anything with `.execute(sql).fetchall()`). With
    `report_extra`, rows of the table that the truth does not have are reported too.
    """
    actual: dict[tuple, dict[str, Any]] = {}
    duplicates: list[str] = []
    for rec in con.execute(_QUERY.format(table=table)).fetchall():
        row = dict(zip(KEY_FIELDS + NUMBER_FIELDS, rec, strict=False))
        key = _key(row)
        if key in actual:
            duplicates.append(f"{_fmt(key)}: more than one row in {table}")
        actual[key] = row

    mismatches: list[str] = list(duplicates)
    seen: set[tuple] = set()
    for expected in truth_rows:
        key = _key(expected)
        seen.add(key)
        got = actual.get(key)
        if got is None:
            mismatches.append(f"{_fmt(key)}: missing from {table}")
            continue
        diffs = [
            f"{field} expected {expected.get(field)!r} got {got[field]!r}"
            for field in NUMBER_FIELDS
            if not _same(expected.get(field), got[field], tolerance)
        ]
        if diffs:
            mismatches.append(f"{_fmt(key)}: " + "; ".join(diffs))

    if report_extra:
        for key in sorted(set(actual) - seen):
            mismatches.append(f"{_fmt(key)}: in {table} but not in the truth")
    return mismatches


if __name__ == "__main__":  # python -m ci_metrics_synthetic.truth_check WAREHOUSE TRUTH_JSON
    import sys

    import duckdb

    with duckdb.connect(sys.argv[1], read_only=True) as connection:
        problems = compare_with_truth(connection, load_truth(sys.argv[2]), report_extra=True)
    print("\n".join(problems) or "0 mismatches")
    sys.exit(1 if problems else 0)
