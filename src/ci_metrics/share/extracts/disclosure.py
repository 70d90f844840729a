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
4. Derived indicators (registry columns ``derived_from``, ``derived_dimension``,
   ``derived_minuend``, ``derived_subtrahend``: the bagrut gap = eligibility rate of
   ``other`` - rate of ``ethiopian_origin``) are withheld when a cell they are computed from
   is withheld: otherwise gap + one rate gives the other rate back. With ``groupings`` (global recoding,
   merged *before* rules 1-3) the source cells are the warehouse's own: each must pass rules
   1 and 2 alone, and one published as a cell of its own must be published.
5. Precision: values of cells counting fewer than ``exact_value_min_count`` people are
   rounded to whole numbers, others to ``value_decimals`` (1); numerator/denominator
   that are sums of weights are rounded to ``weight_decimals``. Rounding is half away from
   zero, on the decimal representation, so it is reproducible.
6. Intervals (``ci_lower``, ``ci_upper``, when the input has them: the 95% interval dbt
   computes, ``marts.indicator_values``): a withheld cell has none; a published one has its
   bounds rounded exactly as its value. A merged group of several categories has none (its
   interval is not the first member's, and the warehouse has no Σw² of a group). A derived
   indicator's interval is published only when both its source cells are cells of the table
   (not merged with others): Newcombe's interval is made of the two sources' Wilson
   intervals, and the width of a source's interval gives its count away, hence by
   subtraction the other members of a group it is merged into.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
INTERVAL_COLUMNS = ("ci_lower", "ci_upper")
"""The bounds of the 95% interval of a value (optional input columns, blanked and rounded with it)."""

Groupings = Mapping[str, Mapping[str, Sequence[str]]]
"""Global recoding: ``{dimension: {group: member categories}}``."""


class GroupingError(ValueError):
    """A grouping that does not cover the categories of the data."""


_EPS = 1e-9


@dataclass(frozen=True)
class DerivedIndicator:
    """An indicator computed from cells of another indicator (all must be published)."""

    source_indicator: str
    dimension: str
    dimension_values: tuple[str, ...]


DERIVED_COLUMNS = ("derived_from", "derived_dimension", "derived_minuend", "derived_subtrahend")
"""The registry columns (``marts.indicators``) that say what an indicator is derived from."""


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip()


def derived_indicators(indicators: pd.DataFrame | None) -> dict[str, DerivedIndicator]:
    """The derived indicators the registry declares (rows with ``derived_from``), by id.

    ``indicators`` has the columns of ``marts.indicators``; a frame without the derived
    columns declares none. A row naming only part of its source raises ValueError.
    """
    if indicators is None or "derived_from" not in indicators.columns:
        return {}
    missing = [c for c in DERIVED_COLUMNS if c not in indicators.columns]
    if missing:
        raise ValueError(f"marts.indicators has derived_from but not {missing}")
    out: dict[str, DerivedIndicator] = {}
    for row in indicators[["indicator_id", *DERIVED_COLUMNS]].itertuples(index=False):
        source, dimension, minuend, subtrahend = (_text(v) for v in row[1:])
        if not source:
            continue
        if not (dimension and minuend and subtrahend):
            raise ValueError(
                f"indicator {row[0]!r} is derived from {source!r} but does not name the dimension "
                "and both cells (derived_dimension, derived_minuend, derived_subtrahend)"
            )
        out[str(row[0])] = DerivedIndicator(source, dimension, (minuend, subtrahend))
    return out


@dataclass(frozen=True)
class DisclosureRules:
    min_cell_size: int = 10
    min_outcome_count: int = 3
    exact_value_min_count: int = 30
    value_decimals: int = 1
    weight_decimals: int = 2
    # Derived indicators beyond those of the registry (``indicators`` of apply_disclosure_control).
    derived: Mapping[str, DerivedIndicator] = field(default_factory=dict)

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
            "derived: an indicator computed from two cells of another (registry: derived_from) is "
            "suppressed when either cell is suppressed",
            f"precision: values of cells counting fewer than {self.exact_value_min_count} are rounded to "
            f"whole numbers, others to {self.value_decimals} decimal(s); weighted sums to "
            f"{self.weight_decimals} decimals",
            "suppressed cells are kept as rows with blank numbers and the reason in column 'suppressed'",
            "intervals: ci_lower and ci_upper (the 95% interval of the value, method in ci_method) are "
            "blank when the value is suppressed and rounded like the value; a group merging several "
            "categories has none, nor has a derived value one of whose source cells is merged with others",
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
    groupings: Groupings | None = None,
    known_subtotals: Groupings | None = None,
) -> pd.DataFrame:
    """Suppress and round the cells of ``values`` (see the module docstring).

    Pure: ``values`` is not modified; a new frame with the same rows (same order, new
    index) and the added columns ``suppressed`` and ``value_decimals`` is returned.
    Pass all dimensions of an indicator, including the total, and the source indicator of
    a derived one (its ``derived_from`` indicator by ``derived_dimension``), *before*
    filtering to what a reader may see: suppression must be decided on the full
    breakdowns. ``indicators`` (optional, columns of ``marts.indicators``): its
    min_cell_size raises the threshold of indicators that ask for more, and its derived
    columns declare the derived indicators (:func:`derived_indicators`), with
    ``rules.derived``. ``kinds`` overrides
    :func:`infer_measure_kinds`.

    ``groupings`` (global recoding, ``{dimension: {group: members}}``): the categories of
    these dimensions are merged *first* (numerator, denominator and count summed over the
    members, value recomputed), then every rule runs on the merged table; the returned rows
    are the merged ones. A derived indicator's source cells are still the warehouse's own
    cells: each must pass rules 1 and 2 on its own, and the one that is a cell of the
    merged table (a group of one) must be published.
    ``known_subtotals`` (same shape): groups of categories whose sums another publication
    shows (another agreement's groupings); rule 3 then also holds inside each group.
    """
    rules = rules or DisclosureRules()
    missing = [c for c in REQUIRED_COLUMNS if c not in values.columns]
    if missing:
        raise ValueError(f"apply_disclosure_control: missing columns {missing}")
    raw = values.copy().reset_index(drop=True)
    if raw.empty:
        raw["suppressed"] = pd.Series([], dtype=object)
        raw["value_decimals"] = pd.Series([], dtype="Int64")
        return raw

    kinds = {**infer_measure_kinds(raw), **dict(kinds or {})}
    groupings = dict(groupings or {})
    derived = {**derived_indicators(indicators), **dict(rules.derived)}
    derived_ids = set(derived)
    # The warehouse's own cells, before any merge: rules 1 and 2 for the derived indicators' sources.
    own = _Cells(raw, rules, kinds, _thresholds(raw, rules, indicators))
    _primary_and_attribute(own, derived_ids)
    own_keys = list(zip(own.ind, raw["period"].tolist(), raw["locality_code"].tolist(), strict=False))

    # Global recoding first; every rule below runs on the merged table.
    df = merge_categories(raw, groupings, kinds) if groupings else raw
    c = _Cells(df, rules, kinds, _thresholds(df, rules, indicators))

    # Rules 1 and 2, cell by cell.
    _primary_and_attribute(c, derived_ids)

    # Rule 3, per indicator x period x locality.
    group_keys = list(zip(c.ind, df["period"].tolist(), df["locality_code"].tolist(), strict=False))
    groups: dict[tuple, list[int]] = {}
    for i, k in enumerate(group_keys):
        groups.setdefault(k, []).append(i)
    subtotals = {d: [tuple(m) for m in g.values() if len(m) > 1] for d, g in (known_subtotals or {}).items()}
    for rows in groups.values():
        _complementary(c, rows, subtotals)

    # Rule 4: each source cell passes rules 1 and 2 on its own (warehouse cells), and a source
    # cell that is a cell of this table (not merged with others) is published.
    n_eff = c.n.copy()
    no_interval = np.zeros(len(df), dtype=bool)  # rule 6: a derived value with a merged source
    for indicator, spec in derived.items():
        own_lookup: dict[tuple, dict[str, int]] = {}
        for i in range(len(raw)):
            if own.ind[i] == spec.source_indicator and own.dim[i] == spec.dimension:
                own_lookup.setdefault(own_keys[i][1:], {})[own.dval[i]] = i
        src_lookup: dict[tuple, dict[str, int]] = {}
        for i in range(len(df)):
            if c.ind[i] == spec.source_indicator and c.dim[i] == spec.dimension:
                src_lookup.setdefault(group_keys[i][1:], {})[c.dval[i]] = i
        shown = _shown_as_own_cell(groupings.get(spec.dimension), spec.dimension_values)
        merged_source = any(shown[v] is None for v in spec.dimension_values)
        for i in np.flatnonzero(c.ind == indicator).tolist():
            no_interval[i] = merged_source
            own_cells = own_lookup.get(group_keys[i][1:], {})
            cells = src_lookup.get(group_keys[i][1:], {})
            own_src = [own_cells.get(v) for v in spec.dimension_values]
            src = [cells.get(g) for g in (shown[v] for v in spec.dimension_values) if g is not None]
            if (
                any(s is None for s in own_src + src)
                or any(own.reason[s] for s in own_src if s is not None)
                or any(c.reason[s] for s in src if s is not None)
            ):
                if not c.reason[i]:
                    c.reason[i] = DERIVED
            elif np.isnan(n_eff[i]):
                n_eff[i] = min(own.n[s] for s in own_src if s is not None)

    # Rule 5 and blanking.
    withheld = c.reason != ""
    decimals = np.where(n_eff < rules.exact_value_min_count, 0, rules.value_decimals)
    decimals = np.where(np.isnan(n_eff), rules.value_decimals, decimals)
    value = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=float)
    df["value"] = [
        math.nan if w else round_half_up(v, int(d))
        for v, d, w in zip(value, decimals, withheld, strict=False)
    ]
    for col in INTERVAL_COLUMNS:
        if col in df.columns:
            bound = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
            df[col] = [
                math.nan if w or hide else round_half_up(b, int(d))
                for b, d, w, hide in zip(bound, decimals, withheld, no_interval, strict=True)
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


def _thresholds(df: pd.DataFrame, rules: DisclosureRules, indicators: pd.DataFrame | None) -> np.ndarray:
    """Per row: the larger of the rules' and the indicator's own ``min_cell_size``."""
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
    return thresholds


def _primary_and_attribute(c: _Cells, derived_ids: set[str]) -> None:
    """Rules 1 and 2, cell by cell (a derived indicator's cell may lack a count)."""
    k = c.rules.min_outcome_count
    for i in range(len(c.reason)):
        if np.isnan(c.n[i]):
            if c.ind[i] not in derived_ids:
                c.reason[i] = PRIMARY
        elif c.n[i] < c.threshold[i] - _EPS:
            c.reason[i] = PRIMARY
        elif c.kind[i] == "proportion" and (c.yes[i] < k - 1e-6 or c.no[i] < k - 1e-6):
            c.reason[i] = ATTRIBUTE


def _shown_as_own_cell(
    groups: Mapping[str, Sequence[str]] | None, values: Sequence[str]
) -> dict[str, str | None]:
    """For each category: the cell of the merged table that is exactly it, or None when the
    category is merged with others (then it is no cell of the publication)."""
    if not groups:
        return {v: v for v in values}
    alone = {next(iter(m)): g for g, m in groups.items() if len(m) == 1}
    return {v: alone.get(v) for v in values}


def merge_categories(
    values: pd.DataFrame, groupings: Groupings, kinds: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Global recoding: the rows of each grouped dimension replaced by one row per group.

    numerator, denominator and unweighted_count are the sums of the members' (blank when a
    member's is blank); value is recomputed from them (100 x or 1000 x numerator /
    denominator, by :func:`infer_measure_kinds`), or kept for a group of one; any other
    indicator's merged value is blank. Other columns are the first member's. Raises
    :class:`GroupingError` naming a category of the data that is in no group. Pure.
    """
    df = values.reset_index(drop=True)
    if not groupings:
        return df.copy()
    kinds = {**infer_measure_kinds(df), **dict(kinds or {})}
    out = [df[~df["dimension"].astype(str).isin(list(groupings))]]
    for dimension, groups in groupings.items():
        to_group = {m: g for g, members in groups.items() for m in members}
        rows = df[df["dimension"].astype(str) == dimension]
        missing = sorted(set(rows["dimension_value"].astype(str)) - set(to_group))
        if missing:
            raise GroupingError(f"the grouping of '{dimension}' puts {missing} in no group")
        if rows.empty:
            continue
        rows = rows.assign(dimension_value=rows["dimension_value"].astype(str).map(to_group))
        merged = []
        for _, cell in rows.groupby([*KEY, "dimension", "dimension_value"], sort=True, dropna=False):
            first = cell.iloc[0].to_dict()
            for col in COUNT_FIELDS:
                if col in cell.columns:
                    x = pd.to_numeric(cell[col], errors="coerce")
                    first[col] = np.nan if x.isna().any() else float(x.sum())
            if len(cell) > 1:
                scale = {"proportion": 100.0, "rate": 1000.0}.get(kinds.get(str(first["indicator_id"]), ""))
                num, den = first["numerator"], first["denominator"]
                ok = scale is not None and not np.isnan(num) and not np.isnan(den) and den > 0
                first["value"] = scale * num / den if ok and scale is not None else np.nan
                for col in INTERVAL_COLUMNS:  # not the first member's; none of a group (rule 6)
                    if col in first:
                        first[col] = np.nan
            merged.append(first)
        out.append(pd.DataFrame(merged, columns=df.columns))
    result = pd.concat(out, ignore_index=True)
    if "unweighted_count" in result.columns:
        result["unweighted_count"] = pd.to_numeric(result["unweighted_count"], errors="coerce")
    return result


def _all_integral(s: pd.Series) -> bool:
    v = s.dropna().to_numpy(dtype=float)
    return bool(np.all(np.mod(v, 1) == 0))


def _complementary(c: _Cells, rows: list[int], subtotals: Mapping[str, list[tuple[str, ...]]]) -> None:
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
        # Sums shown elsewhere (another agreement's groups) are totals of their members too:
        # protect inside them first, so that their complements come from the same group.
        parts = [[i for i in idx if c.dval[i] in members] for members in subtotals.get(dim, [])]
        parts = [p for p in parts if len(p) > 1]
        changed = True
        while changed:
            changed = False
            for part in parts:
                changed |= _protect(c, part) == "changed"
            outcome = _protect(c, idx)
            if outcome == "exhausted":
                # Every cell withheld and still recoverable from the total: withhold it too.
                for t in totals:
                    c.reason[t] = COMPLEMENTARY
                withhold_all()
                return
            changed |= outcome == "changed"


def _protect(c: _Cells, idx: list[int]) -> str:
    """Rule 3 on the cells ``idx`` whose sum is known: withhold published cells, smallest
    first, until the withheld ones are safe. ``safe``, ``changed``, or ``exhausted`` (all
    withheld and still not safe)."""
    changed = False
    while True:
        w = [i for i in idx if c.reason[i]]
        if not w or (not c.fails_alone(w) and not c.recoverable(w)):
            return "changed" if changed else "safe"
        candidates = [i for i in idx if not c.reason[i]]
        if not candidates:
            return "exhausted"
        pick = min(candidates, key=lambda i: (math.inf if np.isnan(c.n[i]) else c.n[i], c.dval[i]))
        c.reason[pick] = COMPLEMENTARY
        changed = True
