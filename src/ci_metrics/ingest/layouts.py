"""Source layouts: the declared contract of each file a partner sends.

A layout says which file names it reads, how (format, encoding, header row) and which
column means what. A new youth movement with its own export is a new YAML file, not new
code: see README, "Add a youth movement or a source".
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BUNDLED_LAYOUTS = Path(__file__).parent / "layouts"

SOURCES = ("residents", "schools", "youth", "welfare", "surveys")
"""The inbox folders, one per partner source."""


class _Column(BaseModel):
    model_config = ConfigDict(extra="forbid")
    header: str = Field(description="The column's header exactly as the partner exports it.")
    required: bool = Field(default=True, description="An empty cell rejects the row.")
    description: str | None = None


class NationalIdColumn(_Column):
    """Validated and replaced by the keyed hash; never stored in clear."""

    type: Literal["national_id"]


class DropColumn(_Column):
    """Personal data not needed downstream (names): read, checked to exist, and dropped."""

    type: Literal["drop"]
    required: bool = False


class TextColumn(_Column):
    type: Literal["text"]


class CodeColumn(_Column):
    """Text restricted to a set of codes (kept as sent; staging translates them)."""

    type: Literal["code"]
    allowed: list[str]


class IntegerColumn(_Column):
    type: Literal["integer"]
    allowed: list[int] | None = None
    min: int | None = None
    max: int | None = None


class DecimalColumn(_Column):
    type: Literal["decimal"]
    min: float | None = None
    max: float | None = None


class DateColumn(_Column):
    type: Literal["date"]
    formats: list[str] = Field(min_length=1, description="strptime formats, tried in order.")


class TimestampColumn(_Column):
    type: Literal["timestamp"]
    formats: list[str] = Field(min_length=1)


class FlagColumn(_Column):
    """A yes/no value, stored as a boolean."""

    type: Literal["flag"]
    true_values: list[str]
    false_values: list[str] = Field(default_factory=list)


class CategoryColumn(_Column):
    """Sensitive free text reduced to a coarse category; the text itself is never stored."""

    type: Literal["category"]
    categories: dict[str, list[str]]
    default_category: str = "other"


ColumnSpec = Annotated[
    NationalIdColumn
    | DropColumn
    | TextColumn
    | CodeColumn
    | IntegerColumn
    | DecimalColumn
    | DateColumn
    | TimestampColumn
    | FlagColumn
    | CategoryColumn,
    Field(discriminator="type"),
]


class SourceLayout(BaseModel):
    """One partner export: which files, how to read them, and what each column means."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    source: Literal["residents", "schools", "youth", "welfare", "surveys"]
    table: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Target table in schema raw.")
    description: str = ""
    file_pattern: str = Field(
        description="Regex over the file name with named groups `locality` and either `period` "
        "(a year) or `snapshot` (YYYYMMDD)."
    )
    format: Literal["csv", "xlsx"]
    encoding: Literal["utf-8", "utf-8-sig", "cp1255"] = "utf-8"
    delimiter: str = ","
    header_row: int = Field(default=1, ge=1, description="1-based row of the header (xlsx).")
    stop_at_blank: bool = Field(
        default=False, description="Rows after the first blank row (totals, notes) are not data."
    )
    snapshot: bool = Field(default=False, description="Each file is a complete snapshot.")
    constants: dict[str, str | int | bool] = Field(default_factory=dict)
    columns: dict[str, ColumnSpec]

    @field_validator("file_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        rx = re.compile(value)
        if "locality" not in rx.groupindex:
            raise ValueError("file_pattern needs a named group 'locality'")
        if not ({"period", "snapshot"} & set(rx.groupindex)):
            raise ValueError("file_pattern needs a named group 'period' or 'snapshot'")
        return value

    @model_validator(mode="after")
    def _snapshot_matches_pattern(self) -> SourceLayout:
        groups = set(re.compile(self.file_pattern).groupindex)
        if self.snapshot != ("snapshot" in groups):
            raise ValueError("snapshot layouts name a 'snapshot' group, others a 'period' group")
        return self

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.file_pattern)

    def match(self, file_name: str) -> re.Match[str] | None:
        return self.regex.fullmatch(file_name)

    @property
    def stored_columns(self) -> list[str]:
        """Columns the raw table receives from this layout (dropped ones excluded)."""
        return [name for name, spec in self.columns.items() if spec.type != "drop"]


class LayoutError(ValueError):
    """A layout file that is not a valid contract."""


def load_layout(path: Path) -> SourceLayout:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return SourceLayout.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError, yaml.YAMLError
        raise LayoutError(f"{path}: not a valid source layout: {exc}") from exc


def load_layouts(extra_dir: Path | None = None) -> list[SourceLayout]:
    """The bundled layouts, plus those of ``extra_dir`` (which win on equal names)."""
    found: dict[str, SourceLayout] = {}
    dirs = [BUNDLED_LAYOUTS] + ([extra_dir] if extra_dir else [])
    for folder in dirs:
        for path in sorted(folder.rglob("*.yml")):
            layout = load_layout(path)
            found[layout.name] = layout
    return list(found.values())


def layout_for(file_name: str, source: str, layouts: list[SourceLayout]) -> SourceLayout | None:
    for layout in layouts:
        if layout.source == source and layout.match(file_name):
            return layout
    return None
