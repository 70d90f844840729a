"""The warehouse, read into the view models of the public report (:mod:`.views`).

Every figure is computed in dbt and only picked and worded here: baseline, target, latest
period and value and status come from ``marts.indicator_progress``; the data-quality
counts from ``marts.data_quality``, ``data_quality_rejects``, ``data_quality_checks`` and
``data_quality_failed_checks`` (counts only: no file ID, file name or rejected value).

Every figure of an indicator passes through the *public* agreement's disclosure control
(:func:`apply_public_disclosure`, bound to :func:`ci_metrics.share.extracts.build_partner_frame`,
the very function that makes the public partner's extract): a suppressed cell reaches the
templates as a :class:`Figure` with no value, a published one with the value and decimals
the extract would carry. The baseline and the latest value are printed as their cell is.

The values revised since the previous report (:func:`load_revisions`) compare two such
frames: the values as published when the previous report was made (the history's
``marts.indicator_values_as_of``) and the values now, each through the same control.

Intervals (issue 15): each figure carries its cell's ``ci_lower``/``ci_upper`` as the extract
does (none when withheld); whether a change is chance comes from ``marts.indicator_progress``,
the benchmark verdicts from ``marts.official_comparison`` and the funnel from
``marts.indicator_funnel`` (restricted to the public agreement's localities and to totals the
public sees). Each is read only if present, so an older warehouse still gives a report.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ci_metrics.share.extracts import build_partner_frame
from ci_metrics.share.extracts.agreements import Agreement, AgreementError, agreement_status
from ci_metrics.share.extracts.disclosure import round_half_up
from ci_metrics.share.extracts.revisions import first_recorded, revision_causes, values_as_of
from ci_metrics.share.report import labels, texts
from ci_metrics.share.report.editions import Baseline, Publication
from ci_metrics.share.report.formatting import format_change
from ci_metrics.share.report.marts import (
    CheckRunRow,
    ComparisonRow,
    FailedCheckRow,
    FunnelRow,
    IndicatorRow,
    ProgressRow,
    RejectRow,
    ReportError,
    SourceRow,
    mart_columns,
    mart_exists,
    read_rows,
)
from ci_metrics.share.report.revised import revision_rows
from ci_metrics.share.report.views import (
    WIDE_FACTOR,
    Benchmark,
    Breakdown,
    BreakdownRow,
    DomainView,
    FailedCheck,
    Figure,
    Funnel,
    FunnelPoint,
    IndicatorView,
    QualityView,
    ReportData,
    RevisionsView,
    SeriesPoint,
    SourceQuality,
)

log = logging.getLogger(__name__)

PUBLIC_PARTNER = "public"


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


def _as_printed(value: float | None, cell: Figure | None, unit: str) -> Figure:
    """A figure of the progress mart as the public may see it: withheld with its cell and
    rounded as its cell; a figure with no cell (a fixed baseline) to one decimal."""
    if value is None or (cell is not None and cell.value is None):
        return Figure(None, 1, unit, suppressed=cell is not None and cell.suppressed)
    decimals = 1 if cell is None else cell.decimals
    return Figure(round_half_up(value, decimals), decimals, unit)


def _benchmarks(
    reg: IndicatorRow, rows: list[ComparisonRow], period: int | None, totals: dict[int, Figure]
) -> list[Benchmark]:
    """The verdicts of the latest period that has one (at most the latest published period),
    of a period whose total the public sees (a verdict on a withheld value would hint at it)."""
    dated = [
        r
        for r in rows
        if (period is None or r.period <= period)
        and (t := totals.get(r.period)) is not None
        and t.value is not None
    ]
    out: list[Benchmark] = []
    for key, attr in (("peers", "benchmark_verdict_peers"), ("all", "benchmark_verdict_all")):
        with_verdict = [r for r in dated if getattr(r, attr) is not None]
        if not with_verdict:
            continue
        row = max(with_verdict, key=lambda r: r.period)
        verdict = str(getattr(row, attr))
        words = labels.VERDICT_DIRECTION.get((verdict, reg.polarity), labels.VERDICT_SIMILAR)
        out.append(
            Benchmark(labels.BENCHMARKS[key], verdict, words, labels.VERDICT_MEANING[verdict], row.period)
        )
    return out


def _funnel(rows: list[FunnelRow], locality: int, period: int | None, published: bool) -> Funnel | None:
    """The funnel of the latest published period, when the mart has more than one locality in it
    and the city's own value is published (else its point would show a withheld value)."""
    chosen = [r for r in rows if r.period == period and r.n is not None and r.value is not None]
    if not published or len({r.locality_code for r in chosen}) < 2 or chosen[0].p0 is None:
        return None
    points = tuple(
        FunnelPoint(
            r.locality_code,
            float(r.n or 0),
            float(r.value or 0),
            r.lower_95,
            r.upper_95,
            r.lower_998,
            r.upper_998,
            r.locality_code == locality,
            r.funnel_position,
        )
        for r in sorted(chosen, key=lambda r: (r.n or 0, r.locality_code))
    )
    return Funnel(int(period or 0), float(chosen[0].p0), points)


