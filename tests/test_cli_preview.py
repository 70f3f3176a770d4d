"""`groupmap preview` end to end: files in, summary or JSON out, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_USERS = ROOT / "resources" / "sample" / "users.csv"
SAMPLE_MAPPING = ROOT / "resources" / "sample" / "mapping.csv"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write(
        tmp_path / "users.csv",
        "Name,Email,Status,Identity Provider Group,Group\n"
        "Ann,ann@x.com,active,Sales-EMEA,\n"
        "Bob,bob@x.com,active,sales-emea,Sales\n"
        "Cy,cy@x.com,pending,Eng,Old\n"
        "Di,di@x.com,active,,\n",
    )


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    return write(
        tmp_path / "mapping.csv",
        "Value in Identity Provider,Group\nSales-EMEA,Sales\nEng,Engineering\n",
    )


def preview_json(capsys, *args: str) -> dict:
    assert main(["preview", *args, "--json"]) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def test_json_report_has_the_documented_shape(capsys, export, mapping):
    report = preview_json(capsys, "--users", str(export), "--mapping", str(mapping))
    assert (report["users"], report["unmatched"], report["changes"]) == (4, 2, 1)
    groups = {g["name"]: g for g in report["groups"]}
    assert list(groups) == ["Old", "Sales"]
    assert groups["Sales"] == {
        "name": "Sales",
        "before": 1,
        "after": 2,
        "added": 1,
        "removed": 0,
        "new": False,
    }
    codes = {w["code"] for w in report["warnings"]}
    assert {"near_miss", "blank_value"} <= codes
    assert "unmatched_value" not in codes  # a near-miss is reported once, as a near-miss


def test_command_line_options_change_the_result(capsys, export, mapping):
    report = preview_json(
        capsys,
        "--users",
        str(export),
        "--mapping",
        str(mapping),
        "--ignore-case",
        "--apply-existing",
        "--default-group",
        "Everyone",
    )
    groups = {g["name"]: g for g in report["groups"]}
    assert groups["Sales"]["after"] == 2
    assert groups["Engineering"] == {
        "name": "Engineering",
        "before": 0,
        "after": 1,
        "added": 1,
        "removed": 0,
        "new": True,
    }
    assert groups["Old"]["after"] == 1  # unmanaged: kept
    assert groups["Everyone"]["after"] == 1
    assert report["unmatched"] == 1


def test_draft_options_apply_and_the_command_line_overrides_them(capsys, tmp_path, export):
    draft = tmp_path / "draft.json"
    draft.write_text(
        json.dumps(
            {
                "format": "groupmap-draft",
                "version": 1,
                "rows": [{"value": "Sales-EMEA", "group": "Sales"}],
                "options": {"ignore_case": True, "default_group": "Everyone"},
            }
        ),
        encoding="utf-8",
    )
    from_draft = preview_json(capsys, "--users", str(export), "--mapping", str(draft))
    assert from_draft["unmatched"] == 2
    assert {g["name"] for g in from_draft["groups"]} >= {"Everyone"}
    overridden = preview_json(
        capsys,
        "--users",
        str(export),
        "--mapping",
        str(draft),
        "--no-ignore-case",
        "--default-group",
        "",
    )
    assert overridden["unmatched"] == 3
    assert "Everyone" not in {g["name"] for g in overridden["groups"]}


def test_readable_summary_lists_groups_and_warnings(capsys, export, mapping):
    assert main(["preview", "--users", str(export), "--mapping", str(mapping)]) == 0
    out = capsys.readouterr().out
    assert "4 users, 2 unmatched, 1 would change." in out
    assert "Sales" in out and "before" in out
    assert "sales-emea" in out


def test_out_writes_one_row_per_user_with_reason(tmp_path, capsys, export, mapping):
    out = tmp_path / "preview.csv"
    assert (
        main(["preview", "--users", str(export), "--mapping", str(mapping), "--out", str(out)]) == 0
    )
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table.columns) == [
        "name",
        "email",
        "status",
        "source value",
        "current groups",
        "new groups",
        "change",
        "reason",
    ]
    ann = table.set_index("email").loc["ann@x.com"]
    assert (ann["new groups"], ann["change"]) == ("Sales", "assigned")
    assert ann["reason"] == "row 1: Sales-EMEA -> Sales"


def test_several_exports_are_combined(capsys, tmp_path, export, mapping):
    pending = write(
        tmp_path / "pending.csv",
        "Name,Email,Status,Identity Provider Group\nEve,eve@x.com,pending,Eng\n",
    )
    report = preview_json(
        capsys, "--users", str(export), "--users", str(pending), "--mapping", str(mapping)
    )
    assert report["users"] == 5


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("Name,Status\nAnn,active\n", "email"),
    ],
)
def test_bad_exports_exit_2_with_one_line(capsys, tmp_path, mapping, content, expected):
    bad = write(tmp_path / "bad.csv", content)
    assert main(["preview", "--users", str(bad), "--mapping", str(mapping)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "bad.csv" in err and expected in err.lower()
    assert "Traceback" not in err


def test_missing_file_exits_2(capsys, tmp_path, mapping):
    assert main(["preview", "--users", str(tmp_path / "nope.csv"), "--mapping", str(mapping)]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_sample_runs_clean_as_a_real_process():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "preview",
            "--users",
            str(SAMPLE_USERS),
            "--mapping",
            str(SAMPLE_MAPPING),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["users"] == 298
    assert report["changes"] > 0
    assert result.stderr == ""


def test_a_mistyped_command_is_not_opened_as_a_file(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["previw", "--users", "x.csv"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "'previw' is neither a command" in err and "preview" in err


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_load_neither_pandas_nor_qt(flag):
    # They answer at once: the engine, pandas and Qt load only for a command that needs them.
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        f"try:\n    main([{flag!r}])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'numpy', 'PySide6', 'httpx') if m in sys.modules]\n"
        "print('heavy=' + ','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "heavy="
