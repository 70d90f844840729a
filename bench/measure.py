"""Peak resident memory of the benchmark's whole process tree, sampled in a thread.

The tree is this process and every descendant (dbt's child process, Prefect's temporary
server, the Dask cluster's nannies and workers, the plain baseline's pool, Chromium for the
PDF), summed at each sample, so the peak is what the machine had to hold at once.
"""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


def tree_rss_bytes(root: psutil.Process) -> int:
    """Resident bytes of ``root`` and all its descendants now (processes that end while
    being read are skipped)."""
    total = 0
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for process in members:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


class TreeSampler:
    """``with TreeSampler() as memory: ...`` then ``memory.peak_mb``; ``pid``: the root of the
    tree (default: this process)."""

    def __init__(self, pid: int | None = None, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._root = psutil.Process(pid)
        self._thread = threading.Thread(target=self._sample, name="tree-rss", daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self._root))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self._root))

    @property
    def peak_mb(self) -> float:
        return round(self.peak_bytes / (1 << 20), 1)
