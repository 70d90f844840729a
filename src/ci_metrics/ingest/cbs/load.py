"""Read CBS workbooks into the rows of schema ``raw``.

A workbook is recognised by its content (:func:`recognise`: sheets and headers, the file
name only a hint) as one of the declared layouts (``workbooks.yml``), read into rows
(:func:`workbook_rows`) and written under its ``_file_id`` (:func:`write_rows`). Tables:

``raw.cbs_local_authorities`` (long)
    One row per authority, measure and data year of the "Local Authorities in Israel"
    profile (``p_libud_<edition>.xlsx``): ``measure`` is the declared field name, ``value``
    the cleaned figure, ``value_status`` how CBS printed it (value, low_reliability,
    nil, not_available, blank, invalid), ``raw_value`` the cell as printed, ``data_year``
    the year the data-year row gives the column (a school year counts as its spring
    year). Several editions may be loaded side by side (``edition_year``); staging keeps
    the latest edition of each authority, measure and year. The edition is read from the
    content (the data year of the layout's ``edition_field``), else from the file name.

``raw.cbs_socioeconomic_index`` (wide)
    One row per authority of the socio-economic index table A (``*_375t1.xlsx``-style
    names): index population, value, rank and cluster of ``index_year``, and the rank and
    cluster of the previous edition (``previous_index_year``) when the table carries them.

Both carry ``locality_code`` (integer), ``authority_code`` (unique: see
:class:`ci_metrics.ingest.cbs.layout.IdentitySpec`), ``is_regional_council`` and the lineage
columns ``_file_id`` (SHA-256 of the workbook), ``_file_name``, ``_row_number`` (the
spreadsheet row), ``_layout`` and ``_run_id``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd

from ci_metrics.ingest.cbs.layout import CbsLayout, CbsLayoutError, WorkbookSpec, load_cbs_layout
from ci_metrics.ingest.cbs.workbook import (
    Cell,
    Resolved,
    Sheet,
    analyse_sheet,
    clean_cell,
    find_column,
    header_row,
    read_sheets,
    sheets_for,
)
from ci_metrics.ingest.filesystem import kind_of, sha256_of
from ci_metrics.ingest.ledger import printable
from ci_metrics.ingest.limits import InputLimits

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")

SQL_TYPES = {"code": "INTEGER", "integer": "BIGINT", "number": "DOUBLE", "text": "VARCHAR"}
IDENTITY_COLUMNS = [
    ("locality_code", "INTEGER"),
    ("authority_code", "VARCHAR"),
    ("is_regional_council", "BOOLEAN"),
]
LINEAGE_COLUMNS = [
    ("_file_id", "VARCHAR"),
    ("_file_name", "VARCHAR"),
    ("_row_number", "INTEGER"),
    ("_layout", "VARCHAR"),
    ("_run_id", "VARCHAR"),
]
LONG_COLUMNS = [
    ("edition_year", "INTEGER"),
    ("measure", "VARCHAR"),
    ("unit", "VARCHAR"),
    ("data_year", "INTEGER"),
    ("data_period", "VARCHAR"),
    ("value", "DOUBLE"),
    ("value_status", "VARCHAR"),
    ("raw_value", "VARCHAR"),
    ("source_sheet", "VARCHAR"),
    ("source_column", "VARCHAR"),
    ("source_header", "VARCHAR"),
]


class NotACbsWorkbookError(ValueError):
    """A workbook that no declared CBS layout recognises (by content or by name): ignored."""


INVALID_SHARE = 0.5
"""A numeric field whose matched column holds more text than this share of its non-empty
cells was matched to the wrong column: an error, not a column of nulls."""


def table_columns(spec: WorkbookSpec) -> list[tuple[str, str]]:
    """Columns (name, DuckDB type) of the raw table a workbook spec feeds."""
    ident = spec.identity
    if spec.shape == "long":
        attributes = [(name, SQL_TYPES[f.type]) for name, f in spec.fields.items() if f.role == "attribute"]
        return IDENTITY_COLUMNS + attributes + LONG_COLUMNS + LINEAGE_COLUMNS
    fields = [(name, SQL_TYPES[f.type]) for name, f in spec.fields.items() if name != ident.code_field]
    years = [(name, "INTEGER") for name in spec.year_columns]
    return IDENTITY_COLUMNS + fields + years + [("edition_year", "INTEGER")] + LINEAGE_COLUMNS


class _Workbook:
    """One workbook being read against its spec."""

    def __init__(
        self,
        file_name: str,
        spec: WorkbookSpec,
        run_id: str,
        file_id: str,
        raw: dict[str, list[list[object]]],
    ):
        self.spec, self.run_id = spec, run_id
        self.file_name = file_name
        self.file_id = file_id
        self.raw = raw
        self._sheets: dict[str, Sheet] = {}
        match = spec.match_file(self.file_name)
        edition = match.groupdict().get("edition") if match else None
        self.edition = int(edition) if edition else None  # the name's hint; the content decides
        if spec.edition_field:
            res = self.resolve(spec.edition_field)
            if res is not None and res.year is not None:
                self.edition = res.year

    def sheet(self, name: str) -> Sheet:
        if name not in self._sheets:
            self._sheets[name] = analyse_sheet(name, self.raw[name], self.spec, self.file_name)
        return self._sheets[name]

    def sheets(self, patterns: list[str]) -> list[Sheet]:
        names = sheets_for(list(self.raw), patterns)
        found, errors = [], []
        for name in names:
            try:
                found.append(self.sheet(name))
            except CbsLayoutError as exc:
                errors.append(exc)
        if not found and errors:
            raise errors[0]
        return found

    def resolve(self, name: str, sheets: list[Sheet] | None = None) -> Resolved | None:
        field = self.spec.fields[name]
        patterns = self.spec.sheet_patterns(field)
        if sheets is None:
            sheets = self.sheets(patterns)
        if not sheets:
            if not field.required:
                return None
            raise CbsLayoutError(
                f"{self.file_name}: required field {name!r} (patterns {field.patterns}): no sheet "
                f"named like {patterns}; the workbook's sheets are {[s.strip() for s in self.raw]}"
            )
        return find_column(name, field, sheets, self.file_name, patterns)

    # ------------------------------------------------------------------ identity

    def authorities(self, sheet: Sheet) -> dict[str, tuple[int, int, bool]]:
        """authority_code -> (row index, locality_code, is_regional_council) of a sheet."""
        ident = self.spec.identity
        code = self.resolve(ident.code_field, [sheet])
        fallback = self.resolve(ident.code_fallback_field, [sheet]) if ident.code_fallback_field else None
        status = None
        if ident.regional_council_status and ident.status_field:  # the layout requires both
            status = self.resolve(ident.status_field, [sheet])
        rc_rx = re.compile(ident.regional_council_status) if ident.regional_council_status else None
        assert code is not None
        found: dict[str, tuple[int, int, bool]] = {}
        for r in range(sheet.data_start, len(sheet.values)):
            cell = clean_cell(sheet.cell(r, code.column.index), "code")
            if cell.status in ("value", "low_reliability") and isinstance(cell.value, int):
                number, is_rc = cell.value, False
                if status is not None and rc_rx is not None:
                    text = clean_cell(sheet.cell(r, status.column.index), "text").value
                    is_rc = bool(text and rc_rx.search(str(text)))
            elif fallback is not None and cell.status == "blank":
                fb = clean_cell(sheet.cell(r, fallback.column.index), "integer")
                if fb.status != "value" or not isinstance(fb.value, int):
                    continue
                number, is_rc = fb.value, True
            else:
                continue  # not a row of an authority (blank line, footnote, total)
            key = str(number) if is_rc else f"{number:04d}"
            if key in found:
                raise CbsLayoutError(
                    f"{self.file_name}, sheet {sheet.name.strip()!r}: authority {key} appears twice "
                    f"(rows {found[key][0] + 1} and {r + 1})"
                )
            found[key] = (r, number, is_rc)
        if not found:
            raise CbsLayoutError(f"{self.file_name}, sheet {sheet.name.strip()!r}: no authority rows")
        return found

    # ------------------------------------------------------------------ cells

    def cells(self, name: str, res: Resolved, rows: dict[str, tuple[int, int, bool]]) -> dict[str, Cell]:
        field = self.spec.fields[name]
        sheet = self.sheet(res.sheet)
        out = {
            key: clean_cell(sheet.cell(r, res.column.index), field.type, field.nil)
            for key, (r, _, _) in rows.items()
        }
        scale = res.column.scale
        if scale is not None and field.type in ("number", "integer"):  # e.g. thousands -> persons
            out = {
                key: c if c.value is None else replace(c, value=_scaled(c.value, scale, field.type))
                for key, c in out.items()
            }
        if field.type != "text":
            filled = [c for c in out.values() if c.status != "blank"]
            invalid = [c for c in filled if c.status == "invalid"]
            if invalid and len(invalid) > INVALID_SHARE * len(filled):
                examples = sorted({str(c.raw) for c in invalid})[:5]
                raise CbsLayoutError(
                    f"{self.file_name}: field {name!r} ({field.type}) was matched to {res.where}, but "
                    f"{len(invalid)} of its {len(filled)} cells are not numbers (e.g. {examples}): "
                    f"the patterns {field.patterns} designate the wrong column"
                )
        return out

    def frame(self) -> pd.DataFrame:
        spec = self.spec
        ident = spec.identity
        identity_fields = {ident.code_field, ident.code_fallback_field}
        resolved = {name: self.resolve(name) for name in spec.fields if name not in identity_fields}
        used = list(dict.fromkeys(r.sheet for r in resolved.values() if r is not None))
        if not used:
            used = [s.name for s in self.sheets(spec.sheets)][:1]
        rows = {name: self.authorities(self.sheet(name)) for name in used}
        lineage = {
            "_file_id": self.file_id,
            "_file_name": self.file_name,
            "_layout": spec.name,
            "_run_id": self.run_id,
        }

        # Authorities, in the order of their first sheet.
        identity: dict[str, tuple[str, int, int, bool]] = {}
        for sheet_name in used:
            for key, (r, number, is_rc) in rows[sheet_name].items():
                identity.setdefault(key, (sheet_name, r, number, is_rc))

        attributes: dict[str, dict[str, Cell]] = {}
        for name, res in resolved.items():
            if res is not None and spec.fields[name].role == "attribute":
                attributes[name] = self.cells(name, res, rows[res.sheet])

        records: list[dict[str, object]] = []
        if spec.shape == "long":
            attr_names = [n for n, f in spec.fields.items() if f.role == "attribute"]
            for name, res in resolved.items():
                field = spec.fields[name]
                if res is None or field.role != "measure":
                    continue
                year, period = res.year, res.period
                if year is None and self.edition is not None:
                    year, period = self.edition, str(self.edition)  # the edition's own year
                if year is None:
                    raise CbsLayoutError(
                        f"{self.file_name}: field {name!r} found in {res.where}, but its data year is "
                        "unknown: no year above the column, no sheet default, no `year` group in the "
                        "pattern, no edition in the file name"
                    )
                values = self.cells(name, res, rows[res.sheet])
                for key, cell in values.items():
                    r, number, is_rc = rows[res.sheet][key]
                    record: dict[str, object] = {
                        "locality_code": number,
                        "authority_code": key,
                        "is_regional_council": is_rc,
                    }
                    for attr in attr_names:
                        record[attr] = (
                            attributes[attr][key].value
                            if attr in attributes and key in attributes[attr]
                            else None
                        )
                    record.update(
                        edition_year=self.edition,
                        measure=name,
                        unit=field.unit,
                        data_year=year,
                        data_period=period,
                        value=None if cell.value is None else float(cell.value),
                        value_status=cell.status,
                        raw_value=cell.raw,
                        source_sheet=res.sheet.strip(),
                        source_column=res.column.letter,
                        source_header=res.column.text,
                        _row_number=r + 1,
                        **lineage,
                    )
                    records.append(record)
        else:
            per_field = {
                name: self.cells(name, res, rows[res.sheet])
                for name, res in resolved.items()
                if res is not None and spec.fields[name].role != "attribute"
            }
            per_field.update(attributes)
            fallback_cells: dict[str, Cell] = {}
            if ident.code_fallback_field:
                res = self.resolve(ident.code_fallback_field, [self.sheet(used[0])])
                if res is not None:
                    fallback_cells = self.cells(ident.code_fallback_field, res, rows[used[0]])
                    per_field[ident.code_fallback_field] = fallback_cells
            for key, (_sheet, r, number, is_rc) in identity.items():
                record = {"locality_code": number, "authority_code": key, "is_regional_council": is_rc}
                for name in spec.fields:
                    if name == ident.code_field:
                        continue
                    found = per_field.get(name, {}).get(key)
                    record[name] = None if found is None else found.value
                for out, ref in spec.year_columns.items():
                    res = resolved.get(ref)
                    record[out] = None if res is None else res.year
                record["edition_year"] = self.edition
                record["_row_number"] = r + 1
                record.update(lineage)
                records.append(record)

        columns = [name for name, _ in table_columns(spec)]
        return pd.DataFrame.from_records(records, columns=columns)


def _scaled(value: int | float | str, scale: float, type_: str) -> int | float:
    scaled = round(float(value) * scale, 6)  # 25.022 thousand -> 25022.0, not 25021.999999999996
    return int(scaled) if type_ == "integer" and scaled.is_integer() else scaled


def read_workbook(path: Path, spec: WorkbookSpec, run_id: str = "manual") -> pd.DataFrame:
    """Rows of one workbook for its raw table (columns of :func:`table_columns`).

    Raises :class:`CbsLayoutError` when a required field is missing or ambiguous.
    """
    return workbook_rows(path.name, sha256_of(path), read_sheets(path), spec, run_id)


def workbook_rows(
    file_name: str, file_id: str, raw: dict[str, list[list[object]]], spec: WorkbookSpec, run_id: str
) -> pd.DataFrame:
    """Rows of a workbook already read (:func:`sheets_of`) for its spec's raw table."""
    return _Workbook(file_name, spec, run_id, file_id, raw).frame()


