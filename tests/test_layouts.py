"""Layouts for real exports, unit by unit: BOM detection and accepted encodings, value maps,
row filters, derived age groups, a locality from a column, which layout wins a name, the
columns the indicators need, and a broken layout that holds back only its own files."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from conftest import SAMPLE_INBOX, TEST_KEY

from ci_metrics.ingest.inbox import Ingestor
from ci_metrics.ingest.layouts import (
    BUNDLED_LAYOUTS,
    LayoutError,
    LayoutSet,
    SourceLayout,
    indicator_requirements,
    load_layout_set,
    load_layouts,
    missing_required_columns,
)
from ci_metrics.ingest.limits import InputLimits
from ci_metrics.ingest.prepare import NoLayoutError, choose_layout, prepare_file
from ci_metrics.ingest.pseudonyms import Pseudonymiser
from ci_metrics.ingest.readers import UnreadableFileError

EXAMPLE = BUNDLED_LAYOUTS / "examples" / "national_survey.yml.example"
PSEUDO = Pseudonymiser(TEST_KEY.encode())
LIMITS = InputLimits.from_settings()

SMALL = """
name: small
source: surveys
table: survey_responses
file_pattern: 'small_(?P<period>\\d{4})\\.csv'
format: csv
locality: {fixed: 1034}
columns:
  response_id: {header: id, type: text}
  status:      {header: status, type: code, allowed: [Complete, Partial]}
  weight:      {header: w, type: decimal}
  origin:      {header: origin, type: code, allowed: [אתיופיה, אחר], required: false}
  q_trust:     {header: q1, type: integer, required: false}
  q_future:    {header: q2, type: integer, required: false}
  q_stay:      {header: q3, type: integer, required: false}
