"""The view models of the public report: what the templates print, already disclosed.

:mod:`ci_metrics.share.report.data` fills them from the warehouse; the templates and
:mod:`ci_metrics.share.report.render` read them. Nothing here reads the warehouse or
computes a figure: a property at most picks or words what is already here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import pandas as pd

from ci_metrics.share.extracts.agreements import Agreement
from ci_metrics.share.report import labels
from ci_metrics.share.report.formatting import DASH, format_value, split_value


@dataclass(frozen=True)
class Figure:
    """One figure as the reader sees it. ``value`` is None when suppressed or missing."""

    value: float | None
    decimals: int
    unit: str
    suppressed: bool = False
    ci_lower: float | None = None  # the 95% interval, rounded as the value; None = none published
    ci_upper: float | None = None

    @property
    def has_interval(self) -> bool:
        return self.value is not None and self.ci_lower is not None and self.ci_upper is not None

    @property
    def interval_width(self) -> float | None:
        if not self.has_interval:
            return None
        assert self.ci_lower is not None and self.ci_upper is not None
        return self.ci_upper - self.ci_lower

    @property
    def interval_text(self) -> str:
        """``48.1% – 55.3%`` (numbers only: a table's header carries the unit), or ""."""
        if not self.has_interval:
            return ""
        lo = split_value(self.ci_lower, self.unit, self.decimals)[0]
        hi = split_value(self.ci_upper, self.unit, self.decimals)[0]
        return f"{lo} – {hi}"

    @property
    def interval_words(self) -> str:
        """``בין 48.1% ל־55.3%``, ``בין −3.1 ל־0.4 לאלף תושבים``, or ""."""
        if not self.has_interval:
            return ""
        lo = split_value(self.ci_lower, self.unit, self.decimals)[0]
        hi, words = split_value(self.ci_upper, self.unit, self.decimals)
        return f"בין {lo} ל־{hi}" + (f" {words}" if words else "")

    @classmethod
    def of_cell(cls, row: Mapping[str, Any], unit: str) -> Figure:
        """A cell of a disclosed frame (``apply_public_disclosure``) as the reader sees it."""
        if row["suppressed"]:
            return cls(None, 1, unit, suppressed=True)
        value, decimals = row["value"], row["value_decimals"]
        lower, upper = row.get("ci_lower"), row.get("ci_upper")
        bounded = not any(x is None or pd.isna(x) for x in (value, lower, upper))
        return cls(
            None if pd.isna(value) else float(value),
            1 if pd.isna(decimals) else int(decimals),
            unit,
            ci_lower=float(lower) if bounded and lower is not None else None,
            ci_upper=float(upper) if bounded and upper is not None else None,
        )

    @property
    def text(self) -> str:
        return DASH if self.value is None else format_value(self.value, self.unit, self.decimals)

    @property
    def number(self) -> str:
        return split_value(self.value, self.unit, self.decimals)[0]

    @property
    def words(self) -> str:
        return split_value(self.value, self.unit, self.decimals)[1]

    def minus(self, other: Figure) -> tuple[float, int] | None:
        """This figure minus ``other`` as printed (so that the reader's sum agrees), and the
        decimals to print it with; None when either is not printed."""
        if self.value is None or other.value is None:
            return None
        diff = float(Decimal(repr(self.value)) - Decimal(repr(other.value)))
        return diff, max(self.decimals, other.decimals)


@dataclass(frozen=True)
class SeriesPoint:
    period: int
    figure: Figure


WIDE_FACTOR = 2.0
"""A breakdown's interval wider than this many times the total's is drawn lighter and marked."""


@dataclass(frozen=True)
class BreakdownRow:
    code: str  # dimension_value as in the warehouse (male, ethiopian_origin, 18-29)
    label: str  # in Hebrew
    figure: Figure
    wide: bool = False  # interval > WIDE_FACTOR x the total's of the same period: less certain


@dataclass(frozen=True)
class Benchmark:
    """The city against an official benchmark (marts.official_comparison), in words."""

    group: str  # the benchmark in Hebrew ("הרשויות באשכול ...")
    verdict: str  # better | similar | worse
    words: str  # "גבוה מזה של" / "דומה לזה של" / "נמוך מזה של"
    meaning: str  # "לטובת העיר" ...
    period: int


@dataclass(frozen=True)
class FunnelPoint:
    locality_code: int
    n: float
    value: float
    lower_95: float | None
    upper_95: float | None
    lower_998: float | None
    upper_998: float | None
    is_this_city: bool
    position: str | None


@dataclass(frozen=True)
class Funnel:
    """One indicator's funnel plot of a period (more than one locality in the warehouse)."""

    period: int
    p0: float
    points: tuple[FunnelPoint, ...]


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    title: str
    period: int
    rows: tuple[BreakdownRow, ...]

    @property
    def has_suppressed(self) -> bool:
        return any(r.figure.suppressed for r in self.rows)


@dataclass
class IndicatorView:
    indicator_id: str
    name_he: str
    name_en: str
    domain: str
    domain_label: str
    unit: str
    polarity: str  # higher_is_better | lower_is_better
    definition: str
    definition_lang: str  # he | en
    sources: str
    owner: str
    owner_lang: str
    period_notes: tuple[str, ...]
    in_public_agreement: bool
    threshold: int
    baseline_period: int | None = None
    baseline: Figure = Figure(None, 1, "")
    target_period: int | None = None
    target: Figure = Figure(None, 1, "")
    target_words: str | None = None
    series: list[SeriesPoint] = field(default_factory=list)
    latest_period: int | None = None
    latest: Figure | None = None
    change: str | None = None  # "+17.8 נקודות אחוז"
    change_number: str | None = None  # "+17.8"
    change_words: str = ""
    status: str = labels.STATUS_NO_DATA
    breakdowns: list[Breakdown] = field(default_factory=list)
    trend_text: str = ""
    revised: bool = False  # a published value of it was revised since the previous report
    change_significant: bool | None = None  # since the baseline; None = the mart cannot say
    change_interval: str = ""  # the interval of the change since the baseline, in words
    previous_change_significant: bool | None = None
    benchmarks: list[Benchmark] = field(default_factory=list)
    funnel: Funnel | None = None

    @property
    def within_chance(self) -> bool:
        """The change since the baseline is within the range of chance."""
        return self.change_significant is False or self.status == labels.STATUS_NO_CHANGE

    @property
    def has_intervals(self) -> bool:
        return any(f.has_interval for f in self.cells)

    @property
    def anchor(self) -> str:
        return f"ind-{self.indicator_id}"

    @property
    def unit_caption(self) -> str:
        """The unit for a table header: "" for percentages (the % sign is on each number)."""
        return split_value(1.0, self.unit, 0)[1]

    @property
    def status_words(self) -> str:
        return labels.STATUS_WORDS[self.status]

    @property
    def polarity_words(self) -> str:
        return labels.POLARITY.get(self.polarity, self.polarity)

    @property
    def has_suppressed(self) -> bool:
        return any(p.figure.suppressed for p in self.series) or any(b.has_suppressed for b in self.breakdowns)

    @property
    def cells(self) -> list[Figure]:
        return [p.figure for p in self.series] + [r.figure for b in self.breakdowns for r in b.rows]


@dataclass
class DomainView:
    key: str
    label: str
    indicators: list[IndicatorView]

    @property
    def anchor(self) -> str:
        return "domain-" + "".join(ch if ch.isalnum() else "-" for ch in self.key.lower())


@dataclass(frozen=True)
class SourceQuality:
    source: str
    label: str
    reasons: tuple[tuple[str, int], ...]  # (category in words, rows), most rows first
    files_received: int = 0
    files_loaded: int = 0
    files_rejected: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0


@dataclass(frozen=True)
class FailedCheck:
    suite: str
    what: str
    severity: str  # critical | warning
    unexpected_count: int | None


@dataclass
class QualityView:
    files_available: bool
    checks_available: bool
    sources: list[SourceQuality]
    checks_total: int
    checks_passed: int
    warnings_failed: int
    critical_failed: int
    failures: list[FailedCheck]
    missing: list[str]


@dataclass(frozen=True)
class RevisionCause:
    """One cause of a revision in words, and the files it names (printed left to right)."""

    words: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class RevisionRow:
    """A published value revised since the previous report, both sides as printed."""

    indicator_id: str
    indicator_name: str
    period: int
    dimension: str
    dimension_value: str
    breakdown: str  # "סך הכול", "לפי מגדר: בנות"
    previous: Figure  # suppressed, or missing (the cell was not published), or a value
    new: Figure
    causes: tuple[RevisionCause, ...]

    @property
    def key(self) -> str:
        return f"{self.indicator_id}/{self.period}/{self.dimension}/{self.dimension_value}"

    @property
    def anchor(self) -> str:
        return f"ind-{self.indicator_id}"


RevisionsState = Literal["unavailable", "first", "no_history", "unchanged", "revised"]


@dataclass
class RevisionsView:
    """What was revised since the previous report.

    ``state``: ``unavailable`` (the warehouse records no publication: nothing said),
    ``first`` (no earlier report or publication to compare with), ``no_history`` (the history
    does not reach back to the previous report), ``unchanged`` or ``revised``."""

    state: RevisionsState = "unavailable"
    since_date: dt.date | None = None  # the previous report's date (or its publication's)
    since_report: bool = False  # compared with an earlier report (else with a publication)
    rows: list[RevisionRow] = field(default_factory=list)

    @property
    def indicator_ids(self) -> set[str]:
        return {r.indicator_id for r in self.rows}

    @property
    def has_suppressed(self) -> bool:
        return any(r.previous.suppressed or r.new.suppressed for r in self.rows)

    @property
    def has_missing(self) -> bool:
        """A side with no cell: a value that appeared or disappeared."""
        return any(f.value is None and not f.suppressed for r in self.rows for f in (r.previous, r.new))


@dataclass
class ReportData:
    as_of: dt.date
    locality_code: int
    locality_name: str
    agreement: Agreement
    domains: list[DomainView]
    quality: QualityView
    latest_period: int | None
    first_period: int | None
    revisions: RevisionsView = field(default_factory=RevisionsView)

    @property
    def indicators(self) -> list[IndicatorView]:
        return [i for d in self.domains for i in d.indicators]

    @property
    def threshold(self) -> int:
        return self.agreement.min_cell_size

    @property
    def exact_value_min_count(self) -> int:
        return self.agreement.exact_value_min_count

    def common_period(self, attr: str) -> int | None:
        """The baseline (or target) period when every indicator shares it, else None."""
        periods = {getattr(i, attr) for i in self.indicators}
        return periods.pop() if len(periods) == 1 else None

    def status_counts(self) -> list[tuple[str, int]]:
        """How many published indicators have each status (the summary's one line)."""
        counts = {s: 0 for s in labels.STATUSES}
        for i in self.indicators:
            if i.in_public_agreement:
                counts[i.status] += 1
        return [(s, n) for s, n in counts.items() if n]

    def shown_and_suppressed(self) -> tuple[int, int]:
        """Cells (series and breakdown figures) printed with a value, and printed as suppressed."""
        figures = [f for i in self.indicators for f in i.cells]
        return sum(f.value is not None for f in figures), sum(f.suppressed for f in figures)
