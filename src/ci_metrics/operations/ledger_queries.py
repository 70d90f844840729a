"""Questions to the published ledger (``ops.files``) that commands ask: which files to read
again. Read-only; a run does the rest."""

from __future__ import annotations

import re

from pydantic import BaseModel

from ci_metrics.publish.warehouse import connect_published
from ci_metrics.settings import Settings

_FILE_ID = re.compile(r"^[0-9a-f]{12,64}$")


class LedgerQueryError(ValueError):
    """The question has no answer the user can act on: the message says why."""


class LedgerFile(BaseModel):
    file_id: str
    source: str
    file_name: str
    status: str


def files_to_reprocess(
    settings: Settings, names: list[str], *, rejected: bool = False, source: str | None = None
) -> list[LedgerFile]:
    """The files chosen by ID (a prefix of 12 or more hex digits) or name, or all rejected,
    ignored or held ones (``rejected``), within ``source`` when given."""
    try:
        con = connect_published(settings)
    except FileNotFoundError as exc:
        raise LedgerQueryError(str(exc)) from None
    try:
        rows = con.execute(
            "select file_id, source, file_name, status from ops.files order by source, file_name"
        ).fetchall()
    finally:
        con.close()
    files = [LedgerFile(file_id=r[0], source=r[1], file_name=r[2], status=r[3]) for r in rows]
    if source:
        files = [f for f in files if f.source == source]
        if not files:
            raise LedgerQueryError(f"no file of source '{source}' in the ledger")
    chosen: dict[str, LedgerFile] = {}
    for name in names:
        key = name.strip().lower()
        found = [
            f
            for f in files
            if (f.file_id.startswith(key) if _FILE_ID.match(key) else f.file_name == name.strip())
        ]
        if _FILE_ID.match(key) and len(found) > 1:
            raise LedgerQueryError(f"{name}: {len(found)} files start with this ID; give more digits")
        if not found:
            raise LedgerQueryError(
                f'{name}: no such file in the ledger (see: ci-metrics sql "select file_id, source, '
                'file_name, status from ops.files"). A file never received is loaded by a plain run.'
            )
        # a name received several times: its latest version only (the others were superseded)
        live = [f for f in found if f.status != "superseded"] or found
        for f in live:
            chosen[f.file_id] = f
    if rejected:
        for f in files:
            if f.status in ("rejected", "ignored", "held"):
                chosen[f.file_id] = f
    elif not names:
        chosen.update({f.file_id: f for f in files if f.status != "superseded"})
    if not chosen:
        raise LedgerQueryError("no file to reprocess: none is rejected, ignored or held")
    return sorted(chosen.values(), key=lambda f: (f.source, f.file_name))
