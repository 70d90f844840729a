"""Data-sharing agreements as configuration: one ``agreements/<partner>.yml`` per partner.

An agreement says what a partner may receive (indicators, dimensions, periods,
localities), under which disclosure thresholds, until when, and on which legal basis.
It is validated strictly (unknown keys are errors, so a typo never widens access); an
invalid or expired agreement yields no extract, only a message naming the file.
See ``docs/extracts.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ci_metrics.settings import PROJECT_ROOT
from ci_metrics.share.extracts.disclosure import DisclosureRules

DEFAULT_AGREEMENTS_DIR = PROJECT_ROOT / "agreements"
"""``agreements/`` at the repository root (editable install)."""

DIMENSIONS: tuple[str, ...] = ("total", "school", "gender", "community", "neighborhood", "age_group")
Dimension = Literal["total", "school", "gender", "community", "neighborhood", "age_group"]

AgreementState = Literal["active", "expired", "not_yet_valid", "invalid"]

_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class LocalizedName(_Strict):
    he: str = Field(min_length=1, description="Name in Hebrew.")
    en: str = Field(min_length=1, description="Name in English.")


class Contact(_Strict):
    name: str = Field(min_length=1)
    role: str | None = None
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = None


class Group(_Strict):
    """One published category of a grouped dimension: the warehouse categories it merges."""

    he: str = Field(min_length=1, description="Label in Hebrew (the public report prints it).")
    en: str = Field(min_length=1, description="Label in English.")
    members: list[str] = Field(min_length=1, description="Warehouse categories merged into this one.")


class PeriodSelection(_Strict):
    """Which periods a partner receives: a closed or open range, or the latest N.

    ``{from: 2018, to: 2021}``, ``{from: 2018}``, ``{to: 2020}`` or ``{latest: 3}``.
    ``latest`` counts the periods present in the warehouse for each indicator (survey
    waves and school years need not end in the same year).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_period: int | None = Field(default=None, alias="from", ge=1900, le=2200)
    to_period: int | None = Field(default=None, alias="to", ge=1900, le=2200)
    latest: int | None = Field(default=None, ge=1, le=100)

    @model_validator(mode="after")
    def _one_form(self) -> PeriodSelection:
        ranged = self.from_period is not None or self.to_period is not None
        if ranged and self.latest is not None:
            raise ValueError("give either 'from'/'to' or 'latest', not both")
        if not ranged and self.latest is None:
            raise ValueError("give 'from' and/or 'to', or 'latest' (or write periods: all)")
        if self.from_period is not None and self.to_period is not None and self.from_period > self.to_period:
            raise ValueError(f"'from' ({self.from_period}) is after 'to' ({self.to_period})")
        return self

    def select(self, available: Iterable[int]) -> list[int]:
        periods = sorted({int(p) for p in available})
        if self.latest is not None:
            return periods[-self.latest :]
        lo = self.from_period if self.from_period is not None else -(10**9)
        hi = self.to_period if self.to_period is not None else 10**9
        return [p for p in periods if lo <= p <= hi]

    def describe(self) -> str:
        if self.latest is not None:
            return f"latest {self.latest}"
        first = self.from_period if self.from_period is not None else "…"
        last = self.to_period if self.to_period is not None else "…"
        return f"{first}–{last}"


