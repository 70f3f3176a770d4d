"""Regenerate the small bad-file corpus in tests/data/bad/ (run: python -m tests.data.make_corpus).

The encrypted workbook needs msoffcrypto-tool (pip install msoffcrypto-tool); the committed
file was made with it. Big files (a 10 MB cell, 1M rows) are made by the tests in tmp_path.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import xlsxwriter

BAD = Path(__file__).parent / "bad"
HEADER = ["Name", "Email", "Status", "Identity Provider Group", "Current group"]
ROWS = [
    ["Ann Lee", "ann@example.com", "Active", "Sales", "Team A"],
    ["Bob Ray", "bob@example.com", "Pending", "Support;Sales", ""],
]


def _csv(rows: list[list[str]], sep: str = ",") -> str:
    return "".join(sep.join(row) + "\r\n" for row in rows)


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rewrite_sheet(data: bytes, edit, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            content = zin.read(info.filename)
            if info.filename == part:
                content = edit(content)
            zout.writestr(info, content)
    return out.getvalue()


def _far_cell(valid: bytes, row: bytes) -> bytes:
    return _rewrite_sheet(valid, lambda xml: xml.replace(b"</sheetData>", row + b"</sheetData>"))


def _without_references(xml: bytes) -> bytes:
    """Rows and cells without r= (some writers omit them): calamine places them in order."""
    return re.sub(rb' (?:r|spans)="[^"]*"', b"", xml)


def _lie_about_size(data: bytes, part: bytes, size: int) -> bytes:
    """Headers declaring `size` for `part` while its data inflates to more."""
    out = bytearray(data)
    for magic, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := out.find(magic, start)) >= 0:
            if out[start + name_at : start + name_at + len(part)] == part:
                out[start + size_at : start + size_at + 4] = size.to_bytes(4, "little")
            start += 4
    return bytes(out)


def text_files() -> None:
    (BAD / "empty.csv").write_bytes(b"")
    (BAD / "header_only.csv").write_text(_csv([HEADER]), encoding="utf-8")
    (BAD / "no_email.csv").write_text(
        _csv([["Name", "Identity Provider Group"], ["Ann", "Sales"]]), encoding="utf-8"
    )
    (BAD / "duplicate_emails.csv").write_text(
        _csv([HEADER, *ROWS, ["Ann Again", "ANN@example.com", "Active", "Other", ""]]),
        encoding="utf-8",
    )
    (BAD / "cp1252.csv").write_bytes(
        _csv([HEADER, ["José Müller", "jose@example.com", "Active", "Ventes €", ""]]).encode(
            "cp1252"
        )
    )
    (BAD / "utf16.csv").write_bytes(
        _csv([HEADER, ["Zoë 日本", "zoe@example.com", "Active", "Café", ""]], sep="\t").encode(
            "utf-16"
        )
    )
    (BAD / "semicolon.csv").write_text(
        _csv([HEADER, ["Lee, Ann", "ann@example.com", "Active", "Sales", "A"]], sep=";"),
        encoding="utf-8",
    )
    (BAD / "bom.csv").write_text(_csv([HEADER, *ROWS]), encoding="utf-8-sig")
    (BAD / "text_named.xlsx").write_text(_csv([HEADER, *ROWS]), encoding="utf-8")


def workbooks() -> None:
    with xlsxwriter.Workbook(str(BAD / "several_sheets.xlsx")) as book:
        book.add_worksheet("Read me").write_string(0, 0, "Exported users follow")
        sheet = book.add_worksheet("Users")
        for r, row in enumerate([HEADER, *ROWS]):
            sheet.write_row(r, 0, row)
        book.add_worksheet("Pivot").write_row(0, 0, ["Email", "Count"])

    book = openpyxl.Workbook()
    sheet = book.active
    for row in [HEADER, *ROWS, ["Cy Doe", "cy@example.com", "Active", None, None]]:
        sheet.append(row)
    sheet.merge_cells("D3:D4")  # Cy shares Bob's value in a merged cell
    book.save(BAD / "merged_cells.xlsx")

    with xlsxwriter.Workbook(str(BAD / "formulas.xlsx")) as book:
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, HEADER)
        sheet.write_row(1, 0, ROWS[0][:3])
        sheet.write_formula(1, 3, '="Sa"&"les"', None, "Sales")
        sheet.write_formula(1, 4, "=1+1", None, 2)

    with xlsxwriter.Workbook(str(BAD / "dates.xlsx")) as book:
        sheet = book.add_worksheet()
        date = book.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, HEADER)
        sheet.write_row(1, 0, ROWS[0][:3])
        sheet.write_datetime(1, 3, dt.datetime(2024, 3, 4), date)
        sheet.write_number(1, 4, 7)
        sheet.write_row(2, 0, ROWS[1][:3])
        sheet.write_string(2, 3, "3-4")
        sheet.write_string(2, 4, "007")

    valid = _xlsx_bytes([HEADER, *ROWS])
    (BAD / "truncated.xlsx").write_bytes(valid[: len(valid) // 2])
    (BAD / "huge_dimension.xlsx").write_bytes(
        _rewrite_sheet(valid, lambda xml: re.sub(rb'<dimension ref="[^"]*"',
                                                 b'<dimension ref="A1:XFD1048576"', xml))
    )
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    (BAD / "far_cell.xlsx").write_bytes(
        _rewrite_sheet(valid, lambda xml: xml.replace(b"</sheetData>", far + b"</sheetData>"))
    )
    # The far cell, spelled as XML allows but not as Excel writes it (issue 11).
    _hostile_workbooks(valid)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    (BAD / "zip_not_workbook.xlsx").write_bytes(buffer.getvalue())
    _encrypted(valid)


def _hostile_workbooks(valid: bytes) -> None:
    text = b"<is><t>x</t></is></c></row>"
    spellings = {
        "far_cell_single_quotes.xlsx": b"<row r='1048576'><c r='XFD1048576' t='inlineStr'>",
        "far_cell_newline.xlsx": b'<row\nr="1048576"><c t="inlineStr"\n  r="XFD1048576">',
        "far_cell_in_first_row.xlsx": b'<row r="3"><c r="XFD1048576" t="inlineStr">',
        "far_cell_prefixed.xlsx": b'<row r="4"><x:c xmlns:x="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" r="XFD1048576" t="inlineStr">',
        "far_cell_after_comment.xlsx": b'<row r="1048576"><!-- <row r="4"> -->'
        + b'<c t="inlineStr"><is><t>x</t></is></c>' * 3 + b'<c r="XFD1048576" t="inlineStr">',
    }
    for name, row in spellings.items():
        closing = text.replace(b"</c>", b"</x:c>") if b"x:c" in row else text
        (BAD / name).write_bytes(_far_cell(valid, row + closing))
    (BAD / "cells_without_r.xlsx").write_bytes(_rewrite_sheet(valid, _without_references))
    (BAD / "huge_dimension_single_quotes.xlsx").write_bytes(_rewrite_sheet(
        valid, lambda xml: re.sub(rb'<dimension ref="[^"]*"', b"<dimension\n ref='A1:XFD1048576'",
                                  xml)))
    shared = io.BytesIO()
    with xlsxwriter.Workbook(shared) as book:  # xlsxwriter keeps texts in sharedStrings.xml
        sheet = book.add_worksheet()
        for r, row in enumerate([HEADER, *ROWS]):
            sheet.write_row(r, 0, row)
    (BAD / "huge_unique_count.xlsx").write_bytes(_rewrite_sheet(
        shared.getvalue(),
        lambda xml: re.sub(rb'uniqueCount="\d+"', b'uniqueCount="4000000000"', xml),
        "xl/sharedStrings.xml"))
    padded = _rewrite_sheet(valid, lambda xml: xml + b" " * 100_000)
    sheet = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(valid)) as archive:
        size = archive.getinfo(sheet.decode()).file_size
    (BAD / "lying_size.xlsx").write_bytes(_lie_about_size(padded, sheet, size))
    header = ",".join(f"c{i}" for i in range(20_000))
    (BAD / "wide_header.csv").write_text(f"Email,{header}\r\na@example.com\r\n", encoding="utf-8")


def _encrypted(valid: bytes) -> None:
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        print("msoffcrypto-tool not installed: encrypted.xlsx left as it is")
        return
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(valid)).encrypt("secret", out)
    (BAD / "encrypted.xlsx").write_bytes(out.getvalue())


def drafts() -> None:
    """Drafts an adversary writes: each must end in the one-line "damaged" message."""
    start = '{"format": "groupmap-draft", "version": '
    (BAD / "draft_deep_nesting.json").write_text(
        start + '1, "rows": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    (BAD / "draft_huge_version.json").write_text(start + "9" * 5000 + "}", encoding="utf-8")
    (BAD / "draft_long_version_text.json").write_text(
        start + '"' + "x" * 100_000 + '"}', encoding="utf-8")
    (BAD / "draft_not_utf8.json").write_bytes(start.encode() + b'1, "rows": ["\xff\xfe"]}')


if __name__ == "__main__":
    BAD.mkdir(exist_ok=True)
    text_files()
    workbooks()
    drafts()
