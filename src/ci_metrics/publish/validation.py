"""Validating a build with Great Expectations before it is published.

GX audits the data as it arrives (volumes against the previous load, year-on-year jumps,
the plausibility of partner files); dbt tests hold the structural truths of each model.
Which rule lives where is written once, in ``expectations/README.md``.

A suite (``expectations/*.yml``) names a relation of the build copy (a model of the dbt
``audit`` layer written for it, a staging model or a raw table) and the columns it
validates: no SQL lives in a suite, and none is assembled here. GX Core 1.x has no DuckDB
data source, so DuckDB reads those columns (its relational API) and hands GX a pandas
DataFrame (GX's pandas data source, one whole-DataFrame batch per suite); the figures behind
this choice are in the README ("How validation reads DuckDB"). A threshold that is a
setting is written ``{setting: <name>}`` in the suite and resolved from
:class:`~ci_metrics.settings.Settings`.

Results go to ``ops.validations`` and to GX Data Docs under ``CI_METRICS_HOME/validation``.

Validation of what changed: a large relation is validated in chunks of whole localities, and
each chunk's outcomes are kept (``ops.validation_chunks``) with a fingerprint of the suite as
resolved (its expectations, their settings, GX's version) and of the chunk's rows (their
count and the sum of a hash of each row's validated columns). A later run whose chunk has the
same fingerprint takes its outcomes instead of running GX again: the outcome of an
expectation depends on nothing but the rows and the suite, so the merged result is the one a
run over every row would give. A night on which one city sent files validates the chunk of
that city (and any chunk whose rows moved), not the country.
A suite declares its ``personal_columns`` (keys, IDs, file and household numbers: any value
that may point at a person); what a failed expectation on them reports keeps its counts, and
its examples only masked (:func:`~ci_metrics.ingest.pseudonyms.mask_id`), everywhere it goes:
the outcome and the run record, ``ops.validations``, GX's stored results and Data Docs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from ci_metrics.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context import AbstractDataContext

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")

log = logging.getLogger(__name__)

SUITES_DIR = PROJECT_ROOT / "expectations"

SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit")
"""Schemas a suite may read: what ingestion loads and what dbt builds."""

Identifier = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]

# Kwargs that name the columns an expectation reads (GX's names).
COLUMN_KWARGS = ("column", "column_A", "column_B")
COLUMN_LIST_KWARGS = ("column_list",)

PERSONAL_NAME = re.compile(r"(?:^|_)(?:key|id|number)$")
"""Column names that say "this may point at a person" (``person_key``, ``file_number``,
``household_number``, ``id``): a suite must list such a column in ``personal_columns``."""

COUNT_FIELDS = frozenset(
    {
        "element_count",
        "missing_count",
        "missing_percent",
        "unexpected_count",
        "unexpected_percent",
        "unexpected_percent_total",
        "unexpected_percent_nonmissing",
        "partial_unexpected_index_list",  # row numbers of the DataFrame, not values
        "count",  # of a value, in partial_unexpected_counts
    }
)
"""Fields of a GX result that hold counts, never a value of the column."""


def columns_read(kwargs: Mapping[str, Any]) -> set[str]:
    """The columns an expectation reads, from its kwargs."""
    named = {str(kwargs[k]) for k in COLUMN_KWARGS if k in kwargs}
    for key in COLUMN_LIST_KWARGS:
        value = kwargs.get(key)
        if isinstance(value, list):
            named.update(str(v) for v in value)
    return named


class SettingRef(BaseModel):
    """A kwarg whose value is a numeric setting: ``min_value: {setting: volume_drop_warning}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    setting: str

    @field_validator("setting")
    @classmethod
    def _numeric_setting(cls, name: str) -> str:
        known = Settings.model_fields.get(name)
        if known is None or known.annotation not in (int, float):
            numeric = sorted(k for k, f in Settings.model_fields.items() if f.annotation in (int, float))
            raise ValueError(f"{name!r} is not a numeric setting; one of: {', '.join(numeric)}")
        return name

    def resolve(self, settings: Settings) -> float:
        return float(getattr(settings, self.setting))


