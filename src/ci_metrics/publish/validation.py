"""Validating a build with Great Expectations before it is published.

How GX reads DuckDB: GX Core 1.x has no DuckDB data source, and its generic SQL data
source (SQLAlchemy) does not work with DuckDB. Each suite therefore names the SQL that
selects what it validates; DuckDB runs it on the build copy and hands GX the result as a
pandas DataFrame (GX's pandas data source, one whole-DataFrame batch per suite). The
figures behind this choice are in the README ("How validation reads DuckDB").

Suites live in ``expectations/*.yml``; results go to ``ops.validations`` and to GX Data
Docs under ``CI_METRICS_HOME/validation``.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field

from ci_metrics.settings import PROJECT_ROOT, Settings

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")

log = logging.getLogger(__name__)

SUITES_DIR = PROJECT_ROOT / "expectations"


class ExpectationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    severity: Literal["critical", "warning"]
    notes: str | None = None


class SuiteSpec(BaseModel):
    """One expectation suite and the SQL that selects the data it validates."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    target: str
    expectations: list[ExpectationSpec] = Field(min_length=1)


def load_suites(folder: Path = SUITES_DIR) -> list[SuiteSpec]:
    suites = []
    for path in sorted(folder.glob("*.yml")):
        try:
            suites.append(SuiteSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))))
        except Exception as exc:
            raise ValueError(f"{path}: not a valid expectation suite: {exc}") from exc
    return suites


@dataclass
class ExpectationOutcome:
    suite: str
    target: str
    expectation: str
    kwargs: dict[str, Any]
    success: bool
    severity: str
    observed_value: str | None
    unexpected_count: int | None
    details: str | None

    def describe(self) -> str:
        column = self.kwargs.get("column") or self.kwargs.get("column_list") or ""
        seen = f"observed {self.observed_value}" if self.observed_value is not None else ""
        if self.unexpected_count:
            seen = f"{self.unexpected_count} unexpected rows" + (
                f" (e.g. {self.details})" if self.details else ""
            )
        return f"[{self.severity}] {self.suite}: {self.expectation}({column}) failed on {self.target}: {seen}"


@dataclass
class ValidationReport:
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    data_docs: Path | None = None
    seconds: float = 0.0
    rows_validated: int = 0

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warning"]

    @property
    def status(self) -> str:
        if self.critical_failures:
            return "blocked"
        return "passed with warnings" if self.warnings else "passed"


def _render(sql: str, knobs: dict[str, Any]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(knobs[m.group(1)]), sql)


def _render_kwargs(kwargs: dict[str, Any], knobs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in kwargs.items():
        if isinstance(value, str) and re.fullmatch(r"\{\{\s*\w+\s*\}\}", value):
            value = float(_render(value, knobs))
        out[key] = value
    return out


def _table_of(sql: str) -> str:
    found = re.findall(r"\b(?:from|join)\s+((?:raw|ops|marts|staging|intermediate)\.\w+)", sql)
    return ", ".join(dict.fromkeys(found)) or "query"


def validate_build(
    warehouse: Path,
    settings: Settings,
    run_id: str,
    suites: list[SuiteSpec] | None = None,
) -> ValidationReport:
    """Run every suite against ``warehouse`` (the build copy) and store the results there."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    started = time.perf_counter()
    suites = suites if suites is not None else load_suites()
    knobs = {
        "volume_drop_warning": settings.volume_drop_warning,
        "jump_threshold_points": settings.jump_threshold_points,
    }
    settings.validation_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(settings.validation_dir))
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    datasource = context.data_sources.add_or_update_pandas("warehouse")
    report = ValidationReport()
    con = duckdb.connect(str(warehouse))
    try:
        # One suite at a time: its DataFrame is dropped before the next is read, so memory
        # peaks at the largest target, not at the sum of all of them.
        for spec in suites:
            try:
                frame = con.sql(_render(spec.target, knobs)).df()
            except duckdb.Error as exc:
                report.outcomes.append(
                    ExpectationOutcome(
                        spec.name,
                        _table_of(spec.target),
                        "target query",
                        {},
                        False,
                        "critical",
                        None,
                        None,
                        f"the suite's target query failed: {exc}".splitlines()[0],
                    )
                )
                continue
            report.rows_validated += len(frame)
            try:
                asset = datasource.get_asset(spec.name)
            except LookupError:
                asset = datasource.add_dataframe_asset(spec.name)
            try:
                batch = asset.get_batch_definition("whole")
            except KeyError:
                batch = asset.add_batch_definition_whole_dataframe("whole")
            suite = gx.ExpectationSuite(
                name=spec.name,
                expectations=[
                    ExpectationConfiguration(
                        type=e.type,
                        kwargs=_render_kwargs(e.kwargs, knobs),
                        severity=e.severity,
                        meta={"notes": e.notes} if e.notes else {},
                    ).to_domain_obj()
                    for e in spec.expectations
                ],
                meta={"description": spec.description, "target": spec.target},
            )
            suite = context.suites.add_or_update(suite)
            definition = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=spec.name, data=batch, suite=suite)
            )
            result = definition.run(
                batch_parameters={"dataframe": frame},
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": 3},
                run_id=gx.RunIdentifier(run_name=run_id),
            )
            del frame
            target = _table_of(spec.target)
            for item in result.results:
                config = item.expectation_config
                res = item.result or {}
                partial = res.get("partial_unexpected_list") or []
                observed = res.get("observed_value")
                exc_info = item.exception_info or {}
                details = ", ".join(map(str, partial[:3])) if partial else None
                if exc_info.get("raised_exception"):
                    details = str(exc_info.get("exception_message"))[:300]
                report.outcomes.append(
                    ExpectationOutcome(
                        suite=spec.name,
                        target=target,
                        expectation=config.type,
                        kwargs={k: v for k, v in config.kwargs.items() if k != "batch_id"},
                        success=bool(item.success),
                        severity=str(getattr(config.severity, "value", config.severity)),
                        observed_value=None if observed is None else str(observed)[:300],
                        unexpected_count=res.get("unexpected_count"),
                        details=details,
                    )
                )
        context.build_data_docs()
        docs = settings.validation_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
        report.data_docs = docs if docs.exists() else None
        _store(con, run_id, report)
    finally:
        con.close()
    report.seconds = time.perf_counter() - started
    return report


def _store(con: duckdb.DuckDBPyConnection, run_id: str, report: ValidationReport) -> None:
    import json

    from ci_metrics.ingest.ledger import ensure_ops

    ensure_ops(con)
    con.execute("delete from ops.validations where run_id = ?", [run_id])
    rows = [
        (
            run_id,
            o.suite,
            o.target,
            o.expectation,
            json.dumps(o.kwargs, ensure_ascii=False, default=str),
            o.success,
            o.severity,
            o.observed_value,
            o.unexpected_count,
            o.details,
        )
        for o in report.outcomes
    ]
    if rows:
        con.executemany("insert into ops.validations values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
