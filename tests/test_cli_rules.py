"""The command line with match kinds and expectations: preview --check/--expect/--out, sync."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from app.cli import main
from app.core.errors import InputError
from app.core.mapping import Expectation, Mapping, MappingRow, MatchKind
from app.io import read_users, save_draft
from app.io.expectfile import read_expectations, write_expectations
from app.scim.http.transport import Transport
from tests.scim_fixtures import TOKEN


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "users.csv").write_text(
        "Name,Email,Status,Identity Provider Group,Group\n"
        "Ann,ann@x.com,active,Sales - EMEA - Field,\n"
        "Bob,bob@x.com,active,Sales EMEA (contractor),\n"
        "Cy,cy@x.com,active,Marketing EMEA,\n"
        "Di,di@x.com,active,Eng-42,\n",
        encoding="utf-8",
    )
    (tmp_path / "mapping.csv").write_text(
        "Value in Identity Provider,Group,Match\n"
        "(contractor),Contractors,ends with\n"
        "Sales,Sales,starts with\n"
        "EMEA,Marketing,contains\n"
        "Eng-\\d+,Engineering,pattern\n",
        encoding="utf-8",
    )
    (tmp_path / "expect.csv").write_text(
        "Email or value,Expected group\n"
        "ann@x.com,Sales\n"
        "cy@x.com,Sales\n"
        "Eng-7,Engineering\n"
        "Legal,no group\n",
        encoding="utf-8",
    )
    return {name: tmp_path / f"{name}.csv" for name in ("users", "mapping", "expect")}


def preview(files, *extra: str) -> int:
    return main(["preview", "--users", str(files["users"]), "--mapping", str(files["mapping"]),
                 *extra])


def test_preview_out_shows_the_reason_with_the_kind(files, tmp_path, capsys):
    out = tmp_path / "preview.csv"
    assert preview(files, "--out", str(out)) == 0
    reasons = pd.read_csv(out, dtype=str)["reason"].tolist()
    assert reasons == [
        "row 2: starts with 'Sales' -> Sales",
        "row 1: ends with '(contractor)' -> Contractors",
        "row 3: contains 'EMEA' -> Marketing",
        "row 4: pattern 'Eng-\\d+' -> Engineering",
    ]


def test_check_exits_1_and_lists_the_failures(files, capsys):
    assert preview(files, "--expect", str(files["expect"]), "--check") == 1
    captured = capsys.readouterr()
    assert "1 of 4 expectation(s) fail:" in captured.err
    assert "FAIL cy@x.com is expected in Sales but lands in Marketing (row 3)." in captured.err
    assert preview(files, "--expect", str(files["expect"])) == 0  # without --check: a warning
    assert "cy@x.com is expected in Sales" in capsys.readouterr().out


def test_check_passes_with_expectations_from_a_draft_and_json(files, tmp_path, capsys):
    draft = tmp_path / "draft.json"
    rows = (MappingRow("Sales", "Sales", MatchKind.STARTS_WITH),)
    save_draft(draft, Mapping(rows, expectations=(Expectation("ann@x.com", ("Sales",)),)))
    args = ["preview", "--users", str(files["users"]), "--mapping", str(draft), "--check"]
    assert main(args) == 0
    assert "All 1 expectation(s) pass." in capsys.readouterr().out
    save_draft(draft, Mapping(rows, expectations=(Expectation("bob@x.com", ()),)))
    assert main([*args, "--json"]) == 1
    assert '"code": "expectation_failed"' in capsys.readouterr().out


def test_expectations_file_reading_and_errors(files, tmp_path):
    assert read_expectations(files["expect"])[2:] == (
        Expectation("Eng-7", ("Engineering",)), Expectation("Legal", ()))
    several = tmp_path / "several.xlsx"
    write_expectations(several, (Expectation("a@x.com", ("A", "B")), Expectation("v", ())))
    assert read_expectations(several) == (Expectation("a@x.com", ("A", "B")), Expectation("v", ()))
    bad = tmp_path / "bad.csv"
    bad.write_text("Email,Team\na@x.com,A\n")
    with pytest.raises(InputError, match="bad.csv: an expectations file needs the columns"):
        read_expectations(bad)
    bad.write_text("Email or value,Expected group\n,Sales\n")
    with pytest.raises(InputError, match="line 1 names the group 'Sales' but no email"):
        read_expectations(bad)


def test_a_bad_expectations_file_is_one_line_and_exit_2(files, tmp_path, capsys):
    assert preview(files, "--expect", str(tmp_path / "missing.csv")) == 2
    err = capsys.readouterr().err
    assert err.startswith("groupmap: error: ") and "missing.csv" in err
    assert len(err.strip().splitlines()) == 1


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)


def test_sync_refuses_while_an_expectation_fails(files, scim_server, monkeypatch, capsys):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    server = scim_server(read_users([files["users"]]))
    args = ["sync", "--users", str(files["users"]), "--mapping", str(files["mapping"]),
            "--url", server.url, "--expect", str(files["expect"])]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "1 expectation(s) of the mapping fail, so nothing was written" in err
    assert "--ignore-expectations" in err
    assert server.dump()["groups"] == {}
    assert main([*args, "--dry-run"]) == 0
    assert server.dump()["groups"] == {}
    plan = files["users"].parent / "plan.json"
    assert main([*args, "--dry-run", "--plan-out", str(plan)]) == 2  # a plan is to be applied
    assert not plan.exists()
    assert main([*args, "--ignore-expectations"]) == 0
    groups = server.dump()["groups"]
    assert set(groups) == {"Sales", "Contractors", "Marketing", "Engineering"}
    assert sum(len(members) for members in groups.values()) == 4
