"""The warehouse, read into the view models of the public report.

Everything the report prints goes through here, and every figure of an indicator through
the *public* agreement's disclosure control (:func:`apply_public_disclosure`, bound to
:func:`ci_metrics.share.extracts.build_partner_frame`, the very function that makes the public
partner's extract): a suppressed cell reaches the templates as a :class:`Figure` with no
value, and a published one with the value and decimals the extract would carry.

The data-quality note reads ``ops.files``, ``ops.rejects`` and ``ops.validations`` as
counts only: no file ID, run ID, file name or rejected value leaves this module.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from ci_metrics.share.extracts import build_partner_frame
from ci_metrics.share.extracts.agreements import Agreement, AgreementError, agreement_status
from ci_metrics.share.report import labels, texts
from ci_metrics.share.report.formatting import (
    DASH,
    format_change,
    format_value,
    is_missing,
    round_half_up,
    split_value,
)

log = logging.getLogger(__name__)

PUBLIC_PARTNER = "public"


class ReportError(RuntimeError):
    """The report cannot be made (no valid public agreement, no registry...)."""


# --------------------------------------------------------------------------- view models


@dataclass(frozen=True)
class Figure:
    """One figure as the reader sees it. ``value`` is None when suppressed or missing."""

    value: float | None
    decimals: int
    unit: str
    suppressed: bool = False

    @property
    def missing(self) -> bool:
        return self.value is None

    @property
    def text(self) -> str:
        return DASH if self.value is None else format_value(self.value, self.unit, self.decimals)

    @property
    def number(self) -> str:
        return split_value(self.value, self.unit, self.decimals)[0]

    @property
    def words(self) -> str:
        return split_value(self.value, self.unit, self.decimals)[1]


@dataclass(frozen=True)
class SeriesPoint:
    period: int
    figure: Figure


@dataclass(frozen=True)
class BreakdownRow:
    code: str  # dimension_value as in the warehouse (male, ethiopian_origin, 18-29)
    label: str  # in Hebrew
    figure: Figure


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
    polarity: str  # higher | lower
    definition: str
    definition_lang: str  # he | en
    sources: str
    owner: str
    owner_lang: str
    period_notes: tuple[str, ...]
    baseline_period: int | None
    baseline: Figure
    target_period: int | None
    target: Figure
    target_words: str | None
    in_public_agreement: bool
    threshold: int
    series: list[SeriesPoint] = field(default_factory=list)
    latest_period: int | None = None
    latest: Figure | None = None
    change: str | None = None  # "+17.8 נקודות אחוז"
    change_number: str | None = None  # "+17.8"
    change_words: str = ""
    share_of_way_pct: float | None = None
    status: str = labels.STATUS_NO_DATA
    breakdowns: list[Breakdown] = field(default_factory=list)
    trend_text: str = ""

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
        return labels.POLARITY[self.polarity]

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
    files_received: int
    files_loaded: int
    files_rejected: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    reasons: tuple[tuple[str, int], ...]


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

    @property
    def rows_read(self) -> int:
        return sum(s.rows_read for s in self.sources)

    @property
    def rows_loaded(self) -> int:
        return sum(s.rows_loaded for s in self.sources)

    @property
    def rows_rejected(self) -> int:
        return sum(s.rows_rejected for s in self.sources)

    @property
    def files_rejected(self) -> int:
        return sum(s.files_rejected for s in self.sources)


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
        counts = {s: 0 for s in labels.STATUSES}
        for i in self.indicators:
            if i.in_public_agreement:
                counts[i.status] += 1
        return [(s, n) for s, n in counts.items() if n]


# --------------------------------------------------------------------------- disclosure


def load_public_agreement(agreements_dir: Path, today: dt.date) -> Agreement:
    """``agreements/public.yml``, validated and in force on ``today``; else :class:`ReportError`."""
    path = Path(agreements_dir) / f"{PUBLIC_PARTNER}.yml"
    if not path.is_file():
        raise ReportError(f"no public agreement: {path} does not exist")
    status = agreement_status(path, today)
    if not status.usable or status.agreement is None:
        raise ReportError(f"the public report needs an agreement in force: {status.message}")
    return status.agreement


def apply_public_disclosure(
    values: pd.DataFrame, indicators: pd.DataFrame, agreement: Agreement
) -> pd.DataFrame:
    """The cells the public may see, with a ``suppressed`` marker ("" = published).

    Bound to :func:`ci_metrics.share.extracts.build_partner_frame`: suppression is decided on
    every dimension (including the ones the public does not get, so that a published cell
    never lets a suppressed one be recovered), then cut to the agreement's indicators,
    dimensions and periods; values rounded as in the public extract (``value_decimals``).
    """
    try:
        return build_partner_frame(values, indicators, agreement)
    except AgreementError:
        raise
    except Exception as exc:  # pragma: no cover - a broken mart should say so plainly
        raise ReportError(f"disclosure control failed: {exc}") from exc


# --------------------------------------------------------------------------- warehouse


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    rows = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return bool(rows and rows[0][0])


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def _opt_str(x: object) -> str:
    return "" if is_missing_text(x) else str(x).strip()


def is_missing_text(x: object) -> bool:
    if x is None or x is pd.NA:
        return True
    return isinstance(x, float) and math.isnan(x)


def _opt_int(x: object) -> int | None:
    return None if is_missing(x) else int(float(x))  # type: ignore[arg-type]


def _opt_float(x: object) -> float | None:
    return None if is_missing(x) else float(x)  # type: ignore[arg-type]


def _ordered_registry(registry: pd.DataFrame, agreement: Agreement) -> list[dict]:
    rows = registry.drop_duplicates("indicator_id").to_dict(orient="records")
    agreement_order = {ind: i for i, ind in enumerate(agreement.indicators)}

    def key(r: dict) -> tuple:
        order = _opt_float(r.get("display_order"))
        return (
            order if order is not None else math.inf,
            agreement_order.get(str(r["indicator_id"]), len(agreement_order)),
            str(r["indicator_id"]),
        )

    return sorted(rows, key=key)


def _figure(row: dict | None, unit: str) -> Figure:
    if row is None:
        return Figure(None, 1, unit, suppressed=False)
    if row.get("suppressed"):
        return Figure(None, 1, unit, suppressed=True)
    value = _opt_float(row.get("value"))
    decimals = _opt_int(row.get("value_decimals"))
    return Figure(value, 1 if decimals is None else decimals, unit)


def _target_decimals(value: float) -> int:
    return 0 if float(round_half_up(value, 1)).is_integer() else 1


def _sources_words(source: str) -> str:
    parts = [p.strip() for p in source.replace(",", ";").split(";") if p.strip()]
    return ", ".join(labels.source_label(p) for p in parts) if parts else ""


def _change(latest: Figure | None, baseline: Figure, unit: str) -> tuple[str | None, float | None]:
    """Latest minus baseline, from the figures as printed (so that the reader's sum agrees)."""
    if latest is None or latest.value is None or baseline.value is None:
        return None, None
    d = max(latest.decimals, baseline.decimals)
    diff = float(Decimal(repr(latest.value)) - Decimal(repr(baseline.value)))
    return format_change(diff, unit, d), diff


def describe_trend(ind: IndicatorView) -> str:
    """The chart's description in words (its ``<desc>`` and the screen-reader text)."""
    parts: list[str] = [f"{ind.name_he}."]
    published = [p for p in ind.series if p.figure.value is not None]
    if not ind.in_public_agreement:
        return parts[0] + " המדד אינו כלול בהסכם הפרסום לציבור."
    if not published:
        parts.append("אין עדיין ערכים שאפשר לפרסם.")
    else:
        first, last = published[0], published[-1]
        if ind.baseline_period is not None and ind.baseline.value is not None:
            parts.append(f"בשנת הבסיס {ind.baseline_period}: {ind.baseline.text}.")
        elif first.period != last.period:
            parts.append(f"בשנת {first.period}: {first.figure.text}.")
        if last is not first or ind.baseline.value is None:
            parts.append(f"בשנת {last.period}: {last.figure.text}.")
        _, diff = _change(last.figure, ind.baseline, ind.unit)
        if diff is not None and last.period != ind.baseline_period:
            if abs(diff) < 10 ** (-last.figure.decimals) / 2:
                parts.append("ללא שינוי מאז שנת הבסיס.")
            else:
                direction = "עלייה" if diff > 0 else "ירידה"
                amount = format_change(
                    abs(diff), ind.unit, max(last.figure.decimals, ind.baseline.decimals)
                ).lstrip("+")
                parts.append(f"{direction} של {amount} מאז שנת הבסיס.")
        if len(published) >= 3:
            hi = max(published, key=lambda p: p.figure.value)  # type: ignore[arg-type, return-value]
            lo = min(published, key=lambda p: p.figure.value)  # type: ignore[arg-type, return-value]
            parts.append(
                f"הערך הגבוה ביותר: {hi.figure.text} ({hi.period}); הנמוך ביותר: {lo.figure.text} ({lo.period})."
            )
    if ind.target.value is not None and ind.target_period is not None:
        parts.append(f"היעד לשנת {ind.target_period}: {ind.target.text}.")
    parts.append(f"מצב: {ind.status_words}.")
    hidden = [p.period for p in ind.series if p.figure.suppressed]
    if hidden:
        years = ", ".join(str(y) for y in hidden)
        parts.append(f"הערכים של {years} אינם מוצגים כדי להגן על פרטיות.")
    return " ".join(parts)


def _indicator_view(
    reg: dict,
    cells: pd.DataFrame,
    progress: dict | None,
    agreement: Agreement,
) -> IndicatorView:
    ind_id = str(reg["indicator_id"])
    unit = _opt_str(reg.get("unit"))
    source = _opt_str(reg.get("source"))
    definition_he = _opt_str(reg.get("definition_he")) or texts.DEFINITIONS_HE.get(ind_id, "")
    owner_en = _opt_str(reg.get("owner_partner"))
    owner_he = _opt_str(reg.get("owner_partner_he")) or texts.OWNERS_HE.get(owner_en, "")
    polarity = labels.polarity_key((progress or {}).get("polarity") or reg.get("polarity"))
    in_agreement = ind_id in agreement.indicators
    own_threshold = _opt_int(reg.get("min_cell_size")) or 0
    period_notes = tuple(
        note for key, note in texts.PERIOD_NOTES.items() if key in [p.strip() for p in source.split(";")]
    )

    baseline_period = _opt_int((progress or {}).get("baseline_period")) or _opt_int(
        reg.get("baseline_period")
    )
    target_period = _opt_int((progress or {}).get("target_period")) or _opt_int(reg.get("target_period"))
    target_rule = _opt_str((progress or {}).get("target_rule") or reg.get("target_rule"))

    view = IndicatorView(
        indicator_id=ind_id,
        name_he=_opt_str(reg.get("name_he")) or ind_id,
        name_en=_opt_str(reg.get("name_en")),
        domain=_opt_str(reg.get("domain")),
        domain_label=labels.domain_label(_opt_str(reg.get("domain"))),
        unit=unit,
        polarity=polarity,
        definition=definition_he or _opt_str(reg.get("definition")),
        definition_lang="he" if definition_he else "en",
        sources=_sources_words(source),
        owner=owner_he or owner_en,
        owner_lang="he" if owner_he or not owner_en else "en",
        period_notes=period_notes,
        baseline_period=baseline_period,
        baseline=Figure(None, 1, unit),
        target_period=target_period,
        target=Figure(None, 1, unit),
        target_words=texts.target_rule_words(
            target_rule, (progress or {}).get("target_parameter", reg.get("target_parameter"))
        ),
        in_public_agreement=in_agreement,
        threshold=max(agreement.min_cell_size, own_threshold),
    )
    if not in_agreement:
        view.trend_text = describe_trend(view)
        return view

    mine = cells[cells["indicator_id"] == ind_id]
    totals = mine[mine["dimension"] == "total"].sort_values("period", kind="stable")
    total_rows = {int(r["period"]): r for r in totals.to_dict(orient="records")}

    # The series, every period from the first to the last (a period without a row is a gap).
    if total_rows:
        lo, hi = min(total_rows), max(total_rows)
        view.series = [SeriesPoint(p, _figure(total_rows.get(p), unit)) for p in range(lo, hi + 1)]

    # Baseline: the published total of the baseline period; otherwise the registry's
    # figure only when the baseline period is not a suppressed cell.
    base_row = total_rows.get(baseline_period) if baseline_period is not None else None
    baseline_suppressed = bool(base_row is not None and base_row.get("suppressed"))
    if base_row is not None:
        view.baseline = _figure(base_row, unit)
    else:
        b = _opt_float((progress or {}).get("baseline_value"))
        if b is None:
            b = _opt_float(reg.get("baseline_value"))
        if b is not None:
            view.baseline = Figure(round_half_up(b, 1), 1, unit)

    # Target: hidden when it is a function of a suppressed baseline.
    t = _opt_float((progress or {}).get("target_value"))
    if t is None:
        t = _opt_float(reg.get("target_value"))
    if t is not None and not (baseline_suppressed and target_rule not in ("", "fixed")):
        view.target = Figure(round_half_up(t, 1), _target_decimals(t), unit)

    # Latest: the last period with a total row (the progress mart's latest_period if it has one).
    latest_period = _opt_int((progress or {}).get("latest_period"))
    if latest_period is None or latest_period not in total_rows:
        latest_period = max(total_rows) if total_rows else None
    view.latest_period = latest_period
    if latest_period is not None:
        view.latest = _figure(total_rows[latest_period], unit)
        view.change, _diff = _change(view.latest, view.baseline, unit)
        if view.change is not None:
            number, _, words = view.change.partition(" ")
            view.change_number, view.change_words = number, words

    view.status = labels.normalise_status((progress or {}).get("status"))
    if view.latest is None or view.latest.value is None:
        view.share_of_way_pct = None
    else:
        share = _opt_float((progress or {}).get("share_of_way_to_target_pct"))
        view.share_of_way_pct = None if share is None or view.target.value is None else share

    # Breakdowns the public agreement allows, for the latest period.
    if latest_period is not None:
        latest_cells = mine[(mine["period"] == latest_period) & (mine["dimension"] != "total")]
        order = {d: i for i, d in enumerate(labels.DIMENSION_ORDER)}
        for dim in sorted(latest_cells["dimension"].unique(), key=lambda d: (order.get(d, 99), d)):
            rows = latest_cells[latest_cells["dimension"] == dim].to_dict(orient="records")
            view.breakdowns.append(
                Breakdown(
                    dimension=str(dim),
                    title=labels.dimension_label(str(dim)),
                    period=latest_period,
                    rows=tuple(
                        BreakdownRow(
                            str(r["dimension_value"]),
                            labels.dimension_value_label(str(dim), str(r["dimension_value"]), ind_id),
                            _figure(r, unit),
                        )
                        for r in rows
                    ),
                )
            )
    view.trend_text = describe_trend(view)
    return view


def _quality(
    con: duckdb.DuckDBPyConnection,
    run_id: str | None,
    indicators: list[IndicatorView],
    latest_period: int | None,
) -> QualityView:
    has_files = table_exists(con, "ops", "files")
    has_rejects = table_exists(con, "ops", "rejects")
    has_checks = table_exists(con, "ops", "validations")

    sources: list[SourceQuality] = []
    loaded_sources: set[str] = set()
    if has_files:
        files = _df(
            con,
            "select file_id, source, status, rows_read, rows_loaded, rows_rejected "
            "from ops.files where status <> 'superseded'",
        )
        reasons = pd.DataFrame(columns=["file_id", "source", "row_number", "reason"])
        if has_rejects:
            # Only the reason text and row position: never the rejected value.
            reasons = _df(con, "select file_id, source, row_number, reason from ops.rejects")
            reasons = reasons[reasons["file_id"].isin(set(files["file_id"]))]
        known = list(labels.SOURCES)
        names = known + sorted(set(files["source"].astype(str)) - set(known))
        for src in names:
            f = files[files["source"].astype(str) == src]
            if f.empty and src not in known:
                continue
            r = reasons[reasons["source"].astype(str) == src].copy()
            by_reason: dict[str, set] = {}
            for rec in r.to_dict(orient="records"):
                words = labels.reject_reason_words(rec.get("reason"))
                row = rec.get("row_number")
                by_reason.setdefault(words, set()).add(
                    (rec["file_id"], None if is_missing(row) else int(row))
                )
            loaded = int((f["status"] == "loaded").sum())
            if loaded:
                loaded_sources.add(src)
            sources.append(
                SourceQuality(
                    source=src,
                    label=labels.source_label(src),
                    files_received=len(f),
                    files_loaded=loaded,
                    files_rejected=int((f["status"] == "rejected").sum()),
                    rows_read=int(pd.to_numeric(f["rows_read"], errors="coerce").fillna(0).sum()),
                    rows_loaded=int(pd.to_numeric(f["rows_loaded"], errors="coerce").fillna(0).sum()),
                    rows_rejected=int(pd.to_numeric(f["rows_rejected"], errors="coerce").fillna(0).sum()),
                    reasons=tuple(
                        sorted(((k, len(v)) for k, v in by_reason.items()), key=lambda kv: (-kv[1], kv[0]))
                    ),
                )
            )

    checks_total = checks_passed = warnings_failed = critical_failed = 0
    failures: list[FailedCheck] = []
    if has_checks:
        chosen = run_id or _latest_run(con)
        if chosen is not None:
            checks = _df(
                con,
                "select suite, expectation, success, severity, unexpected_count from ops.validations where run_id = ?",
                [chosen],
            )
            checks_total = len(checks)
            ok = checks["success"].astype(bool)
            checks_passed = int(ok.sum())
            failed = checks[~ok]
            warnings_failed = int((failed["severity"] == "warning").sum())
            critical_failed = int((failed["severity"] == "critical").sum())
            for rec in failed.sort_values(["severity", "suite", "expectation"], kind="stable").to_dict(
                orient="records"
            ):
                failures.append(
                    FailedCheck(
                        suite=labels.suite_label(str(rec["suite"])),
                        what=labels.expectation_words(str(rec["expectation"])),
                        severity=str(rec["severity"]),
                        unexpected_count=_opt_int(rec.get("unexpected_count")),
                    )
                )

    missing: list[str] = []
    if has_files:
        for src, words in labels.SOURCES.items():
            if src not in loaded_sources:
                missing.append(f"לא נקלט אף קובץ של {words}.")
    for ind in indicators:
        if not ind.in_public_agreement:
            missing.append(f"{ind.name_he}: המדד אינו כלול בהסכם הפרסום לציבור ולכן אינו מוצג.")
            continue
        if not ind.series:
            missing.append(f"{ind.name_he}: אין עדיין נתונים.")
            continue
        gaps = [str(p.period) for p in ind.series if p.figure.value is None and not p.figure.suppressed]
        if gaps:
            missing.append(f"{ind.name_he}: חסרים נתונים לשנים {', '.join(gaps)}.")
        if latest_period is not None and ind.latest_period is not None and ind.latest_period < latest_period:
            missing.append(
                f"{ind.name_he}: הנתון האחרון הוא של {ind.latest_period}; נתוני {latest_period} טרם התקבלו."
            )
    return QualityView(
        files_available=has_files,
        checks_available=has_checks and checks_total > 0,
        sources=sources,
        checks_total=checks_total,
        checks_passed=checks_passed,
        warnings_failed=warnings_failed,
        critical_failed=critical_failed,
        failures=failures,
        missing=missing,
    )


def _latest_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run whose validations describe the published warehouse: the last published one."""
    if table_exists(con, "ops", "runs"):
        rows = con.execute(
            "select run_id from ops.runs where run_id in (select run_id from ops.validations) "
            "order by coalesce(published, false) desc, started_at desc limit 1"
        ).fetchall()
        if rows:
            return str(rows[0][0])
    rows = con.execute("select distinct run_id from ops.validations").fetchall()
    if len(rows) == 1:
        return str(rows[0][0])
    return None


def load_report_data(
    con: duckdb.DuckDBPyConnection,
    agreement: Agreement,
    *,
    run_id: str | None,
    as_of: dt.date,
    locality_code: int | None = None,
) -> ReportData:
    """Read the marts and ops tables into :class:`ReportData` (figures already disclosed)."""
    for table in ("indicators", "indicator_values"):
        if not table_exists(con, "marts", table):
            raise ReportError(f"the warehouse has no marts.{table}: run the pipeline first")
    registry = _df(con, "select * from marts.indicators")
    if registry.empty:
        raise ReportError("marts.indicators is empty: no indicator to report on")
    values = _df(con, "select * from marts.indicator_values")
    progress = (
        _df(con, "select * from marts.indicator_progress")
        if table_exists(con, "marts", "indicator_progress")
        else pd.DataFrame(columns=["indicator_id", "locality_code"])
    )
    if progress.empty:
        log.warning("marts.indicator_progress is missing or empty: every status is 'no data'")

    locality = int(locality_code if locality_code is not None else agreement.localities[0])
    if locality not in agreement.localities:
        raise ReportError(f"locality {locality} is not in the public agreement ({agreement.localities})")
    values = values[pd.to_numeric(values["locality_code"]).astype(int) == locality].reset_index(drop=True)
    cells = apply_public_disclosure(values, registry, agreement)

    prog_rows: dict[str, dict] = {}
    if not progress.empty:
        p = progress[pd.to_numeric(progress["locality_code"]).astype(int) == locality]
        prog_rows = {str(r["indicator_id"]): r for r in p.to_dict(orient="records")}

    views = [
        _indicator_view(reg, cells, prog_rows.get(str(reg["indicator_id"])), agreement)
        for reg in _ordered_registry(registry, agreement)
    ]
    by_domain: dict[str, DomainView] = {}
    for v in views:  # domains in the order of their first indicator
        by_domain.setdefault(v.domain, DomainView(v.domain, v.domain_label, [])).indicators.append(v)
    domains = list(by_domain.values())

    periods = [p.period for v in views for p in v.series if p.figure.value is not None or p.figure.suppressed]
    latest_period = max(periods) if periods else None
    quality = _quality(con, run_id, views, latest_period)
    return ReportData(
        as_of=as_of,
        locality_code=locality,
        locality_name=labels.LOCALITIES.get(locality, str(locality)),
        agreement=agreement,
        domains=domains,
        quality=quality,
        latest_period=latest_period,
        first_period=min(periods) if periods else None,
    )


def shown_and_suppressed(data: ReportData) -> tuple[int, int]:
    """Cells (series and breakdown figures) printed with a value, and printed as suppressed."""
    figures: Iterable[Figure] = [f for i in data.indicators for f in i.cells]
    shown = suppressed = 0
    for f in figures:
        if f.suppressed:
            suppressed += 1
        elif f.value is not None:
            shown += 1
    return shown, suppressed


__all__ = [
    "Breakdown",
    "BreakdownRow",
    "DomainView",
    "FailedCheck",
    "Figure",
    "IndicatorView",
    "QualityView",
    "ReportData",
    "ReportError",
    "SeriesPoint",
    "SourceQuality",
    "apply_public_disclosure",
    "load_public_agreement",
    "load_report_data",
    "shown_and_suppressed",
]
