"""A fault stays where it happened: holding back one source's new files.

When a check that belongs to one source fails on the build (a dbt test or model of its
staging folder ``models/staging/<source>/``, or a critical expectation of a suite that reads
one of that source's relations), that source's new files are *held*: in the build copy its
raw tables are put back as the published warehouse has them, its files of this run get
status ``held`` in ``ops.files`` with the failed check, and the earlier versions they had
superseded are live again. The build is then made again and the night publishes everything
else. A held file is read again by every run (:func:`~ci_metrics.ingest.ledger.needs_reading`)
until its source passes its checks.

Only a failure that belongs to no single source (an intermediate model, a mart, a shared
audit, a singular test) blocks the publish, as does a source's failure when the source has no
new file to hold back (its published data is what fails).

Which check belongs to which source is read from dbt's own manifest (where each node is
defined), never from a list kept here: a new source's staging folder is known at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import duckdb

from ci_metrics.ingest.layouts import SOURCES, load_layout_set
from ci_metrics.ingest.ledger import clean_message
from ci_metrics.operations.runs import HeldSource
from ci_metrics.publish.dbt import DbtResult, run_dbt
from ci_metrics.publish.increments import Increment
from ci_metrics.settings import Settings

HOLDABLE = (*SOURCES, "cbs")
"""Sources a fault can be confined to: the partner sources and the CBS workbooks."""

MAIN_BUILD = ["build", "--exclude", "tag:history"]
"""The nightly ``dbt build``: everything but the vintages, which the history stage records
once the build is validated (:mod:`ci_metrics.publish.history`)."""


class DbtNodes:
    """Where each dbt node is defined, from the manifest of the last dbt command."""

    def __init__(self, manifest: Path) -> None:
        data = json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else {}
        self.source_of: dict[str, str] = {}
        self.relation_source: dict[str, str] = {}
        for section in ("nodes", "sources", "unit_tests"):
            for unique_id, node in (data.get(section) or {}).items():
                source = _staging_source(node.get("original_file_path") or "")
                if source is None:
                    continue
                self.source_of[unique_id] = source
                name = node.get("identifier") or node.get("alias") or node.get("name")
                if node.get("resource_type") in ("model", "source", "seed", "snapshot") and name:
                    self.relation_source[f"{node.get('schema')}.{name}".lower()] = source

    @classmethod
    def of(cls, settings: Settings) -> DbtNodes:
        return cls(settings.root / "dbt" / "target" / "manifest.json")


def _staging_source(path: str) -> str | None:
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if len(parts) >= 3 and parts[0] == "models" and parts[1] == "staging" and parts[2] in HOLDABLE:
        return parts[2]
    return None


def dbt_name(unique_id: str) -> str:
    """A node's name as dbt prints it: ``test.ci_metrics.unique_x.1a2b`` -> ``unique_x``."""
    parts = unique_id.split(".")
    return parts[2] if len(parts) > 2 else unique_id


def blame(failures: Iterable[tuple[str, str]], owner_of: dict[str, str]) -> dict[str, list[str]] | None:
    """Source -> its failed checks, for failures given as (node or relation, message); None
    when any failure belongs to no single source (the publish is then blocked)."""
    blamed: dict[str, list[str]] = {}
    for key, message in failures:
        source = owner_of.get(key.lower())
        if source is None:
            return None
        blamed.setdefault(source, []).append(message)
    return blamed


def raw_tables_of(settings: Settings, source: str, con: duckdb.DuckDBPyConnection) -> list[str]:
    """The raw tables a source's files load."""
    if source == "cbs":
        rows = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw' and table_name like 'cbs\\_%' escape '\\'"
        ).fetchall()
        return sorted(r[0] for r in rows)
    layouts = load_layout_set(settings.layouts_dir, settings.dbt_project_dir)
    return sorted({layout.table for layout in layouts if layout.source == source})


def hold_source(
    settings: Settings, build: Path, run_id: str, source: str, checks: list[str]
) -> HeldSource | None:
    """Put ``source`` back as published, in the build copy (closed), and mark its files of
    this run held. None when the run brought no file of that source: nothing to hold."""
    reason = clean_message("held back: " + "; ".join(checks), limit=1000)
    con = duckdb.connect(str(build))
    try:
        held = [
            r[0]
            for r in con.execute(
                "select file_name from ops.files where run_id = ? and source = ? and status = 'loaded' "
                "order by file_name",
                [run_id, source],
            ).fetchall()
        ]
        if not held:
            return None
        published = settings.warehouse_path.exists()
        if published:
            con.execute(f"attach '{settings.warehouse_path}' as published (read_only)")
        con.execute("begin transaction")
        for table in raw_tables_of(settings, source, con):
            con.execute(f"delete from raw.{table}")
            if published and con.execute(
                "select count(*) from information_schema.tables "
                "where table_catalog = 'published' and table_schema = 'raw' and table_name = ?",
                [table],
            ).fetchone() == (1,):
                con.execute(f"insert into raw.{table} by name select * from published.raw.{table}")
        con.execute(
            "update ops.files set status = 'loaded', superseded_by = null where superseded_by in "
            "(select file_id from ops.files where run_id = ? and source = ? and status = 'loaded')",
            [run_id, source],
        )
        con.execute(
            "update ops.files set status = 'held', message = ?, rows_loaded = 0 "
            "where run_id = ? and source = ? and status = 'loaded'",
            [reason, run_id, source],
        )
        con.execute("commit")
    finally:
        con.close()
    return HeldSource(source=source, checks=checks, files=held)


def build_holding(
    settings: Settings, build: Path, run_id: str, increment: Increment
) -> tuple[DbtResult, list[HeldSource]]:
    """``dbt build`` on the build copy, whole or of the changed localities (``increment``);
    each source whose own checks fail is held back (if this run brought it new files) and the
    build made again, over the same localities (those of a held file are among them).
    Returns the last dbt result (ok, or failing on what no single source owns) and the
    sources held."""
    held: list[HeldSource] = []
    args = [*MAIN_BUILD, *increment.dbt_args()]
    result = run_dbt(settings, build, args)
    while not result.ok:
        named = [(node, f"{dbt_name(node)}: {message}") for node, message in result.failed_nodes]
        blamed = blame(named, DbtNodes.of(settings).source_of)
        newly = _hold_all(settings, build, run_id, blamed, held)
        if not newly:
            break
        held += newly
        result = run_dbt(settings, build, args)
    return result, held


def hold_for_expectations(
    settings: Settings, build: Path, run_id: str, failures: list[tuple[str, str]], held: list[HeldSource]
) -> list[HeldSource]:
    """Hold the sources whose relations fail critical expectations ((relation, description)
    pairs); empty when any failure is not one source's (or there is nothing to hold)."""
    blamed = blame(failures, DbtNodes.of(settings).relation_source)
    return _hold_all(settings, build, run_id, blamed, held)


def _hold_all(
    settings: Settings,
    build: Path,
    run_id: str,
    blamed: dict[str, list[str]] | None,
    already: list[HeldSource],
) -> list[HeldSource]:
    """Hold every blamed source, or none: a source already held, or one with nothing new to
    hold, means the fault is in published data, and the publish is blocked."""
    if not blamed or any(h.source in blamed for h in already):
        return []
    newly = []
    for source, checks in sorted(blamed.items()):
        held = hold_source(settings, build, run_id, source, checks)
        if held is None:
            return []  # nothing of this source to hold back: its failure blocks the publish
        newly.append(held)
    return newly
