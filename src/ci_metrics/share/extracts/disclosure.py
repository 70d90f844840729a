"""Statistical disclosure control of indicator cells: a pure function on a pandas DataFrame.

The input has the columns of ``marts.indicator_values`` (indicator_id, period,
locality_code, dimension, dimension_value, numerator, denominator, value,
unweighted_count). The output is the same rows, none deleted, with two columns added:

* ``suppressed``: ``""`` when the cell is published, else why it is not:
  ``primary`` (too few people), ``attribute`` (too few people with, or without, the
  outcome), ``complementary`` (withheld so that another cell cannot be recovered by
  subtraction) or ``derived`` (computed from a withheld cell of another indicator).
  numerator, denominator, value and unweighted_count of a suppressed row are blank (NaN).
* ``value_decimals``: the decimals ``value`` was rounded to (0 for small cells).

Rules (``docs/extracts.md`` has them with an example):

1. Count of a cell = ``unweighted_count`` (people, or survey responses), else the
   denominator for indicators whose denominator counts people. A cell whose count is
   below the threshold (max of the rule's and the indicator's ``min_cell_size``) is
   suppressed (*primary*). A cell without any count is suppressed too.
2. For percentage indicators (value = 100 x numerator / denominator) a cell in which
   fewer than ``min_outcome_count`` people have the outcome, or fewer lack it (0, 1 or 2
   of 40 eligible), is suppressed (*attribute*): it tells something about every member.
   For weighted survey percentages the people are estimated as count x share.
3. Complementary suppression, for every breakdown (same indicator, period, locality and
   dimension; the ``total`` row is assumed known to the reader even if the partner does
   not receive it): if any cell is withheld, the withheld cells W must
   (a) together pass rules 1 and 2 (what one learns by subtraction is their sum), and
   (b) for each withheld cell, the other withheld cells must have a non-zero sum of
       numerator, denominator, denominator - numerator and count, so that total minus the
       published cells never equals one withheld cell.
   Otherwise the published cell with the smallest count (ties: dimension value) is
   withheld too, and again, until safe. If every cell is withheld and it is still not
   safe, the total is withheld; a withheld total withholds every cell of every breakdown.
4. Derived indicators (``edu_bagrut_gap_ethiopian`` = rate of ``other`` - rate of
   ``ethiopian_origin``) are withheld when a cell they are computed from is withheld:
   otherwise gap + one rate gives the other rate back.
5. Precision: values of cells counting fewer than ``exact_value_min_count`` people are
   rounded to whole numbers, others to ``value_decimals`` (1); numerator/denominator
   that are sums of weights are rounded to ``weight_decimals``. Rounding is half away from
   zero, on the decimal representation, so it is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

PRIMARY = "primary"
ATTRIBUTE = "attribute"
COMPLEMENTARY = "complementary"
DERIVED = "derived"
REASONS = (PRIMARY, ATTRIBUTE, COMPLEMENTARY, DERIVED)

KEY = ["indicator_id", "period", "locality_code"]
REQUIRED_COLUMNS = (
    "indicator_id",
    "period",
    "locality_code",
    "dimension",
    "dimension_value",
    "numerator",
    "denominator",
    "value",
)
COUNT_FIELDS = ("numerator", "denominator", "unweighted_count")
_EPS = 1e-9


@dataclass(frozen=True)
class DerivedIndicator:
    """An indicator computed from cells of another indicator (all must be published)."""

    source_indicator: str
    dimension: str
    dimension_values: tuple[str, ...]


DEFAULT_DERIVED: Mapping[str, DerivedIndicator] = {
    "edu_bagrut_gap_ethiopian": DerivedIndicator(
        "edu_bagrut_eligibility", "community", ("ethiopian_origin", "other")
    ),
}


@dataclass(frozen=True)
class DisclosureRules:
    min_cell_size: int = 10
    min_outcome_count: int = 3
    exact_value_min_count: int = 30
    value_decimals: int = 1
    weight_decimals: int = 2
    derived: Mapping[str, DerivedIndicator] = field(default_factory=lambda: dict(DEFAULT_DERIVED))

    def describe(self) -> list[str]:
        """The rules in words, for manifests and reports."""
        return [
            f"primary: a cell counting fewer than {self.min_cell_size} people or responses "
            "(or the indicator's own min_cell_size, if larger) is suppressed",
            f"attribute: a percentage cell where fewer than {self.min_outcome_count} people have the "
            "outcome, or fewer than that lack it, is suppressed",
            "complementary: in every breakdown the suppressed cells together pass the rules above and "
            "no suppressed cell equals the total minus the published cells; more cells (smallest first) "
            "are suppressed until this holds; a suppressed total suppresses all its breakdowns",
            "derived: edu_bagrut_gap_ethiopian is suppressed when the ethiopian_origin or other cell of "
            "edu_bagrut_eligibility by community is suppressed",
            f"precision: values of cells counting fewer than {self.exact_value_min_count} are rounded to "
            f"whole numbers, others to {self.value_decimals} decimal(s); weighted sums to "
            f"{self.weight_decimals} decimals",
            "suppressed cells are kept as rows with blank numbers and the reason in column 'suppressed'",
        ]


def infer_measure_kinds(values: pd.DataFrame) -> dict[str, str]:
    """Per indicator: ``proportion`` when value = 100 x numerator / denominator with
    0 <= numerator <= denominator on every row that has both, ``rate`` when value =
    1000 x numerator / denominator, else ``other`` (e.g. a difference in points).

    Inferred from the numbers rather than the ``unit`` text, so that it does not depend on
    how the marts spell units.
    """
    kinds: dict[str, str] = {}
    for indicator, rows in values.groupby("indicator_id", sort=True):
        num = pd.to_numeric(rows["numerator"], errors="coerce").to_numpy(dtype=float)
        den = pd.to_numeric(rows["denominator"], errors="coerce").to_numpy(dtype=float)
        val = pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype=float)
        ok = ~np.isnan(num) & ~np.isnan(den) & ~np.isnan(val) & (den > 0)
        if not ok.any():
            kinds[str(indicator)] = "other"
            continue
        n, d, v = num[ok], den[ok], val[ok]
        tol = 1e-3 + 1e-6 * np.abs(v)
        if np.all(np.abs(v - 100 * n / d) <= tol) and np.all((n >= -_EPS) & (n <= d + _EPS)):
            kinds[str(indicator)] = "proportion"
        elif np.all(np.abs(v - 1000 * n / d) <= tol):
            kinds[str(indicator)] = "rate"
        else:
            kinds[str(indicator)] = "other"
    return kinds


def round_half_up(x: float, decimals: int) -> float:
    """Round on the shortest decimal representation, half away from zero (-0 becomes 0)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return math.nan
    q = Decimal(1).scaleb(-decimals)
    r = float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))
    return 0.0 if r == 0 else r


