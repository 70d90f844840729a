"""Typing and checking the rows of a text table against its layout, vectorised.

Each column rule returns the typed values and, per row, the reason it failed (NA when the
value is fine). A row with any failure is rejected with all its reasons; nothing is
silently coerced. Then the rows' locality and period (from the file, the layout or a column)
and the derived columns (:mod:`.transforms`) are added, and may reject a row too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ci_metrics.ingest.layouts import (
    DUCKDB_TYPES,
    CategoryColumn,
    CodeColumn,
    ColumnSpec,
    DateColumn,
    DecimalColumn,
    FlagColumn,
    IntegerColumn,
    NationalIdColumn,
    SourceLayout,
    TextColumn,
    TimestampColumn,
)
from ci_metrics.ingest.pseudonyms import Pseudonymiser, mask_id, validate_ids
from ci_metrics.ingest.readers import ROW_NUMBER, TextTable
from ci_metrics.ingest.transforms import age_groups, ages_from_birth, reference_dates, values_from_column

__all__ = ["DUCKDB_TYPES", "TypedRows", "type_column", "type_rows"]  # DUCKDB_TYPES: from .layouts


@dataclass
class TypedRows:
    accepted: pd.DataFrame  # stored columns + ROW_NUMBER
    rejects: pd.DataFrame  # row_number, column_name, reason, value


def _empty_reasons(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="string")


def _format_hint(fmt: str) -> str:
    return (
        fmt.replace("%d", "DD")
        .replace("%m", "MM")
        .replace("%Y", "YYYY")
        .replace("%H", "HH")
        .replace("%I", "hh")
        .replace("%M", "MM")
        .replace("%S", "SS")
        .replace("%p", "am/pm")
    )


def _parse_datetimes(text: pd.Series, formats: list[str]) -> pd.Series:
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    todo = text.notna()
    for fmt in [*formats, "%Y-%m-%d"]:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        hit = parsed.notna()
        out.loc[hit[hit].index] = parsed[hit]
        todo.loc[hit[hit].index] = False
    return out


MAX_EXACT_INTEGER = 2**53 - 1
"""Largest whole number stored exactly (an integer column's values pass through a double)."""
_NOT_FINITE = r"[+-]?(?:inf|infinity|nan)"


def _numbers(
    text: pd.Series, present: pd.Series, reasons: pd.Series, not_a_number: str
) -> tuple[pd.Series, pd.Series]:
    """(values as Float64, reasons) of a numeric column: only finite numbers in ASCII digits
    count (pandas reads no other digits; 'inf', 'nan' and 1e999 are rejected here)."""
    numbers = pd.to_numeric(text, errors="coerce").astype("Float64")
    finite = pd.Series(np.isfinite(numbers.to_numpy(dtype="float64", na_value=np.nan)), index=text.index)
    failed = present & ~finite
    reasons[failed] = not_a_number
    if failed.any():
        named = text[failed].str.fullmatch(_NOT_FINITE, case=False).fillna(False).astype(bool)
        not_finite = failed & (numbers.notna() | named.reindex(text.index, fill_value=False))
        reasons[not_finite] = "is not a finite number"
    return numbers.where(finite), reasons


def _ascii_only(text: pd.Series) -> pd.Series:
    """True where the text holds only ASCII (dates and times are written in ASCII digits)."""
    return text.str.isascii().fillna(True).astype(bool)


def type_column(spec: ColumnSpec, text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(typed values, reason per row) for one column."""
    reasons = _empty_reasons(text.index)
    present = text.notna()
    if spec.required:
        reasons[~present] = "is empty"
    if isinstance(spec, (TextColumn,)):
        return text.astype("string"), reasons
    if isinstance(spec, CodeColumn):
        bad = present & ~text.isin(spec.allowed)
        reasons[bad] = "is not one of " + " / ".join(spec.allowed)
        return text.astype("string"), reasons
    if isinstance(spec, CategoryColumn):
        lookup = {value: cat for cat, values in spec.categories.items() for value in values}
        mapped = text.map(lookup).astype("string")
        mapped[present & mapped.isna()] = spec.default_category
        return mapped, reasons
    if isinstance(spec, FlagColumn):
        flags = {v.lower(): True for v in spec.true_values} | {v.lower(): False for v in spec.false_values}
        mapped = text.str.lower().map(flags)
        bad = present & mapped.isna()
        allowed = " / ".join(spec.true_values + spec.false_values)
        reasons[bad] = f"is not one of {allowed}"
        return mapped.astype("boolean"), reasons
    if isinstance(spec, IntegerColumn):
        numbers, reasons = _numbers(text, present, reasons, "is not a whole number")
        bad = reasons.notna() & present
        fraction = present & ~bad & (numbers % 1 != 0)
        reasons[fraction] = "is not a whole number"
        huge = present & ~bad & ~fraction & (numbers.abs() > MAX_EXACT_INTEGER)
        reasons[huge] = f"is out of range (beyond ±{MAX_EXACT_INTEGER:,})"
        bad = bad | fraction | huge
        values = numbers.where(~bad).round().astype("Int64")
        if spec.allowed is not None:
            out = present & ~bad & ~values.isin(spec.allowed)
            reasons[out] = "is not one of " + " / ".join(str(a) for a in spec.allowed)
        if spec.min is not None:
            reasons[present & ~bad & (values < spec.min)] = f"is below {spec.min}"
        if spec.max is not None:
            reasons[present & ~bad & (values > spec.max)] = f"is above {spec.max}"
        return values, reasons
    if isinstance(spec, DecimalColumn):
        numbers, reasons = _numbers(text, present, reasons, "is not a number")
        bad = reasons.notna() & present
        numbers = numbers.where(~bad)
        if spec.min is not None:
            reasons[present & ~bad & (numbers < spec.min)] = f"is below {spec.min}"
        if spec.max is not None:
            reasons[present & ~bad & (numbers > spec.max)] = f"is above {spec.max}"
        return numbers, reasons
    if isinstance(spec, (DateColumn, TimestampColumn)):
        parsed = _parse_datetimes(text.where(_ascii_only(text)), spec.formats)
        bad = present & parsed.isna()
        hint = " or ".join(_format_hint(f) for f in spec.formats)
        reasons[bad] = (
            f"is not a valid {'date' if isinstance(spec, DateColumn) else 'date and time'} ({hint})"
        )
        if isinstance(spec, DateColumn):
            return parsed.dt.normalize(), reasons
        return parsed, reasons
    raise TypeError(f"no typing rule for {spec.type}")


FileValues = Mapping[str, int | dt.date | None]
"""Values of the whole file: ``locality_code``, ``period`` or ``snapshot_date`` (from its name
or fixed by the layout)."""


def type_rows(
    layout: SourceLayout, table: TextTable, pseudonymise: Pseudonymiser, file_values: FileValues | None = None
) -> TypedRows:
    """The accepted rows (stored columns, derived columns, ``locality_code`` and ``period`` or
    ``snapshot_date``, ``_row_number``) and one reject per problem."""
    frame = table.frame
    typed: dict[str, pd.Series] = {}
    problems: list[pd.DataFrame] = []

    def problem(header: str, reasons: pd.Series, shown: pd.Series) -> None:
        failed = reasons.notna()
        if failed.any():
            problems.append(
                pd.DataFrame(
                    {
                        "row_number": frame.loc[failed, ROW_NUMBER].astype("int64"),
                        "column_name": header,
                        "reason": header + " " + reasons[failed],
                        "value": shown[failed].astype("string").fillna(""),
                    }
                )
            )

    for name, spec in layout.columns.items():
        text = frame[spec.header]
        if spec.type == "drop":
            continue
        if isinstance(spec, NationalIdColumn):
            ids9, reasons = validate_ids(text)
            shown = text.where(reasons.isna(), text[reasons.notna()].map(mask_id))  # only rejects are shown
            typed[name] = ids9  # hashed below, once bad rows are out
        else:
            values, reasons = type_column(spec, text)
            typed[name] = values
            shown = text
        problem(spec.header, reasons, shown)
    whole_file: dict[str, int | dt.date] = {
        key: value for key, value in (file_values or {}).items() if value is not None
    }
    per_row: dict[str, pd.Series] = {}
    for what, key, origin in (
        ("locality", "locality_code", layout.locality),
        ("period", "period", layout.period),
    ):
        if origin is None:
            continue
        if origin.fixed is not None:
            whole_file[key] = origin.fixed
            continue
        assert origin.column is not None  # FileValue: either fixed or a column
        header = layout.columns[origin.column].header
        per_row[key], reasons = values_from_column(origin, frame[header], what)
        problem(header, reasons, frame[header])
    for name, derived in layout.derived.items():
        source = layout.columns[derived.from_column]
        if isinstance(source, DateColumn):
            periods = per_row.get(
                "period", pd.Series(whole_file.get("period"), index=frame.index, dtype="Int64")
            )
            snapshot = whole_file.get("snapshot_date")
            on = reference_dates(derived, periods, snapshot if isinstance(snapshot, dt.date) else None)
            ages = ages_from_birth(typed[derived.from_column], on)
        else:
            ages = typed[derived.from_column]
        typed[name], reasons = age_groups(derived, ages)
        problem(source.header, reasons, frame[source.header])
    rejects = (
        pd.concat(problems, ignore_index=True).sort_values(["row_number", "column_name"], kind="stable")
        if problems
        else pd.DataFrame(columns=["row_number", "column_name", "reason", "value"])
    )
    bad_rows = set(rejects["row_number"].tolist())
    keep = ~frame[ROW_NUMBER].isin(bad_rows)
    accepted = pd.DataFrame({name: series[keep] for name, series in (typed | per_row).items()})
    for name, spec in layout.columns.items():
        if isinstance(spec, NationalIdColumn):
            accepted[name] = pseudonymise(accepted[name])
    for key, value in whole_file.items():
        accepted[key] = value
    accepted[ROW_NUMBER] = frame.loc[keep, ROW_NUMBER].astype("int64")
    return TypedRows(accepted=accepted.reset_index(drop=True), rejects=rejects.reset_index(drop=True))
