"""Partners change: a file rejected once is retried when what judged it changes, a chosen file
is read again on demand, a fault in one source holds back only that source, and a change to
any code that shapes what is published reissues it. Each through a real run."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
from http.server import HTTPServer
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_INBOX, TEST_KEY, cli_env, run_flow
from test_operations import _Hook
from test_publish import sha

from ci_metrics.ingest.filesystem import inbox_entries
from ci_metrics.ingest.inbox import Ingestor
from ci_metrics.ingest.layouts import load_layouts
from ci_metrics.ingest.ledger import Verdict, needs_reading
from ci_metrics.ingest.pseudonyms import Pseudonymiser

NEW_MOVEMENT = """
name: hashomer_hatzair
source: youth
table: youth_members
file_pattern: 'hashomer_(?P<locality>\\d+)_(?P<period>\\d{4})\\.csv'
format: csv
encoding: utf-8
constants: {movement: hashomer_hatzair}
columns:
  member_key: {header: tz, type: national_id}
  first_name: {header: first, type: drop}
  last_name:  {header: last, type: drop}
  birth_date: {header: born, type: date, formats: ['%Y-%m-%d'], required: false}
  branch:     {header: ken, type: text, required: false}
  is_active:  {header: status, type: flag, true_values: [active], false_values: [inactive, left, suspended]}
