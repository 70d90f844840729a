"""The plain end-to-end baseline of the scale benchmark (issue 16): the whole job as a
competent script would do it, to compare the pipeline's whole run with.

`run_plain(inbox, work)` loads every partner file of ``inbox`` into a fresh DuckDB file
(``work/plain.duckdb``) and computes the indicators with bench/baseline.sql:

- **load**: what DuckDB cannot read offline is first converted to UTF-8 CSV under
  ``work/converted/`` by a process pool (one worker per core): cp1255 text is decoded
  (the register also gets each row's line number, which the register's "later row wins"
  rule needs), spreadsheets are read with python-calamine (their header row, their rows up
  to the first blank one). UTF-8 files are linked there as they are. Then
  bench/plain_load.sql reads each raw table in one multi-file scan, types it and leaves out
  the rows the pipeline would reject (bad IDs, dates, codes...).
- **compute**: bench/baseline.sql on that file (`baseline.run_baseline`).

No orchestration, ledger, archive, validation suites, pseudonymisation (IDs stay as their 9
digits), history, extracts or report. Which file is which, its encoding, format and header
row come from the bundled layouts (src/ci_metrics/ingest/layouts/*.yml), as the pipeline's.

    python bench/plain.py INBOX WORK [--truth TRUTH_JSON] [--result OUT.json]
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml
from pydantic import BaseModel

HERE = Path(__file__).resolve().parent
LOAD_SCRIPT = HERE / "plain_load.sql"
UTF8_BOM = b"\xef\xbb\xbf"
RAW_TABLES = (
    "residents",
    "welfare_files",
    "school_achievement",
    "youth_members",
    "survey_responses",
    "early_childhood_enrolments",
)
ROW_NUMBER = "_row_number"
NUMBERED_LAYOUTS = frozenset({"residents"})
"""Layouts whose rows keep their line number (the register: the later row wins)."""


class PlainResult(BaseModel):
    """What one plain run measured."""

    files: int
    converted_files: int
    rows_loaded: int
    rows_by_table: dict[str, int]
    convert_seconds: float
    load_seconds: float  # conversion + DuckDB load (open to close)
    compute_seconds: float  # bench/baseline.sql (open to close)
    workers: int
    database: str

    @property
    def rows_per_second(self) -> float:
        return self.rows_loaded / self.load_seconds if self.load_seconds else 0.0

    @property
    def total_seconds(self) -> float:
        return self.load_seconds + self.compute_seconds


@dataclass(frozen=True)
class Layout:
    """The facts of a bundled layout the plain script needs."""

    name: str
    source: str
    pattern: re.Pattern[str]
    format: str
    encoding: str
    delimiter: str
    header_row: int
    stop_at_blank: bool
    headers: tuple[str, ...]


def bundled_layouts() -> list[Layout]:
    """The layouts shipped with ci_metrics (the same files the pipeline reads)."""
    import ci_metrics

    folder = Path(ci_metrics.__file__).parent / "ingest" / "layouts"
    layouts = []
    for path in sorted(folder.rglob("*.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        encoding = spec.get("encoding", "utf-8")
        layouts.append(
            Layout(
                name=spec["name"],
                source=spec["source"],
                pattern=re.compile(spec["file_pattern"]),
                format=spec.get("format", "csv"),
                encoding=encoding[0] if isinstance(encoding, list) else encoding,
                delimiter=spec.get("delimiter", ","),
                header_row=int(spec.get("header_row", 1)),
                stop_at_blank=bool(spec.get("stop_at_blank", False)),
                headers=tuple(column["header"] for column in spec["columns"].values()),
            )
        )
    return layouts


# -- conversion (in worker processes) -----------------------------------------------------


def _cell(value: object) -> str:
    """A spreadsheet cell as the text the partner sees (as the pipeline's reader makes it)."""
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time(0) else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _convert_xlsx(source: Path, target: Path, layout: Layout) -> int:
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(source)).get_sheet_by_index(0).to_python()
    header = [_cell(h).replace("\ufeff", "") for h in rows[layout.header_row - 1]]
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    written = 0
    for row in rows[layout.header_row :]:
        cells = [_cell(c) for c in row[:width]]
        if not any(cells):
            if layout.stop_at_blank and written:
                break
            continue
        writer.writerow(cells + [""] * (width - len(cells)))
        written += 1
    target.write_text(buffer.getvalue(), encoding="utf-8")
    return written


def _transcode(source: Path, target: Path, layout: Layout) -> int:
    data = source.read_bytes()
    text = (
        data[len(UTF8_BOM) :].decode("utf-8") if data.startswith(UTF8_BOM) else data.decode(layout.encoding)
    )
    if layout.name not in NUMBERED_LAYOUTS:
        target.write_text(text, encoding="utf-8")
        return text.count("\n")
    lines = text.splitlines()
    numbered = [f"{ROW_NUMBER}{layout.delimiter}{lines[0]}"] + [
        f"{number}{layout.delimiter}{line}" for number, line in enumerate(lines[1:], start=2) if line.strip()
    ]
    target.write_text("\n".join(numbered) + "\n", encoding="utf-8")
    return len(numbered) - 1


