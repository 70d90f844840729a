"""The scale benchmark: for K cities, the whole nightly pipeline against a plain end-to-end
baseline, and the nights that follow.

Per size, in one session: the inbox (generated, or reused with --inbox-from), every file
read once (so no side starts with a cold page cache), the plain baseline (bench/plain.py:
load the inbox into a fresh DuckDB file and compute the indicators), the full nightly run,
the truth check, a night with no new files, a night on which one city sends its register
again (ci_metrics_synthetic.resend_register), the truth check again, and the indicator SQL
alone (bench/baseline.sql against `dbt run` on copies of the published warehouse).
Wall times; peak memory of the whole process tree (Dask workers included) sampled by the
bench and per stage by the pipeline; rows and files per second.

    .venv/bin/python bench/run.py                          # 1, 10, 100 and 255 cities
    .venv/bin/python bench/run.py --cities 1 2             # a quick check
    .venv/bin/python bench/run.py --inbox-from /tmp/c255/inbox   # an inbox generated before
    .venv/bin/python bench/run.py --cities 10 --only-baseline    # the plain baseline alone
    .venv/bin/python bench/run.py --report-only            # tables + chart from bench/results

Not part of the test suite. Results are saved as JSON in bench/results/; the Markdown tables
and bench/scaling.svg are made from all saved results (bench/report.py), so RESULTS.md can
be regenerated from them at any time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE / "synthetic" / "src"))  # this tree's generator (resend_register)

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("CI_METRICS_PSEUDONYM_KEY", "bench-key-0123456789abcdef")

SOURCES = ("residents", "schools", "youth", "welfare", "surveys", "early_childhood")
"""The inbox's source folders (anything else at its root, e.g. a truth.json, is not copied)."""


