"""Ingestion of the six partner sources: counts against the files, rejects with reasons,
nothing lost, nothing counted twice, no personal data past the door."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import SAMPLE_INBOX, TEST_KEY

from ci_metrics.ingest.inbox import Ingestor
from ci_metrics.ingest.layouts import load_layouts
from ci_metrics.ingest.pseudonyms import Pseudonymiser

ENCODINGS = {"residents": "cp1255", "welfare": "cp1255", "surveys": "utf-8", "early_childhood": "utf-8-sig"}
DELIMITERS = {"early_childhood": ";"}
CLOSING_LINES = {"early_childhood": 'סה"כ ילדים'}
"""First cell of a CSV's closing total line: not a data row (the layout filters it out)."""
YOUTH_ENCODINGS = {"tzofim": "utf-8", "hanoar_haoved": "cp1255", "ezra": "utf-8-sig"}
ID_HEADERS = {
    "מספר זהות",
    "מספר זהות תלמיד",
    "ת.ז.",
    "id_number",
    "מספר תעודת זהות",
    "תז",
    "ID",
    "ת.ז. ראש משפחה",
    "מספר זהות ילד",
}
NAME_HEADERS = {"שם פרטי", "שם משפחה", "first_name", "last_name", "שם מלא", "שם", "Name"}


def _id_ok(text: str) -> bool:
    """The check digit, written again here independently of the code under test."""
    text = text.strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or len(text) > 9:
        return False
    total = 0
    for i, ch in enumerate(text.zfill(9)):
        d = int(ch) * (1 if i % 2 == 0 else 2)
        total += d // 10 + d % 10
    return total % 10 == 0


def read_rows(path: Path) -> list[dict[str, str]]:
    """Every data row of a sample file, as text, read without the code under test."""
    source = path.parent.name
    if path.suffix == ".xlsx":
        ws = openpyxl.load_workbook(path, read_only=True).active
        rows = [["" if c is None else str(c) for c in r] for r in ws.iter_rows(values_only=True)]
        header_at = 2 if source == "schools" else 0
        header = rows[header_at]
        body = []
        for r in rows[header_at + 1 :]:
            if not any(r):
                if source == "schools":
                    break
                continue
            body.append(dict(zip(header, r, strict=False)))
        return body
    encoding = ENCODINGS.get(source) or YOUTH_ENCODINGS[path.name.rsplit("_", 2)[0]]
    text = path.read_bytes().decode(encoding)
    rows = list(csv.DictReader(io.StringIO(text), delimiter=DELIMITERS.get(source, ",")))
    if source in CLOSING_LINES:
        assert next(iter(rows[-1].values())) == CLOSING_LINES[source], path.name
        rows = rows[:-1]
    return rows


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLE_INBOX.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def warehouse(published_warehouse: Path):
    con = duckdb.connect(str(published_warehouse), read_only=True)
    yield con
    con.close()


def test_every_sample_file_is_loaded_and_counted(warehouse) -> None:
    files = {
        r[0]: r[1:]
        for r in warehouse.execute(
            "select file_name, status, rows_read, rows_loaded, rows_rejected from ops.files"
        ).fetchall()
    }
    for path in sample_files():
        rows = read_rows(path)
        bad_ids = 0
        for row in rows:
            id_values = [v for k, v in row.items() if k in ID_HEADERS]
            bad_ids += bool(id_values) and not _id_ok(str(id_values[0]))  # surveys carry no ID
        status, read, loaded, rejected = files[path.name]
        assert status == "loaded", path.name
        assert read == len(rows) + (path.parent.name in CLOSING_LINES), path.name
        assert loaded + rejected == len(rows), path.name
        assert rejected == bad_ids, f"{path.name}: {rejected} rejected, {bad_ids} IDs fail the check digit"


def test_raw_tables_hold_one_row_per_accepted_source_row(warehouse) -> None:
    tables = {
        "residents": "residents",
        "schools": "school_achievement",
        "youth": "youth_members",
        "welfare": "welfare_files",
        "surveys": "survey_responses",
        "early_childhood": "early_childhood_enrolments",
    }
    for source, table in tables.items():
        expected = warehouse.execute(
            "select sum(rows_loaded) from ops.files where source = ? and status = 'loaded'", [source]
        ).fetchall()[0][0]
        got = warehouse.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
        assert got == expected, table
        lineage = warehouse.execute(
            f"select count(*) from raw.{table} "
            "where _file_id is null or _row_number is null or _file_name is null"
        ).fetchall()[0][0]
        assert lineage == 0


