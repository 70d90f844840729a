"""Hostile input: one test per case of issue 18, each file built here at run time and put
through real ingestion (the Ingestor on a real DuckDB file), and one night with all of them
at once through the real flow. What must hold: the sound data loads, every hostile file is
rejected with a reason a clerk can act on, no ID, name or key byte reaches the warehouse, the
run record or the logs, and no file takes the run down."""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import SAMPLE_INBOX, TEST_KEY, make_settings, run_flow

from ci_metrics.ingest.inbox import FileOutcome, Ingestor, IngestSummary
from ci_metrics.ingest.isolation import read_workbook
from ci_metrics.ingest.layouts import load_layouts
from ci_metrics.ingest.limits import InputLimits
from ci_metrics.ingest.pseudonyms import Pseudonymiser

# Made-up people: valid Israeli IDs (check digit) and names found nowhere else.
PEOPLE = [
    ("314159260", "זלמנוביץ", "קלונימוס", "29/02/1904"),
    ("271828188", "בלומנקרנץ", "זלטקה", "31/12/1907"),
    ("161803390", "קוסטנבוים", "פרומה", "01/01/1909"),
]
IDS = [p[0] for p in PEOPLE]
NAMES = [n for p in PEOPLE for n in p[1:3]]
SECRET = "hostile-test-secret-" + "9f3a" * 8  # the key file's bytes in the symlink cases
PASSWD_MARK = "root:x:0:0"
RESIDENTS_HEADER = (
    "מספר זהות,שם פרטי,שם משפחה,תאריך לידה,מין,שכונה,ארץ לידה,ארץ לידת האב,מספר משק בית,"
    "תאריך כניסה ליישוב,תאריך עזיבה"
)
WELFARE = SAMPLE_INBOX / "welfare" / "welfare_1034_20220105.csv"
SCHOOL = SAMPLE_INBOX / "schools" / "achievement_1034_2016.xlsx"


# --------------------------------------------------------------------------- building files


def residents_lines(people: Iterable[tuple[str, str, str, str]] = PEOPLE) -> list[str]:
    return [f"{i},{first},{last},{born},נ,המושבה,ישראל,ישראל,1034002413,," for i, last, first, born in people]


def write_cp1255(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1255"))
    return path


def welfare_with(path: Path, column: str, value: str, rows: int = 40) -> Path:
    """The sample welfare file's first ``rows`` rows, the first row's ``column`` set to ``value``."""
    lines = WELFARE.read_bytes().decode("cp1255").splitlines()[: rows + 1]
    at = lines[0].split(",").index(column)
    cells = lines[1].split(",")
    cells[at] = value
    lines[1] = ",".join(cells)
    return write_cp1255(path, lines)


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
    'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main">'
)


