"""Partner extracts (issue 5): agreements, disclosure control, Excel-safe CSV, audit.

The fixture warehouse is built here from synthetic pupil / resident / household /
response records aggregated to ``marts.indicator_values``, so every breakdown adds up to
its total (except survey neighborhoods, where some respondents gave none) and the true
value of every cell is known to the checks below, which are written independently of
``ci_metrics.share.extracts.disclosure``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import random
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import require_program
from test_indicators import registry_frame, registry_ids

from ci_metrics.share.extracts import (
    DEFAULT_AGREEMENTS_DIR,
    DisclosureRules,
    apply_disclosure_control,
    build_partner_frame,
    list_agreements,
    load_agreement,
    produce_extracts,
)
from ci_metrics.share.extracts.csv_writer import neutralize, render_csv
from ci_metrics.share.extracts.disclosure import DERIVED_COLUMNS, DerivedIndicator, derived_indicators
from ci_metrics.share.extracts.release import registry_warnings

LOC = 1034
OTHER_LOC = 9999
PERIODS = (2019, 2020, 2021)
TODAY = dt.date(2026, 6, 1)  # inside every shipped agreement's validity
AS_OF = dt.date(2026, 5, 31)
HYPERLINK = '=HYPERLINK("http://x","y")'
NEIGHBORHOODS = ["מרכז העיר", 'נחלת הר חב"ד', "שכונה, א'", HYPERLINK, "גבעת הזיתים"]
EDU = ["edu_bagrut_eligibility", "edu_bagrut_university", "edu_math_5_units"]
SURVEY = ["srv_trust_municipality", "srv_optimism", "srv_intent_to_stay"]
WELFARE_MIN_CELL = 20  # marts.indicators.min_cell_size of wel_families_known: above the agreements'


# ----------------------------------------------------------------------------- fixture


def _cells(records, indicator, period, dims, num_key, weight_key=None, loc=LOC):
    """Aggregate records into total + one-dimensional breakdown cells."""
    out = []
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for r in records:
        groups[("total", "all")].append(r)
        for d in dims:
            if r.get(d) is not None:
                groups[(d, r[d])].append(r)
    for (d, v), rs in groups.items():
        w = (lambda r: r[weight_key]) if weight_key else (lambda r: 1)
        num = sum(w(r) for r in rs if r[num_key])
        den = sum(w(r) for r in rs)
        out.append(
            dict(
                indicator_id=indicator,
                period=period,
                locality_code=loc,
                dimension=d,
                dimension_value=v,
                numerator=float(num),
                denominator=float(den),
                value=100.0 * num / den,
                unweighted_count=len(rs),
            )
        )
    return out


def make_marts() -> tuple[pd.DataFrame, pd.DataFrame]:
    rnd = random.Random(20240501)
    rows: list[dict] = []
    eth_n = {2019: 40, 2020: 25, 2021: 8}  # 2021: an Ethiopian-origin cell below 10
    unknown_n = {2019: 12, 2020: 5, 2021: 14}  # pupils not in the register
    for period in PERIODS:
        # 24 pupils: published, rounded (small n); 34403 has 8 pupils in 2021: primary.
        schools = {"34400": 70, "34401": 60, "34402": 24, "34403": 8 if period == 2021 else 12}
        pupils = []
        for school, n in schools.items():
            for _ in range(n):
                pupils.append(dict(school=school, gender=rnd.choice(["male", "female"])))
        rnd.shuffle(pupils)
        for i, p in enumerate(pupils):
            p["community"] = (
                "ethiopian_origin"
                if i < eth_n[period]
                else "unknown"
                if i < eth_n[period] + unknown_n[period]
                else "other"
            )
            p["neighborhood"] = (
                "unknown"
                if p["community"] == "unknown"
                else rnd.choices(NEIGHBORHOODS, weights=[30, 25, 20, 20, 4])[0]
            )
            p["eligible"] = rnd.random() < (0.45 if p["community"] == "ethiopian_origin" else 0.65)
            p["university"] = p["eligible"] and rnd.random() < 0.75
            p["math5"] = rnd.random() < 0.15 and p["school"] != "34402"
        # School 34402: exactly one pupil takes 5 units (attribute disclosure).
        next(p for p in pupils if p["school"] == "34402")["math5"] = True
        dims = ["school", "gender", "community", "neighborhood"]
        for ind, key in zip(EDU, ["eligible", "university", "math5"], strict=False):
            rows += _cells(pupils, ind, period, dims, key)
        rate = {
            c: sum(p["eligible"] for p in pupils if p["community"] == c)
            / sum(1 for p in pupils if p["community"] == c)
            for c in ("other", "ethiopian_origin")
        }
        rows.append(
            dict(
                indicator_id="edu_bagrut_gap_ethiopian",
                period=period,
                locality_code=LOC,
                dimension="total",
                dimension_value="all",
                numerator=None,
                denominator=None,
                value=100 * (rate["other"] - rate["ethiopian_origin"]),
                unweighted_count=None,
            )
        )
        den = 2100 + 10 * (period - 2019)
        num = {2019: 31, 2020: 27, 2021: 22}[period]
        rows.append(
            dict(
                indicator_id="edu_dropout",
                period=period,
                locality_code=LOC,
                dimension="total",
                dimension_value="all",
                numerator=float(num),
                denominator=float(den),
                value=100 * num / den,
                unweighted_count=den,
            )
        )
        youth = [
            dict(
                gender=rnd.choice(["male", "female"]),
                community="ethiopian_origin" if rnd.random() < 0.15 else "other",
                neighborhood=rnd.choices(NEIGHBORHOODS, weights=[30, 25, 20, 20, 5])[0],
                active=rnd.random() < 0.3,
            )
            for _ in range(1500)
        ]
        rows += _cells(
            youth, "yth_movement_participation", period, ["gender", "community", "neighborhood"], "active"
        )
        households = []
        for nb, n in zip(
            NEIGHBORHOODS, [500, 420, 380, 350, 15], strict=False
        ):  # 15: below the welfare threshold of 20
            households += [dict(neighborhood=nb, known=rnd.random() < 0.4) for _ in range(n)]
        rows += _cells(households, "wel_families_known", period, ["neighborhood"], "known")
        residents = 25000 + 100 * (period - 2019)
        net = {2019: -80, 2020: 45, 2021: -5}[period]  # 2019: -3.2 per 1,000
        rows.append(
            dict(
                indicator_id="dem_net_migration",
                period=period,
                locality_code=LOC,
                dimension="total",
                dimension_value="all",
                numerator=float(net),
                denominator=float(residents),
                value=1000 * net / residents,
                unweighted_count=residents,
            )
        )
        ages = ["18-29"] * 150 + ["30-44"] * 170 + ["45-64"] * 130 + ["65+"] * (9 if period == 2021 else 60)
        responses = []
        for age in ages:
            nb = None if rnd.random() < 0.05 else rnd.choices(NEIGHBORHOODS, weights=[30, 25, 20, 20, 5])[0]
            responses.append(
                dict(
                    age_group=age,
                    neighborhood=nb,
                    weight=round(rnd.uniform(0.5, 1.5), 4),
                    community="ethiopian_origin" if rnd.random() < 0.16 else "other",
                    **{s: rnd.random() < 0.45 for s in SURVEY},
                )
            )
        for s in SURVEY:
            rows += _cells(
                responses, s, period, ["community", "neighborhood", "age_group"], s, weight_key="weight"
            )
    # Another locality, in nobody's agreement.
    rows.append(
        dict(
            indicator_id="edu_bagrut_eligibility",
            period=2021,
            locality_code=OTHER_LOC,
            dimension="total",
            dimension_value="all",
            numerator=50.0,
            denominator=100.0,
            value=50.0,
            unweighted_count=100,
        )
    )
    values = pd.DataFrame(rows)
    values["unweighted_count"] = values["unweighted_count"].astype("Int64")

    ids = sorted(values["indicator_id"].unique())
    indicators = pd.DataFrame(
        {
            "indicator_id": ids,
            "name_he": [f"מדד {i}" for i in ids],
            "name_en": [i.replace("_", " ") for i in ids],
            "domain": ["education" if i.startswith("edu") else "other" for i in ids],
            "unit": [
                "per_1000" if i == "dem_net_migration" else "pp" if i.endswith("gap_ethiopian") else "percent"
                for i in ids
            ],
            "polarity": ["higher_is_better"] * len(ids),
            "definition": ['-minus first, then a comma, a "quote"\nand a new line']
            + ["definition"] * (len(ids) - 1),
            "source": ["fixture"] * len(ids),
            "owner_partner": ["education_department"] * len(ids),
            "baseline_period": [2016] * len(ids),
            "baseline_value": [12.345] * len(ids),
            "target_period": [2025] * len(ids),
            "target_value": [20.0] * len(ids),
            "min_cell_size": [WELFARE_MIN_CELL if i == "wel_families_known" else 10 for i in ids],
        }
    )
    # What a derived indicator is computed from: the registry's own columns (marts.indicators).
    derived = registry_frame().set_index("indicator_id")
    for col in DERIVED_COLUMNS:
        indicators[col] = indicators["indicator_id"].map(derived[col])
    return values, indicators


def make_warehouse(path: Path, values: pd.DataFrame, indicators: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.register("v", values)
    con.register("i", indicators)
    con.execute("create table marts.indicator_values as select * from v")
    con.execute("create table marts.indicators as select * from i")
    con.unregister("v")
    con.unregister("i")
    return con


@pytest.fixture(scope="module")
def marts() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_marts()


@pytest.fixture(scope="module")
def produced(tmp_path_factory, marts):
    """All shipped agreements, run once."""
    tmp = tmp_path_factory.mktemp("extracts")
    con = make_warehouse(tmp / "w.duckdb", *marts)
    results = produce_extracts(
        con, tmp / "out", run_id="run-1", as_of=AS_OF, agreements_dir=DEFAULT_AGREEMENTS_DIR, today=TODAY
    )
    yield dict(con=con, out=tmp / "out", results={r.partner: r for r in results}, tmp=tmp)
    con.close()


# ----------------------------------------------------------------------------- helpers


def read_extract(path: Path) -> list[dict]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def num(s: str) -> float | None:
    return None if s == "" else float(s)


def unneutralize(s: str) -> str:
    return s[1:] if s.startswith("'") and s[1:2] in ("=", "+", "-", "@", "\t", "\r", " ") else s


def truth_index(values: pd.DataFrame) -> dict:
    return {
        (r.indicator_id, int(r.period), int(r.locality_code), r.dimension, str(r.dimension_value)): r
        for r in values.itertuples(index=False)
    }


def merged_truth(values: pd.DataFrame, groupings: dict) -> dict:
    """Truth of the merged cells an agreement publishes, summed here from the members' rows
    (independently of the code under test), plus every warehouse cell as in ``truth_index``."""
    merged = []
    for dim, groups in groupings.items():
        for group, g in groups.items():
            rows = values[(values.dimension == dim) & values.dimension_value.isin(g.members)]
            for (ind, period, loc), cell in rows.groupby(["indicator_id", "period", "locality_code"]):
                n, d = cell.numerator.sum(), cell.denominator.sum()
                merged.append(
                    dict(
                        indicator_id=ind,
                        period=period,
                        locality_code=loc,
                        dimension=dim,
                        dimension_value=group,
                        numerator=n,
                        denominator=d,
                        value=100 * n / d,
                        unweighted_count=cell.unweighted_count.sum(),
                    )
                )
    return truth_index(pd.concat([values, pd.DataFrame(merged, columns=values.columns)], ignore_index=True))


def fails_alone(r, threshold: int, min_outcome: int = 3) -> bool:
    """Rules 1 and 2 on one true cell, written here without the code under test."""
    count = true_count(r)
    if count is None or count < threshold:
        return True
    if r.indicator_id in SURVEY or pd.isna(r.numerator) or r.indicator_id == "dem_net_migration":
        return False
    return r.numerator < min_outcome or r.denominator - r.numerator < min_outcome


def true_count(r) -> float | None:
    if not pd.isna(r.unweighted_count):
        return float(r.unweighted_count)
    return None if pd.isna(r.denominator) else float(r.denominator)


def values_file(produced, partner: str) -> Path:
    return produced["out"] / partner / AS_OF.isoformat() / f"{partner}_{AS_OF.isoformat()}_values.csv"


SHIPPED = ["education_department", "leap_forward_foundation", "ministry_of_education", "public"]


# ----------------------------------------------------------------------------- agreements


def test_shipped_agreements_are_valid_and_as_required():
    statuses = {s.partner_id: s for s in list_agreements(DEFAULT_AGREEMENTS_DIR, today=TODAY)}
    assert set(SHIPPED) <= set(statuses)
    for p in SHIPPED:
        assert statuses[p].state == "active", statuses[p].message
    edu = load_agreement(DEFAULT_AGREEMENTS_DIR / "education_department.yml")
    assert "school" in edu.dimensions and edu.min_cell_size == 10
    assert all(i.startswith(("edu_", "ec_")) for i in edu.indicators) and len(edu.indicators) == 7
    moe = load_agreement(DEFAULT_AGREEMENTS_DIR / "ministry_of_education.yml")
    assert moe.min_cell_size == 11 and all(i.startswith("edu_") for i in moe.indicators)
    fnd = load_agreement(DEFAULT_AGREEMENTS_DIR / "leap_forward_foundation.yml")
    assert set(fnd.indicators) == registry_ids() and not {"school", "neighborhood"} & set(fnd.dimensions)
    pub = load_agreement(DEFAULT_AGREEMENTS_DIR / "public.yml")
    assert set(pub.dimensions) == {"total", "gender", "community", "age_group"} and pub.min_cell_size == 10


def _write_agreement(directory: Path, name: str, **changes) -> Path:
    text = (DEFAULT_AGREEMENTS_DIR / "public.yml").read_text(encoding="utf-8")
    import yaml

    data = yaml.safe_load(text)
    data["partner_id"] = name
    for k, v in changes.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    path = directory / f"{name}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_expired_invalid_and_unknown_agreements_give_no_extract(tmp_path, marts):
    agreements = tmp_path / "agreements"
    agreements.mkdir()
    _write_agreement(
        agreements, "old_partner", valid_from=dt.date(2024, 1, 1), expires_on=dt.date(2025, 12, 31)
    )
    _write_agreement(agreements, "typo_partner", min_cel_size=5)  # unknown key
    _write_agreement(agreements, "low_threshold", min_cell_size=3)  # below the floor
    _write_agreement(agreements, "bad_dimension", dimensions=["total", "street"])
    _write_agreement(agreements, "future_partner", valid_from=dt.date(2027, 1, 1))
    (agreements / "mismatch.yml").write_text(
        (agreements / "old_partner.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (agreements / "broken_yaml.yml").write_text("partner_id: [unclosed\n", encoding="utf-8")
    _write_agreement(agreements, "fine_partner")
    con = make_warehouse(tmp_path / "w.duckdb", *marts)
    out = tmp_path / "out"
    results = {
        r.partner: r
        for r in produce_extracts(con, out, run_id="r", as_of=AS_OF, agreements_dir=agreements, today=TODAY)
    }

    assert results["fine_partner"].ok
    assert results["old_partner"].status == "expired"
    assert (
        "old_partner.yml" in results["old_partner"].message
        and "expired on 2025-12-31" in results["old_partner"].message
    )
    assert results["future_partner"].status == "not_yet_valid"
    for p, needle in [
        ("typo_partner", "min_cel_size"),
        ("low_threshold", "greater than or equal to 5"),
        ("bad_dimension", "street"),
        ("mismatch", "differs from the file name"),
        ("broken_yaml", "cannot read agreement"),
    ]:
        r = results[p]
        assert r.status == "invalid" and not r.ok, p
        assert f"{p}.yml" in r.message and needle in r.message, r.message
    assert "validation error for Agreement" in results["typo_partner"].message  # the pydantic error itself
    written = {p.name for p in out.iterdir()} if out.exists() else set()
    assert written == {"fine_partner"}
    audited = {r[0] for r in con.execute("select distinct partner from ops.extracts").fetchall()}
    assert audited == {"fine_partner"}

    missing = produce_extracts(
        con, out, run_id="r", as_of=AS_OF, agreements_dir=agreements, partners=["nobody"], today=TODAY
    )
    assert missing[0].status == "not_found" and "nobody" in missing[0].message
    con.close()


def test_partner_receives_only_what_its_agreement_allows(produced, marts):
    values, _ = marts
    for partner in SHIPPED:
        result = produced["results"][partner]
        assert result.ok, result.message
        agreement = load_agreement(DEFAULT_AGREEMENTS_DIR / f"{partner}.yml")
        rows = read_extract(values_file(produced, partner))
        assert rows
        assert {r["indicator_id"] for r in rows} <= set(agreement.indicators)
        assert {r["dimension"] for r in rows} <= set(agreement.dimensions)
        assert {int(r["locality_code"]) for r in rows} == {LOC}
        for ind in {r["indicator_id"] for r in rows}:
            available = values.loc[(values.indicator_id == ind) & (values.locality_code == LOC), "period"]
            allowed = set(agreement.select_periods(available))
            assert {int(r["period"]) for r in rows if r["indicator_id"] == ind} <= allowed
    edu = read_extract(values_file(produced, "education_department"))
    assert {"school", "neighborhood"} <= {r["dimension"] for r in edu}
    fnd = read_extract(values_file(produced, "leap_forward_foundation"))
    assert not {"school", "neighborhood"} & {r["dimension"] for r in fnd}
    assert "wel_families_known" in {r["indicator_id"] for r in fnd}
    moe = read_extract(values_file(produced, "ministry_of_education"))
    assert {r["indicator_id"] for r in moe} == set(
        load_agreement(DEFAULT_AGREEMENTS_DIR / "ministry_of_education.yml").indicators
    )


def test_latest_and_range_periods(tmp_path, marts):
    agreements = tmp_path / "agreements"
    agreements.mkdir()
    _write_agreement(agreements, "latest_two", periods={"latest": 2})
    _write_agreement(agreements, "range_only", periods={"from": 2020, "to": 2020})
    con = make_warehouse(tmp_path / "w.duckdb", *marts)
    produce_extracts(con, tmp_path / "out", run_id="r", as_of=AS_OF, agreements_dir=agreements, today=TODAY)
    latest = read_extract(tmp_path / "out/latest_two" / AS_OF.isoformat() / f"latest_two_{AS_OF}_values.csv")
    assert {int(r["period"]) for r in latest} == {2020, 2021}
    ranged = read_extract(tmp_path / "out/range_only" / AS_OF.isoformat() / f"range_only_{AS_OF}_values.csv")
    assert {int(r["period"]) for r in ranged} == {2020}
    con.close()


# ----------------------------------------------------------------------------- disclosure: independent checks


def test_no_published_cell_is_small_or_recoverable(produced, marts):
    values, indicators = marts
    truth = truth_index(values)
    own_min = dict(zip(indicators.indicator_id, indicators.min_cell_size, strict=False))
    reasons_seen: set[str] = set()
    for partner in SHIPPED:
        agreement = load_agreement(DEFAULT_AGREEMENTS_DIR / f"{partner}.yml")
        truth = merged_truth(values, agreement.groupings)
        rows = read_extract(values_file(produced, partner))
        groups: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            key = (
                r["indicator_id"],
                int(r["period"]),
                int(r["locality_code"]),
                r["dimension"],
                unneutralize(r["dimension_value"]),
            )
            t = truth[key]
            r["_truth"] = t
            reasons_seen.add(r["suppressed"])
            published = r["suppressed"] == ""
            if not published:
                assert r["value"] == r["numerator"] == r["denominator"] == r["unweighted_count"] == "", r
                continue
            count = true_count(t)
            if count is not None:
                threshold = max(agreement.min_cell_size, own_min[t.indicator_id])
                assert count >= threshold, (partner, key, count)
                # Percentages over small counts are never exact.
                if count < agreement.exact_value_min_count:
                    assert "." not in r["value"], (partner, key, r["value"])
            if (
                t.indicator_id not in SURVEY
                and t.indicator_id != "dem_net_migration"
                and not pd.isna(t.numerator)
            ):
                # Attribute disclosure: 0-2 people with, or without, the outcome.
                assert t.numerator >= 3 and t.denominator - t.numerator >= 3, (partner, key)
            if t.indicator_id == "edu_bagrut_gap_ethiopian":
                # gap = rate(other) - rate(ethiopian_origin), from the warehouse's own cells: both
                # pass rules 1 and 2 on their own, and a rate the partner gets as a cell of its
                # own (not merged with others) is published.
                merged_away = {
                    m
                    for g in agreement.groupings.get("community", {}).values()
                    if len(g.members) > 1
                    for m in g.members
                }
                for c in ("ethiopian_origin", "other"):
                    own = truth[("edu_bagrut_eligibility", key[1], key[2], "community", c)]
                    assert not fails_alone(own, max(agreement.min_cell_size, 10)), (partner, key, c)
                    if c in merged_away:
                        continue
                    src = [
                        x
                        for x in rows
                        if (x["indicator_id"], int(x["period"]), x["dimension"], x["dimension_value"])
                        == ("edu_bagrut_eligibility", key[1], "community", c)
                    ]
                    assert len(src) == 1 and src[0]["suppressed"] == "", (partner, key, c)
            groups[key[:3]][key[3]].append(r)

        # Recovery by subtraction: total minus the published others must never equal a suppressed cell.
        for key3 in groups:
            total_rows = [
                r
                for r in rows
                if (r["indicator_id"], int(r["period"]), int(r["locality_code"])) == key3
                and r["dimension"] == "total"
            ]
            total = total_rows[0] if total_rows else None
            for dim in {r["dimension"] for r in rows if (r["indicator_id"], int(r["period"])) == key3[:2]} - {
                "total"
            }:
                cells = [
                    r
                    for r in rows
                    if (r["indicator_id"], int(r["period"]), int(r["locality_code"])) == key3
                    and r["dimension"] == dim
                ]
                suppressed = [c for c in cells if c["suppressed"]]
                published = [c for c in cells if not c["suppressed"]]
                for field, attr in (
                    ("numerator", "numerator"),
                    ("denominator", "denominator"),
                    ("unweighted_count", "unweighted_count"),
                ):
                    if total is not None and total["suppressed"] == "":
                        t_val = num(total[field])
                    else:
                        t_val = getattr(truth[(*key3, "total", "all")], attr)  # assume it known elsewhere
                        if total is not None and total["suppressed"] and not suppressed:
                            pytest.fail(f"{partner}: suppressed total {key3} = sum of published {dim}")
                    if t_val is None or pd.isna(t_val):
                        continue
                    residual = t_val - sum(num(c[field]) or 0.0 for c in published)
                    tol = 0.006 * (len(published) + 1)
                    for s in suppressed:
                        true_val = getattr(s["_truth"], attr)
                        if true_val is None or pd.isna(true_val):
                            continue
                        assert abs(residual - float(true_val)) > tol, (
                            f"{partner}: {key3} {dim}={s['dimension_value']} {field} recoverable: "
                            f"total - published = {residual}, true {true_val}"
                        )
    # The fixture exercises every rule.
    assert {"", "primary", "attribute", "complementary", "derived"} <= reasons_seen, reasons_seen


GAP, GAP_SOURCE, GAP_CELLS = (
    "edu_bagrut_gap_ethiopian",
    "edu_bagrut_eligibility",
    ("ethiopian_origin", "other"),
)


def _in_span(known: list[np.ndarray], v: np.ndarray) -> bool:
    a = np.vstack(known)
    return np.linalg.matrix_rank(np.vstack([a, v])) == np.linalg.matrix_rank(a)


def linear_attacker(
    releases: list[tuple[str, list[dict], dict]], values: pd.DataFrame, threshold: int
) -> list:
    """What a reader holding all ``releases`` (name, CSV rows, the agreement's groupings) can
    work out exactly, written without the code under test.

    Per breakdown (indicator, period, locality, dimension) a published cell is a known sum of
    warehouse categories (its members), and so is the total. A numerator or denominator of
    a set of categories is recoverable when it is a linear combination of known sums. The gap
    adds rates: gap + one published rate gives the other; a rate and a recoverable
    denominator give the numerator (and conversely). Protected, and so never recoverable: every
    warehouse category that fails rules 1 or 2 on its own (e.g. ``unknown`` merged into
    "everyone else") and every cell some release withholds that no release publishes (a cell
    one partner gets and another has withheld as a complement is not secret; what it protected
    is checked as a category failing the rules). Returns what was recovered.
    """
    leaks = []
    raw = values[values.dimension != "total"]
    for (ind, period, loc, dim), cell in raw.groupby(
        ["indicator_id", "period", "locality_code", "dimension"]
    ):
        cats = sorted(cell.dimension_value.astype(str))
        pos = {c: i for i, c in enumerate(cats)}

        def vec(members, pos=pos, cats=cats):
            v = np.zeros(len(cats))
            for m in members:
                v[pos[m]] = 1.0
            return v

        known = [np.ones(len(cats))]  # the total
        protected = [
            (vec([r.dimension_value]), f"{r.dimension_value} fails the rules alone")
            for r in cell.itertuples(index=False)
            if fails_alone(r, threshold)
        ]
        rate_known: set[str] = set()
        gap_published = False
        for name, rows, groupings in releases:
            for r in rows:
                if (r["indicator_id"], int(r["period"]), int(r["locality_code"])) != (ind, period, loc):
                    continue
                if r["indicator_id"] == GAP:
                    continue
                if r["dimension"] != dim:
                    continue
                value = unneutralize(r["dimension_value"])
                members = list(groupings[dim][value].members) if dim in groupings else [value]
                if r["suppressed"]:
                    protected.append((vec(members), f"{name} withholds {value}"))
                else:
                    known.append(vec(members))
                    if len(members) == 1:
                        rate_known.add(members[0])
            gap_published |= any(
                r["indicator_id"] == GAP and int(r["period"]) == period and not r["suppressed"] for r in rows
            )
        if (ind, dim) == (GAP_SOURCE, "community") and gap_published and rate_known & set(GAP_CELLS):
            rate_known |= set(GAP_CELLS)
        known_num, known_den = list(known), list(known)
        for c in sorted(rate_known):  # a rate and one count give the other count
            if _in_span(known_den, vec([c])):
                known_num.append(vec([c]))
            if _in_span(known_num, vec([c])):
                known_den.append(vec([c]))
        published = {tuple(v) for v in known}
        for v, why in protected:
            if tuple(v) in published:
                continue
            for field, span in (("numerator", known_num), ("denominator", known_den)):
                if _in_span(span, v):
                    leaks.append((ind, period, loc, dim, why, field))
    return leaks


def test_no_protected_cell_is_recoverable_across_releases(produced, marts):
    """Every partner also reads the public extract; here all releases are read together."""
    values, _ = marts
    releases = [
        (
            p,
            read_extract(values_file(produced, p)),
            load_agreement(DEFAULT_AGREEMENTS_DIR / f"{p}.yml").groupings,
        )
        for p in SHIPPED
    ]
    pupils = values[values.indicator_id.isin(EDU)]
    assert linear_attacker(releases, pupils, threshold=10) == []  # the lowest threshold of the four
    # The attacker finds a leak when there is one: a release giving `other` beside the merged cell.
    public = releases[SHIPPED.index("public")]
    leaky_rows = [
        {**r, "suppressed": ""}
        for r in read_extract(values_file(produced, "education_department"))
        if r["dimension"] == "community"
    ]
    assert linear_attacker([public, ("leaky", leaky_rows, {})], pupils, threshold=10)


def test_expected_suppressions_in_fixture(produced):
    rows = read_extract(values_file(produced, "education_department"))
    by = {
        (r["indicator_id"], r["period"], r["dimension"], unneutralize(r["dimension_value"])): r for r in rows
    }
    # 8 pupils: primary; the 24-pupil school with one 5-unit pupil: attribute.
    assert by[("edu_bagrut_eligibility", "2021", "school", "34403")]["suppressed"] == "primary"
    assert by[("edu_math_5_units", "2021", "school", "34402")]["suppressed"] == "attribute"
    # 8 Ethiopian-origin pupils in 2021: primary, and the gap computed from them: derived.
    assert by[("edu_bagrut_eligibility", "2021", "community", "ethiopian_origin")]["suppressed"] == "primary"
    assert by[("edu_bagrut_gap_ethiopian", "2021", "total", "all")]["suppressed"] == "derived"
    # ... so the next smallest school is withheld with it.
    assert by[("edu_bagrut_eligibility", "2021", "school", "34402")]["suppressed"] == "complementary"
    # 24 pupils published with a whole-number value.
    small = by[("edu_bagrut_eligibility", "2020", "school", "34402")]
    assert small["suppressed"] == "" and small["value_decimals"] == "0" and "." not in small["value"]


def test_what_an_indicator_derives_from_is_read_from_the_registry():
    """Rule 4 knows the gap through the registry's derived_* columns (marts.indicators), not
    by name (test_groupings: without them the gap would be published)."""
    assert derived_indicators(registry_frame()) == {
        GAP: DerivedIndicator(GAP_SOURCE, "community", ("other", "ethiopian_origin"))
    }
    assert set(GAP_CELLS) == {"other", "ethiopian_origin"}
    partial = registry_frame().assign(derived_subtrahend=None)
    with pytest.raises(ValueError, match=GAP):
        derived_indicators(partial)


def test_the_run_warns_naming_an_indicator_without_partner_or_hebrew_text(tmp_path, marts):
    """The extracts stage adds these to the run's warnings (pipeline/tasks.py extracts_task)."""
    values, _ = marts
    registry = registry_frame()
    assert registry_warnings_for(tmp_path / "ok.duckdb", values, registry) == []
    first = str(registry.indicator_id.iloc[0])
    broken = registry.copy()
    broken.loc[0, "definition_he"] = None
    broken = pd.concat([broken, broken.iloc[[1]].assign(indicator_id="zz_unlisted")], ignore_index=True)
    assert registry_warnings_for(tmp_path / "broken.duckdb", values, broken) == [
        f"indicator {first}: no Hebrew text in the registry (definition_he)",
        "indicator zz_unlisted: in no partner agreement in force (no extract and no report carry it)",
    ]


def registry_warnings_for(path: Path, values: pd.DataFrame, indicators: pd.DataFrame) -> list[str]:
    make_warehouse(path, values, indicators).close()
    return registry_warnings(path, DEFAULT_AGREEMENTS_DIR, today=TODAY)


def test_indicator_own_threshold_applies_through_build_partner_frame(marts):
    # Welfare: 15 households is above the agreement's 10 but below the indicator's own 20.
    values, indicators = marts
    public = load_agreement(DEFAULT_AGREEMENTS_DIR / "public.yml")
    wider = public.model_copy(update={"dimensions": [*public.dimensions, "neighborhood"]})
    frame = build_partner_frame(values, indicators, wider)
    small = frame[(frame.indicator_id == "wel_families_known") & (frame.dimension_value == "גבעת הזיתים")]
    assert len(small) == len(PERIODS) and set(small.suppressed) == {"primary"}
    assert "neighborhood" not in set(build_partner_frame(values, indicators, public).dimension)


# ----------------------------------------------------------------------------- disclosure: unit level


def _frame(cells, total):
    rows = [
        dict(
            indicator_id="x",
            period=2021,
            locality_code=1,
            dimension="total",
            dimension_value="all",
            numerator=float(total[0]),
            denominator=float(total[1]),
            value=100 * total[0] / total[1],
            unweighted_count=total[1],
        )
    ]
    for name, (n, d) in cells.items():
        rows.append(
            dict(
                indicator_id="x",
                period=2021,
                locality_code=1,
                dimension="school",
                dimension_value=name,
                numerator=float(n),
                denominator=float(d),
                value=100 * n / d if d else None,
                unweighted_count=d,
            )
        )
    return pd.DataFrame(rows)


def test_single_small_cell_gets_a_complement_and_input_is_not_modified():
    df = _frame({"a": (3, 6), "b": (20, 50), "c": (40, 80), "d": (30, 70)}, (93, 206))
    before = df.copy()
    out = apply_disclosure_control(df, DisclosureRules())
    pd.testing.assert_frame_equal(df, before)
    reasons = dict(zip(out.dimension_value, out.suppressed, strict=False))
    assert reasons == {"all": "", "a": "primary", "b": "complementary", "c": "", "d": ""}
    assert out.loc[out.dimension_value == "a", ["numerator", "denominator", "value"]].isna().all(axis=None)
    assert len(out) == len(df)


def test_complement_with_zero_numerator_is_not_enough():
    # a (n=5, 0 yes) and b (n=8, 3 yes) are both primary; total - published would give b's
    # numerator exactly (a's is 0), so a third cell must go.
    df = _frame({"a": (0, 5), "b": (3, 8), "c": (20, 50), "d": (30, 70)}, (53, 133))
    out = apply_disclosure_control(df)
    reasons = dict(zip(out.dimension_value, out.suppressed, strict=False))
    assert (
        reasons["a"] == reasons["b"] == "primary" and reasons["c"] == "complementary" and reasons["d"] == ""
    )


def test_suppressed_total_suppresses_its_breakdowns():
    df = _frame({"a": (2, 4), "b": (2, 5)}, (4, 9))
    out = apply_disclosure_control(df)
    assert set(out.suppressed) == {"primary"}
    df = _frame({"a": (0, 12), "b": (5, 30)}, (5, 42))  # a: attribute, b must go, then a+b = total
    out = apply_disclosure_control(df)
    assert out.suppressed.tolist() == ["complementary", "attribute", "complementary"]


def test_indicator_threshold_and_rounding():
    df = _frame({"a": (5, 15), "b": (40, 100), "c": (50, 120)}, (95, 235))
    out = apply_disclosure_control(
        df, indicators=pd.DataFrame({"indicator_id": ["x"], "min_cell_size": [20]})
    )
    assert dict(zip(out.dimension_value, out.suppressed, strict=False))["a"] == "primary"
    out = apply_disclosure_control(df)
    a = out[out.dimension_value == "a"].iloc[0]
    assert a.value == 33.0 and a.value_decimals == 0  # 33.33 over 15 pupils -> 33
    b = out[out.dimension_value == "b"].iloc[0]
    assert b.value == 40.0 and b.value_decimals == 1


# ----------------------------------------------------------------------------- CSV format


def test_csv_is_excel_safe(produced):
    data = values_file(produced, "education_department").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\n") == data.count(b"\r\n") and data.endswith(b"\r\n")
    text = data.decode("utf-8-sig")
    # The hyperlink neighborhood: neutralised, RFC 4180 quoted.
    assert '"\'=HYPERLINK(""http://x"",""y"")"' in text
    assert ",=HYPERLINK" not in text and ',"=HYPERLINK' not in text
    assert '"שכונה, א\'"' in text and '"נחלת הר חב""ד"' in text
    rows = read_extract(values_file(produced, "education_department"))
    assert any(r["dimension_value"] == "'" + HYPERLINK for r in rows)
    # Negative numbers stay numbers.
    pub = values_file(produced, "public").read_bytes().decode("utf-8-sig")
    line = next(ln for ln in pub.split("\r\n") if ln.startswith("dem_net_migration,") and ",2019," in ln)
    assert ",-3.2," in line and "'-" not in line
    # Definitions: multi-line text quoted, leading minus neutralised.
    defs = (
        (values_file(produced, "public").parent / f"public_{AS_OF}_indicators.csv")
        .read_bytes()
        .decode("utf-8-sig")
    )
    assert '"\'-minus first, then a comma, a ""quote""\nand a new line"' in defs


def test_writer_numeric_vs_text_columns():
    df = pd.DataFrame(
        {"t": ["-3.2", "@x", "\tx", "ok", " =1+1", None], "n": [-3.2, 0.0, 1.5, 2.0, -0.0, None]}
    )
    text = render_csv(df).decode("utf-8-sig")
    assert text.split("\r\n") == ["t,n", "'-3.2,-3.2", "'@x,0", "'\tx,1.5", "ok,2", "' =1+1,0", ",", ""]
    assert neutralize("=SUM(A1)") == "'=SUM(A1)" and neutralize("שלום") == "שלום" and neutralize("") == ""


def test_rerun_gives_byte_identical_csv(tmp_path, marts, produced):
    values, indicators = marts
    shuffled = values.sample(frac=1.0, random_state=7).reset_index(drop=True)
    con = make_warehouse(tmp_path / "w2.duckdb", shuffled, indicators.iloc[::-1].reset_index(drop=True))
    produce_extracts(
        con,
        tmp_path / "out",
        run_id="run-2",
        as_of=AS_OF,
        agreements_dir=DEFAULT_AGREEMENTS_DIR,
        today=TODAY,
        now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    for partner in SHIPPED:
        first = sorted((produced["out"] / partner / AS_OF.isoformat()).glob("*.csv"))
        second = sorted((tmp_path / "out" / partner / AS_OF.isoformat()).glob("*.csv"))
        assert [p.name for p in first] == [p.name for p in second] and len(first) == 3  # + revisions
        for a, b in zip(first, second, strict=False):
            assert a.read_bytes() == b.read_bytes(), a.name
    con.close()


# ----------------------------------------------------------------------------- audit and manifest


def test_ops_extracts_and_manifest(produced):
    con = produced["con"]
    import json

    for partner in SHIPPED:
        folder = produced["out"] / partner / AS_OF.isoformat()
        rows = con.execute(
            "select file_name, sha256, row_count, suppressed_cells, run_id, as_of, agreement_version "
            "from ops.extracts where partner = ? order by file_name",
            [partner],
        ).fetchall()
        assert {r[0] for r in rows} == {p.name for p in folder.iterdir()}
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["run_id"] == "run-1" and manifest["data_as_of"] == AS_OF.isoformat()
        assert manifest["agreement"]["expires_on"] and manifest["agreement"]["version"] == rows[0][6]
        listed = {f["name"]: f for f in manifest["files"]}
        for name, sha, row_count, _suppressed, run_id, as_of, _ in rows:
            assert sha == hashlib.sha256((folder / name).read_bytes()).hexdigest()
            assert run_id == "run-1" and as_of == AS_OF
            if name.endswith(".csv"):
                assert row_count == len(read_extract(folder / name)) == listed[name]["rows"]
                assert sha == listed[name]["sha256"]
        vals = read_extract(folder / f"{partner}_{AS_OF}_values.csv")
        assert manifest["disclosure_control"]["suppressed_cells"] == {
            k: sum(r["suppressed"] == k for r in vals)
            for k in ("primary", "attribute", "complementary", "derived")
        }
        assert {i["indicator_id"] for i in manifest["contents"]["indicators"]} == {
            r["indicator_id"] for r in vals
        }
    # A re-run of the same run replaces its audit rows instead of duplicating them.
    before = con.execute("select count(*) from ops.extracts").fetchone()[0]
    produce_extracts(
        con,
        produced["out"],
        run_id="run-1",
        as_of=AS_OF,
        agreements_dir=DEFAULT_AGREEMENTS_DIR,
        partners=["public"],
        today=TODAY,
    )
    assert con.execute("select count(*) from ops.extracts").fetchone()[0] == before


# ----------------------------------------------------------------------------- a real spreadsheet program


def test_libreoffice_opens_the_csv(produced, tmp_path):
    soffice = require_program(
        "soffice",
        "bash scripts/install-system-deps.sh installs libreoffice-calc-nogui",
        locate=lambda: shutil.which("soffice") or shutil.which("libreoffice"),
    )
    openpyxl = pytest.importorskip("openpyxl")
    sources = [values_file(produced, "education_department"), values_file(produced, "public")]
    work = tmp_path / "lo"
    work.mkdir()
    for s in sources:
        shutil.copy(s, work / s.name)
    cmd = [
        soffice,
        f"-env:UserInstallation=file://{tmp_path / 'lo_profile'}",
        "--headless",
        "--norestore",
        "--convert-to",
        "xlsx",
        "--infilter=CSV:44,34,76,1",
        "--outdir",
        str(work),
        *[str(work / s.name) for s in sources],
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr

    def sheet(name: str):
        wb = openpyxl.load_workbook(work / name.replace(".csv", ".xlsx"))
        ws = wb.active
        rows = list(ws.iter_rows())
        header = [c.value for c in rows[0]]
        return header, rows[1:]

    header, rows = sheet(sources[0].name)
    assert header[0] == "indicator_id"  # the BOM is not part of the first header
    col = {h: i for i, h in enumerate(header)}
    names = {r[col["dimension_value"]].value for r in rows}
    assert 'נחלת הר חב"ד' in names and "שכונה, א'" in names
    assert {r[col["indicator_name_he"]].value for r in rows} >= {"מדד edu_bagrut_eligibility"}
    link = [r[col["dimension_value"]] for r in rows if "HYPERLINK" in str(r[col["dimension_value"]].value)]
    assert link and all(c.data_type == "s" and not str(c.value).startswith("=") for c in link)
    published = [r for r in rows if not r[col["suppressed"]].value]
    assert published and all(isinstance(r[col["value"]].value, (int, float)) for r in published)
    assert all(
        isinstance(r[col["denominator"]].value, (int, float))
        for r in published
        if r[col["indicator_id"]].value != "edu_bagrut_gap_ethiopian"
    )
    assert all(isinstance(r[col["period"]].value, (int, float)) for r in rows)

    header, rows = sheet(sources[1].name)
    col = {h: i for i, h in enumerate(header)}
    mig = [
        r
        for r in rows
        if r[col["indicator_id"]].value == "dem_net_migration" and r[col["period"]].value == 2019
    ]
    assert mig and mig[0][col["value"]].value == pytest.approx(-3.2) and mig[0][col["value"]].data_type == "n"


def test_read_only_connection_fails_before_writing(tmp_path, marts):
    make_warehouse(tmp_path / "w.duckdb", *marts).close()
    ro = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    with pytest.raises(duckdb.Error):
        produce_extracts(
            ro,
            tmp_path / "out",
            run_id="r",
            as_of=AS_OF,
            agreements_dir=DEFAULT_AGREEMENTS_DIR,
            partners=["public"],
            today=TODAY,
        )
    assert not (tmp_path / "out").exists()
    # Reading from the published (read-only) file and auditing elsewhere works.
    audit = duckdb.connect(str(tmp_path / "audit.duckdb"))
    [r] = produce_extracts(
        ro,
        tmp_path / "out",
        run_id="r",
        as_of=AS_OF,
        agreements_dir=DEFAULT_AGREEMENTS_DIR,
        partners=["public"],
        today=TODAY,
        audit_con=audit,
    )
    assert r.ok and audit.execute("select count(*) from ops.extracts").fetchone()[0] == 4  # 3 CSV + manifest
    ro.close()
    audit.close()
