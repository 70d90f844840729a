"""``check-layout``: a dry run that says which layout reads a file and why the others do not,
and what would load, be rejected and be filtered, touching nothing. Its counts are the real
load's: one real run carries a cp1255 source re-exported as UTF-8 with a BOM and a survey
vendor's national sample read by a layout with a value map, a row filter, a derived age group
and a locality taken from a column."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_INBOX, make_settings, run_flow

from ci_metrics.ingest.check import check_layout
from ci_metrics.ingest.layouts import BUNDLED_LAYOUTS

EXAMPLE = BUNDLED_LAYOUTS / "examples" / "national_survey.yml.example"
AGES = {"18-29": (18, 12), "30-44": (30, 15), "45-64": (45, 20), "65+": (65, 25)}


def national_sample(path: Path) -> dict[str, int]:
    """The 2021 survey as a vendor's national sample would send it: English headers and
    answers, an age instead of an age group, a Town column, other towns' rows and test
    interviews mixed in, and three responses without a usable weight. Its expected counts."""
    with (SAMPLE_INBOX / "surveys" / "survey_1034_2021.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "Response ID",
            "Status",
            "Weight",
            "Town",
            "Neighborhood",
            "Age",
            "Gender",
            "Origin",
            "Q1",
            "Q2",
            "Q3",
        ]
    )
    gender = {"גבר": "male", "אישה": "female", "": ""}
    origin = {"אתיופיה": "Ethiopia", "אחר": "Other"}
    for i, row in enumerate(rows):
        start, span = AGES[row["קבוצת גיל"]]
        weight = "n/a" if i in (5, 50, 500) else row["weight"]
        town = "Haifa" if i % 10 == 3 else "Kiryat Gat"  # a national sample: other towns too
        writer.writerow(
            [
                f"N{row['Response ID']}",
                row["Status"],
                weight,
                town,
                row["שכונה"],
                start + i % span,
                gender[row["מין"]],
                origin[row["מוצא"]],
                row["q_trust"],
                row["q_future"],
                row["q_stay"],
            ]
        )
    for i in range(4):  # the vendor's test interviews
        writer.writerow([f"T{i}", "Test", "", "Kiryat Gat", "", "", "", "", "", "", ""])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8")
    haifa = sum(1 for i in range(len(rows)) if i % 10 == 3)
    rejected = sum(1 for i in (5, 50, 500) if i % 10 != 3)
    return {
        "read": len(rows) + 4,
        "filtered": haifa + 4,
        "rejected": rejected,
        "loaded": len(rows) - haifa - rejected,
    }


def bom_reexport(inbox: Path) -> Path:
    """The residents snapshot as sent, saved again by a clerk as UTF-8 with a BOM."""
    source = SAMPLE_INBOX / "residents" / "residents_1034_20220105.csv"
    target = inbox / "residents" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\xef\xbb\xbf" + source.read_bytes().decode("cp1255").encode("utf-8"))
    return target


def local_layouts(tmp_path: Path) -> Path:
    folder = tmp_path / "layouts"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "national_survey.yml")
    return folder


# -- the dry run alone ---------------------------------------------------------------------------


def test_check_layout_says_what_would_load_and_why_other_layouts_do_not(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = make_settings(home, layouts_dir=local_layouts(tmp_path))
    sample = tmp_path / "inbox" / "surveys" / "national_sample_2022.csv"
    expected = national_sample(sample)

    check = check_layout(sample, settings)
    assert check.layout == "national_survey" and check.verdict == "loads_with_rejects"
    counts = (check.rows_read, check.rows_loaded, check.rows_rejected, check.rows_filtered)
    assert counts == (expected["read"], expected["loaded"], expected["rejected"], expected["filtered"])
    assert (check.locality_code, check.period) == (1034, 2022)
    assert [r.reasons for r in check.first_rejects] == [["Weight is not a number"]] * expected["rejected"]
    (survey,) = check.others
    assert survey.name == "survey" and "name does not match survey_<locality>_<period>.csv" in survey.reason
    assert check.exit_code == 1
    text = check.render()
    assert "WOULD LOAD" in text and "filtered out" in text and "n/a" not in text  # no cell quoted
    assert not home.exists()  # touched nothing: no warehouse, archive, ledger or key file

    clean = check_layout(SAMPLE_INBOX / "surveys" / "survey_1034_2021.csv", settings)
    assert (clean.layout, clean.verdict, clean.exit_code, clean.rows_loaded) == ("survey", "loads", 0, 600)

    misnamed = tmp_path / "inbox" / "youth" / "scouts 2021.csv"
    misnamed.parent.mkdir(parents=True)
    misnamed.write_bytes((SAMPLE_INBOX / "youth" / "tzofim_1034_2021.csv").read_bytes())
    rejected = check_layout(misnamed, settings)
    assert rejected.verdict == "rejected" and rejected.exit_code == 2
    assert rejected.message.startswith("unknown file: no layout of youth/ reads a file of this name")
    (tzofim,) = [o for o in rejected.others if o.name == "tzofim"]
    assert tzofim.reason.endswith("content: its header and encoding fit")  # rename it, and it loads
    forced = check_layout(misnamed, settings, layout_name="tzofim")
    assert forced.verdict == "rejected" and "does not read a file of this name" in forced.message


# -- the dry run against the real load -----------------------------------------------------------


@pytest.mark.usefixtures("prefect_harness")
def test_real_exports_load_and_check_layout_counts_as_the_load(
    copy_of_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layouts = local_layouts(tmp_path)
    monkeypatch.setenv("CI_METRICS_LAYOUTS_DIR", str(layouts))
    settings = copy_of_home.model_copy(update={"layouts_dir": layouts})
    inbox = tmp_path / "inbox"
    bom = bom_reexport(inbox)
    sample = inbox / "surveys" / "national_sample_2022.csv"
    expected = national_sample(sample)

    def residents_rows() -> list[tuple]:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            return con.execute(
                "select * exclude (_file_id, _run_id) from raw.residents order by _row_number"
            ).fetchall()
        finally:
            con.close()

    before = residents_rows()
    checks = {path.name: check_layout(path, settings) for path in (bom, sample)}

    record = run_flow(settings, inbox)
    assert record.status == "succeeded", record.failures
    files = {f.file_name: f for f in record.files}

    # a cp1255 source re-exported as UTF-8 with a BOM loads with the same rows
    assert files[bom.name].status in ("loaded", "replaced"), files[bom.name]
    assert residents_rows() == before

    # the vendor's national sample: value map, row filter, derived age group, locality from a column
    loaded = files[sample.name]
    assert (loaded.status, loaded.rows_loaded, loaded.rows_rejected) == (
        "loaded",
        expected["loaded"],
        expected["rejected"],
    )
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        by_group = con.execute(
            "select locality_code, period, count(*), count(distinct age_group), "
            "count(*) filter (where gender in ('גבר', 'אישה')), count(*) filter (where origin = 'אתיופיה') "
            "from raw.survey_responses where _file_name = ? group by all",
            [sample.name],
        ).fetchall()
        ledger = con.execute(
            "select locality_code, period, rows_read, rows_loaded, rows_rejected from ops.files "
            "where file_name = ?",
            [sample.name],
        ).fetchall()
        mismatched = con.execute(
            "select count(*) from raw.survey_responses n join raw.survey_responses o "
            "on o._file_name = 'survey_1034_2021.csv' and n.response_id = 'N' || o.response_id "
            "where n._file_name = ? and (n.age_group <> o.age_group or n.gender <> o.gender "
            "or n.origin <> o.origin)",
            [sample.name],
        ).fetchall()
    finally:
        con.close()
    ((locality, period, count, groups, gendered, ethiopian),) = by_group
    assert (locality, period, count, groups) == (1034, 2022, expected["loaded"], 4)
    assert gendered == count and 0 < ethiopian < count
    assert mismatched == [(0,)]  # recoded and derived exactly as the vendor's answers say
    assert ledger == [(1034, 2022, expected["read"], expected["loaded"], expected["rejected"])]

    # check-layout, run before, said exactly what the load did
    for name, check in checks.items():
        f = files[name]
        assert (check.rows_read, check.rows_loaded, check.rows_rejected) == (
            f.rows_read,
            f.rows_loaded,
            f.rows_rejected,
        ), name
    assert checks[sample.name].rows_filtered == expected["filtered"]