def _indicator_view(
    reg: IndicatorRow,
    progress: ProgressRow | None,
    cells: list[dict[str, Any]],
    agreement: Agreement,
    comparison: list[ComparisonRow] | None = None,
    funnel: list[FunnelRow] | None = None,
) -> IndicatorView:
    ind_id, unit = reg.indicator_id, reg.unit
    source_keys = [s.strip() for s in (reg.source or "").replace(",", ";").split(";") if s.strip()]
    definition_he = reg.definition_he or ""
    owner_en = reg.owner_partner or ""
    owner_he = reg.owner_partner_he or ""
    view = IndicatorView(
        indicator_id=ind_id,
        name_he=reg.name_he or ind_id,
        name_en=reg.name_en or "",
        domain=reg.domain or "",
        domain_label=labels.domain_label(reg.domain, reg.domain_he),
        unit=unit,
        polarity=reg.polarity,
        definition=definition_he or reg.definition or "",
        definition_lang="he" if definition_he else "en",
        sources=", ".join(labels.source_label(s) for s in source_keys),
        owner=owner_he or owner_en,
        owner_lang="he" if owner_he or not owner_en else "en",
        period_notes=tuple(note for key, note in texts.PERIOD_NOTES.items() if key in source_keys),
        in_public_agreement=ind_id in agreement.indicators,
        threshold=max(agreement.min_cell_size, reg.min_cell_size or 0),
        baseline=Figure(None, 1, unit),
        target=Figure(None, 1, unit),
    )
    if progress is not None:
        view.baseline_period, view.target_period = progress.baseline_period, progress.target_period
        view.target_words = texts.target_rule_words(progress.target_rule, progress.target_parameter)
    if not view.in_public_agreement:
        view.trend_text = texts.describe_trend(view)
        return view

    # The series: every period from the first published cell to the last (none = a gap).
    totals = {int(r["period"]): Figure.of_cell(r, unit) for r in cells if r["dimension"] == "total"}
    if totals:
        periods = range(min(totals), max(totals) + 1)
        view.series = [SeriesPoint(p, totals.get(p, Figure(None, 1, unit))) for p in periods]

    if progress is not None:
        base_cell = totals.get(progress.baseline_period) if progress.baseline_period is not None else None
        view.baseline = _as_printed(progress.baseline_value, base_cell, unit)
        # A target computed from a suppressed baseline would give the baseline away.
        relative = progress.target_rule not in (None, "", "fixed")
        if progress.target_value is not None and not (view.baseline.suppressed and relative):
            t = progress.target_value
            decimals = 0 if float(round_half_up(t, 1)).is_integer() else 1
            view.target = Figure(round_half_up(t, 1), decimals, unit)
        view.status = progress.status
        view.latest_period = progress.latest_period
        if progress.latest_period is not None:
            latest_cell = totals.get(progress.latest_period)  # no cell: a period the public does not get
            view.latest = _as_printed(progress.latest_value if latest_cell else None, latest_cell, unit)
            change = view.latest.minus(view.baseline)
            if change is not None:
                view.change = format_change(change[0], unit, change[1])
                view.change_number, _, view.change_words = view.change.partition(" ")
                # Chance or not: only said of a change the reader sees (both ends printed).
                view.change_significant = progress.is_change_since_baseline_significant
                view.previous_change_significant = progress.is_change_since_previous_significant
                lo, hi = progress.change_since_baseline_ci_lower, progress.change_since_baseline_ci_upper
                # The change's interval is made of both ends' intervals: printed only when both
                # are (an end without one, e.g. a gap whose source is merged, would be given away).
                ends = (base_cell, latest_cell)
                if lo is not None and hi is not None and all(c is not None and c.has_interval for c in ends):
                    view.change_interval = (
                        f"{format_change(round_half_up(lo, change[1]), unit, change[1])} עד "
                        f"{format_change(round_half_up(hi, change[1]), unit, change[1])}"
                    )

    # Breakdowns the public agreement allows, for the latest period.
    by_dimension: dict[str, list[BreakdownRow]] = {}
    for r in cells:
        if r["dimension"] != "total" and r["period"] == view.latest_period:
            code = str(r["dimension_value"])
            label = labels.group_value_label(agreement, str(r["dimension"]), code, reg.gender_labels)
            by_dimension.setdefault(str(r["dimension"]), []).append(
                BreakdownRow(code, label, Figure.of_cell(r, unit))
            )
    order = {d: i for i, d in enumerate(labels.DIMENSION_ORDER)}
    total_now = totals.get(view.latest_period) if view.latest_period is not None else None
    total_width = total_now.interval_width if total_now is not None else None
    for dim, rows in by_dimension.items():
        by_dimension[dim] = [replace(r, wide=_is_wide(r.figure.interval_width, total_width)) for r in rows]
    view.breakdowns = [
        Breakdown(dim, labels.dimension_label(dim), int(view.latest_period or 0), tuple(by_dimension[dim]))
        for dim in sorted(by_dimension, key=lambda d: (order.get(d, len(order)), d))
    ]
    view.benchmarks = _benchmarks(reg, comparison or [], view.latest_period, totals)
    latest_published = view.latest is not None and view.latest.value is not None
    view.funnel = _funnel(
        funnel or [], int(cells[0]["locality_code"]) if cells else 0, view.latest_period, latest_published
    )
    view.trend_text = texts.describe_trend(view)
    return view