def test_each_bad_id_is_a_reject_with_file_row_and_masked_value(warehouse) -> None:
    rejects = warehouse.execute(
        "select file_name, row_number, reason, value from ops.rejects order by file_name, row_number"
    ).fetchall()
    assert rejects, "the sample has IDs failing their check digit"
    for file_name, row_number, reason, value in rejects:
        assert row_number >= 2, file_name
        assert "check digit" in reason
        assert value.startswith("*") and sum(ch.isdigit() for ch in value) <= 2
    # Row numbers are those a person sees: the school file's header is on row 3.
    path = SAMPLE_INBOX / "schools" / "achievement_1034_2016.xlsx"
    ws = openpyxl.load_workbook(path, read_only=True).active
    sheet_rows = {i: r for i, r in enumerate(ws.iter_rows(values_only=True), start=1)}
    for file_name, row_number, _, value in rejects:
        if file_name == path.name:
            cell = str(sheet_rows[row_number][2]).removesuffix(".0")
            assert not _id_ok(cell) and cell.endswith(value[-2:])


def _personal_values() -> tuple[set[str], set[str]]:
    ids, names = set(), set()
    for path in sample_files():
        for row in read_rows(path):
            for key, value in row.items():
                value = str(value).strip().removesuffix(".0")
                if not value:
                    continue
                if key in ID_HEADERS:
                    ids.add(value)
                    ids.add(value.zfill(9))
                elif key in NAME_HEADERS:
                    names.add(value)
    return ids, names


def test_no_id_or_name_reaches_any_table(warehouse) -> None:
    ids, names = _personal_values()
    assert len(ids) > 10_000 and len(names) > 50
    # Names are also first names such as "משה"; a neighborhood can legitimately be named
    # after a person, so a name counts as found only as a whole cell value.
    columns = warehouse.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR' and column_name <> 'locality_name'"  # CBS town names are public
    ).fetchall()
    assert len(columns) > 40
    leaks = []
    for schema, table, column in columns:
        values = {
            r[0]
            for r in warehouse.execute(
                f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
            ).fetchall()
        }
        found_ids = [v for v in values if v in ids or any(tok in ids for tok in v.replace(",", " ").split())]
        found_names = [v for v in values if v in names]
        if found_ids or found_names:
            leaks.append((schema, table, column, len(found_ids), len(found_names)))
    assert not leaks, leaks


def test_no_id_or_name_in_logs_results_or_docs(sample_run) -> None:
    settings, _ = sample_run
    ids, names = _personal_values()
    long_names = {n for n in names if len(n) >= 6 and " " in n}
    scanned = 0
    for path in settings.root.rglob("*"):
        if not path.is_file() or "archive" in path.relative_to(settings.root).parts:
            continue
        if path.suffix in (".duckdb", ".wal") or path.stat().st_size > 20_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        scanned += 1
        tokens = set(text.replace('"', " ").replace(",", " ").replace("'", " ").split())
        assert not (tokens & {i for i in ids if len(i) == 9}), path
        assert not [n for n in long_names if n in text], path
    assert scanned > 10


def test_welfare_reason_is_kept_only_as_a_category(warehouse) -> None:
    cats = {
        r[0] for r in warehouse.execute("select distinct referral_category from raw.welfare_files").fetchall()
    }
    assert cats <= {"economic", "family", "disability", "elderly", "addiction", "other"}
    assert "elderly" in cats and "family" in cats


def test_archive_keeps_every_file_unchanged(sample_run, warehouse) -> None:
    settings, _ = sample_run
    archived = dict(warehouse.execute("select file_name, archived_path from ops.files").fetchall())
    for path in sample_files():
        copy = settings.root / archived[path.name]
        assert copy.read_bytes() == path.read_bytes()


def test_key_file_is_private_and_outside_the_warehouse(tmp_path: Path) -> None:
    from ci_metrics.ingest.key import key_file_is_private, load_or_create_key
    from ci_metrics.settings import Settings

    settings = Settings(home=tmp_path, pseudonym_key=None)
    key = load_or_create_key(settings)
    assert len(key) >= 32
    assert key_file_is_private(settings.resolved_key_file)
    assert load_or_create_key(settings) == key
    assert settings.warehouse_dir not in settings.resolved_key_file.parents


# -- bad input, without the flow: fast ------------------------------------------------------


