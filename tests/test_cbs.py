"""CBS public context: the real workbooks of data/cbs, columns found by meaning."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from ci_metrics.ingest.cbs import CbsLayoutError, load_cbs, load_cbs_layout, read_workbook
from ci_metrics.ingest.cbs.layout import FieldSpec
from ci_metrics.ingest.cbs.workbook import clean_cell, normalise_header, parse_period

ROOT = Path(__file__).resolve().parents[1]
CBS_DIR = ROOT / "data" / "cbs"
PROFILE = CBS_DIR / "p_libud_2021.xlsx"
SEI = CBS_DIR / "24_22_375t1.xlsx"
PROFILE_SHEET = re.compile(r"^נתונים פיזיים ונתוני אוכלוסי")
KIRYAT_MALACHI = 1034


@pytest.fixture(scope="module")
def layout():
    return load_cbs_layout()


@pytest.fixture(scope="module")
def warehouse() -> tuple[duckdb.DuckDBPyConnection, dict[str, int]]:
    """Both workbooks loaded once into an in-memory warehouse."""
    con = duckdb.connect()
    counts = load_cbs(con, CBS_DIR, "test-run")
    yield con, counts
    con.close()


@pytest.fixture(scope="module")
def profile_rows(warehouse) -> pd.DataFrame:
    con, _ = warehouse
    return con.sql("select * from raw.cbs_local_authorities").df()


def _figures(frame: pd.DataFrame) -> pd.DataFrame:
    """What a layout change must not change: every figure of every authority."""
    cols = ["authority_code", "measure", "data_year", "value", "value_status"]
    return frame[cols].sort_values(cols[:3]).reset_index(drop=True)


def _profile_sheet(book: openpyxl.Workbook):
    return next(ws for ws in book.worksheets if PROFILE_SHEET.match(ws.title.strip()))


def _header_column(ws, text: str) -> int:
    """1-based column whose header cell (any of the first 6 rows) reads ``text``."""
    for row in ws.iter_rows(min_row=1, max_row=6):
        for cell in row:
            if normalise_header(cell.value) == text:
                return cell.column
    raise AssertionError(f"no header {text!r}")


# --------------------------------------------------------------------------- loading


def test_load_counts(warehouse, profile_rows):
    con, counts = warehouse
    assert counts["raw.cbs_socioeconomic_index"] == 255
    assert counts["raw.cbs_local_authorities"] == len(profile_rows)
    assert profile_rows["authority_code"].nunique() == 255
    n_measures = profile_rows["measure"].nunique()
    assert len(profile_rows) == 255 * n_measures  # one row per authority, measure and year
    (n_sei,) = con.execute(
        "select count(distinct authority_code) from raw.cbs_socioeconomic_index"
    ).fetchone()
    assert n_sei == 255


def test_kiryat_malachi_socioeconomic_index(warehouse):
    con, _ = warehouse
    row = con.execute(
        "select index_value, rank, cluster, index_year, locality_name, is_regional_council, "
        "authority_code from raw.cbs_socioeconomic_index where locality_code = ? and not is_regional_council",
        [KIRYAT_MALACHI],
    ).fetchone()
    index_value, rank, cluster, index_year, name, is_rc, authority_code = row
    assert cluster == 4
    assert rank == 79
    assert index_value == pytest.approx(-0.606, abs=5e-4)
    assert index_year == 2019
    assert name == "קריית מלאכי"
    assert (is_rc, authority_code) == (False, "1034")


def test_kiryat_malachi_profile(profile_rows):
    km = profile_rows[profile_rows["authority_code"] == "1034"].set_index("measure")
    assert km.loc["population", "value"] == 25022
    assert km.loc["population", "data_year"] == 2021
    assert km.loc["population", "locality_name"] == "קריית מלאכי"
    assert km.loc["population", "municipal_status"] == "עירייה"
    # Education: school year 2020/21 counts as 2021, like the partnership's periods.
    assert km.loc["pupils_total", "value"] == 4726
    assert km.loc["bagrut_eligibility_pct", "value"] == pytest.approx(71.4286, abs=1e-3)
    assert km.loc["university_threshold_pct", "value"] == pytest.approx(58.3587, abs=1e-3)
    assert km.loc["dropout_pct", "value"] == pytest.approx(1.8843, abs=1e-3)
    for measure in ("pupils_total", "bagrut_eligibility_pct", "university_threshold_pct", "dropout_pct"):
        assert km.loc[measure, "data_year"] == 2021
    # The profile carries the index too, with its own data year.
    assert km.loc["sei_cluster", "value"] == 4
    assert km.loc["sei_rank", "value"] == 79
    assert km.loc["sei_cluster", "data_year"] == 2019
    # "( 3.6)": few cases behind it; a five-year span counts as its last year.
    infant = km.loc["infant_mortality_rate"]
    assert (infant["value"], infant["value_status"]) == (3.6, "low_reliability")
    assert (infant["data_year"], infant["data_period"]) == (2021, "2017-2021")


def test_codes_are_unique_per_authority(warehouse, profile_rows):
    """Integer codes collide (regional council 31 vs Ofakim 0031): authority_code does not."""
    con, _ = warehouse
    ids = profile_rows.drop_duplicates("authority_code")
    assert ids["locality_code"].duplicated().sum() == 6
    assert ids["is_regional_council"].sum() == 54
    ofakim_rc = ids[ids["locality_code"] == 31].set_index("authority_code")["is_regional_council"].to_dict()
    assert ofakim_rc == {"0031": False, "31": True}
    sei_codes = {
        r[0] for r in con.execute("select authority_code from raw.cbs_socioeconomic_index").fetchall()
    }
    assert sei_codes == set(ids["authority_code"])


def test_lineage(warehouse, profile_rows):
    con, _ = warehouse
    assert set(profile_rows["_file_id"]) == {hashlib.sha256(PROFILE.read_bytes()).hexdigest()}
    assert set(profile_rows["_file_name"]) == {PROFILE.name}
    assert set(profile_rows["_run_id"]) == {"test-run"}
    file_id, file_name, row_number = con.execute(
        "select _file_id, _file_name, _row_number from raw.cbs_socioeconomic_index "
        "where authority_code = '1034'"
    ).fetchone()
    assert file_id == hashlib.sha256(SEI.read_bytes()).hexdigest() and file_name == SEI.name
    book = openpyxl.load_workbook(SEI, read_only=True)
    try:
        ws = book.worksheets[0]
        row = next(ws.iter_rows(min_row=row_number, max_row=row_number, values_only=True))
    finally:
        book.close()
    assert KIRYAT_MALACHI in row  # _row_number is the spreadsheet row


def test_cell_statuses(profile_rows):
    statuses = set(profile_rows["value_status"])
    assert {"value", "low_reliability", "nil", "not_available"} <= statuses
    nil = profile_rows[profile_rows["value_status"] == "nil"]
    assert (nil["value"] == 0).all()  # "-" = no cases
    assert profile_rows.loc[profile_rows["value_status"] == "not_available", "value"].isna().all()


def test_load_is_repeatable(warehouse):
    con, counts = warehouse
    assert load_cbs(con, CBS_DIR, "test-run-2") == counts
    (runs,) = con.execute("select count(distinct _run_id) from raw.cbs_local_authorities").fetchone()
    assert runs == 1


@pytest.mark.parametrize(
    ("raw", "type_", "value", "status"),
    [
        ("( 3.6)", "number", 3.6, "low_reliability"),
        ("(12.3)", "number", 12.3, "low_reliability"),
        ("-", "number", 0, "nil"),
        ("   -", "number", 0, "nil"),
        ("..", "number", None, "not_available"),
        ("  ..", "number", None, "not_available"),
        ("25,022", "number", 25022.0, "value"),
        ("1,234.5*", "number", 1234.5, "value"),
        ("12[1]", "number", 12.0, "value"),
        ("0031", "code", 31, "value"),
        (4.0, "integer", 4, "value"),
        (None, "number", None, "blank"),
        ("שלום", "number", None, "invalid"),
    ],
)
def test_clean_cell(raw, type_, value, status):
    cell = clean_cell(raw, type_)
    assert (cell.value, cell.status) == (value, status)


def test_clean_cell_nil_as_null():
    assert clean_cell("-", "number", nil="null").value is None


@pytest.mark.parametrize(
    ("raw", "year", "period"),
    [
        ('תשפ"א 2020/21', 2021, 'תשפ"א 2020/21'),
        ("2021-2017", 2021, "2017-2021"),
        ("2017 - 2021", 2021, "2017-2021"),
        ("יוני 2022", 2022, "יוני 2022"),
        (2020, 2020, "2020"),
        ("ראו הערות", None, None),
    ],
)
def test_parse_period(raw, year, period):
    parsed = parse_period(raw)
    assert (parsed or (None, None)) == (year, period)


def test_header_normalisation():
    assert normalise_header("אוכלוסיית המדד 2019[1]") == "אוכלוסיית המדד 2019"
    assert normalise_header("צפיפות לקמ''ר\n ביישובים ") == 'צפיפות לקמ"ר ביישובים'
    assert normalise_header("מדד חברתי\u2013כלכלי*") == "מדד חברתי-כלכלי"


# --------------------------------------------------------------------------- layout changes


def test_renamed_and_moved_column_loads_the_same(tmp_path, layout, profile_rows):
    """Next year's edition: population renamed (an accepted synonym) and moved elsewhere."""
    book = openpyxl.load_workbook(PROFILE)
    ws = _profile_sheet(book)
    old = _header_column(ws, 'סה"כ אוכלוסייה בסוף השנה')
    target = _header_column(ws, "ילדים בגנים של משרד החינוך")  # into the education section
    assert target > old
    ws.insert_cols(target)
    for r in range(1, ws.max_row + 1):
        ws.cell(r, target).value = ws.cell(r, old).value
    ws.cell(4, target).value = "אוכלוסייה בסוף השנה - סך הכל"
    ws.delete_cols(old)
    copy = tmp_path / PROFILE.name
    book.save(copy)

    moved = read_workbook(copy, layout.workbook("local_authorities"), run_id="test-run")

    population = moved[moved["measure"] == "population"]
    assert population["source_header"].str.contains("אוכלוסייה בסוף השנה - סך הכל").all()
    before = profile_rows.loc[profile_rows["measure"] == "population", "source_column"].iloc[0]
    assert population["source_column"].iloc[0] != before
    km = population[population["authority_code"] == "1034"].iloc[0]
    assert (km["value"], km["data_year"]) == (25022, 2021)
    pd.testing.assert_frame_equal(_figures(moved), _figures(profile_rows), check_dtype=False)


