"""Cost that follows the change: which localities tonight's ``dbt build`` recomputes.

The models keyed by locality (partner staging, intermediate, the indicator models, two row
audits) are dbt incremental models (``dbt_project.yml``, ``macros/increments.sql``). The
build copy starts as last night's published warehouse, so their rows of every locality are
there; a night on which only some localities got files recomputes only those:

* the changed localities are read from the ledger of the build copy (``ops.files``): this
  run's files that were loaded (new, corrected, reprocessed, held ones read again), and the
  files they superseded (a corrected file may name another locality than the one it
  replaces). A source held back by :mod:`ci_metrics.publish.holds` later in the night is put
  back as published: its localities are in the set already, so they are recomputed from
  the restored rows;
* they reach dbt as the variable ``changed_localities``; each incremental model deletes
  their rows and appends them recomputed.

The night is a full rebuild (``dbt build --full-refresh``) when the set cannot be trusted:
asked for (``ci-metrics run --full-refresh``), no earlier publish (an empty warehouse), the
dbt project's definition changed since the last publish
(:func:`~ci_metrics.pipeline.changes.definition_fingerprint`), a CBS workbook (national: it
feeds every locality), or a file whose rows are of no single locality. The marts that read
across localities (values, progress, peers, funnel, data quality, audits) are tables rebuilt
whole every night either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import duckdb
from pydantic import BaseModel, ConfigDict

from ci_metrics.pipeline.changes import definition_fingerprint
from ci_metrics.settings import Settings

CHANGED_LOCALITIES_VAR = "changed_localities"
"""The dbt variable the incremental models read (``macros/increments.sql``)."""

NATIONAL_SOURCES = frozenset({"cbs"})
"""Sources whose files feed every locality at once: a file of theirs means a full rebuild."""


class ChangedFile(BaseModel):
    """A file of the ledger that changes the raw tables tonight."""

    model_config = ConfigDict(frozen=True)

    source: str
    file_name: str
    locality_code: int | None


class Increment(BaseModel):
    """What tonight's build recomputes: every row (``localities`` None, with the reason) or
    the rows of these localities."""

    model_config = ConfigDict(frozen=True)

    localities: tuple[int, ...] | None
    reason: str

    @property
    def full(self) -> bool:
        return self.localities is None

    def dbt_args(self) -> list[str]:
        """What the ``dbt build`` command line adds: ``--full-refresh`` or the variable."""
        if self.localities is None:
            return ["--full-refresh"]
        return ["--vars", json.dumps({CHANGED_LOCALITIES_VAR: list(self.localities)})]

    def describe(self) -> str:
        """The decision as the run record and ``ci-metrics status`` show it."""
        if self.localities is None:
            return f"full rebuild ({self.reason})"
        if not self.localities:
            return "incremental: no locality changed"
        codes = ", ".join(str(code) for code in self.localities)
        return f"incremental: {len(self.localities)} localities ({codes})"


def decide(
    files: Iterable[ChangedFile],
    *,
    full_refresh: bool = False,
    published_before: bool = True,
    definition_changed: bool = False,
) -> Increment:
    """The rules of the module's docstring, in order: the first reason for a full rebuild
    wins; otherwise the localities of ``files``."""
    files = list(files)
    if full_refresh:
        return Increment(localities=None, reason="asked: --full-refresh")
    if not published_before:
        return Increment(localities=None, reason="first build: nothing published yet")
    if definition_changed:
        return Increment(localities=None, reason="the dbt project changed since the last publish")
    for f in files:
        if f.source in NATIONAL_SOURCES:
            return Increment(localities=None, reason=f"national file {f.source}/{f.file_name}")
    for f in files:
        if f.locality_code is None:
            return Increment(localities=None, reason=f"file of no single locality: {f.source}/{f.file_name}")
    localities = tuple(sorted({f.locality_code for f in files if f.locality_code is not None}))
    return Increment(localities=localities, reason="files of these localities changed")


def changed_files(con: duckdb.DuckDBPyConnection, run_id: str) -> list[ChangedFile]:
    """This run's loaded files and the files they superseded, from the ledger."""
    rows = con.execute(
        "select source, file_name, locality_code from ops.files where run_id = ? and status = 'loaded' "
        "union "
        "select source, file_name, locality_code from ops.files where superseded_by in "
        "(select file_id from ops.files where run_id = ? and status = 'loaded') "
        "order by source, file_name, locality_code",
        [run_id, run_id],
    ).fetchall()
    return [ChangedFile(source=s, file_name=n, locality_code=code) for s, n, code in rows]


def last_definition(con: duckdb.DuckDBPyConnection) -> tuple[bool, str | None]:
    """(whether anything was published, the definition fingerprint of the last publish)."""
    try:
        rows = con.execute(
            "select definition_fingerprint from ops.publications order by published_at desc limit 1"
        ).fetchall()
    except duckdb.CatalogException:
        return False, None
    return (True, rows[0][0]) if rows else (False, None)


def plan_increment(settings: Settings, build: Path, run_id: str, *, full_refresh: bool = False) -> Increment:
    """Tonight's decision, from the build copy (closed again on return), once ingestion is done."""
    con = duckdb.connect(str(build), read_only=True)
    try:
        files = changed_files(con, run_id)
        published, definition = last_definition(con)
    finally:
        con.close()
    return decide(
        files,
        full_refresh=full_refresh,
        published_before=published,
        definition_changed=published and definition != definition_fingerprint(settings),
    )
