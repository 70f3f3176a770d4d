"""Hostile inputs too large to commit (issue 11): zip bombs, wide sheets, bounded reads.

Each one either loads or stops with one line naming the file; none aborts the process or
allocates gigabytes. The small hostile files are in tests/data/bad (test_io_corpus.py).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import python_calamine as calamine
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import InputError
from app.io import read_users
from app.io.limits import MAX_CELLS, MAX_SHARED_STRINGS_XML, MAX_SHEET_XML
from app.io.xlsxparts import open_package
from app.io.xlsxscan import _letters, scan_sheet
from tests.data.bombs import Repeated, rebuild
from tests.data.make_corpus import _lie_about_size

SHEET = "xl/worksheets/sheet1.xml"
ROOT = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://'
        b'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
END = b"</sheetData></worksheet>"


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """A real workbook with shared strings, for the bombs to replace parts of."""
    path = tmp_path / "valid.xlsx"
    with xlsxwriter.Workbook(str(path)) as book:
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, ["Email", "Identity Provider Group"])
        sheet.write_row(1, 0, ["a@example.com", "Sales"])
    return path


def one_line_error(path: Path, match: str) -> str:
    with pytest.raises(InputError, match=match) as caught:
        read_users([path])
    message = str(caught.value)
    assert message.startswith(path.name + ":") and "\n" not in message
    assert "again" in message
    return message


def test_shared_strings_bomb_is_refused_from_its_declared_size(tmp_path, workbook):
    bomb = tmp_path / "bomb.xlsx"
    texts = Repeated(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
                     b"<si><t>x</t></si>" * 655_360, 140, b"</sst>")
    rebuild(workbook, bomb, {"xl/sharedStrings.xml": texts})
    assert bomb.stat().st_size < 4_000_000 and texts.size > 1_500_000_000
    one_line_error(bomb, r"part 'xl/sharedStrings.xml' is too large to read \(1\.5 GB "
                         r"uncompressed; GroupMap reads up to 512\.0 MB\)")


def test_three_gigabytes_of_whitespace_are_refused(tmp_path, workbook):
    bomb = tmp_path / "spaces.xlsx"
    rebuild(workbook, bomb, {SHEET: Repeated(ROOT, b" " * (1 << 24), 192, END)})
    one_line_error(bomb, r"part 'xl/worksheets/sheet1.xml' is too large to read \(3\.0 GB")


def test_a_long_run_of_whitespace_within_the_size_limit_is_refused(tmp_path, workbook):
    bomb = tmp_path / "run.xlsx"
    rebuild(workbook, bomb, {SHEET: Repeated(ROOT, b" " * (1 << 24), 5, END)})
    one_line_error(bomb, "holds a text of over 64.0 MB without markup")


def test_forty_million_cells_without_references_are_refused(tmp_path, workbook):
    bomb = tmp_path / "cells.xlsx"
    rows = b"<row>" + b"<c><v>1</v></c>" * 40 + b"</row>"
    rebuild(workbook, bomb, {SHEET: Repeated(ROOT, rows * 1000, 1000, END)})
    assert bomb.stat().st_size < 3_000_000
    one_line_error(bomb, "is too large to read .*over 25,000,000 cells")


def test_a_far_cell_without_references_is_refused(tmp_path, workbook):
    """Cells without r= placed by calamine's rule: row 1,048,576 and 16,385 cells wide."""
    bomb = tmp_path / "wide.xlsx"
    rows = b'<row r="1048576">' + b"<c><v>1</v></c>" * 16_385 + b"</row>"
    rebuild(workbook, bomb, {SHEET: ROOT + rows + END})
    one_line_error(bomb, "refers to a cell beyond Excel's last row or column")


def test_styles_bomb_is_refused(tmp_path, workbook):
    bomb = tmp_path / "styles.xlsx"
    styles = Repeated(b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006'
                      b'/main">', b"<!-- -->" * 131_072, 100, b"</styleSheet>")
    rebuild(workbook, bomb, {"xl/styles.xml": styles})
    one_line_error(bomb, r"part 'xl/styles.xml' is too large to read \(100\.0 MB")


def test_a_part_that_inflates_beyond_its_declared_size_is_damaged(tmp_path, workbook):
    bomb = tmp_path / "lying.xlsx"
    rebuild(workbook, bomb, {SHEET: Repeated(ROOT, b"<row/>" * 100_000, 50, END)})
    bomb.write_bytes(_lie_about_size(bomb.read_bytes(), SHEET.encode(), 1000))
    one_line_error(bomb, "damaged or incomplete")


