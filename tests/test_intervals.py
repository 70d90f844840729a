"""The 95% interval of every value (issue 15, item 1) against an independent implementation.

statsmodels recomputes each interval from the cell's counts, with the method the registry
names (read from the warehouse, as the model reads it): ``proportion_confint(method="wilson")``
for a share (a weighted share: count = p x n_eff and nobs = n_eff, Kish's n_eff = (Σw)² / Σw²),
``confint_proportions_2indep(method="newcomb", compare="diff")`` for a difference of two cells,
``confint_poisson_2indep(method="wald", compare="diff")`` for a net of two Poisson counts.
Compared to 1e-9 in the unit of the value: on the sample run, on a generated town
(tests/test_generate.py calls :func:`warehouse_interval_mismatches` on its own run), on the
dbt unit test's cases, and on the macros themselves over a grid that covers 0 of n, n of n
and n = 1.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import norm
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.rates import confint_poisson_2indep

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-9
KEY = ["indicator_id", "period", "locality_code", "dimension", "dimension_value"]
INTERVAL_METHODS = {"wilson", "wilson_kish", "newcombe", "poisson_difference"}
REGISTRY_COLUMNS = [
    "indicator_id",
    "scale",
    "ci_method",
    "derived_from",
    "derived_dimension",
    "derived_minuend",
    "derived_subtrahend",
]


# -- the independent computation -----------------------------------------------------------
def wilson_inputs(cells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(count, nobs) of each share's Wilson interval: the counts, or p x n_eff and Kish's n_eff
    for a weighted share (NaN for the other methods)."""
    num = cells["numerator"].to_numpy(dtype=float)
    den = cells["denominator"].to_numpy(dtype=float)
    method = cells["ci_method"].to_numpy()
    n_eff = den**2 / cells["sum_weight_squared"].to_numpy(dtype=float)
    count = np.where(method == "wilson", num, np.where(method == "wilson_kish", num / den * n_eff, np.nan))
    nobs = np.where(method == "wilson", den, np.where(method == "wilson_kish", n_eff, np.nan))
    return count, nobs


