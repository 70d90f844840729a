"""Is there anything new since the last publish? A run with no new file and no change to the
code that computes the numbers publishes nothing and stops early (cheaply: no copy of the
warehouse, no dbt build).

"The code" is fingerprinted: the dbt project (models, seeds, macros, dbt tests, project
file), the expectation suites, the partner agreements, the source layouts and the package
version. The fingerprint of each publish is kept in ``ops.publications``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ci_metrics import __version__
from ci_metrics.ingest.inbox import IGNORED_PREFIXES, IN_PROGRESS_SUFFIXES, inbox_files, sha256_of
from ci_metrics.ingest.layouts import BUNDLED_LAYOUTS
from ci_metrics.publish.validation import SUITES_DIR
from ci_metrics.settings import Settings


def code_fingerprint(settings: Settings) -> str:
    project = settings.dbt_project_dir
    roots = [
        project / "models",
        project / "seeds",
        project / "macros",
        project / "tests" / "dbt",
        project / "dbt_project.yml",
        SUITES_DIR,
        settings.agreements_dir,
        BUNDLED_LAYOUTS,
    ]
    if settings.layouts_dir:
        roots.append(settings.layouts_dir)
    digest = hashlib.sha256(__version__.encode())
    for root in roots:
        paths = (
            [root]
            if root.is_file()
            else sorted(p for p in root.rglob("*") if p.is_file())
            if root.exists()
            else []
        )
        for path in paths:
            if "__pycache__" in path.parts:
                continue
            digest.update(
                str(path.relative_to(project) if path.is_relative_to(project) else path.name).encode()
            )
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class Changes:
    new_files: int
    known_files: int
    code_changed: bool
    last_run_id: str | None

    @property
    def nothing_new(self) -> bool:
        return self.new_files == 0 and not self.code_changed


def detect_changes(settings: Settings, inbox: Path, fingerprint: str) -> Changes:
    """Compare the inbox and the CBS folder with the published ledger (read-only)."""
    candidates = [
        p
        for _, p in inbox_files(inbox)
        if not p.name.startswith(IGNORED_PREFIXES) and not p.name.endswith(IN_PROGRESS_SUFFIXES)
    ]
    candidates += sorted(settings.cbs_dir.glob("*.xlsx")) if settings.cbs_dir.exists() else []
    if not settings.warehouse_path.exists():
        return Changes(len(candidates), 0, True, None)
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
    return Changes(new, len(candidates) - new, last_print != fingerprint, last_run)


def record_publication(con: duckdb.DuckDBPyConnection, run_id: str, fingerprint: str) -> None:
    con.execute("insert into ops.publications values (?, current_timestamp, ?)", [run_id, fingerprint])
