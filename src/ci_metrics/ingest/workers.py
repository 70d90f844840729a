"""What a worker does with a batch of files: read, type and pseudonymise each one
(:func:`~ci_metrics.ingest.prepare.prepare_file`) and hand back its rows as Parquet bytes.

The work that costs CPU runs here, on as many workers as there are (a local Dask cluster or
an existing one, :mod:`ci_metrics.pipeline.engine`); one writer (:class:`~.inbox.Ingestor`)
archives, ledgers and stores, in the inbox's order, so the warehouse does not depend on which
worker read what. Nothing personal travels: a job names a file by its path and its SHA-256,
the key is read by the worker itself from where :class:`KeySource` says (never a parameter),
and a result holds pseudonymised rows and rejects whose IDs are masked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Annotated

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, SkipValidation

from ci_metrics.ingest.filesystem import open_regular
from ci_metrics.ingest.key import KeyGuardError, fingerprint, worker_key
from ci_metrics.ingest.layouts import SourceLayout
from ci_metrics.ingest.limits import InputLimits
from ci_metrics.ingest.prepare import choose_layout, prepare_file
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.ingest.readers import ROW_NUMBER, UnreadableFileError

log = logging.getLogger(__name__)


class KeySource(BaseModel):
    """Where a worker finds the pseudonymisation key, never the key: the environment
    (``CI_METRICS_PSEUDONYM_KEY``) or the key file; and the fingerprint it must have."""

    model_config = ConfigDict(frozen=True)

    key_file: Path
    fingerprint: str

    @classmethod
    def of(cls, key_file: Path, pseudonymise: Pseudonymiser) -> KeySource:
        """Where the run's key is, and its fingerprint (never the key)."""
        return cls(key_file=key_file, fingerprint=pseudonymise.fingerprint)


class FileJob(BaseModel):
    """One file to prepare, as the writer received it."""

    model_config = ConfigDict(frozen=True)

    index: int
    """Its place in the writer's order."""
    source: str
    path: Path
    file_id: str
    """The SHA-256 of the bytes the writer archived: a worker reading other bytes says so."""
    size: int


