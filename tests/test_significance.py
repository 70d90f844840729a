"""Real change versus chance, the city against its benchmarks, and funnel plots (issue 15,
items 2 and 3).

The change intervals of marts.indicator_progress are recomputed from each period's counts,
independently of the warehouse's own intervals: statsmodels'
``confint_proportions_2indep(method="newcomb", compare="diff")`` for a share (a weighted share
on Kish's n_eff), the square-and-add of the two periods' statsmodels Newcombe intervals for a
gap, and the normal interval of a difference of two Poisson nets for net migration; compared
to 1e-9 on the sample run. The funnel's control limits (a generated multi-city warehouse is
too dear for a test) are checked by the dbt unit test of models/marts/indicator_funnel.yml,
whose expected numbers are checked here against a hand computation, and by the macro compiled
by dbt over a grid.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import norm
from statsmodels.stats.proportion import confint_proportions_2indep
from test_intervals import compile_with_dbt, warehouse_frames

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-9
Z95 = 1.959963984540054
Z998 = 3.090232306167813


# -- the independent computation -----------------------------------------------------------
def share_counts(cell: pd.Series) -> tuple[float, float]:
    """(count, nobs) of a share's Wilson interval: the counts, or p x n_eff and Kish's n_eff."""
    if cell["ci_method"] == "wilson_kish":
        n_eff = cell["denominator"] ** 2 / cell["sum_weight_squared"]
        return cell["numerator"] / cell["denominator"] * n_eff, n_eff
    return cell["numerator"], cell["denominator"]


def newcombe(later: pd.Series, earlier: pd.Series) -> tuple[float, float]:
    """statsmodels' Newcombe interval of later - earlier, two shares (0..1)."""
    c1, n1 = share_counts(later)
    c2, n2 = share_counts(earlier)
    lo, up = confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", compare="diff", alpha=0.05)
    return float(lo), float(up)


def square_and_add(
    d1: float, lu1: tuple[float, float], d2: float, lu2: tuple[float, float]
) -> tuple[float, float]:
    """The interval of d1 - d2 from the intervals of d1 and d2 (independent): MOVER."""
    d = d1 - d2
    lower = d - math.sqrt((d1 - lu1[0]) ** 2 + (lu2[1] - d2) ** 2)
    upper = d + math.sqrt((lu1[1] - d1) ** 2 + (d2 - lu2[0]) ** 2)
    return lower, upper


def expected_change(
    indicator: pd.Series, later: pd.Series, earlier: pd.Series, cells: pd.DataFrame
) -> tuple[float, float] | None:
    """The 95% interval of later - earlier (two total cells of the indicator), in its unit."""
    method, scale = indicator["ci_method"], float(indicator["scale"]) if pd.notna(indicator["scale"]) else 1.0
    if method in ("wilson", "wilson_kish"):
        lo, up = newcombe(later, earlier)
        return scale * lo, scale * up
    if method == "poisson_difference":
        # each period's net is (inflow - outflow) / exposure, inflow and outflow Poisson
        var = sum((c["inflow"] + c["outflow"]) / c["denominator"] ** 2 for c in (later, earlier))
        half = norm.ppf(0.975) * math.sqrt(var) * scale
        d = later["value"] - earlier["value"]
        return d - half, d + half
    if method == "newcombe":
        # a gap: each period's gap interval from statsmodels, then square-and-add
        def gap(period: int) -> tuple[float, tuple[float, float]]:
            source = cells[
                (cells["indicator_id"] == indicator["derived_from"])
                & (cells["period"] == period)
                & (cells["locality_code"] == later["locality_code"])
                & (cells["dimension"] == indicator["derived_dimension"])
            ].set_index("dimension_value")
            minuend = source.loc[indicator["derived_minuend"]]
            subtrahend = source.loc[indicator["derived_subtrahend"]]
            lo, up = newcombe(minuend, subtrahend)
            points = 100.0  # a gap of two percentages, in percentage points
            return minuend["value"] - subtrahend["value"], (points * lo, points * up)

        d1, lu1 = gap(int(later["period"]))
        d2, lu2 = gap(int(earlier["period"]))
        return square_and_add(d1, lu1, d2, lu2)
    return None


