"""Produce each partner's extract: filter to the agreement, suppress, write CSVs + manifest, audit.

Per partner, ``out_root/<partner>/<as_of>/`` holds

* ``<partner>_<as_of>_values.csv``: one long table of every cell the agreement allows
  (suppressed cells kept, blank, with the reason), each value with its 95% interval
  (``ci_lower``, ``ci_upper``, ``ci_method``; blank where the value is, rounded as it is:
  rule 6 of :mod:`.disclosure`);
* ``<partner>_<as_of>_indicators.csv``: the definitions of the indicators in it;
* ``<partner>_<as_of>_revisions.csv``: the cells whose released form changed since the
  partner's previous extract (:mod:`~ci_metrics.share.extracts.revisions`), header only when
  none did or there is nothing to compare with;
* ``manifest.json``: run, agreement, files with SHA-256 and row counts, contents, rules,
  what the revisions file compares.

The CSV files are byte-identical for identical input; the manifest carries run_id and
created_at and is not. ``ops.extracts`` (in the connection given) gets one row per file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ci_metrics.share.extracts.agreements import (
    DIMENSIONS,
    Agreement,
    AgreementError,
    AgreementStatus,
    list_agreements,
)
from ci_metrics.share.extracts.csv_writer import write_csv
from ci_metrics.share.extracts.disclosure import REASONS, Groupings, apply_disclosure_control, round_half_up
from ci_metrics.share.extracts.revisions import (
    REVISION_COLUMNS,
    first_recorded,
    revised_cells,
    revision_causes,
    values_as_of,
    with_causes,
)
from ci_metrics.share.folders import replace_dir

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1

VALUE_COLUMNS = [
    "indicator_id",
    "indicator_name_he",
    "indicator_name_en",
    "unit",
    "period",
    "locality_code",
    "dimension",
    "dimension_value",
    "value",
    "ci_lower",
    "ci_upper",
    "ci_method",
    "numerator",
    "denominator",
    "unweighted_count",
    "value_decimals",
    "suppressed",
]
INDICATOR_COLUMNS = [
    "indicator_id",
    "name_he",
    "name_en",
    "domain",
    "unit",
    "polarity",
    "definition",
    "source",
    "owner_partner",
    "baseline_period",
    "baseline_value",
    "target_period",
    "target_value",
    "min_cell_size",
]
INDICATOR_ROUNDED_COLUMNS = ("baseline_value", "target_value")
INDICATOR_INTEGER_COLUMNS = ("baseline_period", "target_period", "min_cell_size")

EXTRACTS_DDL = """
create schema if not exists ops;
create table if not exists ops.extracts (
    partner varchar not null,             -- agreement partner_id
    run_id varchar not null,
    as_of date not null,                  -- data as of (names the folder)
    file_name varchar not null,           -- relative to the partner's dated folder
    sha256 varchar not null,
    row_count bigint,                     -- data rows (null for the manifest)
    suppressed_cells bigint,              -- rows withheld by disclosure control
    created_at timestamp not null,        -- UTC
    agreement_version varchar,
    agreement_sha256 varchar,             -- SHA-256 of the agreement file used
    path varchar                          -- folder written
);
"""

_DIM_ORDER = {d: i for i, d in enumerate(DIMENSIONS)}

REVISIONS_RULE = (
    "both old and new values are as released under this agreement; a cell suppressed in either "
    "release has no value there"
)
"""The manifest's one-line statement of what the revisions file compares."""

HISTORY_RELATIONS = ("indicator_value_history", "indicator_values_as_of", "indicator_revisions")
"""The relations of ``marts`` the revisions file is computed from (the history stage's)."""

REVISION_KINDS = ("changed", "appeared", "disappeared")


@dataclass(frozen=True)
class ExtractFile:
    name: str
    sha256: str
    row_count: int | None
    suppressed_cells: int
    size_bytes: int


@dataclass(frozen=True)
class PreviousExtract:
    """A partner's latest extract of another run (its values file in ``ops.extracts``)."""

    run_id: str
    as_of: dt.date
    created_at: dt.datetime
    """UTC, no zone, to the second."""
    agreement_sha256: str | None
    moment: dt.datetime
    """The moment whose published values it carried (UTC): its ``created_at``, or its run's
    publish time (``ops.publications``) when later (created_at is kept to the second)."""


