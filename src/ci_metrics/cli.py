"""``ci-metrics``: the one command of the pipeline. ``ci-metrics --help`` lists the verbs."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from ci_metrics.settings import Settings

DESCRIPTION = """\
Shared measurement for a collective-impact partnership.

Partner files land in an inbox (one folder per source); a nightly run ingests them
(pseudonymising national IDs at the door), builds the shared indicators with dbt,
validates everything with Great Expectations and publishes the warehouse atomically.
All state lives under CI_METRICS_HOME (default ./.ci_metrics_home).
"""


def _prefect_env(settings: Settings) -> None:
    """Keep Prefect's own state under CI_METRICS_HOME unless the user set it up."""
    os.environ.setdefault("PREFECT_HOME", str(settings.root / "prefect"))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TQDM_DISABLE", "1")


@contextlib.contextmanager
def _progress(settings: Settings, run_id: str) -> Iterator[None]:
    """In a terminal, a live line with the run's current stage and its elapsed time."""
    if not sys.stdout.isatty():
        yield
        return
    import threading
    import time

    from rich.console import Console
    from rich.status import Status

    from ci_metrics.operations.runs import RunStore

    store, done = RunStore(settings.root / "runs"), threading.Event()
    console = Console()

    def watch(status: Status) -> None:
        started, last = time.monotonic(), None
        while not done.wait(0.5):
            record = store.get(run_id)
            current = record.current_stage if record else None
            if current != last:
                started, last = time.monotonic(), current
            if current:
                status.update(f"run {run_id}: {current} ({time.monotonic() - started:.0f}s)")

    with console.status(f"run {run_id}: starting") as status:
        thread = threading.Thread(target=watch, args=(status,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def _nightly_run(
    settings: Settings, inbox: Path, reprocess: list[str] | None = None, full_refresh: bool = False
) -> int:
    """One nightly run in this process, its summary printed; the exit code of ``run``."""
    from ci_metrics.operations.runs import RunStore, new_run_id
    from ci_metrics.operations.summaries import print_run

    _prefect_env(settings)
    from ci_metrics.pipeline.flow import nightly
    from ci_metrics.pipeline.serve import prefect_api

    if not inbox.is_dir():
        print(f"error: inbox {inbox} does not exist", file=sys.stderr)
        return 2
    run_id = new_run_id()
    # Prefect's own temporary server would outlive a killed run: one that dies with it.
    with prefect_api(settings, scheduler=False), _progress(settings, run_id):
        state = nightly(
            inbox=str(inbox), run_id=run_id, reprocess=reprocess, full_refresh=full_refresh, return_state=True
        )
    record = RunStore(settings.root / "runs").get(run_id)
    if record is None:
        print(
            f"error: run {run_id} left no record under {settings.root / 'runs'}: {state.message}",
            file=sys.stderr,
        )
        return 1
    print_run(record, settings)
    if record.status == "succeeded":
        return 0
    return 3 if record.status == "blocked" else 1


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    inbox = Path(args.inbox).resolve() if args.inbox else settings.inbox
    return _nightly_run(settings, inbox, full_refresh=args.full_refresh)


def cmd_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    """A nightly run that reads chosen files again, from the inbox or from the archive."""
    from ci_metrics.operations.ledger_queries import LedgerQueryError, files_to_reprocess

    if not (args.files or args.rejected or args.source):
        print("error: name a file (its ID or name), or give --rejected or --source", file=sys.stderr)
        return 2
    try:
        chosen = files_to_reprocess(settings, args.files, rejected=args.rejected, source=args.source)
    except LedgerQueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for row in chosen:
        print(f"reprocess {row.file_id[:12]}  {row.source}/{row.file_name}  ({row.status})")
    if args.dry_run:
        return 0
    inbox = Path(args.inbox).resolve() if args.inbox else settings.inbox
    return _nightly_run(settings, inbox, reprocess=[row.file_id for row in chosen])


def cmd_check_layout(args: argparse.Namespace, settings: Settings) -> int:
    """Which layout reads a file, and what it would load: a dry run that touches nothing."""
    from ci_metrics.ingest.check import check_layout

    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 2
    result = check_layout(path, settings, source=args.source, layout_name=args.layout)
    print(result.render())
    return result.exit_code


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """A long-running process that runs the nightly flow on its schedule (a Prefect deployment)."""
    import datetime as dt

    _prefect_env(settings)
    from prefect.schedules import Cron, Interval

    from ci_metrics.pipeline.serve import serve

    inbox = Path(args.inbox).resolve() if args.inbox else settings.inbox
    if args.every:
        schedule = Interval(dt.timedelta(seconds=args.every), timezone=settings.schedule_timezone)
        when = f"every {args.every}s"
    else:
        cron = args.cron or settings.schedule_cron
        schedule = Cron(cron, timezone=settings.schedule_timezone)
        when = f"cron '{cron}' ({settings.schedule_timezone})"
    serve(settings, inbox, schedule, when)
    return 0


def cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    """Partner extracts from the published warehouse, outside the nightly run."""
    from ci_metrics.operations.runs import new_run_id
    from ci_metrics.publish.cycle import publish_cycle
    from ci_metrics.share.extracts import list_agreements
    from ci_metrics.share.extracts.release import extract_into_pending

    if args.list:
        for status in list_agreements(settings.agreements_dir):
            print(f"{status.partner_id:<28} {status.state:<14} {status.message}")
        return 0
    if not settings.warehouse_path.exists():
        print(
            f"error: no published warehouse at {settings.warehouse_path}: run `ci-metrics run` first",
            file=sys.stderr,
        )
        return 2
    # The audit rows (ops.extracts) are written into a copy that is then published, like a run.
    with publish_cycle(settings, "extract-" + new_run_id()) as cycle:
        build = cycle.prepare()
        results = extract_into_pending(
            build.path,
            settings.extracts_dir,
            settings.agreements_dir,
            build.run_id,
            partners=args.partner or None,
        )
        released = cycle.publish().extracts
    for r in results:
        mark = "ok " if r.ok else "NO "
        where = next((str(p) for p in released if p.parent.name == r.partner), "")
        print(f"{mark} {r.partner:<28} {where or r.message}")
    return 0 if all(r.ok for r in results) else 1


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """The public progress report, from the published warehouse."""
    from ci_metrics.share.report import ReportError, build_published_report

    try:
        result = build_published_report(settings, run_id=None, pdf=not args.no_pdf)
    except (FileNotFoundError, ReportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {result.index}")
    if result.pdf:
        print(f"pdf:    {result.pdf}")
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    # The generator is its own distribution (bench/synthetic), untyped: no py.typed marker.
    try:
        from ci_metrics_synthetic import generate_cities  # type: ignore[import-untyped]
    except ImportError:
        print(
            "error: `generate` needs the synthetic-data tool, which is not part of the product: "
            "pip install -e bench/synthetic (make install does it)",
            file=sys.stderr,
        )
        return 2

    out = Path(args.out)
    truth = out.with_name(out.name + "_truth.json")  # beside the inbox: it is not a partner file
    summary = generate_cities(
        args.cities,
        out,
        seed=args.seed,
        residents_per_city=args.residents,
        truth_path=truth,
        progress=lambda line: print(line, flush=True),
    )
    print(summary)
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from ci_metrics.operations.runs import RunStore
    from ci_metrics.operations.summaries import print_run, print_runs

    store = RunStore(settings.root / "runs")
    if args.run_id:
        record = store.get(args.run_id)
        if record is None:
            print(f"error: no single run matches '{args.run_id}'", file=sys.stderr)
            return 2
        print_run(record, settings, as_json=args.json)
        return 0
    print_runs(store.all()[: args.last], settings, as_json=args.json)
    return 0


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    from ci_metrics.operations.query import interactive_shell, parse_as_of, run_query

    try:
        as_of = None if args.as_of is None else parse_as_of(args.as_of)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.query is None:
        return interactive_shell(settings, args.format, as_of)
    return run_query(settings, args.query, args.format, as_of)


def cmd_dbt(args: argparse.Namespace, settings: Settings) -> int:
    """dbt against a scratch copy of the published warehouse (never the published file)."""
    import shutil
    import subprocess

    from ci_metrics.publish.dbt import DBT_MAIN, dbt_env

    scratch = settings.root / "scratch" / "dbt.duckdb"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    if settings.warehouse_path.exists():
        shutil.copyfile(settings.warehouse_path, scratch)
    project = str(settings.dbt_project_dir)
    cmd = [
        sys.executable,
        "-c",
        DBT_MAIN,
        *args.dbt_args,
        "--project-dir",
        project,
        "--profiles-dir",
        project,
    ]
    print(f"# dbt on a scratch copy: {scratch}", file=sys.stderr)
    return subprocess.call(cmd, env=dbt_env(settings, scratch), cwd=project)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ci-metrics", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", help="CI_METRICS_HOME for this command (where all state lives)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each file as it is read")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    p = verbs.add_parser(
        "run",
        help="one full nightly run (a Prefect flow) on an inbox",
        description="Ingest every new file of the inbox, build the indicators "
        "(dbt), validate (Great Expectations) and publish the warehouse atomically. "
        "Exit 0: published; 3: blocked by a critical expectation; 1: failed.",
    )
    p.add_argument("--inbox", help="inbox folder with one sub-folder per source (default: HOME/inbox)")
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild every model from the raw tables and publish, even when nothing is new "
        "(dbt --full-refresh; the history of published values is kept)",
    )
    p.set_defaults(func=cmd_run)

    p = verbs.add_parser(
        "reprocess",
        help="read files again (after a layout fix), without touching their bytes",
        description="A nightly run that reads the chosen files again whatever the ledger says: "
        "from the inbox, or from the archive (the bytes as received) when no longer there. "
        "A file rejected once is retried by itself when the layouts or its name change; this "
        "is for the other cases (a fix elsewhere, a file loaded with a wrong layout). "
        "Exit codes as `run`.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="a file ID (12+ hex digits) or a file name")
    p.add_argument("--rejected", action="store_true", help="every file now rejected, ignored or held")
    p.add_argument("--source", help="only files of this source (inbox folder, or cbs)")
    p.add_argument("--inbox", help="inbox folder (default: HOME/inbox)")
    p.add_argument("--dry-run", action="store_true", help="list the files, run nothing")
    p.set_defaults(func=cmd_reprocess)

    p = verbs.add_parser(
        "check-layout",
        help="which layout reads a file and what it would load (touches nothing)",
        description="A dry run of the load of one partner file: which layout matches it and "
        "why the others do not, how many rows would load, be rejected or be filtered out, with "
        "the first reasons. Nothing is stored: no warehouse, no archive, no ledger. "
        "Exit 0: every row would load (rows filtered out aside); 1: it would load with rows "
        "rejected; 2: the whole file would be rejected (or no such file).",
    )
    p.add_argument("file", help="the partner file")
    p.add_argument("--layout", help="read it with this layout (default: the one its name selects)")
    p.add_argument("--source", help="its source (default: the name of its folder)")
    p.set_defaults(func=cmd_check_layout)

    p = verbs.add_parser(
        "serve",
        help="run the nightly flow on a schedule (a Prefect deployment)",
        description="Start a long-running process that serves the nightly flow as a "
        "Prefect deployment: by default at 02:00 Asia/Jerusalem (settings "
        "CI_METRICS_SCHEDULE_CRON / CI_METRICS_SCHEDULE_TIMEZONE), at most one run at a "
        "time. The runs are scheduled by the Prefect server at PREFECT_API_URL, or, when it "
        "is unset, by one that serve starts for as long as it runs (its address is printed).",
    )
    p.add_argument("--inbox", help="inbox folder (default: HOME/inbox)")
    p.add_argument("--cron", help="cron expression, e.g. '0 2 * * *'")
    p.add_argument("--every", type=float, help="run every N seconds instead (testing)")
    p.set_defaults(func=cmd_serve)

    p = verbs.add_parser(
        "extract",
        help="partner CSV extracts under their data-sharing agreements",
        description="Write each partner's extract (only what its agreement allows, "
        "small cells suppressed, Excel-safe UTF-8 CSV) from the published warehouse "
        "into HOME/extracts/<partner>/<date>/, and record it in ops.extracts. The "
        "nightly run does this after every successful publish.",
    )
    p.add_argument("--partner", action="append", help="only this partner (repeatable)")
    p.add_argument("--list", action="store_true", help="list the agreements and whether they are in force")
    p.set_defaults(func=cmd_extract)

    p = verbs.add_parser(
        "report",
        help="the public progress report (Hebrew, printable)",
        description="Build the public report from the published warehouse into "
        "HOME/reports/<date>/ (HTML that opens offline; a PDF when Chromium is present).",
    )
    p.add_argument("--no-pdf", action="store_true", help="skip the PDF")
    p.set_defaults(func=cmd_report)

    p = verbs.add_parser(
        "generate",
        help="synthetic partner files for K cities (benchmarks, tests)",
        description="Write an inbox of synthetic partner files for K cities in exactly "
        "the partners' formats, deterministic for a seed, and beside it "
        "<OUT>_truth.json: every indicator computed from the generator's own records.",
    )
    p.add_argument("--cities", type=int, required=True, help="how many cities")
    p.add_argument("--out", required=True, help="the inbox folder to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--residents", type=int, default=25_000, help="residents per city (default 25000)")
    p.set_defaults(func=cmd_generate)

    p = verbs.add_parser(
        "status",
        help="the last runs, or one run in detail",
        description="What the last runs did: when, how long, what was loaded, "
        "rejected, validated, published.",
    )
    p.add_argument("run_id", nargs="?", help="show this run (a prefix is enough)")
    p.add_argument("--last", type=int, default=10, help="how many runs to list (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)

    p = verbs.add_parser(
        "sql",
        help="query the published warehouse, read-only",
        description="Run one SQL query on the published warehouse (read-only: "
        "it never blocks the nightly run), or open a shell when no query is given.",
    )
    p.add_argument("query", nargs="?", help="the SQL; omit for an interactive shell")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument(
        "--as-of",
        metavar="WHEN",
        help="marts.indicator_values and marts.indicator_progress as published at WHEN (ISO 8601): "
        "a date means the end of that day; a time without an offset is local time",
    )
    p.set_defaults(func=cmd_sql)

    p = verbs.add_parser(
        "dbt",
        help="run dbt (e.g. `ci-metrics dbt docs generate`) on a scratch copy",
        description="Pass the arguments to dbt, on a scratch copy of the published "
        "warehouse, with the project's profile.",
    )
    p.add_argument("dbt_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_dbt)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        os.environ["CI_METRICS_HOME"] = args.home
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    os.environ.setdefault("TQDM_DISABLE", "1")  # GX's progress bars, before tqdm is imported
    settings = Settings()
    return int(args.func(args, settings) or 0)


if __name__ == "__main__":
    sys.exit(main())
