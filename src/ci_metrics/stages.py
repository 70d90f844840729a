"""Timing and memory of a pipeline stage, for the run record and the benchmark."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ci_metrics.runs import RunRecord, StageRecord


def peak_rss_mb() -> float:
    """Peak resident memory so far of this process and of its finished children (MiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


@contextmanager
def stage(record: RunRecord, name: str) -> Iterator[StageRecord]:
    started = time.perf_counter()
    entry = StageRecord(name=name, seconds=0.0)
    try:
        yield entry
    except BaseException as exc:
        entry.ok = False
        entry.detail = entry.detail or f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        raise
    finally:
        entry.seconds = round(time.perf_counter() - started, 3)
        entry.peak_rss_mb = round(peak_rss_mb(), 1)
        record.stages.append(entry)
