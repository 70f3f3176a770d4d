"""Writers: formula-injection safety, table round trips, the preview workbook, atomic writes."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.engine import evaluate
from app.core.errors import InputError
from app.core.mapping import Mapping, MappingRow, Options
from app.core.report import USER_COLUMNS
from app.core.users import UserList
from app.core.warnings import find_warnings
from app.io import (
    atomic_path,
    atomic_write_bytes,
    read_table,
    safe_cell,
    unescape_cell,
    write_preview,
    write_table,
)
from app.io.preview import HEADERS

RISKY = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=x", "\r=x", "=HYPERLINK(\"http://x\")"]
FIXTURE_OK = [HealthCheck.function_scoped_fixture]
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\ufffe\uffff"),
               max_size=30)
# Text, half of it starting like a formula (or like an already quoted formula).
cell = st.one_of(text, st.builds(str.__add__, st.sampled_from(
    ["=", "+", "-", "@", "\t", "\r", "'=", "''-", "'"]), text))


def ooxml_text(value: str) -> str:
    """openpyxl leaves control characters escaped as _xHHHH_ (Excel shows the character)."""
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m[1], 16)), value)


@pytest.mark.parametrize("value", RISKY)
def test_safe_cell_quotes_formula_starts(value):
    assert safe_cell(value) == "'" + value
    assert unescape_cell(safe_cell(value)) == value


@pytest.mark.parametrize("value", ["", "Sales", "'quoted", "'", "a=b", "1-2", "''x"])
def test_safe_cell_leaves_plain_text(value):
    assert safe_cell(value) == value
    assert unescape_cell(value) == value


def test_text_that_already_looks_escaped_survives_a_round_trip():
    assert safe_cell("'=x") == "''=x"
    assert unescape_cell("''=x") == "'=x"


@given(cell)
def test_safe_cell_is_safe_and_reversible(value):
    written = safe_cell(value)
    assert not written.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unescape_cell(written) == value


def test_csv_cells_are_quoted_and_numbers_are_not(tmp_path):
    frame = pd.DataFrame({"value": RISKY, "count": range(-3, len(RISKY) - 3)})
    write_table(tmp_path / "t.csv", frame)
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[1] == "'=1+1,-3"
    assert lines[3] == "'-1,-1"
    back = read_table(tmp_path / "t.csv")
    assert back["value"].tolist() == RISKY


def test_xlsx_formula_text_is_a_string_cell_never_a_formula(tmp_path):
    frame = pd.DataFrame({"value": RISKY, "count": range(len(RISKY)), "flag": [True] * 7})
    write_table(tmp_path / "t.xlsx", frame, sheet_name="Plan")
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    sheet = book["Plan"]
    for row, value in enumerate(RISKY, start=2):
        cell = sheet.cell(row, 1)
        assert cell.data_type == "s" and ooxml_text(cell.value) == value
    assert sheet.cell(2, 2).data_type == "n" and sheet.cell(3, 2).value == 1
    assert sheet.cell(2, 3).value is True
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C8"
    assert 8 <= sheet.column_dimensions["A"].width <= 62
    assert sheet.cell(1, 1).font.bold


def test_unsupported_output_type(tmp_path):
    with pytest.raises(InputError, match=r"t\.pdf: can only save as \.csv or \.xlsx"):
        write_table(tmp_path / "t.pdf", pd.DataFrame({"a": ["x"]}))


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(cells=st.lists(st.tuples(cell, cell), min_size=1, max_size=6),
       suffix=st.sampled_from([".csv", ".xlsx"]))
def test_any_text_survives_write_then_read(tmp_path, cells, suffix):
    frame = pd.DataFrame(cells, columns=["first", "second"], dtype=str)
    path = tmp_path / f"t{suffix}"
    write_table(path, frame)
    back = read_table(path)
    expected = frame
    if suffix == ".xlsx":  # a workbook has no trailing rows made only of empty cells
        filled = (frame != "").any(axis=1)
        expected = frame.iloc[: filled[::-1].idxmax() + 1] if filled.any() else frame.iloc[:0]
    assert back.columns.tolist() == ["first", "second"]
    assert back.to_numpy().tolist() == expected.to_numpy().tolist()


def _evaluation():
    users = UserList.from_records(
        [
            {"email": "a@x.com", "name": "=Ann", "status": "active", "source": "Sales",
             "groups": ""},
            {"email": "b@x.com", "name": "Bob", "status": "pending", "source": "Ops",
             "groups": "Old"},
            {"email": "c@x.com", "name": "Cy", "status": "active", "source": "??", "groups": ""},
        ]
    )
    mapping = Mapping((MappingRow("Sales", "@Sales team"), MappingRow("Ops", "Old"),
                       MappingRow("Gone", "")))
    evaluation = evaluate(users, mapping)
    return evaluation, find_warnings(evaluation)


def test_preview_workbook(tmp_path):
    evaluation, warnings = _evaluation()
    seen: list[float] = []
    write_preview(tmp_path / "p.xlsx", evaluation, warnings, progress=seen.append)
    assert seen[-1] == 1.0
    book = openpyxl.load_workbook(tmp_path / "p.xlsx")
    assert book.sheetnames == ["Summary", "Groups", "Users", "Problems", "Mapping", "Options"]
    overview = {row[0].value: row[1] for row in book["Summary"].iter_rows(min_row=2)}
    assert overview["Users"].value == 3 and overview["Users"].data_type == "n"
    assert overview["Memberships added"].value == 1 and "Exported at" in overview
    summary = list(book["Groups"].values)
    assert summary[0] == ("Group", "Before", "After", "Added", "Removed", "New group")
    assert ("@Sales team", 0, 1, 1, 0, "yes") in summary
    users = list(book["Users"].values)
    assert list(users[0]) == [HEADERS[c] for c in USER_COLUMNS]
    assert users[1][:2] == ("=Ann", "a@x.com") and book["Users"]["A2"].data_type == "s"
    assert users[1][5] == "@Sales team"
    problems = list(book["Problems"].values)
    assert problems[0] == ("Type", "Problem", "Row", "Value")
    assert {row[0] for row in problems[1:]} >= {"Incomplete row"}  # words, not codes
    assert list(book["Mapping"].values)[:2] == [
        ("Priority", "Match", "Value in Identity Provider", "Group", "Users"),
        (1, "equals", "Sales", "@Sales team", 1)]
    assert ("Apply changes to existing users", "no") in list(book["Options"].values)
    for name in book.sheetnames:
        assert book[name].freeze_panes == "A2" and book[name].auto_filter.ref


def test_preview_csv_is_the_users_table(tmp_path):
    evaluation, warnings = _evaluation()
    write_preview(tmp_path / "p.csv", evaluation, warnings)
    back = read_table(tmp_path / "p.csv")
    assert back.columns.tolist() == USER_COLUMNS
    assert back["name"].tolist() == ["=Ann", "Bob", "Cy"]
    assert (tmp_path / "p.csv").read_text(encoding="utf-8-sig").splitlines()[1].startswith("'=Ann")


def test_atomic_write_replaces_the_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    path.chmod(0o640)
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_interrupted_table_write_leaves_the_old_workbook(tmp_path):
    path = tmp_path / "plan.xlsx"
    write_table(path, pd.DataFrame({"a": ["old"]}))
    before = path.read_bytes()

    def fail(_fraction: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_table(path, pd.DataFrame({"a": [str(i) for i in range(5000)]}), progress=fail)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]


def test_saving_into_a_missing_folder_is_one_clear_line(tmp_path):
    target = tmp_path / "no such folder" / "plan.csv"
    with pytest.raises(InputError, match="cannot save the file") as caught:
        write_table(target, pd.DataFrame({"a": ["x"]}))
    assert str(target) in str(caught.value)


def test_the_users_sheet_lists_new_groups_in_the_current_groups_order():
    from app.core.report import user_rows

    users = UserList.from_records([{"email": "a@x.com", "name": "Ann", "status": "active",
                                    "source": "Sales", "groups": "Zeta; Alpha"}])
    mapping = Mapping((MappingRow("Sales", "Beta"),), Options(multiple_groups=True))
    rows = user_rows(evaluate(users, mapping))
    assert rows.loc[0, "current groups"] == "Zeta; Alpha"
    assert rows.loc[0, "new groups"].startswith("Zeta; Alpha")  # kept first, as they were
