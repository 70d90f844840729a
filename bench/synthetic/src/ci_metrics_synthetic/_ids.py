"""Israeli national-ID helpers for the generator (vectorised, numpy only).

An ID is nine digits; the last is a check digit. Digits are weighted 1,2,1,2,...
from the left, products above 9 have their digits summed, and the total must be a
multiple of 10. The pipeline's own validation lives in ``ci_metrics.ingest.pseudonyms``; this private
copy only *makes* IDs, so the generator stays independent of the code it is used to test.
"""

from __future__ import annotations

import numpy as np

_POW10 = 10 ** np.arange(8, -1, -1, dtype=np.int64)  # digit place of positions 0..8
# The fixed odd multiplier (coprime with 10) of the affine bijection that scatters
# sequential indices over the 8-digit space.
_SCATTER = 48_271_933


def digits(ids9: np.ndarray) -> np.ndarray:
    """(n, 9) matrix of the digits of 9-digit IDs given as integers."""
    return (np.asarray(ids9, dtype=np.int64)[:, None] // _POW10) % 10


def _weighted_sum(d: np.ndarray) -> np.ndarray:
    w = np.where(np.arange(d.shape[1]) % 2 == 0, 1, 2)
    p = d * w
    return (p // 10 + p % 10).sum(axis=1)


def with_check_digit(base8: np.ndarray) -> np.ndarray:
    """Append the check digit to 8-digit bases: returns valid 9-digit IDs as integers."""
    base8 = np.asarray(base8, dtype=np.int64)
    d = (base8[:, None] // _POW10[1:]) % 10
    check = (10 - _weighted_sum(d) % 10) % 10
    return base8 * 10 + check


def is_valid(ids9: np.ndarray) -> np.ndarray:
    """Vectorised check-digit test on integer IDs (leading zeros implicit)."""
    ids9 = np.asarray(ids9, dtype=np.int64)
    ok = (ids9 >= 0) & (ids9 < 1_000_000_000)
    return ok & (_weighted_sum(digits(np.where(ok, ids9, 0))) % 10 == 0)


def unique_ids(rng: np.random.Generator, n: int, block: int, block_size: int, salt: int) -> np.ndarray:
    """``n`` distinct valid IDs, drawn from block ``block`` of the 10**8 base space.

    Blocks never overlap, so IDs are unique across cities as well as within one; an
    affine bijection (keyed by ``salt``) scatters them so that they look random.
    """
    if n > block_size:
        raise ValueError(f"{n} IDs do not fit in a block of {block_size}")
    if (block + 1) * block_size > 10**8:
        raise ValueError("too many cities for the 8-digit ID space; lower k or residents")
    local = rng.choice(block_size, size=n, replace=False).astype(np.int64)
    idx = block * block_size + local
    base8 = (idx * _SCATTER + salt) % 10**8
    return with_check_digit(base8)


def typo(rng: np.random.Generator, ids9: np.ndarray) -> np.ndarray:
    """Change one digit of each ID: a single changed digit always breaks the check digit."""
    ids9 = np.asarray(ids9, dtype=np.int64)
    n = len(ids9)
    pos = rng.integers(0, 9, n)
    place = _POW10[pos]
    d = (ids9 // place) % 10
    # a changed first digit of a 0-leading ID would show as a 9-digit number: allowed
    new = (d + rng.integers(1, 10, n)) % 10
    return ids9 + (new - d) * place


def as_text9(ids9: np.ndarray) -> np.ndarray:
    """IDs as 9-character strings with leading zeros (numpy StringDType)."""
    from numpy.dtypes import StringDType

    s = np.asarray(ids9, dtype=np.int64).astype(StringDType())
    return np.strings.zfill(s, 9)
