"""Extracts are written to a pending folder while the run is still unpublished, and
released (moved into ``extracts/<partner>/<date>/``) only once the warehouse they came from
has been published. A blocked or killed run releases nothing."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb

from ci_metrics.share.extracts.agreements import list_agreements
from ci_metrics.share.extracts.produce import (
    PartnerExtractResult,
    indicator_coverage_warnings,
    produce_extracts,
    read_marts,
)
from ci_metrics.share.folders import replace_dir


def pending_dir(extracts_dir: Path, run_id: str) -> Path:
    return extracts_dir / ".pending" / run_id


def extract_into_pending(
    build: Path, extracts_dir: Path, agreements_dir: Path, run_id: str, partners: Sequence[str] | None = None
) -> list[PartnerExtractResult]:
    """Every partner's extract (or those of ``partners``) from the unpublished ``build``,
    written to the run's pending folder; the audit rows go into the build itself."""
    con = duckdb.connect(str(build))
    try:
        return produce_extracts(
            con,
            pending_dir(extracts_dir, run_id),
            run_id=run_id,
            as_of=dt.date.today(),
            agreements_dir=agreements_dir,
            partners=partners,
        )
    finally:
        con.close()


def registry_warnings(build: Path, agreements_dir: Path, today: dt.date | None = None) -> list[str]:
    """Indicators of the ``build``'s registry that reach no partner in force on ``today``, or
    lack a Hebrew text (:func:`indicator_coverage_warnings`)."""
    con = duckdb.connect(str(build))  # the configuration of extract_into_pending (one per file)
    try:
        _, indicators = read_marts(con)
    finally:
        con.close()
    statuses = list_agreements(agreements_dir, today=today or dt.date.today())
    return indicator_coverage_warnings(
        indicators, [s.agreement for s in statuses if s.usable and s.agreement]
    )


def release(pending: Path, extracts_dir: Path) -> list[Path]:
    """Move every ``<partner>/<date>`` folder of ``pending`` into place; returns them."""
    released: list[Path] = []
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
