"""Inbox freshness: each source has an expected cadence; a source whose newest file was
received longer ago than that is reported (run summary and ``ci-metrics status``)."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import duckdb

from ci_metrics.ingest.layouts import SOURCES


def newest_received(inbox: Path, con: duckdb.DuckDBPyConnection | None) -> dict[str, dt.datetime]:
    """Per source, when its newest file arrived: the later of the inbox files' modification
    times and the ledger's reception times."""
    newest: dict[str, dt.datetime] = {}
    for source in SOURCES:
        folder = inbox / source
        if folder.is_dir():
            for path in folder.iterdir():
                st = path.lstat()  # a link is not a file received (and is never followed)
                if stat.S_ISREG(st.st_mode):
                    seen = dt.datetime.fromtimestamp(st.st_mtime)
                    newest[source] = max(newest.get(source, seen), seen)
    if con is not None:
        rows = con.execute(
            "select source, max(received_at) from ops.files where status <> 'rejected' group by source"
        ).fetchall()
        for source, received in rows:
            if source in SOURCES and received is not None:
                newest[source] = max(newest.get(source, received), received)
    return newest


def stale_sources(
    newest: dict[str, dt.datetime], cadence_days: dict[str, int], now: dt.datetime | None = None
) -> list[str]:
    now = now or dt.datetime.now()
    stale = []
    for source, days in sorted(cadence_days.items()):
        last = newest.get(source)
        if last is None:
            stale.append(f"{source}: no file received yet (expected every {days} days)")
        elif now - last > dt.timedelta(days=days):
            age = (now - last).days
            stale.append(
                f"{source}: newest file received {last:%Y-%m-%d}, {age} days ago (expected every {days} days)"
            )
    return stale
