"""The published indicators reproduce the independent truth of the sample city exactly."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ci_metrics_synthetic.truth_check import compare_with_truth, load_truth

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "data" / "samples" / "truth.json"
REGISTRY = ROOT / "seeds" / "indicator_registry.csv"


@pytest.fixture(scope="module")
def con(published_warehouse: Path):
    connection = duckdb.connect(str(published_warehouse), read_only=True)
    yield connection
    connection.close()


def registry_ids() -> set[str]:
    with REGISTRY.open(encoding="utf-8", newline="") as f:
        return {row["indicator_id"] for row in csv.DictReader(f)}


def registry_frame() -> pd.DataFrame:
    """The registry seed as a frame (the columns of marts.indicators that come from it)."""
    return pd.read_csv(REGISTRY, encoding="utf-8")


def test_every_truth_row_is_published_with_the_same_numbers(con) -> None:
    truth = load_truth(TRUTH)
    assert truth, "empty truth file"
    mismatches = compare_with_truth(con, truth, tolerance=1e-6)
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:50])


def test_indicator_values_has_one_row_per_cell(con) -> None:
    duplicates = con.execute(
        """
        select count(*) from (
            select indicator_id, period, locality_code, dimension, dimension_value
            from marts.indicator_values
            group by all
            having count(*) > 1
        )
        """
    ).fetchall()[0][0]
    assert duplicates == 0


def test_progress_has_one_row_per_registry_indicator(con) -> None:
    rows = con.execute("select indicator_id, locality_code, status from marts.indicator_progress").fetchall()
    localities = {r[1] for r in rows}
    assert len(localities) == 1, f"expected the sample city only, got {sorted(localities)}"
    ids = [r[0] for r in rows]
    assert sorted(ids) == sorted(registry_ids())
    assert {r[2] for r in rows} <= {"achieved", "on track", "no detectable change", "off track", "no data"}


def test_registry_mart_matches_the_seed(con) -> None:
    ids = {r[0] for r in con.execute("select indicator_id from marts.indicators").fetchall()}
    assert ids == registry_ids()


def test_compare_with_truth_reports_differences(con) -> None:
    """The comparison itself catches a wrong value, a missing row and an extra row."""
    truth = load_truth(TRUTH)
    wrong = dict(truth[0], value=truth[0]["value"] + 0.01)
    missing = dict(truth[0], dimension="gender", dimension_value="no_such_value")
    problems = compare_with_truth(con, [wrong, missing])
    assert len(problems) == 2
    assert "value expected" in problems[0]
    assert "missing" in problems[1]
    extras = compare_with_truth(con, truth[1:], report_extra=True)
    assert len(extras) == 1 and "not in the truth" in extras[0]
