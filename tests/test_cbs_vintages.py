"""CBS workbooks of every vintage, each loaded or failed on its own.

The variants are built at test time from the real 2021 files of ``data/cbs`` (openpyxl
rewrites sheet names and headers into a copy; LibreOffice converts a copy to the binary
``.xls`` of older editions): a renamed file, an ``.xls`` edition, an older edition whose
headers carry its year and whose populations are in thousands, an unrelated workbook, a
corrupt one, a corrected edition.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import TEST_KEY, require_program, run_flow

from ci_metrics.ingest.cbs import load_cbs_layout, recognise
from ci_metrics.ingest.cbs.files import cbs_candidates, cbs_tables, ingest_cbs
from ci_metrics.ingest.cbs.workbook import normalise_header, read_sheets
from ci_metrics.ingest.inbox import FileOutcome, Ingestor
from ci_metrics.ingest.layouts import load_layouts
from ci_metrics.ingest.pseudonyms import Pseudonymiser

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "data" / "cbs" / "p_libud_2021.xlsx"
SEI = ROOT / "data" / "cbs" / "24_22_375t1.xlsx"
PROFILE_SHEET = "נתונים פיזיים ונתוני אוכלוסייה"
KIRYAT_MALACHI = "1034"
KM_POPULATION_2021 = 25022


# --------------------------------------------------------------------------- building variants


def _soffice_to_xls(source: Path, outdir: Path) -> Path:
    soffice = require_program(
        "soffice",
        "bash scripts/install-system-deps.sh installs libreoffice-calc-nogui",
        locate=lambda: shutil.which("soffice") or shutil.which("libreoffice"),
    )
    cmd = [
        soffice,
        f"-env:UserInstallation=file://{outdir / 'lo_profile'}",
        "--headless",
        "--norestore",
        "--convert-to",
        "xls",
        "--outdir",
        str(outdir),
        str(source),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    target = outdir / (source.stem + ".xls")
    assert proc.returncode == 0 and target.exists(), proc.stderr
    return target


def _header_cell(ws, text: str):
    for row in ws.iter_rows(min_row=1, max_row=6):
        for cell in row:
            if normalise_header(cell.value) == text:
                return cell
    raise AssertionError(f"no header {text!r}")


@pytest.fixture(scope="session")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The workbooks the tests combine, built once: name -> path (under a private folder)."""
    out = tmp_path_factory.mktemp("cbs_variants")
    built: dict[str, Path] = {}

    # The 2021 profile saved under a name of the user's own.
    built["renamed_profile"] = out / "local authorities profile (downloaded).xlsx"
    shutil.copy(PROFILE, built["renamed_profile"])

    # The index table as the binary .xls the CBS published for years, under another name.
    work = out / "xls_work"
    work.mkdir()
    shutil.copy(SEI, work / "madad.xlsx")
    built["sei_xls"] = _soffice_to_xls(work / "madad.xlsx", out)

    # An older edition: another sheet name, no data-year row, the year on the code header
    # ("סמל הרשות 2009"), the population in thousands ("(אלפים)"); as .xls, named freely.
    book = openpyxl.load_workbook(PROFILE)
    ws = next(w for w in book.worksheets if w.title.strip() == PROFILE_SHEET)
    ws.title = "נתונים פיזיים ואוכלוסייה"
    ws.delete_rows(3)  # the data-year row ("שנת עדכון: 2021" and the columns' own years)
    _header_cell(ws, "סמל הרשות").value = "סמל הרשות 2009"
    population = _header_cell(ws, 'סה"כ אוכלוסייה בסוף השנה')
    population.value = 'סה"כ אוכלוסייה בסוף השנה (אלפים)'
    for (cell,) in ws.iter_rows(
        min_row=population.row + 2, min_col=population.column, max_col=population.column
    ):
        if isinstance(cell.value, (int, float)):
            cell.value = cell.value / 1000
    old = work / "profile_2009.xlsx"
    book.save(old)
    built["profile_2009_xls"] = _soffice_to_xls(old, out)

    # A workbook that is no CBS workbook at all.
    unrelated = openpyxl.Workbook()
    unrelated.active.title = "תקציב"
    unrelated.active.append(["סעיף", "סכום"])
    unrelated.active.append(["חינוך", 1200])
    built["unrelated"] = out / "budget notes.xlsx"
    unrelated.save(built["unrelated"])

    # A corrupt workbook: the first half of the profile's bytes.
    built["corrupt"] = out / "p_libud_2020.xlsx"
    built["corrupt"].write_bytes(PROFILE.read_bytes()[: PROFILE.stat().st_size // 2])

    # A corrected 2021 edition: Kiryat Malachi's population revised.
    book = openpyxl.load_workbook(PROFILE)
    ws = next(w for w in book.worksheets if w.title.strip() == PROFILE_SHEET)
    col = _header_cell(ws, 'סה"כ אוכלוסייה בסוף השנה').column
    code_col = _header_cell(ws, "סמל הרשות").column
    row = next(r for r in range(5, ws.max_row + 1) if str(ws.cell(r, code_col).value) == KIRYAT_MALACHI)
    ws.cell(row, col).value = KM_POPULATION_2021 + 100
    built["corrected_profile"] = out / "p_libud_2021_corrected.xlsx"
    book.save(built["corrected_profile"])
    return built


def _folder(tmp_path: Path, *paths: Path, name: str = "cbs") -> Path:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    for i, path in enumerate(paths):
        target = folder / path.name
        shutil.copy(path, target)
        os.utime(target, (time.time() - 1000 + i, time.time() - 1000 + i))  # arrival order
    return folder


def _ingestor(home: Path, run_id: str) -> Ingestor:
    con = duckdb.connect(str(home / "w.duckdb"))
    return Ingestor(
        con,
        home=home,
        archive_dir=home / "archive",
        layouts=load_layouts(),
        pseudonymise=Pseudonymiser(TEST_KEY.encode()),
        run_id=run_id,
    )


def _run(home: Path, folder: Path, run_id: str) -> dict[str, FileOutcome]:
    ing = _ingestor(home, run_id)
    try:
        return {o.file_name: o for o in ingest_cbs(ing, folder)}
    finally:
        ing.con.close()


def _query(home: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    with duckdb.connect(str(home / "w.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- recognition


def test_candidates_are_workbooks_of_every_format_never_links(tmp_path, variants):
    folder = _folder(tmp_path, SEI, variants["sei_xls"])
    (folder / "~$24_22_375t1.xlsx").write_bytes(b"lock")
    (folder / ".hidden.xlsx").write_bytes(b"x")
    (folder / "notes.txt").write_text("x")
    (folder / "link.xlsx").symlink_to(SEI)
    assert [p.name for p in cbs_candidates(folder)] == ["24_22_375t1.xlsx", "madad.xls"]


def test_recognised_by_content_not_by_name(variants):
    layout = load_cbs_layout()
    assert recognise(
        variants["renamed_profile"].name, read_sheets(variants["renamed_profile"]), layout
    ).name == ("local_authorities")
    assert recognise(variants["sei_xls"].name, read_sheets(variants["sei_xls"]), layout).name == (
        "socioeconomic_index"
    )
    # the name hints at the profile, the content is the index table: the content decides
    assert recognise(PROFILE.name, read_sheets(SEI), layout).name == "socioeconomic_index"


# --------------------------------------------------------------------------- loading, each on its own


def test_renamed_xls_and_older_edition_load_side_by_side(tmp_path, variants):
    """A renamed 2021 profile, an .xls index table and a 2009 edition (.xls, year-bearing
    headers, population in thousands) load together, each as its own edition."""
    folder = _folder(tmp_path, variants["renamed_profile"], variants["sei_xls"], variants["profile_2009_xls"])
    outcomes = _run(tmp_path, folder, "r1")
    assert {n: o.status for n, o in outcomes.items()} == dict.fromkeys(outcomes, "loaded"), outcomes

    editions = _query(
        tmp_path,
        "select _file_name, edition_year, min(data_year), max(data_year), count(distinct authority_code) "
        "from raw.cbs_local_authorities group by all order by 2",
    )
    assert [(e[0], e[1], e[4]) for e in editions] == [
        (variants["profile_2009_xls"].name, 2009, 255),
        (variants["renamed_profile"].name, 2021, 255),
    ]
    assert editions[0][2:4] == (2009, 2009)  # the older edition's figures are of its own year
    population = dict(
        _query(
            tmp_path,
            "select data_year, value from raw.cbs_local_authorities "
            "where authority_code = ? and measure = 'population'",
            [KIRYAT_MALACHI],
        )
    )
    assert population == {2009: KM_POPULATION_2021, 2021: KM_POPULATION_2021}  # thousands -> persons
    sei = _query(
        tmp_path,
        "select index_year, edition_year, cluster, rank, _file_name from raw.cbs_socioeconomic_index "
        "where authority_code = ?",
        [KIRYAT_MALACHI],
    )
    assert sei == [(2019, 2019, 4, 79, "madad.xls")]
    layouts = dict(_query(tmp_path, "select file_name, layout from ops.files where source = 'cbs'"))
    assert layouts == {
        variants["renamed_profile"].name: "local_authorities",
        "madad.xls": "socioeconomic_index",
        variants["profile_2009_xls"].name: "local_authorities",
    }


def test_unrelated_and_corrupt_workbooks_fail_alone(tmp_path, variants):
    folder = _folder(tmp_path, variants["unrelated"], variants["corrupt"], SEI)
    outcomes = _run(tmp_path, folder, "r1")

    unrelated = outcomes[variants["unrelated"].name]
    assert unrelated.status == "ignored"
    assert "matches no declared CBS workbook" in unrelated.message
    assert "local-authorities profile" in unrelated.message and "socio-economic index" in unrelated.message
    corrupt = outcomes[variants["corrupt"].name]
    assert corrupt.status == "rejected" and "not a readable workbook" in corrupt.message
    good = outcomes[SEI.name]
    assert (good.status, good.rows_loaded) == ("loaded", 255)
    assert "p_libud_2020" not in good.message  # the good one is not blamed

    statuses = dict(_query(tmp_path, "select file_name, status from ops.files where source = 'cbs'"))
    assert statuses == {
        variants["unrelated"].name: "ignored",
        variants["corrupt"].name: "rejected",
        SEI.name: "loaded",
    }
    rejected = _query(tmp_path, "select file_name from ops.rejects where source = 'cbs'")
    assert rejected == [(variants["corrupt"].name,)]
    assert _query(tmp_path, "select count(*) from raw.cbs_socioeconomic_index") == [(255,)]
    assert _query(tmp_path, "select count(*) from raw.cbs_local_authorities") == [(0,)]  # exists, empty
    assert sorted(cbs_tables()) == ["cbs_local_authorities", "cbs_socioeconomic_index"]
    # every workbook received is archived, byte for byte
    archived = {p.name: p for p in (tmp_path / "archive" / "cbs").rglob("*") if p.is_file()}
    assert _sha(archived[variants["unrelated"].name]) == _sha(variants["unrelated"])


def test_a_layout_error_rejects_that_workbook_only(tmp_path, variants):
    """A profile whose required column is gone is rejected with its reason; the index loads."""
    book = openpyxl.load_workbook(PROFILE)
    ws = next(w for w in book.worksheets if w.title.strip() == PROFILE_SHEET)
    ws.delete_cols(_header_cell(ws, "אחוז זכאים לתעודת בגרות מבין תלמידי כיתות יב").column)
    broken = tmp_path / "p_libud_2021.xlsx"
    book.save(broken)
    outcomes = _run(tmp_path, _folder(tmp_path, broken, SEI), "r1")
    assert outcomes[broken.name].status == "rejected"
    assert "bagrut_eligibility_pct" in outcomes[broken.name].message
    assert outcomes[SEI.name].status == "loaded"


def test_a_later_run_keeps_earlier_workbooks_and_supersedes_a_corrected_edition(tmp_path, variants):
    first = _run(tmp_path, _folder(tmp_path, PROFILE, SEI, name="night1"), "r1")
    assert {o.status for o in first.values()} == {"loaded"}

    # night 2: the same two files and a corrected 2021 profile
    second = _run(
        tmp_path, _folder(tmp_path, PROFILE, SEI, variants["corrected_profile"], name="night2"), "r2"
    )
    assert second[PROFILE.name].status == "skipped"
    assert second[SEI.name].status == "skipped"
    corrected = second[variants["corrected_profile"].name]
    assert corrected.status == "replaced" and PROFILE.name in corrected.message

    files = {
        r[0]: r[1:]
        for r in _query(
            tmp_path, "select file_name, status, superseded_by from ops.files where source = 'cbs'"
        )
    }
    new_id = _sha(variants["corrected_profile"])
    assert files[PROFILE.name] == ("superseded", new_id)
    assert files[variants["corrected_profile"].name] == ("loaded", None)
    assert files[SEI.name] == ("loaded", None)
    assert _query(tmp_path, "select distinct _file_id from raw.cbs_local_authorities") == [(new_id,)]
    assert _query(
        tmp_path,
        "select value from raw.cbs_local_authorities where authority_code = ? and measure = 'population'",
        [KIRYAT_MALACHI],
    ) == [(KM_POPULATION_2021 + 100,)]
    assert _query(tmp_path, "select count(*) from raw.cbs_socioeconomic_index") == [(255,)]  # kept


# --------------------------------------------------------------------------- through a real run


@pytest.mark.pipeline
def test_unrelated_workbook_is_ignored_and_the_night_publishes(copy_of_home, tmp_path, variants, monkeypatch):
    settings = copy_of_home
    folder = _folder(tmp_path, PROFILE, SEI, variants["unrelated"], variants["profile_2009_xls"])
    monkeypatch.setenv("CI_METRICS_CBS_DIR", str(folder))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    record = run_flow(settings, inbox)
    assert record.status == "succeeded", record.failures
    cbs = {f.file_name: f for f in record.files if f.source == "cbs"}
    assert cbs[variants["unrelated"].name].status == "ignored"
    assert "matches no declared CBS workbook" in cbs[variants["unrelated"].name].message
    assert cbs[variants["profile_2009_xls"].name].status == "loaded"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        years = con.execute(
            "select data_year, value, sei_cluster from marts.peer_comparison "
            "where authority_code = ? and measure = 'population' order by 1",
            [KIRYAT_MALACHI],
        ).fetchall()
    assert [y[:2] for y in years] == [(2009, KM_POPULATION_2021), (2021, KM_POPULATION_2021)]