Scalar = StrictBool | int | float | str | None
KwargValue = SettingRef | Scalar | list[Scalar]


class ExpectationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, KwargValue] = Field(default_factory=dict)
    severity: Literal["critical", "warning"]
    notes: str | None = None

    def columns(self) -> set[str]:
        """The columns the expectation reads."""
        return columns_read(self.kwargs)

    def resolved_kwargs(self, settings: Settings) -> dict[str, Any]:
        """The kwargs GX receives: every ``{setting: name}`` replaced by the setting's value."""
        return {k: v.resolve(settings) if isinstance(v, SettingRef) else v for k, v in self.kwargs.items()}


class SuiteSpec(BaseModel):
    """One expectation suite: the relation it validates, the columns it reads, its expectations."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    relation: str = Field(description="schema.table of the build copy, e.g. audit.file_volumes")
    columns: list[Identifier] = Field(min_length=1)
    personal_columns: list[Identifier] = Field(
        default_factory=list,
        description="columns that may hold personal data: their values are reported masked",
    )
    expectations: list[ExpectationSpec] = Field(min_length=1)

    @field_validator("relation")
    @classmethod
    def _a_relation_not_sql(cls, value: str) -> str:
        schema, dot, table = value.partition(".")
        if not (dot and schema in SCHEMAS and table and table.isidentifier() and table == table.lower()):
            raise ValueError(
                f"{value[:60]!r} is not a relation: a suite names schema.table (schema one of "
                f"{', '.join(SCHEMAS)}); the SQL that shapes what GX validates is a dbt model "
                "in models/audit/"
            )
        return value

    @model_validator(mode="after")
    def _expectations_read_listed_columns(self) -> SuiteSpec:
        used: set[str] = set().union(*(e.columns() for e in self.expectations))
        missing = sorted(used - set(self.columns))
        if missing:
            raise ValueError(f"expectations read columns not in `columns`: {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _personal_columns_declared(self) -> SuiteSpec:
        unknown = sorted(set(self.personal_columns) - set(self.columns))
        if unknown:
            raise ValueError(f"personal_columns not in `columns`: {', '.join(unknown)}")
        undeclared = sorted(
            c for c in self.columns if PERSONAL_NAME.search(c) and c not in self.personal_columns
        )
        if undeclared:
            raise ValueError(
                f"{', '.join(undeclared)}: a key, ID or number may point at a person; list it "
                "in `personal_columns` (its values are then reported masked)"
            )
        return self

    def is_personal(self, expectation_kwargs: dict[str, Any]) -> bool:
        """Does an expectation (its GX kwargs) read a personal column?"""
        return bool(columns_read(expectation_kwargs) & set(self.personal_columns))


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
    counted: tuple[int | None, int | None] = field(default=(None, None), compare=False, repr=False)
    """Rows GX looked at and rows it found missing, for merging chunks (not kept)."""

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
    chunks_validated: int = 0
    chunks_reused: int = 0
    """Chunks whose rows and suite had not changed since the run that validated them."""

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


LOCALITY = "locality_code"
"""The column validation chunks a large relation by (whole localities)."""


def chunk_relation(
    con: duckdb.DuckDBPyConnection, spec: SuiteSpec, localities: list[int] | None = None
) -> duckdb.DuckDBPyRelation:
    """The suite's relation (DuckDB's relational API: no SQL text); ``localities``: only
    their rows."""
    relation = con.table(spec.relation)
    if localities is not None:
        codes = [duckdb.ConstantExpression(code) for code in localities]
        relation = relation.filter(duckdb.ColumnExpression(LOCALITY).isin(*codes))
    return relation


def read_target(
    con: duckdb.DuckDBPyConnection, spec: SuiteSpec, localities: list[int] | None = None
) -> pd.DataFrame:
    """The suite's columns of its relation (``localities``: only their rows), as a DataFrame."""
    columns = [duckdb.ColumnExpression(name) for name in spec.columns]
    return chunk_relation(con, spec, localities).select(*columns).df()


