"""Publication groupings (global recoding, issue 14): an agreement publishes a dimension with
categories merged; the merge comes before suppression; the gap keeps its definition.

The sample-run tests prove the steering committee's decision on the real pipeline: the
public extract carries the Ethiopian-origin bagrut figure and the gap in 2018 and 2021.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from test_extracts import SHIPPED, linear_attacker, read_extract
from test_indicators import registry_frame

from ci_metrics.share.extracts import (
    DEFAULT_AGREEMENTS_DIR,
    AgreementError,
    apply_disclosure_control,
    build_partner_frame,
    load_agreement,
    produce_extracts,
)
from ci_metrics.share.extracts.disclosure import DERIVED_COLUMNS

ELIG, GAP = "edu_bagrut_eligibility", "edu_bagrut_gap_ethiopian"
REGISTRY = registry_frame()  # says the gap derives from the eligibility cells (derived_from)
GROUPS = {"community": {"ethiopian_origin": ("ethiopian_origin",), "everyone_else": ("other", "unknown")}}


def _row(ind, dim, val, num, den, count=None, period=2018):
    return dict(
        indicator_id=ind,
        period=period,
        locality_code=1034,
        dimension=dim,
        dimension_value=val,
        numerator=None if num is None else float(num),
        denominator=None if den is None else float(den),
        value=100 * num / den if num is not None else 22.5,
        unweighted_count=den if count is None else count,
    )


def _year(eth=(25, 61), other=(210, 331), unknown=(4, 9)) -> pd.DataFrame:
    """One year of the sample's bagrut by community (2018: `unknown` has 9 pupils)."""
    cells = {"ethiopian_origin": eth, "other": other, "unknown": unknown}
    num = sum(n for n, _ in cells.values())
    den = sum(d for _, d in cells.values())
    rows = [_row(ELIG, "total", "all", num, den)]
    rows += [_row(ELIG, "community", k, n, d) for k, (n, d) in cells.items()]
    rows.append(_row(GAP, "total", "all", None, None, count=eth[1] + other[1]))
    return pd.DataFrame(rows)


def _by(out: pd.DataFrame) -> dict:
    return {(r.indicator_id, r.dimension_value): r for r in out.itertuples(index=False)}


def test_the_gap_is_withheld_with_its_cells_because_the_registry_says_so():
    """Without the registry's derived_* columns nothing ties the gap to the eligibility cells:
    the Ethiopian-origin cell withheld, the gap (392 pupils) would be published."""
    assert _by(apply_disclosure_control(_year(), indicators=REGISTRY))[(GAP, "all")].suppressed == "derived"
    blind = REGISTRY.drop(columns=list(DERIVED_COLUMNS))
    assert _by(apply_disclosure_control(_year(), indicators=blind))[(GAP, "all")].suppressed == ""


def test_merge_comes_before_suppression_and_the_gap_is_published():
    out = _by(apply_disclosure_control(_year(), groupings=GROUPS, indicators=REGISTRY))
    assert set(out) == {(ELIG, "all"), (ELIG, "ethiopian_origin"), (ELIG, "everyone_else"), (GAP, "all")}
    merged = out[(ELIG, "everyone_else")]
    assert (merged.numerator, merged.denominator, merged.unweighted_count) == (214, 340, 340)
    assert merged.suppressed == "" and merged.value == 62.9
    assert out[(ELIG, "ethiopian_origin")].suppressed == "" and out[(ELIG, "ethiopian_origin")].value == 41.0
    assert out[(GAP, "all")].suppressed == "" and out[(GAP, "all")].value == 22.5
    # Without the grouping: unknown (9) is primary, Ethiopian origin its complement, the gap derived.
    before = _by(apply_disclosure_control(_year(), indicators=REGISTRY))
    assert before[(ELIG, "unknown")].suppressed == "primary"
    assert before[(ELIG, "ethiopian_origin")].suppressed == "complementary"
    assert before[(GAP, "all")].suppressed == "derived"


def test_gap_needs_its_own_cells_not_the_merged_one():
    # `other` has 8 pupils: the merged "everyone else" (8 + 300) passes, but the gap is
    # computed from `other` itself and would publish the rate of 8 pupils.
    out = _by(
        apply_disclosure_control(
            _year(other=(5, 8), unknown=(200, 300)), groupings=GROUPS, indicators=REGISTRY
        )
    )
    assert out[(ELIG, "everyone_else")].suppressed == "" and out[(ELIG, "ethiopian_origin")].suppressed == ""
    assert out[(GAP, "all")].suppressed == "derived"
    # A withheld Ethiopian-origin cell withholds the gap (gap + rate of everyone else is no help,
    # but gap + the other rate would be).
    out = _by(apply_disclosure_control(_year(eth=(4, 8)), groupings=GROUPS, indicators=REGISTRY))
    assert out[(ELIG, "ethiopian_origin")].suppressed == "primary"
    assert out[(ELIG, "everyone_else")].suppressed == "complementary"
    assert out[(GAP, "all")].suppressed == "derived"


def test_a_merged_cell_below_the_threshold_is_suppressed_and_complemented():
    out = _by(
        apply_disclosure_control(_year(other=(3, 5), unknown=(2, 4)), groupings=GROUPS, indicators=REGISTRY)
    )
    assert out[(ELIG, "everyone_else")].suppressed == "primary"  # 9 pupils together
    assert out[(ELIG, "ethiopian_origin")].suppressed == "complementary"


def test_known_subtotal_of_another_publication_is_protected_inside():
    # Another agreement publishes other + unknown: this one (ungrouped) must not publish
    # `other` beside a withheld `unknown`, else merged - other = unknown.
    out = _by(apply_disclosure_control(_year(), known_subtotals=GROUPS, indicators=REGISTRY))
    assert out[(ELIG, "unknown")].suppressed == "primary"
    assert out[(ELIG, "other")].suppressed == "complementary"
    assert out[(ELIG, "ethiopian_origin")].suppressed == ""


