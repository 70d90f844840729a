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
from ci_metrics.share.report.views import Figure, IndicatorView, ReportData

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