# --------------------------------------------------------------------------- recognition


def _not_this(spec: WorkbookSpec, raw: dict[str, list[list[object]]]) -> str | None:
    """Why a workbook is not of ``spec`` (None when it is): it has a sheet named as the spec
    declares, holding the header of the authority code within the first rows."""
    names = sheets_for(list(raw), spec.sheets)
    if not names:
        return f"no sheet named like {spec.sheets}"
    if any(header_row(raw[name], spec) is not None for name in names):
        return None
    code = spec.fields[spec.identity.code_field]
    return (
        f"sheet(s) {[n.strip() for n in names]} hold no header of the authority code "
        f"(patterns {code.patterns}) in their first {spec.max_header_rows} rows"
    )


def recognise(file_name: str, raw: dict[str, list[list[object]]], layout: CbsLayout) -> WorkbookSpec:
    """The declared workbook a workbook is, by its content (sheets and headers).

    The file name is only a hint: when several specs recognise the content, the one whose
    file patterns match the name wins, else the first declared. Raises
    :class:`NotACbsWorkbookError` when no spec recognises the content and the name matches
    none, :class:`CbsLayoutError` when the name designates a spec the content does not fit.
    """
    reasons = {spec.name: _not_this(spec, raw) for spec in layout.workbooks}
    fitting = [spec for spec in layout.workbooks if reasons[spec.name] is None]
    named = [spec for spec in layout.workbooks if spec.match_file(file_name)]
    for spec in named:
        if spec in fitting:
            return spec
    if fitting:
        return fitting[0]
    if named:
        spec = named[0]
        raise CbsLayoutError(
            f"{file_name}: named like {spec.title or spec.name}, but {reasons[spec.name]}. If the CBS "
            "renamed its sheets or headers, add the new names as synonyms in "
            "src/ci_metrics/ingest/cbs/workbooks.yml."
        )
    titles = " nor ".join(spec.title or spec.name for spec in layout.workbooks)
    sheets = [n.strip() for n in raw][:8]
    raise NotACbsWorkbookError(
        f"matches no declared CBS workbook: neither {titles} (its sheets: {sheets}). "
        "Leave it out of the CBS folder, or, if it is a CBS edition with new sheet names, add them "
        "to src/ci_metrics/ingest/cbs/workbooks.yml"
    )