def test_grouping_validation_names_what_is_wrong(tmp_path):
    base = load_agreement(DEFAULT_AGREEMENTS_DIR / "public.yml").model_dump(by_alias=True)
    group = {"he": "א", "en": "a"}
    twice = {
        "community": {"a": {**group, "members": ["other"]}, "b": {**group, "members": ["other", "unknown"]}}
    }
    with pytest.raises(ValueError, match="'other' is in both 'a' and 'b'"):
        type(load_agreement(DEFAULT_AGREEMENTS_DIR / "public.yml")).model_validate(
            {**base, "groupings": twice}
        )
    unlisted = {"school": {"a": {**group, "members": ["1"]}}}
    with pytest.raises(ValueError, match="not in 'dimensions'"):
        type(load_agreement(DEFAULT_AGREEMENTS_DIR / "public.yml")).model_validate(
            {**base, "groupings": unlisted}
        )
    # A category of the data in no group: refused, named.
    partial = load_agreement(DEFAULT_AGREEMENTS_DIR / "public.yml").model_validate(
        {
            **base,
            "groupings": {
                "community": {
                    "eth": {**group, "members": ["ethiopian_origin"]},
                    "rest": {**group, "members": ["other"]},
                }
            },
        }
    )
    with pytest.raises(AgreementError, match=r"'community': \['unknown'\]"):
        build_partner_frame(_year(), pd.DataFrame({"indicator_id": [ELIG, GAP]}), partial)


# ----------------------------------------------------------------------------- the sample run

TODAY = dt.date(2026, 6, 1)
AS_OF = dt.date(2026, 5, 31)


@pytest.fixture(scope="module")
def sample_extracts(published_warehouse, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("groupings")
    con = duckdb.connect(str(published_warehouse), read_only=True)
    audit = duckdb.connect(str(tmp / "audit.duckdb"))
    try:
        results = produce_extracts(
            con,
            tmp / "out",
            run_id="g",
            as_of=AS_OF,
            agreements_dir=DEFAULT_AGREEMENTS_DIR,
            today=TODAY,
            audit_con=audit,
        )
        values = con.execute("select * from marts.indicator_values").df()
        indicators = con.execute("select * from marts.indicators").df()
    finally:
        con.close()
        audit.close()
    rows = {
        r.partner: read_extract(
            tmp / "out" / r.partner / AS_OF.isoformat() / f"{r.partner}_{AS_OF}_values.csv"
        )
        for r in results
        if r.ok
    }
    return dict(results={r.partner: r for r in results}, rows=rows, values=values, indicators=indicators)


def _cell(rows, ind, period, value):
    [r] = [
        r for r in rows if (r["indicator_id"], r["period"], r["dimension_value"]) == (ind, str(period), value)
    ]
    return r


def test_public_extract_carries_ethiopian_origin_and_gap_in_2018_and_2021(sample_extracts):
    values = sample_extracts["values"]
    for partner in ("public", "leap_forward_foundation"):
        assert sample_extracts["results"][partner].ok, sample_extracts["results"][partner].message
        rows = sample_extracts["rows"][partner]
        for period in (2018, 2021):
            eth = _cell(rows, ELIG, period, "ethiopian_origin")
            gap = _cell(rows, GAP, period, "all")
            assert eth["suppressed"] == "" and gap["suppressed"] == "", (partner, period)
            truth = values[
                (values.indicator_id == ELIG)
                & (values.period == period)
                & (values.locality_code == 1034)
                & (values.dimension == "community")
            ].set_index("dimension_value")
            assert float(eth["denominator"]) == truth.loc["ethiopian_origin", "denominator"]
            merged = _cell(rows, ELIG, period, "everyone_else")
            assert float(merged["denominator"]) == truth.loc[["other", "unknown"], "denominator"].sum()
            [true_gap] = values[
                (values.indicator_id == GAP) & (values.period == period) & (values.locality_code == 1034)
            ].value
            # The warehouse's gap (other vs ethiopian_origin), not one computed from the merged cell.
            assert abs(float(gap["value"]) - true_gap) <= 0.05
        assert not any(
            r["dimension_value"] in ("other", "unknown") for r in rows if r["dimension"] == "community"
        )


def test_without_groupings_the_sample_still_suppresses_as_before(sample_extracts):
    values, indicators = sample_extracts["values"], sample_extracts["indicators"]
    public = load_agreement(DEFAULT_AGREEMENTS_DIR / "public.yml")
    plain = public.model_copy(update={"groupings": {}})
    frame = build_partner_frame(values, indicators, plain)
    rows = frame.astype({"period": str}).to_dict(orient="records")
    for period in (2018, 2021):
        assert _cell(rows, ELIG, period, "unknown")["suppressed"] in ("primary", "attribute")
        assert _cell(rows, ELIG, period, "ethiopian_origin")["suppressed"] == "complementary"
        assert _cell(rows, GAP, period, "all")["suppressed"] == "derived"


def test_sample_releases_together_recover_nothing_protected(sample_extracts):
    values = sample_extracts["values"]
    releases = [
        (p, sample_extracts["rows"][p], load_agreement(DEFAULT_AGREEMENTS_DIR / f"{p}.yml").groupings)
        for p in SHIPPED
    ]
    pupils = values[
        values.indicator_id.str.startswith("edu_")
        & (values.indicator_id != GAP)
        & (values.locality_code == 1034)
    ]
    assert linear_attacker(releases, pupils, threshold=10) == []
