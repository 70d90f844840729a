"""The scale benchmark: generate K cities, run the full nightly pipeline, print per stage the
wall time and peak memory (process tree, sampled), files and rows per second, the time of a
second run with no new files, and the plain-DuckDB baseline of the indicator computation.

    .venv/bin/python bench/run.py                 # 1, 10 and 100 cities
    .venv/bin/python bench/run.py --cities 1 10   # a quicker look

Not part of the test suite. Results are printed as a Markdown table and saved as JSON in
bench/results/ (copy the table into bench/RESULTS.md with the machine's description).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("CI_METRICS_PSEUDONYM_KEY", "bench-key-0123456789abcdef")


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


def one_size(k: int, work: Path, seed: int, repeat: int = 3) -> dict:
    from baseline import run_baseline

    from ci_metrics.operations.runs import RunStore, new_run_id
    from ci_metrics.pipeline.flow import nightly
    from ci_metrics_synthetic import generate_cities

    root = work / f"cities_{k}"
    shutil.rmtree(root, ignore_errors=True)
    inbox, home = root / "inbox", root / "home"
    started = time.perf_counter()
    truth = root / "truth.json"  # beside the inbox, not in it
    generated = generate_cities(
        k, inbox, seed=seed, truth_path=truth, progress=lambda line: print("  " + line, flush=True)
    )
    gen_seconds = time.perf_counter() - started
    files = [p for p in inbox.rglob("*") if p.is_file() and p.suffix in (".csv", ".xlsx")]
    size_mb = sum(p.stat().st_size for p in files) / (1 << 20)

    def run() -> tuple[dict, float]:
        run_id = new_run_id()
        t0 = time.perf_counter()
        nightly(inbox=str(inbox), run_id=run_id, home=str(home), return_state=True)
        wall = time.perf_counter() - t0
        record = RunStore(home / "runs").get(run_id)
        return record.model_dump(mode="json"), wall

    first, first_wall = run()
    second, second_wall = run()
    published = home / "warehouse" / "ci_metrics.duckdb"
    scratch = root / "baseline_scratch.duckdb"
    baseline_runs, models_runs = [], []
    for _ in range(repeat):  # interleaved, each on a fresh copy: the median of each is compared
        shutil.copyfile(published, scratch)
        baseline_runs.append(run_baseline(scratch))
        shutil.copyfile(published, scratch)
        models_runs.append(dbt_models_only(home, scratch))
    baseline_seconds, models_seconds = statistics.median(baseline_runs), statistics.median(models_runs)
    mismatches = None
    if truth.exists():
        import duckdb

        from ci_metrics_synthetic.truth_check import compare_with_truth

        con = duckdb.connect(str(published), read_only=True)
        try:
            mismatches = len(compare_with_truth(con, json.loads(truth.read_text(encoding="utf-8"))))
        finally:
            con.close()
    result = {
        "cities": k,
        "generated_files": len(files),
        "generated_mb": round(size_mb, 1),
        "generate_seconds": round(gen_seconds, 1),
        "first_run": first,
        "first_run_wall": round(first_wall, 1),
        "second_run_wall": round(second_wall, 1),
        "second_run_status": second["status"],
        "baseline_seconds": round(baseline_seconds, 2),
        "dbt_models_seconds": round(models_seconds, 2),
        "baseline_runs": [round(x, 2) for x in baseline_runs],
        "dbt_models_runs": [round(x, 2) for x in models_runs],
        "truth_mismatches": mismatches,
        "warehouse_mb": round(published.stat().st_size / (1 << 20), 1),
        "generator": str(generated)[:300],
    }
    scratch.unlink(missing_ok=True)
    return result


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


def table(results: list[dict]) -> str:
    lines = ["| cities | stage | wall (s) | peak memory (MiB) | throughput |", "|---|---|---|---|---|"]
    for r in results:
        run = r["first_run"]
        counts = run["counts"]
        for s in run["stages"]:
            thr = ""
            if s["name"] == "ingest" and s["seconds"]:
                thr = (
                    f"{counts.get('files_loaded', 0) / s['seconds']:.1f} files/s, "
                    f"{counts.get('rows_loaded', 0) / s['seconds']:,.0f} rows/s"
                )
            lines.append(
                f"| {r['cities']} | {s['name']} | {s['seconds']:.1f} | {s['peak_rss_mb'] or 0:,.0f} | {thr} |"
            )
        total = sum(s["seconds"] for s in run["stages"])
        peak = max((s["peak_rss_mb"] or 0) for s in run["stages"])
        lines.append(
            f"| {r['cities']} | **whole run** ({run['status']}) | **{r['first_run_wall']:.1f}** "
            f"(stages {total:.1f}) | **{peak:,.0f}** | {counts.get('rows_loaded', 0):,} rows, "
            f"{counts.get('files_loaded', 0)} files |"
        )
        dbt = next((s["seconds"] for s in run["stages"] if s["name"] == "dbt build"), float("nan"))
        lines.append(
            f"| {r['cities']} | run with no new files | {r['second_run_wall']:.1f} "
            f"({100 * r['second_run_wall'] / r['first_run_wall']:.0f}% of a full run) | | |"
        )
        models = r.get("dbt_models_seconds")
        lines.append(
            f"| {r['cities']} | plain-SQL baseline of the indicators | {r['baseline_seconds']:.1f} "
            f"(median; dbt build / baseline = {dbt / r['baseline_seconds']:.1f}×"
            + (
                f"; `dbt run`, models only, median: {models:.1f} s = "
                f"**{models / r['baseline_seconds']:.1f}×**"
                if models
                else ""
            )
            + ") | | |"
        )
        lines.append(
            f"| {r['cities']} | generate ({r['generated_files']} files, {r['generated_mb']} MB) | "
            f"{r['generate_seconds']:.1f} | | truth mismatches: {r['truth_mismatches']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cities", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--work", type=Path, default=Path("/tmp/ci-metrics-bench"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="repeats of the baseline and of `dbt run` (medians are compared)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PREFECT_HOME", str(args.work / "prefect"))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    results = []
    for k in args.cities:
        print(f"== {k} cities", flush=True)
        results.append(one_size(k, args.work, args.seed, args.repeat))
        print(table(results[-1:]), flush=True)
        if not args.keep:
            shutil.rmtree(args.work / f"cities_{k}" / "inbox", ignore_errors=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    (out / f"{stamp}.json").write_text(json.dumps({"machine": machine(), "results": results}, indent=1))
    print(f"\nmachine: {machine()}\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
