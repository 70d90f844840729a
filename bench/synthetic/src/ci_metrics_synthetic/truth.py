"""The indicators of ``docs/INDICATORS.md`` computed from the generator's own records.

The warehouse reads the files back; this module reads the records the files were written
from (the exported values plus the generator's dates as day numbers), so that a test can
check that the warehouse reproduces, for a city that is not the sample, what the
generator knows to be true. Output rows have the shape of ``data/samples/truth.json``.

Definitions applied (from INDICATORS.md, "Conventions", with the sample's truth.json as
the reference where the text leaves a choice):

- A record whose ID fails the check digit is dropped (IDs compared as 9 digits, leading
  zeros restored); a row repeated exactly counts once (schools, youth rosters).
- Resident on day D: valid register row, arrival (or birth, for those born here; or
  "before the register" when both are empty) on or before D, and no departure on or
  before D. Deaths are departures in this register.
- dem_net_migration (total): 1000 x (rows whose arrival date falls in Y - rows whose
  departure date falls in Y) / residents on 1 January Y.
- edu_bagrut_eligibility / edu_bagrut_university / edu_math_5_units (total, school,
  gender from the school file, community and neighbourhood from the register,
  ``unknown`` for pupils not in it): grade יב rows with כן / with 5 units, over grade יב
  rows of the school file of Y.
- edu_dropout (total): rows with נשר = כן over all rows (grades 7-12) of the file of Y.
- edu_bagrut_gap_ethiopian (total): eligibility % of ``other`` minus that of
  ``ethiopian_origin`` (pupils found in the register only); numerator and denominator null.
- yth_movement_participation (total, gender, community, neighbourhood from the register):
  distinct residents on 1 January Y aged 9-18 in Y (Y - birth year) that are active in at
  least one roster of Y (Bnei Akiva פעיל = כן, Tzofim status = active, HaNoar סטטוס =
  פעיל, Ezra listed, Krembo Active = TRUE) / those residents.
- wel_families_known (total, neighbourhood of the register household): register
  households (of residents on 1 January Y) whose member's ID heads a welfare file open
  at some time in Y (opened on or before 31 December, not closed before 1 January) / the
  households with a resident on 1 January Y.
- srv_trust_municipality / srv_optimism / srv_intent_to_stay (total, community from מוצא,
  neighbourhood and age group as answered): Σ weight of Complete responses answering 4-5
  / Σ weight of Complete responses answering 1-5.
- ec_daycare_enrollment / ec_preschool_enrollment (total, community and neighbourhood from
  the register): residents on 1 January Y aged 1-2 (3-4) in Y who are enrolled on that day
  in a מעון יום (a גן טרום טרום חובה or גן טרום חובה): a row with a valid ID of the
  early-childhood file of Y, registered on or before 1 January and not left on or before
  it; a child enrolled twice counts once / those residents. Years with a file only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from . import _ids
from .population import day
from .sources import Records

ETH, OTHER, UNKNOWN = "ethiopian_origin", "other", "unknown"
_YOUTH_ID = {
    "bnei_akiva": "ת.ז.",
    "tzofim": "id_number",
    "hanoar_haoved": "מספר תעודת זהות",
    "ezra": "תז",
    "krembo": "ID",
}


def _row(ind, y, code, dim, val, num, den, value=None):
    if value is None:
        value = 100.0 * num / den if den else None
    return {
        "indicator_id": ind,
        "period": int(y),
        "locality_code": int(code),
        "dimension": dim,
        "dimension_value": str(val),
        # weights have 4 decimals: 6 keep the exact sums and drop float noise
        "numerator": None if num is None else round(float(num), 6),
        "denominator": None if den is None else round(float(den), 6),
        "value": None if value is None else round(float(value), 6),
    }


def _rates(rows, ind, y, code, num: pd.Series, den: pd.Series, dims: dict[str, pd.Series], weights=None):
    """Append a total row and one row per value of each dimension (num and den are masks)."""
    w = pd.Series(1.0, index=num.index) if weights is None else weights
    nw, dw = w.where(num & den, 0.0), w.where(den, 0.0)
    if dw.sum() > 0:
        rows.append(_row(ind, y, code, "total", "all", nw.sum(), dw.sum()))
    for dim, key in dims.items():
        g = pd.DataFrame({"k": key, "n": nw, "d": dw})[den].groupby("k", sort=True)[["n", "d"]].sum()
        for k, r in g.iterrows():
            if r["d"] > 0:
                rows.append(_row(ind, y, code, dim, k, r["n"], r["d"]))


def _ids9(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Written IDs as 9-digit text (leading zeros restored), and whether they pass the
    check digit (text that is not a number of at most 9 digits fails)."""
    num = pd.to_numeric(values, errors="coerce").astype("float64")
    ok = (num.notna() & (num >= 0) & (num < 1e9) & (num == num.round())).to_numpy()
    n = np.where(ok, num.fillna(0).to_numpy(), 0).astype(np.int64)
    valid = ok & _ids.is_valid(n)
    text = np.strings.zfill(n.astype(StringDType()), 9).astype(object)
    return pd.Series(text, index=values.index), pd.Series(valid, index=values.index)


