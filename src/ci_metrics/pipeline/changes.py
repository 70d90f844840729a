"""Is there anything new since the last publish? A run with no new file and no change to the
code that computes the numbers publishes nothing and stops early (cheaply: no copy of the
warehouse, no dbt build).

"The code" is fingerprinted: the dbt project (models, seeds, macros, dbt tests, project
file), the expectation suites, the partner agreements, the source layouts and every file of
the Python package (the disclosure control, the report, the readers: all that shapes what is
published). The fingerprint of each publish is kept in ``ops.publications``.

"A new file" is one the ledger says this run must read (:func:`~ci_metrics.ingest.ledger.
needs_reading`): new bytes, bytes held back, or bytes rejected under another judge or name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

import ci_metrics
from ci_metrics import __version__
from ci_metrics.ingest.cbs.files import cbs_candidates
from ci_metrics.ingest.inbox import IGNORED_PREFIXES, IN_PROGRESS_SUFFIXES, inbox_files, sha256_of
from ci_metrics.ingest.judge import judge_fingerprint
from ci_metrics.ingest.layouts import BUNDLED_LAYOUTS
from ci_metrics.ingest.ledger import needs_reading, verdicts
from ci_metrics.operations.runs import RunRecord, StageRecord
from ci_metrics.pipeline.tracker import StageOutcome, run_logger
from ci_metrics.settings import Settings

PACKAGE_DIR = Path(ci_metrics.__file__).parent


def _digest(roots: dict[str, Path]) -> str:
    """A digest of every file under ``roots``, each named by its place in its own folder: the
    same project copied elsewhere has the same digest; a change to any file changes it."""
    digest = hashlib.sha256(__version__.encode())
    for label, root in roots.items():
        paths = [root] if root.is_file() else sorted(root.rglob("*")) if root.exists() else []
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                digest.update(f"{label}/{path.relative_to(root).as_posix()}".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _dbt_roots(settings: Settings) -> dict[str, Path]:
    project = settings.dbt_project_dir
    return {
        "models": project / "models",
        "seeds": project / "seeds",
        "macros": project / "macros",
        "snapshots": project / "snapshots",
        "tests/dbt": project / "tests" / "dbt",
        "dbt_project.yml": project / "dbt_project.yml",
    }


def definition_fingerprint(settings: Settings) -> str:
    """A digest of the dbt project alone (models, seeds, macros, snapshots, dbt tests,
    project file): what defines the indicators. A revision at a publish whose digest differs
    from the previous publish's is marked "definition changed" (marts.indicator_revisions)."""
    return _digest(_dbt_roots(settings))


def code_fingerprint(settings: Settings) -> str:
    """A digest of every file of "the code": the dbt project, the expectation suites, the
    agreements, the layouts and the whole package (see the module)."""
    roots = {
        **_dbt_roots(settings),
        "expectations": settings.expectations_dir,
        "agreements": settings.agreements_dir,
        "layouts": BUNDLED_LAYOUTS,
        "package": PACKAGE_DIR,
    }
    if settings.layouts_dir:
        roots["local layouts"] = settings.layouts_dir
    return _digest(roots)


class Changes(StageOutcome):
    """What the scan found: new files (by their bytes) and whether the code changed."""

    new_files: int
    retried_files: int = 0
    """Of the new files, those the ledger knows (rejected under another judge, held, reprocessed)."""
    known_files: int
    code_changed: bool
    last_run_id: str | None
    fingerprint: str
    full_refresh: bool = False
    """A full rebuild was asked for (``ci-metrics run --full-refresh``): never "nothing new"."""

    @property
    def nothing_new(self) -> bool:
        return self.new_files == 0 and not self.code_changed and not self.full_refresh

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        again = f" ({self.retried_files} read again)" if self.retried_files else ""
        entry.detail = (
            f"{self.new_files} files to read{again}, {self.known_files} known"
            + (", code changed" if self.code_changed else "")
            + (", full rebuild asked" if self.full_refresh else "")
        )
        if not self.nothing_new:
            return
        record.status = "succeeded"
        record.counts.update(
            files_seen=self.known_files,
            files_loaded=0,
            files_skipped=self.known_files,
            files_rejected=0,
            rows_loaded=0,
            rows_rejected=0,
        )
        record.message = (
            f"nothing new since run {self.last_run_id}: the published "
            "warehouse, extracts and report are unchanged"
        )
        run_logger().info("run %s: %s", record.run_id, record.message)


def detect_changes(
    settings: Settings,
    inbox: Path,
    fingerprint: str | None = None,
    forced: frozenset[str] = frozenset(),
    full_refresh: bool = False,
) -> Changes:
    """Compare the inbox and the CBS folder with the published ledger (read-only), and the
    code's fingerprint (``fingerprint``, default: computed now) with the last publish's.
    ``forced``: file IDs to read again on demand (``ci-metrics reprocess``); ``full_refresh``:
    a full rebuild asked for, which is never "nothing new"."""
    fingerprint = fingerprint or code_fingerprint(settings)
    candidates = [
        (source, p)
        for source, p in inbox_files(inbox)
        if not p.name.startswith(IGNORED_PREFIXES) and not p.name.endswith(IN_PROGRESS_SUFFIXES)
    ]
    candidates += [("cbs", p) for p in cbs_candidates(settings.cbs_dir)]
    if not settings.warehouse_path.exists():
        return Changes(
            new_files=len(candidates),
            known_files=0,
            code_changed=True,
            last_run_id=None,
            fingerprint=fingerprint,
            full_refresh=full_refresh,
        )
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        known = verdicts(con)
        try:
            last = con.execute(
                "select run_id, code_fingerprint from ops.publications order by published_at desc limit 1"
            ).fetchall()
        except duckdb.CatalogException:
            last = []
    finally:
        con.close()
    judge = judge_fingerprint(settings)
    new = retried = 0
    present: set[str] = set()
    for source, path in candidates:
        file_id = sha256_of(path)
        present.add(file_id)
        verdict = known.get(file_id)
        if needs_reading(verdict, source, path.name, judge, file_id in forced):
            new += 1
            retried += verdict is not None
    absent = len(forced - present)  # reprocessed from the archive
    last_run, last_print = last[0] if last else (None, None)
    return Changes(
        new_files=new + absent,
        retried_files=retried + absent,
        known_files=len(candidates) - new,
        code_changed=last_print != fingerprint,
        last_run_id=last_run,
        fingerprint=fingerprint,
        full_refresh=full_refresh,
    )


def record_publication(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    published_at: dt.datetime,
    fingerprint: str,
    definition: str,
) -> None:
    """The publish's row of ``ops.publications`` (in the build copy, before the snapshots
    that use its time): ``published_at`` is UTC, without a zone, like every ops time."""
    con.execute(
        "insert into ops.publications (run_id, published_at, code_fingerprint, definition_fingerprint) "
        "values (?, ?, ?, ?)",
        [run_id, published_at, fingerprint, definition],
    )
