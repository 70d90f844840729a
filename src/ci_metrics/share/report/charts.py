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
BAND = "#c5d7ec"  # the 95% interval around the line (an area under the line, no text on it)
WIDE_BAR = "#9db8d9"  # a breakdown whose interval is wide: lighter (and marked in words)
LIMIT_95 = "#4b5563"
LIMIT_998 = "#8a3f00"
# A white outline under chart labels: they stay legible over lines.
HALO = 'stroke="#ffffff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'

STATUS_COLOURS: dict[str, dict[str, str]] = {
    labels.STATUS_ACHIEVED: {"fg": "#1b6232", "bg": "#e4f2e8"},
    labels.STATUS_ON_TRACK: {"fg": "#1d4f86", "bg": "#e3edf8"},
    labels.STATUS_NO_CHANGE: {"fg": "#6b4e00", "bg": "#fbf1d6"},
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
    triangle with an exclamation mark; no detectable change: a ring with an equals sign;
    no data: a dashed ring with a dash.
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
    elif status == labels.STATUS_NO_CHANGE:
        body = (
            f'<circle cx="10" cy="10" r="8" fill="#fff" stroke="{fg}" stroke-width="2"/>'
            f'<rect x="5.5" y="6.8" width="9" height="2" rx="1" fill="{fg}"/>'
            f'<rect x="5.5" y="11.2" width="9" height="2" rx="1" fill="{fg}"/>'
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
    elif kind == "band":
        body = f'<rect x="2" y="3" width="28" height="10" fill="{BAND}"/>' + (
            f'<line x1="2" y1="8" x2="30" y2="8" stroke="{SERIES}" stroke-width="2"/>'
        )
    elif kind == "whisker":
        body = (
            f'<line x1="6" y1="8" x2="26" y2="8" stroke="{INK}" stroke-width="1.4"/>'
            f'<line x1="6" y1="4" x2="6" y2="12" stroke="{INK}" stroke-width="1.4"/>'
            f'<line x1="26" y1="4" x2="26" y2="12" stroke="{INK}" stroke-width="1.4"/>'
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
    band: Sequence[tuple[int, float, float]] = (),
    width: int = 640,
    height: int = 250,
) -> Markup:
    """The values over time, with the baseline (dashed line), the target (diamond) and the
    95% interval of each value (a band around the line).

    ``points``: (period, value) in period order; None = not published (a gap in the
    line). ``label`` formats a value for the chart's own labels. ``band``: (period, lower,
    upper) of the published values that have an interval; the band is broken where a
    period has none, and a lone period's interval is a vertical whisker.
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

    ys = [v for _, v in published] + [b for _, lo, hi in band for b in (lo, hi)]
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

    # The 95% interval: a band under the line, broken where a period has no interval.
    bounds = {p: (lo, hi) for p, lo, hi in band}
    runs: list[list[int]] = [[]]
    for p, _ in points:
        if p in bounds:
            runs[-1].append(p)
        elif runs[-1]:
            runs.append([])
    for run in runs:
        if len(run) >= 2:
            upper = " ".join(f"{x_of(p):.1f},{y_of(bounds[p][1]):.1f}" for p in run)
            lower = " ".join(f"{x_of(p):.1f},{y_of(bounds[p][0]):.1f}" for p in reversed(run))
            out.append(f'<polygon class="ci-band" points="{upper} {lower}" fill="{BAND}"/>')
        elif run:
            p = run[0]
            out.append(
                f'<line class="ci-band" x1="{x_of(p):.1f}" y1="{y_of(bounds[p][0]):.1f}" x2="{x_of(p):.1f}" '
                f'y2="{y_of(bounds[p][1]):.1f}" stroke="{BAND}" stroke-width="8"/>'
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


# --------------------------------------------------------------------------- breakdown bar


def interval_bar(
    *,
    value: float,
    lower: float | None,
    upper: float | None,
    scale_max: float,
    wide: bool,
    title: str,
    width: int = 160,
    height: int = 18,
) -> Markup:
    """A breakdown's value as a bar from zero, with its 95% interval as a whisker; a bar whose
    interval is wide is lighter (the table says so in words too). ``scale_max``: the right
    end of the scale, common to the rows of an indicator. Negative values are drawn at zero
    width (the table beside it carries the number)."""
    top = max(scale_max, value, upper or 0.0, 1e-9)

    def x_of(v: float) -> float:
        return 2 + max(0.0, min(v, top)) / top * (width - 4)

    fill = WIDE_BAR if wide else SERIES
    cls = "bar wide" if wide else "bar"
    parts = [
        f'<svg class="{cls}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'direction="ltr" aria-label="{escape(title)}">',
        f'<rect x="2" y="4" width="{x_of(value) - 2:.1f}" height="{height - 8}" fill="{fill}"/>',
    ]
    if lower is not None and upper is not None:
        y = height / 2
        x0, x1 = x_of(lower), x_of(upper)
        parts.append(
            f'<g class="whisker" data-lower="{lower!r}" data-upper="{upper!r}" '
            f'stroke="{INK}" stroke-width="1.4">'
            f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}"/>'
            f'<line x1="{x0:.1f}" y1="{y - 5:.1f}" x2="{x0:.1f}" y2="{y + 5:.1f}"/>'
            f'<line x1="{x1:.1f}" y1="{y - 5:.1f}" x2="{x1:.1f}" y2="{y + 5:.1f}"/></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


# --------------------------------------------------------------------------- funnel plot


def funnel_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    p0: float,
    points: Sequence[tuple[float, float, bool]],
    limits: Sequence[tuple[float, float | None, float | None, float | None, float | None]],
    label: Callable[[float], str],
    percent: bool,
    width: int = 640,
    height: int = 280,
) -> Markup:
    """Each locality's value against its group size, with the all-localities value ``p0`` and
    the 95% (dashed) and 99.8% (dotted) control limits the mart gives at each locality's n.

    ``points``: (n, value, is_this_city); ``limits``: (n, lower_95, upper_95, lower_998,
    upper_998), joined in order of n. This city is a filled diamond, the others rings.
    """
    left, right, top, bottom = 50, 30, 22, 40
    pw, ph = width - left - right, height - top - bottom
    ns = [n for n, _, _ in points] + [lim[0] for lim in limits]
    x0, x1 = 0.0, max(ns or [1.0]) * 1.05
    ys = [v for _, v, _ in points] + [b for lim in limits for b in lim[1:] if b is not None] + [p0]
    y0, y1, step = y_scale(ys, percent=percent)

    def x_of(n: float) -> float:
        return left + (n - x0) / (x1 - x0) * pw

    def y_of(v: float) -> float:
        return top + (y1 - v) / (y1 - y0) * ph

    e = escape
    out = [
        f'<svg id="{e(chart_id)}" class="chart funnel" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{e(chart_id)}-title {e(chart_id)}-desc" direction="ltr" font-size="13">',
        f'<title id="{e(chart_id)}-title">{e(title)}</title>',
        f'<desc id="{e(chart_id)}-desc">{e(desc)}</desc>',
    ]
    for i in range(round((y1 - y0) / step) + 1):
        v = y0 + i * step
        out.append(
            f'<line x1="{left}" y1="{y_of(v):.1f}" x2="{left + pw}" y2="{y_of(v):.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 8}" y="{y_of(v) + 4.5:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{e(_fmt_tick(v, step))}</text>"
        )
    xstep = nice_step(x1 - x0)
    for i in range(int((x1 - x0) / xstep) + 1):
        n = x0 + i * xstep
        out.append(
            f'<text x="{x_of(n):.1f}" y="{top + ph + 18}" text-anchor="middle" fill="{MUTED}">'
            f"{e(_fmt_tick(n, xstep))}</text>"
        )
    out.append(
        f'<text x="{left + pw / 2:.1f}" y="{height - 4}" text-anchor="middle" fill="{MUTED}" '
        'direction="rtl">גודל הקבוצה (מספר האנשים)</text>'
    )
    out.append(
        f'<line class="p0" x1="{left}" y1="{y_of(p0):.1f}" x2="{left + pw}" y2="{y_of(p0):.1f}" '
        f'stroke="{INK}" stroke-width="1.4"/>'
    )
    ordered = sorted(limits, key=lambda lim: lim[0])
    for idx, colour, dash, cls in ((1, LIMIT_95, "6 4", "limit-95"), (3, LIMIT_998, "1.5 3.5", "limit-998")):
        for k in (idx, idx + 1):
            pts = [(lim[0], float(b)) for lim in ordered if (b := lim[k]) is not None]
            if len(pts) >= 2:
                d = " ".join(
                    f"{'L' if i else 'M'}{x_of(n):.1f} {y_of(v):.1f}" for i, (n, v) in enumerate(pts)
                )
                out.append(
                    f'<path class="{cls}" d="{d}" fill="none" stroke="{colour}" stroke-width="1.4" '
                    f'stroke-dasharray="{dash}"/>'
                )
    for n, v, mine in points:
        cx, cy = x_of(n), y_of(v)
        if mine:
            out.append(
                f'<path class="this-city" d="M{cx:.1f} {cy - 7:.1f} L{cx + 7:.1f} {cy:.1f} L{cx:.1f} '
                f'{cy + 7:.1f} L{cx - 7:.1f} {cy:.1f} Z" fill="{SERIES}"/>'
                f'<text x="{cx:.1f}" y="{cy - 11:.1f}" text-anchor="middle" fill="{SERIES}" '
                f'font-weight="700" '
                f"{HALO}>{e(label(v))}</text>"
            )
        else:
            out.append(
                f'<circle class="peer" cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="#fff" stroke="{MUTED}" '
                'stroke-width="1.8"/>'
            )
    out.append("</svg>")
    return Markup("".join(out))
