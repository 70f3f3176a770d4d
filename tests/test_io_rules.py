"""Match kinds and expectations in mapping files and drafts; drafts of version 1 still open."""

from __future__ import annotations

import json

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import InputError
from app.core.mapping import Expectation, Mapping, MappingRow, MatchKind, Options
from app.io import load_draft, read_mapping, save_draft, write_mapping

KINDS = Mapping(
    (
        MappingRow("Sales", "Sales", MatchKind.STARTS_WITH),
        MappingRow("EMEA", "Europe", MatchKind.CONTAINS),
        MappingRow(r"^Eng-\d+$", "Eng", MatchKind.PATTERN),
        MappingRow("(contractor)", "Contractors", MatchKind.ENDS_WITH),
        MappingRow("Ops", "Ops"),
    )
)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_match_column_round_trip(tmp_path, suffix):
    path = tmp_path / f"mapping{suffix}"
    write_mapping(path, KINDS)
    assert read_mapping(path) == KINDS


def test_match_column_is_written_only_when_a_row_is_not_equals(tmp_path):
    write_mapping(tmp_path / "kinds.xlsx", KINDS)
    sheet = openpyxl.load_workbook(tmp_path / "kinds.xlsx").active
    assert [c.value for c in sheet[1]] == ["Value in Identity Provider", "Group", "Match"]
    assert [c.value for c in sheet["C"]][1:] == [
        "starts with", "contains", "pattern", "ends with", "equals"]
    write_mapping(tmp_path / "plain.csv", Mapping((MappingRow("Ops", "Ops"),)))
    header = (tmp_path / "plain.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == "Value in Identity Provider,Group"


def test_match_column_accepts_any_case_aliases_and_blank_as_equals(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("Value,Group,Match type\nSales,S,Begins With\nx,X,\nE.*,E,regex\n")
    assert [row.kind for row in read_mapping(path).rows] == [
        MatchKind.STARTS_WITH, MatchKind.EQUALS, MatchKind.PATTERN]


def test_an_unknown_match_names_the_file_the_row_and_the_choices(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("Value,Group,Match\nSales,S,equals\nEng,E,like\n")
    with pytest.raises(InputError) as caught:
        read_mapping(path)
    message = str(caught.value)
    # the spreadsheet's own row number: the header is row 1
    assert message.startswith("m.csv: row 3 ('Eng') has the unknown match 'like'")
    assert "equals, starts with, ends with, contains, pattern" in message


def test_a_version_1_draft_opens_unchanged_and_is_saved_as_version_2(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({
        "format": "groupmap-draft", "version": 1,
        "rows": [{"value": "Sales", "group": "S"}], "options": {"ignore_case": True}}))
    mapping = load_draft(path)
    assert mapping == Mapping((MappingRow("Sales", "S"),), Options(ignore_case=True))
    save_draft(path, mapping)
    data = json.loads(path.read_text())
    assert data["version"] == 2
    assert data["rows"] == [{"value": "Sales", "group": "S", "match": "equals"}]
    assert data["expectations"] == []
    assert load_draft(path) == mapping


def test_drafts_hold_match_kinds_and_expectations(tmp_path):
    mapping = KINDS.with_expectations(
        [Expectation("ann@example.com", ("Sales",)), Expectation("Ops", ()),
         Expectation("Sales - EMEA", ("Sales", "Europe"))])
    save_draft(tmp_path / "d.json", mapping)
    data = json.loads((tmp_path / "d.json").read_text())
    assert data["expectations"][0] == {"subject": "ann@example.com", "groups": ["Sales"]}
    assert data["rows"][2]["match"] == "pattern"
    assert load_draft(tmp_path / "d.json") == mapping


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "groupmap-draft", "version": 2, "rows": [{"value": "a", "match": "like"}]}',
         "row 1 of the draft has an unknown match 'like'"),
        ('{"format": "groupmap-draft", "version": 2, "expectations": {}}', "expectations"),
        ('{"format": "groupmap-draft", "version": 2, "expectations": [{"subject": 1}]}',
         "expectation 1 of the draft is damaged"),
        ('{"format": "groupmap-draft", "version": 2, "expectations": [{"subject": "a",'
         ' "groups": [1]}]}', "expectation 1"),
    ],
)
def test_damaged_kinds_and_expectations_in_drafts(tmp_path, content, message):
    path = tmp_path / "draft.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_draft(path)


FIXTURE_OK = [HealthCheck.function_scoped_fixture]
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\ufffe\uffff"),
               max_size=20)
rows = st.lists(st.builds(MappingRow, text, text, st.sampled_from(list(MatchKind))), max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE_OK)
@given(rows=rows, suffix=st.sampled_from([".csv", ".xlsx", ".json"]))
def test_kinds_round_trip_property(tmp_path, rows, suffix):
    path = tmp_path / f"m{suffix}"
    write_mapping(path, Mapping(tuple(rows)))
    kept = tuple(r for r in rows if suffix == ".json" or r.value.strip() or r.group.strip())
    assert read_mapping(path).rows == kept


def test_an_unknown_match_in_a_workbook_names_its_row_below_a_title(tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "m.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(["Group mapping, exported 2026-12-01"])
    sheet.append(["Value in Identity Provider", "Group", "Match"])
    sheet.append(["Sales", "S", "equals"])
    sheet.append([None, None, None])
    sheet.append(["Eng", "E", "like"])
    book.save(path)
    with pytest.raises(InputError, match=r"m.xlsx: row 5 \('Eng'\) has the unknown match"):
        read_mapping(path)
