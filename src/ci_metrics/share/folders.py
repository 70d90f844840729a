"""Replacing a folder of outputs (an extract, a report) whole, never half-written."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def replace_dir(new: Path, final: Path) -> None:
    """Put the finished folder ``new`` at ``final``; an earlier ``final`` is replaced whole.
    Both must be on one filesystem (the renames are atomic)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    os.replace(new, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
