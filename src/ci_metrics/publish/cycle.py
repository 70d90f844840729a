"""The one path to publish: every command that changes the published warehouse goes through
:func:`publish_cycle` (the nightly flow, ``ci-metrics extract``).

    with publish_cycle(settings, run_id) as cycle:   # the run lock; stale builds removed
        build = cycle.prepare()                      # a private copy of the warehouse
        ...                                          # the caller's work and audit, in the copy
        published = cycle.publish()                  # os.replace, made durable; extracts released

Leaving the block by an exception (or without ``publish()``) discards the build copy and the
extracts written to the pending folder: the published warehouse and the released extracts
stay exactly as they were. ``publish()`` returns only once the rename is on disk, so the
caller records a run as published after it, never before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
from pydantic import BaseModel, ConfigDict

from ci_metrics.publish import warehouse
from ci_metrics.settings import Settings
from ci_metrics.share.extracts.release import discard_pending, pending_dir, release


class BuildCopy(BaseModel):
    """The private copy a cycle builds in, and where its extracts wait for the publish."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    path: Path
    duckdb_config: dict[str, str | bool | int | float | list[str]] = {}
    """memory_limit and temp_directory of the run's connections (settings)."""
    pending_extracts: Path

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the copy, closed on leaving (the copy must be closed
        before dbt opens it and before it is published)."""
        con = duckdb.connect(str(self.path), config=self.duckdb_config)
        try:
            yield con
        finally:
            con.close()


class Published(BaseModel):
    """What a cycle made public: the warehouse file and the extract folders released."""

    warehouse: Path
    extracts: list[Path]


class PublishCycle:
    """Handed out by :func:`publish_cycle`; only valid inside its ``with`` block."""

    def __init__(self, settings: Settings, run_id: str) -> None:
        self.settings = settings
        self.run_id = run_id
        self._build: BuildCopy | None = None

    def prepare(self) -> BuildCopy:
        """Copy the published warehouse (or start an empty one) to build in."""
        if self._build is not None:
            raise RuntimeError(f"cycle {self.run_id} already has a build copy")
        self._build = BuildCopy(
            run_id=self.run_id,
            path=warehouse.prepare_build(self.settings, self.run_id),
            pending_extracts=pending_dir(self.settings.extracts_dir, self.run_id),
            duckdb_config=self.settings.duckdb_config,
        )
        return self._build

    def publish(self) -> Published:
        """Replace the published warehouse by the build copy (atomic and durable), then
        release the extracts made from it."""
        if self._build is None:
            raise RuntimeError(f"cycle {self.run_id}: nothing to publish (prepare() first)")
        build, self._build = self._build, None
        published = warehouse.publish(self.settings, build.path)
        extracts = release(build.pending_extracts, self.settings.extracts_dir)
        return Published(warehouse=published, extracts=extracts)

    def discard(self) -> None:
        """Drop the build copy, if any, and every pending extract."""
        if self._build is not None:
            warehouse.discard(self._build.path)
            self._build = None
        discard_pending(self.settings.extracts_dir)


@contextlib.contextmanager
def publish_cycle(
    settings: Settings, run_id: str, *, wait_seconds: float | None = None
) -> Iterator[PublishCycle]:
    """Hold the one-run-at-a-time lock for a whole write-audit-publish cycle; see the module."""
    with warehouse.run_lock(settings, wait_seconds):
        warehouse.clean_stale_builds(settings)
        discard_pending(settings.extracts_dir)
        cycle = PublishCycle(settings, run_id)
        try:
            yield cycle
        finally:
            cycle.discard()  # after a publish: nothing left but stray pending folders
