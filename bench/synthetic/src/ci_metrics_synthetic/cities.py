"""``generate_cities``: synthetic partner files for K towns, deterministic for a seed."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .population import Population, make_city
from .sources import CityBuilder, Records, write_records
from .truth import city_truth


@dataclass(frozen=True)
class CitySummary:
    index: int
    locality_code: int
    name: str
    residents_start: int  # residents on 1 January of the first period
    register_rows: int
    households: int
    ethiopian_origin_share: float  # of residents on 1 January of the first period
    files: int
    bytes: int
    seconds: float


@dataclass
class GenerateSummary:
    out: Path
    seed: int
    years: tuple[int, ...]
    residents_per_city: int
    cities: list[CitySummary] = field(default_factory=list)
    truth_path: Path | None = None
    seconds: float = 0.0

    @property
    def files(self) -> int:
        return sum(c.files for c in self.cities)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.cities)

    @property
    def locality_codes(self) -> list[int]:
        return [c.locality_code for c in self.cities]

    def __str__(self) -> str:
        years = f"{self.years[0]}-{self.years[-1]}" if self.years else "-"
        truth = f", truth {self.truth_path}" if self.truth_path else ""
        return (
            f"{len(self.cities)} cities ({years}, {self.residents_per_city:,} residents each, seed "
            f"{self.seed}): {self.files} files, {self.bytes / 1e6:.1f} MB in {self.seconds:.1f}s "
            f"-> {self.out}{truth}"
        )


def _block_size(residents: int) -> int:
    """IDs per city: room for everyone ever registered plus outsiders (a power of two)."""
    need = max(4 * residents + 10_000, 1 << 17)
    return 1 << int(np.ceil(np.log2(need)))


def _one_city(args) -> tuple[CitySummary, list[dict]]:
    index, out, seed, years, residents, want_truth = args
    t = time.perf_counter()
    streams = np.random.SeedSequence([seed, index]).spawn(10)
    rngs = [np.random.default_rng(s) for s in streams]
    city = make_city(index, rngs[0])
    pop = Population(city, rngs[1], residents, years)
    b = CityBuilder(pop, seed, rngs[2:])
    b.assign_ids(n_outsiders=max(2_000, residents // 4), block_size=_block_size(residents))
    res, res_date = b.residents()
    schools, school_names = b.schools()
    youth = b.youth()
    welfare, wel_date = b.welfare()
    surveys = b.surveys()
    early_childhood = b.early_childhood()
    rec = Records(
        city.code, res, res_date, welfare, wel_date, schools, youth, surveys, school_names, early_childhood
    )
    files, size = write_records(rec, Path(out), b.r_misc)
    truth = city_truth(rec, years) if want_truth else []
    jan1 = pop.resident_on(int(np.datetime64(f"{years.start}-01-01", "D").astype(np.int64)))
    s = CitySummary(
        index,
        city.code,
        city.name,
        int(jan1.sum()),
        pop.n,
        len(pop.H["origin"]),
        round(float(pop.P["ethiopian"][jan1].mean()), 4),
        files,
        size,
        round(time.perf_counter() - t, 2),
    )
    return s, truth


def generate_cities(
    k: int,
    out: Path,
    seed: int = 0,
    years: range = range(2016, 2022),
    residents_per_city: int = 25_000,
    *,
    workers: int = 1,
    truth: bool = True,
    truth_path: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Write synthetic partner files for ``k`` towns under ``out/<source>/``.

    The layout is the sample inbox's (``residents/``, ``schools/``, ``youth/``,
    ``welfare/``, ``surveys/``, ``early_childhood/``), every file in its partner's exact
    format; ``out/truth.json`` holds the indicators computed from the generator's own
    records (see :mod:`.truth`).
    Town ``i`` gets the ``i``-th locality code of a table of real Israeli authorities
    (never 1034, the bundled sample), then synthetic codes; its people, households and
    rates come from ``seed`` and ``i`` only, so the same seed writes byte-identical files
    and a town does not change when ``k`` grows. ``workers`` > 1 builds towns in parallel
    processes (the output does not depend on it). ``truth_path`` puts the truth elsewhere
    (the pipeline reports a ``truth.json`` in the inbox root as an unknown file); ``truth``
    False skips it. ``progress`` receives one line per town (default: printed to stderr).
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if len(years) < 1 or years.step != 1:
        raise ValueError("years must be a non-empty range of consecutive years")
    if residents_per_city < 50:
        raise ValueError("residents_per_city must be at least 50")
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = GenerateSummary(out, seed, tuple(years), residents_per_city)
    jobs = [(i, str(out), seed, years, residents_per_city, truth) for i in range(k)]
    all_truth: list[dict] = []

    def done(s: CitySummary, rows: list[dict]):
        summary.cities.append(s)
        all_truth.extend(rows)
        say(
            f"[generate] city {len(summary.cities)}/{k}: locality {s.locality_code} ({s.name}), "
            f"{s.residents_start:,} residents, {s.files} files, {s.bytes / 1e6:.1f} MB, {s.seconds:.1f}s"
        )

    if workers > 1 and k > 1:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            for s, rows in ex.map(_one_city, jobs):
                done(s, rows)
    else:
        for j in jobs:
            done(*_one_city(j))
    if truth:
        summary.truth_path = Path(truth_path) if truth_path else out / "truth.json"
        summary.truth_path.parent.mkdir(parents=True, exist_ok=True)
        summary.truth_path.write_text(
            json.dumps(all_truth, ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
        )
    summary.seconds = round(time.perf_counter() - t0, 2)
    say(
        f"[generate] {k} cities, {summary.files} files, {summary.bytes / 1e6:.1f} MB "
        f"in {summary.seconds:.1f}s -> {out}"
    )
    return summary


def summary_dict(summary: GenerateSummary) -> dict:
    """The summary as plain JSON-able data."""
    d = asdict(summary)
    d["out"] = str(summary.out)
    d["truth_path"] = str(summary.truth_path) if summary.truth_path else None
    d["files"], d["bytes"] = summary.files, summary.bytes
    return d
