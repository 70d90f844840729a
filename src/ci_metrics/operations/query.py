"""Queries for the planning unit: always on the published warehouse, always read-only.

A read-only connection to the published file never blocks the nightly run (which builds
in a copy and swaps files atomically) and is never blocked by it.
"""

from __future__ import annotations

import csv
import json
import sys

import duckdb

from ci_metrics.publish.warehouse import connect_published
from ci_metrics.settings import Settings


def _print(rel: duckdb.DuckDBPyRelation | None, fmt: str) -> None:
    if rel is None:
        return
    columns = rel.columns
    rows = rel.fetchall()
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        print(
            json.dumps(
                [dict(zip(columns, r, strict=False)) for r in rows], ensure_ascii=False, default=str, indent=1
            )
        )
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns)
        for r in rows:
            table.add_row(*["" if v is None else str(v) for v in r])
        Console().print(table)
        print(f"({len(rows)} rows)")


def run_query(settings: Settings, sql: str, fmt: str = "table") -> int:
    try:
        con = connect_published(settings)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        _print(con.sql(sql), fmt)
    except duckdb.Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


def interactive_shell(settings: Settings, fmt: str = "table") -> int:
    print(f"ci-metrics sql: {settings.warehouse_path} (read-only). End a query with ';', quit with \\q.")
    buffer: list[str] = []
    while True:
        try:
            line = input("sql> " if not buffer else "...> ")
        except EOFError:
            print()
            return 0
        if line.strip() in ("\\q", "quit", "exit"):
            return 0
        buffer.append(line)
        if line.rstrip().endswith(";"):
            # Reconnect per query: a new nightly publish is seen at once.
            run_query(settings, "\n".join(buffer), fmt)
            buffer = []