# --------------------------------------------------------------------------- tables


def cbs_tables(layout: CbsLayout | None = None) -> list[str]:
    """The raw tables the CBS workbooks load (unqualified names, in schema ``raw``)."""
    return [spec.table for spec in (layout or load_cbs_layout()).workbooks]


def ensure_cbs_tables(con: duckdb.DuckDBPyConnection, layout: CbsLayout | None = None) -> None:
    """Create the raw CBS tables, empty, where they do not exist (dbt builds either way)."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for spec in (layout or load_cbs_layout()).workbooks:
        ddl = ", ".join(f"{name} {kind}" for name, kind in table_columns(spec))
        con.execute(f"create table if not exists {RAW_SCHEMA}.{spec.table} ({ddl})")


def write_rows(con: duckdb.DuckDBPyConnection, spec: WorkbookSpec, file_id: str, frame: pd.DataFrame) -> None:
    """A workbook's rows in its raw table, replacing the rows of the same ``_file_id`` (the
    caller holds the transaction)."""
    columns = table_columns(spec)
    con.execute(f"delete from {RAW_SCHEMA}.{spec.table} where _file_id = ?", [file_id])
    if frame.empty:
        return
    view = f"_cbs_{spec.table}_rows"
    select = ", ".join(f"cast({name} as {sql_type}) as {name}" for name, sql_type in columns)
    names = ", ".join(name for name, _ in columns)
    con.register(view, frame.astype(object).where(frame.notna(), None))
    try:
        con.execute(f"insert into {RAW_SCHEMA}.{spec.table} ({names}) select {select} from {view}")
    finally:
        con.unregister(view)


def same_edition(
    con: duckdb.DuckDBPyConnection, spec: WorkbookSpec, file_id: str, edition: int | None
) -> list[str]:
    """The other workbooks whose rows of ``spec``'s table are of the same edition."""
    if edition is None:
        return []
    rows = con.execute(
        f"select distinct _file_id from {RAW_SCHEMA}.{spec.table} "
        "where edition_year = ? and _file_id <> ? order by 1",
        [edition, file_id],
    ).fetchall()
    return [r[0] for r in rows]


