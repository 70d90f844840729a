"""Extracts are written to a pending folder while the run is still unpublished, and
released (moved into ``extracts/<partner>/<date>/``) only once the warehouse they came from
has been published. A blocked or killed run releases nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from ci_metrics.folders import replace_dir


def pending_dir(extracts_dir: Path, run_id: str) -> Path:
    return extracts_dir / ".pending" / run_id


def release(pending: Path, extracts_dir: Path) -> list[Path]:
    """Move every ``<partner>/<date>`` folder of ``pending`` into place; returns them."""
    released = []
    if not pending.exists():
        return released
    for partner in sorted(p for p in pending.iterdir() if p.is_dir()):
        for dated in sorted(p for p in partner.iterdir() if p.is_dir()):
            final = extracts_dir / partner.name / dated.name
            replace_dir(dated, final)
            released.append(final)
    shutil.rmtree(pending, ignore_errors=True)
    return released


def discard_pending(extracts_dir: Path) -> None:
    shutil.rmtree(extracts_dir / ".pending", ignore_errors=True)
