"""Declared layouts of the CBS workbooks: which field is which column, found by meaning.

Each wanted field lists regular expressions over the *flattened header* of a column (the
section band, the header levels, joined with `` | ``; footnote markers stripped, quotes,
dashes and whitespace normalised, see :func:`ci_metrics.ingest.cbs.workbook.normalise_header`)
and the sheet(s) to look in. Positions are never declared: next year's edition with a
column moved, or renamed to another accepted synonym, loads the same. The specs are data,
in ``workbooks.yml`` beside this module, validated by the models below.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BUNDLED_CBS_LAYOUT = Path(__file__).parent / "workbooks.yml"

_NAME = r"^[a-z][a-z0-9_]*$"


class CbsLayoutError(ValueError):
    """A CBS workbook does not match its declared layout (or the layout itself is invalid).

    The message names the workbook, the sheet(s), the field and its patterns.
    """


def _compile(value: str) -> str:
    try:
        re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"pattern {value!r} is not a valid regular expression: {exc}") from None
    return value


class FieldSpec(BaseModel):
    """One wanted field of a workbook."""

    model_config = ConfigDict(extra="forbid")

    patterns: list[str] = Field(
        min_length=1,
        description="Regexes (searched, case-insensitive) over the flattened header text. Any "
        "one matching is enough: list the synonyms of past and expected editions. A named "
        "group `year` gives the data year when the sheet has no data-year row.",
    )
    exclude: list[str] = Field(
        default_factory=list, description="A column whose header matches one of these is not a candidate."
    )
    sheets: list[str] | None = Field(
        default=None,
        description="Regexes over the sheet names (stripped) to look in; default: the workbook's `sheets`.",
    )
    role: Literal["key", "attribute", "measure"] = Field(
        default="measure",
        description="key: the authority's code; attribute: descriptive column of every row (name, "
        "district); measure: a figure (a row per authority and data year in a long table).",
    )
    type: Literal["code", "integer", "number", "text"] = Field(
        default="number", description="code: an integer stored as text, maybe with leading zeros."
    )
    required: bool = Field(default=True, description="A required field that cannot be found is an error.")
    pick: Literal["only", "latest", "previous"] = Field(
        default="only",
        description="When several columns match: `only` = that is an error; `latest` = the one "
        "of the latest data year; `previous` = the one of the latest year before that (absent "
        "when only one year matches).",
    )
    nil: Literal["zero", "null"] = Field(
        default="zero", description="What CBS's nil mark `-` becomes: 0 (no cases) or null."
    )
    unit: str | None = Field(default=None, description="percent, persons, count, index, rank, ...")
    label: str | None = Field(default=None, description="Short English label.")
    description: str | None = None

    @field_validator("patterns", "exclude", "sheets", mode="after")
    @classmethod
    def _patterns_compile(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_compile(p) for p in value]

    @property
    def regexes(self) -> list[re.Pattern[str]]:
        return [re.compile(p, re.IGNORECASE) for p in self.patterns]  # re caches compiled patterns

    @property
    def exclude_regexes(self) -> list[re.Pattern[str]]:
        return [re.compile(p, re.IGNORECASE) for p in self.exclude]


class IdentitySpec(BaseModel):
    """How a row names its authority.

    CBS codes are not unique as integers: a regional council's two-digit code can equal a
    locality's four-digit code printed with leading zeros (26 = מטה יהודה, 0026 = ראש פינה).
    Every row therefore gets ``locality_code`` (the integer), ``is_regional_council`` and
    ``authority_code``: the code as CBS prints it in the profile, zero-padded to four digits
    for municipalities and local councils, the bare number for regional councils (unique).
    """

    model_config = ConfigDict(extra="forbid")

    code_field: str = Field(description="Field (type code) holding the authority's code.")
    status_field: str | None = Field(default=None, description="Field holding the municipal status.")
    regional_council_status: str | None = Field(
        default=None, description="Regex: a status matching it marks a regional council."
    )
    code_fallback_field: str | None = Field(
        default=None,
        description="Field holding the code when `code_field` is empty; such a row is a regional "
        "council (the socio-economic table puts the council's code in its status column).",
    )


class WorkbookSpec(BaseModel):
    """One kind of CBS workbook and the raw table it feeds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    table: str = Field(pattern=_NAME, description="Target table in schema raw.")
    shape: Literal["long", "wide"] = Field(
        description="long: one row per authority, measure and data year; wide: one row per "
        "authority, a column per field."
    )
    title: str = Field(default="", description="What the workbook is, in a message to a clerk.")
    description: str = ""
    file_patterns: list[str] = Field(
        min_length=1,
        description="Regexes over the file name (full match): only a hint (a workbook is recognised "
        "by its sheets and headers); a named group `edition` gives the edition year when the "
        "content does not.",
    )
    sheets: list[str] = Field(min_length=1, description="Default sheets to look in (regexes over names).")
    year_row_marker: str | None = Field(
        default=None,
        description="Regex of the cell that opens the data-year row above the header (its year is "
        "the default data year of the sheet).",
    )
    section_band: bool = Field(
        default=False,
        description="The row above the data-year row (or above the header) is a band of section "
        "titles, each spanning the columns up to the next one.",
    )
    max_header_rows: int = Field(default=20, ge=1, description="Where to look for the header.")
    header_year: str | None = Field(
        default=None,
        description="Regex with a named group `year`, searched in every header part: the match is "
        "removed from the header before the patterns see it, and the year is the column's data year "
        "when the data-year row gives none. A year on the code column's header (older editions: "
        "'סמל הרשות 2009') is the sheet's default year.",
    )
    scales: dict[str, float] = Field(
        default_factory=dict,
        description="Regex -> factor: a header part matching one (e.g. '(אלפים)', thousands) is "
        "stripped of the match, and the column's figures are multiplied by the factor (populations "
        "printed in thousands are stored in persons).",
    )
    edition_field: str | None = Field(
        default=None,
        description="The field whose data year is the workbook's edition (the file name's `edition` "
        "group is used only when the content gives none).",
    )
    identity: IdentitySpec
    fields: dict[str, FieldSpec]
    year_columns: dict[str, str] = Field(
        default_factory=dict,
        description="wide tables: output column -> field whose data year it holds.",
    )

    @field_validator("file_patterns", "sheets", mode="after")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        return [_compile(p) for p in value]

    @field_validator("header_year", mode="after")
    @classmethod
    def _year_group(cls, value: str | None) -> str | None:
        if value is not None and "year" not in re.compile(_compile(value)).groupindex:
            raise ValueError(f"header_year {value!r} has no named group `year`")
        return value

    @field_validator("scales", mode="after")
    @classmethod
    def _scales_compile(cls, value: dict[str, float]) -> dict[str, float]:
        for pattern, factor in value.items():
            _compile(pattern)
            if factor <= 0:
                raise ValueError(f"scale {pattern!r}: the factor must be positive")
        return value

    @field_validator("fields", mode="after")
    @classmethod
    def _field_names(cls, value: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        for name in value:
            if not re.match(_NAME, name):
                raise ValueError(f"field name {name!r} is not a lower-case identifier")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WorkbookSpec:
        ident = self.identity
        for ref in (ident.code_field, ident.status_field, ident.code_fallback_field):
            if ref is not None and ref not in self.fields:
                raise ValueError(f"identity refers to undeclared field {ref!r}")
        code = self.fields[ident.code_field]
        if code.type != "code" or code.role != "key" or not code.required:
            raise ValueError(f"identity code field {ident.code_field!r} must be a required key of type code")
        if ident.regional_council_status and not ident.status_field:
            raise ValueError("regional_council_status needs status_field")
        if self.edition_field is not None and self.edition_field not in self.fields:
            raise ValueError(f"edition_field refers to undeclared field {self.edition_field!r}")
        for out, ref in self.year_columns.items():
            if ref not in self.fields:
                raise ValueError(f"year column {out!r} refers to undeclared field {ref!r}")
        for name, spec in self.fields.items():
            if self.shape == "long" and spec.role == "measure" and spec.type not in ("number", "integer"):
                raise ValueError(f"{name}: measures of a long table are numbers")
            if spec.role == "key" and name != ident.code_field and name != ident.code_fallback_field:
                raise ValueError(f"{name}: only the identity's code fields are keys")
        return self

    def sheet_patterns(self, field: FieldSpec) -> list[str]:
        return field.sheets or self.sheets

    def match_file(self, file_name: str) -> re.Match[str] | None:
        for pattern in self.file_patterns:
            m = re.fullmatch(pattern, file_name, re.IGNORECASE)
            if m:
                return m
        return None


class CbsLayout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workbooks: list[WorkbookSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CbsLayout:
        names = [w.name for w in self.workbooks]
        tables = [w.table for w in self.workbooks]
        if len(set(names)) != len(names) or len(set(tables)) != len(tables):
            raise ValueError("workbook names and tables must be unique")
        return self

    def workbook(self, name: str) -> WorkbookSpec:
        for spec in self.workbooks:
            if spec.name == name:
                return spec
        raise KeyError(name)


def load_cbs_layout(path: Path | None = None) -> CbsLayout:
    """The declared CBS layouts (the bundled ``workbooks.yml`` unless ``path`` is given)."""
    path = path or BUNDLED_CBS_LAYOUT
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return CbsLayout.model_validate(data)
    except Exception as exc:  # yaml.YAMLError, pydantic.ValidationError
        raise CbsLayoutError(f"{path}: not a valid CBS layout: {exc}") from exc
