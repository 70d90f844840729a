"""The marts the public report reads, one pydantic model per mart (the Python side of the
dbt contracts in ``models/marts/*.yml``), and the one function that reads them.

Only the columns the report uses are declared; a mart may have more. A row that does not
fit (a status outside the four, a count that is not a number) stops the report with the
mart's name rather than printing something wrong.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import duckdb
from pydantic import BaseModel, ConfigDict, ValidationError

Status = Literal["achieved", "on track", "no detectable change", "off track", "no data"]
Verdict = Literal["better", "similar", "worse"]


class ReportError(RuntimeError):
    """The report cannot be made (no valid public agreement, no registry, a mart that does not fit...)."""


class MartRow(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class IndicatorRow(MartRow):
    """marts.indicators: the registry as published (one row per indicator)."""

    indicator_id: str
    name_he: str | None = None
    name_en: str | None = None
    domain: str | None = None
    domain_he: str | None = None
    unit: str = ""
    polarity: str = "higher_is_better"
    definition: str | None = None
    source: str | None = None
    owner_partner: str | None = None
    min_cell_size: int | None = None
    definition_he: str | None = None
    owner_partner_he: str | None = None
    gender_labels: str | None = None


class ProgressRow(MartRow):
    """marts.indicator_progress: one row per indicator per locality."""

    indicator_id: str
    baseline_period: int | None
    baseline_value: float | None
    target_period: int | None
    target_rule: str | None
    target_parameter: float | None
    target_value: float | None
    latest_period: int | None
    latest_value: float | None
    status: Status
    # Real change versus chance (issue 15); None when the mart predates them or cannot say.
    change_since_baseline_ci_lower: float | None = None
    change_since_baseline_ci_upper: float | None = None
    is_change_since_baseline_significant: bool | None = None
    change_since_previous: float | None = None
    change_since_previous_ci_lower: float | None = None
    change_since_previous_ci_upper: float | None = None
    is_change_since_previous_significant: bool | None = None


class ComparisonRow(MartRow):
    """marts.official_comparison: one row per indicator per locality per period with a CBS figure."""

    indicator_id: str
    locality_code: int
    period: int
    benchmark_verdict_peers: Verdict | None = None
    benchmark_verdict_all: Verdict | None = None


class FunnelRow(MartRow):
    """marts.indicator_funnel: one row per indicator per period per locality (empty with one locality)."""

    indicator_id: str
    period: int
    locality_code: int
    n: float | None
    value: float | None
    p0: float | None
    lower_95: float | None = None  # control limits around p0 at this n, in the unit of the value
    upper_95: float | None = None
    lower_998: float | None = None
    upper_998: float | None = None
    funnel_position: str | None = None


class SourceRow(MartRow):
    """marts.data_quality: one row per source."""

    source: str
    files_received: int
    files_loaded: int
    files_rejected: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int


class RejectRow(MartRow):
    """marts.data_quality_rejects: one row per source per reject category."""

    source: str
    reject_category: str
    rows_rejected: int


class CheckRunRow(MartRow):
    """marts.data_quality_checks: one row per run with validation results."""

    run_id: str
    checks_total: int
    checks_passed: int
    warnings_failed: int
    critical_failed: int
    is_latest_run: bool


class FailedCheckRow(MartRow):
    """marts.data_quality_failed_checks: one row per failed check of a run, in report order."""

    run_id: str
    check_number: int
    suite: str
    check_category: str
    severity: Literal["critical", "warning"]
    unexpected_count: int | None


Row = TypeVar("Row", bound=MartRow)


def mart_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether ``marts.<name>`` exists (table or view): a warehouse built by hand may lack one."""
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?",
        [name],
    ).fetchone()
    return bool(found and found[0])


def mart_columns(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    """The columns of ``marts.<name>`` (empty when it does not exist)."""
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ?",
        [name],
    ).fetchall()
    return {str(r[0]) for r in rows}


def read_rows(
    con: duckdb.DuckDBPyConnection, model: type[Row], sql: str, params: list[Any] | None = None
) -> list[Row]:
    """The rows of a query on a mart, each validated as ``model``."""
    cursor = con.execute(sql, params or [])
    columns = [d[0] for d in cursor.description or []]
    try:
        return [model.model_validate(dict(zip(columns, row, strict=True))) for row in cursor.fetchall()]
    except ValidationError as exc:
        raise ReportError(f"{sql}: a row does not fit {model.__name__}: {exc}") from exc