@dataclass(frozen=True)
class Revisions:
    """The revisions file's rows and the manifest's account of them."""

    cells: pd.DataFrame
    """REVISION_COLUMNS, in the order of the values file."""
    since: PreviousExtract | None
    reason: str | None
    """Why nothing is compared (``since`` is None), or why the comparison is qualified."""

    def counts(self) -> dict[str, int]:
        kinds = self.cells["revision_kind"].astype(str)
        return {k: int((kinds == k).sum()) for k in REVISION_KINDS}

    def suppressed_cells(self) -> int:
        """Rows with a side withheld by disclosure control."""
        withheld = (self.cells["previous_suppressed"].fillna("") != "") | (
            self.cells["new_suppressed"].fillna("") != ""
        )
        return int(withheld.sum())


@dataclass(frozen=True)
class PartnerExtractResult:
    partner: str
    status: str  # written | expired | not_yet_valid | invalid | not_found | empty
    message: str
    directory: Path | None = None
    files: tuple[ExtractFile, ...] = ()
    suppressed_cells: int = 0
    agreement_version: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status == "written"


# --------------------------------------------------------------------------- pure part


def build_partner_frame(
    values: pd.DataFrame,
    indicators: pd.DataFrame,
    agreement: Agreement,
    *,
    known_subtotals: Groupings | None = None,
) -> pd.DataFrame:
    """The rows and columns one partner receives, suppressed, in a stable order.

    Pure (pandas only): the public report can call it with the ``public`` agreement.
    The agreement's groupings merge their categories first; suppression is then decided on
    every dimension of the agreement's localities, then the frame is cut to the agreement's
    indicators, dimensions and periods. ``known_subtotals``: the groupings other agreements
    publish (:func:`published_groupings`), whose sums this partner can also read.
    Raises :class:`AgreementError` when a grouping leaves a category of the data in no group.
    """
    v = values[values["locality_code"].astype(int).isin(agreement.localities)]
    groupings = agreement.grouping_members()
    dims = v["dimension"].astype(str)
    agreement.check_categories({d: v.loc[dims == d, "dimension_value"].unique() for d in groupings})
    protected = apply_disclosure_control(
        v,
        agreement.disclosure_rules(),
        indicators=indicators,
        groupings=groupings,
        known_subtotals=known_subtotals,
    )

    wanted = protected["indicator_id"].isin(agreement.indicators) & protected["dimension"].isin(
        agreement.dimensions
    )
    protected = protected[wanted]
    keep = pd.Series(False, index=protected.index)
    for _indicator, rows in protected.groupby("indicator_id"):
        periods = agreement.select_periods(rows["period"].astype(int).unique())
        keep.loc[rows.index] = rows["period"].astype(int).isin(periods)
    out = protected[keep].copy()

    meta = indicators.drop_duplicates("indicator_id").set_index("indicator_id")
    for col, src in (("indicator_name_he", "name_he"), ("indicator_name_en", "name_en"), ("unit", "unit")):
        out[col] = out["indicator_id"].map(meta[src]) if src in meta.columns else None
        out[col] = out[col].astype(object)
    if "unweighted_count" not in out.columns:
        out["unweighted_count"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    for col in ("ci_lower", "ci_upper"):  # a warehouse from before the intervals: blank
        out[col] = pd.to_numeric(out[col], errors="coerce") if col in out.columns else math.nan
    out["ci_method"] = out["ci_method"].astype(object) if "ci_method" in out.columns else None

    out["period"] = out["period"].astype("int64")
    out["locality_code"] = out["locality_code"].astype("int64")
    out["dimension"] = out["dimension"].astype(str).astype(object)
    out["dimension_value"] = out["dimension_value"].astype(str).astype(object)
    return sort_cells(out[VALUE_COLUMNS])


def published_groupings(
    agreement: Agreement, others: Iterable[Agreement]
) -> dict[str, dict[str, tuple[str, ...]]]:
    """The groups other agreements publish, as known subtotals for ``agreement``.

    A dimension ``agreement`` groups itself must be grouped the same way by the others
    (else two merged tables would give each other's members away): raises
    :class:`AgreementError` naming both.
    """
    own = agreement.grouping_members()
    known: dict[str, dict[str, tuple[str, ...]]] = {}
    for other in others:
        if other.partner_id == agreement.partner_id:
            continue
        for dimension, groups in other.grouping_members().items():
            if dimension in own:
                if {frozenset(m) for m in own[dimension].values()} != {frozenset(m) for m in groups.values()}:
                    raise AgreementError(
                        f"'{dimension}' is grouped differently by '{agreement.partner_id}' and "
                        f"'{other.partner_id}': the merged tables would give each other's members away"
                    )
                continue
            for name, members in groups.items():
                known.setdefault(dimension, {})[f"{other.partner_id}.{name}"] = members
    return known


def sort_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Stable order independent of the warehouse's row order and of any locale:
    indicator, period, locality, dimension (total, school, gender, community, neighborhood,
    age_group), value ('unknown' last, others by code point)."""
    indicators = [str(v) for v in df["indicator_id"]]
    periods = [int(v) for v in df["period"]]
    localities = [int(v) for v in df["locality_code"]]
    dimensions = [str(v) for v in df["dimension"]]
    dimension_values = [str(v) for v in df["dimension_value"]]
    keys = sorted(
        range(len(df)),
        key=lambda r: (
            indicators[r],
            periods[r],
            localities[r],
            _DIM_ORDER.get(dimensions[r], len(_DIM_ORDER)),
            dimensions[r],
            dimension_values[r] == "unknown",
            dimension_values[r],
        ),
    )
    return df.iloc[keys].reset_index(drop=True)


def indicator_definitions(indicators: pd.DataFrame, ids: Sequence[str]) -> pd.DataFrame:
    d = indicators[indicators["indicator_id"].isin(list(ids))].drop_duplicates("indicator_id").copy()
    for col in INDICATOR_COLUMNS:
        if col not in d.columns:
            d[col] = None
    d = d[INDICATOR_COLUMNS].sort_values("indicator_id", kind="stable").reset_index(drop=True)
    for col in INDICATOR_ROUNDED_COLUMNS:
        d[col] = [
            round_half_up(x, 1) if x is not None and not pd.isna(x) else float("nan")
            for x in pd.to_numeric(d[col], errors="coerce")
        ]
    for col in INDICATOR_INTEGER_COLUMNS:
        d[col] = pd.to_numeric(d[col], errors="coerce").astype("Int64")
    for col in INDICATOR_COLUMNS:
        if col not in INDICATOR_INTEGER_COLUMNS and col not in INDICATOR_ROUNDED_COLUMNS:
            d[col] = d[col].astype(object)
    return d


HEBREW_TEXT_COLUMNS = ("name_he", "definition_he", "domain_he")
"""Registry columns (marts.indicators) the public report prints in Hebrew."""


def indicator_coverage_warnings(indicators: pd.DataFrame, agreements: Iterable[Agreement]) -> list[str]:
    """One warning per registry indicator that no agreement lists (it reaches no partner) and
    per indicator lacking a Hebrew text of the report (HEBREW_TEXT_COLUMNS), naming it.

    ``indicators`` has the columns of ``marts.indicators``; ``agreements`` are those in force.
    """
    listed = {i for a in agreements for i in a.indicators}
    out: list[str] = []
    for row in indicators.drop_duplicates("indicator_id").to_dict(orient="records"):
        ind = str(row["indicator_id"])
        if ind not in listed:
            out.append(
                f"indicator {ind}: in no partner agreement in force (no extract and no report carry it)"
            )
        missing = [c for c in HEBREW_TEXT_COLUMNS if pd.isna(row.get(c)) or not str(row.get(c)).strip()]
        if missing:
            out.append(f"indicator {ind}: no Hebrew text in the registry ({', '.join(missing)})")
    return out


# --------------------------------------------------------------------------- I/O part


def read_marts(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    values = con.execute("select * from marts.indicator_values").df()
    indicators = con.execute("select * from marts.indicators").df()
    return values, indicators


def ensure_extracts_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(EXTRACTS_DDL)


def produce_extracts(
    con: duckdb.DuckDBPyConnection,
    out_root: Path,
    *,
    run_id: str,
    as_of: dt.date,
    agreements_dir: Path | None = None,
    partners: Sequence[str] | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    audit_con: duckdb.DuckDBPyConnection | None = None,
) -> list[PartnerExtractResult]:
    """Write the extract of every partner (or of ``partners``) whose agreement is active.

    The marts are read from ``con``; the audit rows go to ``ops.extracts`` in ``audit_con``
    (default: ``con``), which must be writable: the table is created there before any file
    is written, so a read-only connection fails before anything is delivered.

    ``today`` (default: the current date) decides whether an agreement is in force;
    ``now`` (default: current UTC time) is the created_at of the manifest and audit rows.
    Invalid, expired or unknown agreements give a result with ``ok == False`` and a
    message naming the file, and no files. Nothing raises for one bad agreement.
    """
    today = today or dt.date.today()
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    statuses = list_agreements(agreements_dir, today=today)
    by_id = {s.partner_id: s for s in statuses}

    selected: list[AgreementStatus | str] = []
    if partners is None:
        selected = list(statuses)
    else:
        for name in partners:
            selected.append(by_id.get(name, name))

    # Every agreement that parses (in force or not) may publish merged sums: known to all.
    publishers = [s.agreement for s in statuses if s.agreement is not None]
    results: list[PartnerExtractResult] = []
    marts: tuple[pd.DataFrame, pd.DataFrame] | None = None
    for item in selected:
        if isinstance(item, str):
            known = ", ".join(sorted(by_id)) or "none"
            where = agreements_dir or "the default agreements dir"
            msg = f"no agreement for partner '{item}' in {where} (known: {known})"
            log.error(msg)
            results.append(PartnerExtractResult(item, "not_found", msg))
            continue
        if not item.usable:
            log.error("no extract for %s: %s", item.partner_id, item.message)
            results.append(PartnerExtractResult(item.partner_id, item.state, f"no extract: {item.message}"))
            continue
        if marts is None:
            ensure_extracts_table(audit_con or con)
            marts = read_marts(con)
        try:
            assert item.agreement is not None
            subtotals = published_groupings(item.agreement, publishers)
            frame = build_partner_frame(*marts, item.agreement, known_subtotals=subtotals)
        except AgreementError as exc:
            log.error("no extract for %s: %s", item.partner_id, exc)
            results.append(
                PartnerExtractResult(item.partner_id, "invalid", f"no extract: {item.path}: {exc}")
            )
            continue
        revisions = partner_revisions(con, audit_con or con, item, frame, marts[1], subtotals, run_id=run_id)
        results.append(
            _produce_one(
                audit_con or con,
                Path(out_root),
                item,
                marts,
                frame,
                revisions,
                run_id=run_id,
                as_of=as_of,
                now=now,
            )
        )
    return results


def previous_extract(
    con: duckdb.DuckDBPyConnection, audit_con: duckdb.DuckDBPyConnection, partner: str, run_id: str
) -> PreviousExtract | None:
    """The latest extract of ``partner`` (its values file in ``ops.extracts`` of ``audit_con``)
    made by a run other than ``run_id``, or None. Its moment is read from ``ops.publications``
    in ``con`` when there is one."""
    row = audit_con.execute(
        "select run_id, as_of, created_at, agreement_sha256 from ops.extracts "
        "where partner = ? and run_id <> ? and file_name = partner || '_' || strftime(as_of, '%Y-%m-%d') "
        "|| '_values.csv' order by created_at desc, run_id desc limit 1",
        [partner, run_id],
    ).fetchone()
    if row is None:
        return None
    run, day, created_at, agreement_sha256 = row
    moment = created_at
    if _has_relation(con, "ops", "publications"):
        published = con.execute(
            "select max(published_at) from ops.publications where run_id = ?", [run]
        ).fetchone()
        if published and published[0] is not None and published[0] > moment:
            moment = published[0]
    return PreviousExtract(str(run), day, created_at, agreement_sha256, moment)


def partner_revisions(
    con: duckdb.DuckDBPyConnection,
    audit_con: duckdb.DuckDBPyConnection,
    status: AgreementStatus,
    frame: pd.DataFrame,
    indicators: pd.DataFrame,
    known_subtotals: Groupings | None,
    *,
    run_id: str,
) -> Revisions:
    """What changed for this partner since its previous extract: ``frame`` (the release being
    written) against the values published at the previous extract's moment passed through the
    same agreement, registry and known subtotals (:func:`build_partner_frame`), with causes.

    Nothing is compared (header-only file, ``since`` None, a reason) for a partner's first
    extract, when the warehouse keeps no history, or when the previous extract is older than
    the history."""
    agreement = status.agreement
    assert agreement is not None
    empty = with_causes(revised_cells(frame.iloc[:0], frame.iloc[:0]), pd.DataFrame())
    previous = previous_extract(con, audit_con, agreement.partner_id, run_id)
    if previous is None:
        return Revisions(empty, None, "first extract of this partner: nothing to compare with")
    then = f"the previous extract (run {previous.run_id}, {previous.created_at.isoformat()}Z)"
    missing = [r for r in HISTORY_RELATIONS if not _has_relation(con, "marts", r)]
    if missing:
        return Revisions(
            empty,
            None,
            f"the warehouse keeps no history (no marts.{missing[0]}): {then} cannot be compared with",
        )
    first = first_recorded(con)
    if first is None or previous.moment < first:
        since_history = f"the history starts at {first.isoformat()}Z" if first else "the history is empty"
        return Revisions(empty, None, f"{then} is older than the history ({since_history})")
    try:
        old = build_partner_frame(
            values_as_of(con, previous.moment), indicators, agreement, known_subtotals=known_subtotals
        )
    except AgreementError as exc:
        return Revisions(empty, None, f"{then} cannot be rebuilt under this agreement: {exc}")
    cells = with_causes(
        revised_cells(old, frame), revision_causes(con, previous.moment), agreement.grouping_members()
    )
    note = None
    if previous.agreement_sha256 and status.sha256 and previous.agreement_sha256 != status.sha256:
        note = (
            "the agreement changed since the previous extract: the previous values are those this "
            "agreement releases of the values published then"
        )
    return Revisions(sort_cells(cells)[REVISION_COLUMNS], previous, note)


def _has_relation(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        "and table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def _produce_one(
    audit_con: duckdb.DuckDBPyConnection,
    out_root: Path,
    status: AgreementStatus,
    marts: tuple[pd.DataFrame, pd.DataFrame],
    frame: pd.DataFrame,
    revisions: Revisions,
    *,
    run_id: str,
    as_of: dt.date,
    now: dt.datetime,
) -> PartnerExtractResult:
    agreement = status.agreement
    assert agreement is not None
    values, indicators = marts
    partner = agreement.partner_id
    available = set(values["indicator_id"].astype(str))
    missing = [i for i in agreement.indicators if i not in available]
    warnings = tuple(f"indicator '{i}' of the agreement is not in marts.indicator_values" for i in missing)
    for w in warnings:
        log.warning("%s: %s", partner, w)
    definitions = indicator_definitions(indicators, sorted(set(frame["indicator_id"])))

    day = as_of.isoformat()
    final = out_root / partner / day
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{day}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        values_name = f"{partner}_{day}_values.csv"
        defs_name = f"{partner}_{day}_indicators.csv"
        revisions_name = f"{partner}_{day}_revisions.csv"
        n_suppressed = int((frame["suppressed"] != "").sum())
        w_values = write_csv(tmp / values_name, frame)
        w_defs = write_csv(tmp / defs_name, definitions)
        w_revisions = write_csv(tmp / revisions_name, revisions.cells)
        files = (
            ExtractFile(values_name, w_values.sha256, w_values.rows, n_suppressed, w_values.size_bytes),
            ExtractFile(defs_name, w_defs.sha256, w_defs.rows, 0, w_defs.size_bytes),
            ExtractFile(
                revisions_name,
                w_revisions.sha256,
                w_revisions.rows,
                revisions.suppressed_cells(),
                w_revisions.size_bytes,
            ),
        )
        manifest = _manifest(
            status,
            frame,
            definitions,
            files,
            _revisions_section(revisions, revisions_name),
            run_id=run_id,
            as_of=as_of,
            now=now,
            warnings=warnings,
        )
        data = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode("utf-8")
        (tmp / MANIFEST_NAME).write_bytes(data)
        manifest_file = ExtractFile(MANIFEST_NAME, hashlib.sha256(data).hexdigest(), None, 0, len(data))
        replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    _audit(audit_con, partner, run_id, as_of, now, (*files, manifest_file), agreement, status.sha256, final)
    since = f"since run {revisions.since.run_id}" if revisions.since else "nothing to compare with"
    msg = (
        f"{partner}: wrote {len(frame)} cells ({n_suppressed} suppressed), "
        f"{len(revisions.cells)} revised ({since}), to {final}"
    )
    log.info(msg)
    return PartnerExtractResult(
        partner, "written", msg, final, (*files, manifest_file), n_suppressed, agreement.version, warnings
    )


def _revisions_section(revisions: Revisions, file_name: str) -> dict[str, object]:
    """The manifest's ``revisions``: the file, what it compares with, how many cells, the rule."""
    since = revisions.since
    return {
        "file": file_name,
        "since": None
        if since is None
        else {
            "run_id": since.run_id,
            "data_as_of": since.as_of.isoformat(),
            "created_at": since.created_at.isoformat() + "Z",
            "values_as_of": since.moment.isoformat() + "Z",
        },
        "reason": revisions.reason,
        "cells": revisions.counts(),
        "rule": REVISIONS_RULE,
        "cause": "per cell: the files that entered or left the computation in the publishes since, "
        "'definition changed', or 'disclosure control: a related cell changed'",
    }


def _manifest(
    status: AgreementStatus,
    frame: pd.DataFrame,
    definitions: pd.DataFrame,
    files: tuple[ExtractFile, ...],
    revisions: dict[str, object],
    *,
    run_id: str,
    as_of: dt.date,
    now: dt.datetime,
    warnings: tuple[str, ...],
) -> dict:
    a = status.agreement
    assert a is not None
    rules = a.disclosure_rules()
    periods = {
        str(i): sorted(int(p) for p in rows["period"].unique())
        for i, rows in frame.groupby("indicator_id", sort=True)
    }
    by_reason = {r: int((frame["suppressed"] == r).sum()) for r in REASONS}

    def _plain(x: object) -> object:
        if x is None or (isinstance(x, float) and x != x) or x is pd.NA:
            return None
        if hasattr(x, "item"):
            return x.item()
        return x

    return {
        "format_version": FORMAT_VERSION,
        "partner": {"id": a.partner_id, "name_he": a.display_name.he, "name_en": a.display_name.en},
        "run_id": run_id,
        "data_as_of": as_of.isoformat(),
        "created_at": now.isoformat() + "Z",
        "agreement": {
            "file": status.path.name,
            "sha256": status.sha256,
            "version": a.version,
            "valid_from": a.valid_from.isoformat(),
            "expires_on": a.expires_on.isoformat(),
            "legal_basis": a.legal_basis,
            "purpose": a.purpose,
            "contact": a.contact.model_dump(exclude_none=True),
        },
        "files": [
            {
                "name": f.name,
                "sha256": f.sha256,
                "rows": f.row_count,
                "bytes": f.size_bytes,
                "suppressed_cells": f.suppressed_cells,
            }
            for f in files
        ],
        "contents": {
            "localities": list(a.localities),
            "dimensions": [d for d in DIMENSIONS if d in a.dimensions],
            "periods_rule": a.describe_periods(),
            "periods": periods,
            "indicators": [
                {k: _plain(v) for k, v in row.items()} for row in definitions.to_dict(orient="records")
            ],
            "indicators_not_available": [i for i in a.indicators if i not in periods],
        },
        "disclosure_control": {
            "min_cell_size": a.min_cell_size,
            "min_outcome_count": a.min_outcome_count,
            "exact_value_min_count": a.exact_value_min_count,
            "rules": rules.describe(),
            "suppressed_cells": by_reason,
        },
        "revisions": revisions,
        "csv_format": {
            "encoding": "UTF-8 with byte-order mark",
            "line_end": "CRLF (RFC 4180)",
            "separator": ",",
            "decimal_point": ".",
            "text_starting_with_formula_characters": "prefixed with a single quote",
            "byte_identical": "the CSV files are identical for identical data; this manifest is not "
            "(run_id, created_at)",
        },
        "warnings": list(warnings),
    }


def _audit(
    con: duckdb.DuckDBPyConnection,
    partner: str,
    run_id: str,
    as_of: dt.date,
    now: dt.datetime,
    files: tuple[ExtractFile, ...],
    agreement: Agreement,
    agreement_sha256: str | None,
    directory: Path,
) -> None:
    ensure_extracts_table(con)
    con.execute(
        "delete from ops.extracts where partner = ? and run_id = ? and as_of = ?", [partner, run_id, as_of]
    )
    con.executemany(
        "insert into ops.extracts (partner, run_id, as_of, file_name, sha256, row_count, suppressed_cells, "
        "created_at, agreement_version, agreement_sha256, path) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                partner,
                run_id,
                as_of,
                f.name,
                f.sha256,
                f.row_count,
                f.suppressed_cells,
                now,
                agreement.version,
                agreement_sha256,
                str(directory),
            ]
            for f in files
        ],
    )
