"""What a layout does to a real export besides typing its cells, all declared in the layout
(:mod:`.layouts`): value maps (recoding), row filters, the rows' locality or period taken from
a column, and derived columns (an age group from an age or a birth date).

Order, for every file: value maps → row filters (filtered rows are counted, neither loaded nor
rejected) → the columns' rules (:mod:`.typing_rules`) → locality and period from a column →
derived columns. A reason never quotes a cell: the value goes to the reject's ``value``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ci_metrics.ingest.layouts import AgeGroupColumn, FileValue, SourceLayout


def recode(layout: SourceLayout, frame: pd.DataFrame) -> pd.DataFrame:
    """The text table with each column's value map applied (cells trimmed; unlisted values kept)."""
    mapped = [spec for spec in layout.columns.values() if spec.recode]
    if not mapped:
        return frame
    frame = frame.copy()
    for spec in mapped:
        text = frame[spec.header].astype("string").str.strip()
        listed = text.isin(list(spec.recode))
        frame[spec.header] = text.where(~listed, text.map(spec.recode)).astype("string")
    return frame


def kept_rows(layout: SourceLayout, frame: pd.DataFrame) -> pd.Series:
    """True for the rows every filter keeps (values after their value map, trimmed); also
    drops the rows of other localities (periods) when ``locality.others`` is ``filter``."""
    keep = pd.Series(True, index=frame.index)
    for row_filter in layout.filters:
        text = frame[layout.columns[row_filter.column].header].astype("string").str.strip()
        if row_filter.keep is not None:
            keep &= text.isin(row_filter.keep).fillna(False).astype(bool)
        if row_filter.skip is not None:
            keep &= ~text.isin(row_filter.skip).fillna(False).astype(bool)
    for value in (layout.locality, layout.period):
        if value is not None and value.column is not None and value.others == "filter":
            text = frame[layout.columns[value.column].header].astype("string").str.strip()
            keep &= text.isin(list(value.codes)).fillna(False).astype(bool)
    return keep


def values_from_column(value: FileValue, text: pd.Series, what: str) -> tuple[pd.Series, pd.Series]:
    """(codes, reason per row) of a locality or period read from a column: looked up in
    ``codes``, or the value itself as a whole number."""
    text = text.astype("string").str.strip()
    reasons = pd.Series(pd.NA, index=text.index, dtype="string")
    present = text.notna() & (text != "")
    reasons[~present] = f"is empty: the row has no {what}"
    if value.codes:
        codes = text.map(value.codes).astype("Int64")
        unknown = present & codes.isna()
        reasons[unknown] = (
            f"is not a {what} the layout knows: if the row belongs to this partnership, the data "
            f"unit adds the value to the layout's {what} codes"
        )
        return codes, reasons
    whole = text.str.fullmatch(r"\d{1,9}").fillna(False).astype(bool)
    reasons[present & ~whole] = f"is not a {what} code (a whole number)"
    return pd.to_numeric(text.where(whole), errors="coerce").astype("Int64"), reasons


def reference_dates(spec: AgeGroupColumn, periods: pd.Series | None, snapshot: dt.date | None) -> pd.Series:
    """The day each row's age is reckoned on (see :attr:`AgeGroupColumn.as_of`)."""
    if spec.as_of == "snapshot_date":
        assert snapshot is not None, "a snapshot layout has a snapshot date"
        return pd.Series(pd.Timestamp(snapshot), index=periods.index if periods is not None else None)
    assert periods is not None, "a period layout has a period"
    years = periods.astype("Int64").astype("string")
    day = "-12-31" if spec.as_of == "period_end" else "-01-01"
    return pd.to_datetime(years + day, format="%Y-%m-%d", errors="coerce")


def ages_from_birth(birth: pd.Series, reference: pd.Series) -> pd.Series:
    """Whole years of age on the reference day (a birthday not yet reached that year not counted)."""
    born = pd.to_datetime(birth)
    on = pd.to_datetime(reference)
    before_birthday = (on.dt.month * 100 + on.dt.day) < (born.dt.month * 100 + born.dt.day)
    return (on.dt.year - born.dt.year - before_birthday.astype("Int64")).astype("Int64")


def age_groups(spec: AgeGroupColumn, ages: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(label, reason per row) of each age: the group whose bounds hold it; an age in no group
    is empty, or a reason when the derived column is required."""
    ages = pd.to_numeric(ages, errors="coerce").astype("Float64").floordiv(1)
    labels = pd.Series(pd.NA, index=ages.index, dtype="string")
    for group in spec.groups:
        inside = ages >= group.min
        if group.max is not None:
            inside &= ages <= group.max
        labels[inside.fillna(False).astype(bool) & labels.isna()] = group.label
    reasons = pd.Series(pd.NA, index=ages.index, dtype="string")
    if spec.required:
        listed = ", ".join(group.label for group in spec.groups)
        reasons[ages.notna() & labels.isna()] = f"gives an age outside every age group ({listed})"
    return labels, reasons
