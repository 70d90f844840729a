"""A guarded key and a sandboxed ``ci-metrics sql`` (issue 18, items 3 and 4).

The key guard is checked case by case on small real DuckDB warehouses, then end to end: a
lost key stops the next run and leaves the published warehouse byte-identical. The planning
unit's ``ci-metrics sql`` is run as a command, as they run it, against the sample run."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_INBOX, TEST_KEY, cli_env, run_flow
from test_indicators import registry_ids
from test_publish import sha, survey_with_weights

from ci_metrics.ingest.key import (
    KEY_TABLE_DDL,
    KeyGuardError,
    KeyStatus,
    check_key,
    fingerprint,
    key_file_is_private,
    load_or_create_key,
    record_fingerprint,
)
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.operations.query import BLOCKED
from ci_metrics.settings import Settings

OTHER_KEY = "another-key-" + "1" * 32
FILE_KEY = "a0" * 32  # what a created key file holds: 64 hex digits


# -- the key guard, case by case ------------------------------------------------------------


def settings_for(home: Path, env_key: str | None = None) -> Settings:
    """Settings of a home; ``env_key`` plays CI_METRICS_PSEUDONYM_KEY (None: unset)."""
    return Settings(home=home, pseudonym_key=env_key)


def write_key_file(settings: Settings, key: str, mode: int = 0o600) -> Path:
    path = settings.resolved_key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n", encoding="ascii")
    os.chmod(path, mode)
    return path


def published(settings: Settings, *, rows: int, loaded_with: str | None) -> Path:
    """A small published warehouse: ``rows`` keyed residents, and the fingerprint of the key
    ``loaded_with`` recorded (None: an old warehouse, from before fingerprints)."""
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("create schema raw")
        con.execute("create table raw.residents (person_key varchar)")
        con.execute("create table raw.cbs_local_authorities (locality_code integer)")  # no IDs
        con.execute("insert into raw.cbs_local_authorities values (1034)")
        con.execute("insert into raw.residents select 'k' || range from range(?)", [rows])
        if loaded_with is not None:
            con.execute(KEY_TABLE_DDL)
            con.execute(
                "insert into ops.pseudonym_key values (?, now(), 'run-1')",
                [fingerprint(loaded_with.encode())],
            )
    finally:
        con.close()
    return settings.warehouse_path


def refusal(settings: Settings) -> str:
    with pytest.raises(KeyGuardError) as caught:
        check_key(settings)
    message = str(caught.value)
    for secret in (TEST_KEY, OTHER_KEY, FILE_KEY):
        assert secret not in message, "a refusal must not quote a key"
    assert len(message) < 400, "a refusal is stored and sent whole: it stays short"
    return message


def test_an_empty_home_gets_a_new_private_key(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    status = check_key(settings)
    assert status.source == "created" and status.recorded is None and not status.first_use
    path = settings.resolved_key_file
    assert key_file_is_private(path) and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert settings.warehouse_dir not in path.parents
    again = check_key(settings)
    assert again.source == "file" and again.fingerprint == status.fingerprint
    assert load_or_create_key(settings) == path.read_text(encoding="ascii").strip().encode()


def test_a_warehouse_without_keyed_rows_may_get_a_new_key(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    published(settings, rows=0, loaded_with=None)  # CBS context only: nothing keyed
    assert check_key(settings).source == "created"


def test_the_environment_key_needs_no_file(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, TEST_KEY)
    published(settings, rows=5, loaded_with=TEST_KEY)
    status = check_key(settings)
    assert status == KeyStatus(
        source="environment",
        fingerprint=fingerprint(TEST_KEY.encode()),
        recorded=fingerprint(TEST_KEY.encode()),
        pseudonymised_rows=5,
        warnings=[],
    )
    assert not settings.resolved_key_file.exists()


def test_the_key_file_matching_the_warehouse_passes(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    write_key_file(settings, FILE_KEY)
    published(settings, rows=5, loaded_with=FILE_KEY)
    status = check_key(settings)
    assert status.source == "file" and status.recorded == fingerprint(FILE_KEY.encode())
    assert status.warnings == []


def test_a_lost_key_is_refused_where_data_exists(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    published(settings, rows=5, loaded_with=TEST_KEY)
    message = refusal(settings)
    assert "no pseudonymisation key" in message and "5 pseudonymised rows" in message
    assert "backup" in message and "docs/SECURITY.md" in message
    assert fingerprint(TEST_KEY.encode()) in message  # which key to look for in the backups
    assert not settings.resolved_key_file.exists(), "no new key in place of a lost one"


def test_a_lost_key_is_refused_for_an_old_warehouse_too(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    published(settings, rows=5, loaded_with=None)  # data, no fingerprint yet
    assert "no pseudonymisation key" in refusal(settings)
    assert not settings.resolved_key_file.exists()


def test_another_key_is_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, OTHER_KEY)
    published(settings, rows=5, loaded_with=TEST_KEY)
    message = refusal(settings)
    assert "is not the key of the" in message
    assert fingerprint(OTHER_KEY.encode()) in message and fingerprint(TEST_KEY.encode()) in message
    assert "CI_METRICS_PSEUDONYM_KEY" in message and "backup" in message
    file_settings = settings_for(tmp_path / "other")
    write_key_file(file_settings, FILE_KEY)
    published(file_settings, rows=5, loaded_with=TEST_KEY)
    assert str(file_settings.resolved_key_file) in refusal(file_settings)


def test_the_environment_and_the_key_file_may_not_disagree(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, TEST_KEY)
    write_key_file(settings, FILE_KEY)
    message = refusal(settings)  # even on an empty warehouse: which key would it be?
    assert "hold different keys" in message and str(settings.resolved_key_file) in message
    write_key_file(settings, TEST_KEY)
    assert check_key(settings).source == "environment"


def test_a_key_file_readable_by_others_is_made_private_with_a_warning(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = write_key_file(settings, FILE_KEY, mode=0o644)
    status = check_key(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(status.warnings) == 1 and "0644" in status.warnings[0] and "0600" in status.warnings[0]
    assert check_key(settings).warnings == []


def test_an_unusable_key_is_refused(tmp_path: Path) -> None:
    assert "shorter than 16 bytes" in refusal(settings_for(tmp_path, "short"))
    settings = settings_for(tmp_path / "binary")
    settings.resolved_key_file.parent.mkdir(parents=True)
    settings.resolved_key_file.write_bytes(b"\xff" * 40)
    assert "cannot be read" in refusal(settings)


def test_an_old_warehouse_trusts_the_key_on_first_use_then_records_it(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, TEST_KEY)
    published(settings, rows=5, loaded_with=None)
    status = check_key(settings)
    assert status.first_use and "trusted on first use" in status.warnings[0]
    assert "trusted on first use" in status.describe()
    con = duckdb.connect(str(settings.warehouse_path))  # plays the build, published after
    try:
        assert record_fingerprint(con, settings, "run-2") is True
        assert record_fingerprint(con, settings, "run-3") is False  # recorded once
        rows = con.execute("select fingerprint, run_id from ops.pseudonym_key").fetchall()
    finally:
        con.close()
    assert rows == [(fingerprint(TEST_KEY.encode()), "run-2")]
    after = check_key(settings)
    assert after.recorded == after.fingerprint and after.warnings == []
    assert "refused" not in after.describe() and "matches the warehouse" in after.describe()


def test_a_build_loaded_with_another_key_refuses_to_record(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, OTHER_KEY)
    published(settings, rows=5, loaded_with=TEST_KEY)
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        with pytest.raises(KeyGuardError, match="the run stops"):
            record_fingerprint(con, settings, "run-2")
    finally:
        con.close()


def test_the_pseudonymiser_of_a_run_is_guarded(tmp_path: Path) -> None:
    """The ingest stage's key (``Pseudonymiser.from_settings``) passes the same guard."""
    published(settings_for(tmp_path), rows=5, loaded_with=TEST_KEY)
    with pytest.raises(KeyGuardError, match="is not the key"):
        Pseudonymiser.from_settings(settings_for(tmp_path, OTHER_KEY))
    with pytest.raises(KeyGuardError, match="no pseudonymisation key"):
        Pseudonymiser.from_settings(settings_for(tmp_path))
    assert not settings_for(tmp_path).resolved_key_file.exists()
    Pseudonymiser.from_settings(settings_for(tmp_path, TEST_KEY))


