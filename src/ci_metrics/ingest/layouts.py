"""Source layouts: the declared contract of each file a partner sends.

A layout says which file names it reads, how (format, accepted encodings, header row), which
column means what, and how a real export is brought to the shape the indicators expect: value
maps (recoding), constants, row filters, derived columns (an age group), and where each row's
locality (and period) comes from when the file name does not say it. A new youth movement or
survey vendor is a new YAML file, not new code: every feature is described in the Field
descriptions below and in the commented example ``layouts/examples/survey_vendor.yml.example``.

Which layout reads a file (see :func:`layout_for`): among the layouts of the file's source
folder whose ``file_pattern`` matches its name, the highest ``priority`` wins; on equal
priority a local layout (``CI_METRICS_LAYOUTS_DIR``) wins over a bundled one; a tie that
remains is an error naming both layouts, never a silent pick. A local layout with the name of a
bundled one replaces it.

Which columns a layout must provide is declared once, in the dbt source YAML of its raw table
(``models/staging/<source>/_<source>__sources.yml``): a column whose ``config.meta`` holds
``layout: required`` is needed by the indicators. A layout without it is a layout problem
(:class:`LayoutProblem`): the files it would read are rejected with that reason, the others load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from ci_metrics.settings import PROJECT_ROOT

BUNDLED_LAYOUTS = Path(__file__).parent / "layouts"

SOURCES = ("residents", "schools", "youth", "welfare", "surveys", "early_childhood")
"""The inbox folders, one per partner source."""

Encoding = Literal["utf-8", "utf-8-sig", "cp1255", "iso-8859-8"]

DUCKDB_TYPES = {
    "national_id": "VARCHAR",
    "text": "VARCHAR",
    "code": "VARCHAR",
    "category": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "flag": "BOOLEAN",
    "age_group": "VARCHAR",
}
"""The raw table's type of each column type (and derived column type)."""


def _as_text_map(value: Any) -> Any:
    """YAML reads ``1: male`` with an integer key: a value map compares text, so keys and
    values are made text (a YAML ``null`` value stays None: the cell becomes empty)."""
    if isinstance(value, dict):
        return {str(k): (None if v is None else str(v)) for k, v in value.items()}
    return value


class _Column(BaseModel):
    model_config = ConfigDict(extra="forbid")
    header: str = Field(description="The column's header exactly as the partner exports it.")
    required: bool = Field(default=True, description="An empty cell rejects the row.")
    description: str | None = None
    recode: dict[str, str | None] = Field(
        default_factory=dict,
        description="Value map, applied to the cell (spaces trimmed) before anything else (filters, "
        "the column's rule): a value as the partner sends it → the value stored, e.g. "
        "`{male: גבר, female: אישה}`; `null` empties the cell. A value the map does not list is "
        "kept as sent and judged by the column's rule (a `code` column rejects it, a `text` "
        "column keeps it). Exact match: list every spelling the partner uses.",
    )

    _recode_text = field_validator("recode", mode="before")(_as_text_map)


class NationalIdColumn(_Column):
    """Validated and replaced by the keyed hash; never stored in clear."""

    type: Literal["national_id"]


class DropColumn(_Column):
    """Personal data not needed downstream (names): read, checked to exist, and dropped. Also a
    column used only by a filter or as the rows' locality, and not stored."""

    type: Literal["drop"]
    required: bool = False


class TextColumn(_Column):
    type: Literal["text"]


class CodeColumn(_Column):
    """Text restricted to a set of codes (kept as sent, after its value map; staging translates them)."""

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


class AgeBin(BaseModel):
    """One age group: ages ``min`` to ``max`` inclusive (no ``max``: and older)."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(description="The value stored, e.g. `18-29` (as the indicators expect it).")
    min: int = Field(ge=0, description="Youngest age of the group, in whole years.")
    max: int | None = Field(default=None, description="Oldest age of the group, inclusive; none: no limit.")


class AgeGroupColumn(BaseModel):
    """A column computed from another: the age group of an age or of a birth date."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    type: Literal["age_group"]
    from_column: str = Field(
        alias="from",
        description="The layout column it is computed from: an `integer` or `decimal` column "
        "(an age in years) or a `date` column (a birth date).",
    )
    as_of: Literal["period_start", "period_end", "snapshot_date"] | None = Field(
        default=None,
        description="For a birth date, the day the age is reckoned on: `period_end` (31 December "
        "of the row's period year, the usual choice for a yearly survey or roster), "
        "`period_start` (1 January of it) or `snapshot_date` (the date of a snapshot file). "
        "Required with a birth date; not allowed with an age.",
    )
    groups: list[AgeBin] = Field(min_length=1, description="The age groups, youngest first, not overlapping.")
    required: bool = Field(
        default=False,
        description="An age outside every group rejects the row; otherwise (default) the row is "
        "kept with an empty age group. An empty age or birth date leaves it empty either way.",
    )
    description: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AgeGroupColumn:
        previous: int | None = -1
        for group in self.groups:
            if group.max is not None and group.max < group.min:
                raise ValueError(f"age group {group.label!r}: max is below min")
            if previous is None or group.min <= previous:
                raise ValueError(
                    f"age group {group.label!r} overlaps the previous one (list them youngest first)"
                )
            previous = group.max
        return self


