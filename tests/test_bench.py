"""The benchmark's own parts (issue 16): the plain end-to-end baseline reproduces the
generator's truth, the one-city night's register changes the bytes and not the truth, and the
report is made from saved results (tables, ratios, the chart)."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest

from ci_metrics_synthetic import generate_cities, latest_register, resend_register
from ci_metrics_synthetic.truth_check import compare_with_truth, load_truth

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import plain  # noqa: E402
import report  # noqa: E402


@pytest.fixture(scope="module")
def one_city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bench_city")
    generate_cities(1, root / "inbox", seed=5, truth_path=root / "truth.json", progress=lambda _: None)
    return root / "inbox", root / "truth.json"


def test_the_plain_baseline_loads_the_inbox_and_reproduces_the_truth(
    one_city: tuple[Path, Path], tmp_path: Path
) -> None:
    inbox, truth = one_city
    result = plain.run_plain(inbox, tmp_path / "plain", workers=2)
    assert result.files == sum(1 for p in inbox.rglob("*") if p.is_file())
    assert all(n > 0 for n in result.rows_by_table.values()), result.rows_by_table
    assert result.load_seconds > 0 and result.compute_seconds > 0
    with duckdb.connect(result.database, read_only=True) as con:
        indicators = {
            r[0]
            for r in con.execute("select distinct indicator_id from baseline.indicator_values").fetchall()
        }
        problems = compare_with_truth(con, load_truth(truth), table="baseline.indicator_values")
    assert problems == []
    assert {row["indicator_id"] for row in load_truth(truth)} <= indicators
    # the register's rows whose ID fails its check digit (0.25%) are left out, as the pipeline does
    register_rows = latest_register(inbox, _code(inbox)).read_bytes().count(b"\n") - 1
    assert 0.99 * register_rows < result.rows_by_table["residents"] < register_rows


def test_a_register_sent_again_is_new_bytes_with_the_same_rows_a_week_later(
    one_city: tuple[Path, Path], tmp_path: Path
) -> None:
    inbox, _ = one_city
    before = latest_register(inbox, _code(inbox))
    sent = resend_register(inbox, _code(inbox), out=tmp_path)
    old_header, _, old_body = before.read_bytes().partition(b"\n")
    new_header, _, new_body = sent.read_bytes().partition(b"\n")
    assert new_header == old_header
    assert new_body != old_body  # other bytes: the ledger must see a new file
    assert sorted(new_body.split(b"\n")) == sorted(old_body.split(b"\n"))
    old_day, new_day = before.stem.split("_")[-1], sent.stem.split("_")[-1]
    assert int(new_day) - int(old_day) == 7  # same January
    assert resend_register(inbox, _code(inbox), out=tmp_path).read_bytes() == sent.read_bytes()
    with pytest.raises(ValueError, match="leaves its month"):
        resend_register(inbox, _code(inbox), days=40, out=tmp_path)


def _code(inbox: Path) -> int:
    return int(next((inbox / "residents").glob("residents_*.csv")).name.split("_")[1])


def _saved(folder: Path, name: str, results: list[dict]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps({"machine": "test machine", "results": results}))


def _result(
    k: int, wall: float, plain_load: float, plain_compute: float, ingest: float, night: float
) -> dict:
    return {
        "cities": k,
        "first_run_wall": wall,
        "first_run_peak_mb": 2048.0,
        "first_run": {
            "status": "succeeded",
            "counts": {"files_loaded": 40 * k, "rows_loaded": 80_000 * k},
            "stages": [
                {"name": "ingest", "seconds": ingest, "peak_rss_mb": 1000.0},
                {"name": "dbt build", "seconds": wall - ingest, "peak_rss_mb": 3072.0},
            ],
        },
        "second_run_wall": 1.0,
        "truth_mismatches": 0,
        "night": {"wall": night, "status": "succeeded", "truth_mismatches": 0},
        "plain": {
            "files": 40 * k,
            "rows_loaded": 80_000 * k,
            "load_seconds": plain_load,
            "compute_seconds": plain_compute,
            "peak_mb": 1024.0,
            "truth_mismatches": 0,
        },
    }


def test_the_report_is_made_from_the_saved_results(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    _saved(
        folder,
        "20260101T000000.json",
        [_result(1, 30.0, 2.0, 1.0, 4.0, 12.0), _result(10, 60.0, 10.0, 5.0, 20.0, 9.0)],
    )
    later_baseline = {"cities": 10, "plain": {**_result(10, 0, 20.0, 10.0, 0, 0)["plain"]}}
    _saved(folder, "20260102T000000.json", [later_baseline])  # --only-baseline, a day later
    results, machine = report.load_results(folder)
    assert machine == "test machine"
    assert [r["cities"] for r in results] == [1, 10]
    ten = report.figures(results[1])
    assert ten["wall"] == 60.0  # the pipeline's figures kept
    assert ten["plain_total"] == 30.0  # the later baseline replaces the earlier one
    assert ten["whole_over_plain"] == pytest.approx(2.0)
    assert ten["ingest_over_load"] == pytest.approx(1.0)
    assert ten["night_pct"] == pytest.approx(15.0)
    assert ten["peak_gib"] == pytest.approx(3.0)  # the larger of the bench's and the stages' peaks
    table = report.summary_table(results)
    assert "| 10 | 400 | 800,000 / 800,000 | 60.0 | 3.00 | 20.0 |" in table
    assert "2.0×" in table and "15%" in table
    chart = tmp_path / "scaling.svg"
    markdown = report.write_report(folder, chart)
    assert "### Scaling" in markdown
    svg = ET.parse(chart).getroot()
    lines = svg.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 5  # run, baseline, night; run and baseline memory
    assert "target 8 GiB" in chart.read_text()
