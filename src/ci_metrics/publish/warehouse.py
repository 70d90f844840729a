"""Write, audit, publish: the run builds a new warehouse beside the published one.

- The published file (``warehouse/ci_metrics.duckdb``) is never opened for writing. A run
  copies it to ``warehouse/build/<run_id>.duckdb``, loads and builds there, validates, and
  only then replaces the published file with ``os.replace`` (atomic on one filesystem).
- Readers holding the published file open keep reading the old file (its inode lives on
  until they close it); new connections see the new one. A reader never blocks a run.
- One run at a time: an ``flock`` on ``warehouse/run.lock``. The kernel releases it when
  the process dies, even by SIGKILL, so no stale lock is ever left behind. Build files
  left by a killed run are removed by the next run.

Callers go through :func:`ci_metrics.publish.cycle.publish_cycle`, which puts these steps in
their order (lock, clean, copy, publish or discard); only reading is done from here directly.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ci_metrics.settings import Settings


# N818: the name reads as the state it reports, like pipeline.tracker.RunFailed.
class RunInProgress(RuntimeError):  # noqa: N818
    """Another run holds the warehouse lock."""


@contextlib.contextmanager
def run_lock(settings: Settings, wait_seconds: float | None = None) -> Iterator[None]:
    """Hold the one-run-at-a-time lock; wait for a run in progress up to ``wait_seconds``."""
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    path = settings.warehouse_dir / "run.lock"
    wait = settings.lock_wait_seconds if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunInProgress(
                        f"another run still holds {path} after {wait:.0f}s; at most one run at a "
                        "time (the lock is released when that run's process ends)"
                    ) from None
                time.sleep(1.0)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def clean_stale_builds(settings: Settings) -> list[Path]:
    """Remove build files left behind by a run that died (call with the lock held)."""
    removed = []
    if settings.build_dir.exists():
        for path in settings.build_dir.iterdir():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def prepare_build(settings: Settings, run_id: str) -> Path:
    """A private copy of the published warehouse (or a new, empty one) to build in."""
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    build = settings.build_dir / f"{run_id}.duckdb"
    if settings.warehouse_path.exists():
        shutil.copyfile(settings.warehouse_path, build)
    else:
        duckdb.connect(str(build)).close()
    return build


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(settings: Settings, build: Path) -> Path:
    """Atomically make ``build`` the published warehouse. The build must be closed."""
    con = duckdb.connect(str(build))
    con.execute("checkpoint")
    con.close()
    wal = build.with_name(build.name + ".wal")
    if wal.exists():
        raise RuntimeError(f"{wal} is still present: the build was not closed cleanly")
    _fsync(build)
    os.replace(build, settings.warehouse_path)
    _fsync(settings.warehouse_dir)
    return settings.warehouse_path


def discard(build: Path) -> None:
    for path in (build, build.with_name(build.name + ".wal")):
        path.unlink(missing_ok=True)


def connect_published(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse: never blocks nor is blocked by a run."""
    if not settings.warehouse_path.exists():
        raise FileNotFoundError(
            f"no published warehouse at {settings.warehouse_path}: run `ci-metrics run` first"
        )
    return duckdb.connect(str(settings.warehouse_path), read_only=True)