class _Cells:
    """Column arrays of the frame, for the group loops."""

    def __init__(
        self, df: pd.DataFrame, rules: DisclosureRules, kinds: Mapping[str, str], thresholds: np.ndarray
    ):
        self.ind = df["indicator_id"].astype(str).to_numpy()
        self.dim = df["dimension"].astype(str).to_numpy()
        self.dval = df["dimension_value"].astype(str).to_numpy()
        self.num = pd.to_numeric(df["numerator"], errors="coerce").to_numpy(dtype=float)
        self.den = pd.to_numeric(df["denominator"], errors="coerce").to_numpy(dtype=float)
        if "unweighted_count" in df.columns:
            unw = pd.to_numeric(df["unweighted_count"], errors="coerce").to_numpy(dtype=float)
        else:
            unw = np.full(len(df), np.nan)
        self.unw = unw
        self.kind = np.array([kinds.get(i, "other") for i in self.ind], dtype=object)
        counts_people = np.isin(self.kind, ["proportion", "rate"])
        self.n = np.where(~np.isnan(unw), unw, np.where(counts_people, self.den, np.nan))
        share = np.where(
            (self.kind == "proportion") & (self.den > 0),
            self.num / np.where(self.den > 0, self.den, 1),
            np.nan,
        )
        self.yes = self.n * share  # people with the outcome (estimated for weighted surveys)
        self.no = self.n - self.yes
        self.threshold = thresholds
        self.rules = rules
        self.reason = np.array([""] * len(df), dtype=object)

    def fails_alone(self, idx: list[int]) -> bool:
        """Rules 1 and 2 applied to the pooled cells ``idx``."""
        n = np.nansum(self.n[idx])
        if np.all(np.isnan(self.n[idx])) or n < self.threshold[idx].max() - _EPS:
            return True
        if self.kind[idx[0]] == "proportion":
            k = self.rules.min_outcome_count
            if np.nansum(self.yes[idx]) < k - 1e-6 or np.nansum(self.no[idx]) < k - 1e-6:
                return True
        return False

    def recoverable(self, withheld: list[int]) -> bool:
        """Rule 3b: some withheld cell equals the sum of all withheld minus the others'."""
        for a in withheld:
            rest = [i for i in withheld if i != a]
            if not rest:
                return True
            fields = [self.num, self.den, self.n]
            if self.kind[a] == "proportion":
                fields.append(self.den - self.num)
            for f in fields:
                if np.all(np.isnan(f[rest])) and np.isnan(f[a]):
                    continue  # the field does not exist for this indicator
                if abs(np.nansum(f[rest])) <= _EPS:
                    return True
        return False