def change_mismatches(con: duckdb.DuckDBPyConnection) -> tuple[list[str], int]:
    """Change intervals and significance flags of marts.indicator_progress that differ from the
    independent computation, and how many intervals were compared."""
    cells, registry = warehouse_frames(con)
    registry = registry.set_index("indicator_id")
    totals = cells[cells["dimension"] == "total"].set_index(
        ["indicator_id", "locality_code", "period"], drop=False
    )
    progress = con.execute("select * from marts.indicator_progress").df()
    problems: list[str] = []
    compared = 0
    for row in progress.itertuples(index=False):
        indicator = registry.loc[row.indicator_id]
        measured = totals.loc[
            (totals["indicator_id"] == row.indicator_id) & (totals["locality_code"] == row.locality_code),
            "period",
        ]
        before = measured[measured < row.latest_period] if not pd.isna(row.latest_period) else measured[:0]
        if (before.max() if len(before) else None) != (
            None if pd.isna(row.previous_period) else row.previous_period
        ):
            problems.append(f"{row.indicator_id}/{row.locality_code}: previous period {row.previous_period}")
        for name, earlier_period in (("baseline", row.baseline_period), ("previous", row.previous_period)):
            got = (
                getattr(row, f"change_since_{name}_ci_lower"),
                getattr(row, f"change_since_{name}_ci_upper"),
            )
            significant = getattr(row, f"is_change_since_{name}_significant")
            key = f"{row.indicator_id}/{row.locality_code} since {name}"
            if pd.isna(row.latest_period) or pd.isna(earlier_period) or earlier_period >= row.latest_period:
                if not all(pd.isna(g) for g in got) or not pd.isna(significant):
                    problems.append(f"{key}: an interval or a flag without two periods: {got}, {significant}")
                continue
            later = totals.loc[(row.indicator_id, row.locality_code, int(row.latest_period))]
            earlier = totals.loc[(row.indicator_id, row.locality_code, int(earlier_period))]
            want = expected_change(indicator, later, earlier, cells)
            if want is None:
                if not all(pd.isna(g) for g in got) or significant is not False:
                    problems.append(f"{key}: no method, yet {got}, {significant}")
                continue
            compared += 1
            if any(pd.isna(g) or abs(g - w) > TOLERANCE for g, w in zip(got, want, strict=True)):
                problems.append(f"{key} ({indicator['ci_method']}): {got}, independent {want}")
            if bool(significant) != (want[0] > 0 or want[1] < 0):
                problems.append(f"{key}: significant {significant}, interval {want}")
    return problems, compared


# -- the sample run ------------------------------------------------------------------------
def test_every_change_interval_of_the_sample_matches_an_independent_computation(
    published_warehouse: Path,
) -> None:
    with duckdb.connect(str(published_warehouse), read_only=True) as con:
        problems, compared = change_mismatches(con)
        methods = {
            m
            for (m,) in con.execute(
                "select distinct i.ci_method from marts.indicator_progress as p "
                "inner join marts.indicators as i using (indicator_id) "
                "where p.change_since_baseline_ci_lower is not null"
            ).fetchall()
        }
        expected_count = con.execute(
            "select count(p.change_since_baseline) filter (where p.latest_period > p.baseline_period)"
            " + count(p.change_since_previous) from marts.indicator_progress as p"
            " inner join marts.indicators as i using (indicator_id) where i.ci_method <> 'none'"
        ).fetchone()[0]
    assert problems == [], f"{len(problems)} changes differ:\n" + "\n".join(problems[:20])
    assert compared == expected_count and compared > 0
    # the sample's changes exercise all four interval methods
    assert methods == {"wilson", "wilson_kish", "newcombe", "poisson_difference"}, methods


