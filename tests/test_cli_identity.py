"""`groupmap preview` on the identity rule and the quieter warnings: near-duplicate group
names, a severity on every warning, notes after warnings, a duplicate email reported once."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from app.cli import main

CAFE_NFD = unicodedata.normalize("NFD", "Café")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def files(tmp_path: Path, default_group: str = "") -> list[str]:
    export = write(
        tmp_path / "users.csv",
        "Name,Email,Identity Provider Group,Group\n"
        "Ann,ann@x.com,A,Old\n"
        "Bob,bob@x.com,B,\n"
        "Cy,cy@x.com,,\n"
        f"Di,{unicodedata.normalize('NFD', 'josé@x.com')},C,\n"
        "Di again,JOSÉ@x.com,D,\n",
    )
    mapping = write(
        tmp_path / "mapping.csv",
        "Value in Identity Provider,Group\n"
        "A,Legal\nB,legal\nC,Sales\nD,Sales\u200b\nE,Café\n"
        f"F,{CAFE_NFD}\n",
    )
    args = ["preview", "--users", str(export), "--mapping", str(mapping)]
    return args + (["--default-group", default_group] if default_group else [])


def test_json_flags_near_duplicate_group_names_with_a_severity(tmp_path, capsys):
    assert main([*files(tmp_path), "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert all(w["severity"] in ("error", "warning", "info") for w in warnings)
    near = [w for w in warnings if w["code"] == "near_duplicate_group"]
    assert [(w["row"], w["value"], w["suggestion"], w["severity"]) for w in near] == [
        (2, "legal", "Legal", "warning"),
        (4, "Sales\u200b", "Sales", "warning"),
        (6, CAFE_NFD, "Café", "warning"),
    ]
    duplicates = [w for w in warnings if w["code"].startswith("duplicate_email")]
    assert [w["code"] for w in duplicates] == ["duplicate_email"]  # NFD and NFC: one user


def test_text_lists_notes_after_warnings(tmp_path, capsys):
    assert main(files(tmp_path, default_group="Everyone")) == 0
    out = capsys.readouterr().out
    warnings_part, notes_part = out.split("note(s):")
    assert "'legal' (row 2) and 'Legal' (row 1) differ only by case" in warnings_part
    assert "no value in 'Identity Provider Group'; they get the default group" in notes_part
    assert "keep" in notes_part or "keeps" in notes_part
    assert "default group" not in warnings_part