def apply_disclosure_control(
    values: pd.DataFrame,
    rules: DisclosureRules | None = None,
    *,
    indicators: pd.DataFrame | None = None,
    kinds: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Suppress and round the cells of ``values`` (see the module docstring).

    Pure: ``values`` is not modified; a new frame with the same rows (same order, new
    index) and the added columns ``suppressed`` and ``value_decimals`` is returned.
    Pass all dimensions of an indicator, including the total, and the source indicator of
    a derived one (e.g. edu_bagrut_eligibility by community for the gap), *before*
    filtering to what a reader may see: suppression must be decided on the full
    breakdowns. ``indicators`` (optional, columns indicator_id and min_cell_size) raises
    the threshold of indicators that ask for more. ``kinds`` overrides
    :func:`infer_measure_kinds`.
    """
    rules = rules or DisclosureRules()
    missing = [c for c in REQUIRED_COLUMNS if c not in values.columns]
    if missing:
        raise ValueError(f"apply_disclosure_control: missing columns {missing}")
    df = values.copy().reset_index(drop=True)
    if df.empty:
        df["suppressed"] = pd.Series([], dtype=object)
        df["value_decimals"] = pd.Series([], dtype="Int64")
        return df

    kinds = {**infer_measure_kinds(df), **dict(kinds or {})}
    thresholds = np.full(len(df), float(rules.min_cell_size))
    if indicators is not None and "min_cell_size" in indicators.columns:
        own = (
            indicators.dropna(subset=["min_cell_size"])
            .drop_duplicates("indicator_id")
            .set_index("indicator_id")["min_cell_size"]
            .astype(float)
        )
        ind_threshold = df["indicator_id"].map(own).to_numpy(dtype=float)
        thresholds = np.fmax(thresholds, ind_threshold)

    c = _Cells(df, rules, kinds, thresholds)
    derived_ids = set(rules.derived)

    # Rules 1 and 2, cell by cell.
    for i in range(len(df)):
        if np.isnan(c.n[i]):
            if c.ind[i] not in derived_ids:
                c.reason[i] = PRIMARY
        elif c.n[i] < c.threshold[i] - _EPS:
            c.reason[i] = PRIMARY
        elif c.kind[i] == "proportion" and (
            c.yes[i] < rules.min_outcome_count - 1e-6 or c.no[i] < rules.min_outcome_count - 1e-6
        ):
            c.reason[i] = ATTRIBUTE

    # Rule 3, per indicator x period x locality.
    group_keys = list(zip(c.ind, df["period"].tolist(), df["locality_code"].tolist(), strict=False))
    groups: dict[tuple, list[int]] = {}
    for i, k in enumerate(group_keys):
        groups.setdefault(k, []).append(i)
    for rows in groups.values():
        _complementary(c, rows)

    # Rule 4.
    n_eff = c.n.copy()
    for indicator, spec in rules.derived.items():
        src_lookup: dict[tuple, dict[str, int]] = {}
        for i in range(len(df)):
            if c.ind[i] == spec.source_indicator and c.dim[i] == spec.dimension:
                src_lookup.setdefault(group_keys[i][1:], {})[c.dval[i]] = i
        for i in np.flatnonzero(c.ind == indicator).tolist():
            cells = src_lookup.get(group_keys[i][1:], {})
            src = [cells.get(v) for v in spec.dimension_values]
            if any(s is None for s in src) or any(c.reason[s] for s in src):
                if not c.reason[i]:
                    c.reason[i] = DERIVED
            elif np.isnan(n_eff[i]):
                n_eff[i] = min(c.n[s] for s in src)

    # Rule 5 and blanking.
    withheld = c.reason != ""
    decimals = np.where(n_eff < rules.exact_value_min_count, 0, rules.value_decimals)
    decimals = np.where(np.isnan(n_eff), rules.value_decimals, decimals)
    value = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=float)
    df["value"] = [
        math.nan if w else round_half_up(v, int(d))
        for v, d, w in zip(value, decimals, withheld, strict=False)
    ]
    for col in ("numerator", "denominator"):
        arr = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        df[col] = [
            math.nan
            if w or math.isnan(x)
            else (x if float(x).is_integer() else round_half_up(x, rules.weight_decimals))
            for x, w in zip(arr, withheld, strict=False)
        ]
    if "unweighted_count" in df.columns:
        unw = pd.to_numeric(df["unweighted_count"], errors="coerce").astype("Float64").mask(withheld)
        df["unweighted_count"] = unw.astype("Int64") if _all_integral(unw) else unw
    df["suppressed"] = pd.Series(c.reason, dtype=object)
    df["value_decimals"] = pd.Series(decimals, dtype="Int64").mask(withheld)
    return df


def _all_integral(s: pd.Series) -> bool:
    v = s.dropna().to_numpy(dtype=float)
    return bool(np.all(np.mod(v, 1) == 0))


def _complementary(c: _Cells, rows: list[int]) -> None:
    totals = [i for i in rows if c.dim[i] == "total"]
    breakdowns: dict[str, list[int]] = {}
    for i in rows:
        if c.dim[i] != "total":
            breakdowns.setdefault(c.dim[i], []).append(i)

    def withhold_all() -> None:
        for idx in breakdowns.values():
            for i in idx:
                if not c.reason[i]:
                    c.reason[i] = COMPLEMENTARY

    if any(c.reason[t] for t in totals):
        withhold_all()
        return
    for dim in sorted(breakdowns):
        idx = breakdowns[dim]
        while True:
            w = [i for i in idx if c.reason[i]]
            if not w or (not c.fails_alone(w) and not c.recoverable(w)):
                break
            candidates = [i for i in idx if not c.reason[i]]
            if not candidates:
                # Every cell withheld and still recoverable from the total: withhold it too.
                for t in totals:
                    c.reason[t] = COMPLEMENTARY
                withhold_all()
                return
            pick = min(candidates, key=lambda i: (math.inf if np.isnan(c.n[i]) else c.n[i], c.dval[i]))
            c.reason[pick] = COMPLEMENTARY