def test_the_sample_has_a_change_within_chance(published_warehouse: Path) -> None:
    """At least one status of the sample reads 'no detectable change', and only where the
    change since the baseline is not significant and the target is not met."""
    with duckdb.connect(str(published_warehouse), read_only=True) as con:
        rows = con.execute(
            "select indicator_id, status, is_change_since_baseline_significant, "
            "change_since_baseline_ci_lower, change_since_baseline_ci_upper from marts.indicator_progress"
        ).fetchall()
    within_chance = [r for r in rows if r[1] == "no detectable change"]
    assert within_chance, "no status of the sample reads 'no detectable change'"
    for indicator_id, _, significant, lower, upper in within_chance:
        assert significant is False and lower <= 0 <= upper, indicator_id
    # a significant change keeps the trend's verdict
    assert all(r[1] != "no detectable change" for r in rows if r[2]), rows


def test_benchmark_verdicts_of_the_sample_follow_the_interval(published_warehouse: Path) -> None:
    """better / similar / worse by whether the city's interval holds the CBS benchmark, read by
    polarity; the benchmarks are the medians of the same measure and year."""
    with duckdb.connect(str(published_warehouse), read_only=True) as con:
        rows = con.execute(
            """
            select o.*, p.peer_median, p.all_median, i.polarity as registry_polarity
            from marts.official_comparison as o
            inner join marts.indicators as i using (indicator_id)
            left join marts.peer_comparison as p
                on p.measure = o.cbs_measure and p.locality_code = o.locality_code
                and p.data_year = o.period and not p.is_regional_council
            """
        ).df()
    assert rows["benchmark_verdict_peers"].notna().any() and rows["benchmark_verdict_all"].notna().any()

    def verdict(row: pd.Series, benchmark: float) -> str | None:
        lower, upper = row["partnership_ci_lower"], row["partnership_ci_upper"]
        if pd.isna(lower) or pd.isna(benchmark):
            return None
        if lower <= benchmark <= upper:
            return "similar"
        above = lower > benchmark
        return "better" if above == (row["registry_polarity"] == "higher_is_better") else "worse"

    for _, row in rows.iterrows():
        for group, median in (("peers", row["peer_median"]), ("all", row["all_median"])):
            got = row[f"benchmark_verdict_{group}"]
            assert (None if pd.isna(got) else got) == verdict(row, median), (row["indicator_id"], group)


# -- the funnel ------------------------------------------------------------------------------
def hand_limit(p0: float, n: float, z: float, sign: int) -> float:
    """One control limit, 0..1: p0 +/- z sqrt(p0 (1 - p0) / n), clipped."""
    return min(1.0, max(0.0, p0 + sign * z * math.sqrt(p0 * (1.0 - p0) / n)))


def test_the_critical_values_are_the_normal_quantiles() -> None:
    assert norm.ppf(0.975) == pytest.approx(Z95, abs=1e-15)
    assert norm.ppf(0.999) == pytest.approx(Z998, abs=1e-15)


