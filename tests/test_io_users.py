"""read_users: encodings, delimiters, header variants, text preservation, combining files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from app.core.errors import InputError, SourceColumnMissing
from app.io import ImportCancelled, csvfile, read_users

HEADER = ["Name", "Email", "Status", "Identity Provider Group", "Current group"]


def write_csv(path: Path, rows: list[list[str]], sep: str = ",", encoding: str = "utf-8") -> Path:
    """Rows as a delimited file; fields holding the delimiter are quoted, as Excel does."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    with xlsxwriter.Workbook(str(path)) as book:
        sheet = book.add_worksheet("Users")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    return path


def records(users) -> list[dict]:
    return users.frame.to_dict("records")


@pytest.mark.parametrize(
    ("encoding", "sep"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),
        ("utf-8", ";"),
        ("utf-8", "\t"),
        ("cp1252", ";"),
        ("utf-16", "\t"),
        ("utf-16-le", "\t"),
        ("utf-16-be", ","),
    ],
)
def test_csv_encodings_and_delimiters(tmp_path, encoding, sep):
    path = write_csv(
        tmp_path / "users.csv",
        [HEADER, ["Renée Ørsted", "renee@example.com", "Active", "Ventes €; Nord, Süd", "A; B"]],
        sep=sep,
        encoding=encoding,
    )
    (row,) = records(read_users([path]))
    assert row == {"email": "renee@example.com", "name": "Renée Ørsted", "status": "active",
                   "source": "Ventes €; Nord, Süd", "groups": "A; B"}


def test_cp1252_after_a_long_ascii_start(tmp_path):
    rows = [HEADER] + [[f"U{i}", f"u{i}@example.com", "active", "Sales", ""] for i in range(3000)]
    rows.append(["Zoë", "zoe@example.com", "active", "Café", ""])
    users = read_users([write_csv(tmp_path / "ansi.csv", rows, encoding="cp1252")])
    assert len(users) == 3001
    assert records(users)[-1]["source"] == "Café"


def test_excel_sep_line_and_txt_unicode_text(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text('sep=;\r\nEmail;Identity Provider Group\r\na@example.com;x,y\r\n')
    assert records(read_users([path]))[0]["source"] == "x,y"
    text = write_csv(tmp_path / "unicode.txt", [["Email", "Identity Provider Group"],
                                                 ["b@example.com", "日本"]], "\t", "utf-16")
    assert records(read_users([text]))[0]["source"] == "日本"


@pytest.mark.parametrize(
    "email_header", ["Email", " e-mail ", "EMAIL ADDRESS", "userName", "E-mail Address"]
)
def test_header_variants(tmp_path, email_header):
    path = write_csv(
        tmp_path / "u.csv",
        [[email_header, "  full NAME ", "STATUS", " identity provider group ", "Groups"],
         ["a@example.com", "Ann", "Pending", "Sales", "G1;G2"]],
    )
    (row,) = records(read_users([path]))
    assert row == {"email": "a@example.com", "name": "Ann", "status": "pending",
                   "source": "Sales", "groups": "G1;G2"}


def test_first_and_last_name_are_joined(tmp_path):
    path = write_csv(
        tmp_path / "u.csv",
        [["First name", "Last name", "Email", "Identity Provider Group"],
         ["Ann", "Lee", "a@example.com", "x"],
         ["Bob", "", "b@example.com", "x"],
         ["", "Ray", "c@example.com", "x"]],
    )
    assert [r["name"] for r in records(read_users([path]))] == ["Ann Lee", "Bob", "Ray"]


def test_csv_text_is_kept_as_written(tmp_path):
    path = write_csv(
        tmp_path / "u.csv",
        [["Email", "Identity Provider Group", "Current group"],
         ["a@example.com", "1", "007"],
         ["b@example.com", "3-4", "NA"],
         ["c@example.com", "", "nan"],
         ["d@example.com", "1.0", "TRUE"]],
    )
    rows = records(read_users([path]))
    assert [(r["source"], r["groups"]) for r in rows] == [
        ("1", "007"), ("3-4", "NA"), ("", "nan"), ("1.0", "TRUE")
    ]


def test_xlsx_cells_read_as_shown(tmp_path):
    path = write_xlsx(
        tmp_path / "u.xlsx",
        [["Email", "Identity Provider Group", "Current group", "Name"],
         ["a@example.com", 1, "007", 1.5],
         ["b@example.com", "3-4", None, 2.0],
         ["c@example.com", None, "", -3],
         ["d@example.com", 123456789012, "1", None]],
    )
    rows = records(read_users([path]))
    assert [(r["source"], r["groups"], r["name"]) for r in rows] == [
        ("1", "007", "1.5"), ("3-4", "", "2"), ("", "", "-3"), ("123456789012", "1", "")
    ]


def test_xlsx_date_cells_become_iso_text(tmp_path):
    path = tmp_path / "d.xlsx"
    with xlsxwriter.Workbook(str(path)) as book:
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, ["Email", "Identity Provider Group", "Current group"])
        sheet.write_string(1, 0, "a@example.com")
        sheet.write_datetime(1, 1, dt.datetime(2024, 3, 4), book.add_format({"num_format": 14}))
        sheet.write_datetime(1, 2, dt.datetime(2024, 3, 4, 10, 30),
                             book.add_format({"num_format": 22}))
    (row,) = records(read_users([path]))
    assert row["source"] == "2024-03-04"
    assert row["groups"] == "2024-03-04 10:30:00"