class Agreement(_Strict):
    """One partner's data-sharing agreement (the YAML file, validated)."""

    schema_version: Literal[1] = 1
    partner_id: str = Field(pattern=_ID_PATTERN, description="Must equal the file name without .yml.")
    version: str = Field(min_length=1, description="Version of the signed agreement, e.g. '2024-1'.")
    display_name: LocalizedName
    contact: Contact
    legal_basis: str = Field(min_length=10, description="Legal basis of the transfer.")
    purpose: str = Field(min_length=10, description="Purpose the data may be used for.")
    valid_from: dt.date
    expires_on: dt.date = Field(description="Last day on which extracts may be produced (inclusive).")
    localities: list[int] = Field(min_length=1, description="CBS locality codes.")
    indicators: list[str] = Field(min_length=1, description="Indicator ids, listed one by one.")
    dimensions: list[Dimension] = Field(min_length=1)
    periods: PeriodSelection | Literal["all"]
    min_cell_size: int = Field(
        default=10,
        ge=5,
        description="Cells counting fewer people (or responses) than this are suppressed.",
    )
    min_outcome_count: int = Field(
        default=3,
        ge=1,
        description="A percentage cell where fewer than this many people have (or lack) the "
        "outcome is suppressed (attribute disclosure).",
    )
    exact_value_min_count: int = Field(
        default=30,
        ge=1,
        description="Values of cells counting fewer people than this are published as whole numbers.",
    )
    groupings: dict[Dimension, dict[str, Group]] = Field(
        default_factory=dict,
        description="Global recoding: per dimension, the published categories and the warehouse "
        "categories each merges. Every category of the data must be in exactly one group.",
    )

    @field_validator("indicators")
    @classmethod
    def _indicator_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(_ID_PATTERN, v)]
        if bad:
            raise ValueError(f"not indicator ids: {bad}")
        dup = sorted({v for v in value if value.count(v) > 1})
        if dup:
            raise ValueError(f"listed twice: {dup}")
        return value

    @field_validator("dimensions", "localities")
    @classmethod
    def _unique(cls, value: list) -> list:
        dup = sorted({v for v in value if value.count(v) > 1})
        if dup:
            raise ValueError(f"listed twice: {dup}")
        return value

    @field_validator("groupings")
    @classmethod
    def _groups(cls, value: dict[str, dict[str, Group]]) -> dict[str, dict[str, Group]]:
        for dimension, groups in value.items():
            if dimension == "total":
                raise ValueError("the total cannot be grouped")
            if not groups:
                raise ValueError(f"grouping of '{dimension}' has no group")
            bad = [g for g in groups if not re.match(_ID_PATTERN, g)]
            if bad:
                raise ValueError(f"grouping of '{dimension}': not category ids: {bad}")
            seen: dict[str, str] = {}
            for name, group in groups.items():
                for member in group.members:
                    if member in seen:
                        raise ValueError(
                            f"grouping of '{dimension}': '{member}' is in both '{seen[member]}' and '{name}'"
                        )
                    seen[member] = name
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Agreement:
        if self.expires_on < self.valid_from:
            raise ValueError(f"expires_on ({self.expires_on}) is before valid_from ({self.valid_from})")
        if self.exact_value_min_count < self.min_cell_size:
            raise ValueError(
                f"exact_value_min_count ({self.exact_value_min_count}) "
                f"is below min_cell_size ({self.min_cell_size})"
            )
        not_published = sorted(set(self.groupings) - set(self.dimensions))
        if not_published:
            raise ValueError(f"groupings of dimensions not in 'dimensions': {not_published}")
        return self

    def grouping_members(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """``{dimension: {group: members}}``, the shape disclosure control takes."""
        return {d: {g: tuple(x.members) for g, x in groups.items()} for d, groups in self.groupings.items()}

    def check_categories(self, categories: Mapping[str, Iterable[str]]) -> None:
        """Raise :class:`AgreementError` naming every category (per grouped dimension) that
        is in no group: a grouping must cover what the warehouse holds."""
        missing = {
            d: sorted(set(map(str, categories.get(d, ()))) - {m for g in groups.values() for m in g.members})
            for d, groups in self.groupings.items()
        }
        missing = {d: m for d, m in missing.items() if m}
        if missing:
            text = "; ".join(f"'{d}': {m}" for d, m in sorted(missing.items()))
            raise AgreementError(
                f"agreement '{self.partner_id}': groupings leave categories of the data in no group: {text}"
            )

    def group_label_he(self, dimension: str, category: str) -> str | None:
        """The Hebrew label of a published group, or None when the category is not a group."""
        group = {str(d): g for d, g in self.groupings.items()}.get(dimension, {}).get(category)
        return group.he if group else None

    def state_on(self, day: dt.date) -> AgreementState:
        if day < self.valid_from:
            return "not_yet_valid"
        if day > self.expires_on:
            return "expired"
        return "active"

    def disclosure_rules(self) -> DisclosureRules:
        return DisclosureRules(
            min_cell_size=self.min_cell_size,
            min_outcome_count=self.min_outcome_count,
            exact_value_min_count=self.exact_value_min_count,
        )

    def select_periods(self, available: Iterable[int]) -> list[int]:
        if self.periods == "all":
            return sorted({int(p) for p in available})
        return self.periods.select(available)

    def describe_periods(self) -> str:
        return "all" if self.periods == "all" else self.periods.describe()


class AgreementError(ValueError):
    """An agreement file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class AgreementStatus:
    partner_id: str
    path: Path
    state: AgreementState
    message: str
    agreement: Agreement | None = None
    sha256: str | None = None

    @property
    def usable(self) -> bool:
        return self.state == "active" and self.agreement is not None


def load_agreement(path: Path) -> Agreement:
    """Read and validate one agreement file; raise :class:`AgreementError` naming the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise AgreementError(f"{path}: cannot read agreement: {exc}") from exc
    if not isinstance(data, dict):
        raise AgreementError(f"{path}: an agreement must be a YAML mapping, got {type(data).__name__}")
    try:
        agreement = Agreement.model_validate(data)
    except ValidationError as exc:
        raise AgreementError(f"{path}: invalid agreement: {exc}") from exc
    if agreement.partner_id != path.stem:
        raise AgreementError(
            f"{path}: invalid agreement: partner_id '{agreement.partner_id}' "
            f"differs from the file name '{path.stem}'"
        )
    return agreement


def agreement_files(agreements_dir: Path | None = None) -> list[Path]:
    directory = Path(agreements_dir) if agreements_dir is not None else DEFAULT_AGREEMENTS_DIR
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


def agreement_status(path: Path, today: dt.date | None = None) -> AgreementStatus:
    day = today or dt.date.today()
    path = Path(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    try:
        agreement = load_agreement(path)
    except AgreementError as exc:
        return AgreementStatus(path.stem, path, "invalid", str(exc), None, sha)
    state = agreement.state_on(day)
    if state == "expired":
        message = f"{path}: agreement version {agreement.version} expired on {agreement.expires_on}"
    elif state == "not_yet_valid":
        message = f"{path}: agreement version {agreement.version} is valid only from {agreement.valid_from}"
    else:
        message = f"{path}: active, version {agreement.version}, expires on {agreement.expires_on}"
    return AgreementStatus(agreement.partner_id, path, state, message, agreement, sha)


def list_agreements(
    agreements_dir: Path | None = None, *, today: dt.date | None = None
) -> list[AgreementStatus]:
    """Every agreement file in the directory (sorted by name) with its state on ``today``.

    Two files naming the same partner (``x.yml`` and ``x.yaml``) are both reported invalid.
    """
    statuses = [agreement_status(p, today) for p in agreement_files(agreements_dir)]
    seen: dict[str, int] = {}
    for s in statuses:
        seen[s.partner_id] = seen.get(s.partner_id, 0) + 1
    out = []
    for s in statuses:
        if seen[s.partner_id] > 1:
            s = AgreementStatus(
                s.partner_id,
                s.path,
                "invalid",
                f"{s.path}: invalid agreement: more than one file for partner '{s.partner_id}'",
                None,
                s.sha256,
            )
        out.append(s)
    return out
