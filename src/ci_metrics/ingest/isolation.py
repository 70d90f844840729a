"""Spreadsheets are parsed in a worker process, where a crash becomes a rejected file.

python-calamine parses workbooks in Rust: on some inputs it asks for hundreds of GiB and
aborts the whole process (a single cell at XFD1048576 does). The workbook's bytes are sent
to one long-lived worker (``python -m ci_metrics.ingest.isolation``) that runs under an
address-space limit (``RLIMIT_AS``, CI_METRICS_READER_MEMORY_MB) and a CPU-time limit per
workbook; it answers with the cells as plain Python values. If it dies, runs out of time or
of memory, the workbook is rejected with the reason and the next workbook gets a new worker.
The worker is reused across files (one start per run, not per file); it exits when its
parent's pipe closes, or after a few minutes without work.

The answer is read back with an unpickler that builds only lists, tuples, text, numbers and
dates: a worker subverted by a hostile file cannot make the parent run anything.
"""

from __future__ import annotations

import atexit
import datetime as dt
import io
import os
import pickle
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any, Literal

Rows = list[list[Any]]  # text, numbers, booleans, dates: what the safe unpickler builds
Which = Literal["first", "all"]

IDLE_SECONDS = 300.0
"""A worker without work for this long exits (a new one starts when needed)."""
_HEADER = struct.Struct("!Q")
_SAFE_CLASSES = {("datetime", name) for name in ("datetime", "date", "time", "timedelta", "timezone")}