def test_xlsx_numbers_booleans_times_and_errors_read_as_shown(tmp_path):
    path = tmp_path / "n.xlsx"
    cells = [
        (0.1, None, "0.1"),
        (1 / 3, None, "0.3333333333333333"),
        (2.5e-05, None, "0.000025"),
        (1e20, None, "100000000000000000000"),
        (-0.0, None, "0"),
        (True, None, "TRUE"),
        (dt.time(10, 30), 20, "10:30:00"),
        (dt.datetime(2024, 3, 4, 10, 30, 15, 500000), 22, "2024-03-04 10:30:15.500"),
        (dt.timedelta(hours=30, minutes=5), 46, "30:05:00"),
        ("=1/0", None, ""),
    ]
    with xlsxwriter.Workbook(str(path)) as book:
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, ["Email", "Identity Provider Group"])
        for r, (value, num_format, _) in enumerate(cells, start=1):
            sheet.write_string(r, 0, f"u{r}@example.com")
            style = book.add_format({"num_format": num_format}) if num_format else None
            if isinstance(value, dt.timedelta):
                sheet.write_number(r, 1, value.total_seconds() / 86400, style)
            elif isinstance(value, str):
                sheet.write_formula(r, 1, value, None, "#DIV/0!")
            else:
                sheet.write(r, 1, value, style)
    assert [r["source"] for r in records(read_users([path]))] == [c[2] for c in cells]


def test_reading_needs_neither_pyarrow_nor_fastexcel(tmp_path):
    """The bundle ships without them: both readers work when they cannot be imported."""
    xlsx = write_xlsx(tmp_path / "u.xlsx", [["Email", "Identity Provider Group"],
                                            ["a@example.com", 7]])
    csv_path = write_csv(tmp_path / "u.csv", [["Email", "Identity Provider Group"],
                                             ["b@example.com", "007"]])
    script = (
        "import sys\n"
        "sys.modules['pyarrow'] = sys.modules['fastexcel'] = None\n"
        "from app.io import read_users\n"
        "users = read_users(sys.argv[1:])\n"
        "print(list(users.frame['source']))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(xlsx), str(csv_path)], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).parents[1]).stdout
    assert out.strip() == "['7', '007']"


def test_header_below_title_rows_and_sheet_note(tmp_path):
    path = tmp_path / "u.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Summary"
    book.active.append(["Total users", 1])
    sheet = book.create_sheet("Users")
    sheet.append(["Calendly user export"])
    sheet.append([])
    sheet.append(["Email", "Identity Provider Group"])
    sheet.append(["a@example.com", "Sales"])
    book.save(path)
    users = read_users([path])
    assert records(users)[0]["source"] == "Sales"
    (note,) = users.notes
    assert note["code"] == "sheet_chosen" and "'Users'" in note["message"]


def test_several_files_combine_and_duplicates_count_once(tmp_path):
    active = write_csv(tmp_path / "active.csv", [HEADER, ["Ann", "ann@example.com", "Active",
                                                          "Sales", ""]])
    pending = write_xlsx(tmp_path / "pending.xlsx", [HEADER,
                                                     ["Bob", "bob@example.com", "Pending", "x", ""],
                                                     ["Ann 2", "ANN@Example.com", "Pending", "y",
                                                      ""]])
    users = read_users([active, pending])
    assert [r["email"] for r in records(users)] == ["ann@example.com", "bob@example.com"]
    assert records(users)[0]["source"] == "Sales"  # the first row wins
    codes = [n["code"] for n in users.notes]
    assert codes == ["duplicate_email"]  # one duplicate, one note
    assert users.notes[0]["value"] == "ann@example.com" and users.notes[0]["count"] == 2


def test_duplicate_notes_are_capped(tmp_path):
    rows = [["Email", "Identity Provider Group"]]
    rows += [[f"u{i}@example.com", "x"] for i in range(500)] * 2
    users = read_users([write_csv(tmp_path / "dups.csv", rows)])
    assert len(users) == 500
    per_email = [n for n in users.notes if n["code"] == "duplicate_email"]
    total = [n for n in users.notes if n["code"] == "duplicate_emails"]
    assert len(per_email) == 20
    assert total[0]["count"] == 480 and "480 more email(s)" in total[0]["message"]
    assert "480 extra row" in total[0]["message"]


def test_rows_without_email_are_skipped_with_a_note(tmp_path):
    path = write_csv(tmp_path / "u.csv", [["Email", "Identity Provider Group", "Name"],
                                          ["a@example.com", "x", "A"], ["", "", ""],
                                          ["", "y", "Nobody"]])
    users = read_users([path])
    assert len(users) == 1
    assert [n["code"] for n in users.notes] == ["missing_email"]


def test_source_column_missing_lists_the_columns(tmp_path):
    path = write_csv(tmp_path / "u.csv", [["Email", "Department"], ["a@example.com", "Sales"]])
    with pytest.raises(SourceColumnMissing) as caught:
        read_users([path])
    assert caught.value.columns == ["Email", "Department"]
    message = str(caught.value)
    assert "u.csv" in message and "Department" in message and "--source-column" in message
    users = read_users([path], source_column=" department ")
    assert records(users)[0]["source"] == "Sales"
    assert users.source_column == "department"


def test_ten_megabyte_cell_loads(tmp_path):
    big = "x" * 10_000_000
    csv_path = tmp_path / "big.csv"
    csv_path.write_text(f"Email,Identity Provider Group\na@example.com,{big}\n")
    assert records(read_users([csv_path]))[0]["source"] == big
    # Excel and the usual writers cap a cell at 32,767 characters: put the text in by hand.
    small = tmp_path / "small.xlsx"
    write_xlsx(small, [["Email", "Identity Provider Group"], ["a@example.com", "PLACEHOLDER"]])
    xlsx_path = tmp_path / "big.xlsx"
    with zipfile.ZipFile(small) as zin, zipfile.ZipFile(xlsx_path, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info).replace(b"PLACEHOLDER", big.encode()))
    assert records(read_users([xlsx_path]))[0]["source"] == big


