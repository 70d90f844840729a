"""Vintages, through real runs (issue 13): every published number keeps its history.

Night 1 is the session's sample run. Night 2 receives a corrected school file for 2019 (same
name, new bytes): the values it feeds change, and nothing else. Night 3 receives nothing new.
Then a full rebuild. Checked against the warehouse as each night left it, read independently
of the history models: the revisions are exactly the values that changed, with the corrected
file as their cause; ``sql --as-of`` between nights 1 and 2 answers with night 1's values;
night 3 and the full rebuild add no vintage; the partner's night-2 extract carries the
revisions; the report shows them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import SAMPLE_INBOX, cli_env, run_flow

KEY = ("indicator_id", "period", "locality_code", "dimension", "dimension_value")
CORRECTED = Path("schools") / "achievement_1034_2019.xlsx"


def correct_school_file(inbox: Path, pupils: int = 10) -> Path:
    """The education department re-sends 2019 with ``pupils`` grade-12 pupils now eligible
    for the bagrut (same file name, new bytes)."""
    path = inbox / CORRECTED
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    header = [c.value for c in sheet[3]]
    grade, eligible = header.index("שכבה"), header.index("זכאות לבגרות")
    changed = 0
    for row in sheet.iter_rows(min_row=4):
        if changed < pupils and row[grade].value == "יב" and row[eligible].value == "לא":
            row[eligible].value = "כן"
            changed += 1
    assert changed == pupils
    workbook.save(path)
    return path


def published_values(settings) -> dict[tuple, float | None]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute(f"select {', '.join(KEY)}, value from marts.indicator_values").fetchall()
    finally:
        con.close()
    return {tuple(r[:5]): r[5] for r in rows}


def query(settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return round(a, 6) != round(b, 6)


def sql_as_of(settings, when: str, sql: str) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "ci_metrics.cli", "sql", "--as-of", when, "--format", "json", sql],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_three_nights_keep_every_vintage(copy_of_home, tmp_path: Path) -> None:
    settings = copy_of_home
    night1 = published_values(settings)
    assert query(settings, "select count(*) from marts.indicator_value_history") == [(len(night1),)]
    assert query(settings, "select count(*) from marts.indicator_revisions") == [(0,)], (
        "nothing to revise yet"
    )

    # Night 2: the corrected file, under the same name.
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE_INBOX, inbox)
    corrected = correct_school_file(inbox)
    corrected_id = hashlib.sha256(corrected.read_bytes()).hexdigest()
    night2_record = run_flow(settings, inbox)
    assert night2_record.status == "succeeded" and night2_record.published, night2_record.failures
    night2 = published_values(settings)
    changed = {k: (night1.get(k), night2.get(k)) for k in night1.keys() | night2.keys()}
    changed = {k: v for k, v in changed.items() if differs(*v)}
    assert changed, "the correction changes published values"
    assert {k[0] for k in changed} <= {
        "edu_bagrut_eligibility",
        "edu_bagrut_gap_ethiopian",
        "edu_bagrut_university",
    }, "only the bagrut indicators read the corrected column"
    assert {k[1] for k in changed} == {2019}

    # The revisions are exactly the values that changed, the corrected file their cause.
    rows = query(
        settings,
        f"select {', '.join(KEY)}, previous_value, new_value, previous_run_id, run_id, cause, "
        "cause_file_ids from marts.indicator_revisions",
    )
    revisions = {tuple(r[:5]): r[5:] for r in rows}
    assert revisions.keys() == changed.keys()
    ((night1_run,),) = query(
        settings, f"select run_id from ops.publications where run_id <> '{night2_record.run_id}'"
    )
    for key, (previous, new, previous_run, run, cause, files) in revisions.items():
        assert (previous, new) == pytest.approx(changed[key], abs=1e-9), key
        assert (previous_run, run) == (night1_run, night2_record.run_id)
        assert cause == "files changed" and corrected_id in files, (key, cause, files)

    # As published between night 1 and night 2 (given with an offset), and now (local time).
    first, second = (r[0] for r in query(settings, "select published_at from ops.publications order by 1"))
    middle = (first + (second - first) / 2).replace(tzinfo=dt.UTC)  # ops times are UTC
    between = middle.astimezone(dt.timezone(dt.timedelta(hours=2)))
    sql = f"select {', '.join(KEY)}, value from marts.indicator_values"
    then = {tuple(r[k] for k in KEY): r["value"] for r in sql_as_of(settings, between.isoformat(), sql)}
    assert then.keys() == night1.keys()
    assert all(then[k] == pytest.approx(night1[k], abs=1e-12) for k in night1)
    now = {
        tuple(r[k] for k in KEY): r["value"] for r in sql_as_of(settings, dt.datetime.now().isoformat(), sql)
    }
    assert now.keys() == night2.keys() and all(now[k] == pytest.approx(night2[k], abs=1e-12) for k in night2)

    # The partner's night-2 extract has a revisions file naming the revised cells.
    folder = next(Path(p) for p in night2_record.extracts if Path(p).parent.name == "education_department")
    (revisions_csv,) = folder.glob("*_revisions.csv")
    with revisions_csv.open(encoding="utf-8-sig", newline="") as f:
        listed = list(csv.DictReader(f))
    assert listed and {r["indicator_id"] for r in listed} <= {k[0] for k in changed}
    assert {r["period"] for r in listed} == {"2019"}
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert revisions_csv.name in {f["name"] for f in manifest["files"]}

    # The report shows the revision.
    assert night2_record.report is not None
    html = Path(night2_record.report).read_text(encoding="utf-8")
    assert 'id="revisions"' in html, "the report's section of revised values"
    assert 'data-revision="edu_bagrut_eligibility/2019/total/all"' in html
    assert 'class="revised-mark" href="#revisions" data-revised="edu_bagrut_eligibility"' in html
    assert "achievement_1034_2019" not in html, "the public report names sources, never files"

    # Night 3: nothing new adds nothing; nor does a full rebuild of every model.
    history = "select count(*), sum(hash(columns(*))) from marts.indicator_value_history"
    before = query(settings, history), query(settings, "select count(*) from marts.indicator_revisions")
    night3 = run_flow(settings, inbox)
    assert night3.status == "succeeded" and not night3.published and "nothing new" in night3.message
    assert (
        query(settings, history),
        query(settings, "select count(*) from marts.indicator_revisions"),
    ) == before

    from ci_metrics.operations.runs import RunStore, new_run_id
    from ci_metrics.pipeline.flow import nightly

    rebuild_id = new_run_id()
    nightly(
        inbox=str(inbox), run_id=rebuild_id, home=str(settings.root), full_refresh=True, return_state=True
    )
    rebuild = RunStore(settings.root / "runs").get(rebuild_id)
    assert rebuild is not None and rebuild.published, rebuild and rebuild.failures
    assert (
        query(settings, history),
        query(settings, "select count(*) from marts.indicator_revisions"),
    ) == before
    assert published_values(settings) == pytest.approx(night2)


def test_a_publish_whose_history_cannot_be_recorded_is_not_published(
    copy_of_home, tmp_path, monkeypatch
) -> None:
    """A number is never published without its vintage: a failure of the history stage (here
    a snapshot's own test, broken in a copy of the dbt project) blocks the publish and leaves
    the published warehouse and the extracts as they were."""
    from test_publish import copy_of_dbt_project, sha

    settings = copy_of_home
    published = sha(settings.warehouse_path)
    project = copy_of_dbt_project(tmp_path / "dbt_project")
    snapshots = project / "snapshots" / "_history__snapshots.yml"
    text = snapshots.read_text(encoding="utf-8")
    broken = text.replace('expression: "valid_to is null or valid_to > valid_from"', 'expression: "false"')
    assert broken != text
    snapshots.write_text(broken, encoding="utf-8")
    monkeypatch.setenv("CI_METRICS_DBT_PROJECT_DIR", str(project))
    record = run_flow(settings, SAMPLE_INBOX)  # the project changed: a publish is due
    assert record.status == "failed" and not record.published
    assert [s.name for s in record.stages][-1] == "history" and not record.stages[-1].ok
    assert any("indicator_values_snapshot" in f for f in record.failures), record.failures
    assert sha(settings.warehouse_path) == published