class PrepareContext(BaseModel):
    """What every job of a run shares: the layouts, the limits, where the key is."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    layouts: Annotated[Sequence[SourceLayout], SkipValidation]
    """As given (a LayoutSet keeps its broken layouts' problems: not copied into a list)."""
    limits: InputLimits
    known_headers: frozenset[str]
    key: KeySource | None
    """None: prepared in the writer's own process, with its pseudonymiser."""
    run_id: str


class FileResult(BaseModel):
    """What the writer needs of one prepared file."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: int
    file_id: str
    layout_name: str | None = None
    table: str | None = None
    unreadable: str | None = None
    """Why the file cannot be loaded at all (for the clerk)."""
    unexpected: str | None = None
    """The type of an error no rule foresaw (its text may quote the file's cells)."""
    changed: bool = False
    """The file's bytes changed since the writer received them: it waits for the next run."""
    rows: bytes | None = None
    """The accepted rows, lineage columns included, as Parquet."""
    rows_loaded: int = 0
    rows_read: int = 0
    rows_filtered: int = 0
    rejects: pd.DataFrame | None = None
    meta: dict[str, int | dt.date | None] = {}
    key_fingerprint: str = ""


def _read_bytes(job: FileJob) -> bytes | None:
    """The job's bytes, or None when the file is no longer the one the writer archived."""
    fd = open_regular(job.path)
    with os.fdopen(fd, "rb", closefd=True) as fh:
        data = fh.read(job.size + 1)
    return data if hashlib.sha256(data).hexdigest() == job.file_id else None


class ParquetHandOver:
    """Rows as Parquet bytes, typed by DuckDB's reading of the frame (as the writer would).

    One in-memory DuckDB and one private scratch file serve a whole batch: opening a
    database costs tens of milliseconds, as much as converting a file's rows, and a
    national inbox has twelve thousand files. Use it as a context manager (the scratch
    folder and its pseudonymised rows are removed on leaving)."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="ci-metrics-rows-")
        self._target = Path(self._folder.name) / "rows.parquet"
        self._con = duckdb.connect(config={"threads": 1})

    def __enter__(self) -> ParquetHandOver:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()
        self._folder.cleanup()

    def __call__(self, rows: pd.DataFrame) -> bytes:
        self._con.register("_rows", rows)
        try:
            self._con.execute(f"copy _rows to '{self._target}' (format parquet, compression snappy)")
        finally:
            self._con.unregister("_rows")
        return self._target.read_bytes()


def rows_as_parquet(rows: pd.DataFrame) -> bytes:
    """One frame's rows as Parquet bytes (:class:`ParquetHandOver` for more than one)."""
    with ParquetHandOver() as hand_over:
        return hand_over(rows)


def prepare_job(
    job: FileJob,
    context: PrepareContext,
    pseudonymise: Pseudonymiser,
    hand_over: Callable[[pd.DataFrame], bytes] = rows_as_parquet,
) -> FileResult:
    """One file: its rows and rejects, or why it cannot be loaded. Its bytes are read again
    and checked against the job's SHA-256 (the writer kept only the archived copy).
    ``hand_over``: how the rows become Parquet (a batch's :class:`ParquetHandOver`)."""
    result = FileResult(index=job.index, file_id=job.file_id)
    try:
        data = _read_bytes(job)
    except OSError:
        data = None
    if data is None:
        result.changed = True
        return result
    try:
        layout = choose_layout(job.path.name, job.source, context.layouts)
        result.layout_name, result.table = layout.name, layout.table
        prepared = prepare_file(
            job.path,
            job.source,
            data,
            context.layouts,
            pseudonymise,
            limits=context.limits,
            known_headers=context.known_headers,
            layout=layout,
        )
    except UnreadableFileError as exc:
        result.unreadable = str(exc)
        return result
    except Exception as exc:  # a file no rule foresaw: rejected whole by the writer
        log.error("unexpected %s while reading %s/%s", type(exc).__name__, job.source, job.path.name)
        result.unexpected = type(exc).__name__
        return result
    result.rows_read = prepared.rows_read
    result.rows_filtered = prepared.rows_filtered
    result.rows_loaded = prepared.rows_loaded
    result.rejects = prepared.rejects
    result.meta = prepared.meta
    if prepared.rows_loaded:
        frame = prepared.rows.rename(columns={ROW_NUMBER: "_row_number"})
        frame["_file_id"] = job.file_id
        frame["_file_name"] = job.path.name
        frame["_layout"] = layout.name
        frame["_run_id"] = context.run_id
        result.rows = hand_over(frame)
    return result


def prepare_batch(jobs: Sequence[FileJob], context: PrepareContext) -> list[FileResult]:
    """A batch of jobs, on whichever process runs it: the key read here, checked against the
    fingerprint the writer uses (a worker with another key must not load a single row)."""
    if context.key is None:
        raise KeyGuardError("no key source: a batch prepared in another process needs one")
    try:
        key = worker_key(context.key.key_file)
    except KeyGuardError as exc:
        raise KeyGuardError(f"a worker on {os.uname().nodename}: {exc}") from None
    if fingerprint(key) != context.key.fingerprint:
        raise KeyGuardError(
            f"a worker on {os.uname().nodename} holds another pseudonymisation key (fingerprint "
            f"{fingerprint(key)}, the run's is {context.key.fingerprint}): give every worker the "
            "run's key (CI_METRICS_PSEUDONYM_KEY or the key file); nothing was loaded"
        )
    pseudonymise = Pseudonymiser(key)
    with ParquetHandOver() as hand_over:
        results = [prepare_job(job, context, pseudonymise, hand_over) for job in jobs]
    for result in results:
        result.key_fingerprint = context.key.fingerprint
    return results


def batches(jobs: Sequence[FileJob], parts: int, most_bytes: int = 16 << 20) -> list[list[FileJob]]:
    """The jobs in their order, cut into consecutive batches of about equal bytes: about
    ``parts`` of them, none much above ``most_bytes`` (a worker's memory, and a window that
    keeps every worker busy while the writer takes the results in order)."""
    total = sum(job.size for job in jobs)
    target = max(1, min(most_bytes, total // max(parts, 1)))
    cut: list[list[FileJob]] = []
    current: list[FileJob] = []
    size = 0
    for job in jobs:
        current.append(job)
        size += job.size
        if size >= target:
            cut.append(current)
            current, size = [], 0
    if current:
        cut.append(current)
    return cut


def prepare_here(batched: Iterable[Sequence[FileJob]], context: PrepareContext) -> Iterator[FileResult]:
    """The batches one after the other, in this process: the engine for a few files."""
    for batch in batched:
        yield from prepare_batch(batch, context)
