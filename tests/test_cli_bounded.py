"""The command line against hostile use: an output naming an input, numbers that are not
numbers, a closed stdout."""

from __future__ import annotations

import argparse
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


@pytest.mark.parametrize(
    ("option", "value"),
    [("--max-rate", "\uff11\uff10"), ("--batch-size", "1_0"), ("--page-size", "\u0661\u0660"),
     ("--concurrency", "1e1"), ("--max-changes-per-hour", "1_000"), ("--deadline", "\uff12h"),
     ("--deadline", "1e20"), ("--deadline", "25h"), ("--deadline", "86401"),
     ("--request-deadline", "1e20"), ("--max-response-mb", "1e6"), ("--max-rate", "1e9"),
     ("--max-changes-per-hour", "1e9"), ("--batch-size", "1000000"), ("--concurrency", "65"),
     ("--page-size", "10001"), ("--max-removal-ratio", "\uff10.5"), ("--max-removal-ratio", "0_1")],
)
def test_numbers_are_ascii_digits_within_a_documented_range(inputs, capsys, option, value):
    with pytest.raises(SystemExit) as stopped:
        main(["sync", *_args(inputs), "--url", UNREACHABLE, option, value])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"groupmap sync: error: argument {option}: {value!r}")
    assert " give " in err[-1]


def test_deadline_beyond_a_day_says_so():
    from app.cli.pacing import duration

    with pytest.raises(argparse.ArgumentTypeError, match="longer than a day: give at most 24h"):
        duration("1441m")
    assert duration("24h") == 86400 and duration(" 90s ") == 90 and duration("0.5h") == 1800


def test_numbers_in_range_and_in_ascii_still_parse():
    from app.cli.common import removal_ratio
    from app.cli.pacing import changes_per_hour, count, rate

    assert rate("0.5") == 0.5 and rate("1e3") == 1000 and rate(".25") == 0.25
    assert changes_per_hour("100000000") == 1e8 and removal_ratio("0") == 0
    assert count("is not a port", least=0, most=65535)("65535") == 65535


def test_other_commands_refuse_other_digits_and_underscores(capsys):
    from app.cli import build_parser

    parser, _ = build_parser()  # parsed only: a port read as 80 would start a server
    for argv in (["serve", "--port", "\uff18\uff10"], ["history", "1_0"],
                 ["undo", "\uff13", "--url", UNREACHABLE]):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        assert "error: argument" in capsys.readouterr().err, argv


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


@pytest.mark.parametrize("ending", ["/", "//", "/."])
def test_an_output_ending_like_a_folder_is_refused_for_every_output_option(
    inputs, tmp_path, capsys, ending
):
    out = tmp_path / "out"
    out.mkdir()
    attempts = {
        "preview --out": ["preview", *_args(inputs), "--out", f"{out}/x.csv{ending}"],
        "sync --report": ["sync", *_args(inputs), "--url", UNREACHABLE, "--report",
                          f"{out}/x.csv{ending}"],
        "sync --plan-out": ["sync", *_args(inputs), "--url", UNREACHABLE, "--dry-run",
                            "--plan-out", f"{out}/x.json{ending}"],
        "rules --out": ["rules", "--format", "okta-expression", "--mapping",
                        str(inputs["mapping"]), "--out", f"{out}/x.txt{ending}"],
        "apply --report": ["apply", str(tmp_path / "plan.json"), "--report",
                           f"{out}/x.csv{ending}"],
        "undo --report": ["undo", "1", "--url", UNREACHABLE, "--report", f"{out}/x.csv{ending}"],
    }
    for name, argv in attempts.items():
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2, name
        err = capsys.readouterr().err.strip()
        command, option = name.split()
        assert err.startswith(f"groupmap {command}: error: argument {option}: '{out}/x."), err
        assert f"ends with {ending!r}, so it names a folder, not a file" in err, (name, err)
        assert "\n" not in err
    assert list(out.iterdir()) == []


def test_rules_out_is_checked_as_every_output_a_link_is_refused(inputs, tmp_path, capsys):
    target = tmp_path / "kept.txt"
    target.write_text("the admin's notes\n", encoding="utf-8")
    link = tmp_path / "rules.txt"
    link.symlink_to(target)
    argv = ["rules", "--format", "okta-expression", "--mapping", str(inputs["mapping"]),
            "--out", str(link)]
    assert main(argv) == 2
    assert "is a link (to" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "the admin's notes\n" and link.is_symlink()


def test_a_folder_name_is_answered_with_a_file_name_to_give():
    from app.core.errors import InputError
    from app.io.writers import refuse_folder_name

    for typed, example in [("out/x.csv/./", "e.g. out/x.csv"), ("out/", "e.g. out/report.csv"),
                           (".", "e.g. report.csv")]:
        with pytest.raises(InputError, match="so it names a folder, not a file") as caught:
            refuse_folder_name(typed)
        assert str(caught.value).endswith(example), typed
    refuse_folder_name("out/x.csv")
