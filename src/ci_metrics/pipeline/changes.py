"""Is there anything new since the last publish? A run with no new file and no change to the
code that computes the numbers publishes nothing and stops early (cheaply: no copy of the
warehouse, no dbt build).

"The code" is fingerprinted: the dbt project (models, seeds, macros, dbt tests, project
file), the expectation suites, the partner agreements, the source layouts and the package
version. The fingerprint of each publish is kept in ``ops.publications``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from ci_metrics import __version__
from ci_metrics.ingest.inbox import IGNORED_PREFIXES, IN_PROGRESS_SUFFIXES, inbox_files, sha256_of
from ci_metrics.ingest.layouts import BUNDLED_LAYOUTS
from ci_metrics.operations.runs import RunRecord, StageRecord
from ci_metrics.pipeline.tracker import StageOutcome, run_logger
from ci_metrics.publish.validation import SUITES_DIR
from ci_metrics.settings import Settings


def code_fingerprint(settings: Settings) -> str:
    """A digest of every file of "the code", each named by its place in its own folder: the
    same project copied elsewhere has the same fingerprint; a change to any file changes it."""
    project = settings.dbt_project_dir
    roots = {
        "models": project / "models",
        "seeds": project / "seeds",
        "macros": project / "macros",
        "tests/dbt": project / "tests" / "dbt",
        "dbt_project.yml": project / "dbt_project.yml",
        "expectations": SUITES_DIR,
        "agreements": settings.agreements_dir,
        "layouts": BUNDLED_LAYOUTS,
    }
    if settings.layouts_dir:
        roots["local layouts"] = settings.layouts_dir
    digest = hashlib.sha256(__version__.encode())
    for label, root in roots.items():
        paths = [root] if root.is_file() else sorted(root.rglob("*")) if root.exists() else []
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"{label}/{path.relative_to(root).as_posix()}".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


class Changes(StageOutcome):
    """What the scan found: new files (by their bytes) and whether the code changed."""

    new_files: int
    known_files: int
    code_changed: bool
    last_run_id: str | None
    fingerprint: str

    @property
    def nothing_new(self) -> bool:
        return self.new_files == 0 and not self.code_changed

    def into(self, record: RunRecord, entry: StageRecord) -> None:
        entry.detail = f"{self.new_files} new files, {self.known_files} known" + (
            ", code changed" if self.code_changed else ""
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


def detect_changes(settings: Settings, inbox: Path, fingerprint: str | None = None) -> Changes:
    """Compare the inbox and the CBS folder with the published ledger (read-only), and the
    code's fingerprint (``fingerprint``, default: computed now) with the last publish's."""
    fingerprint = fingerprint or code_fingerprint(settings)
    candidates = [
        p
        for _, p in inbox_files(inbox)
        if not p.name.startswith(IGNORED_PREFIXES) and not p.name.endswith(IN_PROGRESS_SUFFIXES)
    ]
    candidates += sorted(settings.cbs_dir.glob("*.xlsx")) if settings.cbs_dir.exists() else []
    if not settings.warehouse_path.exists():
        return Changes(
            new_files=len(candidates),
            known_files=0,
            code_changed=True,
            last_run_id=None,
            fingerprint=fingerprint,
        )
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        known = {r[0] for r in con.execute("select file_id from ops.files").fetchall()}
        try:
            last = con.execute(
                "select run_id, code_fingerprint from ops.publications order by published_at desc limit 1"
            ).fetchall()
        except duckdb.CatalogException:
            last = []
    finally:
        con.close()
    new = sum(1 for p in candidates if sha256_of(p) not in known)
    last_run, last_print = last[0] if last else (None, None)
    return Changes(
        new_files=new,
        known_files=len(candidates) - new,
        code_changed=last_print != fingerprint,
        last_run_id=last_run,
        fingerprint=fingerprint,
    )


def record_publication(con: duckdb.DuckDBPyConnection, run_id: str, fingerprint: str) -> None:
    con.execute("insert into ops.publications values (?, current_timestamp, ?)", [run_id, fingerprint])