def _published_totals(con: duckdb.DuckDBPyConnection, agreement: Agreement) -> set[tuple[str, int, int]]:
    """(indicator, period, locality) of every total the public agreement publishes, all its localities."""
    values = con.execute(
        "select * from marts.indicator_values where list_contains(?, locality_code)", [agreement.localities]
    ).df()
    frame = apply_public_disclosure(values, con.execute("select * from marts.indicators").df(), agreement)
    totals = frame[(frame["dimension"] == "total") & (frame["suppressed"] == "")]
    return {
        (str(i), int(p), int(c))
        for i, p, c in zip(totals["indicator_id"], totals["period"], totals["locality_code"], strict=True)
    }


def _is_wide(width: float | None, total_width: float | None) -> bool:
    """A breakdown's interval much wider than the total's (WIDE_FACTOR): visibly less certain."""
    if width is None:
        return False
    if total_width is None or total_width <= 0:
        return False
    return width > WIDE_FACTOR * total_width


def _quality(
    con: duckdb.DuckDBPyConnection, run_id: str | None, indicators: list[IndicatorView], latest: int | None
) -> QualityView:
    files_available = mart_exists(con, "data_quality")
    sources: list[SourceQuality] = []
    if files_available:
        counted = {r.source: r for r in read_rows(con, SourceRow, "select * from marts.data_quality")}
        reasons: dict[str, list[tuple[str, int]]] = {}
        for r in read_rows(con, RejectRow, "select * from marts.data_quality_rejects"):
            words = labels.REJECT_CATEGORIES.get(r.reject_category, r.reject_category)
            reasons.setdefault(r.source, []).append((words, r.rows_rejected))
        for name in [*labels.SOURCES, *sorted(counted.keys() - labels.SOURCES.keys())]:
            row = counted.get(name)  # a partner source with no file: a row of zeros
            sources.append(
                SourceQuality(
                    source=name,
                    label=labels.source_label(name),
                    reasons=tuple(sorted(reasons.get(name, []), key=lambda kv: (-kv[1], kv[0]))),
                    **(row.model_dump(exclude={"source"}) if row else {}),
                )
            )

    runs: list[CheckRunRow] = []
    if mart_exists(con, "data_quality_checks"):
        runs = read_rows(con, CheckRunRow, "select * from marts.data_quality_checks")
    chosen = next((r for r in runs if (r.run_id == run_id if run_id else r.is_latest_run)), None)
    failed = (
        read_rows(
            con,
            FailedCheckRow,
            "select * from marts.data_quality_failed_checks where run_id = ? order by check_number",
            [chosen.run_id],
        )
        if chosen
        else []
    )
    return QualityView(
        files_available=files_available,
        checks_available=chosen is not None,
        sources=sources,
        checks_total=chosen.checks_total if chosen else 0,
        checks_passed=chosen.checks_passed if chosen else 0,
        warnings_failed=chosen.warnings_failed if chosen else 0,
        critical_failed=chosen.critical_failed if chosen else 0,
        failures=[
            FailedCheck(
                suite=labels.suite_label(f.suite),
                what=labels.CHECK_CATEGORIES.get(f.check_category, f.check_category),
                severity=f.severity,
                unexpected_count=f.unexpected_count,
            )
            for f in failed
        ],
        missing=texts.missing_notes(indicators, sources if files_available else None, latest),
    )


