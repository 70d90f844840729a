"""The fingerprint of what judges a file at the door: the ingestion code, the layouts (bundled
and local), the CBS workbook layouts, the contract of the raw tables and the input limits.

Every verdict in ``ops.files`` records it (``judged_by``). A file rejected (or ignored) under
one judge is read again, without touching its bytes, as soon as the judge differs: the
data unit adds the missing layout or widens a limit, and the next run loads the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ci_metrics.settings import Settings

INGEST_PACKAGE = Path(__file__).parent
JUDGE_SUFFIXES = (".py", ".yml", ".yaml")


def _digest_tree(digest: hashlib._Hash, label: str, root: Path) -> None:
    paths = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
    for path in paths:
        if path.is_file() and path.suffix in JUDGE_SUFFIXES and "__pycache__" not in path.parts:
            name = path.name if path == root else path.relative_to(root).as_posix()
            digest.update(f"{label}/{name}\0".encode())
            digest.update(path.read_bytes())


def judge_fingerprint(settings: Settings) -> str:
    """A digest of everything that decides whether a file loads (see the module)."""
    from ci_metrics.ingest.limits import InputLimits

    digest = hashlib.sha256()
    _digest_tree(digest, "ingest", INGEST_PACKAGE)
    if settings.layouts_dir:
        _digest_tree(digest, "local layouts", settings.layouts_dir)
    for contract in sorted((settings.dbt_project_dir / "models" / "staging").glob("*/_*__sources.yml")):
        _digest_tree(digest, f"sources/{contract.parent.name}", contract)
    digest.update(InputLimits.from_settings(settings).model_dump_json().encode())
    return digest.hexdigest()[:16]