def test_removed_required_column_names_it(tmp_path, layout):
    book = openpyxl.load_workbook(PROFILE)
    ws = _profile_sheet(book)
    ws.delete_cols(_header_column(ws, "אחוז זכאים לתעודת בגרות מבין תלמידי כיתות יב"))
    copy = tmp_path / PROFILE.name
    book.save(copy)

    with pytest.raises(CbsLayoutError) as caught:
        read_workbook(copy, layout.workbook("local_authorities"))
    message = str(caught.value)
    assert "bagrut_eligibility_pct" in message
    assert "זכאים" in message  # its patterns
    assert PROFILE.name in message and "נתונים פיזיים ונתוני אוכלוסייה" in message


def test_ambiguous_pattern_is_an_error(layout):
    spec = layout.workbook("local_authorities").model_copy(deep=True)
    broad = {**spec.fields["population"].model_dump(), "patterns": ["אוכלוסי"], "exclude": []}
    spec.fields["population"] = FieldSpec.model_validate(broad)
    with pytest.raises(CbsLayoutError, match=r"population.*ambiguous"):
        read_workbook(PROFILE, spec)


def test_a_missing_workbook_leaves_its_table_empty(tmp_path):
    """Each workbook loads on its own: without the index table, the profile still loads."""
    shutil.copy(PROFILE, tmp_path / "my copy of the profile.xlsx")  # any name: told by content
    con = duckdb.connect()
    counts = load_cbs(con, tmp_path, "test-run")
    assert counts["raw.cbs_socioeconomic_index"] == 0
    assert counts["raw.cbs_local_authorities"] > 0
    assert con.execute("select count(*) from raw.cbs_socioeconomic_index").fetchone() == (0,)
