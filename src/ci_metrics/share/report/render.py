"""Jinja2 templates (``templates/``) -> one self-contained HTML page (inline CSS and SVG)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from ci_metrics.share.report import charts, labels, texts
from ci_metrics.share.report.formatting import (
    DASH,
    format_count,
    format_number,
    unit_kind,
)
from ci_metrics.share.report.views import BreakdownRow, Figure, IndicatorView, ReportData

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def num(fig: Figure | None, *, footnote: str | None = None, bare: bool = False) -> Markup:
    """A figure in HTML: the number in an LTR isolate, its unit words after it (not when
    ``bare``: in tables, whose header carries the unit).

    A suppressed figure is a dash with a footnote mark; nothing else of it is printed.
    """
    if fig is None or (fig.value is None and not fig.suppressed):
        return Markup(f'<span class="missing" aria-label="אין נתון">{DASH}</span>')
    if fig.suppressed:
        ref = f' href="#{escape(footnote)}"' if footnote else ""
        return Markup(
            f'<span class="suppressed" aria-label="נתון חסוי">{DASH}'
            f'<sup><a class="fn-ref"{ref} aria-hidden="true">*</a></sup></span>'
        )
    words = f' <span class="unit">{escape(fig.words)}</span>' if fig.words and not bare else ""
    return Markup(f'<bdi dir="ltr" class="num">{escape(fig.number)}</bdi>{words}')


def count(n: int | None) -> Markup:
    return Markup(f'<bdi dir="ltr" class="num">{escape(format_count(n))}</bdi>')


def chart_for(ind: IndicatorView) -> Markup:
    """The indicator's line chart (inline SVG)."""
    decimals = max([p.figure.decimals for p in ind.series if p.figure.value is not None] or [1])

    def label(v: float) -> str:
        text = format_number(v, decimals if not float(v).is_integer() or decimals else 0)
        return text + ("%" if unit_kind(ind.unit) == "percent" else "")

    def target_label(v: float) -> str:
        return (
            "יעד " + format_number(v, ind.target.decimals) + ("%" if unit_kind(ind.unit) == "percent" else "")
        )

    baseline = (
        (ind.baseline_period, ind.baseline.value)
        if ind.baseline_period is not None and ind.baseline.value is not None
        else None
    )
    target = (
        (ind.target_period, ind.target.value)
        if ind.target_period is not None and ind.target.value is not None
        else None
    )
    return charts.line_chart(
        chart_id=f"chart-{ind.indicator_id}",
        title=f"{ind.name_he}: הערכים לאורך השנים",
        desc=ind.trend_text,
        points=[(p.period, p.figure.value) for p in ind.series],
        label=label,
        target_label=target_label,
        percent=unit_kind(ind.unit) == "percent",
        baseline=baseline,
        target=target,
        band=[
            (p.period, float(p.figure.ci_lower), float(p.figure.ci_upper))
            for p in ind.series
            if p.figure.has_interval and p.figure.ci_lower is not None and p.figure.ci_upper is not None
        ],
    )


def bar_for(ind: IndicatorView, row: BreakdownRow) -> Markup:
    """A breakdown row's bar with the whisker of its interval (nothing for a withheld row)."""
    fig = row.figure
    if fig.value is None:
        return Markup("")
    figures = [r.figure for b in ind.breakdowns for r in b.rows if r.figure.value is not None]
    top = max(max(f.ci_upper if f.ci_upper is not None else f.value or 0.0, f.value or 0.0) for f in figures)
    title = f"{row.label}: {fig.text}" + (f", טווח סביר {fig.interval_words}" if fig.has_interval else "")
    return charts.interval_bar(
        value=fig.value,
        lower=fig.ci_lower if fig.has_interval else None,
        upper=fig.ci_upper if fig.has_interval else None,
        scale_max=top,
        wide=row.wide,
        title=title,
    )


def interval(fig: Figure | None) -> Markup:
    """A figure's 95% interval in an LTR isolate, or a dash."""
    if fig is None or not fig.has_interval:
        return Markup(f'<span class="missing">{DASH}</span>')
    return Markup(f'<bdi dir="ltr" class="num ci">{escape(fig.interval_text)}</bdi>')


def funnel_for(ind: IndicatorView) -> Markup:
    """The funnel plot of the indicator's latest period (only when the view has one)."""
    f = ind.funnel
    if f is None:
        return Markup("")
    percent = unit_kind(ind.unit) == "percent"

    def label(v: float) -> str:
        return format_number(v, 1) + ("%" if percent else "")

    mine = next((p for p in f.points if p.is_this_city), None)
    where = ""
    if mine is not None and mine.position:
        where = f" מיקום העיר: {labels.FUNNEL_POSITIONS.get(mine.position, mine.position)}."
    return charts.funnel_chart(
        chart_id=f"funnel-{ind.indicator_id}",
        title=f"{ind.name_he}: העיר לעומת הרשויות האחרות ({f.period})",
        desc=f"ערכי {len(f.points)} רשויות לפי גודל הקבוצה, עם גבולות הבקרה של 95% ושל 99.8% "
        f"סביב הערך של כלל הרשויות ({label(f.p0)}).{where}",
        p0=f.p0,
        points=[(p.n, p.value, p.is_this_city) for p in f.points],
        limits=[(p.n, p.lower_95, p.upper_95, p.lower_998, p.upper_998) for p in f.points],
        label=label,
        percent=percent,
    )


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "j2", "html.j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(
        num=num,
        count=count,
        chart_for=chart_for,
        bar_for=bar_for,
        interval=interval,
        funnel_for=funnel_for,
        texts=texts,
        status_icon=charts.status_icon,
        swatch=charts.legend_swatch,
        labels=labels,
        hebrew_date=labels.hebrew_date,
        status_colours=charts.STATUS_COLOURS,
        revisions_note=texts.revisions_note,
        revised_count_words=texts.revised_count_words,
    )
    return env


def render_html(data: ReportData) -> str:
    env = environment()
    css = (TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
    template = env.get_template("report.html.j2")
    return template.render(
        data=data,
        css=Markup(css),
        title=labels.TITLE,
        partnership=labels.PARTNERSHIP,
        partners_line=labels.PARTNERS_LINE,
    )