def expected_bounds(cells: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """The cells (indicator_values' columns, with sum_weight_squared, inflow and outflow) and
    statsmodels' bounds in the unit of the value: expected_lower, expected_upper."""
    registry = registry[REGISTRY_COLUMNS].rename(columns={"ci_method": "registry_method"})
    out = cells.merge(registry, on="indicator_id", how="left", validate="many_to_one").reset_index(drop=True)
    assert (out["ci_method"] == out["registry_method"]).all(), (
        "indicator_values' ci_method is not the registry's"
    )
    method = out["ci_method"].to_numpy()
    scale = out["scale"].to_numpy(dtype=float)
    lower = np.full(len(out), np.nan)
    upper = np.full(len(out), np.nan)

    count, nobs = wilson_inputs(out)
    share = np.isin(method, ["wilson", "wilson_kish"])
    if share.any():
        lo, up = proportion_confint(count[share], nobs[share], alpha=0.05, method="wilson")
        lower[share], upper[share] = scale[share] * lo, scale[share] * up

    net = method == "poisson_difference"
    if net.any():
        den = out.loc[net, "denominator"].to_numpy(dtype=float)
        lo, up = confint_poisson_2indep(
            out.loc[net, "inflow"].to_numpy(dtype=float),
            den,
            out.loc[net, "outflow"].to_numpy(dtype=float),
            den,
            method="wald",
            compare="diff",
            alpha=0.05,
        )
        lower[net], upper[net] = scale[net] * lo, scale[net] * up

    # a difference of two cells of another indicator (registry derived_*), in percentage points
    cell_counts = {
        tuple(k): (c, n, s)
        for k, c, n, s in zip(
            out[KEY].itertuples(index=False), count, nobs, out["scale"].to_numpy(dtype=float), strict=True
        )
    }
    for i in np.flatnonzero(method == "newcombe"):
        row = out.iloc[i]
        where = (row["derived_from"], row["period"], row["locality_code"], row["derived_dimension"])
        c1, n1, s1 = cell_counts[(*where, row["derived_minuend"])]
        c2, n2, s2 = cell_counts[(*where, row["derived_subtrahend"])]
        assert s1 == s2, "the two cells of a difference share a scale"
        lo, up = confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", compare="diff", alpha=0.05)
        lower[i], upper[i] = s1 * lo, s1 * up

    out["expected_lower"], out["expected_upper"] = lower, upper
    return out


def interval_mismatches(cells: pd.DataFrame, registry: pd.DataFrame) -> tuple[list[str], Counter[str]]:
    """Cells whose interval differs from statsmodels' by more than 1e-9 (or is missing, or
    present where it should not be), and how many cells of each method were compared."""
    out = expected_bounds(cells, registry)
    problems = []
    for row in out.itertuples(index=False):
        key = "/".join(str(getattr(row, k)) for k in KEY)
        for side in ("lower", "upper"):
            got, want = getattr(row, f"ci_{side}"), getattr(row, f"expected_{side}")
            if pd.isna(got) != pd.isna(want) or (not pd.isna(got) and abs(got - want) > TOLERANCE):
                problems.append(f"{key} ({row.ci_method}): ci_{side} {got!r}, statsmodels {want!r}")
    compared = Counter(out.loc[out["expected_lower"].notna(), "ci_method"])
    return problems, compared


def warehouse_frames(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """marts.indicator_values with its cells' interval inputs, and the published registry."""
    cells = con.execute(
        """
        select v.*, c.sum_weight_squared, c.inflow, c.outflow
        from marts.indicator_values as v
        inner join marts.indicator_cells as c
            using (indicator_id, period, locality_code, dimension, dimension_value)
        """
    ).df()
    assert len(cells) == con.execute("select count(*) from marts.indicator_values").fetchone()[0]
    registry = con.execute("select * from marts.indicators").df()
    return cells, registry


def warehouse_interval_mismatches(con: duckdb.DuckDBPyConnection) -> tuple[list[str], Counter[str]]:
    """:func:`interval_mismatches` of a published warehouse."""
    return interval_mismatches(*warehouse_frames(con))


# -- the sample run ------------------------------------------------------------------------
def test_every_interval_of_the_sample_matches_statsmodels(published_warehouse: Path) -> None:
    with duckdb.connect(str(published_warehouse), read_only=True) as con:
        problems, compared = warehouse_interval_mismatches(con)
        methods = {m for (m,) in con.execute("select distinct ci_method from marts.indicators").fetchall()}
        with_value = con.execute(
            "select count(*) from marts.indicator_values where value is not null and ci_method <> 'none'"
        ).fetchone()[0]
    assert problems == [], f"{len(problems)} intervals differ:\n" + "\n".join(problems[:20])
    assert sum(compared.values()) == with_value, compared
    # the sample exercises every method its registry uses, all four interval methods
    assert set(compared) == methods - {"none"} == INTERVAL_METHODS, compared


def test_the_sample_has_edge_cells_and_wide_intervals_for_small_cells(published_warehouse: Path) -> None:
    """A cell of 0 starts at exactly 0; a breakdown of a few pupils is visibly less certain
    than the total."""
    with duckdb.connect(str(published_warehouse), read_only=True) as con:
        zeros = con.execute(
            "select ci_lower, ci_upper from marts.indicator_values "
            "where ci_method = 'wilson' and numerator = 0"
        ).fetchall()
        widths = con.execute(
            """
            select
                max(ci_upper - ci_lower) filter (where dimension = 'total'),
                min(ci_upper - ci_lower) filter (where dimension <> 'total' and unweighted_count < 20)
            from marts.indicator_values
            where indicator_id in (select indicator_id from marts.indicators where ci_method = 'wilson')
            """
        ).fetchone()
    assert zeros and all(lo == 0.0 and up > 0 for lo, up in zeros), zeros
    total_widest, small_narrowest = widths
    assert small_narrowest > total_widest, widths


# -- the dbt unit test's cases ---------------------------------------------------------------
def test_the_dbt_unit_test_expects_statsmodels_values() -> None:
    """The bounds models/marts/indicator_values.yml's unit test expects (dbt compares them with
    the model to the last digit on every build) are statsmodels' to 1e-9: 0 of n, n of n,
    1 of 1 and 0 of 1, Kish with unequal and with equal weights, Newcombe, the Poisson net."""
    doc = yaml.safe_load((ROOT / "models" / "marts" / "indicator_values.yml").read_text(encoding="utf-8"))
    (test,) = [t for t in doc["unit_tests"] if t["name"] == "test_confidence_intervals"]
    given = {g["input"]: pd.DataFrame(g["rows"]) for g in test["given"]}
    registry = given["ref('indicator_registry')"].reindex(columns=REGISTRY_COLUMNS)
    cells = given["ref('indicator_cells')"].reindex(
        columns=[*KEY, "numerator", "denominator", "value", "sum_weight_squared", "inflow", "outflow"]
    )
    expected = pd.DataFrame(test["expect"]["rows"])
    cells = cells.merge(expected, on=["indicator_id", "dimension_value"], validate="one_to_one")
    problems, compared = interval_mismatches(cells, registry)
    assert problems == [], "\n".join(problems)
    assert set(compared) == INTERVAL_METHODS
    edges = expected.set_index("dimension_value")
    assert edges.loc["none_of_20", "ci_lower"] == 0.0 and edges.loc["all_of_20", "ci_upper"] == 100.0
    assert edges.loc["one_of_1", "ci_upper"] == 100.0 and edges.loc["none_of_1", "ci_lower"] == 0.0


# -- the macros, compiled by dbt, over a grid ----------------------------------------------------
def compile_with_dbt(sql: str, tmp_path: Path) -> str:
    """``sql`` compiled by dbt in the project (its macros expanded), as ``ci-metrics dbt`` runs it."""
    from conftest import make_settings

    from ci_metrics.publish.dbt import DBT_MAIN, dbt_env

    settings = make_settings(tmp_path / "home")
    env = dbt_env(settings, tmp_path / "unused.duckdb")
    project = str(settings.dbt_project_dir)
    done = subprocess.run(
        [
            *(sys.executable, "-c", DBT_MAIN, "compile", "--quiet", "--target", "lint", "--inline", sql),
            *("--project-dir", project, "--profiles-dir", project),
        ],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


MACRO_QUERY = """
{%- set kish_n = kish_effective_sample_size('sum_weight', 'sum_weight_squared') %}
select
    *,
    {{ wilson_lower('p', 'n') }} as wilson_lower,
    {{ wilson_upper('p', 'n') }} as wilson_upper,
    {{ kish_n }} as kish_n,
    {{ wilson_lower('p', kish_n) }} as kish_lower,
    {{ wilson_upper('p', kish_n) }} as kish_upper,
    {{ newcombe_lower('p - p2', 'p', wilson_lower('p', 'n'), 'p2', wilson_upper('p2', 'n2')) }}
        as newcombe_lower,
    {{ newcombe_upper('p - p2', 'p', wilson_upper('p', 'n'), 'p2', wilson_lower('p2', 'n2')) }}
        as newcombe_upper,
    {{ poisson_difference_half_width('inflow', 'outflow', 'n') }} as poisson_half_width,
    {{ ci_z() }} as z
from cases
"""


@pytest.fixture(scope="module")
def macro_query(tmp_path_factory: pytest.TempPathFactory) -> str:
    return compile_with_dbt(MACRO_QUERY, tmp_path_factory.mktemp("dbt"))


def grid() -> pd.DataFrame:
    """Every x of n for n = 1..40 (0 of n, n of n, n = 1 among them), each beside another
    share for the difference, with survey-like weights for Kish and flows for the Poisson net."""
    rng = np.random.default_rng(15)
    rows = []
    for n in range(1, 41):
        for x in range(n + 1):
            n2 = int(rng.integers(1, 41))
            x2 = int(rng.integers(0, n2 + 1))
            weights = rng.gamma(shape=rng.choice([0.5, 2.0, 50.0]), size=n)
            agree = rng.random(n) < x / n
            rows.append(
                {
                    "x": x,
                    "n": float(n),
                    "p": x / n,
                    "x2": x2,
                    "n2": float(n2),
                    "p2": x2 / n2,
                    "sum_weight": weights.sum(),
                    "sum_weight_squared": (weights**2).sum(),
                    "weighted_p": weights[agree].sum() / weights.sum(),
                    "inflow": float(rng.integers(0, 500)),
                    "outflow": float(rng.integers(0, 500)),
                }
            )
    return pd.DataFrame(rows)


def run_macros(macro_query: str, cases: pd.DataFrame) -> pd.DataFrame:
    with duckdb.connect() as con:
        con.register("cases", cases)
        return con.execute(macro_query).df()


def test_the_macros_match_statsmodels_on_a_grid_with_the_edges(macro_query: str) -> None:
    cases = grid()
    got = run_macros(macro_query, cases)
    assert got["z"].eq(norm.ppf(0.975)).all(), "z is the exact 97.5% normal quantile"

    lo, up = proportion_confint(cases["x"], cases["n"], alpha=0.05, method="wilson")
    np.testing.assert_allclose(got["wilson_lower"], lo, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(got["wilson_upper"], up, rtol=0, atol=TOLERANCE)

    lo, up = confint_proportions_2indep(
        cases["x"], cases["n"], cases["x2"], cases["n2"], method="newcomb", compare="diff", alpha=0.05
    )
    np.testing.assert_allclose(got["newcombe_lower"], lo, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(got["newcombe_upper"], up, rtol=0, atol=TOLERANCE)

    lo, up = confint_poisson_2indep(
        cases["inflow"], cases["n"], cases["outflow"], cases["n"], method="wald", compare="diff", alpha=0.05
    )
    net = (cases["inflow"] - cases["outflow"]) / cases["n"]
    np.testing.assert_allclose(net - got["poisson_half_width"], lo, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(net + got["poisson_half_width"], up, rtol=0, atol=TOLERANCE)

    # the edges exactly: 0 of n starts at 0, n of n ends at 1; n = 1 in closed form
    z2 = norm.ppf(0.975) ** 2
    assert (got.loc[cases["x"] == 0, "wilson_lower"] == 0.0).all()
    assert (got.loc[cases["x"] == cases["n"], "wilson_upper"] == 1.0).all()
    one = got[cases["n"] == 1].set_index("x")
    assert one.loc[1, "wilson_lower"] == pytest.approx(1 / (1 + z2), abs=1e-15)
    assert one.loc[0, "wilson_upper"] == pytest.approx(z2 / (1 + z2), abs=1e-15)
    assert (got["wilson_lower"] <= cases["p"]).all() and (cases["p"] <= got["wilson_upper"]).all()


def test_the_kish_macro_matches_statsmodels_with_survey_weights(macro_query: str) -> None:
    cases = grid()
    cases["p"] = cases["weighted_p"]  # the Kish columns read p: the weighted share
    got = run_macros(macro_query, cases)
    n_eff = cases["sum_weight"] ** 2 / cases["sum_weight_squared"]
    np.testing.assert_allclose(got["kish_n"], n_eff, rtol=1e-12)
    assert (got["kish_n"] <= cases["n"] * (1 + 1e-12)).all(), "Kish's n is at most the responses"
    lo, up = proportion_confint(cases["p"] * n_eff, n_eff, alpha=0.05, method="wilson")
    np.testing.assert_allclose(got["kish_lower"], lo, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(got["kish_upper"], up, rtol=0, atol=TOLERANCE)
    # equal weights: Kish's n is the number of responses, the interval Wilson's
    equal = cases.assign(sum_weight=2.5 * cases["n"], sum_weight_squared=6.25 * cases["n"])
    same = run_macros(macro_query, equal)
    np.testing.assert_allclose(same["kish_n"], cases["n"], rtol=1e-12)
    np.testing.assert_allclose(same["kish_lower"], same["wilson_lower"], rtol=0, atol=1e-12)
