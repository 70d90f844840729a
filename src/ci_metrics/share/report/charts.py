"""Inline SVG, generated in Python: the line chart of an indicator and the status icons.

No JavaScript and nothing fetched: each chart is a self-contained ``<svg role="img">``
with a ``<title>`` and a ``<desc>`` (the trend in words), and the page shows the same
figures in a table beside it. Time runs left to right (as in the charts of the CBS's
Hebrew publications); text inside the chart is numbers and the word יעד (and a note
when nothing can be published).

Colours: every colour that carries text or a line the reader needs has a contrast ratio of
at least 4.5:1 against the page (WCAG 2.1 AA for text; :func:`contrast_ratio` is checked by
the tests), and no information is carried by colour alone: the target is a diamond,
the baseline a dashed line, the statuses have distinct shapes and always a word.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from ci_metrics.share.report import labels

PAGE = "#ffffff"
INK = "#1f2933"
MUTED = "#4b5563"
GRID = "#d9dee4"
SERIES = "#1d4f86"
BASELINE = "#4b5563"
TARGET = "#8a3f00"
FUTURE = "#f4f6f8"
# A white outline under chart labels: they stay legible over lines.
HALO = 'stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'

STATUS_COLOURS: dict[str, dict[str, str]] = {
    labels.STATUS_ACHIEVED: {"fg": "#1b6232", "bg": "#e4f2e8"},
    labels.STATUS_ON_TRACK: {"fg": "#1d4f86", "bg": "#e3edf8"},
    labels.STATUS_OFF_TRACK: {"fg": "#9c2a18", "bg": "#fbe9e5"},
    labels.STATUS_NO_DATA: {"fg": "#4b5563", "bg": "#eef0f3"},
}


# --------------------------------------------------------------------------- colour


def _channel(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2.1 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# --------------------------------------------------------------------------- icons


def status_icon(status: str, size: int = 18) -> Markup:
    """A decorative icon (``aria-hidden``: the status word always stands next to it).

    achieved: a check mark in a disc; on track: a half-filled disc; off track: a
    triangle with an exclamation mark; no data: a dashed ring with a dash.
    """
    fg = STATUS_COLOURS.get(status, STATUS_COLOURS[labels.STATUS_NO_DATA])["fg"]
    if status == labels.STATUS_ACHIEVED:
        body = (
            f'<circle cx="10" cy="10" r="9" fill="{fg}"/>'
            '<path d="M5.5 10.4 8.6 13.4 14.6 6.9" fill="none" stroke="#fff" stroke-width="2.2" '
            'stroke-linecap="round" stroke-linejoin="round"/>'
        )
    elif status == labels.STATUS_ON_TRACK:
        body = (
            f'<circle cx="10" cy="10" r="8" fill="#fff" stroke="{fg}" stroke-width="2"/>'
            f'<path d="M10 2 A8 8 0 0 1 10 18 Z" fill="{fg}"/>'
        )
    elif status == labels.STATUS_OFF_TRACK:
        body = (
            f'<path d="M10 1.5 19 18 1 18 Z" fill="{fg}" stroke="{fg}" stroke-width="1" '
            'stroke-linejoin="round"/>'
            '<rect x="9" y="6.5" width="2" height="6" rx="1" fill="#fff"/>'
            '<circle cx="10" cy="15.2" r="1.2" fill="#fff"/>'
        )
    else:
        body = (
            f'<circle cx="10" cy="10" r="8" fill="none" stroke="{fg}" stroke-width="2" '
            'stroke-dasharray="3 2.4"/>'
            f'<rect x="6" y="9" width="8" height="2" rx="1" fill="{fg}"/>'
        )
    return Markup(
        f'<svg class="status-icon" width="{size}" height="{size}" viewBox="0 0 20 20" '
        f'aria-hidden="true" focusable="false">{body}</svg>'
    )


def legend_swatch(kind: str) -> Markup:
    """Small inline symbols for the legend under each chart."""
    if kind == "series":
        body = (
            f'<line x1="2" y1="8" x2="30" y2="8" stroke="{SERIES}" stroke-width="2.5"/>'
            f'<circle cx="16" cy="8" r="3.5" fill="#fff" stroke="{SERIES}" stroke-width="2"/>'
        )
    elif kind == "baseline":
        body = (
            f'<line x1="2" y1="8" x2="30" y2="8" stroke="{BASELINE}" stroke-width="1.6" '
            'stroke-dasharray="6 4"/>'
        )
    elif kind == "path":
        body = (
            f'<line x1="2" y1="8" x2="30" y2="8" stroke="{TARGET}" stroke-width="1.4" '
            'stroke-dasharray="1.5 3.5" stroke-linecap="round"/>'
        )
    else:  # target
        body = f'<path d="M16 2 22 8 16 14 10 8 Z" fill="{TARGET}"/>'
    return Markup(
        '<svg class="swatch" width="32" height="16" viewBox="0 0 32 16" aria-hidden="true" '
        f'focusable="false">{body}</svg>'
    )


# --------------------------------------------------------------------------- line chart


def nice_step(span: float, ticks: int = 5) -> float:
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag + 1e-12:
            return m * mag
    return 10 * mag


def y_scale(values: Sequence[float], *, percent: bool) -> tuple[float, float, float]:
    """(low, high, step): zero always included, so that a small change does not look like a large one."""
    lo = min([0.0, *values])
    hi = max([0.0, *values])
    if hi == lo:
        hi = lo + 1
    step = nice_step(hi - lo)
    low = math.floor(lo / step + 1e-9) * step
    high = math.ceil(hi / step - 1e-9) * step
    if high - hi < 0.04 * (high - low):  # room above the highest point for its label
        high += step
    if percent and high > 100 and hi <= 100:
        high = 100.0
    return low, high, step


def _fmt_tick(v: float, step: float) -> str:
    decimals = 0 if float(step).is_integer() else max(1, -math.floor(math.log10(step)))
    text = f"{abs(v):,.{decimals}f}"
    return ("\u2212" + text) if v < -1e-12 else text


def line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    points: Sequence[tuple[int, float | None]],
    label: Callable[[float], str],
    percent: bool,
    target_label: Callable[[float], str] | None = None,
    baseline: tuple[int, float] | None = None,
    target: tuple[int, float] | None = None,
    width: int = 640,
    height: int = 250,
) -> Markup:
    """The values over time, with the baseline (dashed line) and the target (diamond).

    ``points``: (period, value) in period order; None = not published (a gap in the
    line). ``label`` formats a value for the chart's own labels.
    """
    left, right, top, bottom = 50, 30, 22, 34
    pw, ph = width - left - right, height - top - bottom
    published = [(p, v) for p, v in points if v is not None]

    years = [p for p, _ in points]
    if baseline:
        years.append(baseline[0])
    if target:
        years.append(target[0])
    x0, x1 = (min(years), max(years)) if years else (0, 1)
    if x1 == x0:
        x1 = x0 + 1

    ys = [v for _, v in published]
    if baseline:
        ys.append(baseline[1])
    if target:
        ys.append(target[1])
    y0, y1, step = y_scale(ys or [0.0], percent=percent)

    def x_of(year: float) -> float:
        return left + (year - x0) / (x1 - x0) * pw

    def y_of(v: float) -> float:
        return top + (y1 - v) / (y1 - y0) * ph

    e = escape
    out: list[str] = [
        f'<svg id="{e(chart_id)}" class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{e(chart_id)}-title {e(chart_id)}-desc" preserveAspectRatio="xMidYMid meet" '
        f'direction="ltr" font-size="13">',
        f'<title id="{e(chart_id)}-title">{e(title)}</title>',
        f'<desc id="{e(chart_id)}-desc">{e(desc)}</desc>',
    ]

    # Years to come (after the last published value): lightly shaded.
    last = max((p for p, _ in points), default=None)
    if last is not None and last < x1:
        fx = x_of(last + 0.5)
        out.append(
            f'<rect x="{fx:.1f}" y="{top}" width="{left + pw - fx:.1f}" height="{ph}" fill="{FUTURE}"/>'
        )

    # Horizontal grid and y labels.
    n = round((y1 - y0) / step)
    for i in range(n + 1):
        v = y0 + i * step
        y = y_of(v)
        stroke = MUTED if abs(v) < 1e-12 else GRID
        width_ = 1.2 if abs(v) < 1e-12 else 1
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="{stroke}" '
            f'stroke-width="{width_}"/>'
        )
        out.append(
            f'<text x="{left - 8}" y="{y + 4.5:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{e(_fmt_tick(v, step))}</text>"
        )

    # x labels (every year, or every other when crowded).
    span = x1 - x0
    every = 1 if span <= 12 else 2
    for yr in range(x0, x1 + 1):
        if (yr - x0) % every:
            continue
        out.append(
            f'<text x="{x_of(yr):.1f}" y="{top + ph + 22}" text-anchor="middle" fill="{MUTED}">{yr}</text>'
        )
        out.append(
            f'<line x1="{x_of(yr):.1f}" y1="{top + ph}" x2="{x_of(yr):.1f}" y2="{top + ph + 5}" '
            f'stroke="{GRID}"/>'
        )

    # Baseline (dashed) and the straight path from the baseline to the target (dotted).
    if baseline:
        by = y_of(baseline[1])
        out.append(
            f'<line x1="{left}" y1="{by:.1f}" x2="{left + pw}" y2="{by:.1f}" stroke="{BASELINE}" '
            f'stroke-width="1.6" stroke-dasharray="6 4"/>'
        )
    if baseline and target:
        out.append(
            f'<line x1="{x_of(baseline[0]):.1f}" y1="{y_of(baseline[1]):.1f}" x2="{x_of(target[0]):.1f}" '
            f'y2="{y_of(target[1]):.1f}" stroke="{TARGET}" stroke-width="1.4" stroke-dasharray="1.5 3.5" '
            f'stroke-linecap="round"/>'
        )

    # The series: a line broken where a value is not published.
    segments: list[list[tuple[int, float]]] = [[]]
    for p, value in points:
        if value is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append((p, value))
    for seg in segments:
        if len(seg) >= 2:
            d = " ".join(
                f"{'M' if i == 0 else 'L'}{x_of(p):.1f} {y_of(v):.1f}" for i, (p, v) in enumerate(seg)
            )
            out.append(
                f'<path d="{d}" fill="none" stroke="{SERIES}" stroke-width="2.6" stroke-linejoin="round"/>'
            )
    for p, v in published:
        out.append(
            f'<circle cx="{x_of(p):.1f}" cy="{y_of(v):.1f}" r="3.8" fill="#fff" stroke="{SERIES}" '
            'stroke-width="2.2"/>'
        )

    # Target: a diamond and its label.
    if target:
        tx, ty = x_of(target[0]), y_of(target[1])
        out.append(
            f'<path d="M{tx:.1f} {ty - 7:.1f} L{tx + 7:.1f} {ty:.1f} L{tx:.1f} {ty + 7:.1f} '
            f'L{tx - 7:.1f} {ty:.1f} Z" fill="{TARGET}"/>'
        )
        ly = ty - 12 if ty - 12 > top + 10 else ty + 22
        text = (target_label or label)(target[1])
        out.append(
            f'<text x="{tx + 8:.1f}" y="{ly:.1f}" text-anchor="end" fill="{TARGET}" font-weight="700" {HALO} '
            f'direction="ltr" unicode-bidi="plaintext">{e(text)}</text>'
        )

    # The latest published value, labelled.
    if published:
        p, v = published[-1]
        cx, cy = x_of(p), y_of(v)
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{SERIES}"/>')
        above = cy - 12 > top + 8
        ly = cy - 12 if above else cy + 22
        out.append(
            f'<text x="{cx:.1f}" y="{ly:.1f}" text-anchor="middle" fill="{SERIES}" font-weight="700" '
            f"{HALO}>{e(label(v))}</text>"
        )
    if not published:
        out.append(
            f'<text x="{left + pw / 2:.1f}" y="{top + ph / 2:.1f}" text-anchor="middle" fill="{MUTED}" '
            f'direction="rtl">אין ערכים לפרסום</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))
