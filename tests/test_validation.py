"""The expectation suites: what they may name, how their thresholds are resolved, one GX run.

The division of labour between dbt tests and GX expectations is in expectations/README.md;
these tests hold the suites to it without running the pipeline.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from conftest import ROOT, make_settings
from pydantic import ValidationError

from ci_metrics.publish.validation import SUITES_DIR, SuiteSpec, load_suites, validate_build

MODELS = ROOT / "models"

# dbt's generic tests and the GX expectation that states the same rule.
SAME_RULE = {
    "not_null": "expect_column_values_to_not_be_null",
    "unique": "expect_column_values_to_be_unique",
    "accepted_values": "expect_column_values_to_be_in_set",
}


def suite(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "volumes",
        "relation": "audit.file_volumes",
        "columns": ["ratio_to_previous"],
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "ratio_to_previous", "min_value": {"setting": "volume_drop_warning"}},
                "severity": "warning",
            }
        ],
    }
    spec.update(overrides)
    return spec


# --- the suite loader ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "relation",
    [
        "select weight from raw.survey_responses",
        "raw.survey_responses where weight > 10",
        "(select 1)",
        "ops.files",  # the ledger is read through audit.file_volumes, a dbt model
        "survey_responses",
    ],
)
def test_a_suite_naming_sql_or_an_unknown_schema_is_rejected(relation: str) -> None:
    with pytest.raises(ValidationError, match="not a relation"):
        SuiteSpec.model_validate(suite(relation=relation))


def test_a_suite_with_the_old_sql_target_is_rejected() -> None:
    old = suite(target="select * from ops.files")
    del old["relation"]
    with pytest.raises(ValidationError) as raised:
        SuiteSpec.model_validate(old)
    fields = {error["loc"][0] for error in raised.value.errors()}
    assert fields == {"relation", "target"}  # relation missing, target not allowed


def test_a_threshold_resolves_from_the_settings() -> None:
    spec = SuiteSpec.model_validate(suite())
    kwargs = spec.expectations[0].resolved_kwargs(
        make_settings(Path("/nonexistent"), volume_drop_warning=0.3)
    )
    assert kwargs == {"column": "ratio_to_previous", "min_value": 0.3}


@pytest.mark.parametrize("name", ["no_such_setting", "home", "schedule_cron"])
def test_a_threshold_naming_no_numeric_setting_is_rejected(name: str) -> None:
    spec = suite()
    spec["expectations"][0]["kwargs"]["min_value"] = {"setting": name}
    with pytest.raises(ValidationError, match="not a numeric setting"):
        SuiteSpec.model_validate(spec)


def test_a_template_string_is_not_a_threshold() -> None:
    spec = suite()
    spec["expectations"][0]["kwargs"]["min_value"] = "{{ volume_drop_warning }}"
    kwargs = SuiteSpec.model_validate(spec).expectations[0].resolved_kwargs(make_settings(Path("/x")))
    assert kwargs["min_value"] == "{{ volume_drop_warning }}"  # passed on as text, never rendered


def test_an_expectation_reading_an_unlisted_column_is_rejected() -> None:
    with pytest.raises(ValidationError, match="not in `columns`: ratio_to_previous"):
        SuiteSpec.model_validate(suite(columns=["rows_loaded"]))


# --- the shipped suites against the dbt project ---------------------------------------------


def model_relations() -> dict[str, Path]:
    """schema.model -> its SQL file, for every dbt model (schema = the layer's folder)."""
    return {f"{path.relative_to(MODELS).parts[0]}.{path.stem}": path for path in MODELS.rglob("*.sql")}


def dbt_column_tests() -> dict[tuple[str, str], set[str]]:
    """(schema.table, column) -> the generic dbt tests on it, for models and sources."""
    found: dict[tuple[str, str], set[str]] = {}

    def add(relation: str, columns: list[dict[str, Any]], table_tests: list[Any]) -> None:
        for column in columns:
            for test in column.get("data_tests") or []:
                name = test if isinstance(test, str) else next(iter(test))
                found.setdefault((relation, column["name"]), set()).add(name)
        for test in table_tests:
            if isinstance(test, dict) and "unique_combination_of_columns" in test:
                cols = test["unique_combination_of_columns"]["arguments"]["combination_of_columns"]
                found.setdefault((relation, ",".join(sorted(cols))), set()).add("unique_combination")

    for path in MODELS.rglob("*.yml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        layer = path.relative_to(MODELS).parts[0]
        for model in doc.get("models") or []:
            add(f"{layer}.{model['name']}", model.get("columns") or [], model.get("data_tests") or [])
        for source in doc.get("sources") or []:
            for table in source.get("tables") or []:
                add(
                    f"{source.get('schema', source['name'])}.{table['name']}",
                    table.get("columns") or [],
                    table.get("data_tests") or [],
                )
    return found


def declared_sources() -> set[str]:
    found = set()
    for path in MODELS.rglob("*.yml"):
        for source in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("sources") or []:
            found |= {
                f"{source.get('schema', source['name'])}.{t['name']}" for t in source.get("tables") or []
            }
    return found


def test_every_suite_names_a_dbt_model_or_a_declared_source() -> None:
    known = set(model_relations()) | declared_sources()
    for spec in load_suites():
        assert spec.relation in known, f"{spec.name}: {spec.relation} is neither a dbt model nor a source"


def test_every_audit_model_is_validated_and_documented_with_its_grain() -> None:
    audited = {s.relation for s in load_suites()}
    audit_models = {r: p for r, p in model_relations().items() if r.startswith("audit.")}
    assert audit_models, "the audit layer is empty"
    for relation, sql in audit_models.items():
        assert relation in audited, f"{relation} is written for GX but no suite names it"
        doc = sql.with_suffix(".yml").read_text(encoding="utf-8")
        assert "Grain:" in doc, f"{sql.with_suffix('.yml')} states no grain"


def test_no_expectation_repeats_a_dbt_test() -> None:
    """One rule, one place: GX does not restate a not-null, unique or accepted-values test."""
    dbt_tests = dbt_column_tests()
    repeats = []
    for spec in load_suites():
        for e in spec.expectations:
            column = e.kwargs.get("column")
            for dbt_test, gx_type in SAME_RULE.items():
                if e.type == gx_type and dbt_test in dbt_tests.get((spec.relation, str(column)), set()):
                    repeats.append(f"{spec.name}: {e.type}({column}) repeats dbt's {dbt_test}")
            listed = e.kwargs.get("column_list")
            if e.type == "expect_compound_columns_to_be_unique" and isinstance(listed, list):
                key = ",".join(sorted(map(str, listed)))
                if "unique_combination" in dbt_tests.get((spec.relation, key), set()):
                    repeats.append(
                        f"{spec.name}: unique {listed} repeats dbt's unique_combination_of_columns"
                    )
    assert not repeats, repeats


def test_the_suites_folder_holds_only_suites() -> None:
    names = [s.name for s in load_suites()]
    assert len(names) == len(set(names)) == len(list(SUITES_DIR.glob("*.yml")))


# --- one real Great Expectations run ---------------------------------------------------------


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """validate_build on a small DuckDB file: a survey with one weight of 55, three loads of a
    layout (the last one 30% of the one before), and a suite whose relation does not exist."""
    home = tmp_path_factory.mktemp("home")
    warehouse = home / "small.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema raw; create schema audit")
    con.execute("create table raw.survey_responses (weight double)")
    con.execute("insert into raw.survey_responses values (1.2), (0.8), (55.0)")
    con.execute("create table audit.file_volumes (rows_loaded bigint, ratio_to_previous double)")
    con.execute("insert into audit.file_volumes values (100, null), (100, 1.0), (30, 0.3)")
    con.close()
    suites = [
        SuiteSpec.model_validate(
            {
                "name": "surveys",
                "relation": "raw.survey_responses",
                "columns": ["weight"],
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_between",
                        "kwargs": {"column": "weight", "max_value": 10},
                        "severity": "critical",
                    }
                ],
            }
        ),
        SuiteSpec.model_validate(suite()),
        SuiteSpec.model_validate(suite(name="gone", relation="audit.not_built")),
    ]
    settings = make_settings(home, volume_drop_warning=0.5)
    report = validate_build(warehouse, settings, "run-1", suites)
    # A run ID that GX's date parser reads as a time with a UTC offset of 63 hours: validation
    # must not depend on what a random suffix looks like.
    lenient = validate_build(
        warehouse,
        settings.model_copy(update={"volume_drop_warning": 0.25}),
        "20261201T033812-6370ad",
        suites,
    )
    return warehouse, report, lenient