def test_the_limits_admit_excels_largest_sheet(tmp_path, workbook):
    """1,048,576 rows: the scan reads them all and the limits let them through."""
    assert MAX_CELLS >= 1_048_576 * 23
    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>u%d@example.com</t></is></c>'
                    b'<c r="B%d"><v>%d</v></c></row>' % (i, i, i, i, i % 7)
                    for i in range(1, 1_048_577))
    big = tmp_path / "big.xlsx"
    rebuild(workbook, big, {SHEET: ROOT + rows + END})
    with open_package(big) as package:
        info = package.find(SHEET)
        assert info.file_size < MAX_SHEET_XML
        scan = scan_sheet(package, info)
    assert (scan.rows, scan.columns, scan.cells) == (1_048_576, 2, 2_097_152)
    assert scan.rows * scan.columns <= MAX_CELLS
    assert MAX_SHARED_STRINGS_XML >= 1_048_576 * 3 * 40  # three unique 30-character texts a row


NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
cells = st.lists(st.tuples(st.one_of(st.none(), st.tuples(st.integers(0, 40), st.integers(1, 40))),
                           st.booleans()), max_size=6)
rows = st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 40)), cells, st.booleans()),
                max_size=6)
spelling = st.tuples(st.sampled_from(['"', "'"]), st.sampled_from([" ", "\n", "\t  "]),
                     st.booleans(), st.booleans())


def _sheet_xml(sheet_rows, quote: str, space: str, r_last: bool, prefixed: bool) -> bytes:
    tag = "x:c" if prefixed else "c"
    xml = []
    for row_ref, row_cells, commented in sheet_rows:
        if commented:  # a comment that looks like a row: calamine and the scan skip it
            xml.append('<!-- <row r="1"><c r="A1"/></row> -->')
        xml.append(f"<row{space}r={quote}{row_ref}{quote}>" if row_ref else "<row>")
        for ref, filled in row_cells:
            attrs = [f"t={quote}inlineStr{quote}", f"x={quote}>{quote}"]
            if ref is not None:
                position = f"r={quote}{_letters(ref[0])}{ref[1]}{quote}"
                attrs.insert(len(attrs) if r_last else 0, position)
            body = "<is><t>v</t></is>" if filled else ""
            xml.append(f"<{tag}{space}{space.join(attrs)}>{body}</{tag}>")
        xml.append("</row>")
    declare = ' xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    return (b"<worksheet " + NS + (declare.encode() if prefixed else b"") + b"><sheetData>"
            + "".join(xml).encode() + END)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sheet_rows=rows, how=spelling)
def test_the_scan_never_sees_less_than_calamine_places(tmp_path, workbook, sheet_rows, how):
    """Whatever the spelling, the extent the scan reports covers every cell calamine places."""
    path = tmp_path / "spelled.xlsx"
    rebuild(workbook, path, {SHEET: _sheet_xml(sheet_rows, *how)})
    with open_package(path) as package:
        scan = scan_sheet(package, package.find(SHEET))
    try:
        with calamine.CalamineWorkbook.from_path(path) as book:
            placed = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except calamine.CalamineError:
        return  # calamine refuses it too (a reference it cannot read): nothing is allocated
    if placed and placed[0]:
        assert scan.rows >= len(placed) and scan.columns >= len(placed[0])


def test_a_zip_of_100000_parts_and_a_workbook_of_many_sheets_are_refused(tmp_path, workbook):
    many = tmp_path / "parts.xlsx"
    rebuild(workbook, many, {f"junk/{i}": b"" for i in range(100_001)})
    one_line_error(many, "the workbook.s zip holds 100,011 parts")
    sheets = tmp_path / "sheets.xlsx"
    listed = b"".join(b'<sheet name="S%d" sheetId="%d" r:id="rId1"/>' % (i, i + 1)
                      for i in range(1_001))
    with zipfile.ZipFile(workbook) as archive:
        book = archive.read("xl/workbook.xml")
    start, end = book.index(b"<sheets>") + 8, book.index(b"</sheets>")
    rebuild(workbook, sheets, {"xl/workbook.xml": book[:start] + listed + book[end:]})
    one_line_error(sheets, "the workbook has over 1,000 sheets")
