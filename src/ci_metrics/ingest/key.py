"""The pseudonymisation key, and the guard that keeps a run from loading people under
another key than the one the published data was loaded with.

The key lives outside the warehouse: ``CI_METRICS_PSEUDONYM_KEY`` or the key file
(``HOME/secrets/pseudonym.key``, mode 0600). The warehouse keeps only its *fingerprint*
(``ops.pseudonym_key``: a keyed hash of a fixed label, which tells two keys apart and
reveals nothing of the key). Every run checks, before it looks for new files
(:func:`check_key`), that:

- the environment and the key file, when both hold a key, hold the same one;
- the key file is readable by its owner only (a looser mode is fixed, with a warning);
- a key exists when the published warehouse holds pseudonymised rows: a new key is created
  only for an empty warehouse, never in place of a lost one;
- the key's fingerprint is the one recorded in the published warehouse. An old warehouse
  with data and no fingerprint yet is trusted on first use (warning); the ingest stage
  records the fingerprint in the build (:func:`record_fingerprint`), which is published
  with the rest.

A refusal is a :class:`KeyGuardError` that says what happened and what to do, without any
key material. Backup, loss and re-keying: ``docs/SECURITY.md``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import secrets
import stat
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel

from ci_metrics.ingest.layouts import NationalIdColumn, load_layout_set
from ci_metrics.settings import Settings

FINGERPRINT_LABEL = b"ci-metrics key fingerprint v1"
MIN_KEY_BYTES = 16
DOCS = "docs/SECURITY.md"

KEY_TABLE_DDL = """
create schema if not exists ops;
create table if not exists ops.pseudonym_key (
    fingerprint varchar not null,         -- HMAC-SHA-256(key, label), 16 hex digits; never the key
    first_seen timestamp not null,
    run_id varchar not null               -- the run that recorded it
);
"""


class KeyGuardError(RuntimeError):
    """The run must not start: the key in use is missing, ambiguous or not the data's key.
    The message says what happened and what to do; it never holds key material."""


class KeyStatus(BaseModel):
    """What :func:`check_key` found: the run may go on."""

    source: Literal["environment", "file", "created"]
    fingerprint: str
    recorded: str | None
    """The fingerprint recorded in the published warehouse (None: none yet)."""
    pseudonymised_rows: int
    """Rows of the published raw tables that hold keyed IDs."""
    warnings: list[str] = []

    @property
    def first_use(self) -> bool:
        """Data loaded before fingerprints were recorded: this key is trusted on first use."""
        return self.recorded is None and self.pseudonymised_rows > 0

    def describe(self) -> str:
        """One line for the run record (a fingerprint tells keys apart; it is no secret)."""
        where = {"environment": "CI_METRICS_PSEUDONYM_KEY", "file": "key file", "created": "new key file"}
        if self.recorded is not None:
            state = "matches the warehouse"
        elif self.first_use:
            state = "trusted on first use"
        else:
            state = "new warehouse"
        return f"key {self.fingerprint} from {where[self.source]}: {state}"


def fingerprint(key: bytes) -> str:
    """Tells two keys apart; reveals nothing of the key (HMAC of a fixed label, 64 bits)."""
    return hmac.digest(key, FINGERPRINT_LABEL, "sha256").hex()[:16]


def _usable(key: bytes, where: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise KeyGuardError(
            f"the pseudonymisation key in {where} is shorter than {MIN_KEY_BYTES} bytes: "
            f"use the key the data was loaded with (see {DOCS}, 'Key backup and loss')"
        )
    return key


def _environment_key(settings: Settings) -> bytes | None:
    """CI_METRICS_PSEUDONYM_KEY; set but empty counts as not set (``export X=$(cat missing)``)."""
    if settings.pseudonym_key is None or not settings.pseudonym_key.get_secret_value():
        return None
    return _usable(settings.pseudonym_key.get_secret_value().encode("utf-8"), "CI_METRICS_PSEUDONYM_KEY")


def _file_key(path: Path, warnings: list[str]) -> bytes | None:
    """The key file's key, its mode first made owner-only (with a warning) when it was not."""
    if not path.exists():
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            warnings.append(
                f"the key file {path} was readable by others (mode {mode:04o}); it is now 0600. "
                "Whoever could read it may link people across sources: consider the key exposed "
                f"if that account is not trusted (see {DOCS})"
            )
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyGuardError(
            f"the key file {path} cannot be read ({type(exc).__name__}): restore it from the "
            f"backup (see {DOCS}, 'Key backup and loss')"
        ) from None
    return _usable(text.encode("ascii"), f"the key file {path}")


def _present_key(
    settings: Settings, warnings: list[str]
) -> tuple[bytes, Literal["environment", "file"]] | None:
    """The key in use and where it comes from; None when there is none. Refuses when the
    environment and the key file both hold a key and they differ."""
    path = settings.resolved_key_file
    from_env = _environment_key(settings)
    from_file = _file_key(path, warnings)
    if from_env is not None and from_file is not None and not hmac.compare_digest(from_env, from_file):
        raise KeyGuardError(
            f"CI_METRICS_PSEUDONYM_KEY (fingerprint {fingerprint(from_env)}) and the key file "
            f"{path} (fingerprint {fingerprint(from_file)}) hold different keys. Nothing was "
            f"published. Keep only the one whose fingerprint is in ops.pseudonym_key: {DOCS}"
        )
    if from_env is not None:
        return from_env, "environment"
    if from_file is not None:
        return from_file, "file"
    return None