def _convert(job: tuple[Path, Path, Layout]) -> int:
    source, target, layout = job
    if layout.format == "xlsx":
        return _convert_xlsx(source, target, layout)
    return _transcode(source, target, layout)


# -- the run ------------------------------------------------------------------------------


def _needs_conversion(layout: Layout) -> bool:
    return (
        layout.format != "csv"
        or layout.encoding not in ("utf-8", "utf-8-sig")
        or layout.name in NUMBERED_LAYOUTS
    )


def prepare_inbox(inbox: Path, converted: Path, workers: int) -> tuple[int, int]:
    """Fill ``converted`` (emptied first) with a UTF-8 CSV per partner file; returns (files
    seen, files converted). A layout without any file gets a header-only file, so that
    bench/plain_load.sql reads every table whatever the inbox holds."""
    shutil.rmtree(converted, ignore_errors=True)
    jobs: list[tuple[Path, Path, Layout]] = []
    files = 0
    for layout in bundled_layouts():
        folder = inbox / layout.source
        target_folder = converted / layout.source
        target_folder.mkdir(parents=True, exist_ok=True)
        names = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        matched = [n for n in names if layout.pattern.fullmatch(n)]
        files += len(matched)
        for name in matched:
            target = target_folder / (Path(name).stem + ".csv")
            if _needs_conversion(layout):
                jobs.append((folder / name, target, layout))
            else:
                target.symlink_to(folder / name)
        if not matched:
            header = list(layout.headers)
            if layout.name in NUMBERED_LAYOUTS:
                header.insert(0, ROW_NUMBER)
            (target_folder / f"{layout.name}_0_00000000.csv").write_text(
                layout.delimiter.join(header) + "\n", encoding="utf-8"
            )
    jobs.sort(key=lambda job: -job[0].stat().st_size)  # largest first: the pool ends together
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_convert, jobs, chunksize=max(1, len(jobs) // (8 * workers))))
    else:
        for job in jobs:
            _convert(job)
    return files, len(jobs)


def run_plain(inbox: Path, work: Path, *, workers: int | None = None) -> PlainResult:
    """Load ``inbox`` into a fresh ``work/plain.duckdb`` and compute the indicators; the
    file keeps raw.* and baseline.indicator_values for a check."""
    from baseline import run_baseline

    workers = workers or os.cpu_count() or 1
    work.mkdir(parents=True, exist_ok=True)
    database = work / "plain.duckdb"
    database.unlink(missing_ok=True)
    converted = work / "converted"
    started = time.perf_counter()
    files, converted_files = prepare_inbox(inbox, converted, workers)
    convert_seconds = time.perf_counter() - started
    con = duckdb.connect(str(database))
    try:
        con.execute("set enable_progress_bar = false")
        con.execute("set variable converted = ?", [str(converted)])
        con.execute(LOAD_SCRIPT.read_text(encoding="utf-8"))
        rows = {
            table: int(con.execute(f"select count(*) from raw.{table}").fetchone()[0])  # type: ignore[index]
            for table in RAW_TABLES
        }
    finally:
        con.close()
    load_seconds = time.perf_counter() - started
    shutil.rmtree(converted, ignore_errors=True)
    compute_seconds = run_baseline(database)
    return PlainResult(
        files=files,
        converted_files=converted_files,
        rows_loaded=sum(rows.values()),
        rows_by_table=rows,
        convert_seconds=round(convert_seconds, 2),
        load_seconds=round(load_seconds, 2),
        compute_seconds=round(compute_seconds, 2),
        workers=workers,
        database=str(database),
    )


def truth_mismatches(database: Path, truth: Path) -> list[str]:
    """The generator's truth against baseline.indicator_values (the existing truth check)."""
    from ci_metrics_synthetic.truth_check import compare_with_truth

    con = duckdb.connect(str(database), read_only=True)
    try:
        rows = json.loads(truth.read_text(encoding="utf-8"))
        return compare_with_truth(con, rows, table="baseline.indicator_values")
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("inbox", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--truth", type=Path, help="the generator's truth: mismatches are counted")
    parser.add_argument("--workers", type=int, help="conversion processes (default: one per core)")
    parser.add_argument("--result", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    result = run_plain(args.inbox, args.work, workers=args.workers)
    out = result.model_dump(mode="json")
    print(
        f"load {result.load_seconds} s ({result.rows_per_second:,.0f} rows/s), "
        f"compute {result.compute_seconds} s"
    )
    if args.truth:
        problems = truth_mismatches(Path(result.database), args.truth)
        out["truth_mismatches"] = len(problems)
        print("\n".join(problems[:20]) or "0 mismatches with the truth")
    if args.result:
        args.result.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":  # python bench/plain.py INBOX WORK [--truth TRUTH_JSON] [--result OUT]
    sys.path.insert(0, str(HERE))
    sys.exit(main())
