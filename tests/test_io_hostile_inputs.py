"""Inputs that are not what they claim (issue 11): pipes, devices, folders, oversized drafts.

Every read of an export, a mapping or a draft checks that it is a regular file (under a size
limit where it is read whole); the CLI then says so in one line and exits 2.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cli import main
from app.core.errors import InputError
from app.io import load_draft, read_mapping, read_users
from app.io.expectfile import read_expectations
from app.io.limits import MAX_DRAFT_BYTES, MAX_MAPPING_BYTES

USERS = "Email,Identity Provider Group\nann@x.com,Sales\n"
MAPPING = "Value in Identity Provider,Group\nSales,Team\n"


@pytest.fixture
def fifo(tmp_path: Path):
    def make(name: str) -> Path:
        path = tmp_path / name
        os.mkfifo(path)
        return path

    return make


def device_named(tmp_path: Path, name: str) -> Path:
    """A link to /dev/zero under a name that looks like a mapping or a draft."""
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    return link


def assert_one_line(caught: pytest.ExceptionInfo, *parts: str) -> None:
    message = str(caught.value)
    assert "\n" not in message
    for part in parts:
        assert part in message


@pytest.mark.parametrize("name", ["mapping.csv", "mapping.xlsx", "draft.json"])
def test_a_fifo_mapping_or_draft_says_so_and_never_blocks(fifo, name):
    with pytest.raises(InputError) as caught:
        read_mapping(fifo(name))
    assert_one_line(caught, name, "is a named pipe (FIFO), not a regular file")


@pytest.mark.parametrize("name", ["zero.json", "zero.csv", "zero.xlsx"])
def test_dev_zero_as_a_mapping_or_draft_is_a_device(tmp_path, name):
    with pytest.raises(InputError) as caught:
        read_mapping(device_named(tmp_path, name))
    assert_one_line(caught, name, "is a device, not a regular file")
    with pytest.raises(InputError, match="is a device"):
        read_mapping(Path("/dev/zero"))


def test_users_that_are_a_directory_or_a_device_say_what_they_are(tmp_path, fifo):
    with pytest.raises(InputError) as caught:
        read_users([tmp_path])
    assert_one_line(caught, str(tmp_path), "is a directory, not a file")
    with pytest.raises(InputError, match="/dev/null: is a device, not a regular file"):
        read_users([Path("/dev/null")])
    with pytest.raises(InputError, match="is a named pipe"):
        read_users([fifo("users.csv")])
    with pytest.raises(InputError, match="no such file"):
        read_users([tmp_path / "missing.csv"])


def test_oversized_draft_and_mapping_are_refused_unread(tmp_path):
    draft = tmp_path / "big.json"
    with open(draft, "wb") as handle:
        handle.truncate(MAX_DRAFT_BYTES + 1)  # sparse: nothing is really written
    with pytest.raises(InputError) as caught:
        load_draft(draft)
    assert_one_line(caught, "big.json: the file is too large (64.0 MB, GroupMap reads up to 64.0")
    table = tmp_path / "big.csv"
    table.write_text(MAPPING)
    with open(table, "r+b") as handle:
        handle.truncate(MAX_MAPPING_BYTES + 1)
    with pytest.raises(InputError, match="big.csv: the file is too large"):
        read_mapping(table)


def test_a_draft_of_deep_nesting_is_one_line_not_a_recursion_error(tmp_path):
    draft = tmp_path / "deep.json"
    draft.write_text('{"format": "groupmap-draft", "version": 1, "rows": '
                     + "[" * 3_000_000 + "]" * 3_000_000 + "}")
    with pytest.raises(InputError, match=r"deep\.json: the draft is damaged \(nested too deeply"):
        load_draft(draft)


@pytest.mark.parametrize("role", ["--users", "--mapping"])
def test_cli_names_what_the_input_is_and_exits_2(capsys, tmp_path, fifo, role):
    users = tmp_path / "users.csv"
    users.write_text(USERS)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text(MAPPING)
    inputs = {"--users": str(users), "--mapping": str(mapping)}
    for hostile, expected in ((str(tmp_path), "is a directory"), ("/dev/zero", "is a device"),
                              (str(fifo(f"pipe{role}.csv")), "is a named pipe")):
        args = {**inputs, role: hostile}
        assert main(["preview", "--users", args["--users"], "--mapping", args["--mapping"]]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expected in err and "Traceback" not in err


BAD = Path(__file__).parent / "data" / "bad"


@pytest.mark.parametrize("name", ["far_cell_single_quotes.xlsx", "far_cell_newline.xlsx",
                                  "huge_unique_count.xlsx", "lying_size.xlsx", "wide_header.csv"])
def test_cli_hostile_exports_exit_2_with_one_line(capsys, tmp_path, name):
    mapping = tmp_path / "mapping.csv"
    mapping.write_text(MAPPING)
    assert main(["preview", "--users", str(BAD / name), "--mapping", str(mapping)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"groupmap: error: {name}: ")
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["draft_deep_nesting.json", "draft_huge_version.json"])
def test_cli_hostile_drafts_exit_2_with_one_line(capsys, tmp_path, name):
    users = tmp_path / "users.csv"
    users.write_text(USERS)
    assert main(["preview", "--users", str(users), "--mapping", str(BAD / name)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the draft is damaged" in err and len(err) < 250


@pytest.mark.parametrize(
    ("name", "head", "read", "what", "again"),
    [
        ("mapping.csv", "Value in Identity Provider,Group\n", read_mapping,
         "a mapping table", "Save the mapping again from your spreadsheet app"),
        ("expect.csv", "Email or value,Expected group\n", read_expectations,
         "an expectations table", "Save the expectations again"),
        ("users.csv", "Email,Identity Provider Group\n", lambda path: read_users([path]),
         "a user export", "Export the user list again"),
    ],
)
def test_a_nul_byte_deep_in_a_csv_is_refused_with_advice_for_the_files_role(
    tmp_path, name, head, read, what, again
):
    path = tmp_path / name
    lines = "".join(f"ann{i}@x.com,Sales\n" for i in range(3000))  # past the sniffed sample
    path.write_bytes(f"{head}{lines}".encode() + b"Sal\x00es@x.com,Sales\n")
    with pytest.raises(InputError) as caught:
        read(path)
    assert_one_line(caught, f"{name}: not a CSV text file", "a NUL byte on line 3002",
                    f"not {what} GroupMap can read", again)
    if name != "users.csv":
        assert "user" not in str(caught.value)


def test_an_empty_mapping_is_told_to_save_the_mapping_again(tmp_path):
    path = tmp_path / "mapping.csv"
    path.write_bytes(b"\n\n")
    with pytest.raises(InputError) as caught:
        read_mapping(path)
    assert_one_line(caught, "mapping.csv: the file is empty. Save the mapping again")
