"""Mapping files (.csv/.xlsx/.json) and drafts: reading, writing, round trips, bad input."""

from __future__ import annotations

import json

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import InputError
from app.core.mapping import Mapping, MappingRow, Options
from app.io import load_draft, read_mapping, save_draft, write_mapping

SAMPLE = Mapping(
    (MappingRow("Sales", "Sales team"), MappingRow("=1+1", "@ops"), MappingRow("007", " -x ")),
    Options(source_column="Dept", default_group="Everyone", ignore_case=True, separator=",",
            multiple_groups=True, apply_existing=True),
)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_mapping_round_trip_keeps_rows_in_order(tmp_path, suffix):
    path = tmp_path / f"mapping{suffix}"
    write_mapping(path, SAMPLE)
    assert read_mapping(path) == Mapping(SAMPLE.rows)


def test_mapping_files_have_calendly_headers(tmp_path):
    write_mapping(tmp_path / "m.xlsx", SAMPLE)
    sheet = openpyxl.load_workbook(tmp_path / "m.xlsx").active
    assert [c.value for c in sheet[1]] == ["Value in Identity Provider", "Group"]
    assert sheet["A3"].value == "=1+1" and sheet["A3"].data_type == "s"
    write_mapping(tmp_path / "m.csv", SAMPLE)
    text = (tmp_path / "m.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "Value in Identity Provider,Group"
    assert text.splitlines()[2] == "'=1+1,'@ops"


def test_read_mapping_accepts_calendly_group_header_and_skips_blank_lines(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(" value in identity PROVIDER ;CALENDLY GROUP\nb;B\n;\n  ;  \na;A\nc;\n")
    assert read_mapping(path).rows == (MappingRow("b", "B"), MappingRow("a", "A"),
                                       MappingRow("c", ""))


def test_read_mapping_from_a_draft(tmp_path):
    save_draft(tmp_path / "d.json", SAMPLE)
    assert read_mapping(tmp_path / "d.json") == SAMPLE


def test_read_mapping_names_the_missing_columns(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("Value,Team\na,b\n")
    with pytest.raises(InputError, match=r"m\.csv: a mapping file needs .*columns found: Value"):
        read_mapping(path)


def test_draft_is_versioned_json_without_secrets(tmp_path):
    path = tmp_path / "d.json"
    save_draft(path, SAMPLE)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "groupmap-draft" and data["version"] == 2
    assert data["rows"][1] == {"value": "=1+1", "group": "@ops", "match": "equals"}
    assert data["options"] == {"source_column": "Dept", "default_group": "Everyone",
                               "ignore_case": True, "separator": ",", "multiple_groups": True,
                               "apply_existing": True}
    assert set(data) == {"format", "version", "rows", "options", "expectations"}
    assert load_draft(path) == SAMPLE
    assert not list(tmp_path.glob(".*.tmp"))  # no leftover temp file


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "groupmap-draft", "version": 3, "rows": []}', "newer GroupMap"),
        ("{not json", "damaged"),
        (b"\xff\xfe\x00garbage", "damaged"),
        ('{"format": "something-else", "version": 1}', "not a GroupMap draft"),
        ('{"format": "groupmap-draft", "version": 1, "rows": [{"value": 1}]}', "row 1"),
        ('{"format": "groupmap-draft", "version": 1, "options": {"ignore_case": "yes"}}',
         "ignore_case"),
        ('{"format": "groupmap-draft", "version": "1"}', "invalid version"),
        ("[]", "not a GroupMap draft"),
    ],
)
def test_bad_drafts_raise_input_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "draft.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputError, match=message) as caught:
        load_draft(path)
    assert str(caught.value).startswith("draft.json:")


def test_missing_draft(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_draft(tmp_path / "nope.json")


def test_draft_ignores_unknown_options_from_the_same_version(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"format": "groupmap-draft", "version": 1,
                                "rows": [{"value": "a", "group": "b"}],
                                "options": {"ignore_case": True, "future": 1}}))
    assert load_draft(path) == Mapping((MappingRow("a", "b"),), Options(ignore_case=True))


FIXTURE_OK = [HealthCheck.function_scoped_fixture]  # tmp_path is reused: each write replaces

# Any text except the two non-characters a workbook cannot hold (U+FFFE, U+FFFF) and NUL (a
# short CSV with NUL bytes reads as binary, as in test_io_writers).
cell_text = st.text(st.characters(exclude_categories=("Cs",),
                                  exclude_characters="\x00\ufffe\uffff"), max_size=40)
cell_text = st.one_of(cell_text, st.builds(str.__add__, st.sampled_from(
    ["=", "+", "-", "@", "\t", "\r", "'=", "''@"]), cell_text))
rows = st.lists(st.builds(MappingRow, cell_text, cell_text), max_size=8)
options = st.builds(Options, cell_text, cell_text, st.booleans(), cell_text, st.booleans(),
                    st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(rows=rows, options=options)
def test_draft_round_trip_property(tmp_path, rows, options):
    mapping = Mapping(tuple(rows), options)
    save_draft(tmp_path / "d.json", mapping)
    assert load_draft(tmp_path / "d.json") == mapping


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE_OK)
@given(rows=rows, suffix=st.sampled_from([".csv", ".xlsx"]))
def test_mapping_file_round_trip_property(tmp_path, rows, suffix):
    path = tmp_path / f"m{suffix}"
    write_mapping(path, Mapping(tuple(rows)))
    kept = tuple(r for r in rows if r.value.strip() or r.group.strip())
    assert read_mapping(path).rows == kept
