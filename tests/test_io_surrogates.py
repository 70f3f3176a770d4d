"""A lone surrogate (half of a character) in a mapping, an export or an expectations table,
.csv or .xlsx: refused in one line naming the file, the cell and what to do, never a crash
nor a silent misreading (a UTF-8 file once read as Windows-1252 for it)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from app.cli import main
from app.core.errors import InputError
from app.io import read_mapping, read_users
from app.io.expectfile import read_expectations

HALF = b"\xed\xa0\x80"  # U+D800 as UTF-8 would spell it, which no UTF-8 decoder reads


def _one_line(read, path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path.name}: ")
    return message


@pytest.mark.parametrize(
    ("head", "read", "remedy"),
    [
        (b"Value in Identity Provider,Group", read_mapping, "save the mapping again"),
        (b"Email,Identity Provider Group", lambda p: read_users([p]), "export the user list"),
        (b"Email or value,Expected group", read_expectations, "save the expectations again"),
    ],
)
def test_a_csv_cell_holding_half_a_character_is_refused_with_its_line_and_column(
    tmp_path, head, read, remedy
):
    path = tmp_path / "table.csv"
    path.write_bytes(head + b"\r\nann@x.com,Sales\r\n\"b@x.com, \xc3\xa9\",Sa" + HALF + b"les\r\n")
    message = _one_line(read, path)
    assert "line 3, column 2 holds half of a character (the lone surrogate U+D800)" in message
    assert "Retype that cell" in message and remedy in message


def test_half_a_character_past_the_sniffed_sample_is_found_too(tmp_path):
    path = tmp_path / "mapping.csv"
    rows = b"".join(b"Caf\xc3\xa9 %d,Team\n" % i for i in range(10_000))  # ~140 KB of UTF-8
    path.write_bytes(b"Value in Identity Provider,Group\n" + rows + b"x,\xed\xbf\xbf\n")
    message = _one_line(read_mapping, path)
    assert "line 10002, column 2" in message and "U+DFFF" in message


def _xlsxwriter_book(path: Path, cells: dict[str, str], sheet: str = "Mapping") -> None:
    with xlsxwriter.Workbook(str(path)) as book:
        book.add_worksheet("Notes").write("A1", "notes")
        target = book.add_worksheet(sheet)
        target.write_row(0, 0, ["Value in Identity Provider", "Group"])
        for ref, text in cells.items():
            target.write_string(ref, text)


def _replace_in_parts(path: Path, old: bytes, new: bytes) -> None:
    parts = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            parts[info] = archive.read(info.filename).replace(old, new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in parts.items():
            archive.writestr(info, data)


@pytest.mark.parametrize("spelling", [b"&#xD800;", b"&#55296;", HALF])
def test_a_shared_text_holding_half_a_character_names_its_sheet_and_cell(tmp_path, spelling):
    path = tmp_path / "mapping.xlsx"
    _xlsxwriter_book(path, {"A2": "Sales", "B2": "S", "A3": "Eng", "B3": "EngMARK"})
    _replace_in_parts(path, b"EngMARK", b"Eng" + spelling)
    message = _one_line(read_mapping, path)
    assert message.startswith("mapping.xlsx: sheet 'Mapping', cell B3 holds half of a character"
                              " (the lone surrogate U+D800), which is not text.")
    assert "save the mapping again" in message


def test_an_inline_text_holding_half_a_character_names_its_cell(tmp_path):
    path = tmp_path / "users.xlsx"
    book = openpyxl.Workbook()  # openpyxl writes the text inline, as &#55296;
    sheet = book.active
    sheet.append(["Email", "Identity Provider Group"])
    sheet.append(["ann@x.com", "Sales"])
    sheet.append(["bob@x.com", "Sales \ud800"])
    book.save(path)
    message = _one_line(lambda p: read_users([p]), path)
    assert "sheet 'Sheet', cell B3 holds half of a character (the lone surrogate U+D800)" in message
    assert "export the user list again" in message


def test_the_cli_says_it_in_one_line_and_exits_2(tmp_path, capsys):
    mapping = tmp_path / "mapping.csv"
    mapping.write_bytes(b"Value in Identity Provider,Group\nSa" + HALF + b"les,S\n")
    users = tmp_path / "users.csv"
    users.write_text("Email,Identity Provider Group\nann@x.com,Sales\n", encoding="utf-8")
    assert main(["preview", "--users", str(users), "--mapping", str(mapping)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("groupmap: error: mapping.csv: line 2, column 1 holds half of a")
    assert "\n" not in err
