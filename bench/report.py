"""Tables and the scaling chart of the benchmark, from the saved results (bench/results/*.json).

`load_results` merges every results file (older first, so a later measurement of a size
replaces an earlier one, key by key: a `--only-baseline` run refreshes the baseline and keeps
the pipeline's figures); `summary_table` and `stage_table` are the Markdown of RESULTS.md;
`scaling_svg` draws wall time (whole run, plain baseline, one-city night) and peak memory
against the number of cities, as a standalone SVG (no plotting library).

    python bench/run.py --report-only      # print the tables, write bench/scaling.svg
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CHART = HERE / "scaling.svg"
MEMORY_TARGET_GIB = 8.0

Result = dict[str, Any]


def load_results(folder: Path = RESULTS) -> tuple[list[Result], str]:
    """(one merged result per number of cities, ascending; the latest machine description)."""
    merged: dict[int, Result] = {}
    machine = ""
    for path in sorted(folder.glob("*.json")):
        saved = json.loads(path.read_text(encoding="utf-8"))
        machine = saved.get("machine", machine)
        for result in saved.get("results", []):
            k = int(result["cities"])
            merged[k] = {**merged.get(k, {}), **result, "results_file": path.name}
    return [merged[k] for k in sorted(merged)], machine


# -- the figures of one size --------------------------------------------------------------


def _stage_seconds(run: Result | None, name: str) -> float | None:
    if not run:
        return None
    return next((float(s["seconds"]) for s in run.get("stages", []) if s["name"] == name), None)


def figures(r: Result) -> dict[str, float | int | str | None]:
    """The summary figures of one size (None where not measured)."""
    run = r.get("first_run")
    counts = (run or {}).get("counts", {})
    plain = r.get("plain") or {}
    night = r.get("night") or {}
    wall = r.get("first_run_wall")
    ingest = _stage_seconds(run, "ingest")
    plain_total = (plain["load_seconds"] + plain["compute_seconds"]) if plain else None
    stage_peak = max((s.get("peak_rss_mb") or 0 for s in (run or {}).get("stages", [])), default=None)
    peak = max(x for x in (r.get("first_run_peak_mb"), stage_peak, 0) if x is not None) or None
    return {
        "cities": r["cities"],
        "files": counts.get("files_loaded") or plain.get("files") or r.get("generated_files"),
        "mb": r.get("generated_mb"),
        "rows": counts.get("rows_loaded"),
        "plain_rows": plain.get("rows_loaded"),
        "status": (run or {}).get("status"),
        "wall": wall,
        "peak_gib": peak / 1024 if peak else None,
        "ingest": ingest,
        "ingest_rows_s": counts.get("rows_loaded", 0) / ingest if ingest else None,
        "ingest_files_s": counts.get("files_loaded", 0) / ingest if ingest else None,
        "plain_load": plain.get("load_seconds"),
        "plain_compute": plain.get("compute_seconds"),
        "plain_total": plain_total,
        "plain_rows_s": plain["rows_loaded"] / plain["load_seconds"] if plain.get("load_seconds") else None,
        "plain_peak_gib": plain["peak_mb"] / 1024 if plain.get("peak_mb") else None,
        "whole_over_plain": wall / plain_total if wall and plain_total else None,
        "ingest_over_load": ingest / plain["load_seconds"] if ingest and plain.get("load_seconds") else None,
        "night": night.get("wall"),
        "night_pct": 100 * night["wall"] / wall if night.get("wall") and wall else None,
        "night_status": night.get("status"),
        "quiet_night": r.get("second_run_wall"),
        "mismatches": r.get("truth_mismatches"),
        "night_mismatches": night.get("truth_mismatches"),
        "plain_mismatches": plain.get("truth_mismatches"),
    }


def _n(value: float | int | str | None, fmt: str = "{:,.1f}") -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return fmt.format(value)


def summary_table(results: list[Result]) -> str:
    """One row per size: the issue's targets side by side."""
    lines = [
        "| cities | files | rows loaded (run / plain) | whole run (s) | peak (GiB) | ingest (s) "
        "| ingest rows/s | files/s | plain load (s) | plain compute (s) | plain load rows/s | whole / plain "
        "| ingest / plain load | one-city night (s) | night / full run | no new files (s) "
        "| truth mismatches (run, night, plain) |",
        "|" + "---|" * 17,
    ]
    for r in results:
        f = figures(r)
        wall = _n(f["wall"])
        if f["status"] and f["status"] != "succeeded":
            wall += f" ({f['status']})"
        night = _n(f["night"])
        if f["night_status"] and f["night_status"] != "succeeded":
            night += f" ({f['night_status']})"
        lines.append(
            "| "
            + " | ".join(
                [
                    str(f["cities"]),
                    _n(f["files"], "{:,}"),
                    _n(f["rows"], "{:,}") + " / " + _n(f["plain_rows"], "{:,}"),
                    wall,
                    _n(f["peak_gib"], "{:.2f}"),
                    _n(f["ingest"]),
                    _n(f["ingest_rows_s"], "{:,.0f}"),
                    _n(f["ingest_files_s"], "{:.1f}"),
                    _n(f["plain_load"]),
                    _n(f["plain_compute"]),
                    _n(f["plain_rows_s"], "{:,.0f}"),
                    _n(f["whole_over_plain"], "{:.1f}×"),
                    _n(f["ingest_over_load"], "{:.1f}×"),
                    night,
                    _n(f["night_pct"], "{:.0f}%"),
                    _n(f["quiet_night"]),
                    ", ".join(
                        _n(f[key], "{}") for key in ("mismatches", "night_mismatches", "plain_mismatches")
                    ),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def stage_table(results: list[Result]) -> str:
    """Per size and stage of the full run (and of the one-city night): wall and peak memory."""
    lines = [
        "| cities | run | stage | wall (s) | peak memory (MiB) |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for label, run in (
            ("full", r.get("first_run")),
            ("one-city night", (r.get("night") or {}).get("run")),
        ):
            if not run:
                continue
            for s in run.get("stages", []):
                lines.append(
                    f"| {r['cities']} | {label} | {s['name']} | {s['seconds']:.1f} "
                    f"| {_n(s.get('peak_rss_mb'), '{:,.0f}')} |"
                )
    return "\n".join(lines)


def sql_table(results: list[Result]) -> str:
    """The indicator computation alone, on the published warehouse (issue 9's comparison)."""
    lines = ["| cities | baseline.sql (s, median) | `dbt run` (s, median) | ratio |", "|---|---|---|---|"]
    for r in results:
        base, models = r.get("baseline_seconds"), r.get("dbt_models_seconds")
        if base is None:
            continue
        ratio = f"{models / base:.1f}×" if models and base else "–"
        lines.append(f"| {r['cities']} | {base:.2f} | {_n(models, '{:.2f}')} | {ratio} |")
    return "\n".join(lines)


# -- the chart ----------------------------------------------------------------------------

_COLORS = {"run": "#1f4e9c", "plain": "#d9822b", "night": "#2e8540", "memory": "#8e3a9c", "target": "#b22222"}


def _ticks(top: float) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 5
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw)
    return [i * step for i in range(math.ceil(top / step) + 1)]


def _panel(
    x0: float,
    title: str,
    unit: str,
    cities: list[int],
    series: list[tuple[str, str, list[float | None]]],
    target: float | None = None,
) -> list[str]:
    width, height, top, left = 380.0, 260.0, 50.0, 60.0
    values = [v for _, _, vs in series for v in vs if v is not None] + ([target] if target else [])
    ticks = _ticks(max(values, default=1.0) * 1.05)
    ymax = ticks[-1]
    xs = [math.log10(c) for c in cities]
    xmin, xmax = (min(xs), max(xs)) if len(xs) > 1 and min(xs) != max(xs) else (xs[0] - 1, xs[0] + 1)

    def px(c: float) -> float:
        return x0 + left + (math.log10(c) - xmin) / (xmax - xmin) * width

    def py(v: float) -> float:
        return top + height - v / ymax * height

    out = [
        f'<text x="{x0 + left + width / 2:.1f}" y="28" text-anchor="middle" font-size="15" '
        f'font-weight="bold">{title}</text>',
        f'<line x1="{x0 + left}" y1="{top + height}" x2="{x0 + left + width}" y2="{top + height}" '
        'stroke="#333"/>',
        f'<line x1="{x0 + left}" y1="{top}" x2="{x0 + left}" y2="{top + height}" stroke="#333"/>',
        f'<text x="{x0 + 16}" y="{top + height / 2:.1f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 {x0 + 16} {top + height / 2:.1f})">{unit}</text>',
        f'<text x="{x0 + left + width / 2:.1f}" y="{top + height + 38}" font-size="12" '
        'text-anchor="middle">cities (log scale)</text>',
    ]
    for t in ticks:
        y = py(t)
        out.append(
            f'<line x1="{x0 + left}" y1="{y:.1f}" x2="{x0 + left + width}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        out.append(f'<text x="{x0 + left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{t:g}</text>')
    for c in cities:
        out.append(
            f'<text x="{px(c):.1f}" y="{top + height + 18}" font-size="11" text-anchor="middle">{c}</text>'
        )
    if target is not None:
        y = py(target)
        out.append(
            f'<line x1="{x0 + left}" y1="{y:.1f}" x2="{x0 + left + width}" y2="{y:.1f}" '
            f'stroke="{_COLORS["target"]}" stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<text x="{x0 + left + width - 4}" y="{y - 5:.1f}" font-size="11" text-anchor="end" '
            f'fill="{_COLORS["target"]}">target {target:g} {unit.split(" ")[-1].strip("()")}</text>'
        )
    out.append(  # the legend's background, over the grid, under the lines
        f'<rect x="{x0 + left + 6}" y="{top + 2}" width="230" height="{18 * len(series) + 4}" '
        'fill="white" fill-opacity="0.85"/>'
    )
    for n, (label, color, vs) in enumerate(series):
        points = [(px(c), py(v)) for c, v in zip(cities, vs, strict=True) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for x, y in points:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"/>')
        ly = top + 8 + 18 * n
        out.append(
            f'<rect x="{x0 + left + 12}" y="{ly - 9}" width="14" height="4" fill="{color}"/>'
            f'<text x="{x0 + left + 32}" y="{ly - 3}" font-size="12">{label}</text>'
        )
    return out


def scaling_svg(results: list[Result], machine: str = "") -> str:
    """The scaling chart: wall time and peak memory against the number of cities."""
    measured = [r for r in results if figures(r)["wall"] is not None or figures(r)["plain_total"] is not None]
    if not measured:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    fs = [figures(r) for r in measured]
    cities = [int(f["cities"]) for f in fs]  # type: ignore[arg-type]

    def col(key: str) -> list[float | None]:
        values = [f[key] for f in fs]
        return [float(v) if isinstance(v, (int, float)) else None for v in values]

    body = _panel(
        0,
        "Wall time",
        "seconds",
        cities,
        [
            ("whole nightly run", _COLORS["run"], col("wall")),
            ("plain baseline (load + compute)", _COLORS["plain"], col("plain_total")),
            ("one-city night", _COLORS["night"], col("night")),
        ],
    )
    body += _panel(
        470,
        "Peak memory (process tree)",
        "memory (GiB)",
        cities,
        [
            ("whole nightly run", _COLORS["memory"], col("peak_gib")),
            ("plain baseline", _COLORS["plain"], col("plain_peak_gib")),
        ],
        target=MEMORY_TARGET_GIB,
    )
    note = f"ci-metrics benchmark, {machine}" if machine else "ci-metrics benchmark"
    width, height = 940, 370
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
            f'<rect width="{width}" height="{height}" fill="white"/>',
            *body,
            f'<text x="{width / 2}" y="{height - 8}" font-size="11" text-anchor="middle" fill="#555">'
            f"{_escape(note)}</text>",
            "</svg>",
            "",
        ]
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_report(folder: Path = RESULTS, chart: Path = CHART) -> str:
    """Write the chart from the saved results; return the Markdown tables."""
    results, machine = load_results(folder)
    chart.write_text(scaling_svg(results, machine), encoding="utf-8")
    return "\n\n".join(
        [
            f"machine: {machine}",
            "### Scaling\n\n" + summary_table(results),
            "### Per stage\n\n" + stage_table(results),
            "### The indicator computation alone\n\n" + sql_table(results),
            f"chart: {chart.relative_to(HERE.parent) if chart.is_relative_to(HERE.parent) else chart}",
        ]
    )
