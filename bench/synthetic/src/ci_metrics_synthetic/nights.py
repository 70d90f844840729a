"""What arrives on a later night: ``resend_register``, one town's register sent again.

The benchmark's one-city night (issue 16): after a full run, one town's register system
exports its register again a week later. Nobody moved in that week in the generator's
world, so the people are the same, but the export is sorted by ID (the system's other
report), has a new snapshot date in its name and therefore other bytes: the pipeline must
read it as a new file, take it as the town's latest snapshot and recompute that town. The
generator's truth does not change (every year's flags depend on the snapshot being after 1
January or 31 December, which a week later in January keeps), so the same truth check
holds after the night. Deterministic: the same inbox gives the same file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

_REGISTER = re.compile(r"residents_(?P<code>\d+)_(?P<snapshot>\d{8})\.csv")


def latest_register(inbox: Path, locality_code: int) -> Path:
    """The town's register with the latest snapshot date in ``inbox/residents/``."""
    found = sorted(
        (m["snapshot"], path)
        for path in (Path(inbox) / "residents").iterdir()
        if (m := _REGISTER.fullmatch(path.name)) and int(m["code"]) == locality_code
    )
    if not found:
        raise FileNotFoundError(f"no register of locality {locality_code} in {inbox}/residents")
    return found[-1][1]


def resend_register(inbox: Path, locality_code: int, *, days: int = 7, out: Path | None = None) -> Path:
    """Write the town's latest register again, ``days`` later, rows sorted by their bytes
    (by ID), into ``out`` (default: ``inbox/residents/``); return the new file's path.

    The encoding (cp1255), header and line ends are kept; only the order of the data rows
    and the snapshot date in the name change. ``days`` must keep the snapshot in the same
    January (see the module's docstring).
    """
    source = latest_register(inbox, locality_code)
    m = _REGISTER.fullmatch(source.name)
    assert m is not None
    snapshot = dt.datetime.strptime(m["snapshot"], "%Y%m%d").date()
    later = snapshot + dt.timedelta(days=days)
    if days < 1 or later.year != snapshot.year or later.month != snapshot.month:
        raise ValueError(f"{days} days after {snapshot} leaves its month: the truth would change")
    header, _, body = source.read_bytes().partition(b"\n")
    rows = sorted(line for line in body.split(b"\n") if line.strip())
    target = Path(out or source.parent) / f"residents_{locality_code}_{later:%Y%m%d}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    # a new directory entry (never a write through an existing name: in the benchmark's
    # inbox every other file is a hard link to an inbox it must not change)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(header + b"\n" + b"\n".join(rows) + b"\n")
    os.replace(partial, target)
    return target