def test_a_real_run_blocks_on_a_critical_failure_and_names_the_column(small_run: Any) -> None:
    _warehouse, report, _ = small_run
    assert report.status == "blocked"
    weight = [o for o in report.critical_failures if o.suite == "surveys"]
    assert len(weight) == 1 and weight[0].unexpected_count == 1
    text = weight[0].describe()
    assert "expect_column_values_to_be_between(weight)" in text and "raw.survey_responses" in text
    assert "55" in text


def test_a_real_run_warns_with_the_threshold_of_the_settings(small_run: Any) -> None:
    _warehouse, report, lenient = small_run
    assert [(o.suite, o.kwargs["min_value"], o.unexpected_count) for o in report.warnings] == [
        ("volumes", 0.5, 1)
    ]
    assert not lenient.warnings  # 0.3 is above a threshold of 0.25


def test_a_relation_that_cannot_be_read_is_a_critical_failure(small_run: Any) -> None:
    _warehouse, report, _ = small_run
    gone = [o for o in report.critical_failures if o.suite == "gone"]
    assert len(gone) == 1 and gone[0].target == "audit.not_built"
    assert "could not be read" in (gone[0].details or "")


def test_a_real_run_stores_its_outcomes_and_builds_data_docs(small_run: Any) -> None:
    warehouse, report, _ = small_run
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        stored = con.execute(
            "select suite, target, success, severity from ops.validations where run_id = ? order by suite",
            ["run-1"],
        ).fetchall()
    finally:
        con.close()
    assert stored == [
        ("gone", "audit.not_built", False, "critical"),
        ("surveys", "raw.survey_responses", False, "critical"),
        ("volumes", "audit.file_volumes", False, "warning"),
    ]
    assert report.data_docs is not None and report.data_docs.exists()
    assert "run-1" in report.data_docs.read_text(encoding="utf-8")


