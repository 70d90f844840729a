"""Queries for the planning unit: always on the published warehouse, read-only, sandboxed.

A read-only connection to the published file never blocks the nightly run (which builds
in a copy and swaps files atomically) and is never blocked by it. It sees the warehouse and
nothing else (:data:`SANDBOX`): no file of the machine (the key, the archive, ``/etc``), no
other database, no extension, no setting can be changed back; a result leaves only through
this command's own output.

``--as-of WHEN`` answers as the warehouse was published at that moment (issue 13). The query
then runs on an in-memory database that mirrors the published file: the file is attached
read-only under its usual catalog name (``ci_metrics``), every relation of it gets a view of the
same schema and name in the in-memory catalog, except ``marts.indicator_values`` and
``marts.indicator_progress`` (:data:`AS_OF_VIEWS`), which read the history's ``*_as_of`` views
at the moment held in the DuckDB variable :data:`~ci_metrics.publish.history.AS_OF_VARIABLE`
(UTC, no zone). Only then is the sandbox applied (:data:`AS_OF_SANDBOX`: :data:`SANDBOX`, and no
file system at all), so the query cannot attach, read or write any file either. The current
values stay reachable under the catalog's name (``ci_metrics.marts.indicator_values``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from ci_metrics.publish.history import AS_OF_VARIABLE
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

AS_OF_VIEWS: dict[tuple[str, str], str] = {
    ("marts", "indicator_values"): "indicator_values_as_of",
    ("marts", "indicator_progress"): "indicator_progress_as_of",
}
"""Under ``--as-of``: (schema, name) in the user's query -> the view of the same schema read instead."""

AS_OF_FORMS = (
    "a date (2026-05-31: everything published on or before that day, local time), "
    "a date and time in local time (2026-05-31T18:30) "
    "or with an offset (2026-05-31T18:30+03:00, 2026-05-31T15:30Z)"
)
"""What ``--as-of`` accepts (ISO 8601), for the help and the error message."""

AS_OF_SANDBOX: dict[str, str | bool | int | float | list[str]] = {
    **{setting: value for setting, value in SANDBOX.items() if setting != "lock_configuration"},
    # Set once the warehouse is attached: no file at all can be opened any more, the warehouse
    # is read through the handle already open. Needed: closing external access *after* the
    # attach allows the warehouse's paths, so a query could DETACH it and ATTACH it again
    # read-write, or write its WAL. The price: a query larger than memory cannot spill to disk.
    "disabled_filesystems": "LocalFileSystem",
    "lock_configuration": SANDBOX["lock_configuration"],
}
"""The DuckDB configuration of a ``ci-metrics sql --as-of`` connection (:data:`SANDBOX` and more)."""

_AFTER_ATTACH = ("enable_external_access", "disabled_filesystems", "lock_configuration")

PUBLICATIONS = ("ops", "publications")
"""Every publish the history records (``published_at``: UTC, no zone)."""

_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
"""Control characters (terminal escape sequences among them) shown as text, never sent raw."""