def load_cbs(
    con: duckdb.DuckDBPyConnection,
    cbs_dir: Path,
    run_id: str,
    layout: CbsLayout | None = None,
    limits: InputLimits | None = None,
) -> dict[str, int]:
    """Every workbook of ``cbs_dir`` recognised by its content, loaded into the raw CBS tables
    (a workbook's earlier rows replaced); rows per table. Outside the ledger: for a manual
    load and the tests (the pipeline goes through :func:`ci_metrics.ingest.cbs.files.ingest_cbs`).
    An unrelated workbook is skipped; a layout error raises :class:`CbsLayoutError`.
    """
    layout = layout or load_cbs_layout()
    limits = limits or InputLimits.from_settings()
    if not Path(cbs_dir).is_dir():
        raise CbsLayoutError(f"CBS folder {cbs_dir} does not exist")
    loaded: list[tuple[WorkbookSpec, str, pd.DataFrame]] = []
    for path in sorted(Path(cbs_dir).iterdir()):
        if path.suffix.lower() not in WORKBOOK_SUFFIXES or path.name.startswith(("~$", ".")):
            continue
        if kind_of(path.lstat().st_mode) is not None:  # a link, a pipe: never followed, never read
            log.warning("CBS folder %s: %s is not a regular file: ignored", cbs_dir, printable(path.name))
            continue
        raw = read_sheets(path, limits)
        try:
            spec = recognise(path.name, raw, layout)
        except NotACbsWorkbookError as exc:
            log.warning("CBS folder %s: %s %s: ignored", cbs_dir, printable(path.name), exc)
            continue
        file_id = sha256_of(path)
        loaded.append((spec, file_id, workbook_rows(path.name, file_id, raw, spec, run_id)))
    con.execute("begin transaction")
    try:
        ensure_cbs_tables(con, layout)
        for spec, file_id, frame in loaded:
            write_rows(con, spec, file_id, frame)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    counts = {f"{RAW_SCHEMA}.{spec.table}": 0 for spec in layout.workbooks}
    for spec, _, frame in loaded:
        counts[f"{RAW_SCHEMA}.{spec.table}"] += len(frame)
    log.info("CBS tables loaded: %s", counts)
    return counts
