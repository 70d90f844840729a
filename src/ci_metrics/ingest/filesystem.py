"""Files are files: the inbox seen without following a link, partner files read through a
descriptor that refuses links and anything but a regular file, private copies in the archive.

A symbolic link, a named pipe, a device or a socket in the inbox is never opened: it is
rejected unread with its reason (a link named like a welfare file may point at the key).
A regular file is opened with ``O_NOFOLLOW`` and must be the very file the walk saw (same
device and inode), so a swap between the look and the read is caught too. The archive and
the home are private to the pipeline's user: folders 0700, files 0600.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DATA_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls")
"""Names that announce a data file: a folder named so is rejected, not walked."""
_CHUNK = 1 << 20
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class NotARegularFileError(OSError):
    """The path is not a regular file (or no longer the one that was listed): never read."""


def kind_of(mode: int) -> str | None:
    """Why a file of this mode is not read (None: a regular file, read)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if stat.S_ISDIR(mode):
        return "is a folder"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device"
    return "is not a regular file"


def unread_reason(kind: str) -> str:
    """The rejection message of something in the inbox that is not a regular file."""
    return (
        f"{kind}, not a regular file: not read, not archived (ci-metrics reads only regular "
        "files). Put the file itself in the inbox, and remove this entry."
    )


@dataclass(frozen=True)
class InboxEntry:
    """Something found in the inbox: a regular file to read, or an entry rejected unread."""

    source: str  # the inbox folder it is in ("" at the inbox root)
    path: Path
    device: int
    inode: int
    problem: str | None = None  # None: a regular file; else why it is not read

    @property
    def name(self) -> str:
        return self.path.name


def _source_of(inbox: Path, path: Path) -> str:
    rel = path.relative_to(inbox)
    return rel.parts[0] if len(rel.parts) > 1 else ""


def inbox_entries(inbox: Path) -> Iterator[InboxEntry]:
    """Every entry under the inbox, in a stable order, never following a link: regular files,
    and the links, pipes, devices and data-named folders that are rejected unread."""
    found: list[InboxEntry] = []
    pending = [inbox]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as it:
            for item in it:
                path = Path(item.path)
                st = item.stat(follow_symlinks=False)
                problem = kind_of(st.st_mode)
                if problem == "is a folder":
                    if folder != inbox and item.name.lower().endswith(DATA_SUFFIXES):
                        found.append(InboxEntry(_source_of(inbox, path), path, st.st_dev, st.st_ino, problem))
                    else:
                        pending.append(path)
                    continue
                found.append(InboxEntry(_source_of(inbox, path), path, st.st_dev, st.st_ino, problem))
    yield from sorted(found, key=lambda e: e.path)


def inbox_files(inbox: Path) -> Iterator[tuple[str, Path]]:
    """(source folder, file) for every regular file under the inbox, in a stable order."""
    for entry in inbox_entries(inbox):
        if entry.problem is None:
            yield entry.source, entry.path


def open_regular(path: Path, expected: InboxEntry | None = None) -> int:
    """A read-only descriptor of ``path``, which must be a regular file reached without a link
    (and, given ``expected``, the very file listed). Never blocks on a pipe."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW: the last component is a link
            raise NotARegularFileError(exc.errno, "is a symbolic link", str(path)) from None
        raise
    st = os.fstat(fd)
    problem = kind_of(st.st_mode)
    if (
        problem is None
        and expected is not None
        and (st.st_dev, st.st_ino) != (expected.device, expected.inode)
    ):
        problem = "was replaced while the inbox was read"
    if problem is not None:
        os.close(fd)
        raise NotARegularFileError(0, problem, str(path))
    return fd


@dataclass
class ReceivedFile:
    """A regular file as received: its size, SHA-256 and, within the size limit, its bytes."""

    size: int
    sha256: str
    data: bytes | None  # None: beyond the size limit, hashed but not kept


def receive(path: Path, max_bytes: int, expected: InboxEntry | None = None) -> ReceivedFile:
    """Read a regular file once: hashed, and kept in memory when at most ``max_bytes``."""
    fd = open_regular(path, expected)
    with os.fdopen(fd, "rb", closefd=True) as fh:
        size = os.fstat(fh.fileno()).st_size
        digest = hashlib.sha256()
        if size > max_bytes:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
            return ReceivedFile(size=size, sha256=digest.hexdigest(), data=None)
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while read
        return ReceivedFile(size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=None)
    digest.update(data)
    return ReceivedFile(size=len(data), sha256=digest.hexdigest(), data=data)


def sha256_of(path: Path) -> str:
    """SHA-256 of a regular file's bytes (a link is followed: hashing reveals nothing, and the
    reading is done by :func:`receive`); a pipe or device raises, never blocks."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb", closefd=True) as fh:
        problem = kind_of(os.fstat(fh.fileno()).st_mode)
        if problem is not None:
            raise NotARegularFileError(0, problem, str(path))
        digest = hashlib.sha256()
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can enter: created 0700 (each missing parent too),
    narrowed to 0700 when it exists wider and belongs to this user."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
    st = path.stat()
    if st.st_mode & 0o077 and st.st_uid == os.geteuid():
        os.chmod(path, 0o700)
    return path


def write_private(target: Path, data: bytes) -> None:
    """``data`` written to ``target`` (0600, atomically: a temporary name, then a rename)."""
    tmp = target.with_name(target.name + ".copying")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb", closefd=True) as fh:
        fh.write(data)
    os.replace(tmp, target)