DerivedSpec = Annotated[AgeGroupColumn, Field(discriminator="type")]


class RowFilter(BaseModel):
    """Which rows are data of this partnership; the others are *filtered*: counted, neither
    loaded nor rejected (a national sample holds other towns)."""

    model_config = ConfigDict(extra="forbid")
    column: str = Field(description="A layout column (its name in `columns`, not its header).")
    keep: list[str] | None = Field(
        default=None,
        description="Keep only the rows whose value (after the column's value map, spaces "
        "trimmed) is one of these; an empty cell is filtered out.",
    )
    skip: list[str] | None = Field(
        default=None, description="Filter out the rows whose value is one of these (an empty cell is kept)."
    )

    _keep_text = field_validator("keep", "skip", mode="before")(
        lambda v: [str(x) for x in v] if isinstance(v, list) else v
    )

    @model_validator(mode="after")
    def _one_rule(self) -> RowFilter:
        if (self.keep is None) == (self.skip is None):
            raise ValueError("a filter has either `keep` or `skip`")
        return self


class FileValue(BaseModel):
    """Where the rows' locality (or period) comes from when the file name does not say it:
    ``fixed`` for the whole file, or ``column`` per row."""

    model_config = ConfigDict(extra="forbid")
    fixed: int | None = Field(default=None, description="The value for every row, e.g. `fixed: 1034`.")
    column: str | None = Field(
        default=None,
        description="A layout column (its name in `columns`; type `drop` when it should not be "
        "stored) whose value, after its value map, is the code itself or is looked up in `codes`.",
    )
    codes: dict[str, int] = Field(
        default_factory=dict,
        description="Value → code, e.g. a town name → its CBS locality code. Without it the "
        "value must be a whole number.",
    )
    others: Literal["reject", "filter"] = Field(
        default="reject",
        description="A row whose value is not in `codes`: `reject` it (default) or `filter` it "
        "out (a national sample: the other towns are not data of this partnership).",
    )

    _codes_text = field_validator("codes", mode="before")(
        lambda v: {str(k): c for k, c in v.items()} if isinstance(v, dict) else v
    )

    @model_validator(mode="after")
    def _one_origin(self) -> FileValue:
        if (self.fixed is None) == (self.column is None):
            raise ValueError("give either `fixed` or `column`")
        if self.fixed is not None and (self.codes or self.others != "reject"):
            raise ValueError("`codes` and `others` go with `column`, not with `fixed`")
        if self.others == "filter" and not self.codes:
            raise ValueError("`others: filter` needs `codes` (the values that are kept)")
        return self