# --- validation in chunks of whole localities (issue 16) -------------------------------------


def youth_rows(warehouse: Path) -> None:
    """Three localities (10, 20, 30) of youth rows, with bad flags in two of them and repeats
    below the `mostly` threshold overall but above it in one locality."""
    con = duckdb.connect(str(warehouse))
    con.execute("create schema audit")
    con.execute(
        "create table audit.youth_roster_rows as select (range % 3) * 10 + 10 as locality_code, "
        "2020 as period, 'tzofim' as movement, "
        "case when range in (5, 8) then 'repeat' else 'p' || range end as member_key, "
        "range not in (3, 4, 6) as active from range(300)"
    )
    con.close()


def youth_suite(mostly: float = 0.99) -> SuiteSpec:
    return SuiteSpec.model_validate(
        {
            "name": "youth",
            "relation": "audit.youth_roster_rows",
            "columns": ["locality_code", "period", "movement", "member_key", "active"],
            "personal_columns": ["member_key"],
            "expectations": [
                {
                    "type": "expect_table_row_count_to_be_between",
                    "kwargs": {"min_value": 1},
                    "severity": "critical",
                },
                {
                    "type": "expect_column_values_to_be_in_set",
                    "kwargs": {"column": "active", "value_set": [True]},
                    "severity": "warning",
                },
                {
                    "type": "expect_compound_columns_to_be_unique",
                    "kwargs": {
                        "column_list": ["locality_code", "period", "movement", "member_key"],
                        "mostly": mostly,
                    },
                    "severity": "warning",
                },
            ],
        }
    )


def test_a_relation_validated_in_chunks_gives_the_outcomes_of_a_whole_read(tmp_path: Path) -> None:
    """Read in chunks of one locality, the outcomes equal those of one whole read (counts
    summed, `mostly` on the sums)."""
    warehouse = tmp_path / "youth.duckdb"
    youth_rows(warehouse)
    spec = youth_suite()

    def outcomes(chunk_rows: int) -> dict[str, tuple[bool, int | None, str | None]]:
        settings = make_settings(tmp_path / f"home{chunk_rows}", validation_chunk_rows=chunk_rows)
        report = validate_build(warehouse, settings, f"run-{chunk_rows}", [spec])
        return {o.expectation: (o.success, o.unexpected_count, o.observed_value) for o in report.outcomes}

    whole = outcomes(1_000)
    assert whole["expect_table_row_count_to_be_between"] == (True, None, "300")
    assert whole["expect_column_values_to_be_in_set"][:2] == (False, 3)
    # 2 of 300 rows repeat (99.3% unique): passes overall, although the locality with both
    # repeats is only 98% unique on its own
    assert whole["expect_compound_columns_to_be_unique"][:2] == (True, 2)
    assert outcomes(100) == whole  # one locality per chunk


def test_validation_of_what_changed_only_chunks_whose_rows_or_suite_changed_run_again(tmp_path: Path) -> None:
    """The same rows and suite: every chunk's outcomes are taken from the run that validated
    it. One locality's rows change: its chunk alone is validated again, and a new failure in
    it is found, with the outcomes of a validation of every row from scratch. Another
    threshold in the suite: every chunk is validated again."""
    warehouse = tmp_path / "youth.duckdb"
    youth_rows(warehouse)
    settings = make_settings(tmp_path / "home", validation_chunk_rows=100)

    def summary(report: Any) -> dict[str, tuple[bool, int | None, str | None]]:
        return {o.expectation: (o.success, o.unexpected_count, o.observed_value) for o in report.outcomes}

    first = validate_build(warehouse, settings, "run-1", [youth_suite()])
    assert (first.chunks_validated, first.chunks_reused) == (3, 0)
    again = validate_build(warehouse, settings, "run-2", [youth_suite()])
    assert (again.chunks_validated, again.chunks_reused) == (0, 3)
    assert summary(again) == summary(first)

    con = duckdb.connect(str(warehouse))
    con.execute("update audit.youth_roster_rows set active = false where member_key = 'p1'")  # locality 20
    con.close()
    third = validate_build(warehouse, settings, "run-3", [youth_suite()])
    assert (third.chunks_validated, third.chunks_reused) == (1, 2)
    assert summary(third)["expect_column_values_to_be_in_set"][:2] == (False, 4)
    scratch = tmp_path / "scratch.duckdb"
    shutil.copy(warehouse, scratch)
    con = duckdb.connect(str(scratch))
    con.execute("delete from ops.validation_chunks")
    con.close()
    assert summary(validate_build(scratch, settings, "run-4", [youth_suite()])) == summary(third)

    stricter = validate_build(warehouse, settings, "run-5", [youth_suite(mostly=0.999)])
    assert (stricter.chunks_validated, stricter.chunks_reused) == (3, 0)
    assert summary(stricter)["expect_compound_columns_to_be_unique"][:2] == (False, 2)
