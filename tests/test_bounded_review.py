"""A last review's attacks on issue 23's promises: a long pattern, an output that is a link or
a pipe, a header repeated exactly, a refused argument in one line."""

from __future__ import annotations

import csv
import os

import pytest

from app.cli import main
from app.core.mapping import MAX_PATTERN_CHARS, PatternError, compile_pattern


def test_a_pattern_longer_than_the_bound_is_refused_with_its_length():
    with pytest.raises(PatternError, match="more than the 1,000 a pattern may have"):
        compile_pattern("a" * (MAX_PATTERN_CHARS + 1), False)
    assert compile_pattern("a" * MAX_PATTERN_CHARS, False) is not None


def test_a_long_pattern_row_is_a_bad_pattern_warning_not_a_hang(tmp_path, capsys):
    users, mapping = tmp_path / "users.csv", tmp_path / "mapping.csv"
    with users.open("w", newline="") as file:
        csv.writer(file).writerows([["Name", "Email", "Identity Provider Group"],
                                    ["n", "u@x.com", "a" * 100_000]])
    with mapping.open("w", newline="") as file:
        csv.writer(file).writerows([["Value in Identity Provider", "Group", "Match"],
                                    ["a" * 70_000, "H", "pattern"]])
    assert main(["preview", "--users", str(users), "--mapping", str(mapping), "--json"]) == 0
    assert '"bad_pattern"' in capsys.readouterr().out


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "users.csv").write_text(
        "Name,Email,Identity Provider Group,Email\na,a@x.com,Sales,b@x.com\n", "utf-8")
    (tmp_path / "mapping.csv").write_text("Value in Identity Provider,Group\nSales,S\n", "utf-8")
    return ["--users", str(tmp_path / "users.csv"), "--mapping", str(tmp_path / "mapping.csv")]


def test_an_output_that_is_a_link_is_refused_and_the_link_kept(tmp_path, inputs, capsys):
    link = tmp_path / "out.csv"
    os.symlink("/dev/null", link)
    assert main(["preview", *inputs, "--out", str(link)]) == 2
    assert link.is_symlink() and "is a link" in capsys.readouterr().err


def test_an_output_that_is_a_pipe_is_refused(tmp_path, inputs, capsys):
    pipe = tmp_path / "out.csv"
    os.mkfifo(pipe)
    assert main(["preview", *inputs, "--out", str(pipe)]) == 2
    assert "pipe or device" in capsys.readouterr().err


def test_a_header_repeated_exactly_is_noted(inputs, capsys):
    assert main(["preview", *inputs, "--json"]) == 0
    assert '"duplicate_column"' in capsys.readouterr().out


def test_a_refused_argument_is_one_line(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["undo", "inf"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'inf' is not a run number" in err
