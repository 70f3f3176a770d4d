"""Every file of the bad-input corpus either loads correctly or fails with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import InputError
from app.io import read_mapping, read_users

BAD = Path(__file__).parent / "data" / "bad"
ANN = {"email": "ann@example.com", "name": "Ann Lee", "status": "active", "source": "Sales",
       "groups": "Team A"}
BOB = {"email": "bob@example.com", "name": "Bob Ray", "status": "pending",
       "source": "Support;Sales", "groups": ""}

LOADS = {
    "bom.csv": ([ANN, BOB], []),
    "duplicate_emails.csv": ([ANN, BOB], ["duplicate_email"]),
    "cp1252.csv": ([{"email": "jose@example.com", "name": "José Müller", "status": "active",
                     "source": "Ventes €", "groups": ""}], []),
    "utf16.csv": ([{"email": "zoe@example.com", "name": "Zoë 日本", "status": "active",
                    "source": "Café", "groups": ""}], []),
    "semicolon.csv": ([{"email": "ann@example.com", "name": "Lee, Ann", "status": "active",
                        "source": "Sales", "groups": "A"}], []),
    "several_sheets.xlsx": ([ANN, BOB], ["sheet_chosen"]),
    "merged_cells.xlsx": ([ANN, BOB, {"email": "cy@example.com", "name": "Cy Doe",
                                      "status": "active", "source": "Support;Sales",
                                      "groups": ""}], ["merged_cells"]),
    "formulas.xlsx": ([{**ANN, "groups": "2"}], []),
    "dates.xlsx": ([{**ANN, "source": "2024-03-04", "groups": "7"},
                    {**BOB, "source": "3-4", "groups": "007"}], []),
    "huge_dimension.xlsx": ([ANN, BOB], []),
    "cells_without_r.xlsx": ([ANN, BOB], []),
    "huge_dimension_single_quotes.xlsx": ([ANN, BOB], []),  # calamine caps what it reserves
}
FAR = "too large to read .*1,048,576 rows x 16,384 columns"

FAILS = {
    "empty.csv": "the file is empty",
    "header_only.csv": "has no users",
    "no_email.csv": "no email column .*columns found: Name, Identity Provider Group",
    "encrypted.xlsx": "password-protected",
    "text_named.xlsx": "not an Excel workbook",
    "truncated.xlsx": "damaged or incomplete",
    "zip_not_workbook.xlsx": "not an Excel workbook",
    "far_cell.xlsx": FAR,
    # Issue 11: the far cell however XML spells it; each of these aborted the process.
    "far_cell_single_quotes.xlsx": FAR,
    "far_cell_newline.xlsx": FAR,
    "far_cell_in_first_row.xlsx": FAR,
    "far_cell_prefixed.xlsx": FAR,
    "far_cell_after_comment.xlsx": FAR,
    "huge_unique_count.xlsx": "too many texts .*4,000,000,000; GroupMap reads up to 25,000,000",
    "lying_size.xlsx": "damaged or incomplete",
    "wide_header.csv": "the header has 20,001 columns, more than the 16,384",
}


DRAFT_FAILS = {
    "draft_deep_nesting.json": r"the draft is damaged \(nested too deeply\)",
    "draft_huge_version.json": r"the draft is damaged \(a number with 5,000 digits\)",
    "draft_long_version_text.json": r"invalid version 'xxxxxxxx.*…\. Open a draft",
    "draft_not_utf8.json": r"the draft is damaged \(not UTF-8 text\)",
}


def test_the_corpus_is_fully_covered():
    assert sorted(p.name for p in BAD.iterdir()) == sorted([*LOADS, *FAILS, *DRAFT_FAILS])


@pytest.mark.parametrize("name", sorted(DRAFT_FAILS))
def test_hostile_drafts_fail_with_one_short_line(name):
    with pytest.raises(InputError, match=DRAFT_FAILS[name]) as caught:
        read_mapping(BAD / name)
    message = str(caught.value)
    assert message.startswith(name + ":") and "\n" not in message and len(message) < 200


@pytest.mark.parametrize("name", sorted(LOADS))
def test_loads(name):
    expected_rows, expected_notes = LOADS[name]
    users = read_users([BAD / name])
    assert users.frame.to_dict("records") == expected_rows
    assert [note["code"] for note in users.notes] == expected_notes


@pytest.mark.parametrize("name", sorted(FAILS))
def test_fails_with_one_clear_line(name):
    with pytest.raises(InputError, match=FAILS[name]) as caught:
        read_users([BAD / name])
    message = str(caught.value)
    assert message.startswith(name + ":")
    assert "\n" not in message
    assert "again" in message  # says what to do next


def test_an_empty_pending_export_beside_real_users_is_fine():
    users = read_users([BAD / "bom.csv", BAD / "header_only.csv"])
    assert len(users) == 2


def test_encrypted_corpus_file_is_a_real_encrypted_package():
    head = (BAD / "encrypted.xlsx").read_bytes()
    assert head[:8] == bytes.fromhex("d0cf11e0a1b11ae1")
    assert "EncryptedPackage".encode("utf-16-le") in head