"""


def layout(text: str, **changes: object) -> SourceLayout:
    data = yaml.safe_load(textwrap.dedent(text))
    data.update(changes)
    return SourceLayout.model_validate(data)


def prepare(lay: SourceLayout, name: str, data: bytes):
    return prepare_file(Path(name), lay.source, data, [lay], PSEUDO, limits=LIMITS, layout=lay)


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    return ("\n".join(",".join(str(c) for c in row) for row in rows) + "\n").encode(encoding)


HEADER = ["id", "status", "w", "origin", "q1", "q2", "q3"]


# -- encodings -------------------------------------------------------------------------------


def test_a_utf8_bom_makes_the_encoding_certain_whatever_the_layout_says() -> None:
    residents = next(lay for lay in load_layouts() if lay.name == "residents")
    assert residents.encodings == ["cp1255"]
    path = SAMPLE_INBOX / "residents" / "residents_1034_20220105.csv"
    original = path.read_bytes()
    with_bom = b"\xef\xbb\xbf" + original.decode("cp1255").encode("utf-8")
    as_sent = prepare(residents, path.name, original)
    re_exported = prepare(residents, path.name, with_bom)
    assert re_exported.rows_loaded == as_sent.rows_loaded == 28000
    pd.testing.assert_frame_equal(re_exported.rows, as_sent.rows)
    pd.testing.assert_frame_equal(re_exported.rejects, as_sent.rejects)
    # without the mark, UTF-8 is not what the layout accepts: a clear, clerk-first rejection
    with pytest.raises(
        UnreadableFileError,
        match=r"^the file's characters cannot be read: ask the partner.*Detail: not utf-8 ",
    ):
        prepare(residents.model_copy(update={"encoding": "utf-8"}), path.name, original)


def test_several_accepted_encodings_are_tried_in_order() -> None:
    lay = layout(SMALL, encoding=["utf-8", "cp1255"])
    rows = [HEADER, [1, "Complete", "1.5", "אתיופיה", 1, 2, 3]]
    for encoding in ("utf-8", "cp1255"):
        prepared = prepare(lay, "small_2021.csv", csv_bytes(rows, encoding))
        assert prepared.rows["origin"].tolist() == ["אתיופיה"], encoding
    old = layout(SMALL)  # an old layout, one encoding as a string: still valid
    assert old.encodings == ["utf-8"]


# -- value maps, filters, locality and derived columns ---------------------------------------


def test_a_value_map_recodes_before_the_rule_and_unmapped_values_meet_the_rule() -> None:
    lay = layout(SMALL)
    lay.columns["origin"].recode = {"Ethiopia": "אתיופיה", "Other": "אחר"}
    rows = [HEADER, [1, "Complete", 1, " Ethiopia ", 1, 1, 1], [2, "Complete", 1, "Other", 1, 1, 1]]
    rows.append([3, "Complete", 1, "Mars", 1, 1, 1])  # unmapped: the code rule rejects it
    prepared = prepare(lay, "small_2021.csv", csv_bytes(rows))
    assert prepared.rows["origin"].tolist() == ["אתיופיה", "אחר"]
    assert prepared.rejects["reason"].tolist() == ["origin is not one of אתיופיה / אחר"]


def test_filtered_rows_are_counted_neither_loaded_nor_rejected() -> None:
    lay = layout(SMALL, filters=[{"column": "status", "skip": ["Test"]}])
    rows = [
        HEADER,
        [1, "Complete", 1, "אחר", 1, 1, 1],
        [2, "Test", "x", "?", 1, 1, 1],
        [3, "Partial", 1, "", 1, 1, 1],
    ]
    prepared = prepare(lay, "small_2021.csv", csv_bytes(rows))
    assert (prepared.rows_read, prepared.rows_loaded, prepared.rows_rejected, prepared.rows_filtered) == (
        3,
        2,
        0,
        1,
    )
    keep_only = layout(SMALL, filters=[{"column": "status", "keep": ["Complete"]}])
    assert prepare(keep_only, "small_2021.csv", csv_bytes(rows)).rows_filtered == 2
    with pytest.raises(UnreadableFileError, match="filters them all out"):
        prepare(
            layout(SMALL, filters=[{"column": "status", "keep": ["None"]}]), "small_2021.csv", csv_bytes(rows)
        )


GROUPS = [
    {"label": "18-29", "min": 18, "max": 29},
    {"label": "30-64", "min": 30, "max": 64},
    {"label": "65+", "min": 65},
]


def test_an_age_group_derived_from_an_age() -> None:
    lay = layout(
        SMALL,
        columns={
            **yaml.safe_load(textwrap.dedent(SMALL))["columns"],
            "age": {"header": "age", "type": "integer"},
        },
        derived={"age_group": {"type": "age_group", "from": "age", "groups": GROUPS}},
    )
    ages = [17, 18, 29, 30, 64, 65, 99]
    rows = [[*HEADER, "age"]] + [[i, "Complete", 1, "אחר", 1, 1, 1, age] for i, age in enumerate(ages)]
    prepared = prepare(lay, "small_2021.csv", csv_bytes(rows))
    assert prepared.rows["age_group"].tolist() == [pd.NA, "18-29", "18-29", "30-64", "30-64", "65+", "65+"]
    assert "age_group" in lay.raw_columns()  # the raw table receives it
    required = lay.model_copy(deep=True)
    required.derived["age_group"].required = True
    strict = prepare(required, "small_2021.csv", csv_bytes(rows))
    assert strict.rows_rejected == 1 and "outside every age group" in strict.rejects["reason"][0]


def test_an_age_group_derived_from_a_birth_date_on_the_declared_day() -> None:
    columns = {**yaml.safe_load(textwrap.dedent(SMALL))["columns"]}
    columns["born"] = {"header": "born", "type": "date", "formats": ["%Y-%m-%d"]}
    derived = {"age_group": {"type": "age_group", "from": "born", "as_of": "period_end", "groups": GROUPS}}
    lay = layout(SMALL, columns=columns, derived=derived)
    births = ["2003-12-31", "2004-01-01", "1992-06-15", "1956-12-31", "1957-01-01"]
    rows = [[*HEADER, "born"]] + [[i, "Complete", 1, "אחר", 1, 1, 1, b] for i, b in enumerate(births)]
    prepared = prepare(lay, "small_2021.csv", csv_bytes(rows))  # ages on 31 December 2021
    assert prepared.rows["age_group"].tolist() == ["18-29", pd.NA, "18-29", "65+", "30-64"]
    on_first_day = lay.model_copy(deep=True)
    on_first_day.derived["age_group"].as_of = "period_start"  # on 1 January 2021
    assert prepare(on_first_day, "small_2021.csv", csv_bytes(rows)).rows["age_group"].tolist() == [
        pd.NA,
        pd.NA,
        "18-29",
        "30-64",
        "30-64",
    ]
    with pytest.raises(ValueError, match="as_of"):
        layout(
            SMALL,
            columns=columns,
            derived={"age_group": {"type": "age_group", "from": "born", "groups": GROUPS}},
        )


def test_the_locality_comes_from_a_column_with_its_codes() -> None:
    columns = {
        **yaml.safe_load(textwrap.dedent(SMALL))["columns"],
        "town": {"header": "town", "type": "drop"},
    }
    lay = layout(
        SMALL, columns=columns, locality={"column": "town", "codes": {"Kiryat Gat": 1034, "Haifa": 4000}}
    )
    rows = [
        [*HEADER, "town"],
        [1, "Complete", 1, "אחר", 1, 1, 1, "Kiryat Gat"],
        [2, "Complete", 1, "אחר", 1, 1, 1, "Eilat"],
    ]
    one = prepare(lay, "small_2021.csv", csv_bytes(rows))
    assert one.rows["locality_code"].tolist() == [1034] and one.meta == {
        "locality_code": 1034,
        "period": 2021,
    }
    assert one.rejects["reason"].tolist() == [
        "town is not a locality the layout knows: if the row belongs to "
        "this partnership, the data unit adds the value to the layout's locality codes"
    ]
    rows.append([3, "Complete", 1, "אחר", 1, 1, 1, "Haifa"])
    two = prepare(lay, "small_2021.csv", csv_bytes(rows))
    assert sorted(two.rows["locality_code"].tolist()) == [1034, 4000] and two.meta["locality_code"] is None
    filtering = lay.model_copy(deep=True)
    assert filtering.locality is not None
    filtering.locality.others = "filter"  # a national sample: other towns are not data
    kept = prepare(filtering, "small_2021.csv", csv_bytes(rows))
    assert (kept.rows_loaded, kept.rows_rejected, kept.rows_filtered) == (2, 0, 1)
    # a name without a locality group needs `locality`
    with pytest.raises(ValueError, match="named group 'locality'"):
        layout(SMALL, locality=None)


def test_the_example_layout_is_valid_and_not_loaded() -> None:
    example = SourceLayout.model_validate(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    assert example.locality is not None and example.filters and example.derived
    assert any(spec.recode for spec in example.columns.values())
    assert example.name not in {lay.name for lay in load_layouts()}
    assert not missing_required_columns(example, indicator_requirements())


# -- which layout reads a name ----------------------------------------------------------------


def test_precedence_priority_then_local_then_a_named_tie() -> None:
    bundled = layout(SMALL, name="first")
    other = layout(SMALL, name="second")
    with pytest.raises(NoLayoutError, match=r"'first' \(bundled\) and 'second' \(bundled\)"):
        choose_layout("small_2021.csv", "surveys", [bundled, other])
    other._origin = "local"
    assert choose_layout("small_2021.csv", "surveys", [bundled, other]).name == "second"
    bundled.priority = 5
    assert choose_layout("small_2021.csv", "surveys", [other, bundled]).name == "first"


def test_every_bundled_layout_is_valid_and_provides_what_the_indicators_need() -> None:
    layouts = load_layout_set()
    assert layouts.problems == []
    assert {lay.name for lay in layouts} == {lay.name for lay in load_layouts()}
    needs = indicator_requirements()
    assert {c.name for c in needs["survey_responses"]} >= {"weight", "response_id"}
    assert set(needs) == {lay.table for lay in layouts}  # declared for every raw table


def test_a_layout_without_a_column_the_indicators_need_rejects_its_files_clearly(tmp_path: Path) -> None:
    data = yaml.safe_load(textwrap.dedent(SMALL))
    del data["columns"]["weight"]
    (tmp_path / "small.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    layouts = load_layout_set(tmp_path)
    assert "small" not in {lay.name for lay in layouts}
    with pytest.raises(NoLayoutError) as caught:
        choose_layout("small_2021.csv", "surveys", layouts)
    message = str(caught.value)
    assert message.startswith("the layout meant for this file cannot be used: the data unit corrects it")
    assert "lacks `weight` (Design weight of the response), which the indicators need" in message
    # the other files of the source still load
    assert choose_layout("survey_1034_2021.csv", "surveys", layouts).name == "survey"


def test_a_broken_layout_file_holds_back_only_the_files_it_would_read(tmp_path: Path) -> None:
    layouts_dir = tmp_path / "layouts"
    layouts_dir.mkdir()
    (layouts_dir / "hashomer.yml").write_text(
        "name: hashomer\nsource: youth\ntable: youth_members\n"
        "file_pattern: 'hashomer_(?P<locality>\\d+)_(?P<period>\\d{4})\\.csv'\nformat: csv\n"
        "columns:\n  member_key: {header: tz, type: national_idd}\n",  # a typo in a type
        encoding="utf-8",
    )
    (layouts_dir / "garbage.yml").write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(LayoutError, match="not a valid source layout"):
        load_layouts(layouts_dir)  # the strict loader still refuses (its callers expect it)
    layouts = load_layout_set(layouts_dir)
    assert isinstance(layouts, LayoutSet) and len(layouts.problems) == 2
    inbox = tmp_path / "inbox"
    for source, name in (("youth", "hashomer_1034_2021.csv"), ("youth", "tzofim_1034_2021.csv")):
        (inbox / source).mkdir(parents=True, exist_ok=True)
        (inbox / source / name).write_bytes((SAMPLE_INBOX / "youth" / "tzofim_1034_2021.csv").read_bytes())
    (inbox / "surveys").mkdir()
    (inbox / "surveys" / "survey_1034_2021.csv").write_bytes(
        (SAMPLE_INBOX / "surveys" / "survey_1034_2021.csv").read_bytes()
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ingestor = Ingestor(
        con,
        home=tmp_path,
        archive_dir=tmp_path / "archive",
        layouts=layouts,
        pseudonymise=PSEUDO,
        run_id="r1",
    )
    outcomes = {o.file_name: o for o in ingestor.ingest_inbox(inbox).outcomes}
    held = outcomes["hashomer_1034_2021.csv"]
    assert held.status == "rejected"
    assert held.message.startswith("the layout meant for this file cannot be used")
    assert "hashomer.yml" in held.message and "national_idd" in held.message
    assert outcomes["tzofim_1034_2021.csv"].status == "loaded"
    assert outcomes["survey_1034_2021.csv"].status == "loaded"
    # a youth file no layout reads at all is still "unknown", not blamed on the broken one
    with pytest.raises(NoLayoutError, match=r"^unknown file"):
        choose_layout("scouts_1034_2021.csv", "youth", layouts)


def test_the_reference_day_of_a_snapshot_is_its_date() -> None:
    residents = next(lay for lay in load_layouts() if lay.name == "residents").model_copy(deep=True)
    data = residents.model_dump(by_alias=True)
    data["derived"] = {
        "age_group": {"type": "age_group", "from": "birth_date", "as_of": "snapshot_date", "groups": GROUPS}
    }
    lay = SourceLayout.model_validate(data)
    sample = SAMPLE_INBOX / "residents" / "residents_1034_20220105.csv"
    header = sample.read_bytes().decode("cp1255").splitlines()[0]
    body = "666774633,a,b,05/01/2004,נ,x,,,1,,\n666774633,a,b,06/01/2004,נ,x,,,1,,\n"
    prepared = prepare(lay, "residents_1034_20220105.csv", (header + "\n" + body).encode("cp1255"))
    assert prepared.rows["age_group"].tolist() == ["18-29", pd.NA]  # 18 on 5 January 2022, not the day after
    assert prepared.meta["snapshot_date"] == dt.date(2022, 1, 5)