def _ingestor(tmp_path: Path, run_id: str = "r1") -> tuple[Ingestor, duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ing = Ingestor(
        con,
        home=tmp_path,
        archive_dir=tmp_path / "archive",
        layouts=load_layouts(),
        pseudonymise=Pseudonymiser(TEST_KEY.encode()),
        run_id=run_id,
    )
    return ing, con


def test_unreadable_files_are_rejected_whole_and_the_rest_loads(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for source in ("schools", "youth", "surveys"):
        (inbox / source).mkdir(parents=True)
    shutil.copy(SAMPLE_INBOX / "youth" / "tzofim_1034_2016.csv", inbox / "youth")
    (inbox / "schools" / "achievement_1034_2022.xlsx").write_bytes(b"")  # empty
    good = (SAMPLE_INBOX / "schools" / "achievement_1034_2016.xlsx").read_bytes()
    (inbox / "schools" / "achievement_1034_2023.xlsx").write_bytes(good[: len(good) // 2])  # truncated
    (inbox / "schools" / "achievement_1034_2024.xlsx").write_text("this is not a spreadsheet")
    (inbox / "surveys" / "survey_1034_2022.csv").write_text(
        "a,b,c\n1,2,3\n", encoding="utf-8"
    )  # unknown layout
    (inbox / "youth" / "minutes of the meeting.docx").write_bytes(b"PK\x03\x04 not data")
    (inbox / "misc").mkdir()
    (inbox / "misc" / "x.csv").write_text("x\n1\n")

    ing, con = _ingestor(tmp_path)
    summary = ing.ingest_inbox(inbox)
    by_name = {o.file_name: o for o in summary.outcomes}
    assert by_name["tzofim_1034_2016.csv"].status == "loaded"
    assert "empty" in by_name["achievement_1034_2022.xlsx"].message
    assert "not a readable xlsx" in by_name["achievement_1034_2023.xlsx"].message
    assert "not a readable xlsx" in by_name["achievement_1034_2024.xlsx"].message
    assert "unknown layout" in by_name["survey_1034_2022.csv"].message
    assert "'Response ID'" in by_name["survey_1034_2022.csv"].message
    assert "no layout" in by_name["minutes of the meeting.docx"].message
    assert "not a source folder" in by_name["x.csv"].message
    rejected = {
        r[0]: r[1]
        for r in con.execute("select file_name, reason from ops.rejects where row_number is null").fetchall()
    }
    assert set(rejected) == {o.file_name for o in summary.outcomes if o.status == "rejected"}
    assert len(rejected) == 6
    # nothing lost: every file is archived and ledgered
    ledger = con.execute("select count(*) from ops.files").fetchall()[0][0]
    assert ledger == 7
    assert len([p for p in (tmp_path / "archive").rglob("*") if p.is_file()]) == 7


def test_bad_rows_are_rejected_with_file_row_and_reason(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox" / "residents"
    inbox.mkdir(parents=True)
    lines = (
        (SAMPLE_INBOX / "residents" / "residents_1034_20220105.csv")
        .read_bytes()
        .decode("cp1255")
        .splitlines()
    )
    header, rows = lines[0], lines[1:6]
    cells = rows[1].split(",")
    cells[3] = "31/02/2001"  # no such date
    rows[1] = ",".join(cells)
    cells = rows[2].split(",")
    cells[4] = "X"  # sex not ז/נ
    rows[2] = ",".join(cells)
    cells = rows[3].split(",")
    cells[0] = "12ab"
    rows[3] = ",".join(cells)
    (inbox / "residents_1034_20230101.csv").write_bytes(
        ("\r\n".join([header, *rows]) + "\r\n").encode("cp1255")
    )
    ing, con = _ingestor(tmp_path)
    summary = ing.ingest_inbox(tmp_path / "inbox")
    outcome = summary.outcomes[0]
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected) == (5, 2, 3)
    rejects = con.execute("select row_number, reason, value from ops.rejects order by row_number").fetchall()
    assert rejects[0][0] == 3 and "תאריך לידה" in rejects[0][1] and "DD/MM/YYYY" in rejects[0][1]
    assert rejects[0][2] == "31/02/2001"
    assert rejects[1][0] == 4 and "ז / נ" in rejects[1][1]
    assert rejects[2][0] == 5 and "not 1-9 digits" in rejects[2][1] and "12" not in rejects[2][2][:-2]


def test_same_bytes_under_another_name_are_not_loaded_twice(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox" / "youth"
    inbox.mkdir(parents=True)
    shutil.copy(SAMPLE_INBOX / "youth" / "tzofim_1034_2016.csv", inbox)
    ing, con = _ingestor(tmp_path)
    ing.ingest_inbox(tmp_path / "inbox")
    shutil.copy(inbox / "tzofim_1034_2016.csv", inbox / "tzofim_1034_2016 (1).csv")
    ing.run_id = "r2"
    summary = ing.ingest_inbox(tmp_path / "inbox")
    assert [o.status for o in summary.outcomes] == ["skipped", "skipped"]
    copy = next(o for o in summary.outcomes if o.file_name == "tzofim_1034_2016 (1).csv")
    assert "same bytes as youth/tzofim_1034_2016.csv" in copy.message
    assert con.execute("select count(*) from raw.youth_members").fetchall()[0][0] == 225


def test_corrected_file_under_the_same_name_replaces_its_rows(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox" / "youth"
    inbox.mkdir(parents=True)
    original = (SAMPLE_INBOX / "youth" / "tzofim_1034_2016.csv").read_text(encoding="utf-8").splitlines()
    (inbox / "tzofim_1034_2016.csv").write_text("\n".join(original) + "\n", encoding="utf-8")
    ing, con = _ingestor(tmp_path)
    ing.ingest_inbox(tmp_path / "inbox")
    corrected = original[:-10]  # the partner removed ten members who were listed by mistake
    (inbox / "tzofim_1034_2016.csv").write_text("\n".join(corrected) + "\n", encoding="utf-8")
    ing.run_id = "r2"
    summary = ing.ingest_inbox(tmp_path / "inbox")
    assert summary.outcomes[0].status == "replaced"
    assert con.execute("select count(*) from raw.youth_members").fetchall()[0][0] == 225 - 10
    statuses = sorted(r[0] for r in con.execute("select status from ops.files").fetchall())
    assert statuses == ["loaded", "superseded"]


def test_files_still_being_written_wait_for_the_next_run(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox" / "youth"
    inbox.mkdir(parents=True)
    (inbox / "tzofim_1034_2016.csv.part").write_text("id_number,first")
    ing, con = _ingestor(tmp_path)
    summary = ing.ingest_inbox(tmp_path / "inbox")
    assert summary.outcomes[0].status == "waiting"
    assert con.execute("select count(*) from ops.files").fetchall()[0][0] == 0


def test_a_new_youth_movement_is_a_new_layout_file_not_new_code(tmp_path: Path) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "bnei_hamoshavim.yml").write_text(
        """
name: bnei_hamoshavim
source: youth
table: youth_members
file_pattern: 'bnei_hamoshavim_(?P<locality>\\d+)_(?P<period>\\d{4})\\.csv'
format: csv
encoding: utf-8
constants: {movement: bnei_hamoshavim}
columns:
  member_key: {header: זהות, type: national_id}
  full_name:  {header: שם, type: drop}
  birth_date: {header: לידה, type: date, formats: ['%d.%m.%Y']}
  is_active:  {header: 'פעיל?', type: flag, true_values: ['1'], false_values: ['0']}
""",
        encoding="utf-8",
    )
    inbox = tmp_path / "inbox" / "youth"
    inbox.mkdir(parents=True)
    (inbox / "bnei_hamoshavim_1034_2021.csv").write_text(
        "זהות,שם,לידה,פעיל?\n000000018,דנה,01.02.2008,1\n000000026,רון,03.04.2009,0\n", encoding="utf-8"
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ing = Ingestor(
        con,
        home=tmp_path,
        archive_dir=tmp_path / "archive",
        layouts=load_layouts(layouts),
        pseudonymise=Pseudonymiser(TEST_KEY.encode()),
        run_id="r1",
    )
    summary = ing.ingest_inbox(tmp_path / "inbox")
    assert summary.outcomes[0].status == "loaded", summary.outcomes[0].message
    rows = con.execute(
        "select movement, birth_date::varchar, is_active from raw.youth_members order by birth_date"
    ).fetchall()
    assert rows == [("bnei_hamoshavim", "2008-02-01", True), ("bnei_hamoshavim", "2009-04-03", False)]


def test_an_invalid_layout_is_a_clear_error(tmp_path: Path) -> None:
    from ci_metrics.ingest.layouts import LayoutError

    (tmp_path / "broken.yml").write_text(
        "name: broken\nsource: youth\ntable: x\nformat: csv\n"
        "file_pattern: 'x_(?P<locality>\\d+)'\ncolumns: {}\n"
    )
    with pytest.raises(LayoutError, match=r"broken\.yml"):
        load_layouts(tmp_path)


def test_pseudonym_is_the_keyed_hash_of_the_id_and_depends_on_the_key() -> None:
    """The pseudonym is HMAC-SHA-256(key, 9-digit ID), recomputed here independently: an
    unkeyed hash (which anyone could recompute from a list of IDs) or a plain ID fails."""
    import hashlib
    import hmac

    import pandas as pd

    ids = pd.Series(["000000018", "123456782", None], dtype="string")
    keyed = Pseudonymiser(TEST_KEY.encode())(ids)
    for raw, got in zip(ids[:2], keyed[:2], strict=True):
        assert got == hmac.new(TEST_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()
        assert got != hashlib.sha256(raw.encode()).hexdigest()
    assert pd.isna(keyed[2])
    other = Pseudonymiser(b"another-key-of-enough-length-000")(ids)
    assert not set(other[:2]) & set(keyed[:2]), "another key gives other pseudonyms"
