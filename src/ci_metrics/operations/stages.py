"""Timing and memory of a pipeline stage, for the run record and the benchmark, and the
child processes of a run.

Peak memory is sampled (every 0.2 s) over this process and its children (dbt runs in a
child process), so each stage gets its own peak, not the process's lifetime high-water mark.

A child of the run (dbt, a temporary Prefect server) is started through
:func:`dies_with_run`: on Linux the kernel kills it when the run's process ends, however it
ends (SIGKILL, the OOM killer, an abort), so a killed run leaves no dbt writing on and no
Prefect server behind.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ci_metrics.operations.runs import RunRecord, StageRecord

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            kids.extend(int(k) for k in text)
    except OSError:
        pass
    return kids


def tree_rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    todo, total = [pid or os.getpid()], 0
    while todo:
        p = todo.pop()
        total += _rss_bytes(p)
        todo.extend(_children(p))
    return total / (1 << 20)


class PeakSampler:
    """Samples the process tree's memory in a daemon thread; ``take()`` returns and resets
    the peak seen since the last call."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._peak = 0.0
        self._lock = threading.Lock()
        thread = threading.Thread(target=self._loop, name="ci-metrics-memory", daemon=True)
        thread.start()

    def _loop(self) -> None:
        while True:
            value = tree_rss_mb()
            with self._lock:
                self._peak = max(self._peak, value)
            time.sleep(self.interval)

    def take(self) -> float:
        value = tree_rss_mb()
        with self._lock:
            peak, self._peak = max(self._peak, value), value
        return peak


_sampler: PeakSampler | None = None


def sampler() -> PeakSampler:
    global _sampler
    if _sampler is None:
        _sampler = PeakSampler()
    return _sampler


@contextmanager
def stage(
    record: RunRecord, name: str, on_start: Callable[[], object] | None = None
) -> Iterator[StageRecord]:
    """Time a stage; ``on_start`` (e.g. saving the run record) lets a terminal show progress."""
    record.current_stage = name
    if on_start is not None:
        on_start()
    memory = sampler()
    memory.take()
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
        entry.peak_rss_mb = round(memory.take(), 1)
        record.stages.append(entry)
        record.current_stage = None


# PR_SET_PDEATHSIG survives exec, so the program started after it (dbt, a Prefect server)
# gets SIGKILL when the thread that started it ends; that thread waits for it (dbt) or is the
# main thread (the server). Checking the parent after the prctl closes the race with a run
# that died in between. Set here, in the child, rather than in a preexec_fn: the run has
# threads, and preexec_fn is unsafe in a threaded process.
_DIE_WITH_PARENT = """
import ctypes, os, signal, sys
parent, argv = int(sys.argv[1]), sys.argv[2:]
try:
    ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG
except (AttributeError, OSError):
    pass  # not Linux: the child may outlive a killed run
if os.getppid() != parent:
    sys.exit(1)  # the run ended before the line above
os.execv(argv[0], argv)
"""


def dies_with_run(command: list[str]) -> list[str]:
    """``command`` (an absolute program path first) made to die with this process: pass the
    result to :mod:`subprocess` in its place."""
    return [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *command]