def test_the_fingerprint_tells_keys_apart_and_reveals_nothing() -> None:
    assert fingerprint(TEST_KEY.encode()) == fingerprint(TEST_KEY.encode())
    assert fingerprint(TEST_KEY.encode()) != fingerprint(OTHER_KEY.encode())
    assert len(fingerprint(TEST_KEY.encode())) == 16
    assert fingerprint(TEST_KEY.encode()) not in TEST_KEY.encode().hex()


# -- the guard in a run (needs check_key and record_fingerprint wired into the flow) --------


def test_a_published_run_records_its_key_fingerprint(sample_run) -> None:
    settings, _ = sample_run
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute("select fingerprint, run_id from ops.pseudonym_key").fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == [fingerprint(TEST_KEY.encode())]


@pytest.mark.parametrize("inbox", ["nothing new", "a new file"])
def test_a_lost_key_stops_the_next_run_and_publishes_nothing(
    copy_of_home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inbox: str
) -> None:
    settings = copy_of_home
    monkeypatch.delenv("CI_METRICS_PSEUDONYM_KEY", raising=False)
    assert not settings.resolved_key_file.exists()  # the sample run's key came from the environment
    if inbox == "nothing new":
        chosen = SAMPLE_INBOX  # stopped before the scan, not only when something is loaded
    else:
        chosen = tmp_path / "inbox"
        survey_with_weights(chosen, "1.0", year=2019)
    before = sha(settings.warehouse_path)
    record = run_flow(settings, chosen)
    assert record.status == "failed" and not record.published
    assert "no pseudonymisation key" in (record.message or "")
    assert sha(settings.warehouse_path) == before, "the published warehouse is byte-identical"
    assert not settings.resolved_key_file.exists(), "no new key was made in place of the lost one"
    stored = (settings.root / "runs" / f"{record.run_id}.json").read_text(encoding="utf-8")
    assert TEST_KEY not in stored