class SourceLayout(BaseModel):
    """One partner export: which files, how to read them, and what each column means."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", description="Unique; a local layout of a bundled name replaces it."
    )
    source: Literal["residents", "schools", "youth", "welfare", "surveys", "early_childhood"] = Field(
        description="The inbox folder whose files it reads."
    )
    table: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Target table in schema raw.")
    description: str = ""
    file_pattern: str = Field(
        description="Regex over the whole file name. Named groups: `locality` (unless the layout "
        "declares `locality`), and `period` (a year; unless the layout declares `period`) or "
        "`snapshot` (YYYYMMDD) for snapshot layouts."
    )
    priority: int = Field(
        default=0,
        description="When several layouts of a source match a file name, the highest priority "
        "reads it; on equal priority a local layout wins over a bundled one; a remaining tie "
        "rejects the file, naming both layouts.",
    )
    format: Literal["csv", "xlsx"]
    encoding: Encoding | list[Encoding] = Field(
        default="utf-8",
        description="The CSV's text encoding, or a list of accepted ones tried in order (list "
        "strict ones such as utf-8 before cp1255, which decodes almost any bytes). A file that "
        "starts with a UTF-8 byte-order mark (BOM) is read as UTF-8 whatever this says: the BOM "
        "makes its encoding certain.",
    )
    delimiter: str = ","
    header_row: int = Field(default=1, ge=1, description="1-based row of the header (xlsx).")
    stop_at_blank: bool = Field(
        default=False, description="Rows after the first blank row (totals, notes) are not data."
    )
    snapshot: bool = Field(default=False, description="Each file is a complete snapshot.")
    constants: dict[str, str | int | bool] = Field(
        default_factory=dict, description="Columns with one value for every row, e.g. `{movement: tzofim}`."
    )
    locality: FileValue | None = Field(
        default=None,
        description="The rows' CBS locality code when the file name does not carry it: "
        "`{fixed: 1034}`, or `{column: town, codes: {אשדוד: 70}, others: filter}`.",
    )
    period: FileValue | None = Field(
        default=None,
        description="The rows' period (a year) when the file name does not carry it: `{fixed: "
        "2021}` or `{column: wave}` (not for snapshot layouts).",
    )
    filters: list[RowFilter] = Field(
        default_factory=list,
        description="Row filters, all applied (a row is kept when every filter keeps it), after "
        "the value maps and before the columns' rules.",
    )
    columns: dict[str, ColumnSpec]
    derived: dict[str, DerivedSpec] = Field(
        default_factory=dict,
        description="Columns computed from others, e.g. `age_group: {type: age_group, from: age, "
        "groups: [...]}`.",
    )

    _origin: Literal["bundled", "local"] = PrivateAttr(default="bundled")
    _path: Path | None = PrivateAttr(default=None)

    @field_validator("file_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        re.compile(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SourceLayout:
        groups = set(re.compile(self.file_pattern).groupindex)
        if self.locality is None and "locality" not in groups:
            raise ValueError("file_pattern needs a named group 'locality', or the layout a `locality`")
        if self.locality is not None and "locality" in groups:
            raise ValueError("the locality comes either from the file name or from `locality`, not both")
        if self.snapshot:
            if "snapshot" not in groups:
                raise ValueError("a snapshot layout's file_pattern names a 'snapshot' group (YYYYMMDD)")
            if self.period is not None or "period" in groups:
                raise ValueError("a snapshot layout has a snapshot date, not a period")
        else:
            if "snapshot" in groups:
                raise ValueError("a 'snapshot' group is for snapshot layouts (snapshot: true)")
            if self.period is None and "period" not in groups:
                raise ValueError("file_pattern needs a named group 'period', or the layout a `period`")
            if self.period is not None and "period" in groups:
                raise ValueError("the period comes either from the file name or from `period`, not both")
        for what, value in (("locality", self.locality), ("period", self.period)):
            if value is not None and value.column is not None and value.column not in self.columns:
                raise ValueError(f"{what}: column {value.column!r} is not one of the layout's columns")
        for row_filter in self.filters:
            if row_filter.column not in self.columns:
                raise ValueError(f"filter: column {row_filter.column!r} is not one of the layout's columns")
        for name, derived in self.derived.items():
            if name in self.columns or name in self.constants:
                raise ValueError(f"derived column {name!r} is also a column or a constant")
            source = self.columns.get(derived.from_column)
            if source is None:
                raise ValueError(
                    f"derived {name!r}: {derived.from_column!r} is not one of the layout's columns"
                )
            if isinstance(source, DateColumn):
                if derived.as_of is None:
                    raise ValueError(
                        f"derived {name!r}: from a birth date, say `as_of` (the day the age is reckoned on)"
                    )
                if (derived.as_of == "snapshot_date") != self.snapshot:
                    raise ValueError(
                        f"derived {name!r}: as_of snapshot_date goes with snapshot layouts, "
                        "period_start/period_end with the others"
                    )
            elif isinstance(source, (IntegerColumn, DecimalColumn)):
                if derived.as_of is not None:
                    raise ValueError(f"derived {name!r}: from an age, `as_of` has no meaning")
            else:
                raise ValueError(
                    f"derived {name!r}: {derived.from_column!r} is neither an age nor a date column"
                )
        return self

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.file_pattern)

    def match(self, file_name: str) -> re.Match[str] | None:
        return self.regex.fullmatch(file_name)

    @property
    def encodings(self) -> list[str]:
        """The accepted encodings, in the order they are tried."""
        return [self.encoding] if isinstance(self.encoding, str) else list(self.encoding)

    @property
    def origin(self) -> Literal["bundled", "local"]:
        """Bundled with the package, or from the local layouts folder (``CI_METRICS_LAYOUTS_DIR``)."""
        return self._origin

    @property
    def path(self) -> Path | None:
        """The YAML file it was read from, when read from one."""
        return self._path

    @property
    def stored_columns(self) -> list[str]:
        """Columns the raw table receives from this layout's cells (dropped ones excluded)."""
        return [name for name, spec in self.columns.items() if spec.type != "drop"]

    def raw_columns(self) -> dict[str, str]:
        """Every column this layout writes in its raw table (cells, derived columns, constants),
        with its DuckDB type; lineage columns excluded."""
        out = {name: DUCKDB_TYPES[spec.type] for name, spec in self.columns.items() if spec.type != "drop"}
        out |= {name: DUCKDB_TYPES[spec.type] for name, spec in self.derived.items()}
        for name, value in self.constants.items():
            out[name] = (
                "BOOLEAN" if isinstance(value, bool) else "BIGINT" if isinstance(value, int) else "VARCHAR"
            )
        return out

    @property
    def provided_columns(self) -> set[str]:
        """Names of the raw columns this layout fills (for the indicators' requirements)."""
        return set(self.raw_columns())


