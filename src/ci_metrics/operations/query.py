"""Queries for the planning unit: always on the published warehouse, read-only, sandboxed.

A read-only connection to the published file never blocks the nightly run (which builds
in a copy and swaps files atomically) and is never blocked by it. It sees the warehouse and
nothing else (:data:`SANDBOX`): no file of the machine (the key, the archive, ``/etc``), no
other database, no extension, no setting can be changed back; a result leaves only through
this command's own output.
"""

from __future__ import annotations

import csv
import json
import sys

import duckdb

from ci_metrics.settings import Settings

SANDBOX: dict[str, str | bool | int | float | list[str]] = {
    # no file but the warehouse itself: read_text / read_csv / glob / copy … to / export
    # database / attach / install, and Python replacement scans, fail with PermissionException
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    # last: nothing above can be set back by a query (`set enable_external_access = true`)
    "lock_configuration": True,
}
"""The DuckDB configuration of every ``ci-metrics sql`` connection."""

BLOCKED = (
    "ci-metrics sql reads only the published warehouse: files, other databases, extensions "
    "and settings are out of its reach"
)

_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
"""Control characters (terminal escape sequences among them) shown as text, never sent raw."""


def connect_sandboxed(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse that sees nothing else (see the module)."""
    if not settings.warehouse_path.exists():
        raise FileNotFoundError(
            f"no published warehouse at {settings.warehouse_path}: run `ci-metrics run` first"
        )
    return duckdb.connect(str(settings.warehouse_path), read_only=True, config=dict(SANDBOX))


def _describe(exc: duckdb.Error) -> str:
    text = str(exc)
    if isinstance(exc, duckdb.PermissionException) or "configuration has been locked" in text:
        return f"{BLOCKED} ({text})"
    return text


def _as_text(value: object) -> str:
    return "" if value is None else str(value).translate(_CONTROL)


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
        from rich.text import Text

        # Text, not markup: a value holding "[/]" is printed, not interpreted
        table = Table()
        for c in columns:
            table.add_column(Text(_as_text(c)))
        for r in rows:
            table.add_row(*[Text(_as_text(v)) for v in r])
        Console().print(table)
        print(f"({len(rows)} rows)")


def run_query(settings: Settings, sql: str, fmt: str = "table") -> int:
    try:
        con = connect_sandboxed(settings)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        _print(con.sql(sql), fmt)
    except duckdb.Error as exc:
        print(f"error: {_describe(exc)}", file=sys.stderr)
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
            # Reconnect per query (sandboxed each time): a new nightly publish is seen at once.
            run_query(settings, "\n".join(buffer), fmt)
            buffer = []
