"""The command line against hostile use: an output naming an input, numbers that are not
numbers, a closed stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[1]
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
        ["rules", "--format", "okta-expression", "--mapping", str(inputs["mapping"]),
         "--out", str(inputs["mapping"])],
    ]
    for argv in attempts:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "is the same file as the input" in err and "Choose another output" in err, argv
        assert len(err.strip().splitlines()) == 1
    assert {name: path.read_bytes() for name, path in inputs.items()} == before


def test_a_closed_stdout_ends_quietly_with_sigpipes_status(inputs):
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "preview", *_args(inputs), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )
    process.stdout.close()  # the reader is gone before the first line (`| head -0`)
    err = process.stderr.read().decode()
    assert process.wait() == 141
    assert err == ""


@pytest.mark.parametrize(
    ("option", "value"),
    [("--request-deadline", "inf"), ("--request-deadline", "nan"), ("--max-response-mb", "nan"),
     ("--max-response-mb", "-1"), ("--max-rate", "inf"), ("--max-changes-per-hour", "Infinity"),
     ("--batch-size", "0"), ("--batch-size", "1e400"), ("--concurrency", "-2"),
     ("--page-size", "2.5"), ("--max-removal-ratio", "nan"), ("--max-removal-ratio", "-0.1"),
     ("--deadline", "9" * 400)],
)
def test_numeric_options_refuse_inf_nan_and_meaningless_values(inputs, capsys, option, value):
    with pytest.raises(SystemExit) as stopped:
        main(["sync", *_args(inputs), "--url", UNREACHABLE, option, value])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("groupmap sync: error: argument") and repr(value) in err[-1]


def test_other_commands_numbers_are_parsed_alike(capsys):
    for argv in (["serve", "--port", "nan"], ["serve", "--port", "70000"],
                 ["history", "-1"], ["undo", "inf", "--url", UNREACHABLE]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "error: argument" in capsys.readouterr().err, argv


def test_a_fifo_in_place_of_the_connections_file_or_a_run_is_refused(tmp_path, capsys):
    from app.scim.config.connections import connections_path

    config = connections_path()
    config.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(config)  # a reader opening it would wait forever for a writer
    assert main(["connections"]) == 2
    err = capsys.readouterr().err.strip()
    assert "is a named pipe (FIFO), not a regular file" in err and "\n" not in err
    assert main(["sync", "--users", "u.csv", "--mapping", "m.csv", "--connection", "x"]) == 2
    assert "named pipe" in capsys.readouterr().err
    config.unlink()
    folder = Path(os.environ["GROUPMAP_JOURNAL_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "run-0001.jsonl")
    assert main(["history"]) == 0  # the run is skipped with a warning, never read
    err = capsys.readouterr().err.strip()
    assert "sync journal" in err and "named pipe (FIFO)" in err and "\n" not in err


def test_a_draft_holding_a_lone_surrogate_is_refused_at_load_with_line_and_column(
    inputs, tmp_path, capsys
):
    draft = tmp_path / "draft.json"
    draft.write_text(
        '{"format": "groupmap-draft", "version": 2,\n'
        ' "rows": [{"value": "Sales", "group": "S\\ud800", "match": "equals"}]}\n',
        encoding="utf-8",
    )
    out = tmp_path / "preview.csv"
    argv = ["preview", "--users", str(inputs["users"]), "--mapping", str(draft), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "lone surrogate \\ud800" in err and "line 2, column 41" in err
    assert not out.exists()
