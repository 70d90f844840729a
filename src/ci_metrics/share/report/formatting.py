"""How the report writes numbers: one function per kind, used by the templates and the tests.

Values reach the report already rounded by the disclosure control (1 decimal, or whole
numbers for small cells); the report prints them with exactly those decimals, with a
thousands separator and a true minus sign (U+2212). In the HTML each number sits in a
``<bdi dir="ltr">`` so that a minus sign or a percent sign stays in place in
right-to-left text; the *text* of a figure is what :func:`format_value` returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ci_metrics.share.extracts.disclosure import round_half_up

UnitKind = Literal["percent", "points", "per_thousand", "other"]

MINUS = "\u2212"
DASH = "—"  # a suppressed or missing figure


def unit_kind(unit: object) -> UnitKind:
    """The registry's unit text (``%``, ``weighted %``, ``percentage points``, ``per 1,000``)."""
    text = str(unit or "").strip().lower()
    if "point" in text or "נקוד" in text or text in ("pp", "p.p."):
        return "points"
    if "1,000" in text or "1000" in text or "‰" in text or "thousand" in text or "לאלף" in text:
        return "per_thousand"
    if "%" in text or "percent" in text or "אחוז" in text:
        return "percent"
    return "other"


@dataclass(frozen=True)
class UnitWords:
    symbol: str  # glued to the number (inside the bdi)
    word: str  # after the number, in Hebrew
    change_word: str  # a difference of two values
    axis: str  # the y-axis caption


UNITS: dict[str, UnitWords] = {
    "percent": UnitWords("%", "", "נקודות אחוז", "אחוזים"),
    "points": UnitWords("", "נקודות אחוז", "נקודות אחוז", "נקודות אחוז"),
    "per_thousand": UnitWords("", "לאלף תושבים", "לאלף תושבים", "לאלף תושבים"),
    "other": UnitWords("", "", "", ""),
}


def is_missing(x: object) -> bool:
    if x is None:
        return True
    if isinstance(x, int | float):
        return math.isnan(x)
    try:
        return math.isnan(float(str(x)))
    except (TypeError, ValueError):
        return True


def format_number(value: float | None, decimals: int = 1) -> str:
    """``53.7``, ``1,234``, ``−1.6``; missing -> ``—``."""
    if value is None or is_missing(value):
        return DASH
    v = round_half_up(float(value), decimals)
    text = f"{abs(v):,.{decimals}f}"
    return (MINUS + text) if v < 0 else text


def format_signed(value: float | None, decimals: int = 1) -> str:
    """A change: ``+17.7``, ``−1.2``, ``0.0``."""
    if value is None or is_missing(value):
        return DASH
    v = round_half_up(float(value), decimals)
    text = format_number(v, decimals)
    return ("+" + text) if v > 0 else text


def format_value(value: float | None, unit: object, decimals: int = 1) -> str:
    """A figure with its unit, as the reader sees it: ``53.7%``, ``−1.6 לאלף תושבים``."""
    if is_missing(value):
        return DASH
    words = UNITS[unit_kind(unit)]
    text = format_number(value, decimals) + words.symbol
    if words.word:
        text += " " + words.word
    elif unit_kind(unit) == "other" and str(unit or "").strip():
        text += " " + str(unit).strip()
    return text


def split_value(value: float | None, unit: object, decimals: int = 1) -> tuple[str, str]:
    """(number with its symbol, trailing words): the template wraps the first in a bdi."""
    if is_missing(value):
        return DASH, ""
    kind = unit_kind(unit)
    words = UNITS[kind]
    trailing = words.word or (str(unit or "").strip() if kind == "other" else "")
    return format_number(value, decimals) + words.symbol, trailing


def format_change(value: float | None, unit: object, decimals: int = 1) -> str:
    """A change since the baseline: ``+17.7 נקודות אחוז``."""
    if is_missing(value):
        return DASH
    words = UNITS[unit_kind(unit)]
    text = format_signed(value, decimals)
    return f"{text} {words.change_word}".strip()


def format_count(n: int | float | None) -> str:
    if n is None or is_missing(n):
        return DASH
    return f"{int(n):,}"