def test_progress_rises_to_one_and_cancel_stops(tmp_path, monkeypatch):
    """Chunks a tenth of the real size over a tenth of the rows: still 3 chunks, and a file
    (1 MB) above the parser's read buffer, so each fraction is where the read really was."""
    monkeypatch.setattr(csvfile, "CHUNK_ROWS", 25_000)
    rows = [["Email", "Identity Provider Group"]] + [[f"u{i}@x.com", "s"] for i in range(60_000)]
    path = write_csv(tmp_path / "u.csv", rows)
    seen: list[float] = []
    read_users([path], progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 2
    calls = []

    def cancel_after_first_chunk() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(ImportCancelled):
        read_users([path], cancelled=cancel_after_first_chunk)


@pytest.mark.parametrize("name", ["users.pdf", "users"])
def test_unsupported_type_and_missing_file(tmp_path, name):
    path = tmp_path / name
    path.write_text("x")
    with pytest.raises(InputError, match=name):
        read_users([path])
    with pytest.raises(InputError, match="no such file"):
        read_users([tmp_path / "missing.csv"])
    with pytest.raises(InputError):
        read_users([])


def test_trailing_delimiters_load_and_an_open_quote_is_one_clear_error(tmp_path):
    path = tmp_path / "trailing.csv"
    path.write_text("Email,Identity Provider Group\na@x.com,b,\nc@x.com,d,,\n")
    assert [r["source"] for r in records(read_users([path]))] == ["b", "d"]
    path = tmp_path / "quote.csv"
    path.write_text('Email,Identity Provider Group\na@x.com,"b\n')
    with pytest.raises(InputError, match=r"quote\.csv: cannot read it as a CSV file") as caught:
        read_users([path])
    assert "\n" not in str(caught.value)


def test_xlsm_and_a_chart_sheet_before_the_users(tmp_path):
    path = tmp_path / "u.xlsm"
    with xlsxwriter.Workbook(str(path)) as book:
        chart_sheet = book.add_chartsheet("Chart")
        data = book.add_worksheet("Data")
        data.write_row(0, 0, ["Email", "Identity Provider Group"])
        data.write_row(1, 0, ["a@example.com", "Sales"])
        chart = book.add_chart({"type": "bar"})
        chart.add_series({"values": "=Data!$B$2:$B$2"})
        chart_sheet.set_chart(chart)
    users = read_users([path])
    assert records(users)[0]["source"] == "Sales"
    assert users.notes[0]["code"] == "sheet_chosen" and users.notes[0]["value"] == "Data"


def test_wide_sheets_within_limits_load(tmp_path):
    header = ["Email", "Identity Provider Group"] + [f"Extra {i}" for i in range(800)]
    path = write_xlsx(tmp_path / "wide.xlsx", [header, ["a@example.com", "S"] + ["x"] * 800])
    assert records(read_users([path]))[0]["source"] == "S"


def test_binary_file_named_csv(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x04\x00" + bytes(2000))
    with pytest.raises(InputError, match=r"photo\.csv: not a CSV text file"):
        read_users([path])


def test_a_huge_stray_sheet_does_not_hide_the_users_sheet(tmp_path):
    path = tmp_path / "u.xlsx"
    with xlsxwriter.Workbook(str(path)) as book:
        book.add_worksheet("Notes").write_string(1048575, 16383, "stray")
        users = book.add_worksheet("Users")
        users.write_row(0, 0, ["Email", "Identity Provider Group"])
        users.write_row(1, 0, ["a@example.com", "Sales"])
    assert records(read_users([path]))[0]["source"] == "Sales"
