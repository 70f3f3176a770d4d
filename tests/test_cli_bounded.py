"""The command line against hostile use: an output naming an input, numbers that are not
numbers, a closed stdout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cli import main

UNREACHABLE = "http://127.0.0.1:9/v2"  # never contacted: these inputs are refused first


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    users = tmp_path / "users.csv"
    users.write_text(
        "Name,Email,Status,Identity Provider Group,Group\nAnn,ann@x.com,active,Sales,\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales\n", encoding="utf-8")
    expect = tmp_path / "expect.csv"
    expect.write_text("Email or value,Expected group\nann@x.com,Sales\n", encoding="utf-8")
    return {"users": users, "mapping": mapping, "expect": expect}


def _args(inputs: dict[str, Path]) -> list[str]:
    return ["--users", str(inputs["users"]), "--mapping", str(inputs["mapping"]),
            "--expect", str(inputs["expect"])]


def test_an_output_that_is_an_input_is_refused_before_anything_runs(inputs, tmp_path, capsys):
    link = tmp_path / "link.csv"
    link.symlink_to(inputs["mapping"])
    hard = tmp_path / "hard.csv"
    os.link(inputs["expect"], hard)
    before = {name: path.read_bytes() for name, path in inputs.items()}
    attempts = [
        ["preview", *_args(inputs), "--out", str(inputs["users"])],
        ["preview", *_args(inputs), "--out", str(link)],
        ["preview", *_args(inputs), "--out", str(hard)],
        ["preview", *_args(inputs), "--out", str(tmp_path / "." / "users.csv")],
        ["sync", *_args(inputs), "--url", UNREACHABLE, "--report", str(inputs["mapping"])],
        ["sync", *_args(inputs), "--url", UNREACHABLE, "--dry-run",
         "--plan-out", str(inputs["expect"])],
    ]
    for argv in attempts:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "is the same file as the input" in err and "Choose another output" in err, argv
        assert len(err.strip().splitlines()) == 1
    assert {name: path.read_bytes() for name, path in inputs.items()} == before