def chunks(con: duckdb.DuckDBPyConnection, spec: SuiteSpec, most_rows: int) -> list[list[int] | None]:
    """How a suite's relation is read: whole (``[None]``), or, when it has more than
    ``most_rows`` rows and a locality column, in chunks of whole localities of about
    ``most_rows`` rows each. Whole localities keep every expectation exact: a row-wise one
    sums over the chunks, and a uniqueness within a locality stays within a chunk."""
    relation = con.table(spec.relation)
    if LOCALITY not in relation.columns:
        return [None]
    counts = (
        relation.aggregate(
            [duckdb.ColumnExpression(LOCALITY), duckdb.FunctionExpression("count_star").alias("n")],
            LOCALITY,
        )
        .order(LOCALITY)
        .fetchall()
    )
    if sum(n for _, n in counts) <= most_rows or any(code is None for code, _ in counts):
        return [None]
    cut: list[list[int] | None] = []
    current: list[int] = []
    size = 0
    for code, n in counts:
        if current and size + n > most_rows:
            cut.append(current)
            current, size = [], 0
        current.append(code)
        size += n
    cut.append(current)
    return cut


def suite_fingerprint(spec: SuiteSpec, settings: Settings) -> str:
    """The suite as it will run: its expectations with their settings resolved, its relation
    and columns, and the GX version that evaluates it."""
    import great_expectations as gx

    described = {
        "suite": spec.model_dump(mode="json"),
        "kwargs": [e.resolved_kwargs(settings) for e in spec.expectations],
        "gx": gx.__version__,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def rows_fingerprint(con: duckdb.DuckDBPyConnection, spec: SuiteSpec, localities: list[int] | None) -> str:
    """The rows a chunk validates, whatever their order: how many, and the sum of a hash of
    each row's validated columns (the rows :func:`read_target` reads)."""
    hashed = duckdb.FunctionExpression("hash", *[duckdb.ColumnExpression(name) for name in spec.columns])
    totals = chunk_relation(con, spec, localities).aggregate(
        [duckdb.FunctionExpression("count_star"), duckdb.FunctionExpression("sum", hashed)], ""
    )
    ((count, total),) = totals.fetchall()
    return f"{count}:{total}"


def chunk_name(localities: list[int] | None) -> str:
    return "" if localities is None else ",".join(str(code) for code in localities)


def _encoded(outcomes: list[ExpectationOutcome]) -> str:
    return json.dumps([dataclasses.asdict(o) for o in outcomes], ensure_ascii=False, default=str)


def _decoded(text: str) -> list[ExpectationOutcome]:
    outcomes = []
    for item in json.loads(text):
        counted = item.pop("counted", None) or (None, None)
        outcomes.append(ExpectationOutcome(**item, counted=(counted[0], counted[1])))
    return outcomes


Chunks = dict[tuple[str, str], tuple[str, str, str]]
"""(suite, chunk) -> (fingerprint, outcomes as JSON, the run that validated it)."""


def _validated_chunks(con: duckdb.DuckDBPyConnection) -> Chunks:
    """What the last validation of this warehouse kept (carried from publish to publish)."""
    from ci_metrics.ingest.ledger import ensure_ops

    ensure_ops(con)
    rows = con.execute("select suite, chunk, fingerprint, outcomes, run_id from ops.validation_chunks")
    return {(suite, chunk): (fp, outcomes, run) for suite, chunk, fp, outcomes, run in rows.fetchall()}


def _keep_chunks(con: duckdb.DuckDBPyConnection, kept: Chunks) -> None:
    """This validation's chunks, for the next run (the chunks of no current suite dropped)."""
    con.execute("delete from ops.validation_chunks")
    rows = [(suite, chunk, fp, outcomes, run) for (suite, chunk), (fp, outcomes, run) in kept.items()]
    if rows:
        con.executemany("insert into ops.validation_chunks values (?, ?, ?, ?, ?)", rows)


def _outcome(spec: SuiteSpec, item: Any) -> ExpectationOutcome:
    """One GX expectation result as the run record keeps it."""
    config = item.expectation_config
    if config is None:  # GX returns each result with its configuration
        raise RuntimeError(f"suite {spec.name}: a GX result without its expectation")
    res = item.result or {}
    partial = res.get("partial_unexpected_list") or []
    observed = res.get("observed_value")
    exc_info = item.exception_info or {}
    details = ", ".join(map(_example, partial[:3])) if partial else None
    if exc_info.get("raised_exception"):
        details = str(exc_info.get("exception_message"))[:300]
    outcome = ExpectationOutcome(
        suite=spec.name,
        target=spec.relation,
        expectation=config.type,
        kwargs={k: v for k, v in config.kwargs.items() if k != "batch_id"},
        success=bool(item.success),
        severity=str(getattr(config.severity, "value", config.severity)),
        observed_value=None if observed is None else str(observed)[:300],
        unexpected_count=res.get("unexpected_count"),
        details=details,
    )
    outcome.counted = (res.get("element_count"), res.get("missing_count"))
    return outcome


def merged(per_chunk: list[list[ExpectationOutcome]]) -> list[ExpectationOutcome]:
    """The outcomes of a suite validated in chunks, one per expectation, as if validated
    whole: unexpected rows summed, a ``mostly`` judged on the sums, a row count summed, the
    examples of the first chunk that failed."""
    if len(per_chunk) == 1:
        return per_chunk[0]
    outcomes = []
    for parts in zip(*per_chunk, strict=True):
        first = parts[0]
        failing = next((p for p in parts if not p.success), first)
        unexpected = [p.unexpected_count for p in parts if p.unexpected_count is not None]
        success = all(p.success for p in parts)
        mostly = first.kwargs.get("mostly")
        counted = all(p.counted[0] is not None and p.unexpected_count is not None for p in parts)
        if mostly is not None and counted:
            checked = sum((p.counted[0] or 0) - (p.counted[1] or 0) for p in parts)
            success = checked == 0 or 1 - sum(unexpected) / checked >= float(mostly)
        observed = failing.observed_value
        if first.expectation == "expect_table_row_count_to_be_between":
            observed = str(sum(int(p.observed_value or 0) for p in parts))
        outcomes.append(
            ExpectationOutcome(
                suite=first.suite,
                target=first.target,
                expectation=first.expectation,
                kwargs=first.kwargs,
                success=success,
                severity=first.severity,
                observed_value=observed,
                unexpected_count=sum(unexpected) if unexpected else None,
                details=failing.details,
            )
        )
    return outcomes


def validate_build(
    warehouse: Path,
    settings: Settings,
    run_id: str,
    suites: list[SuiteSpec] | None = None,
) -> ValidationReport:
    """Run every suite against ``warehouse`` (the build copy) and store the results there."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.metadata_types import FailureSeverity

    started = time.perf_counter()
    suites = suites if suites is not None else load_suites(settings.expectations_dir)
    settings.validation_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(settings.validation_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    datasource = context.data_sources.add_or_update_pandas("warehouse")
    report = ValidationReport()
    con = duckdb.connect(str(warehouse), config=settings.duckdb_config)
    kept: Chunks = {}
    try:
        earlier = _validated_chunks(con)
        # One suite at a time: its DataFrame is dropped before the next is read, so memory
        # peaks at the largest target, not at the sum of all of them.
        for spec in suites:
            try:
                parts = chunks(con, spec, settings.validation_chunk_rows)
            except duckdb.Error as exc:
                report.outcomes.append(
                    ExpectationOutcome(
                        spec.name,
                        spec.relation,
                        "read relation",
                        {"column_list": spec.columns},
                        False,
                        "critical",
                        None,
                        None,
                        f"the suite's relation could not be read: {exc}".splitlines()[0],
                    )
                )
                continue
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
                        kwargs=e.resolved_kwargs(settings),
                        severity=FailureSeverity(e.severity),
                        meta={"notes": e.notes} if e.notes else {},
                    ).to_domain_obj()
                    for e in spec.expectations
                ],
                meta={"description": spec.description, "relation": spec.relation, "columns": spec.columns},
            )
            suite = context.suites.add_or_update(suite)
            definition = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=spec.name, data=batch, suite=suite)
            )
            per_chunk: list[list[ExpectationOutcome]] = []
            resolved = suite_fingerprint(spec, settings)
            for localities in parts:
                # One chunk at a time (whole localities, at most validation_chunk_rows rows where
                # the relation has a locality): memory peaks at a chunk, whatever the country's size.
                name = chunk_name(localities)
                fingerprint = f"{resolved}:{rows_fingerprint(con, spec, localities)}"
                same = earlier.get((spec.name, name))
                if same is not None and same[0] == fingerprint:  # the same rows, the same suite
                    per_chunk.append(_decoded(same[1]))
                    kept[(spec.name, name)] = same
                    report.chunks_reused += 1
                    continue
                frame = read_target(con, spec, localities)
                report.rows_validated += len(frame)
                # run_time given: without it GX parses the run name as a date, and a run ID such as
                # 20261201T033812-6370ad reads as a time with a UTC offset of 63 hours (GX then fails).
                gx_run = gx.RunIdentifier(run_name=run_id, run_time=dt.datetime.now(dt.UTC))
                result = definition.run(
                    batch_parameters={"dataframe": frame},
                    result_format={"result_format": "SUMMARY", "partial_unexpected_count": 3},
                    run_id=gx_run,
                )
                del frame
                if _mask_personal_values(spec, result):
                    _overwrite_stored_result(context, spec, gx_run, result)
                outcomes = [_outcome(spec, item) for item in result.results]
                per_chunk.append(outcomes)
                kept[(spec.name, name)] = (fingerprint, _encoded(outcomes), run_id)
                report.chunks_validated += 1
            report.outcomes.extend(merged(per_chunk))
        context.build_data_docs()
        docs = settings.validation_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
        report.data_docs = docs if docs.exists() else None
        _store(con, run_id, report)
        _keep_chunks(con, kept)
    finally:
        con.close()
    report.seconds = time.perf_counter() - started
    return report


def _example(value: Any) -> str:
    """One unexpected value as a clerk reads it (a pair of values as ``(a, b)``)."""
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(map(str, value)) + ")"
    return str(value)


def _masked(value: Any) -> Any:
    """``value`` (a GX result or a part of it) with every value of the data masked, its shape
    and its counts kept."""
    from ci_metrics.ingest.pseudonyms import mask_id

    if isinstance(value, Mapping):
        return {k: v if k in COUNT_FIELDS else _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    return mask_id(value)


def _cleaned(value: Any) -> Any:
    """Every text of ``value`` (GX's exception info) with its digit runs masked."""
    from ci_metrics.ingest.ledger import clean_message

    if isinstance(value, Mapping):
        return {k: _cleaned(v) for k, v in value.items()}
    return clean_message(value) if isinstance(value, str) else value


def _mask_personal_values(spec: SuiteSpec, result: ExpectationSuiteValidationResult) -> bool:
    """Mask, in place, what GX reports of the values of the suite's personal columns: the
    results of every expectation that reads one keep their counts, their examples masked.
    Returns whether the suite has such an expectation."""
    personal = False
    for item in result.results:
        config = item.expectation_config
        if config is None or not spec.is_personal(config.kwargs):
            continue
        personal = True
        item.result = _masked(item.result or {})
        if item.exception_info:
            item.exception_info = _cleaned(item.exception_info)
    return personal


def _overwrite_stored_result(
    context: AbstractDataContext,
    spec: SuiteSpec,
    gx_run: RunIdentifier,
    result: ExpectationSuiteValidationResult,
) -> None:
    """Replace the result GX stored when it ran (with the values as they were) by ``result``,
    masked, before Data Docs are built from the store."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    batch_ids = {
        item.expectation_config.kwargs.get("batch_id") for item in result.results if item.expectation_config
    }
    store = context.validation_results_store
    for batch_id in batch_ids:
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=spec.name),
            run_id=gx_run,
            batch_identifier=batch_id,
        )
        if store.has_key(key):
            store.set(key, result)
            return
    # Fail closed: a GX that stores its results elsewhere must not leave the values there.
    raise RuntimeError(
        f"suite {spec.name}: GX's stored result was not found to mask its personal values; "
        "nothing is published"
    )


def _store(con: duckdb.DuckDBPyConnection, run_id: str, report: ValidationReport) -> None:
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