def city_truth(rec: Records, years: range) -> list[dict]:
    code = rec.code
    rows: list[dict] = []
    R = rec.residents
    rid, rvalid = _ids9(R["מספר זהות"])
    R = R.assign(_id9=rid)[rvalid]
    reg = R.set_index("_id9")
    community = reg["_eth"].map({True: ETH, False: OTHER})
    hood = reg["שכונה"]
    arr = pd.to_datetime(R["תאריך כניסה ליישוב"], format="%d/%m/%Y", errors="coerce")
    dep = pd.to_datetime(R["תאריך עזיבה"], format="%d/%m/%Y", errors="coerce")
    birth_year = pd.to_datetime(R["תאריך לידה"], format="%d/%m/%Y").dt.year

    for y in years:
        jan1 = day(y)
        res = (R["_start"] <= jan1) & (R["_dep"] > jan1)
        # demography
        num = int((arr.dt.year == y).sum() - (dep.dt.year == y).sum())
        den = int(res.sum())
        rows.append(
            _row("dem_net_migration", y, code, "total", "all", num, den, 1000.0 * num / den if den else None)
        )

        # schools
        if y in rec.schools:
            s = rec.schools[y]
            s = s[[c for c in s.columns if not c.startswith("_")]].drop_duplicates()
            sid, svalid = _ids9(s["מספר זהות תלמיד"])
            s = s[svalid]
            sid = sid[svalid]
            known = sid.isin(reg.index)
            comm = sid.map(community).where(known, UNKNOWN)
            nb = sid.map(hood).where(known, UNKNOWN)
            g12 = s["שכבה"] == "יב"
            dims = {
                "school": s["סמל מוסד"].astype(str),
                "gender": s["מין"].map({"ז": "male", "נ": "female"}),
                "community": comm,
                "neighborhood": nb,
            }
            _rates(rows, "edu_bagrut_eligibility", y, code, s["זכאות לבגרות"] == "כן", g12, dims)
            _rates(
                rows,
                "edu_bagrut_university",
                y,
                code,
                s["עמידה בדרישות סף של האוניברסיטאות"] == "כן",
                g12,
                dims,
            )
            _rates(rows, "edu_math_5_units", y, code, s["יחידות לימוד מתמטיקה"].astype(str) == "5", g12, dims)
            _rates(rows, "edu_dropout", y, code, s["נשר"] == "כן", pd.Series(True, index=s.index), {})
            el = s["זכאות לבגרות"] == "כן"
            r_eth = el[g12 & (comm == ETH)]
            r_oth = el[g12 & (comm == OTHER)]
            if len(r_eth) and len(r_oth):
                rows.append(
                    _row(
                        "edu_bagrut_gap_ethiopian",
                        y,
                        code,
                        "total",
                        "all",
                        None,
                        None,
                        100.0 * (r_oth.mean() - r_eth.mean()),
                    )
                )

        # youth movements
        rosters = [(mv, df) for (mv, yy), df in rec.youth.items() if yy == y]
        if rosters:
            active_ids = set()
            for mv, df in rosters:
                d = df[[c for c in df.columns if not c.startswith("_")]].drop_duplicates()
                ids, ok = _ids9(d[_YOUTH_ID[mv]])
                act = {
                    "bnei_akiva": lambda d: d["פעיל"] == "כן",
                    "tzofim": lambda d: d["status"] == "active",
                    "hanoar_haoved": lambda d: d["סטטוס"] == "פעיל",
                    "ezra": lambda d: pd.Series(True, index=d.index),
                    "krembo": lambda d: d["Active"].astype(str).isin(["1", "True", "TRUE", "true"]),
                }[mv](d)
                active_ids.update(ids[ok & act].tolist())
            age = y - birth_year
            den = res & (age >= 9) & (age <= 18)
            num = R["_id9"].isin(active_ids)
            _rates(
                rows,
                "yth_movement_participation",
                y,
                code,
                num,
                den,
                {
                    "gender": R["מין"].map({"ז": "male", "נ": "female"}),
                    "community": R["_eth"].map({True: ETH, False: OTHER}),
                    "neighborhood": R["שכונה"],
                },
            )

        # welfare
        W = rec.welfare
        wid, wvalid = _ids9(W["ת.ז. ראש משפחה"])
        open_in_y = wvalid & (W["_open"] <= day(y + 1) - 1) & (W["_close"] >= jan1)
        hh_of = reg["מספר משק בית"]
        known_hh = set(wid[open_in_y].map(hh_of).dropna())
        den_hh = R.loc[res, ["מספר משק בית", "שכונה"]].drop_duplicates("מספר משק בית")
        _rates(
            rows,
            "wel_families_known",
            y,
            code,
            den_hh["מספר משק בית"].isin(known_hh),
            pd.Series(True, index=den_hh.index),
            {"neighborhood": den_hh["שכונה"]},
        )

        # early childhood
        if y in rec.early_childhood:
            e = rec.early_childhood[y]
            eid, evalid = _ids9(e["מספר זהות ילד"])
            reg_on = pd.to_datetime(e["תאריך רישום"], format="%d/%m/%Y")
            left_on = pd.to_datetime(e["תאריך עזיבה"].replace("", None), format="%d/%m/%Y")
            day1 = pd.Timestamp(y, 1, 1)
            enrolled = evalid & (reg_on <= day1) & (left_on.isna() | (left_on > day1))
            age = y - birth_year
            for ind, kinds, ages in (
                ("ec_daycare_enrollment", {"מעון יום"}, (1, 2)),
                ("ec_preschool_enrollment", {"גן טרום טרום חובה", "גן טרום חובה"}, (3, 4)),
            ):
                in_kind = set(eid[enrolled & e["סוג מסגרת"].isin(kinds)])
                _rates(
                    rows,
                    ind,
                    y,
                    code,
                    R["_id9"].isin(in_kind),
                    res & age.between(*ages),
                    {"community": R["_eth"].map({True: ETH, False: OTHER}), "neighborhood": R["שכונה"]},
                )

        # survey
        if y in rec.surveys:
            v = rec.surveys[y]
            complete = v["Status"] == "Complete"
            dims = {
                "community": v["מוצא"].map({"אתיופיה": ETH, "אחר": OTHER}),
                "neighborhood": v["שכונה"],
                "age_group": v["קבוצת גיל"],
            }
            for q, ind in (
                ("q_trust", "srv_trust_municipality"),
                ("q_future", "srv_optimism"),
                ("q_stay", "srv_intent_to_stay"),
            ):
                a = pd.to_numeric(v[q].astype(str), errors="coerce")
                _rates(
                    rows,
                    ind,
                    y,
                    code,
                    a.isin([4, 5]),
                    complete & a.between(1, 5),
                    dims,
                    weights=v["weight"].astype(float),
                )
    return rows
