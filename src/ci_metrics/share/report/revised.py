"""The report's list of revised values: the public frame of the previous report against the
current one, each side printed as the report prints a figure, with the cause in words.

Pure (pandas only): :mod:`ci_metrics.share.report.data` reads the frames and the causes
from the warehouse. Which cells are revised is decided by
:func:`ci_metrics.share.extracts.revisions.revised_cells` on two frames that both passed the
public agreement's disclosure control, so that a value suppressed on either side is never
printed (both sides are figures a release carries on its own: nothing is computed from them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ci_metrics.share.extracts.agreements import Agreement
from ci_metrics.share.extracts.revisions import revised_cells, with_causes
from ci_metrics.share.report import labels, texts
from ci_metrics.share.report.marts import IndicatorRow
from ci_metrics.share.report.views import Figure, RevisionCause, RevisionRow

_FILE = re.compile(r"^(?P<path>.+) \((?P<change>entered|left)\)$")


def cause_words(cause: str, cause_files: str) -> tuple[RevisionCause, ...]:
    """A revision's cause (``marts.indicator_revisions.cause``, parts joined by "; ") and its
    files ("schools/achievement_1034_2019.xlsx (entered); ... (left)") in plain Hebrew: a file
    that entered and left is a corrected file; each is named by its source (the report names no
    file)."""
    changes: dict[str, set[str]] = {}
    for item in (cause_files or "").split("; "):
        found = _FILE.match(item.strip())
        if found:
            changes.setdefault(found["path"], set()).add(found["change"])
    out: list[RevisionCause] = []
    for part in [p for p in (cause or "").split("; ") if p]:
        if part != texts.FILES_CHANGED_CAUSE:
            out.append(RevisionCause(texts.REVISION_CAUSES.get(part, part)))
        elif not changes:
            out.append(RevisionCause(texts.FILES_CHANGED_WORDS))
        else:
            for change in texts.REVISION_FILE_WORDS:
                paths = [p for p, seen in changes.items() if _change(seen) == change]
                if paths:
                    # the public report names sources, never files (as its data-quality pages)
                    names = tuple(dict.fromkeys(labels.source_label(p.split("/", 1)[0]) for p in paths))
                    out.append(RevisionCause(texts.revision_file_words(change, len(paths)), names))
    return tuple(out)


def _change(seen: set[str]) -> str:
    return "corrected" if seen == {"entered", "left"} else next(iter(seen))


def revision_rows(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    causes: pd.DataFrame,
    registry: list[IndicatorRow],
    agreement: Agreement,
) -> list[RevisionRow]:
    """The revised cells between two public frames (``apply_public_disclosure`` of the values
    as the previous report showed them, and of the values now), in the report's order: the
    registry's, then period, then the breakdowns' order. ``causes``: ``revision_causes`` since
    the previous report (per warehouse cell: a grouped category's cell gets its members')."""
    cells = with_causes(revised_cells(previous, current), causes, agreement.grouping_members())
    if cells.empty:
        return []
    old, new = _by_key(previous), _by_key(current)
    registry_order = {r.indicator_id: i for i, r in enumerate(registry)}
    by_id = {r.indicator_id: r for r in registry}
    dim_order = {d: i for i, d in enumerate(labels.DIMENSION_ORDER)}
    rows: list[RevisionRow] = []
    for cell in _records(cells):
        key = _key(cell)
        ind, period, dim, code = str(key[0]), int(key[1]), str(key[3]), str(key[4])
        reg = by_id.get(ind)
        unit = str(cell["unit"] or (reg.unit if reg else ""))
        breakdown = labels.dimension_label(dim)
        if dim != "total":
            value_label = labels.group_value_label(agreement, dim, code, reg.gender_labels if reg else None)
            breakdown = f"{breakdown}: {value_label}"
        rows.append(
            RevisionRow(
                indicator_id=ind,
                indicator_name=(reg.name_he if reg else None) or str(cell["indicator_name_he"] or ind),
                period=period,
                dimension=dim,
                dimension_value=code,
                breakdown=breakdown,
                previous=_figure(old.get(key), unit),
                new=_figure(new.get(key), unit),
                causes=cause_words(str(cell["cause"]), str(cell["cause_files"])),
            )
        )
    rows.sort(
        key=lambda r: (
            registry_order.get(r.indicator_id, len(registry_order)),
            r.indicator_id,
            r.period,
            dim_order.get(r.dimension, len(dim_order)),
            r.dimension,
            r.breakdown,
        )
    )
    return rows


def _key(row: Mapping[str, Any]) -> tuple[str, int, int, str, str]:
    return (
        str(row["indicator_id"]),
        int(row["period"]),
        int(row["locality_code"]),
        str(row["dimension"]),
        str(row["dimension_value"]),
    )


def _by_key(frame: pd.DataFrame) -> dict[tuple[str, int, int, str, str], dict[str, Any]]:
    return {_key(r): r for r in _records(frame)}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _figure(cell: dict[str, Any] | None, unit: str) -> Figure:
    """A side of a revision as the report prints a cell; no cell: not published then (or now)."""
    return Figure(None, 1, unit) if cell is None else Figure.of_cell(cell, unit)