HISTORY_MARTS = ("indicator_value_history", "indicator_values_as_of", "indicator_revisions")
"""The marts of the history stage the revisions are read from."""


def load_revisions(
    con: duckdb.DuckDBPyConnection,
    agreement: Agreement,
    *,
    locality: int,
    indicators: pd.DataFrame,
    current: pd.DataFrame,
    registry: list[IndicatorRow],
    publication: Publication | None,
    baseline: Baseline | None,
) -> RevisionsView:
    """The public values revised between ``baseline`` and now (``current``: the public frame
    of the report); see :class:`RevisionsView` for the states."""
    if publication is None or not all(mart_exists(con, m) for m in HISTORY_MARTS):
        return RevisionsView("unavailable")
    if baseline is None:
        return RevisionsView("first")
    since_date = baseline.report_date or labels.local_date(baseline.published_at)
    view = RevisionsView("unchanged", since_date=since_date, since_report=baseline.chosen_from == "report")
    first = first_recorded(con)
    if first is None or baseline.published_at < first:
        view.state = "no_history"
        return view
    then = values_as_of(con, baseline.published_at)
    previous = apply_public_disclosure(then[then["locality_code"] == locality], indicators, agreement)
    causes = revision_causes(con, baseline.published_at)
    if not causes.empty:
        causes = causes[causes["locality_code"] == locality]
    view.rows = revision_rows(previous, current, causes, registry, agreement)
    view.state = "revised" if view.rows else "unchanged"
    return view


