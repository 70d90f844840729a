"""People, households and their moves: one synthetic Israeli town, vectorised.

The town starts on 1 January of the year before the first reporting year (the register
extract covers "everyone registered since" then) with ``residents`` people in households
built from a head's age, a household type (single, couple, couple with children, single
parent), children spaced from the mother's age, and a family origin (veteran Israeli,
Ethiopian, former-USSR, North-African, ...) that decides the countries of birth of the
person and of the father. A pool of such households is raked to the real town's CBS age
profile before the town is drawn from it.

Every calendar year then has, in this order and each as one vectorised step:
deaths (Gompertz hazard, scaled to the town's crude death rate), whole-household
departures (younger heads move more), young adults leaving the parental home, births
(age-specific fertility scaled to the town's birth rate) and arriving households (younger
than the stock, with a taste for the town's newest neighbourhood), with rates taken from
the real town's 2021 CBS migration figures.

A death is exported by the register as a departure (the person stops being registered),
so it counts among the "departures during Y" of ``dem_net_migration``.

Dates are integer days since 1970-01-01. ``NO_DATE`` marks an empty arrival (there
before the register starts, or born here) and ``NEVER`` an empty departure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _names as N
from ._localities import ALL_AUTHORITY_CODES, LOCALITIES, SAMPLE_LOCALITY

NO_DATE = -(10**9)
NEVER = 10**9

HEAD, PARTNER, CHILD = 0, 1, 2
MALE, FEMALE = 0, 1
DEP_NONE, DEP_DEATH, DEP_HOUSEHOLD, DEP_SINGLE = 0, 1, 2, 3

# Household types.
SINGLE, COUPLE, FAMILY, SINGLE_PARENT = 0, 1, 2, 3
_HEAD_BINS = np.array([20, 30, 45, 60, 65, 75, 95], dtype=float)
# P(type | head age bin): single, couple, couple with children, single parent.
_TYPE_P = np.array(
    [
        [0.30, 0.25, 0.38, 0.07],
        [0.10, 0.07, 0.72, 0.11],
        [0.12, 0.15, 0.62, 0.11],
        [0.22, 0.45, 0.28, 0.05],
        [0.30, 0.60, 0.08, 0.02],
        [0.52, 0.45, 0.02, 0.01],
    ]
)
# Adults per household headed in each bin (turns the population's age profile into heads).
_ADULTS_PER_HEAD = np.array([2.6, 1.85, 1.8, 1.7, 1.6, 1.35])
# Age bins of the CBS profile: 0-4, 5-9, 10-14, 15-19, 20-29, 30-44, 45-59, 60-64, 65+.
_AGE_BINS = np.array([5, 10, 15, 20, 30, 45, 60, 65])
_ARRIVAL_TILT = np.array([1.8, 1.4, 0.7, 0.5, 0.4, 0.3])
# Departure hazard of a household by its head's age bin (relative).
_MOVE_W = np.array([2.0, 1.3, 0.7, 0.6, 0.4, 0.4])


def day(y: int, m: int = 1, d: int = 1) -> int:
    return int(np.datetime64(f"{y:04d}-{m:02d}-{d:02d}", "D").astype(np.int64))


def year_of(days: np.ndarray) -> np.ndarray:
    return (
        np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
        + 1970
    )


@dataclass
class City:
    """The parameters of one synthetic town (all drawn from the seed and its index)."""

    index: int
    code: int
    name: str
    cluster: int
    tfr: float
    in_rate: float
    out_rate: float
    death_rate: float
    birth_rate: float
    dropout_pct: float
    bagrut_pct: float
    univ_pct: float
    age_shares: np.ndarray
    origin_p: np.ndarray
    hoods: list[str]
    hood_size: np.ndarray
    hood_eth: np.ndarray
    hood_ses: np.ndarray
    hood_attract: np.ndarray
    extras: dict = field(default_factory=dict)


def synthetic_codes() -> list[int]:
    """Deterministic 4-digit codes for cities beyond the real table (never a real authority's)."""
    return [c for c in range(5003, 10_000, 17) if c not in ALL_AUTHORITY_CODES and c != SAMPLE_LOCALITY]


def make_city(index: int, rng: np.random.Generator) -> City:
    row = LOCALITIES[index % len(LOCALITIES)]
    code, name, _pop, cluster, tfr, in_r, out_r, death_r, birth_r, drop, bagrut, univ, olim, ages = row
    if index >= len(LOCALITIES):
        # a synthetic town: borrow a real one's profile and perturb it
        code = synthetic_codes()[index - len(LOCALITIES)]
        name = f"יישוב סינתטי {code}"
        jitter = lambda x, s: float(x * np.exp(rng.normal(0, s)))  # noqa: E731
        tfr, in_r, out_r = jitter(tfr, 0.1), jitter(in_r, 0.2), jitter(out_r, 0.2)
        birth_r, drop = jitter(birth_r, 0.1), jitter(drop, 0.2)
        bagrut = float(np.clip(bagrut + rng.normal(0, 5), 35, 95))
        univ = float(min(univ + rng.normal(0, 4), bagrut - 3))
    # a few real towns grow by a quarter a year (new towns): keep the rates ordinary
    in_r, out_r = float(np.clip(in_r, 0.01, 0.08)), float(np.clip(out_r, 0.01, 0.07))
    birth_r = float(np.clip(birth_r, 0.008, 0.035))
    ages = np.array(ages, dtype=float)
    ages /= ages.sum()

    # family origins: veteran Israeli, Ethiopia, Russia, Ukraine, Morocco, France,
    # Argentina, Iraq, Yemen, Romania, USA (indexes of _names.COUNTRIES)
    eth = float(np.clip(rng.gamma(2.0, 0.045) + (0.03 if cluster <= 5 else 0.0), 0.01, 0.22))
    fsu = olim / 100 * 0.55
    p = np.array(
        [
            0.0,
            eth,
            fsu * 0.55,
            fsu * 0.45,
            rng.uniform(0.08, 0.25) * (1.0 if cluster <= 5 else 0.5),
            rng.uniform(0.005, 0.03),
            rng.uniform(0.003, 0.015),
            rng.uniform(0.02, 0.06),
            rng.uniform(0.01, 0.05),
            rng.uniform(0.02, 0.06),
            rng.uniform(0.002, 0.01),
        ]
    )
    p[0] = max(0.05, 1 - p.sum())
    p /= p.sum()

    nh = int(rng.integers(6, 11))
    hoods = [str(h) for h in rng.choice(np.array(N.NEIGHBORHOODS, dtype=object), nh, replace=False)]
    size = rng.dirichlet(np.full(nh, 6.0))
    eth_conc = rng.lognormal(0, 1.0, nh)
    ses = rng.normal(0, 0.5, nh)
    attract = rng.lognormal(0, 0.5, nh)
    attract[int(rng.integers(nh))] *= 3.0  # the town's newest neighbourhood
    return City(
        index,
        int(code),
        str(name),
        int(cluster),
        float(tfr),
        float(in_r),
        float(out_r),
        float(death_r),
        float(birth_r),
        float(drop),
        float(bagrut),
        float(univ),
        ages,
        p,
        hoods,
        size,
        eth_conc,
        ses,
        attract,
    )


def _pick(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """n draws from one categorical distribution."""
    c = np.cumsum(probs / probs.sum())
    return np.minimum(np.searchsorted(c, rng.random(n), side="right"), len(probs) - 1)


def _pick_rows(rng: np.random.Generator, prob_rows: np.ndarray) -> np.ndarray:
    """One draw per row of a matrix of (unnormalised) probabilities."""
    c = np.cumsum(prob_rows, axis=1)
    c /= c[:, -1:]
    u = rng.random(len(prob_rows))[:, None]
    return np.minimum((u > c).sum(axis=1), prob_rows.shape[1] - 1)


def _imm_year(rng: np.random.Generator, origin: np.ndarray, ref_year: int) -> np.ndarray:
    n = len(origin)
    lo = np.zeros(n)
    hi = np.zeros(n)
    table = {
        N.ETHIOPIA: (1984, 1992),
        N.RUSSIA: (1989, 2002),
        N.UKRAINE: (1989, 2002),
        N.MOROCCO: (1948, 1967),
        N.FRANCE: (2000, 2017),
        N.ARGENTINA: (2000, 2006),
        N.IRAQ: (1949, 1953),
        N.YEMEN: (1949, 1952),
        N.ROMANIA: (1948, 1966),
        N.USA: (1995, 2015),
    }
    for o, (a, b) in table.items():
        m = origin == o
        lo[m], hi[m] = a, b
    # the second Ethiopian wave (Falash Mura), 1999-2013
    second = (origin == N.ETHIOPIA) & (rng.random(n) < 0.4)
    lo[second], hi[second] = 1999, 2014
    y = np.floor(lo + rng.random(n) * (hi - lo)).astype(np.int64)
    return np.where(origin == N.ISRAEL, 0, np.minimum(y, ref_year))


def make_households(rng: np.random.Generator, city: City, n: int, ref_year: int, arriving: bool):
    """``n`` households; immigrant families arrived by ``ref_year`` at the latest.

    Returns (households, persons): dicts of arrays; persons carry ``hh`` as an index
    into the returned households and ``age`` in fractional years at the reference day
    the caller gives to ``Population._add`` (the register's start, or the arrival day).
    """
    a = city.age_shares
    adult_share = np.array([a[4], a[5], a[6], a[7], a[8] * 0.55, a[8] * 0.45])
    w = adult_share / _ADULTS_PER_HEAD * (_ARRIVAL_TILT if arriving else 1.0)
    b = _pick(rng, w, n)
    lo, hi = _HEAD_BINS[b], _HEAD_BINS[b + 1]
    u = rng.random(n)
    u = np.where(b == 5, 1 - np.sqrt(1 - u), u)  # fewer of the very old
    head_age = lo + u * (hi - lo)
    htype = _pick_rows(rng, _TYPE_P[b])

    origin = _pick(rng, city.origin_p, n)
    imm = _imm_year(rng, origin, ref_year)

    r = rng.random(n)
    head_female = np.select(
        [htype == SINGLE, htype == SINGLE_PARENT],
        [r < np.where(head_age >= 65, 0.68, 0.5), r < 0.85],
        default=r < 0.25,
    )
    has_partner = (htype == COUPLE) | (htype == FAMILY)
    partner_age = np.clip(head_age + np.where(head_female, 1.5, -1.5) + rng.normal(0, 3.0, n), 18, 100)

    mother_age = np.where(head_female, head_age, np.where(has_partner, partner_age, head_age - 2))
    lam = np.clip((city.tfr - 1.0) * 0.85, 0.4, 5.0)
    nkids = np.where(
        (htype == FAMILY) | (htype == SINGLE_PARENT),
        1 + np.minimum(rng.poisson(np.where(htype == FAMILY, lam, lam * 0.7)), 8),
        0,
    )
    K = 9
    first = 19 + rng.gamma(2.0, 2.3, n)
    gaps = 1.1 + rng.gamma(2.0, 0.75, (n, K))
    gaps[:, 0] = 0
    kid_age = (mother_age - first)[:, None] - np.cumsum(gaps, axis=1)
    keep_p = np.select([kid_age < 18, kid_age < 22, kid_age < 26, kid_age < 33], [1.0, 0.85, 0.5, 0.2], 0.0)
    keep = (np.arange(K)[None, :] < nkids[:, None]) & (kid_age > 0.05) & (rng.random((n, K)) < keep_p)

    hh_idx = np.arange(n)
    kid_hh = np.broadcast_to(hh_idx[:, None], (n, K))[keep]
    p_hh = np.concatenate([hh_idx, hh_idx[has_partner], kid_hh])
    p_role = np.concatenate(
        [np.full(n, HEAD), np.full(int(has_partner.sum()), PARTNER), np.full(len(kid_hh), CHILD)]
    )
    p_age = np.concatenate([head_age, partner_age[has_partner], kid_age[keep]])
    p_sex = np.concatenate(
        [
            head_female.astype(np.int8),
            (~head_female[has_partner]).astype(np.int8),
            (rng.random(len(kid_hh)) < 0.488).astype(np.int8),
        ]
    )
    order = np.lexsort((p_role, p_hh))  # household by household, head first
    persons = {
        "hh": p_hh[order],
        "role": p_role[order].astype(np.int8),
        "age": p_age[order],
        "sex": p_sex[order],
    }
    households = {
        "origin": origin.astype(np.int8),
        "imm": imm,
        "htype": htype.astype(np.int8),
        "size": np.bincount(p_hh, minlength=n),
    }
    return households, persons


def _cut_to(households, persons, target: int):
    """Keep the first households whose members add up to about ``target`` people."""
    cum = np.cumsum(households["size"])
    keep_h = int(np.searchsorted(cum, target) + 1)
    keep_h = min(keep_h, len(cum))
    households = {k: v[:keep_h] for k, v in households.items()}
    m = persons["hh"] < keep_h
    persons = {k: v[m] for k, v in persons.items()}
    return households, persons


class Population:
    """Everyone ever registered in one town, with their households and dates."""

    def __init__(self, city: City, rng: np.random.Generator, residents: int, years: range):
        self.city = city
        self.years = years
        self.first_year = years.start - 1  # the register starts a year before the first period
        self.last_year = years.stop - 1
        self.t0 = day(self.first_year)
        self.H: dict[str, np.ndarray] = {}
        self.P: dict[str, np.ndarray] = {}
        self._rng = rng
        hh, pp = self._initial_households(residents)
        self._add(hh, pp, ref_day=self.t0, arrival=None)
        for y in range(self.first_year, self.last_year + 1):
            self._simulate_year(y)
        self._finish()

    # -- construction -------------------------------------------------------------------
    def _new_households(self, target: int, ref_year: int, arriving: bool):
        n = max(8, int(target / 2.2) + 8)
        hh, pp = make_households(self._rng, self.city, n, ref_year, arriving)
        while hh["size"].sum() < target:  # rare: too few people drawn
            n *= 2
            hh, pp = make_households(self._rng, self.city, n, ref_year, arriving)
        return _cut_to(hh, pp, target)

    def _initial_households(self, target: int):
        """The town on day one: a pool of households, reweighted (raked) so that their
        members' ages follow the real town's age profile, then drawn without replacement
        in proportion to the weights until ``target`` people are in."""
        rng = self._rng
        hh, pp = make_households(rng, self.city, 4 * (target // 2) + 40, self.first_year, arriving=False)
        nh = len(hh["origin"])
        b = np.digitize(pp["age"], _AGE_BINS)
        C = np.zeros((nh, len(_AGE_BINS) + 1))
        np.add.at(C, (pp["hh"], b), 1.0)
        goal = self.city.age_shares
        w = np.ones(nh)
        for _ in range(60):
            tot = (w[:, None] * C).sum(axis=0)
            f = goal / np.maximum(tot / tot.sum(), 1e-12)
            w *= (C * f).sum(axis=1) / np.maximum(C.sum(axis=1), 1)
            w /= w.mean()
        # weighted random order (Efraimidis-Spirakis keys), then the first households
        keys = np.log(rng.random(nh)) / np.maximum(w, 1e-12)
        order = np.argsort(-keys, kind="stable")
        cum = np.cumsum(hh["size"][order])
        chosen = np.sort(order[: int(np.searchsorted(cum, target)) + 1])
        remap = np.full(nh, -1)
        remap[chosen] = np.arange(len(chosen))
        keep = remap[pp["hh"]] >= 0
        hh = {k: v[chosen] for k, v in hh.items()}
        pp = {k: v[keep] for k, v in pp.items()}
        pp["hh"] = remap[pp["hh"]]
        return hh, pp

    def _hoods(self, origin: np.ndarray, arriving: bool) -> np.ndarray:
        c = self.city
        base = c.hood_size * (c.hood_attract if arriving else 1.0)
        rows = np.where((origin == N.ETHIOPIA)[:, None], base * c.hood_eth, base)
        return _pick_rows(self._rng, rows)

    def _add(self, hh, pp, ref_day: int, arrival: np.ndarray | None):
        """Append new households (and their members) to the town."""
        rng = self._rng
        nh = len(hh["origin"])
        h0 = len(self.H.get("origin", ()))
        p0 = len(self.P.get("hh", ()))
        hood = self._hoods(hh["origin"], arrival is not None)
        sur = np.zeros(nh, dtype=np.int16)
        for o, pool in N.SURNAMES.items():
            m = hh["origin"] == o
            sur[m] = rng.integers(0, len(pool), int(m.sum()))
        h_arr = np.full(nh, NO_DATE, dtype=np.int64) if arrival is None else arrival
        bday = (ref_day if arrival is None else h_arr[pp["hh"]]) - np.floor(pp["age"] * 365.25).astype(
            np.int64
        )
        bday -= rng.integers(0, 2, len(bday))
        n = len(bday)
        origin = hh["origin"][pp["hh"]]
        imm = hh["imm"][pp["hh"]]
        by = year_of(bday)
        role = pp["role"]
        abroad = (origin != N.ISRAEL) & (by < imm)
        bc = np.where(abroad, origin, N.ISRAEL).astype(np.int8)
        # the father of an adult: an immigrant while the family arrived when he was adult
        fc_adult = np.where(abroad | ((origin != N.ISRAEL) & (by < imm + 32)), origin, N.ISRAEL)
        veteran_old = (origin == N.ISRAEL) & (by < 1975) & (rng.random(n) < 0.5)
        fc_adult = np.where(veteran_old, rng.choice([N.MOROCCO, N.IRAQ, N.ROMANIA, N.YEMEN], n), fc_adult)
        # the father of a child: the household's man, or the mother's community
        is_man = (role != CHILD) & (pp["sex"] == MALE)
        man_bc = np.full(nh, -1, dtype=np.int64)
        man_bc[pp["hh"][is_man]] = bc[is_man]
        woman_abroad = np.zeros(nh, dtype=bool)
        w = (role != CHILD) & (pp["sex"] == FEMALE)
        woman_abroad[pp["hh"][w]] = abroad[w]
        hh_father = np.where(man_bc >= 0, man_bc, np.where(woman_abroad, hh["origin"], N.ISRAEL))
        fc_child = np.where(abroad, origin, hh_father[pp["hh"]])
        fc = np.where(role == CHILD, fc_child, fc_adult).astype(np.int8)
        # a partner from outside the community now and then
        mixed = (role == PARTNER) & (rng.random(n) < 0.12)
        bc = np.where(mixed, N.ISRAEL, bc).astype(np.int8)
        fc = np.where(mixed, N.ISRAEL, fc).astype(np.int8)

        head_local = np.flatnonzero(role == HEAD)
        new_h = {
            "origin": hh["origin"],
            "imm": hh["imm"],
            "htype": hh["htype"],
            "hood": hood.astype(np.int16),
            "surname": sur,
            "arr": h_arr,
            "head": (p0 + head_local).astype(np.int64),
        }
        new_p = {
            "hh": (h0 + pp["hh"]).astype(np.int64),
            "role": role,
            "sex": pp["sex"].astype(np.int8),
            "bday": bday,
            "arr": h_arr[pp["hh"]].astype(np.int64),
            "dep": np.full(n, NEVER, dtype=np.int64),
            "dep_kind": np.zeros(n, dtype=np.int8),
            "born_here": np.zeros(n, dtype=bool),
            "bc": bc,
            "fc": fc,
        }
        self._append(new_h, new_p)

    def _append(self, new_h, new_p):
        for store, new in ((self.H, new_h), (self.P, new_p)):
            for k, v in new.items():
                store[k] = np.concatenate([store[k], v]) if k in store else v

    # -- dynamics -----------------------------------------------------------------------
    def start(self) -> np.ndarray:
        P = self.P
        return np.where(P["arr"] != NO_DATE, P["arr"], np.where(P["born_here"], P["bday"], NO_DATE))

    def resident_on(self, d: int) -> np.ndarray:
        return (self.start() <= d) & (self.P["dep"] > d)

    def _simulate_year(self, y: int):
        rng, c, P, H = self._rng, self.city, self.P, self.H
        y0, y1 = day(y), day(y + 1)
        ndays = y1 - y0
        res = self.resident_on(y0)
        pop = int(res.sum())
        age = y - year_of(P["bday"])

        # deaths
        q = np.where(res, np.exp(-10.6 + 0.093 * np.clip(age, 0, 110)), 0.0)
        scale = np.clip(c.death_rate * pop / max(q.sum(), 1e-9), 0.5, 2.0)
        die = res & (rng.random(len(q)) < np.minimum(q * scale, 0.9))
        when = y0 + rng.integers(0, ndays, len(q))
        self._leave(die, when, DEP_DEATH)

        # whole households move away
        res_now = res & (P["dep"] > y0)
        size = np.bincount(P["hh"][res_now], minlength=len(H["origin"]))
        head_age = y - year_of(P["bday"][H["head"]])
        wbin = np.clip(np.searchsorted(_HEAD_BINS, head_age, side="right") - 1, 0, 5)
        w = np.where(size > 0, _MOVE_W[wbin], 0.0)
        target = 0.75 * c.out_rate * pop
        base = target / max((w * size).sum(), 1e-9)
        go = rng.random(len(w)) < np.minimum(base * w, 0.5)
        go_day = y0 + rng.integers(0, ndays, len(w))
        self._leave(res_now & go[P["hh"]], go_day[P["hh"]], DEP_HOUSEHOLD)

        # young adults leave the parental home (and the town)
        res_now = res & (P["dep"] > y0)
        young = res_now & (P["role"] == CHILD) & (age >= 19) & (age <= 34)
        p_young = min(0.25 * c.out_rate * pop / max(young.sum(), 1), 0.35)
        self._leave(
            young & (rng.random(len(young)) < p_young), y0 + rng.integers(0, ndays, len(young)), DEP_SINGLE
        )

        # births
        mothers = res & (P["role"] != CHILD) & (P["sex"] == FEMALE) & (age >= 16) & (age <= 47)
        g = np.where(mothers, np.exp(-0.5 * ((age - 30) / 6.5) ** 2), 0.0)
        pb = np.minimum(g * c.birth_rate * pop / max(g.sum(), 1e-9), 0.5)
        bdays = y0 + rng.integers(0, ndays, len(g))
        born = (rng.random(len(g)) < pb) & (bdays < P["dep"])
        m_idx = np.flatnonzero(born)
        nb = len(m_idx)
        if nb:
            hh = P["hh"][m_idx]
            man_bc = np.full(len(H["origin"]), -1, dtype=np.int64)
            is_man = (P["role"] != CHILD) & (P["sex"] == MALE) & (P["dep"] > y0)
            man_bc[P["hh"][is_man]] = P["bc"][is_man]
            fc = np.where(
                man_bc[hh] >= 0, man_bc[hh], np.where(P["bc"][m_idx] != N.ISRAEL, P["bc"][m_idx], N.ISRAEL)
            )
            moving = P["dep_kind"][m_idx] == DEP_HOUSEHOLD
            new_p = {
                "hh": hh,
                "role": np.full(nb, CHILD, dtype=np.int8),
                "sex": (rng.random(nb) < 0.488).astype(np.int8),
                "bday": bdays[m_idx],
                "arr": np.full(nb, NO_DATE, dtype=np.int64),
                "dep": np.where(moving, P["dep"][m_idx], NEVER).astype(np.int64),
                "dep_kind": np.where(moving, DEP_HOUSEHOLD, DEP_NONE).astype(np.int8),
                "born_here": np.ones(nb, dtype=bool),
                "bc": np.full(nb, N.ISRAEL, dtype=np.int8),
                "fc": fc.astype(np.int8),
            }
            self._append({}, new_p)

        # arrivals
        target = round(c.in_rate * pop)
        if target > 0:
            hh, pp = self._new_households(target, y, arriving=True)
            arrive = y0 + np.sort(rng.integers(0, ndays, len(hh["origin"])))
            self._add(hh, pp, ref_day=y0, arrival=arrive.astype(np.int64))

    def _leave(self, mask: np.ndarray, when: np.ndarray, kind: int):
        P = self.P
        m = mask & (when < P["dep"])
        P["dep"] = np.where(m, when, P["dep"])
        P["dep_kind"] = np.where(m, kind, P["dep_kind"]).astype(np.int8)

    # -- finishing ----------------------------------------------------------------------
    def _finish(self):
        """Names and household numbers, once everybody exists."""
        rng, P, H = self._rng, self.P, self.H
        n, nh = len(P["hh"]), len(H["origin"])
        # household numbers: locality code + 6 digits, in order of registration, with gaps
        seq = np.cumsum(1 + (rng.random(nh) < 0.05).astype(np.int64)) - 1
        H["number"] = seq
        # first names by sex and by the country of birth
        fn = np.empty(n, dtype=object)
        pools = [
            ((P["bc"] == N.ETHIOPIA), N.MALE_ETHIOPIA, N.FEMALE_ETHIOPIA),
            ((P["bc"] == N.RUSSIA) | (P["bc"] == N.UKRAINE), N.MALE_FSU, N.FEMALE_FSU),
        ]
        other = np.ones(n, dtype=bool)
        for m, male, female in pools:
            other &= ~m
            for sex, pool in ((MALE, male), (FEMALE, female)):
                mm = m & (P["sex"] == sex)
                fn[mm] = np.array(pool, dtype=object)[rng.integers(0, len(pool), int(mm.sum()))]
        for sex, pool in ((MALE, N.MALE), (FEMALE, N.FEMALE)):
            mm = other & (P["sex"] == sex)
            fn[mm] = np.array(pool, dtype=object)[rng.integers(0, len(pool), int(mm.sum()))]
        P["first_name"] = fn
        ln = np.empty(n, dtype=object)
        origin = H["origin"][P["hh"]]
        sur = H["surname"][P["hh"]]
        for o, pool in N.SURNAMES.items():
            m = origin == o
            ln[m] = np.array(pool, dtype=object)[sur[m]]
        own = (P["role"] == PARTNER) & (rng.random(n) < 0.1)
        ln[own] = np.array(N.SURNAMES[N.ISRAEL], dtype=object)[
            rng.integers(0, len(N.SURNAMES[N.ISRAEL]), int(own.sum()))
        ]
        P["last_name"] = ln
        P["ethiopian"] = (P["bc"] == N.ETHIOPIA) | (P["fc"] == N.ETHIOPIA)
        P["hood"] = H["hood"][P["hh"]]
        P["origin"] = origin

    @property
    def n(self) -> int:
        return len(self.P["hh"])
