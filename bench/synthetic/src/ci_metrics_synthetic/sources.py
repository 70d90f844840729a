"""What each partner sends, built from one town's population and written as it sends it.

``build_records`` turns a :class:`~.population.Population` into one table per file, with
the exported columns exactly as in ``docs/FORMATS.md`` and the bundled sample, plus
hidden columns (names starting with ``_``) that the truth computation reads and the
writers drop. ``write_records`` writes them: csv in each partner's encoding, xlsx through
the package's own writer (:mod:`.xlsx`).

The traps of the real exports are part of the records, at rates near the sample's:
IDs failing the check digit (register 0.25%, school rows 0.3%, welfare 0.2%), school IDs
stored as numbers (leading zeros lost) and Ezra's IDs without them, repeated school and
Tzofim rows, pupils and scouts who live elsewhere, members of two movements, members who
moved away but stay on the roster, inactive members (Bnei Akiva lists them in
``סניף מרכז``, with a second row for some who are active elsewhere), survey dates in two
formats, Partial responses, -99 and skipped answers, welfare files of families who left
before the register starts. Early-childhood files (semicolon-separated UTF-8 with a BOM, CRLF,
a closing total line) list children of other towns, children who moved between two
frameworks (some on 1 January itself), repeated rows and IDs failing the check digit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from . import _ids
from . import _names as N
from .population import FEMALE, NEVER, NO_DATE, PARTNER, SINGLE, SINGLE_PARENT, Population, day, year_of
from .xlsx import Column, write_table

S = StringDType()
GRADES = np.array(["ז", "ח", "ט", "י", "יא", "יב"], dtype=S)  # grades 7..12
SEX_HE = np.array(["ז", "נ"], dtype=S)
MOVEMENTS = ("bnei_akiva", "tzofim", "hanoar_haoved", "ezra", "krembo")
_MOVE_BASE = np.array([0.055, 0.05, 0.026, 0.022, 0.014])  # share of 9-18 year olds, first year
_AGE_F = np.array([0.7, 0.9, 1.1, 1.2, 1.2, 1.1, 1.0, 0.9, 0.8, 0.6])  # ages 9..18

RESIDENTS_HEADER = [
    "מספר זהות",
    "שם פרטי",
    "שם משפחה",
    "תאריך לידה",
    "מין",
    "שכונה",
    "ארץ לידה",
    "ארץ לידת האב",
    "מספר משק בית",
    "תאריך כניסה ליישוב",
    "תאריך עזיבה",
]
WELFARE_HEADER = [
    "מספר תיק",
    "ת.ז. ראש משפחה",
    "מספר נפשות",
    "שכונה",
    "תאריך פתיחה",
    "תאריך סגירה",
    "סיבת פנייה",
]
SCHOOLS_HEADER = [
    "סמל מוסד",
    "שם מוסד",
    "מספר זהות תלמיד",
    "שכבה",
    "מין",
    "זכאות לבגרות",
    "עמידה בדרישות סף של האוניברסיטאות",
    "יחידות לימוד מתמטיקה",
    "נשר",
]
SURVEY_HEADER = [
    "Response ID",
    "Time Started",
    "Date Submitted",
    "Status",
    "Language",
    "weight",
    "שכונה",
    "קבוצת גיל",
    "מין",
    "מוצא",
    "q_trust",
    "q_future",
    "q_stay",
]
YOUTH_HEADER = {
    "bnei_akiva": ["ת.ז.", "שם פרטי", "שם משפחה", "תאריך לידה", "סניף", "פעיל"],
    "tzofim": ["id_number", "first_name", "last_name", "birth_date", "troop", "status"],
    "hanoar_haoved": ["מספר תעודת זהות", "שם מלא", "שנת לידה", "קן", "סטטוס"],
    "ezra": ["תז", "שם", "גיל", "סניף"],
    "krembo": ["ID", "Name", "DOB", "Branch", "Active"],
}
YOUTH_EXT = {"bnei_akiva": "xlsx", "tzofim": "csv", "hanoar_haoved": "csv", "ezra": "csv", "krembo": "xlsx"}
CSV_ENCODING = {
    "residents": "cp1255",
    "welfare": "cp1255",
    "surveys": "utf-8",
    "tzofim": "utf-8",
    "hanoar_haoved": "cp1255",
    "ezra": "utf-8-sig",
}
EARLY_CHILDHOOD_HEADER = [
    "מספר זהות ילד",
    "שם פרטי",
    "שם משפחה",
    "תאריך לידה",
    "סוג מסגרת",
    "סמל מסגרת",
    "שם מסגרת",
    "תאריך רישום",
    "תאריך עזיבה",
]
FRAMEWORKS = np.array(["מעון יום", "גן טרום טרום חובה", "גן טרום חובה", "גן חובה"], dtype=object)
"""Framework types by kind: 0 daycare (ages 1-3 in the year), 1 pre-pre (3), 2 pre (4), 3 compulsory (5)."""


# -- small vectorised formatters --------------------------------------------------------
def fmt_date(days: np.ndarray, style: str) -> np.ndarray:
    """Days since 1970 as text: 'dmy' DD/MM/YYYY, 'mdy' MM/DD/YYYY, 'ymd' YYYY-MM-DD.
    NO_DATE and NEVER become ''."""
    days = np.asarray(days, dtype=np.int64)
    ok = (days > NO_DATE) & (days < NEVER)
    d64 = np.where(ok, days, 0).astype("datetime64[D]")
    months = d64.astype("datetime64[M]")
    y = (months.astype(np.int64) // 12 + 1970).astype(S)
    m = np.strings.zfill((months.astype(np.int64) % 12 + 1).astype(S), 2)
    d = np.strings.zfill((d64 - months.astype("datetime64[D]")).astype(np.int64).__add__(1).astype(S), 2)
    add = np.strings.add
    if style == "dmy":
        out = add(add(add(add(d, "/"), m), "/"), y)
    elif style == "mdy":
        out = add(add(add(add(m, "/"), d), "/"), y)
    else:
        out = add(add(add(add(y, "-"), m), "-"), d)
    return np.where(ok, out, np.array("", dtype=S))


def pick(values, idx) -> np.ndarray:
    return np.asarray(values, dtype=object)[np.asarray(idx)].astype(S)


def hebrew_year(spring_year: int) -> str:
    """The Hebrew year that starts in the autumn of ``spring_year - 1`` (2021 -> תשפ"א)."""
    n = (spring_year + 3760) % 1000
    letters = []
    for value, letter in ((400, "ת"), (300, "ש"), (200, "ר"), (100, "ק")):
        while n >= value:
            letters.append(letter)
            n -= value
    if n in (15, 16):
        letters += ["ט", "ו" if n == 15 else "ז"]
        n = 0
    tens = {90: "צ", 80: "פ", 70: "ע", 60: "ס", 50: "נ", 40: "מ", 30: "ל", 20: "כ", 10: "י"}
    units = "_אבגדהוזחט"
    if n >= 10:
        letters.append(tens[n // 10 * 10])
        n %= 10
    if n:
        letters.append(units[n])
    final = {"כ": "ך", "מ": "ם", "נ": "ן", "פ": "ף", "צ": "ץ"}
    letters[-1] = final.get(letters[-1], letters[-1])  # תש"ף, as the ministry writes it
    if len(letters) == 1:
        return letters[0] + "'"
    return "".join(letters[:-1]) + '"' + letters[-1]


def _yes_no(flags: np.ndarray, applies: np.ndarray) -> np.ndarray:
    """כן / לא where the question applies (grade 12 for the bagrut columns), empty elsewhere."""
    return np.where(applies, np.where(flags, "כן", "לא"), "")


def _dups(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Row order with some rows repeated at a random later place."""
    order = rng.permutation(n)
    k = rng.binomial(n, rate) if n else 0
    if k == 0:
        return order
    extra = rng.choice(n, k, replace=False)
    pos = rng.integers(0, n + 1, k)
    return np.insert(order, np.sort(pos), extra)


@dataclass
class Records:
    """One town's files as tables (hidden ``_`` columns kept for the truth)."""

    code: int
    residents: pd.DataFrame
    residents_date: str
    welfare: pd.DataFrame
    welfare_date: str
    schools: dict[int, pd.DataFrame] = field(default_factory=dict)
    youth: dict[tuple[str, int], pd.DataFrame] = field(default_factory=dict)
    surveys: dict[int, pd.DataFrame] = field(default_factory=dict)
    school_names: dict[int, str] = field(default_factory=dict)
    early_childhood: dict[int, pd.DataFrame] = field(default_factory=dict)


def _frame(cols: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {k: (v.astype(object) if getattr(v, "dtype", None) == S else v) for k, v in cols.items()}
    )


# -- the builders -----------------------------------------------------------------------
class CityBuilder:
    def __init__(self, pop: Population, seed: int, rngs: list[np.random.Generator]):
        self.pop = pop
        self.city = pop.city
        self.P = pop.P
        self.H = pop.H
        self.years = pop.years
        self.r_ids, self.r_res, self.r_sch, self.r_yth, self.r_wel, self.r_srv, self.r_misc = rngs[:7]
        # its own stream (the 8th), so that adding the source left the other files unchanged
        self.r_ec = rngs[7] if len(rngs) > 7 else np.random.default_rng([seed, 8])
        self.seed = seed

    # IDs for everyone the files mention
    def assign_ids(self, n_outsiders: int, block_size: int):
        n = self.pop.n
        ids = _ids.unique_ids(
            self.r_ids, n + n_outsiders, self.city.index, block_size, salt=(self.seed * 2_654_435_761) % 10**8
        )
        self.ids = ids[:n]
        self.outsider_ids = ids[n:]
        self._next_outsider = 0
        # the register mistypes a few IDs
        bad = self.r_ids.random(n) < 0.0025
        reg = self.ids.copy()
        reg[bad] = _ids.typo(self.r_ids, reg[bad])
        self.reg_ids = reg
        self.reg_valid = ~bad

    def take_outsiders(self, k: int) -> np.ndarray:
        out = self.outsider_ids[self._next_outsider : self._next_outsider + k]
        if len(out) < k:
            raise RuntimeError("outsider ID pool exhausted")
        self._next_outsider += k
        return out

    # residents -------------------------------------------------------------------------
    def residents(self) -> tuple[pd.DataFrame, str]:
        P, H, c, rng = self.P, self.H, self.city, self.r_res
        n = self.pop.n
        order = rng.permutation(n)
        hh_num = np.strings.add(str(c.code), np.strings.zfill(H["number"][P["hh"]].astype(S), 6))
        start = self.pop.start()
        cols = {
            "מספר זהות": _ids.as_text9(self.reg_ids),
            "שם פרטי": P["first_name"].astype(S),
            "שם משפחה": P["last_name"].astype(S),
            "תאריך לידה": fmt_date(P["bday"], "dmy"),
            "מין": SEX_HE[P["sex"]],
            "שכונה": pick(c.hoods, P["hood"]),
            "ארץ לידה": pick(N.COUNTRIES, P["bc"]),
            "ארץ לידת האב": pick(N.COUNTRIES, P["fc"]),
            "מספר משק בית": hh_num,
            "תאריך כניסה ליישוב": fmt_date(P["arr"], "dmy"),
            "תאריך עזיבה": fmt_date(P["dep"], "dmy"),
            "_pid": np.arange(n),
            "_valid": self.reg_valid,
            "_start": start,
            "_dep": P["dep"],
            "_hh": P["hh"],
            "_eth": P["ethiopian"],
            "_sex": P["sex"],
            "_hood": P["hood"],
            "_bday": P["bday"],
        }
        df = _frame(cols).iloc[order].reset_index(drop=True)
        snap = dt.date(self.pop.last_year + 1, 1, int(rng.integers(3, 13)))
        return df, snap.strftime("%Y%m%d")

    # schools ---------------------------------------------------------------------------
    def schools(self) -> tuple[dict[int, pd.DataFrame], dict[int, str]]:
        P, c, rng = self.P, self.city, self.r_sch
        n = self.pop.n
        by = year_of(P["bday"])
        start = self.pop.start()
        years = list(self.years)
        # the town's post-primary schools
        kids = int(((by >= years[0] - 18) & (by <= years[0] - 13)).sum())
        n_s = int(np.clip(round(kids / 480), 2, 10))
        home = rng.choice(len(c.hoods), n_s, replace=n_s > len(c.hoods))
        types = rng.choice(len(N.SCHOOL_TYPES), n_s)
        types[0] = 0  # at least one comprehensive school
        namesake = rng.permutation(len(N.SCHOOL_NAMESAKES))[:n_s]
        names, seen = [], set()
        for j in range(n_s):  # a handful of schools, not people
            t = N.SCHOOL_TYPES[types[j]]
            nm = f"{t} {c.hoods[home[j]]}" if rng.random() < 0.6 else f"{t} {N.SCHOOL_NAMESAKES[namesake[j]]}"
            if nm in seen:
                nm = f"{t} {N.SCHOOL_NAMESAKES[namesake[j]]}"
            seen.add(nm)
            names.append(nm)
        # 6-digit school codes, distinct across towns (up to 85,993 of them)
        codes = [140000 + ((c.index * 7919 + 4111) % 85993) * 10 + j for j in range(n_s)]
        size = rng.lognormal(0, 0.3, n_s)
        school_eff = rng.normal(0, 0.25, n_s)
        # affinity of each neighbourhood (rows) for each school: its own school counts 4x
        aff = size[None, :] * np.where(home[None, :] == np.arange(len(c.hoods))[:, None], 4.0, 1.0)

        local = rng.random(n) < rng.uniform(0.9, 0.98)
        hood = P["hood"].astype(np.int64)
        cum = np.cumsum(aff, axis=1)
        cum /= cum[:, -1:]
        school = np.minimum((rng.random(n)[:, None] > cum[hood]).sum(axis=1), n_s - 1)
        hold = (rng.random(n) < 0.015).astype(np.int64)
        ability = rng.normal(0, 1, n) + 0.35 * c.hood_ses[hood] - 0.45 * P["ethiopian"] + school_eff[school]

        # pupils from other towns
        rel = by - (years[0] - 18)
        rel = rel[(rel >= 0) & (rel < len(years) + 6)]
        cohort = np.bincount(rel, minlength=len(years) + 6)  # locals per birth year of the pupils
        share_out = rng.uniform(0.02, 0.05)
        n_out_per = rng.binomial(np.maximum(cohort, 0), share_out)
        o_by = np.repeat(np.arange(years[0] - 18, years[0] - 18 + len(n_out_per)), n_out_per)
        no = len(o_by)
        o_ids = self.take_outsiders(no)
        o_sex = (rng.random(no) < 0.5).astype(np.int64)
        o_school = rng.integers(0, n_s, no)
        o_ability = rng.normal(-0.1, 1, no) + school_eff[o_school]
        o_hold = (rng.random(no) < 0.015).astype(np.int64)

        trend = rng.uniform(0.5, 3.0)
        p5 = rng.uniform(0.07, 0.18)
        gone = np.zeros(n, dtype=bool)
        o_gone = np.zeros(no, dtype=bool)
        out: dict[int, pd.DataFrame] = {}
        for y in years:
            g = y - by - 6 - hold
            en = (
                local & (g >= 7) & (g <= 12) & (start <= day(y, 3, 1)) & (P["dep"] > day(y - 1, 9, 1)) & ~gone
            )
            go = y - o_by - 6 - o_hold
            o_en = (go >= 7) & (go <= 12) & ~o_gone & (rng.random(no) < 0.97)
            li, oi = np.flatnonzero(en), np.flatnonzero(o_en)
            pid = np.concatenate([li, np.full(len(oi), -1)])
            ids = np.concatenate([self.ids[li], o_ids[oi]])
            grade = np.concatenate([g[li], go[oi]])
            sex = np.concatenate([P["sex"][li], o_sex[oi]])
            sch = np.concatenate([school[li], o_school[oi]])
            abil = np.concatenate([ability[li], o_ability[oi]])
            m = len(pid)
            # dropping out during the year
            rate = c.dropout_pct / 100 * np.exp(rng.normal(0, 0.15))
            w = np.array([0.5, 0.7, 1.0, 1.5, 1.5, 0.8])[grade - 7] * np.exp(-0.6 * abil)
            drop = rng.random(m) < np.minimum(w * rate * m / max(w.sum(), 1e-9), 0.5)
            stays_out = drop & (rng.random(m) < 0.8)
            gone[li[stays_out[: len(li)]]] = True
            o_gone[oi[stays_out[len(li) :]]] = True
            # grade-12 outcomes and mathematics
            latent = abil + rng.normal(0, 0.5, m)
            g12 = (grade == 12) & ~drop
            e_rate = np.clip(c.bagrut_pct + trend * (y - years[-1]) + rng.normal(0, 1.5), 20, 97) / 100
            u_rate = np.clip(c.univ_pct + trend * (y - years[-1]) + rng.normal(0, 1.5), 10, 95) / 100
            eligible = np.zeros(m, dtype=bool)
            univ = np.zeros(m, dtype=bool)
            if g12.any():
                thr = np.quantile(latent[g12], 1 - e_rate)
                eligible = g12 & (latent > thr)
                l2 = latent + rng.normal(0, 0.3, m)
                if eligible.any():
                    thr2 = np.quantile(l2[eligible], 1 - min(u_rate / e_rate, 1.0))
                    univ = eligible & (l2 >= thr2)
            upper = grade >= 11
            lm = latent + rng.normal(0, 0.4, m)
            units = np.full(m, "", dtype=object)
            if upper.any():
                q5 = np.quantile(lm[upper], 1 - np.clip(p5 + 0.005 * (y - years[0]), 0.02, 0.5))
                q4 = np.quantile(lm[upper], 1 - np.clip(p5 + 0.005 * (y - years[0]), 0.02, 0.5) - 0.27)
                units[upper] = np.where(lm[upper] > q5, "5", np.where(lm[upper] > q4, "4", "3"))
                units[upper & (rng.random(m) < 0.08)] = ""
            is12 = grade == 12
            # traps: mistyped IDs, repeated rows
            bad = rng.random(m) < 0.003
            ids_w = ids.copy()
            ids_w[bad] = _ids.typo(rng, ids_w[bad])
            order = _dups(rng, m, 0.005)
            cols = {
                "סמל מוסד": np.asarray(codes, dtype=np.int64)[sch],
                "שם מוסד": np.asarray(names, dtype=object)[sch],
                "מספר זהות תלמיד": ids_w,
                "שכבה": GRADES[grade - 7].astype(object),
                "מין": SEX_HE[sex].astype(object),
                "זכאות לבגרות": _yes_no(eligible, is12),
                "עמידה בדרישות סף של האוניברסיטאות": _yes_no(univ, is12),
                "יחידות לימוד מתמטיקה": units,
                "נשר": np.where(drop, "כן", "לא"),
                "_pid": pid,
                "_valid": ~bad,
            }
            df = pd.DataFrame(cols).iloc[order].reset_index(drop=True)
            df["_repeat"] = _visible(df).duplicated()
            out[y] = df
        return out, {codes[j]: names[j] for j in range(n_s)}

    # youth -----------------------------------------------------------------------------
    def youth(self) -> dict[tuple[str, int], pd.DataFrame]:
        P, c, rng = self.P, self.city, self.r_yth
        n = self.pop.n
        by = year_of(P["bday"])
        start = self.pop.start()
        years = list(self.years)
        nm = len(MOVEMENTS)
        hood = P["hood"].astype(np.int64)
        nh = len(c.hoods)
        # when each movement joined the partnership (the first town has them all from the start)
        first = np.full(nm, years[0])
        if c.index > 0:
            late = rng.random(nm) < np.array([0, 0, 0.25, 0.25, 0.3])
            first = np.where(
                late, rng.integers(years[0] + 1, years[-1] + 1, nm) if len(years) > 1 else years[0], first
            )
        base = _MOVE_BASE * rng.lognormal(0, 0.35, nm)
        growth = rng.uniform(1.0, 1.15, nm)
        hood_f = rng.lognormal(0, 0.35, (nm, nh))
        eth_f = np.array([0.9, 0.8, 1.0, 1.4, 1.0]) * rng.lognormal(0, 0.15, nm)
        u = rng.random((n, nm))
        # branches: each movement has a branch in some neighbourhoods; kids go to their own or another
        branch_of = np.empty((nm, nh), dtype=np.int64)
        for k in range(nm):  # five movements
            nb = max(2, int(np.ceil(nh * (0.35 if MOVEMENTS[k] == "krembo" else 0.7))))
            br = rng.choice(nh, min(nb, nh), replace=False)
            branch_of[k] = np.where(
                np.isin(np.arange(nh), br), np.arange(nh), br[rng.integers(0, len(br), nh)]
            )

        def member(k: int, y: int) -> np.ndarray:
            age = y - by
            ok = (age >= 9) & (age <= 18) & (start <= day(y, 5, 31)) & (P["dep"] > day(y - 1, 9, 1))
            f = _AGE_F[np.clip(age - 9, 0, 9)]
            p = (
                base[k]
                * growth[k] ** (y - years[0])
                * f
                * hood_f[k, hood]
                * np.where(P["ethiopian"], eth_f[k], 1.0)
            )
            noise = np.exp(rng.normal(0, 0.2, n))
            return ok & (u[:, k] < p * noise)

        # guests from other towns (Tzofim's "שבט אורחים")
        n_guests = max(3, round(60 * n / 35_000))
        g_ids = self.take_outsiders(n_guests)
        g_by = rng.integers(years[0] - 18, years[-1] - 8, n_guests)
        g_u = rng.random(n_guests)
        g_fn = np.where(
            rng.random(n_guests) < 0.5,
            pick(N.MALE, rng.integers(0, len(N.MALE), n_guests)),
            pick(N.FEMALE, rng.integers(0, len(N.FEMALE), n_guests)),
        )
        g_ln = pick(N.SURNAMES[N.ISRAEL], rng.integers(0, len(N.SURNAMES[N.ISRAEL]), n_guests))
        g_bd = (g_by - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64) + rng.integers(
            0, 365, n_guests
        )

        out: dict[tuple[str, int], pd.DataFrame] = {}
        for k, mv in enumerate(MOVEMENTS):
            prev = member(k, years[0] - 1)
            for y in years:
                cur = member(k, y)
                if y < first[k]:
                    prev = cur
                    continue
                act = np.flatnonzero(cur)
                left = np.flatnonzero(prev & ~cur & (y - by <= 19) & (P["dep"] > day(y - 1, 9, 1)))
                left = left[rng.random(len(left)) < 0.5] if mv != "ezra" else left[:0]
                prev = cur
                act = act[rng.permutation(len(act))]
                pid = np.concatenate([act, left])
                active = np.concatenate([np.ones(len(act), bool), np.zeros(len(left), bool)])
                ids = self.ids[pid]
                bd = P["bday"][pid]
                fn, ln = P["first_name"][pid].astype(S), P["last_name"][pid].astype(S)
                br_hood = branch_of[k, hood[pid]]
                if mv == "bnei_akiva":
                    again = act[rng.random(len(act)) < 0.015]  # also listed inactive in the centre
                    pid = np.concatenate([pid, again])
                    active = np.concatenate([active, np.zeros(len(again), bool)])
                    ids, bd = self.ids[pid], P["bday"][pid]
                    fn, ln = P["first_name"][pid].astype(S), P["last_name"][pid].astype(S)
                    br = np.strings.add("סניף ", pick(c.hoods, branch_of[k, hood[pid]]))
                    br = np.where(active, br, np.array("סניף מרכז", dtype=S))
                    cols = {
                        "ת.ז.": _ids.as_text9(ids),
                        "שם פרטי": fn,
                        "שם משפחה": ln,
                        "תאריך לידה": fmt_date(bd, "dmy"),
                        "סניף": br,
                        "פעיל": np.where(active, "כן", "לא").astype(S),
                    }
                elif mv == "tzofim":
                    gm = (y - g_by >= 9) & (y - g_by <= 18) & (g_u < 0.35)
                    gi = np.flatnonzero(gm)
                    troop = np.strings.add("שבט ", pick(c.hoods, br_hood))
                    status = np.where(
                        active,
                        "active",
                        pick(
                            ["inactive", "inactive", "left", "suspended"], rng.integers(0, 4, len(pid))
                        ).astype(object),
                    ).astype(S)
                    troop = np.where(active, troop, np.array("שבט מרכז", dtype=S))
                    # guests go before the inactive members
                    na = len(act)
                    cols = {
                        "id_number": np.concatenate(
                            [_ids.as_text9(ids[:na]), _ids.as_text9(g_ids[gi]), _ids.as_text9(ids[na:])]
                        ),
                        "first_name": np.concatenate([fn[:na], g_fn[gi], fn[na:]]),
                        "last_name": np.concatenate([ln[:na], g_ln[gi], ln[na:]]),
                        "birth_date": np.concatenate(
                            [fmt_date(bd[:na], "ymd"), fmt_date(g_bd[gi], "ymd"), fmt_date(bd[na:], "ymd")]
                        ),
                        "troop": np.concatenate(
                            [troop[:na], np.full(len(gi), "שבט אורחים", dtype=S), troop[na:]]
                        ),
                        "status": np.concatenate(
                            [status[:na], np.full(len(gi), "active", dtype=S), status[na:]]
                        ),
                    }
                    pid = np.concatenate([pid[:na], np.full(len(gi), -1), pid[na:]])
                    active = np.concatenate([active[:na], np.ones(len(gi), bool), active[na:]])
                elif mv == "hanoar_haoved":
                    status = np.where(
                        active,
                        "פעיל",
                        pick(["לא פעיל", "עזב", "הקפאה"], rng.integers(0, 3, len(pid))).astype(object),
                    ).astype(S)
                    cols = {
                        "מספר תעודת זהות": _ids.as_text9(ids),
                        "שם מלא": np.strings.add(np.strings.add(fn, " "), ln),
                        "שנת לידה": year_of(bd).astype(S),
                        "קן": np.strings.add("קן ", pick(c.hoods, br_hood)),
                        "סטטוס": status,
                    }
                elif mv == "ezra":
                    cols = {
                        "תז": ids.astype(S),
                        "שם": np.strings.add(np.strings.add(fn, " "), ln),
                        "גיל": (y - year_of(bd)).astype(S),
                        "סניף": pick(c.hoods, br_hood),
                    }
                else:  # krembo
                    cols = {
                        "ID": ids.astype(S),
                        "Name": np.strings.add(np.strings.add(fn, " "), ln),
                        "DOB": fmt_date(bd, "mdy"),
                        "Branch": pick(c.hoods, br_hood),
                        "Active": np.where(active, "1", "0").astype(S),
                    }
                df = _frame(cols)
                df["_pid"] = pid
                df["_active"] = active
                if mv == "tzofim":
                    order = (
                        np.concatenate(
                            [
                                np.arange(len(df)),
                                rng.choice(len(df), rng.binomial(len(df), 0.035), replace=False),
                            ]
                        )
                        if len(df)
                        else np.arange(0)
                    )
                    ins = np.sort(rng.integers(0, len(df) + 1, len(order) - len(df)))
                    order = np.insert(order[: len(df)], ins, order[len(df) :])
                    df = df.iloc[order].reset_index(drop=True)
                df["_repeat"] = df.drop(columns=["_pid", "_active"]).duplicated()
                out[(mv, y)] = df
        return out

    # early childhood -------------------------------------------------------------------
    def early_childhood(self) -> dict[int, pd.DataFrame]:
        """One file per activity year: enrolments of children aged 1-5 in the year (Y - birth
        year) in the town's daycares and kindergartens, registered from mid-August of Y - 1."""
        P, c, rng = self.P, self.city, self.r_ec
        n = self.pop.n
        by = year_of(P["bday"])
        start = self.pop.start()
        hood = P["hood"].astype(np.int64)
        nh = len(c.hoods)
        years = list(self.years)
        # frameworks: one of each kind in most neighbourhoods; codes 71xxx..74xxx as the city's system
        has = rng.random((4, nh)) < np.array([0.6, 0.8, 0.8, 0.8])[:, None]
        has[:, 0] = True
        fw_hood = np.where(has, np.arange(nh)[None, :], 0)
        codes = np.array([[71000 + 1000 * k + 1 + h for h in range(nh)] for k in range(4)])
        prefix = np.array(["מעון", "גן", "גן", "גן"], dtype=object)
        names = np.array([[f"{prefix[k]} {c.hoods[h]}" for h in range(nh)] for k in range(4)], dtype=object)
        # enrolment propensity: daycare grows over the years, kindergartens near universal
        base_day = rng.uniform(0.3, 0.45)
        growth = rng.uniform(1.0, 1.08)
        hood_f = rng.lognormal(0, 0.2, nh)
        eth_f = rng.uniform(0.7, 1.0)
        out: dict[int, pd.DataFrame] = {}
        for i, y in enumerate(years):
            a0, a1 = day(y - 1, 8, 15), day(y, 5, 31)
            age = y - by
            here = (start <= a1) & (P["dep"] > a0)
            p = np.zeros(n)
            p_day = base_day * growth**i * hood_f[hood] * np.where(P["ethiopian"], eth_f, 1.0)
            p = np.where((age == 1) | (age == 2), np.clip(p_day, 0, 0.95), p)
            p = np.where(age == 3, rng.uniform(0.8, 0.9) + 0.015 * i, p)
            p = np.where(age == 4, rng.uniform(0.85, 0.92) + 0.01 * i, p)
            p = np.where(age == 5, 0.96, p)
            kid = np.flatnonzero(here & (rng.random(n) < p))
            kage = age[kid]
            kind = np.select([kage <= 2, kage == 3, kage == 4], [0, 1, 2], 3)
            kind[(kage == 3) & (rng.random(len(kid)) < 0.06)] = 0  # a few 3-year-olds stay in daycare
            # registration: most before the year starts, some later; never before arriving
            late = rng.random(len(kid)) < 0.15
            reg = np.where(
                late,
                rng.integers(day(y - 1, 10, 1), a1 + 1, len(kid)),
                rng.integers(a0, day(y - 1, 9, 30), len(kid)),
            )
            reg = np.maximum(reg, start[kid] + rng.integers(0, 30, len(kid)))
            keep = (reg <= a1) & (reg < P["dep"][kid])
            kid, kind, reg = kid[keep], kind[keep], reg[keep]
            # leaving: with the family, or for a private framework; some on 1 January itself
            left = np.full(len(kid), NO_DATE, dtype=np.int64)
            moved = P["dep"][kid] <= day(y, 7, 31)
            left[moved] = np.maximum(
                P["dep"][kid][moved] - rng.integers(0, 20, int(moved.sum())), reg[moved] + 1
            )
            quit_ = ~moved & (rng.random(len(kid)) < 0.05)
            left[quit_] = rng.integers(reg[quit_] + 1, day(y, 7, 31) + 1)
            on_jan1 = ~moved & ~quit_ & (reg < day(y)) & (rng.random(len(kid)) < 0.01)
            left[on_jan1] = day(y)
            fw_h = fw_hood[kind, hood[kid]]
            # a child who moved between two frameworks of the same kind: two rows (some on 1 January)
            switch = np.flatnonzero((left == NO_DATE) & (rng.random(len(kid)) < 0.035))
            when = np.where(
                (rng.random(len(switch)) < 0.2) & (reg[switch] < day(y)),
                day(y),
                np.maximum(reg[switch] + 1, rng.integers(day(y - 1, 11, 1), day(y, 5, 1) + 1, len(switch))),
            )
            left[switch] = when
            other_h = (fw_h[switch] + rng.integers(1, max(nh, 2), len(switch))) % nh
            row_kid = np.concatenate([kid, kid[switch]])
            row_kind = np.concatenate([kind, kind[switch]])
            row_h = np.concatenate([fw_h, fw_hood[kind[switch], other_h]])
            row_reg = np.concatenate([reg, when])
            row_left = np.concatenate([left, np.full(len(switch), NO_DATE, dtype=np.int64)])
            ids = self.ids[row_kid]
            bday = P["bday"][row_kid]
            fn, ln = P["first_name"][row_kid].astype(S), P["last_name"][row_kid].astype(S)
            # children of other towns in the city's frameworks
            k_out = max(1, round(0.012 * len(row_kid)))
            o_ids = self.take_outsiders(k_out)
            o_age = rng.integers(1, 6, k_out)
            o_kind = np.select([o_age <= 2, o_age == 3, o_age == 4], [0, 1, 2], 3)
            o_bday = (y - o_age - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(
                np.int64
            ) + rng.integers(0, 365, k_out)
            o_fn = pick(N.MALE, rng.integers(0, len(N.MALE), k_out))
            o_ln = pick(N.SURNAMES[N.ISRAEL], rng.integers(0, len(N.SURNAMES[N.ISRAEL]), k_out))
            ids = np.concatenate([ids, o_ids])
            bday = np.concatenate([bday, o_bday])
            fn, ln = np.concatenate([fn, o_fn]), np.concatenate([ln, o_ln])
            row_kind = np.concatenate([row_kind, o_kind])
            row_h = np.concatenate([row_h, rng.integers(0, nh, k_out)])
            row_reg = np.concatenate([row_reg, rng.integers(a0, day(y - 1, 9, 30), k_out)])
            row_left = np.concatenate([row_left, np.full(k_out, NO_DATE, dtype=np.int64)])
            # the registration system mistypes a few IDs
            bad = rng.random(len(ids)) < 0.004
            ids = ids.copy()
            ids[bad] = _ids.typo(rng, ids[bad])
            cols = {
                "מספר זהות ילד": _ids.as_text9(ids),
                "שם פרטי": fn,
                "שם משפחה": ln,
                "תאריך לידה": fmt_date(bday, "dmy"),
                "סוג מסגרת": FRAMEWORKS[row_kind].astype(S),
                "סמל מסגרת": codes[row_kind, row_h].astype(S),
                "שם מסגרת": names[row_kind, row_h].astype(S),
                "תאריך רישום": fmt_date(row_reg, "dmy"),
                "תאריך עזיבה": fmt_date(row_left, "dmy"),
            }
            order = _dups(rng, len(ids), 0.006)
            out[y] = _frame(cols).iloc[order].reset_index(drop=True)
        return out

    # welfare ---------------------------------------------------------------------------
    def welfare(self) -> tuple[pd.DataFrame, str]:
        P, H, c, rng = self.P, self.H, self.city, self.r_wel
        nh = len(H["origin"])
        years = list(self.years)
        start = self.pop.start()
        # when each household was in town
        h_start = H["arr"]
        h_end = np.full(nh, NO_DATE, dtype=np.int64)
        np.maximum.at(h_end, P["hh"], P["dep"])
        size0 = np.bincount(P["hh"], minlength=nh)
        head = H["head"]
        head_age = years[0] - year_of(P["bday"][head])
        eth = np.zeros(nh, dtype=bool)
        np.logical_or.at(eth, P["hh"], P["ethiopian"])
        z = (
            0.9 * rng.normal(0, 1, nh)
            + 0.5 * eth
            + 0.6 * (H["htype"] == SINGLE_PARENT)
            + 0.4 * ((H["htype"] == SINGLE) & (head_age >= 70))
            - 0.5 * c.hood_ses[H["hood"]]
            + 0.3 * (size0 >= 6)
        )
        target = np.clip(rng.uniform(0.22, 0.40) + 0.02 * (5 - c.cluster), 0.12, 0.5)
        # yearly hazard of opening a file: a household is known in a year when a file was
        # open on 1 January (share ~ lam D / (1 + lam D)) or opens during it; solve the
        # town's level so that the mean of lam (D + 1) / (1 + lam D) hits its target
        D = 2.6  # mean file duration in years
        lo, hi = -10.0, 3.0
        for _ in range(40):
            mid = (lo + hi) / 2
            lam = np.exp(mid + z)
            if np.mean(lam * (D + 1) / (1 + lam * D)) < target:
                lo = mid
            else:
                hi = mid
        lam = np.exp((lo + hi) / 2 + z)

        snap = dt.date(self.pop.last_year + 1, 1, int(rng.integers(3, 21)))
        snap_day = day(snap.year, snap.month, snap.day)
        open_until = np.full(nh, NO_DATE, dtype=np.int64)
        f_hh, f_open, f_close = [], [], []
        for y in range(self.pop.first_year - 3, self.pop.last_year + 1):
            y0, y1 = day(y), day(y + 1)
            lo_d = np.maximum(y0, np.where(h_start == NO_DATE, y0, h_start))
            hi_d = np.minimum(y1, h_end)
            can = (lo_d < hi_d) & (open_until < y0)
            if y < self.pop.first_year:  # before the register: only families already in town
                can &= h_start == NO_DATE
            opens = can & (rng.random(nh) < 1 - np.exp(-lam))
            idx = np.flatnonzero(opens)
            od = lo_d[idx] + (rng.random(len(idx)) * (hi_d[idx] - lo_d[idx])).astype(np.int64)
            dur = (150 + rng.gamma(2.0, 400.0, len(idx))).astype(np.int64)
            cd = od + dur
            left = h_end[idx] < NEVER
            cd = np.where(left, np.minimum(cd, h_end[idx] + rng.integers(0, 120, len(idx))), cd)
            cd = np.maximum(cd, od + 30)
            open_until[idx] = cd
            f_hh.append(idx)
            f_open.append(od)
            f_close.append(cd)
        f_hh = np.concatenate(f_hh)
        f_open = np.concatenate(f_open)
        f_close = np.concatenate(f_close)
        # the person who opened the file: the head, or the partner if the head had gone
        partner = np.full(nh, -1, dtype=np.int64)
        pm = P["role"] == PARTNER
        partner[P["hh"][pm]] = np.flatnonzero(pm)
        hd = head[f_hh]
        gone = ~((start[hd] <= f_open) & (P["dep"][hd] > f_open)) & (partner[f_hh] >= 0)
        opener = np.where(gone, partner[f_hh], hd)
        # persons in the household on the opening day
        order = np.argsort(P["hh"], kind="stable")
        offs = np.concatenate([[0], np.cumsum(size0)])
        cnt = size0[f_hh]
        rep = np.repeat(np.arange(len(f_hh)), cnt)
        within = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        person = order[offs[f_hh][rep] + within]
        here = (start[person] <= f_open[rep]) & (P["dep"][person] > f_open[rep])
        persons = np.maximum(np.bincount(rep, weights=here, minlength=len(f_hh)).astype(np.int64), 1)
        reason = self._reasons(f_hh, f_open, head_age)

        # families who left before the register starts
        n_ghost = int(rng.binomial(max(len(f_hh), 1), 0.03))
        g_ids = self.take_outsiders(n_ghost)
        g_open = day(self.pop.first_year - 3) + rng.integers(0, 3 * 365, n_ghost)
        g_close = np.minimum(g_open + 60 + rng.integers(0, 700, n_ghost), day(self.pop.first_year, 3, 1))

        ids = np.concatenate([self.ids[opener], g_ids])
        nf = len(ids)
        bad = rng.random(nf) < 0.002
        ids_w = ids.copy()
        ids_w[bad] = _ids.typo(rng, ids_w[bad])
        opened = np.concatenate([f_open, g_open])
        closed = np.concatenate([f_close, g_close])
        closed_w = np.where(closed > snap_day, NEVER, closed)
        hoods = np.concatenate([H["hood"][f_hh], rng.integers(0, len(c.hoods), n_ghost)])
        reasons = np.concatenate([reason, rng.integers(0, len(N.REFERRAL_REASONS), n_ghost)])
        persons = np.concatenate([persons, rng.integers(1, 8, n_ghost)])
        hh_all = np.concatenate([f_hh, np.full(n_ghost, -1)])
        order = np.lexsort((rng.random(nf), opened))
        num = np.strings.add(f"T-{c.code}-", np.strings.zfill(np.arange(nf).astype(S), 6))
        cols = {
            "מספר תיק": num,
            "ת.ז. ראש משפחה": _ids.as_text9(ids_w[order]),
            "מספר נפשות": persons[order].astype(S),
            "שכונה": pick(c.hoods, hoods[order]),
            "תאריך פתיחה": fmt_date(opened[order], "dmy"),
            "תאריך סגירה": fmt_date(closed_w[order], "dmy"),
            "סיבת פנייה": pick(N.REFERRAL_REASONS, reasons[order]),
        }
        df = _frame(cols)
        df["_hh"] = hh_all[order]
        df["_valid"] = ~bad[order]
        df["_open"] = opened[order]
        df["_close"] = closed_w[order]
        return df, snap.strftime("%Y%m%d")

    def _reasons(self, f_hh: np.ndarray, f_open: np.ndarray, head_age: np.ndarray) -> np.ndarray:
        H, rng = self.H, self.r_wel
        R = {r: i for i, r in enumerate(N.REFERRAL_REASONS)}
        general = np.zeros(len(R))
        for r, w in (
            ("עוני ומצוקה כלכלית", 8),
            ("אבטלה", 3),
            ("חובות", 3),
            ("אלימות במשפחה", 4),
            ("משבר משפחתי", 4),
            ("גירושין", 2),
            ("מוגבלות", 5),
            ("נכות", 2),
            ("בריאות הנפש", 3),
            ("התמכרויות", 1.5),
            ("אחר", 1.5),
        ):
            general[R[r]] = w
        old, parent, kids, olim = general * 0.3, general.copy(), general.copy(), general.copy()
        old[R["אזרחים ותיקים"]], old[R["זקנה"]] = 10, 3
        parent[R["הורות יחידנית"]] = 12
        kids[R["ילדים ונוער בסיכון"]], kids[R["נוער בסיכון"]] = 7, 2
        olim[R["קליטת עלייה"]] = 10
        y_open = year_of(f_open)
        ht = H["htype"][f_hh]
        age = head_age[f_hh] + (y_open - self.years[0])
        group = np.select(
            [age >= 68, ht == SINGLE_PARENT, (H["imm"][f_hh] > 0) & (y_open - H["imm"][f_hh] <= 5), ht == 2],
            [0, 1, 3, 2],
            4,
        )
        table = np.stack([old, parent, kids, olim, general])
        c = np.cumsum(table, axis=1)
        c /= c[:, -1:]
        return np.minimum((rng.random(len(f_hh))[:, None] > c[group]).sum(axis=1), len(R) - 1)

    # surveys ---------------------------------------------------------------------------
    def surveys(self) -> dict[int, pd.DataFrame]:
        P, c, rng = self.P, self.city, self.r_srv
        years = list(self.years)
        by = year_of(P["bday"])
        base = {
            "q_trust": rng.normal(-0.3, 0.3),
            "q_future": rng.normal(-0.2, 0.3),
            "q_stay": rng.normal(0.35, 0.3),
        }
        trend = {q: rng.uniform(0.0, 0.12) for q in base}
        eth_eff = {q: rng.normal(-0.1, 0.2) for q in base}
        self_eth = P["ethiopian"] | (P["origin"] == N.ETHIOPIA)
        out = {}
        for y in years:
            res = self.pop.resident_on(day(y, 3, 15)) & (y - by >= 18)
            idx = np.flatnonzero(res)
            age = y - by[idx]
            ag = np.digitize(age, [30, 45, 65])
            w_resp = np.array([0.9, 1.0, 1.05, 0.8])[ag] * np.where(self_eth[idx], 0.8, 1.0)
            # the vendor's sample is about 600 whatever the town's size (at most half its adults)
            n = min(int(rng.integers(480, 721)), len(idx) // 2)
            pick_i = rng.choice(len(idx), n, replace=False, p=w_resp / w_resp.sum())
            who = idx[pick_i]
            ag = ag[pick_i]
            sex = P["sex"][who]
            cell = ag * 2 + sex
            pop_share = np.bincount(
                np.digitize(y - by[idx], [30, 45, 65]) * 2 + P["sex"][idx], minlength=8
            ) / len(idx)
            smp_share = np.bincount(cell, minlength=8) / n
            wgt = pop_share[cell] / np.maximum(smp_share[cell], 1e-9) * rng.lognormal(0, 0.2, n)
            wgt = np.round(np.clip(wgt / wgt.mean(), 0.25, 4.0), 4)
            partial = rng.random(n) < 0.065
            att = rng.normal(0, 1, n)
            ans = {}
            for q in base:
                lat = (
                    base[q]
                    + trend[q] * (y - years[0])
                    + 0.2 * c.hood_ses[P["hood"][who]]
                    + eth_eff[q] * self_eth[who]
                    + 0.6 * att
                    + 0.8 * rng.normal(0, 1, n)
                )
                a = (1 + np.digitize(lat, [-1.3, -0.45, 0.35, 1.2])).astype(object)
                a[rng.random(n) < 0.05] = -99
                skip = {"q_trust": 0.03, "q_future": 0.005, "q_stay": 0.005}[q]
                a[rng.random(n) < skip] = ""
                if q == "q_stay":
                    a[partial & (rng.random(n) < 0.4)] = ""
                if q == "q_future":
                    a[partial & (rng.random(n) < 0.2)] = ""
                ans[q] = a
            t0 = day(y, 3, 1) * 86400 + rng.integers(0, 40 * 86400, n)
            order = np.argsort(t0, kind="stable")
            t1 = t0 + 240 + rng.gamma(3.0, 150.0, n).astype(np.int64)
            iso_started = _ts_iso(t0)
            submitted = np.where(rng.random(n) < 2 / 3, _ts_iso(t1), _ts_12h(t1))
            lang = np.full(n, "Hebrew", dtype=object)
            bc = P["bc"][who]
            lang[((bc == N.RUSSIA) | (bc == N.UKRAINE)) & (rng.random(n) < 0.4)] = "Russian"
            lang[(bc == N.ETHIOPIA) & (age[pick_i] >= 45) & (rng.random(n) < 0.35)] = "Amharic"
            lang[(bc == N.USA) & (rng.random(n) < 0.5)] = "English"
            cols = {
                "Response ID": np.arange(1, n + 1),
                "Time Started": iso_started[order].astype(object),
                "Date Submitted": submitted[order].astype(object),
                "Status": np.where(partial, "Partial", "Complete")[order],
                "Language": lang[order],
                "weight": wgt[order],
                "שכונה": np.asarray(c.hoods, dtype=object)[P["hood"][who]][order],
                "קבוצת גיל": np.array(["18-29", "30-44", "45-64", "65+"], dtype=object)[ag][order],
                "מין": np.where(sex == FEMALE, "אישה", "גבר")[order],
                "מוצא": np.where(self_eth[who], "אתיופיה", "אחר")[order],
                "q_trust": ans["q_trust"][order],
                "q_future": ans["q_future"][order],
                "q_stay": ans["q_stay"][order],
            }
            out[y] = pd.DataFrame(cols)
        return out


def _ts_parts(sec: np.ndarray):
    sec = np.asarray(sec, dtype=np.int64)
    d = sec // 86400
    rest = sec - d * 86400
    h, mi, s = rest // 3600, (rest % 3600) // 60, rest % 60
    z = lambda a: np.strings.zfill(a.astype(S), 2)  # noqa: E731
    return d, h, z(mi), z(s), z


def _ts_iso(sec: np.ndarray) -> np.ndarray:
    d, h, mi, s, z = _ts_parts(sec)
    add = np.strings.add
    return add(add(add(add(add(add(fmt_date(d, "ymd"), " "), z(h)), ":"), mi), ":"), s)


def _ts_12h(sec: np.ndarray) -> np.ndarray:
    """DD/MM/YYYY hh:mm:ss am|pm, as the survey vendor writes it (12 am is midnight)."""
    d, h, mi, s, z = _ts_parts(sec)
    h12 = np.where(h % 12 == 0, 12, h % 12)
    add = np.strings.add
    out = add(add(add(add(add(add(fmt_date(d, "dmy"), " "), z(h12)), ":"), mi), ":"), s)
    return add(out, np.where(h < 12, " am", " pm").astype(S))


# -- writing ----------------------------------------------------------------------------
def _visible(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if not str(c).startswith("_")]]


def _csv(df: pd.DataFrame, path: Path, encoding: str) -> int:
    data = _visible(df).to_csv(index=False, lineterminator="\n")
    b = data.encode(encoding)
    path.write_bytes(b)
    return len(b)


def _early_childhood_csv(df: pd.DataFrame, path: Path) -> int:
    """As the registration system exports it: UTF-8 with a BOM, semicolons, CRLF, and a
    closing total line after the last child."""
    v = _visible(df)
    data = v.to_csv(index=False, sep=";", lineterminator="\r\n")
    data += 'סה"כ ילדים;' + str(len(v)) + ";" * (len(v.columns) - 2) + "\r\n"
    b = data.encode("utf-8-sig")
    path.write_bytes(b)
    return len(b)


def write_records(rec: Records, out: Path, rng: np.random.Generator) -> tuple[int, int]:
    """Write one town's files under ``out/<source>/``; returns (files, bytes)."""
    code = rec.code
    files = size = 0
    for sub in ("residents", "schools", "youth", "welfare", "surveys", "early_childhood"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    size += _csv(rec.residents, out / "residents" / f"residents_{code}_{rec.residents_date}.csv", "cp1255")
    size += _csv(rec.welfare, out / "welfare" / f"welfare_{code}_{rec.welfare_date}.csv", "cp1255")
    files += 2
    for y, df in rec.schools.items():
        v = _visible(df)
        cols = [
            Column("n", v["סמל מוסד"].to_numpy().astype(S)),
            Column("s", v["שם מוסד"].to_numpy().astype(S)),
            Column("n", v["מספר זהות תלמיד"].to_numpy().astype(S)),
            Column("s", v["שכבה"].to_numpy().astype(S)),
            Column("s", v["מין"].to_numpy().astype(S)),
            Column("s", v["זכאות לבגרות"].to_numpy().astype(S)),
            Column("s", v["עמידה בדרישות סף של האוניברסיטאות"].to_numpy().astype(S)),
            Column("s", v["יחידות לימוד מתמטיקה"].to_numpy().astype(S)),  # text, as exported
            Column("s", v["נשר"].to_numpy().astype(S)),
        ]
        when = dt.datetime(y, 8, 1, 9, 0, 0) + dt.timedelta(minutes=int(rng.integers(0, 60 * 24 * 45)))
        title = f"משרד החינוך - הישגי תלמידים ברשות {code} - שנת הלימודים {hebrew_year(y)}"
        size += write_table(
            out / "schools" / f"achievement_{code}_{y}.xlsx",
            cols,
            first_row=4,
            before=[(1, [title]), (3, SCHOOLS_HEADER)],
            after=[(2, [f'סה"כ רשומות: {len(v):,}'])],
            when=when,
        )
        files += 1
    for (mv, y), df in rec.youth.items():
        v = _visible(df)
        path = out / "youth" / f"{mv}_{code}_{y}.{YOUTH_EXT[mv]}"
        if YOUTH_EXT[mv] == "csv":
            size += _csv(v, path, CSV_ENCODING[mv])
        else:
            kinds = {"ID": "n", "Active": "b"}
            cols = [Column(kinds.get(col, "s"), v[col].to_numpy().astype(S)) for col in v.columns]
            when = dt.datetime(y - 1, 10, 1, 9, 0, 0) + dt.timedelta(
                minutes=int(rng.integers(0, 60 * 24 * 200))
            )
            size += write_table(path, cols, first_row=2, before=[(1, list(v.columns))], when=when)
        files += 1
    for y, df in rec.surveys.items():
        size += _csv(df, out / "surveys" / f"survey_{code}_{y}.csv", "utf-8")
        files += 1
    for y, df in rec.early_childhood.items():
        size += _early_childhood_csv(df, out / "early_childhood" / f"early_childhood_{code}_{y}.csv")
        files += 1
    return files, size