def raw_xlsx(path: Path, sheet_rows: Iterable[str], dimension: str | None) -> Path:
    """A minimal workbook written part by part (the sheet XML streamed into the zip)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_SHEET_START.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for row in sheet_rows:
                sheet.write(row.encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


def far_cell_rows() -> list[str]:
    """A header cell in A1 and one number at XFD1048576, the last cell of a sheet."""
    return [
        '<row r="1"><c r="A1" t="inlineStr"><is><t>סמל מוסד</t></is></c></row>',
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    ]


def bomb_rows(n_rows: int) -> Iterable[str]:
    """Rows of a highly compressible sheet: a few hundred bytes each, all alike."""
    cells = "".join(f'<c t="inlineStr"><is><t>{"0" * 40}</t></is></c>' for _ in range(8))
    for _ in range(n_rows):
        yield f"<row>{cells}</row>"


def school_without_title_rows(path: Path) -> Path:
    """The sample school file with its two title rows deleted: the header on row 1, pupils
    from row 2, so row 3 (where the layout looks for the header) holds a pupil."""
    book = openpyxl.load_workbook(SCHOOL)
    sheet = book.active
    sheet.delete_rows(1, 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def pupil_on_row(path: Path, row: int) -> list[str]:
    sheet = openpyxl.load_workbook(path, read_only=True).active
    cells = next(sheet.iter_rows(min_row=row, max_row=row, values_only=True))
    return [str(c).removesuffix(".0") for c in cells if c is not None]


def arabic_indic(digits: str) -> str:
    return digits.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


# --------------------------------------------------------------------------- running them


class Night:
    """An Ingestor on a real DuckDB file, with its own home and inbox."""

    def __init__(self, root: Path, limits: InputLimits | None = None) -> None:
        self.home = root / "home"
        self.inbox = root / "inbox"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.home / "w.duckdb"))
        self.ingestor = Ingestor(
            self.con,
            home=self.home,
            archive_dir=self.home / "archive",
            layouts=load_layouts(),
            pseudonymise=Pseudonymiser(TEST_KEY.encode()),
            run_id="hostile",
            limits=limits,
        )
        self.summary = IngestSummary()
        self.seconds = 0.0

    def run(self) -> dict[str, FileOutcome]:
        started = time.perf_counter()
        self.summary = self.ingestor.ingest_inbox(self.inbox)
        self.seconds = time.perf_counter() - started
        return {o.file_name: o for o in self.summary.outcomes}

    def ledger(self, name: str) -> list[tuple]:
        return self.con.execute(
            "select status, message, archived_path from ops.files where file_name = ?", [name]
        ).fetchall()

    def rejects(self, name: str) -> list[tuple]:
        return self.con.execute(
            "select row_number, column_name, reason, value from ops.rejects where file_name = ? "
            "order by row_number",
            [name],
        ).fetchall()

    def archived(self) -> list[Path]:
        return [p for p in (self.home / "archive").rglob("*") if p.is_file()]


def leaks(con: duckdb.DuckDBPyConnection, needles: Iterable[str]) -> list[tuple[str, str]]:
    """(column, needle) for every VARCHAR column of every table holding a needle."""
    columns = con.execute(
        "select table_catalog, table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR'"
    ).fetchall()
    assert columns
    found = []
    for catalog, schema, table, column in columns:
        for needle in needles:
            (n,) = con.execute(
                f'select count(*) from "{catalog}"."{schema}"."{table}" where contains("{column}", ?)',
                [needle],
            ).fetchone()
            if n:
                found.append((f"{schema}.{table}.{column}", needle))
    return found


def in_text(texts: Iterable[str], needles: Iterable[str]) -> list[str]:
    needles = list(needles)
    return [n for text in texts for n in needles if n in text]


def private(path: Path) -> bool:
    return stat.S_IMODE(path.lstat().st_mode) & 0o077 == 0


# --------------------------------------------------------------------------- 1. no content in metadata


def test_a_register_without_its_header_line_is_rejected_without_quoting_the_first_person(
    tmp_path: Path,
) -> None:
    night = Night(tmp_path)
    write_cp1255(night.inbox / "residents" / "residents_1034_20240101.csv", residents_lines())
    outcome = night.run()["residents_1034_20240101.csv"]
    assert outcome.status == "rejected"
    assert "'מספר זהות'" in outcome.message  # what is missing is said...
    assert "None of its 11 cells is a known column name" in outcome.message  # ...what was found is not
    assert len(outcome.message) <= 400
    ((status, message, _),) = night.ledger(outcome.file_name)
    assert status == "rejected" and message == outcome.message
    assert not leaks(night.con, IDS + NAMES + ["29/02/1904", "1904"])


def test_a_header_is_quoted_only_by_its_known_column_names(tmp_path: Path) -> None:
    night = Night(tmp_path)
    header = "מספר זהות,שם פרטי,תאריך לידה,מין,שכונה,זלמנוביץ,314159260"  # lacks six columns
    write_cp1255(night.inbox / "residents" / "residents_1034_20240101.csv", [header, *residents_lines()])
    outcome = night.run()["residents_1034_20240101.csv"]
    assert outcome.status == "rejected"
    assert "'שם משפחה'" in outcome.message and "'מספר זהות'" in outcome.message
    assert "and 2 other cells (not shown)" in outcome.message
    assert not leaks(night.con, IDS + NAMES)


def test_a_school_file_without_its_title_rows_names_the_header_row_not_a_pupil(tmp_path: Path) -> None:
    night = Night(tmp_path)
    path = school_without_title_rows(night.inbox / "schools" / "achievement_1034_2024.xlsx")
    pupil = pupil_on_row(path, 3)  # where the layout looks for the header
    pupil_id = next(c for c in pupil if c.isdigit() and len(c) >= 7)
    outcome = night.run()[path.name]
    assert outcome.status == "rejected"
    assert "the header is on row 1" in outcome.message and "row 3" in outcome.message
    assert not leaks(night.con, [pupil_id, pupil_id.zfill(9)])


def test_an_id_typed_where_a_number_belongs_is_masked_in_the_reject(tmp_path: Path) -> None:
    night = Night(tmp_path)
    welfare_with(night.inbox / "welfare" / "welfare_1034_20240101.csv", "מספר נפשות", "314159260x")
    outcome = night.run()["welfare_1034_20240101.csv"]
    assert (outcome.status, outcome.rows_rejected) == ("loaded", 1)
    ((row, column, reason, value),) = night.rejects(outcome.file_name)
    assert (row, column) == (2, "מספר נפשות") and "whole number" in reason
    assert value == "*******60x"
    assert not leaks(night.con, ["314159260", "1415926"])


# --------------------------------------------------------------------------- 2. files are files


def test_a_link_to_the_key_named_like_a_welfare_file_is_never_read(tmp_path: Path) -> None:
    night = Night(tmp_path)
    key = night.home / "secrets" / "pseudonym.key"
    key.parent.mkdir(mode=0o700)
    key.write_text(SECRET + "\n", encoding="ascii")
    (night.inbox / "welfare").mkdir()
    (night.inbox / "welfare" / "welfare_1034_20240101.csv").symlink_to(key)
    shutil.copy(WELFARE, night.inbox / "welfare")  # and a sound file beside it
    outcomes = night.run()
    link = outcomes["welfare_1034_20240101.csv"]
    assert link.status == "rejected" and "symbolic link" in link.message and "not read" in link.message
    assert outcomes[WELFARE.name].status == "loaded"
    assert not night.ledger(link.file_name)  # not ledgered: it has no bytes of its own
    assert all(p.read_bytes() != key.read_bytes() for p in night.archived())  # not archived
    assert len(night.archived()) == 1
    assert not leaks(night.con, [SECRET, SECRET[:24]])


def test_a_link_to_etc_passwd_is_not_read_nor_archived(tmp_path: Path) -> None:
    night = Night(tmp_path)
    (night.inbox / "residents").mkdir()
    (night.inbox / "residents" / "residents_1034_20240101.csv").symlink_to("/etc/passwd")
    (night.inbox / "youth").symlink_to("/etc", target_is_directory=True)  # a linked folder
    outcomes = night.run()
    assert outcomes["residents_1034_20240101.csv"].status == "rejected"
    assert outcomes["youth"].status == "rejected" and "symbolic link" in outcomes["youth"].message
    assert night.archived() == []
    assert not leaks(night.con, [PASSWD_MARK, "/bin/"])


def test_a_named_pipe_is_rejected_without_waiting_for_a_writer(tmp_path: Path) -> None:
    night = Night(tmp_path)
    (night.inbox / "welfare").mkdir()
    os.mkfifo(night.inbox / "welfare" / "welfare_1034_20240101.csv")
    outcome = night.run()["welfare_1034_20240101.csv"]
    assert outcome.status == "rejected" and "named pipe" in outcome.message
    assert night.seconds < 5  # opening a pipe without a writer would block forever


def test_a_folder_named_like_a_data_file_is_rejected(tmp_path: Path) -> None:
    night = Night(tmp_path)
    (night.inbox / "welfare" / "welfare_1034_20240101.csv").mkdir(parents=True)
    outcome = night.run()["welfare_1034_20240101.csv"]
    assert outcome.status == "rejected" and "is a folder" in outcome.message


def test_the_home_and_the_archive_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "archive" / "youth").mkdir(parents=True)
    os.chmod(home, 0o755)
    os.chmod(home / "archive", 0o755)  # as earlier versions created it
    night = Night(tmp_path)
    (night.inbox / "youth").mkdir()
    shutil.copy(SAMPLE_INBOX / "youth" / "tzofim_1034_2016.csv", night.inbox / "youth")
    assert night.run()["tzofim_1034_2016.csv"].status == "loaded"
    assert private(home) and private(home / "archive")
    copies = night.archived()
    assert len(copies) == 1
    assert stat.S_IMODE(copies[0].stat().st_mode) == 0o600
    folder = copies[0].parent
    while folder != home:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        folder = folder.parent


# --------------------------------------------------------------------------- 3. limits before work


def test_a_stray_cell_at_xfd1048576_is_rejected_by_its_declared_dimension(tmp_path: Path) -> None:
    night = Night(tmp_path)
    path = raw_xlsx(night.inbox / "schools" / "achievement_1034_2024.xlsx", far_cell_rows(), "A1:XFD1048576")
    assert path.stat().st_size < 5_000
    outcome = night.run()[path.name]
    assert outcome.status == "rejected"
    assert "a sheet of the workbook declares 1,048,576 rows x 16,384 columns" in outcome.message
    assert "CI_METRICS_MAX_CELLS" in outcome.message
    assert night.seconds < 2


def test_a_stray_cell_without_a_dimension_crashes_only_the_isolated_reader(tmp_path: Path) -> None:
    """No dimension to check: python-calamine asks for 512 GiB and aborts, in the worker."""
    night = Night(tmp_path)
    path = raw_xlsx(night.inbox / "schools" / "achievement_1034_2024.xlsx", far_cell_rows(), None)
    shutil.copy(SCHOOL, night.inbox / "schools")  # read after it, by a new worker
    outcomes = night.run()
    assert outcomes[path.name].status == "rejected"
    assert "GiB of memory" in outcomes[path.name].message, outcomes[path.name].message
    assert outcomes[SCHOOL.name].status == "loaded"


def test_a_zip_bomb_is_rejected_by_its_compression_ratio(tmp_path: Path) -> None:
    night = Night(tmp_path)
    path = raw_xlsx(night.inbox / "schools" / "achievement_1034_2024.xlsx", bomb_rows(60_000), "A1:H60000")
    expanded = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    assert path.stat().st_size < 300_000 and expanded > 100 * path.stat().st_size
    outcome = night.run()[path.name]
    assert outcome.status == "rejected"
    assert "CI_METRICS_MAX_COMPRESSION_RATIO" in outcome.message
    assert night.seconds < 2


def test_a_workbook_expanding_beyond_the_limit_is_rejected_unread(tmp_path: Path) -> None:
    limits = InputLimits.from_settings(make_settings(tmp_path, max_uncompressed_mb=5))
    night = Night(tmp_path, limits)
    path = raw_xlsx(night.inbox / "schools" / "achievement_1034_2024.xlsx", bomb_rows(20_000), None)
    outcome = night.run()[path.name]
    assert outcome.status == "rejected" and "CI_METRICS_MAX_UNCOMPRESSED_MB" in outcome.message


def test_a_50_mb_header_line_is_rejected_in_milliseconds(tmp_path: Path) -> None:
    night = Night(tmp_path)
    path = night.inbox / "residents" / "residents_1034_20240101.csv"
    path.parent.mkdir()
    header = ",".join(["מספר זהות"] * 5_300_000).encode("cp1255")  # ~50 MB, one line
    path.write_bytes(header + b"\r\n" + "\r\n".join(residents_lines()).encode("cp1255"))
    assert path.stat().st_size > 50_000_000
    outcome = night.run()[path.name]
    assert outcome.status == "rejected"
    assert "line 1 is" in outcome.message and "CI_METRICS_MAX_LINE_BYTES" in outcome.message
    assert len(outcome.message) <= 400
    assert night.seconds < 5
    assert not leaks(night.con, IDS + NAMES)


def test_a_header_of_repeated_names_is_rejected_before_pandas_sees_it(tmp_path: Path) -> None:
    night = Night(tmp_path)
    folder = night.inbox / "residents"
    write_cp1255(folder / "residents_1034_20240101.csv", [",".join(["שכונה"] * 5_000), *residents_lines()])
    write_cp1255(
        folder / "residents_1034_20240102.csv", [RESIDENTS_HEADER + ",מספר זהות", *residents_lines()]
    )
    outcomes = night.run()
    wide = outcomes["residents_1034_20240101.csv"]
    assert (
        wide.status == "rejected"
        and "5,000 columns" in wide.message
        and "CI_METRICS_MAX_COLUMNS" in wide.message
    )
    twice = outcomes["residents_1034_20240102.csv"]
    assert twice.status == "rejected" and "'מספר זהות' more than once" in twice.message
    assert night.seconds < 5


def test_a_file_beyond_the_size_limit_is_ledgered_but_not_read(tmp_path: Path) -> None:
    limits = InputLimits.from_settings(make_settings(tmp_path, max_file_mb=0.1))
    night = Night(tmp_path, limits)
    (night.inbox / "welfare").mkdir()
    shutil.copy(WELFARE, night.inbox / "welfare")
    outcome = night.run()[WELFARE.name]
    assert outcome.status == "rejected" and "CI_METRICS_MAX_FILE_MB" in outcome.message
    ((status, _, archived),) = night.ledger(WELFARE.name)
    assert status == "rejected" and archived == ""  # known by its bytes next time, never copied
    assert night.archived() == []


def test_the_reader_worker_survives_a_crash_and_keeps_serving(tmp_path: Path) -> None:
    crash = raw_xlsx(tmp_path / "crash.xlsx", far_cell_rows(), None).read_bytes()
    sound = SCHOOL.read_bytes()
    from ci_metrics.ingest.isolation import SheetReadError

    with pytest.raises(SheetReadError, match="GiB of memory"):
        read_workbook(crash, "first", memory_bytes=1 << 30, max_cells=10**8, timeout=60)
    ((_, rows),) = read_workbook(sound, "first", memory_bytes=1 << 30, max_cells=10**8, timeout=60)
    assert len(rows) > 1000


def test_a_workbook_that_takes_too_long_is_stopped_and_the_next_one_is_read() -> None:
    from ci_metrics.ingest.isolation import SheetReadError

    data = (SAMPLE_INBOX / "schools" / "achievement_1034_2021.xlsx").read_bytes()
    with pytest.raises(SheetReadError, match="took longer than"):
        read_workbook(data, "first", memory_bytes=1 << 30, max_cells=10**8, timeout=0.001)
    ((_, rows),) = read_workbook(data, "first", memory_bytes=1 << 30, max_cells=10**8, timeout=60)
    assert len(rows) > 1000


def test_the_reader_worker_never_sees_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from ci_metrics.ingest import isolation

    isolation.shutdown()
    monkeypatch.setenv("CI_METRICS_PSEUDONYM_KEY", SECRET)
    read_workbook(SCHOOL.read_bytes(), "first", memory_bytes=1 << 30, max_cells=10**8, timeout=60)
    pid = isolation.worker_pid(1 << 30)
    assert pid is not None
    environment = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"PATH=" in environment and SECRET.encode() not in environment


# --------------------------------------------------------------------------- 4. a bad cell rejects its row


def test_an_id_in_arabic_indic_digits_rejects_only_its_row(tmp_path: Path) -> None:
    sample = SAMPLE_INBOX / "youth" / "tzofim_1034_2016.csv"  # utf-8: any digit can be written
    before = Night(tmp_path / "before")
    shutil.copytree(
        sample.parent, before.inbox / "youth", ignore=lambda _, names: [n for n in names if n != sample.name]
    )
    baseline = before.run()[sample.name]
    night = Night(tmp_path / "after")
    lines = sample.read_text(encoding="utf-8").splitlines()
    first_id = lines[1].split(",")[0]
    lines[1] = arabic_indic(first_id) + lines[1][len(first_id) :]
    (night.inbox / "youth").mkdir()
    (night.inbox / "youth" / sample.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome = night.run()[sample.name]
    assert outcome.status == "loaded"
    assert outcome.rows_read == baseline.rows_read
    assert outcome.rows_rejected == baseline.rows_rejected + 1
    (reject,) = [r for r in night.rejects(sample.name) if r[0] == 2]
    assert "not 1-9 digits" in reject[2] and reject[3].endswith(arabic_indic(first_id)[-2:])
    assert not leaks(night.con, [arabic_indic(first_id), first_id])


def test_a_20_digit_integer_rejects_only_its_row(tmp_path: Path) -> None:
    night = Night(tmp_path)
    welfare_with(night.inbox / "welfare" / "welfare_1034_20240101.csv", "מספר נפשות", "12345678901234567890")
    outcome = night.run()["welfare_1034_20240101.csv"]
    assert (outcome.status, outcome.rows_read, outcome.rows_rejected) == ("loaded", 40, 1)
    ((row, _, reason, value),) = night.rejects(outcome.file_name)
    assert row == 2 and "out of range" in reason and value.endswith("90") and "1234567" not in value
    assert night.con.execute("select min(persons) from raw.welfare_files").fetchone()[0] >= 0


def test_inf_in_a_numeric_column_rejects_only_its_row(tmp_path: Path) -> None:
    night = Night(tmp_path)
    welfare_with(night.inbox / "welfare" / "welfare_1034_20240101.csv", "מספר נפשות", "inf")
    lines = (SAMPLE_INBOX / "surveys" / "survey_1034_2021.csv").read_text(encoding="utf-8").splitlines()[:31]
    at = lines[0].split(",").index("weight")
    for n, text in ((1, "inf"), (2, "1e999"), (3, "NaN")):
        cells = lines[n].split(",")
        cells[at] = text
        lines[n] = ",".join(cells)
    (night.inbox / "surveys").mkdir()
    (night.inbox / "surveys" / "survey_1034_2024.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcomes = night.run()
    welfare = outcomes["welfare_1034_20240101.csv"]
    assert (welfare.rows_read, welfare.rows_rejected) == (40, 1)
    survey = outcomes["survey_1034_2024.csv"]
    assert (survey.rows_read, survey.rows_rejected) == (30, 3)
    reasons = [r[2] for r in night.rejects(survey.file_name)]
    assert reasons == ["weight is not a finite number"] * 3
    assert night.con.execute(
        "select count(*) from raw.survey_responses where not isfinite(weight)"
    ).fetchone() == (0,)


# --------------------------------------------------------------------------- a whole night


def hostile_inbox(inbox: Path, key: Path) -> dict[str, str]:
    """Every hostile file at once: name -> a word its rejection must say."""
    expect = {}
    write_cp1255(inbox / "residents" / "residents_1034_20240101.csv", residents_lines())
    expect["residents_1034_20240101.csv"] = "None of its 11 cells"
    school_without_title_rows(inbox / "schools" / "achievement_1034_2030.xlsx")
    expect["achievement_1034_2030.xlsx"] = "the header is on row 1"
    (inbox / "welfare").mkdir(parents=True, exist_ok=True)
    (inbox / "welfare" / "welfare_1034_20240101.csv").symlink_to(key)
    expect["welfare_1034_20240101.csv"] = "symbolic link"
    (inbox / "residents" / "residents_1034_20240102.csv").symlink_to("/etc/passwd")
    expect["residents_1034_20240102.csv"] = "symbolic link"
    os.mkfifo(inbox / "welfare" / "welfare_1034_20240102.csv")
    expect["welfare_1034_20240102.csv"] = "named pipe"
    raw_xlsx(inbox / "schools" / "achievement_1034_2031.xlsx", far_cell_rows(), "A1:XFD1048576")
    expect["achievement_1034_2031.xlsx"] = "CI_METRICS_MAX_CELLS"
    raw_xlsx(inbox / "schools" / "achievement_1034_2032.xlsx", far_cell_rows(), None)
    expect["achievement_1034_2032.xlsx"] = "GiB of memory"
    raw_xlsx(inbox / "schools" / "achievement_1034_2033.xlsx", bomb_rows(60_000), "A1:H60000")
    expect["achievement_1034_2033.xlsx"] = "CI_METRICS_MAX_COMPRESSION_RATIO"
    path = inbox / "residents" / "residents_1034_20240103.csv"
    path.write_bytes(",".join(["מספר זהות"] * 300_000).encode("cp1255") + b"\r\n")
    expect[path.name] = "CI_METRICS_MAX_LINE_BYTES"
    return expect


def test_a_night_with_every_hostile_file_publishes_the_sound_data_and_leaks_nothing(
    copy_of_home, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = copy_of_home
    key = settings.resolved_key_file
    key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key.write_text(TEST_KEY + "\n", encoding="ascii")  # the key in use (also in the environment)
    os.chmod(key, 0o600)
    os.chmod(settings.archive_dir, 0o755)  # as earlier versions left it
    inbox = tmp_path / "inbox"
    expect = hostile_inbox(inbox, key)
    # the sound file: the partner's corrected youth file (three members removed)
    sound = SAMPLE_INBOX / "youth" / "tzofim_1034_2021.csv"
    lines = sound.read_text(encoding="utf-8").splitlines()
    (inbox / "youth").mkdir()
    (inbox / "youth" / sound.name).write_text("\n".join(lines[:-3]) + "\n", encoding="utf-8")

    record = run_flow(settings, inbox)

    assert record.status == "succeeded" and record.published, (record.failures, record.message)
    files = {f.file_name: f for f in record.files}
    assert files[sound.name].status == "replaced"
    for name, word in expect.items():
        assert files[name].status == "rejected", name
        assert word in files[name].message, (name, files[name].message)
        assert len(files[name].message) <= 400
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        loaded = con.execute(
            "select count(*) from raw.youth_members where _file_name = ? and _run_id = ?",
            [sound.name, record.run_id],
        ).fetchone()[0]
        assert loaded == len(lines) - 4
        needles = [*IDS, *NAMES, "29/02/1904", TEST_KEY, TEST_KEY[9:30], PASSWD_MARK]
        assert not leaks(con, needles)
    finally:
        con.close()
    # the run record, every text file the run wrote (logs, Data Docs, extracts, report)
    written = [
        p
        for p in settings.root.rglob("*")
        if p.is_file()
        and "archive" not in p.relative_to(settings.root).parts
        and p != key
        and p.suffix not in (".duckdb", ".wal")
    ]
    assert any(p.suffix == ".json" and p.parent.name == "runs" for p in written)
    texts = [p.read_bytes().decode("utf-8", "replace") for p in written]
    assert not in_text(texts, needles)
    # stdout and stderr of the run, and Prefect's log database
    out, err = capfd.readouterr()
    assert not in_text([out, err], needles)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[record.flow_run_id])), limit=200
        )
    assert logs, "the run's logs are in Prefect's database"
    assert not in_text([log.message for log in logs], needles)
    # the archive: private, and holding neither the key nor /etc/passwd
    assert private(settings.root) and private(settings.archive_dir)
    for path in settings.archive_dir.rglob("*"):
        if path.is_file():
            assert (
                stat.S_IMODE(path.stat().st_mode) == 0o600
                or path.stat().st_mtime < record.started_at.timestamp()
            )
            data = path.read_bytes()
            assert TEST_KEY.encode() not in data and PASSWD_MARK.encode() not in data
    json.loads((settings.root / "runs" / f"{record.run_id}.json").read_text(encoding="utf-8"))
