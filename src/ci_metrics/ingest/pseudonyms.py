"""National IDs: validation, pseudonymisation and masking.

IDs are validated (9 digits once leading zeros are restored, Israeli check digit) and
replaced at the door by a keyed hash (HMAC-SHA-256). The key never enters the warehouse.
Everything here is vectorised over pandas Series: a register of millions must not loop in
Python row by row for the check digit.
"""

from __future__ import annotations

import hmac

import numpy as np
import pandas as pd

from ci_metrics.settings import Settings

_WEIGHTS = np.array([1, 2, 1, 2, 1, 2, 1, 2, 1], dtype=np.int64)


def normalise_ids(raw: pd.Series) -> pd.Series:
    """Text of an ID column -> 9-digit strings (leading zeros restored), or NA when not 1-9
    ASCII digits.

    Excel exports give numbers (``60912367.0``); some partners drop leading zeros.
    """
    text = raw.astype("string").str.strip()
    text = text.str.replace(r"\.0+$", "", regex=True)
    # [0-9], not \d: \d also matches Arabic-Indic and other digits, which are not an ID's
    digits = text.where(text.str.fullmatch(r"[0-9]{1,9}").fillna(False))
    return digits.str.zfill(9)


def check_digit_ok(ids9: pd.Series) -> pd.Series:
    """True where a 9-digit ID passes the Israeli check digit (Luhn variant)."""
    ok = pd.Series(False, index=ids9.index)
    present = ids9.notna()
    if not present.any():
        return ok
    arr = np.frombuffer("".join(ids9[present].tolist()).encode("ascii"), dtype=np.uint8)
    digits = (arr - ord("0")).astype(np.int64).reshape(-1, 9)
    products = digits * _WEIGHTS
    products = np.where(products > 9, products - 9, products)
    ok.loc[present] = products.sum(axis=1) % 10 == 0
    return ok


def validate_ids(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (9-digit IDs, reason) where reason is NA for a valid ID."""
    ids9 = normalise_ids(raw)
    reason = pd.Series(pd.NA, index=raw.index, dtype="string")
    text = raw.astype("string").str.strip()
    empty = text.isna() | (text == "")
    reason[empty] = "national ID is empty"
    bad_shape = ids9.isna() & ~empty
    reason[bad_shape] = "national ID is not 1-9 digits"
    bad_check = ids9.notna() & ~check_digit_ok(ids9)
    reason[bad_check] = "national ID fails its check digit"
    return ids9, reason


def mask_id(value: object) -> str:
    """An ID as it may appear in a reject report: all but the last two characters hidden."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if len(text) <= 2:
        return "*" * len(text)
    return "*" * (len(text) - 2) + text[-2:]


class Pseudonymiser:
    """Keyed hash of national IDs: the same person gets the same key in every source."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonymisation key must be at least 16 bytes")
        self._key = key

    def __call__(self, ids9: pd.Series) -> pd.Series:
        """Keyed hash of each 9-digit ID (NA stays NA), computed once per distinct ID."""
        key = self._key
        distinct = ids9.dropna().unique()
        lookup = {v: hmac.digest(key, v.encode("ascii"), "sha256").hex() for v in distinct}
        return ids9.map(lookup).astype("string")

    @property
    def fingerprint(self) -> str:
        """The key's fingerprint (:func:`ci_metrics.ingest.key.fingerprint`)."""
        from ci_metrics.ingest.key import fingerprint

        return fingerprint(self._key)

    @classmethod
    def from_settings(cls, settings: Settings) -> Pseudonymiser:
        """With the key guarded by :mod:`ci_metrics.ingest.key` (refused when it is not the key
        of the data already published)."""
        from ci_metrics.ingest.key import load_or_create_key

        return cls(load_or_create_key(settings))
