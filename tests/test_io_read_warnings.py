"""What reading chose silently is said: a repeated column name, a formula without a saved
value. Each becomes a warning of the preview (and the app's Problems)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter

from app.core.engine import evaluate
from app.core.mapping import Mapping, MappingRow
from app.core.warnings import find_warnings
from app.io import read_users
from app.io.xlsxscan import SheetScan, _Fast
from tests.data.bombs import rebuild

SHEET = "xl/worksheets/sheet1.xml"


def test_a_repeated_column_name_says_which_column_is_read(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text(
        "Email,Identity Provider Group,Name,identity provider group\n"
        "ann@x.com,Sales,Ann,Marketing\n",
        encoding="utf-8",
    )
    users = read_users([path])
    assert list(users.frame["source"]) == ["Sales"]
    warnings = find_warnings(evaluate(users, Mapping((MappingRow("Sales", "S"),))))
    found = [w for w in warnings if w.code == "duplicate_column"]
    assert len(found) == 1 and found[0].count == 2
    assert found[0].message == (
        "users.csv: the header names the column 'Identity Provider Group' 2 times (columns 2"
        " and 4); column 2 is read, the others are ignored. Rename or remove the others if"
        " they hold the data."
    )


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "valid.xlsx"
    with xlsxwriter.Workbook(str(path)) as book:
        book.add_worksheet().write_row(0, 0, ["Email", "Identity Provider Group"])
    return path


def _sheet(quote: str = '"') -> bytes:
    q = quote
    rows = [
        f'<row r={q}1{q}><c r={q}A1{q} t={q}inlineStr{q}><is><t>Email</t></is></c>'
        f'<c r={q}B1{q} t={q}inlineStr{q}><is><t>Identity Provider Group</t></is></c></row>',
        f'<row r={q}2{q}><c r={q}A2{q} t={q}inlineStr{q}><is><t>ann@x.com</t></is></c>'
        f'<c r={q}B2{q} t={q}str{q}><f>"Sa"&amp;"les"</f></c></row>',
        f'<row r={q}3{q}><c r={q}A3{q} t={q}inlineStr{q}><is><t>bo@x.com</t></is></c>'
        f'<c r={q}B3{q} t={q}str{q}><f>"Sa"&amp;"les"</f><v>Sales</v></c></row>',
    ]
    return ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{''.join(rows)}</sheetData></worksheet>").encode()


@pytest.mark.parametrize("quote", ['"', "'"])  # the fast scan, and the exact one (expat)
def test_a_formula_without_a_saved_value_names_its_cell(tmp_path, workbook, quote):
    path = tmp_path / "formulas.xlsx"
    rebuild(workbook, path, {SHEET: _sheet(quote)})
    users = read_users([path])
    assert list(users.frame["source"]) == ["", "Sales"]
    notes = [n for n in users.notes if n["code"] == "formula_without_value"]
    assert [(n["value"], n["count"]) for n in notes] == [("B2", 1)]
    assert "has 1 formula cell(s) with no saved value (such as B2), read as blank" in (
        notes[0]["message"])


def test_a_formula_cell_split_between_two_chunks_is_still_seen():
    """The fast scan reads a sheet in chunks, each ending before a tag (a partial tag goes
    to the next): a cell open at one's end is read with the next."""
    data = _sheet()
    starts = range(data.index(b"<row r=\"2\""), data.index(b"<row r=\"3\"") + 1)
    for cut in [at for at in starts if data[at : at + 1] == b"<"]:
        fast, scan = _Fast(b""), SheetScan()
        fast.uncached(scan, fast.uncached(scan, data[:cut]) + data[cut:])
        assert (scan.uncached, scan.uncached_refs) == (1, ["B2"]), cut
