"""Editions of the public report: what each one was built from, so that the next one can say
what was revised since.

Beside its page, every report folder keeps ``edition.json`` (:class:`EditionLog`): the
publication each report written to that folder showed (``ops.publications``' run_id and
published_at, UTC) and the publication it was compared with. Several runs on one day write
the same dated folder: the log keeps every edition written there, so that no earlier edition
is lost when its page is replaced.

The comparison of a new edition (:func:`choose_baseline`):

1. an edition of the same publication was already made (a report rebuilt): the same
   comparison as then, so that ``ci-metrics report`` twice gives the same page;
2. else the latest earlier edition (among all report folders) of a publication before this
   one: "since the previous report";
3. else the publication before this one in ``ops.publications``;
4. else none: the first edition.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)

EDITION_NAME = "edition.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Publication(_Strict):
    """A row of ``ops.publications``: a publish of the warehouse (``published_at`` in UTC, no zone)."""

    run_id: str
    published_at: dt.datetime


class Baseline(Publication):
    """The publication an edition is compared with, and how it was chosen: the one an earlier
    ``report`` showed, or the previous ``publication`` when no earlier report is on file."""

    chosen_from: Literal["report", "publication"]
    report_date: dt.date | None = None
    """The date of that earlier report (its folder), when ``chosen_from`` is ``report``."""


class Edition(Publication):
    """One report: the publication it showed, the day it was made for, its comparison."""

    report_date: dt.date
    compared_with: Baseline | None = None


class EditionLog(_Strict):
    """``edition.json``: the editions written to one report folder, oldest publication first."""

    schema_version: Literal[1] = 1
    editions: list[Edition]


def latest_publication(con: duckdb.DuckDBPyConnection) -> Publication | None:
    """The publication the (published) warehouse holds: the latest of ``ops.publications``;
    None in a warehouse that records none (older, or made by hand)."""
    if not _has_publications(con):
        return None
    row = con.execute(
        "select run_id, published_at from ops.publications order by published_at desc limit 1"
    ).fetchone()
    return Publication(run_id=row[0], published_at=row[1]) if row else None


def publication_before(con: duckdb.DuckDBPyConnection, moment: dt.datetime) -> Publication | None:
    """The latest publication strictly before ``moment`` (UTC), or None."""
    if not _has_publications(con):
        return None
    row = con.execute(
        "select run_id, published_at from ops.publications where published_at < cast(? as timestamp) "
        "order by published_at desc limit 1",
        [moment],
    ).fetchone()
    return Publication(run_id=row[0], published_at=row[1]) if row else None


def _has_publications(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'publications'"
    ).fetchone()
    return bool(found and found[0])


def read_log(folder: Path) -> EditionLog | None:
    """A folder's ``edition.json``; None when absent or unreadable (logged: a broken log must not
    stop the report, it only loses the comparison it held)."""
    path = Path(folder) / EDITION_NAME
    if not path.is_file():
        return None
    try:
        return EditionLog.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None


def read_editions(reports_dir: Path) -> list[Edition]:
    """Every edition recorded in the report folders of ``reports_dir`` (hidden folders, the
    half-written ones, skipped), oldest publication first."""
    editions: list[Edition] = []
    root = Path(reports_dir)
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.is_dir() and not folder.name.startswith("."):
                found = read_log(folder)
                editions.extend(found.editions if found else [])
    return sorted(editions, key=lambda e: (e.published_at, e.report_date))


def choose_baseline(
    editions: list[Edition], current: Publication, previous_publication: Publication | None
) -> Baseline | None:
    """What the edition of ``current`` is compared with (the module's rules 1 to 4)."""
    same = [e for e in editions if e.run_id == current.run_id]
    if same:
        return same[-1].compared_with
    earlier = [e for e in editions if e.published_at < current.published_at]
    if earlier:
        last = earlier[-1]
        return Baseline(
            run_id=last.run_id,
            published_at=last.published_at,
            chosen_from="report",
            report_date=last.report_date,
        )
    if previous_publication is not None:
        return Baseline(**previous_publication.model_dump(), chosen_from="publication")
    return None


def updated_log(existing: EditionLog | None, edition: Edition) -> EditionLog:
    """The folder's log with ``edition`` in it (an edition of the same publication replaced)."""
    kept = [e for e in (existing.editions if existing else []) if e.run_id != edition.run_id]
    return EditionLog(editions=sorted([*kept, edition], key=lambda e: e.published_at))


def write_log(folder: Path, log_: EditionLog) -> Path:
    path = Path(folder) / EDITION_NAME
    path.write_text(log_.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path
