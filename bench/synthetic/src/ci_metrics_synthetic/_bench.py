"""Compare xlsx writers on one town's pupil tables: ``python -m ci_metrics_synthetic._bench``.

Writes the six school files of one 25,000-resident town (about 2,500-2,800 rows x 9
columns each) with this package's writer, openpyxl (write-only mode) and, when it is
installed, xlsxwriter (constant-memory mode), and prints milliseconds per file. Only
the writing is timed; all three get the same cell values.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .population import Population, make_city
from .sources import SCHOOLS_HEADER, CityBuilder, _visible, hebrew_year
from .xlsx import Column, S, write_table


def _tables(residents: int = 25_000):
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence([0, 0]).spawn(9)]
    city = make_city(0, rngs[0])
    pop = Population(city, rngs[1], residents, range(2016, 2022))
    b = CityBuilder(pop, 0, rngs[2:])
    b.assign_ids(residents // 4, 1 << 17)
    schools, _ = b.schools()
    return city.code, {y: _visible(df) for y, df in schools.items()}


def _rows(df):
    out = []
    for r in df.itertuples(index=False):
        out.append([int(r[0]), r[1], int(r[2]), r[3], r[4], r[5], r[6], r[7], r[8]])
    return out


def _ours(path, df, title):
    kinds = "nsnssssss"
    cols = [Column(k, df.iloc[:, j].to_numpy().astype(S)) for j, k in enumerate(kinds)]
    write_table(
        path,
        cols,
        first_row=4,
        before=[(1, [title]), (3, SCHOOLS_HEADER)],
        after=[(2, [f'סה"כ רשומות: {len(df):,}'])],
        when=dt.datetime(2021, 8, 1),
    )


def _openpyxl(path, rows, title):
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append([title])
    ws.append([])
    ws.append(SCHOOLS_HEADER)
    for r in rows:
        ws.append(r)
    ws.append([])
    ws.append([f'סה"כ רשומות: {len(rows):,}'])
    wb.save(path)


def _xlsxwriter(path, rows, title):
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Sheet1")
    ws.write_string(0, 0, title)
    ws.write_row(2, 0, SCHOOLS_HEADER)
    for i, r in enumerate(rows):
        ws.write_row(3 + i, 0, r)
    ws.write_string(3 + len(rows) + 1, 0, f'סה"כ רשומות: {len(rows):,}')
    wb.close()


def main() -> int:
    code, tables = _tables()
    rows = {y: _rows(df) for y, df in tables.items()}
    writers = [
        ("ci_metrics_synthetic.xlsx", lambda p, y, t: _ours(p, tables[y], t)),
        ("openpyxl write_only", lambda p, y, t: _openpyxl(p, rows[y], t)),
    ]
    try:
        import xlsxwriter

        writers.append(
            (
                f"xlsxwriter {xlsxwriter.__version__} constant_memory",
                lambda p, y, t: _xlsxwriter(p, rows[y], t),
            )
        )
    except ImportError:
        print("xlsxwriter is not installed: skipped", file=sys.stderr)
    cells = sum(len(df) for df in tables.values()) * 9
    with tempfile.TemporaryDirectory() as tmp:
        for name, write in writers:
            best = float("inf")
            for rep in range(3):
                t = time.perf_counter()
                for y in tables:
                    write(Path(tmp) / f"{rep}_{y}.xlsx", y, f"הישגי תלמידים ברשות {code} - {hebrew_year(y)}")
                best = min(best, time.perf_counter() - t)
            size = sum(p.stat().st_size for p in Path(tmp).glob("0_*.xlsx"))
            print(
                f"{name:42s} {best / len(tables) * 1000:7.1f} ms/file  {cells / best / 1e3:7.0f}k cells/s"
                f"  {size / len(tables) / 1e3:6.0f} kB/file"
            )
            for p in Path(tmp).glob("*.xlsx"):
                p.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