class SheetReadError(Exception):
    """The workbook could not be parsed (the reason is fit for a clerk)."""


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_CLASSES:
            return getattr(dt, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not expected from the sheet reader")


def _send(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


# ------------------------------------------------------------------------- the worker


def _read_exact_fd(fd: int, n: int) -> bytes | None:
    """Exactly ``n`` bytes from a descriptor (unbuffered: ``select`` sees what is left), or None
    at its end."""
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _parse(request: dict[str, Any]) -> list[tuple[str, Rows]]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(request["data"]))
    names = [m.name for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    if request["which"] == "first":
        names = workbook.sheet_names[:1]
    out = []
    for name in names:
        sheet = workbook.get_sheet_by_name(name)
        cells = sheet.height * sheet.width
        if cells > request["max_cells"]:
            raise SheetReadError(
                f"a sheet holds {sheet.height:,} rows x {sheet.width:,} columns, above the limit of "
                f"{request['max_cells']:,} cells (CI_METRICS_MAX_CELLS)"
            )
        out.append((name, sheet.to_python(skip_empty_area=False)))
    return out


def _serve(memory_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file of personal data
    stdin, stdout = sys.stdin.fileno(), sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers on the answer pipe
    while True:
        ready, _, _ = select.select([stdin], [], [], IDLE_SECONDS)
        if not ready:
            return  # idle: the parent starts a new worker when it needs one
        header = _read_exact_fd(stdin, _HEADER.size)
        if header is None:
            return  # the parent is gone
        body = _read_exact_fd(stdin, _HEADER.unpack(header)[0])
        if body is None:
            return
        request = pickle.loads(body)  # from the parent: trusted
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = int(used.ru_utime + used.ru_stime + request["timeout"]) + 1
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard != resource.RLIM_INFINITY:
            cpu = min(cpu, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, hard))  # also bounds an orphaned worker
        answer: tuple[str, object]
        try:
            answer = ("ok", _parse(request))
        except MemoryError:
            answer = ("error", "the workbook needs more memory than the reader may use")
        except SheetReadError as exc:
            answer = ("error", str(exc))
        except Exception as exc:  # calamine's own errors for corrupt files
            answer = ("error", f"not a readable xlsx workbook ({type(exc).__name__}: {exc})")
        del request
        _send(stdout, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


# ------------------------------------------------------------------------- the parent

_ALLOCATION = re.compile(r"memory allocation of (\d+) bytes failed")


_PASSED_ENVIRONMENT = (
    "PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "VIRTUAL_ENV",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
)


def _worker_environment() -> dict[str, str]:
    """What the worker may see of the environment: enough to start Python, never the
    pseudonymisation key or any other secret of the run's."""
    env = {k: v for k, v in os.environ.items() if k in _PASSED_ENVIRONMENT}
    return {**env, "RUST_BACKTRACE": "0", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}


class SheetReader:
    """One worker process, reused across workbooks; restarted after a crash."""

    def __init__(self, memory_bytes: int) -> None:
        self.memory_bytes = memory_bytes
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  # the worker's, closed in close()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ci_metrics.ingest.isolation", str(self.memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=_worker_environment(),
            close_fds=True,
        )
        return self._proc

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin:
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self.close()

    def read(self, data: bytes, which: Which, max_cells: int, timeout: float) -> list[tuple[str, Rows]]:
        """Every sheet (``all``) or the first sheet's cells, as plain Python values."""
        request = pickle.dumps(
            {"data": data, "which": which, "max_cells": max_cells, "timeout": timeout},
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        with self._lock:
            answer = self._exchange(request, timeout)
        status, payload = answer
        if status != "ok":
            raise SheetReadError(str(payload))
        return payload

    def _exchange(self, request: bytes, timeout: float) -> tuple[str, Any]:
        for attempt in (1, 2):
            if self._proc is None or self._proc.poll() is not None:
                self.close()
                self._start()
            proc = self._proc
            assert proc is not None and proc.stdin is not None and self._stderr is not None
            self._stderr.seek(0)
            self._stderr.truncate()
            try:
                _send(proc.stdin, request)
                answer = self._answer(proc, timeout)
            except BrokenPipeError:
                answer = None
            if answer is not None:
                return answer
            if attempt == 2 or proc.wait(timeout=5) != 0:
                raise SheetReadError(self._death(proc))
            # it had just left, idle: once more with a new worker
        raise AssertionError("unreachable")

    def _answer(self, proc: subprocess.Popen[bytes], timeout: float) -> tuple[str, Any] | None:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = proc.stdout.fileno()

        def exact(n: int) -> bytes | None:
            chunks, left = [], n
            while left:
                wait = deadline - time.monotonic()
                ready, _, _ = select.select([fd], [], [], max(wait, 0))
                if not ready:
                    self._kill()
                    raise SheetReadError(
                        f"reading the workbook took longer than {timeout:,.0f} s "
                        "(CI_METRICS_READER_TIMEOUT_SECONDS): stopped"
                    )
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    return None
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)

        header = exact(_HEADER.size)
        if header is None:
            return None
        body = exact(_HEADER.unpack(header)[0])
        if body is None:
            return None
        answer = _SafeUnpickler(io.BytesIO(body)).load()
        if not (isinstance(answer, tuple) and len(answer) == 2 and answer[0] in ("ok", "error")):
            raise SheetReadError("the sheet reader answered something unexpected")
        return answer

    def _death(self, proc: subprocess.Popen[bytes]) -> str:
        """Why the worker died, in words (its error output, digits and all, is not quoted)."""
        code = proc.poll()
        if code is None:
            proc.kill()
            code = proc.wait()
        err = b""
        if self._stderr is not None:
            self._stderr.seek(0)
            err = self._stderr.read()[-4000:]
        self.close()
        limit = f"{self.memory_bytes / 2**20:,.0f} MB (CI_METRICS_READER_MEMORY_MB)"
        asked = _ALLOCATION.search(err.decode("utf-8", "replace"))
        if asked:
            return (
                f"the workbook asked the reader for {int(asked.group(1)) / 2**30:,.1f} GiB of memory, "
                f"above its limit of {limit}: a stray cell far from the data, or not an export as expected"
            )
        if code < 0:
            name = signal.Signals(-code).name
            if -code == signal.SIGXCPU:
                return "reading the workbook took too long (CI_METRICS_READER_TIMEOUT_SECONDS): stopped"
            return f"the spreadsheet reader stopped on this workbook ({name}; memory limit {limit})"
        return f"the spreadsheet reader stopped on this workbook (exit status {code}; memory limit {limit})"


_readers: dict[int, SheetReader] = {}
_readers_lock = threading.Lock()


def read_workbook(
    data: bytes, which: Which, *, memory_bytes: int, max_cells: int, timeout: float
) -> list[tuple[str, Rows]]:
    """The cells of a workbook's sheets, parsed in the isolated worker (see the module)."""
    with _readers_lock:
        reader = _readers.get(memory_bytes)
        if reader is None:
            reader = _readers[memory_bytes] = SheetReader(memory_bytes)
    return reader.read(data, which, max_cells, timeout)


def worker_pid(memory_bytes: int) -> int | None:
    """The process id of the live worker of this memory limit, if any."""
    reader = _readers.get(memory_bytes)
    proc = reader._proc if reader is not None else None
    return proc.pid if proc is not None and proc.poll() is None else None


@atexit.register
def shutdown() -> None:
    """Stop every worker (also called at exit)."""
    with _readers_lock:
        readers = list(_readers.values())
        _readers.clear()
    for reader in readers:
        reader.close()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