def test_another_key_in_the_environment_stops_the_run(copy_of_home, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = copy_of_home
    monkeypatch.setenv("CI_METRICS_PSEUDONYM_KEY", OTHER_KEY)
    before = sha(settings.warehouse_path)
    record = run_flow(settings, SAMPLE_INBOX)
    assert record.status == "failed" and "is not the key" in (record.message or "")
    assert sha(settings.warehouse_path) == before


# -- ci-metrics sql sees only the warehouse --------------------------------------------------


def sql(settings: Settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ci_metrics.cli", "sql", *args],
        env=cli_env(settings),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def blocked(proc: subprocess.CompletedProcess[str]) -> bool:
    return proc.returncode == 1 and BLOCKED in proc.stderr


def test_sql_still_answers_queries_on_the_warehouse(sample_run) -> None:
    settings, _ = sample_run
    proc = sql(settings, "select count(*) as n from marts.indicator_progress", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"n": len(registry_ids())}]


def test_sql_runs_with_the_sandbox_settings(sample_run) -> None:
    settings, _ = sample_run
    expected = {
        "enable_external_access": "false",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "allow_community_extensions": "false",
        "lock_configuration": "true",
    }
    names = ", ".join(f"'{name}'" for name in expected)
    query = f"select name, value from duckdb_settings() where name in ({names})"
    proc = sql(settings, query, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert {row["name"]: row["value"] for row in json.loads(proc.stdout)} == expected


def test_sql_cannot_read_the_machine(sample_run) -> None:
    settings, _ = sample_run
    for query in (
        "select * from read_text('/etc/passwd')",
        "select * from read_csv('/etc/passwd')",
        "select * from glob('/etc/*')",
    ):
        proc = sql(settings, query)
        assert blocked(proc), (query, proc.returncode, proc.stderr)
        assert "root:" not in proc.stdout


def test_sql_cannot_read_the_key_file(copy_of_home) -> None:
    settings = copy_of_home
    path = write_key_file(settings, TEST_KEY)  # the same key as the environment's
    proc = sql(settings, f"select content from read_text('{path}')")
    assert blocked(proc), proc.stderr
    assert TEST_KEY not in proc.stdout + proc.stderr


def test_sql_cannot_read_the_archive(sample_run) -> None:
    settings, _ = sample_run
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        row = con.execute(
            "select archived_path from ops.files where source = 'residents' and status = 'loaded' limit 1"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    archived = settings.root / row[0]
    assert archived.is_file()
    for query in (f"select * from read_csv('{archived}')", f"select * from read_blob('{archived}')"):
        assert blocked(sql(settings, query)), query


def test_sql_cannot_write_files(sample_run, tmp_path: Path) -> None:
    settings, _ = sample_run
    out = tmp_path / "out"
    for query in (
        f"copy (select * from marts.indicators) to '{out}.csv'",
        f"export database '{out}'",
    ):
        assert blocked(sql(settings, query)), query
    assert list(tmp_path.iterdir()) == []


def test_sql_cannot_attach_nor_load_extensions(sample_run, tmp_path: Path) -> None:
    settings, _ = sample_run
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    assert blocked(sql(settings, f"attach '{other}' as other"))
    for query in ("install httpfs", "load httpfs"):
        assert blocked(sql(settings, query)), query


def test_sql_cannot_change_its_configuration(sample_run) -> None:
    settings, _ = sample_run
    for query in (
        "set enable_external_access = true",
        "reset enable_external_access",
        "set lock_configuration = false",
        "set allow_community_extensions = true",
    ):
        proc = sql(settings, query)
        assert blocked(proc) and "locked" in proc.stderr, (query, proc.stderr)


def test_the_sql_shell_is_sandboxed_too(sample_run) -> None:
    settings, _ = sample_run
    proc = sql(
        settings,
        "--format",
        "json",
        stdin="select * from read_text('/etc/passwd');\n"
        "select count(*) as n\nfrom marts.indicator_progress;\n\\q\n",
    )
    assert proc.returncode == 0
    assert BLOCKED in proc.stderr and "root:" not in proc.stdout
    assert f'"n": {len(registry_ids())}' in proc.stdout


def test_sql_prints_values_as_text(sample_run) -> None:
    settings, _ = sample_run
    proc = sql(settings, "select '[/]' || chr(27) || '[31m' as \"[bold]x\"")
    assert proc.returncode == 0, proc.stderr
    assert "[/]\\x1b[31m" in proc.stdout and "[bold]x" in proc.stdout and "\x1b" not in proc.stdout