def load_report_data(
    con: duckdb.DuckDBPyConnection,
    agreement: Agreement,
    *,
    run_id: str | None,
    as_of: dt.date,
    locality_code: int | None = None,
    publication: Publication | None = None,
    baseline: Baseline | None = None,
) -> ReportData:
    """Read the marts into :class:`ReportData` (figures already disclosed). ``publication``:
    the one the warehouse holds (none: no revisions section); ``baseline``: the one the
    previous report showed (:func:`ci_metrics.share.report.editions.choose_baseline`)."""
    for table in ("indicators", "indicator_values"):
        if not mart_exists(con, table):
            raise ReportError(f"the warehouse has no marts.{table}: run the pipeline first")
    locality = int(locality_code if locality_code is not None else agreement.localities[0])
    if locality not in agreement.localities:
        raise ReportError(f"locality {locality} is not in the public agreement ({agreement.localities})")
    registry = read_rows(
        con, IndicatorRow, "select * from marts.indicators order by display_order nulls last, indicator_id"
    )
    if not registry:
        raise ReportError("marts.indicators is empty: no indicator to report on")
    values = con.execute("select * from marts.indicator_values where locality_code = ?", [locality]).df()
    indicators = con.execute("select * from marts.indicators").df()
    disclosed = apply_public_disclosure(values, indicators, agreement)
    cells: dict[str, list[dict[str, Any]]] = {}
    for cell in disclosed.to_dict(orient="records"):
        cells.setdefault(str(cell["indicator_id"]), []).append({str(k): v for k, v in cell.items()})

    progress: dict[str, ProgressRow] = {}
    if mart_exists(con, "indicator_progress"):
        sql = "select * from marts.indicator_progress where locality_code = ?"
        progress = {p.indicator_id: p for p in read_rows(con, ProgressRow, sql, [locality])}
    if not progress:
        log.warning("marts.indicator_progress is missing or empty: no baseline, target or status")

    comparison: dict[str, list[ComparisonRow]] = {}
    if {"benchmark_verdict_peers", "benchmark_verdict_all"} & mart_columns(con, "official_comparison"):
        sql = "select * from marts.official_comparison where locality_code = ?"
        for c in read_rows(con, ComparisonRow, sql, [locality]):
            comparison.setdefault(c.indicator_id, []).append(c)
    funnels: dict[str, list[FunnelRow]] = {}
    if mart_exists(con, "indicator_funnel"):
        rows = read_rows(con, FunnelRow, "select * from marts.indicator_funnel")
        if len({f.locality_code for f in rows} & set(agreement.localities)) > 1:
            # Only localities of the public agreement, and only their totals the public may see.
            shown = _published_totals(con, agreement)
            for f in rows:
                if (f.indicator_id, f.period, f.locality_code) in shown:
                    funnels.setdefault(f.indicator_id, []).append(f)

    views = [
        _indicator_view(
            reg,
            progress.get(reg.indicator_id),
            cells.get(reg.indicator_id, []),
            agreement,
            comparison.get(reg.indicator_id),
            funnels.get(reg.indicator_id),
        )
        for reg in registry
    ]
    revisions = load_revisions(
        con,
        agreement,
        locality=locality,
        indicators=indicators,
        current=disclosed,
        registry=registry,
        publication=publication,
        baseline=baseline,
    )
    for v in views:
        v.revised = v.in_public_agreement and v.indicator_id in revisions.indicator_ids
    by_domain: dict[str, DomainView] = {}
    for v in views:  # domains in the order of their first indicator
        by_domain.setdefault(v.domain, DomainView(v.domain, v.domain_label, [])).indicators.append(v)
    periods = [p.period for v in views for p in v.series if p.figure.value is not None or p.figure.suppressed]
    latest_period = max(periods) if periods else None
    return ReportData(
        as_of=as_of,
        locality_code=locality,
        locality_name=labels.LOCALITIES.get(locality, str(locality)),
        agreement=agreement,
        domains=list(by_domain.values()),
        quality=_quality(con, run_id, views, latest_period),
        latest_period=latest_period,
        first_period=min(periods) if periods else None,
        revisions=revisions,
    )


__all__ = [
    "ReportData",
    "ReportError",
    "apply_public_disclosure",
    "load_public_agreement",
    "load_report_data",
    "load_revisions",
]