def test_the_funnel_unit_test_expects_the_hand_computation() -> None:
    """The limits models/marts/indicator_funnel.yml's unit test expects (dbt compares them with
    the model on every build) are p0 +/- z sqrt(p0 (1 - p0) / n) computed here, with p0 pooled."""
    doc = yaml.safe_load((ROOT / "models" / "marts" / "indicator_funnel.yml").read_text(encoding="utf-8"))
    (test,) = [t for t in doc["unit_tests"] if t["name"] == "test_funnel_limits"]
    cells = pd.DataFrame(next(g["rows"] for g in test["given"] if g["input"] == "ref('indicator_cells')"))
    expected = pd.DataFrame(test["expect"]["rows"])
    shares = cells[(cells["dimension"] == "total") & cells["indicator_id"].isin(["u_share", "w_share"])]
    shares = shares[shares["value"].notna()]
    positions = set()
    for row in expected.itertuples(index=False):
        group = shares[(shares["indicator_id"] == row.indicator_id) & (shares["period"] == row.period)]
        p0 = group["numerator"].sum() / group["denominator"].sum()
        cell = group[group["locality_code"] == row.locality_code].iloc[0]
        weighted = not pd.isna(cell.get("sum_weight_squared"))
        n = cell["denominator"] ** 2 / cell["sum_weight_squared"] if weighted else cell["denominator"]
        assert row.locality_count == len(group) > 1
        assert row.n == pytest.approx(n, abs=TOLERANCE) and row.p0 == pytest.approx(100 * p0, abs=TOLERANCE)
        want = {
            "lower_95": 100 * hand_limit(p0, n, Z95, -1),
            "upper_95": 100 * hand_limit(p0, n, Z95, +1),
            "lower_998": 100 * hand_limit(p0, n, Z998, -1),
            "upper_998": 100 * hand_limit(p0, n, Z998, +1),
        }
        for name, value in want.items():
            assert getattr(row, name) == pytest.approx(value, abs=TOLERANCE), (row.indicator_id, name)
        value = row.value
        position = (
            "above 99.8%"
            if value > want["upper_998"]
            else "above 95%"
            if value > want["upper_95"]
            else "below 99.8%"
            if value < want["lower_998"]
            else "below 95%"
            if value < want["lower_95"]
            else "within"
        )
        assert row.funnel_position == position, (row.indicator_id, row.period, row.locality_code)
        positions.add(position)
    # every position, a clipped n = 1, and no row for a period of one locality
    assert positions == {"above 99.8%", "above 95%", "within", "below 95%", "below 99.8%"}
    assert ((expected["n"] == 1) & (expected["lower_95"] == 0) & (expected["upper_998"] == 100)).any()
    assert not ((expected["indicator_id"] == "u_share") & (expected["period"] == 2022)).any()


FUNNEL_QUERY = """
select
    *,
    {{ funnel_limit('p0', 'n', ci_z(), '-') }} as lower_95,
    {{ funnel_limit('p0', 'n', ci_z(), '+') }} as upper_95,
    {{ funnel_limit('p0', 'n', funnel_z_998(), '-') }} as lower_998,
    {{ funnel_limit('p0', 'n', funnel_z_998(), '+') }} as upper_998,
    {{ funnel_z_998() }} as z_998
from cases
"""


def test_the_funnel_limit_macro_matches_the_hand_computation(tmp_path: Path) -> None:
    query = compile_with_dbt(FUNNEL_QUERY, tmp_path)
    grid = [{"p0": p0, "n": float(n)} for p0 in np.linspace(0.0, 1.0, 41) for n in (1, 2, 5, 30, 400, 10_000)]
    cases = pd.DataFrame([*grid, {"p0": 0.2, "n": 100.0}])
    with duckdb.connect() as con:
        con.register("cases", cases)
        got = con.execute(query).df()
    assert (got["z_998"] == norm.ppf(0.999)).all()
    for z, name in ((Z95, "95"), (Z998, "998")):
        lower = [hand_limit(p, n, z, -1) for p, n in zip(cases["p0"], cases["n"], strict=True)]
        upper = [hand_limit(p, n, z, +1) for p, n in zip(cases["p0"], cases["n"], strict=True)]
        np.testing.assert_allclose(got[f"lower_{name}"], lower, rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(got[f"upper_{name}"], upper, rtol=0, atol=TOLERANCE)
    # by hand: p0 = 0.2, n = 100: sqrt(0.2 x 0.8 / 100) = 0.04, 0.2 -/+ 1.959963984540054 x 0.04
    by_hand = got.iloc[-1]
    assert by_hand["lower_95"] == pytest.approx(0.12160144061839784, abs=1e-15)
    assert by_hand["upper_95"] == pytest.approx(0.27839855938160216, abs=1e-15)
    assert by_hand["upper_998"] == pytest.approx(0.2 + 3.090232306167813 * 0.04, abs=1e-15)
    row = got[(np.isclose(got["p0"], 0.5)) & (got["n"] == 1.0)].iloc[0]
    assert row["lower_998"] == 0.0 and row["upper_998"] == 1.0, "clipped to 0..1"