def connect_sandboxed(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse that sees nothing else (see the module)."""
    if not settings.warehouse_path.exists():
        raise FileNotFoundError(
            f"no published warehouse at {settings.warehouse_path}: run `ci-metrics run` first"
        )
    return duckdb.connect(str(settings.warehouse_path), read_only=True, config=dict(SANDBOX))


class NoHistoryError(RuntimeError):
    """The published warehouse has no history to answer ``--as-of`` from."""


def parse_as_of(text: str) -> dt.datetime:
    """The moment ``--as-of`` names (:data:`AS_OF_FORMS`), with its zone: a date is the end of that
    day in local time, a date and time without an offset is local time. ``ValueError`` names the
    accepted forms."""
    cleaned = text.strip()
    try:
        day = dt.date.fromisoformat(cleaned)
    except ValueError:
        pass
    else:
        return dt.datetime.combine(day, dt.time.max, tzinfo=local_zone())
    try:
        moment = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"--as-of {text!r} is not a moment in ISO 8601; give {AS_OF_FORMS}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=local_zone())


def local_zone() -> dt.tzinfo:
    """The machine's time zone: the one ``$TZ`` names, as the C library reads it, else the
    system's. Read each time, never through the process's C-level state, so that nothing here
    depends on (or changes) ``time.tzset``."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    zone = dt.datetime.now().astimezone().tzinfo
    return zone if zone is not None else dt.UTC


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` (with a zone) in UTC without a zone: the convention of every time in the warehouse."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _as_local(utc: dt.datetime) -> str:
    return utc.replace(tzinfo=dt.UTC).astimezone(local_zone()).isoformat(sep=" ", timespec="seconds")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect_as_of(settings: Settings, moment: dt.datetime) -> duckdb.DuckDBPyConnection:
    """A sandboxed connection where the published warehouse reads as it was at ``moment`` (with a
    zone): the mirror of the module's docstring. ``NoHistoryError`` when the warehouse has no
    ``*_as_of`` views (published before history was recorded)."""
    if not settings.warehouse_path.exists():
        raise FileNotFoundError(
            f"no published warehouse at {settings.warehouse_path}: run `ci-metrics run` first"
        )
    catalog = settings.warehouse_path.stem
    # the extension settings hold from the start, the file ones once the mirror is built
    con = duckdb.connect(
        ":memory:", config={k: v for k, v in AS_OF_SANDBOX.items() if k not in _AFTER_ATTACH}
    )
    try:
        home = con.execute("select current_database()").fetchall()[0][0]
        con.execute(f"attach ? as {_quoted(catalog)} (read_only)", [str(settings.warehouse_path)])
        con.execute(f"set variable {AS_OF_VARIABLE} = ?", [as_utc(moment)])
        relations = {
            (schema, name)
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables where table_catalog = ?",
                [catalog],
            ).fetchall()
        }
        needed = [*((schema, view) for (schema, _), view in AS_OF_VIEWS.items()), PUBLICATIONS]
        missing = [".".join(relation) for relation in needed if relation not in relations]
        if missing:
            raise NoHistoryError(
                f"the published warehouse has no history ({', '.join(missing)} missing): "
                "it was published before vintages were recorded; run `ci-metrics run` first"
            )
        for schema in sorted({schema for schema, _ in relations}):
            con.execute(f"create schema if not exists {_quoted(home)}.{_quoted(schema)}")
        for schema, name in sorted(relations):
            source = AS_OF_VIEWS.get((schema, name), name)
            con.execute(
                f"create view {_quoted(home)}.{_quoted(schema)}.{_quoted(name)} as "
                f"select * from {_quoted(catalog)}.{_quoted(schema)}.{_quoted(source)}"
            )
        con.execute(f"use {_quoted(home)}")
        for setting, value in AS_OF_SANDBOX.items():  # in order: the lock last
            if setting in _AFTER_ATTACH:
                con.execute(f"set {setting} = ?", [value])
    except BaseException:
        con.close()
        raise
    return con


def history_begins(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The first publish the history records (UTC, no zone), on a :func:`connect_as_of` connection."""
    first = con.table(".".join(PUBLICATIONS)).min("published_at").fetchall()
    return first[0][0] if first else None


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


def run_query(settings: Settings, sql: str, fmt: str = "table", as_of: dt.datetime | None = None) -> int:
    """Run ``sql`` on the published warehouse (as published at ``as_of``, with a zone, when given)
    and print its result; 0, 1 when the query failed, 2 when there is nothing to query."""
    try:
        con = connect_sandboxed(settings) if as_of is None else connect_as_of(settings, as_of)
    except (FileNotFoundError, NoHistoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if as_of is not None:
            first = history_begins(con)
            if first is None or as_utc(as_of) < first:
                begins = f"at {_as_local(first)}" if first else "with the first publish"
                print(
                    f"note: nothing was published by {as_of.isoformat(sep=' ', timespec='seconds')}: "
                    f"history begins {begins}",
                    file=sys.stderr,
                )
        _print(con.sql(sql), fmt)
    except duckdb.Error as exc:
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


def interactive_shell(settings: Settings, fmt: str = "table", as_of: dt.datetime | None = None) -> int:
    published = "" if as_of is None else f", as published at {as_of.isoformat(sep=' ', timespec='seconds')}"
    print(
        f"ci-metrics sql: {settings.warehouse_path} (read-only{published}). "
        "End a query with ';', quit with \\q."
    )
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
            run_query(settings, "\n".join(buffer), fmt, as_of)
            buffer = []
