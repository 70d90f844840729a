"""Revisions as a partner (or the public) saw them: what changed in a release since an
earlier one, both under the same disclosure control.

A partner's revisions compare two *protected* frames (:func:`~ci_metrics.share.extracts.
produce.build_partner_frame`): the values as they were published at the earlier moment
(:func:`values_as_of`, from the history the snapshots keep), and the values now, each
passed through the partner's agreement. A cell is revised when its released form differs:
a value (as rounded for release) that changed, or a cell that became suppressed or
published. A cell suppressed in both is not listed, and no difference is ever computed:
the revisions file holds only figures each of the two releases carries on its own, so it
cannot reveal by difference what suppression hides.

The cause of each revised cell comes from ``marts.indicator_revisions`` (files that entered
or left the computation, or a definition change) for the publishes in between.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from ci_metrics.publish.history import AS_OF_VARIABLE

KEY = ["indicator_id", "period", "locality_code", "dimension", "dimension_value"]
"""The grain of a released cell."""

DISCLOSURE_CAUSE = "disclosure control: a related cell changed"
"""The cause of a released cell whose publication (not value) changed."""

REVISION_COLUMNS = [
    *KEY[:1],
    "indicator_name_he",
    "indicator_name_en",
    "unit",
    *KEY[1:],
    "revision_kind",
    "previous_value",
    "previous_suppressed",
    "new_value",
    "new_suppressed",
    "value_decimals",
    "cause",
    "cause_files",
]
"""The columns of a revisions frame (and of the partner's revisions CSV)."""


def values_as_of(con: duckdb.DuckDBPyConnection, moment: dt.datetime) -> pd.DataFrame:
    """``marts.indicator_values`` as published at ``moment`` (UTC, no zone): the view
    ``marts.indicator_values_as_of`` with the variable it reads set."""
    con.execute(f"set variable {AS_OF_VARIABLE} = cast(? as timestamp)", [moment])
    try:
        return con.execute("select * from marts.indicator_values_as_of").df()
    finally:
        con.execute(f"reset variable {AS_OF_VARIABLE}")


def first_recorded(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The first publish the history records (UTC), or None before any."""
    row = con.execute("select min(valid_from) from marts.indicator_value_history").fetchone()
    return row[0] if row and row[0] is not None else None


def _released(value: object, suppressed: object) -> tuple[bool, float | None]:
    """A cell's released form: (published?, value as released)."""
    published = not (isinstance(suppressed, str) and suppressed)
    if not published or value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return published, None
    return published, float(value)  # type: ignore[arg-type]  # a number of the protected frame


def revised_cells(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The cells whose released form differs between two protected frames (each the output of
    ``build_partner_frame`` for the same agreement), with REVISION_COLUMNS but the causes.

    ``changed``: in both, and the released value or the published/suppressed state differs.
    ``appeared`` / ``disappeared``: in one only, for a period of its indicator that both
    releases carry (a period entering or leaving the agreement's window is not a revision).
    A suppressed side has no value."""
    prev = previous.set_index(KEY)
    curr = current.set_index(KEY)
    periods_prev = previous.groupby("indicator_id")["period"].agg(set).to_dict()
    periods_curr = current.groupby("indicator_id")["period"].agg(set).to_dict()
    rows: list[dict[str, object]] = []
    for key in sorted(set(prev.index) | set(curr.index), key=lambda k: tuple(str(x) for x in k)):
        indicator, period = key[0], key[1]
        both = period in periods_prev.get(indicator, set()) and period in periods_curr.get(indicator, set())
        old = prev.loc[key] if key in prev.index else None
        new = curr.loc[key] if key in curr.index else None
        if old is None or new is None:
            if not both:
                continue
            kind = "appeared" if old is None else "disappeared"
        else:
            kind = "changed"
            if _released(old["value"], old["suppressed"]) == _released(new["value"], new["suppressed"]):
                continue
        side = new if new is not None else old
        assert side is not None
        old_pub, old_value = _released(old["value"], old["suppressed"]) if old is not None else (True, None)
        new_pub, new_value = _released(new["value"], new["suppressed"]) if new is not None else (True, None)
        rows.append(
            {
                **dict(zip(KEY, key, strict=True)),
                "indicator_name_he": side["indicator_name_he"],
                "indicator_name_en": side["indicator_name_en"],
                "unit": side["unit"],
                "revision_kind": kind,
                "previous_value": old_value,
                "previous_suppressed": "" if old is None or old_pub else old["suppressed"],
                "new_value": new_value,
                "new_suppressed": "" if new is None or new_pub else new["suppressed"],
                "value_decimals": side["value_decimals"] if new is not None and new_pub else pd.NA,
            }
        )
    out = pd.DataFrame(rows, columns=[c for c in REVISION_COLUMNS if c not in ("cause", "cause_files")])
    out["period"] = out["period"].astype("int64")
    out["locality_code"] = out["locality_code"].astype("int64")
    out["previous_value"] = pd.to_numeric(out["previous_value"]).astype("float64")
    out["new_value"] = pd.to_numeric(out["new_value"]).astype("float64")
    out["value_decimals"] = pd.to_numeric(out["value_decimals"]).astype("Int64")
    return out


def revision_causes(con: duckdb.DuckDBPyConnection, since: dt.datetime) -> pd.DataFrame:
    """Per cell, the causes of its revisions published after ``since`` (UTC):
    ``marts.indicator_revisions``' cause and files, each listed once, in order."""
    revisions = con.execute(
        "select * from marts.indicator_revisions where revised_at > cast(? as timestamp) order by revised_at",
        [since],
    ).df()
    columns = [*KEY, "cause", "cause_files"]
    if revisions.empty:
        return pd.DataFrame(columns=columns)

    grouped = revisions.groupby(KEY, sort=False).agg(
        cause=("cause", _join_parts), cause_files=("cause_files", _join_parts)
    )
    return grouped.reset_index()[columns]


def with_causes(
    cells: pd.DataFrame,
    causes: pd.DataFrame,
    groupings: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> pd.DataFrame:
    """``cells`` (:func:`revised_cells`) with their ``cause`` and ``cause_files``; a released cell
    that changed without a value revision of its own (suppression decided by a neighbour's
    change) gets "disclosure control: a related cell changed".

    ``groupings`` (``Agreement.grouping_members()``: dimension -> group -> members): the cells
    of a release that merges categories are named by group, the warehouse's revisions by
    member; a merged cell gets the causes of its members."""
    if cells.empty:
        return cells.assign(cause=pd.Series(dtype=object), cause_files=pd.Series(dtype=object))[
            REVISION_COLUMNS
        ]
    keyed = causes.astype({"period": "int64", "locality_code": "int64"}) if not causes.empty else causes
    if groupings and not keyed.empty:
        keyed = _by_group(keyed, groupings)
    merged = (
        cells.merge(keyed, on=KEY, how="left")
        if not keyed.empty
        else cells.assign(cause=None, cause_files=None)
    )
    merged["cause"] = merged["cause"].fillna(DISCLOSURE_CAUSE).astype(object)
    merged["cause_files"] = merged["cause_files"].fillna("").astype(object)
    return _group_cause_where_suppressed(merged, keyed)[REVISION_COLUMNS]


def _group_cause_where_suppressed(merged: pd.DataFrame, keyed: pd.DataFrame) -> pd.DataFrame:
    """A cell withheld on either side carries the causes of its whole indicator, period and
    locality (and the disclosure cause), never its own: whether *its* value changed (a file
    named, or only "a related cell changed") would tell a reader that its hidden value did or
    did not move, and with the earlier release's sums give it away."""
    withheld = (merged["previous_suppressed"] != "") | (merged["new_suppressed"] != "")
    if not withheld.any():
        return merged
    group = ["indicator_id", "period", "locality_code"]
    if keyed.empty:
        merged.loc[withheld, ["cause", "cause_files"]] = [DISCLOSURE_CAUSE, ""]
        return merged
    per_group = keyed.groupby(group, sort=False).agg(
        cause=("cause", _join_parts), cause_files=("cause_files", _join_parts)
    )
    for index in merged.index[withheld]:
        key = tuple(merged.loc[index, group])
        cause, files = per_group.loc[key] if key in per_group.index else ("", "")
        merged.loc[index, "cause"] = "; ".join(p for p in (cause, DISCLOSURE_CAUSE) if p)
        merged.loc[index, "cause_files"] = files
    return merged


def _join_parts(items: pd.Series) -> str:
    """The ``; ``-separated parts of ``items``, each once, in order."""
    seen: list[str] = []
    for item in items.dropna():
        for part in str(item).split("; "):
            if part and part not in seen:
                seen.append(part)
    return "; ".join(seen)


def _by_group(causes: pd.DataFrame, groupings: Mapping[str, Mapping[str, Sequence[str]]]) -> pd.DataFrame:
    """``causes`` (per warehouse cell) per released cell: a member's rows renamed to its
    group, the causes of a group's members joined."""
    group_of = {
        (d, m): g for d, groups in groupings.items() for g, members in groups.items() for m in members
    }
    renamed = causes.copy()
    renamed["dimension_value"] = [
        group_of.get((str(d), str(v)), v)
        for d, v in zip(renamed["dimension"], renamed["dimension_value"], strict=True)
    ]
    grouped = renamed.groupby(KEY, sort=False).agg(
        cause=("cause", _join_parts), cause_files=("cause_files", _join_parts)
    )
    return grouped.reset_index()[[*KEY, "cause", "cause_files"]]