class LayoutError(ValueError):
    """A layout file that is not a valid contract."""


class LayoutTieError(LayoutError):
    """Two layouts of equal precedence read the same file name."""

    def __init__(self, file_name: str, tied: list[SourceLayout]) -> None:
        self.tied = tied
        names = " and ".join(f"'{layout.name}' ({layout.origin})" for layout in tied)
        super().__init__(
            f"two layouts could read this file: {names}, with the same priority. The data unit "
            "gives one of them a higher `priority` (or narrows its file_pattern); the file is "
            "read again on the next run once it does"
        )


@dataclass(frozen=True)
class LayoutProblem:
    """A layout file that cannot be used: the files it would read are held back (rejected
    with ``message``), the others load."""

    path: Path
    message: str
    source: str | None = None
    """Its source folder when the file says it (its files are rejected); None: unknown."""
    file_pattern: str | None = None
    """Its file-name pattern when readable: only files it would match are rejected."""
    name: str | None = None

    def concerns(self, file_name: str, source: str) -> bool:
        """Whether this broken layout might be the one meant to read ``source/file_name``."""
        if self.source is not None and self.source != source:
            return False
        if self.file_pattern is None:
            return self.source is not None  # a source known, its pattern not: all its files
        try:
            return re.fullmatch(self.file_pattern, file_name) is not None
        except re.error:
            return self.source is not None


class LayoutSet(list[SourceLayout]):
    """The valid layouts (a list, as every caller of :func:`load_layouts` expects), with the
    problems of the layout files that could not be used (``problems``)."""

    def __init__(self, layouts: Iterable[SourceLayout] = (), problems: Iterable[LayoutProblem] = ()) -> None:
        super().__init__(layouts)
        self.problems: list[LayoutProblem] = list(problems)

    def problems_for(self, file_name: str, source: str) -> list[LayoutProblem]:
        return [p for p in self.problems if p.concerns(file_name, source)]


def _problem_of(path: Path, data: object, exc: Exception) -> LayoutProblem:
    """What a broken layout file still says about itself (its source, name and pattern)."""
    known = data if isinstance(data, dict) else {}
    source = known.get("source") if known.get("source") in SOURCES else None
    pattern = known.get("file_pattern") if isinstance(known.get("file_pattern"), str) else None
    name = known.get("name") if isinstance(known.get("name"), str) else None
    return LayoutProblem(
        path=path, message=f"{path.name}: {_short(exc)}", source=source, file_pattern=pattern, name=name
    )


