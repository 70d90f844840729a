"""The plain-DuckDB baseline of the scale benchmark (issue 9).

`run_baseline` runs bench/baseline.sql, one hand-written SQL script that computes the 11
shared indicators from the raw.* tables into baseline.indicator_values, directly on the
given warehouse file (the benchmark passes a scratch copy; nothing is copied here) and
returns the wall time, to compare with the pipeline's `dbt build`.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

SCRIPT = Path(__file__).with_name("baseline.sql")


def run_baseline(warehouse: Path) -> float:
    """Run the baseline script on `warehouse`; return the wall seconds it took.

    The time covers opening the database, running the whole script and closing it (so the
    new table is written), as a `dbt build` run pays for the same.
    """
    sql = SCRIPT.read_text(encoding="utf-8")
    start = time.perf_counter()
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("set enable_progress_bar = false")
        result = con.execute(sql)  # every statement runs; the last one's result is returned
        if result is not None:
            result.fetchall()
    finally:
        con.close()
    return time.perf_counter() - start


if __name__ == "__main__":  # python bench/baseline.py WAREHOUSE
    import sys

    print(f"{run_baseline(Path(sys.argv[1])):.3f} s")