def machine() -> str:
    mem = next(
        (
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "0",
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = f"{int(mem) / 1024 / 1024:.0f} GiB"
    return f"{os.cpu_count()} cores ({cpu}), {memory}, Python {platform.python_version()}"


# -- the inbox ----------------------------------------------------------------------------


def link_inbox(source: Path, target: Path) -> int:
    """``target`` holds the source folders of ``source`` as hard links (copies across file
    systems): the runs only read the inbox, and the one-city night adds its file to
    ``target``, never to ``source``. Returns the number of files."""
    shutil.rmtree(target, ignore_errors=True)
    count = 0
    for folder in SOURCES:
        if not (source / folder).is_dir():
            continue
        for path in sorted((source / folder).rglob("*")):
            if not path.is_file():
                continue
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, dest)
            except OSError:
                shutil.copy2(path, dest)
            count += 1
    return count


def read_everything(inbox: Path) -> float:
    """Read every file once (the page cache then serves both sides alike); returns MB."""
    total = 0
    for path in inbox.rglob("*"):
        if path.is_file():
            total += len(path.read_bytes())
    return total / (1 << 20)


def locality_codes(inbox: Path) -> list[int]:
    """The towns of an inbox, from its register files' names, in ascending order."""
    found = {
        int(m[1]) for p in (inbox / "residents").glob("*.csv") if (m := re.match(r"residents_(\d+)_", p.name))
    }
    return sorted(found)


def prepare_inbox(k: int | None, root: Path, seed: int, inbox_from: Path | None, truth: Path | None) -> dict:
    """The run's inbox under ``root/inbox`` (generated or linked), its truth and its sizes."""
    inbox = root / "inbox"
    info: dict[str, Any] = {"seed": seed, "generate_seconds": None}
    if inbox_from is not None:
        started = time.perf_counter()
        link_inbox(inbox_from, inbox)
        info["link_seconds"] = round(time.perf_counter() - started, 1)
        info["inbox_from"] = str(inbox_from)
        info["seed"] = None
        candidates = (
            [truth]
            if truth
            else [  # where `ci-metrics generate` puts it (OUT_truth.json), or generate_cities
                inbox_from.with_name(inbox_from.name + "_truth.json"),
                inbox_from / "truth.json",
                inbox_from.parent / "truth.json",
            ]
        )
        info["truth"] = next((str(p) for p in candidates if p and p.exists()), None)
    else:
        from ci_metrics_synthetic import generate_cities

        assert k is not None
        started = time.perf_counter()
        truth_path = root / "truth.json"  # beside the inbox, not in it
        generate_cities(
            k, inbox, seed=seed, truth_path=truth_path, progress=lambda line: print("  " + line, flush=True)
        )
        info["generate_seconds"] = round(time.perf_counter() - started, 1)
        info["truth"] = str(truth_path)
    files = [p for p in inbox.rglob("*") if p.is_file()]
    info["cities"] = len(locality_codes(inbox))
    info["generated_files"] = len(files)
    info["generated_mb"] = round(sum(p.stat().st_size for p in files) / (1 << 20), 1)
    info["inbox"] = str(inbox)
    return info


# -- the measurements ---------------------------------------------------------------------


def truth_check(warehouse: Path, truth: str | None, table: str = "marts.indicator_values") -> int | None:
    if not truth or not warehouse.exists():
        return None
    import duckdb

    from ci_metrics_synthetic.truth_check import compare_with_truth, load_truth

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return len(compare_with_truth(con, load_truth(truth), table=table))
    finally:
        con.close()


def plain_baseline(inbox: Path, root: Path, truth: str | None, workers: int | None) -> dict:
    """The plain baseline in a process of its own (its memory is its own tree's, not the
    bench's with the pipeline's leftovers, e.g. Prefect's temporary server)."""
    import subprocess

    from measure import TreeSampler

    result_file = root / "plain_result.json"
    command = [
        sys.executable,
        str(HERE / "plain.py"),
        str(inbox),
        str(root / "plain"),
        "--result",
        str(result_file),
    ]
    command += ["--truth", truth] if truth else []
    command += ["--workers", str(workers)] if workers else []
    process = subprocess.Popen(command)
    with TreeSampler(process.pid) as memory:
        code = process.wait()
    if code != 0:
        raise RuntimeError(f"the plain baseline failed (exit {code}): {' '.join(command)}")
    out: dict = json.loads(result_file.read_text(encoding="utf-8"))
    out["peak_mb"] = memory.peak_mb
    out.setdefault("truth_mismatches", None)
    Path(out["database"]).unlink(missing_ok=True)
    return out


def nightly_run(inbox: Path, home: Path) -> tuple[dict, float, float]:
    """(the run record, wall seconds, peak MB of the process tree) of one nightly flow run."""
    from measure import TreeSampler

    from ci_metrics.operations.runs import RunStore, new_run_id
    from ci_metrics.pipeline.flow import nightly

    run_id = new_run_id()
    with TreeSampler() as memory:
        started = time.perf_counter()
        nightly(inbox=str(inbox), run_id=run_id, home=str(home), return_state=True)
        wall = time.perf_counter() - started
    record = RunStore(home / "runs").get(run_id)
    return record.model_dump(mode="json"), round(wall, 1), memory.peak_mb


def one_city_night(inbox: Path, home: Path, truth: str | None, city: int) -> dict:
    """One city sends its register again; the nightly run after it."""
    from ci_metrics_synthetic import resend_register

    codes = locality_codes(inbox)
    code = codes[min(city, len(codes) - 1)]
    sent = resend_register(inbox, code)
    record, wall, peak = nightly_run(inbox, home)
    # the files it read (the others are listed as skipped: thousands of lines of no interest)
    record["files"] = [f for f in record.get("files", []) if f.get("status") != "skipped"]
    return {
        "locality_code": code,
        "file": sent.name,
        "run": record,
        "status": record["status"],
        "wall": wall,
        "peak_mb": peak,
        "truth_mismatches": truth_check(home / "warehouse" / "ci_metrics.duckdb", truth),
    }


def dbt_models_only(home: Path, warehouse: Path) -> float:
    """Wall time of `dbt run` (the models alone, no tests) on a scratch copy: the pipeline's
    indicator computation, comparable with the baseline script."""
    from ci_metrics.publish.dbt import run_dbt
    from ci_metrics.settings import Settings

    settings = Settings(home=home)
    started = time.perf_counter()
    result = run_dbt(settings, warehouse, ["run"])
    if not result.ok:
        raise RuntimeError("dbt run failed on the scratch copy: " + "; ".join(result.failures))
    return time.perf_counter() - started


def sql_only(home: Path, root: Path, repeat: int) -> dict:
    """baseline.sql against `dbt run`, interleaved, each on a fresh copy of the published
    warehouse (issue 9's comparison of the indicator computation alone)."""
    from baseline import run_baseline

    published = home / "warehouse" / "ci_metrics.duckdb"
    scratch = root / "baseline_scratch.duckdb"
    baseline_runs, models_runs = [], []
    for _ in range(repeat):
        shutil.copyfile(published, scratch)
        baseline_runs.append(run_baseline(scratch))
        shutil.copyfile(published, scratch)
        models_runs.append(dbt_models_only(home, scratch))
    scratch.unlink(missing_ok=True)
    return {
        "baseline_seconds": round(statistics.median(baseline_runs), 2),
        "dbt_models_seconds": round(statistics.median(models_runs), 2),
        "baseline_runs": [round(x, 2) for x in baseline_runs],
        "dbt_models_runs": [round(x, 2) for x in models_runs],
    }


def one_size(k: int | None, args: argparse.Namespace) -> dict:
    root = args.work / (f"cities_{k}" if args.inbox_from is None else f"from_{args.inbox_from.parent.name}")
    home = root / "home"
    shutil.rmtree(home, ignore_errors=True)
    result = prepare_inbox(k, root, args.seed, args.inbox_from, args.truth)
    inbox = Path(result["inbox"])
    print(f"  inbox: {result['generated_files']} files, {result['generated_mb']} MB", flush=True)
    read_everything(inbox)
    result["plain"] = plain_baseline(inbox, root, result["truth"], args.workers)
    plain = result["plain"]
    print(
        f"  plain baseline: load {plain['load_seconds']} s, compute {plain['compute_seconds']} s, "
        f"truth mismatches {plain['truth_mismatches']}",
        flush=True,
    )
    if args.only_baseline:
        return result
    first, result["first_run_wall"], result["first_run_peak_mb"] = nightly_run(inbox, home)
    result["first_run"] = first
    published = home / "warehouse" / "ci_metrics.duckdb"
    result["truth_mismatches"] = truth_check(published, result["truth"])
    print(f"  full run: {result['first_run_wall']} s, {first['status']}", flush=True)
    second, result["second_run_wall"], _ = nightly_run(inbox, home)
    result["second_run_status"] = second["status"]
    if published.exists():
        result["warehouse_mb"] = round(published.stat().st_size / (1 << 20), 1)
    result["night"] = one_city_night(inbox, home, result["truth"], args.night_city)
    print(f"  one-city night: {result['night']['wall']} s, {result['night']['status']}", flush=True)
    if args.repeat and published.exists():
        result |= sql_only(home, root, args.repeat)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cities", type=int, nargs="+", default=[1, 10, 100, 255])
    parser.add_argument("--work", type=Path, default=Path("/tmp/ci-metrics-bench"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--inbox-from",
        type=Path,
        help="reuse this generated inbox (only read: the runs use hard links to it) instead of --cities",
    )
    parser.add_argument(
        "--truth", type=Path, help="the truth of --inbox-from (default: DIR_truth.json or DIR/../truth.json)"
    )
    parser.add_argument("--only-baseline", action="store_true", help="the plain baseline alone")
    parser.add_argument("--report-only", action="store_true", help="tables and chart from the saved results")
    parser.add_argument("--keep", action="store_true", help="keep the inbox and the state of each size")
    parser.add_argument(
        "--workers", type=int, help="the plain baseline's conversion processes (default: cores)"
    )
    parser.add_argument(
        "--night-city", type=int, default=0, help="which city (0-based) sends its register again"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="repeats of baseline.sql and `dbt run` on the published warehouse (0: skip; medians)",
    )
    parser.add_argument("--results", type=Path, default=HERE / "results", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from report import CHART, RESULTS, write_report

    chart = CHART if args.results.resolve() == RESULTS else args.results / "scaling.svg"
    if args.report_only:
        print(write_report(args.results, chart))
        return 0
    os.environ.setdefault("PREFECT_HOME", str(args.work / "prefect"))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    sizes: list[int | None] = [None] if args.inbox_from else list(args.cities)
    results = []
    for k in sizes:
        print(f"== {k or args.inbox_from} cities", flush=True)
        results.append(one_size(k, args))
        if not args.keep:
            root = Path(results[-1]["inbox"]).parent
            shutil.rmtree(root / "inbox", ignore_errors=True)
            shutil.rmtree(root / "home", ignore_errors=True)
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    saved = args.results / f"{stamp}.json"
    saved.write_text(json.dumps({"machine": machine(), "results": results}, indent=1))
    print(f"\nsaved {saved}\n")
    print(write_report(args.results, chart))
    return 0


if __name__ == "__main__":
    sys.exit(main())