"""


def new_movement_roster(inbox: Path) -> Path:
    """A new movement's first roster: the tzofim export under the movement's own headers."""
    lines = (SAMPLE_INBOX / "youth" / "tzofim_1034_2021.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    renamed = {"id_number": "tz", "first_name": "first", "last_name": "last", "birth_date": "born"}
    lines[0] = ",".join(renamed.get(h, "ken" if h == "troop" else h) for h in header)
    (inbox / "youth").mkdir(parents=True, exist_ok=True)
    path = inbox / "youth" / "hashomer_1034_2021.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def query(settings, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def archived_copies(settings, file_name: str) -> list[Path]:
    return sorted(settings.archive_dir.rglob(file_name))


# -- the ledger's rule, without a run -------------------------------------------------------


def _verdict(status: str, judge: str = "j1", name: str = "a.csv") -> Verdict:
    return Verdict("youth", name, status, None, None, judge, "why")  # type: ignore[arg-type]


def test_the_ledger_reads_again_only_what_its_judge_or_name_would_judge_anew() -> None:
    assert needs_reading(None, "youth", "a.csv", "j1")  # new bytes
    assert not needs_reading(_verdict("loaded"), "youth", "b.csv", "j2")  # loaded: never again
    assert not needs_reading(_verdict("superseded"), "youth", "a.csv", "j2")
    assert needs_reading(_verdict("loaded"), "youth", "a.csv", "j1", forced=True)  # reprocess
    assert not needs_reading(_verdict("rejected"), "youth", "a.csv", "j1")  # nothing changed
    assert needs_reading(_verdict("rejected"), "youth", "a.csv", "j2")  # a layout was added
    assert needs_reading(_verdict("rejected"), "youth", "renamed.csv", "j1")  # the clerk renamed it
    assert needs_reading(_verdict("ignored"), "youth", "a.csv", "j2")
    assert needs_reading(_verdict("held"), "youth", "a.csv", "j1")  # held: until its source passes


def test_a_file_that_vanishes_while_read_waits_and_is_not_rejected(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    path = new_movement_roster(inbox)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ing = Ingestor(
        con,
        home=tmp_path,
        archive_dir=tmp_path / "archive",
        layouts=load_layouts(),
        pseudonymise=Pseudonymiser(TEST_KEY.encode()),
        run_id="r1",
    )
    (entry,) = list(inbox_entries(inbox))
    path.unlink()  # moved away by the partner's upload tool between the listing and the read
    outcome = ing.ingest_file(entry.source, entry.path, entry)
    assert outcome.status == "waiting" and "next run" in outcome.message
    assert con.execute("select count(*) from ops.files").fetchall() == [(0,)]
    assert con.execute("select count(*) from ops.rejects").fetchall() == [(0,)]


# -- through real runs ----------------------------------------------------------------------


def test_a_file_rejected_for_want_of_a_layout_loads_once_the_layout_is_added(
    copy_of_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = copy_of_home
    inbox = tmp_path / "inbox"
    roster = new_movement_roster(inbox)
    received = roster.read_bytes()

    first = run_flow(settings, inbox)
    assert first.status == "succeeded", first.failures
    (rejected,) = [f for f in first.files if f.file_name == roster.name]
    assert rejected.status == "rejected" and "no layout" in rejected.message

    again = run_flow(settings, inbox)  # nothing changed: not read again, and said so
    assert again.message.startswith("nothing new")

    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "hashomer_hatzair.yml").write_text(NEW_MOVEMENT, encoding="utf-8")
    monkeypatch.setenv("CI_METRICS_LAYOUTS_DIR", str(layouts))  # the flow reads its settings there
    third = run_flow(settings, inbox)
    assert third.status == "succeeded", third.failures
    (loaded,) = [f for f in third.files if f.file_name == roster.name]
    rows = len(received.decode("utf-8").splitlines()) - 1
    assert loaded.status == "loaded" and loaded.rows_loaded == rows, loaded
    assert roster.read_bytes() == received  # the partner's bytes untouched
    (copy,) = archived_copies(settings, roster.name)
    assert copy.read_bytes() == received  # and archived as received, once
    assert query(settings, "select count(*) from raw.youth_members where movement = 'hashomer_hatzair'") == [
        (rows,)
    ]
    assert query(settings, "select status from ops.files where file_name = ?", [roster.name]) == [("loaded",)]


def test_reprocess_reads_a_chosen_file_again_from_the_archive(copy_of_home, tmp_path: Path) -> None:
    settings = copy_of_home
    name = "tzofim_1034_2021.csv"
    before = query(settings, "select count(*) from raw.youth_members where _file_name = ?", [name])
    empty = tmp_path / "inbox"
    (empty / "youth").mkdir(parents=True)  # the file is no longer in the inbox: the archive has it

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ci_metrics.cli", "reprocess", *args, "--inbox", str(empty)],
            env=cli_env(settings),
            capture_output=True,
            text=True,
            timeout=600,
        )

    nothing = cli("--rejected")
    assert nothing.returncode == 2 and "none is rejected" in nothing.stderr
    unknown = cli("no_such_file.csv")
    assert unknown.returncode == 2 and "no such file in the ledger" in unknown.stderr

    proc = cli(name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"youth/{name}" in proc.stdout and "SUCCEEDED" in proc.stdout
    runs = sorted((settings.root / "runs").glob("*.json"))
    record = json.loads(runs[-1].read_text(encoding="utf-8"))
    (again,) = [f for f in record["files"] if f["file_name"] == name]
    assert again["status"] == "loaded" and "from the archive" in again["message"]
    assert query(settings, "select run_id from ops.files where file_name = ?", [name]) == [
        (record["run_id"],)
    ]
    after = query(
        settings, "select count(*), min(_run_id) from raw.youth_members where _file_name = ?", [name]
    )
    assert after == [(before[0][0], record["run_id"])]  # its rows replaced, not doubled


def survey_with_a_repeated_response(inbox: Path) -> Path:
    """The 2021 survey re-sent with two responses under one response ID (a vendor's bug: an
    exact repeat would be removed by staging; this one is two different answers)."""
    lines = (SAMPLE_INBOX / "surveys" / "survey_1034_2021.csv").read_text(encoding="utf-8").splitlines()
    at = lines[0].split(",").index("Response ID")
    first, second = lines[1].split(","), lines[2].split(",")
    second[at] = first[at]
    lines[2] = ",".join(second)
    (inbox / "surveys").mkdir(parents=True, exist_ok=True)
    path = inbox / "surveys" / "survey_1034_2021.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_source_whose_new_file_breaks_its_staging_tests_is_held_while_the_others_publish(
    copy_of_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = copy_of_home
    inbox = tmp_path / "inbox"
    survey = survey_with_a_repeated_response(inbox)
    roster = inbox / "youth" / "tzofim_1034_2021.csv"  # a corrected roster from another partner
    roster.parent.mkdir(parents=True)
    lines = (SAMPLE_INBOX / "youth" / roster.name).read_text(encoding="utf-8").splitlines()
    roster.write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")
    surveys_before = query(settings, "select count(*) from raw.survey_responses where period = 2021")
    published = sha(settings.warehouse_path)

    http = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    _Hook.received.clear()
    try:
        monkeypatch.setenv("CI_METRICS_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{http.server_port}/hook")
        record = run_flow(settings, inbox)
    finally:
        http.shutdown()

    assert record.status == "succeeded" and record.published, record.failures
    assert sha(settings.warehouse_path) != published  # the youth correction is published
    assert query(settings, "select count(*) from raw.youth_members where _file_name = ?", [roster.name]) == [
        (len(lines) - 6,)
    ]
    (held,) = record.held
    assert held.source == "surveys" and held.files == [survey.name]
    assert any("unique_combination_of_columns_stg_surveys__responses" in c for c in held.checks), held.checks
    # the previously published survey stands, and the held file waits for the next run
    assert query(settings, "select count(*) from raw.survey_responses where period = 2021") == surveys_before
    status = query(
        settings,
        "select status, message from ops.files where file_name = ? and run_id = ?",
        [survey.name, record.run_id],
    )
    assert status[0][0] == "held" and "unique_combination" in status[0][1]
    (file_record,) = [f for f in record.files if f.file_name == survey.name]
    assert file_record.status == "held"
    # the alert names the source, the file and the failed check
    (hook,) = _Hook.received
    assert "held back: surveys" in hook["text"]
    (held_alert,) = hook["held"]
    assert held_alert["files"] == [survey.name]
    assert any("unique_combination" in c for c in held_alert["checks"])


def test_a_change_to_the_disclosure_code_alone_reissues_the_extracts(
    copy_of_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ci_metrics.pipeline import changes

    settings = copy_of_home
    untouched = run_flow(settings, SAMPLE_INBOX)
    assert untouched.message.startswith("nothing new")

    package = tmp_path / "ci_metrics"
    shutil.copytree(changes.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    disclosure = package / "share" / "extracts" / "disclosure.py"
    disclosure.write_text(disclosure.read_text(encoding="utf-8") + "\n# a fix\n", encoding="utf-8")
    monkeypatch.setattr(changes, "PACKAGE_DIR", package)

    record = run_flow(settings, SAMPLE_INBOX)
    assert record.status == "succeeded" and record.published, record.failures
    assert record.extracts, "the extracts were not reissued"
    digest = hashlib.sha256(disclosure.read_bytes()).hexdigest()
    assert digest  # the package copy is what the fingerprint read
    assert query(settings, "select count(*) from ops.publications where run_id = ?", [record.run_id]) == [
        (1,)
    ]


def test_an_analyst_adds_an_indicator_as_one_model_and_one_registry_row(
    copy_of_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's recipe, played by a test: in a copy of the project, one SQL model and one
    registry row (and the agreement that shares it); the next run carries the indicator to
    every place an indicator goes."""
    import csv

    from test_publish import copy_of_dbt_project

    from ci_metrics.settings import PROJECT_ROOT

    settings = copy_of_home
    project = copy_of_dbt_project(tmp_path / "project")
    new_id = "srv_stay_share_trial"
    (project / "models" / "marts" / "indicators" / f"ind_{new_id}.sql").write_text(
        "with\n\nfinal as (\n\n"
        f"    {{{{ weighted_survey_share(indicator_id='{new_id}', question='q_stay') }}}}\n\n"
        ")\n\nselect * from final\n",
        encoding="utf-8",
    )
    registry = project / "seeds" / "indicator_registry.csv"
    with registry.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    row = dict(next(r for r in rows if r["indicator_id"] == "srv_intent_to_stay"))
    row.update(
        indicator_id=new_id,
        name_he="כוונה להישאר בעיר (ניסיון)",
        name_en="Intent to stay (trial)",
        display_order=str(max(int(r["display_order"]) for r in rows) + 1),
    )
    with registry.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows([*rows, row])
    agreements = tmp_path / "agreements"
    shutil.copytree(PROJECT_ROOT / "agreements", agreements)
    public = agreements / "public.yml"
    text = public.read_text(encoding="utf-8")
    assert "  - srv_intent_to_stay\n" in text
    public.write_text(
        text.replace("  - srv_intent_to_stay\n", f"  - srv_intent_to_stay\n  - {new_id}\n"), encoding="utf-8"
    )
    monkeypatch.setenv("CI_METRICS_DBT_PROJECT_DIR", str(project))
    monkeypatch.setenv("CI_METRICS_AGREEMENTS_DIR", str(agreements))

    record = run_flow(settings, SAMPLE_INBOX)  # no new file: the code changed
    assert record.status == "succeeded" and record.published, record.failures
    assert query(
        settings, "select count(*) > 0 from marts.indicator_values where indicator_id = ?", [new_id]
    ) == [(True,)]
    assert query(
        settings, "select count(*) from marts.indicator_progress where indicator_id = ?", [new_id]
    ) == [(1,)]
    extracts = [p for p in settings.extracts_dir.rglob("*.csv") if "public" in p.parts]
    assert any(new_id in p.read_text(encoding="utf-8-sig") for p in extracts), extracts
    assert record.report and "כוונה להישאר בעיר (ניסיון)" in Path(record.report).read_text(encoding="utf-8")