def _short(exc: Exception) -> str:
    """A validation error in a few lines: which field, what is wrong (no pydantic URLs)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for error in errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()))
            parts.append(f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", "")))
        return "not a valid source layout: " + "; ".join(parts)
    return f"not a valid source layout: {exc}"


def load_layout(path: Path, origin: Literal["bundled", "local"] = "bundled") -> SourceLayout:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        layout = SourceLayout.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError, yaml.YAMLError
        raise LayoutError(f"{path}: not a valid source layout: {exc}") from exc
    layout._origin = origin
    layout._path = path
    return layout


def _layout_files(extra_dir: Path | None) -> Iterator[tuple[Path, Literal["bundled", "local"]]]:
    for path in sorted(BUNDLED_LAYOUTS.rglob("*.yml")):
        yield path, "bundled"
    if extra_dir:
        for path in sorted(extra_dir.rglob("*.yml")):
            yield path, "local"


def load_layouts(extra_dir: Path | None = None) -> list[SourceLayout]:
    """The bundled layouts, plus those of ``extra_dir`` (which win on equal names). Strict: any
    invalid layout file raises :class:`LayoutError` (use :func:`load_layout_set` for a night,
    where a broken layout holds back only its own files)."""
    found: dict[str, SourceLayout] = {}
    for path, origin in _layout_files(extra_dir):
        layout = load_layout(path, origin)
        found[layout.name] = layout
    return list(found.values())


def load_layout_set(extra_dir: Path | None = None, dbt_project_dir: Path | None = None) -> LayoutSet:
    """The usable layouts (bundled, plus ``extra_dir``'s, which win on equal names) and the
    problems of the others: a file that is not a valid layout, or a layout that lacks a column
    the indicators need (declared in the dbt sources of ``dbt_project_dir``)."""
    found: dict[str, SourceLayout] = {}
    problems: dict[str, LayoutProblem] = {}
    unnamed: list[LayoutProblem] = []
    for path, origin in _layout_files(extra_dir):
        data: object = None
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            layout = SourceLayout.model_validate(data)
        except Exception as exc:  # pydantic.ValidationError, yaml.YAMLError, OSError
            problem = _problem_of(path, data, exc)
            if problem.name:
                problems[problem.name] = problem
                found.pop(problem.name, None)  # a broken local layout does not fall back to the bundled one
            else:
                unnamed.append(problem)
            continue
        layout._origin = origin
        layout._path = path
        found[layout.name] = layout
        problems.pop(layout.name, None)
    requirements = indicator_requirements(dbt_project_dir)
    for name, layout in list(found.items()):
        missing = missing_required_columns(layout, requirements)
        if missing:
            del found[name]
            problems[name] = LayoutProblem(
                path=layout.path or Path(f"{name}.yml"),
                message=lacks_message(layout, missing),
                source=layout.source,
                file_pattern=layout.file_pattern,
                name=name,
            )
    return LayoutSet(found.values(), [*problems.values(), *unnamed])


# -- what the indicators need -----------------------------------------------------------------

REQUIRED_MARK = ("layout", "required")
"""A raw column the indicators need says so in its dbt source YAML: ``config: {meta: {layout: required}}``."""


@dataclass(frozen=True)
class RequiredColumn:
    table: str
    name: str
    description: str


def indicator_requirements(dbt_project_dir: Path | None = None) -> dict[str, list[RequiredColumn]]:
    """Per raw table, the columns its layouts must provide, as the dbt sources declare them."""
    root = (dbt_project_dir or PROJECT_ROOT) / "models" / "staging"
    out: dict[str, list[RequiredColumn]] = {}
    key, mark = REQUIRED_MARK
    for path in sorted(root.glob("*/_*__sources.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in doc.get("sources", []):
            if source.get("schema", source.get("name")) != "raw":
                continue
            for table in source.get("tables", []):
                for column in table.get("columns", []):
                    meta = (column.get("config") or {}).get("meta") or column.get("meta") or {}
                    if meta.get(key) == mark:
                        description = " ".join(str(column.get("description", "")).split())
                        out.setdefault(table["name"], []).append(
                            RequiredColumn(table["name"], column["name"], description)
                        )
    return out


def missing_required_columns(
    layout: SourceLayout, requirements: dict[str, list[RequiredColumn]]
) -> list[RequiredColumn]:
    provided = layout.provided_columns
    return [column for column in requirements.get(layout.table, []) if column.name not in provided]


def lacks_message(layout: SourceLayout, missing: list[RequiredColumn]) -> str:
    names = ", ".join(
        f"`{c.name}`" + (f" ({c.description.rstrip('.')})" if c.description else "") for c in missing
    )
    return (
        f"layout '{layout.name}' lacks {names}, which the indicators need: the data unit adds "
        f"{'this column' if len(missing) == 1 else 'these columns'} to the layout (a column of the "
        f"export, a constant or a derived column), and the file is read again on the next run"
    )


# -- which layout reads a file -------------------------------------------------------------------


def candidates(file_name: str, source: str, layouts: Iterable[SourceLayout]) -> list[SourceLayout]:
    """The layouts of ``source`` whose pattern matches ``file_name``, by precedence (first wins):
    highest ``priority``, then local before bundled."""
    matching = [layout for layout in layouts if layout.source == source and layout.match(file_name)]
    return sorted(matching, key=lambda layout: (-layout.priority, layout.origin != "local"))


def layout_for(file_name: str, source: str, layouts: Iterable[SourceLayout]) -> SourceLayout | None:
    """The layout that reads ``file_name`` (see the module for the precedence), None when none;
    :class:`LayoutTieError` when two share the first place."""
    ranked = candidates(file_name, source, layouts)
    if not ranked:
        return None
    first = ranked[0]
    tied = [layout for layout in ranked if (layout.priority, layout.origin) == (first.priority, first.origin)]
    if len(tied) > 1:
        raise LayoutTieError(file_name, tied)
    return first