def _id_tables(settings: Settings) -> set[str]:
    """The raw tables that hold keyed IDs: those written by a layout with a national-ID column."""
    return {
        layout.table
        for layout in load_layout_set(settings.layouts_dir, settings.dbt_project_dir)
        if any(isinstance(column, NationalIdColumn) for column in layout.columns.values())
    }


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    return {r[0] for r in rows}


def recorded_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint a warehouse recorded (its first), None when it has none yet."""
    if "pseudonym_key" not in _tables(con, "ops"):
        return None
    row = con.execute("select fingerprint from ops.pseudonym_key order by first_seen limit 1").fetchone()
    return None if row is None else str(row[0])


def _published_state(settings: Settings) -> tuple[str | None, int]:
    """(recorded fingerprint, rows holding keyed IDs) of the published warehouse, read-only."""
    if not settings.warehouse_path.exists():
        return None, 0
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        present = _tables(con, "raw") & _id_tables(settings)
        rows = 0
        for table in sorted(present):
            counted = con.execute(f'select count(*) from raw."{table}"').fetchone()
            rows += int(counted[0]) if counted else 0
        return recorded_fingerprint(con), rows
    finally:
        con.close()


def _create_key(path: Path) -> bytes:
    """A new random key in the key file (directory 0700, file 0600, never overwritten)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="ascii").strip().encode("ascii")


def check_key(settings: Settings) -> KeyStatus:
    """The guard every run passes before it looks for new files; raises
    :class:`KeyGuardError` when the run must not start (see the module)."""
    warnings: list[str] = []
    found = _present_key(settings, warnings)
    recorded, rows = _published_state(settings)
    path = settings.resolved_key_file
    source: Literal["environment", "file", "created"]
    if found is None:
        if recorded is not None or rows > 0:
            raise KeyGuardError(
                f"no pseudonymisation key (CI_METRICS_PSEUDONYM_KEY unset, no {path}) but the "
                f"published warehouse holds {rows:,} pseudonymised rows (key fingerprint "
                f"{recorded or 'not recorded'}): a new key would link none of them. Nothing was "
                f"published. Restore the key from its backup, or re-key from the archive: {DOCS}"
            )
        key, source = _create_key(path), "created"
        warnings.append(f"a new pseudonymisation key was created in {path} (empty warehouse): back it up")
    else:
        key, source = found
    used = fingerprint(key)
    if recorded is not None and not hmac.compare_digest(used, recorded):
        origin = "CI_METRICS_PSEUDONYM_KEY" if source == "environment" else f"the key file {path}"
        raise KeyGuardError(
            f"the key in use ({origin}, fingerprint {used}) is not the key of the "
            f"{rows:,} pseudonymised rows published (fingerprint {recorded}); nothing was "
            f"published. Restore the right key from its backup, or re-key: {DOCS}"
        )
    if recorded is None and rows > 0:
        warnings.append(
            f"the published warehouse holds {rows:,} pseudonymised rows but no key fingerprint "
            f"(made before fingerprints were recorded): the key in use (fingerprint {used}) is "
            "trusted on first use and recorded by the next run that loads files"
        )
    return KeyStatus(
        source=source, fingerprint=used, recorded=recorded, pseudonymised_rows=rows, warnings=warnings
    )


def worker_key(key_file: Path) -> bytes:
    """The key as a worker of the ingestion finds it on its own machine: in
    CI_METRICS_PSEUDONYM_KEY, else in the key file; never created there (the writer checked it
    with :func:`check_key`, and each result carries the fingerprint it must match)."""
    from_env = os.environ.get("CI_METRICS_PSEUDONYM_KEY", "")
    if from_env:
        return _usable(from_env.encode("utf-8"), "CI_METRICS_PSEUDONYM_KEY")
    found = _file_key(key_file, [])
    if found is None:
        raise KeyGuardError(
            f"no pseudonymisation key: neither CI_METRICS_PSEUDONYM_KEY nor the key file {key_file} "
            f"(see {DOCS})"
        )
    return found


def load_or_create_key(settings: Settings) -> bytes:
    """The key for the pseudonymiser, once :func:`check_key` accepted it: loaded from the
    environment or the key file, created only for an empty warehouse."""
    check_key(settings)
    found = _present_key(settings, [])
    if found is None:  # pragma: no cover - check_key created it or refused
        raise KeyGuardError(f"no pseudonymisation key (see {DOCS})")
    return found[0]


def record_fingerprint(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str) -> bool:
    """Record the key's fingerprint in a build (``ops.pseudonym_key``) when it has none;
    refuse (:class:`KeyGuardError`) when the build recorded another key. True when recorded now."""
    found = _present_key(settings, [])
    if found is None:
        raise KeyGuardError(f"no pseudonymisation key to record (see {DOCS})")
    used = fingerprint(found[0])
    con.execute(KEY_TABLE_DDL)
    recorded = recorded_fingerprint(con)
    if recorded is not None:
        if not hmac.compare_digest(used, recorded):
            raise KeyGuardError(
                f"the build was loaded with the key of fingerprint {recorded}, the key in use is "
                f"{used}: the run stops (see {DOCS}, 'Key backup and loss')"
            )
        return False
    con.execute(
        "insert into ops.pseudonym_key values (?, ?, ?)",
        [used, dt.datetime.now().replace(microsecond=0), run_id],
    )
    return True


def key_file_is_private(path: Path) -> bool:
    """The key file exists and neither group nor others may read it."""
    return path.exists() and (path.stat().st_mode & 0o077) == 0
