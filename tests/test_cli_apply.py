"""Plans that can be approved: sync --dry-run --plan-out, then groupmap apply, against the
real scim2-server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.cli import main
from app.io import read_mapping, read_users
from app.scim.http.transport import Transport
from app.scim.sync.planfile import read_plan
from tests.scim_fixtures import TOKEN, expected_groups, fast_client


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"User {i},user{i:03d}@ex.com,active,{['sales', 'eng'][i % 2]}," for i in range(8)]
    lines.append("Kept,kept@ex.com,active,sales,Sales")
    (tmp_path / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "Value in Identity Provider,Group\nsales,Sales\neng,Engineering\n", encoding="utf-8"
    )
    return tmp_path / "users.csv", tmp_path / "mapping.csv"


def make_plan(inputs, url: str, plan: Path, capsys) -> str:
    users, mapping = inputs
    argv = ["sync", "--users", str(users), "--mapping", str(mapping), "--url", url]
    assert main([*argv, "--dry-run", "--plan-out", str(plan)]) == 0
    out = capsys.readouterr().out
    return re.search(r"plan ([0-9a-f]{4}-[0-9a-f]{4})", out).group(1)


def test_a_saved_plan_is_applied_exactly_once(scim_server, inputs, tmp_path, capsys):
    users = read_users([inputs[0]])
    server = scim_server(users)
    plan = tmp_path / "plan.json"
    code = make_plan(inputs, server.url, plan, capsys)
    assert server.dump()["groups"] == {"Sales": {"kept@ex.com"}}  # the dry run wrote nothing
    text = plan.read_text("utf-8")
    assert TOKEN not in text
    saved = json.loads(text)
    assert saved["server"]["url"] == server.url and saved["export"]["files"] == [str(inputs[0])]
    assert {op["op"] for op in saved["operations"]} == {"create", "add"}
    assert all(op["id"] for op in saved["operations"] if op["op"] == "add")

    assert main(["apply", str(plan), "--json"]) == 0
    captured = capsys.readouterr()
    assert f"plan {code}" in captured.err
    assert json.loads(captured.out)["added"] == 8
    assert server.dump()["groups"] == expected_groups(users, read_mapping(inputs[1]))

    # Applied once, the plan no longer fits: Sales has the members it added.
    assert main(["apply", str(plan)]) == 2
    err = capsys.readouterr().err
    assert "Sales changed since the plan: 4 members differ" in err
    assert "Engineering was created on the server since the plan" in err


def test_a_plan_edited_by_hand_is_refused(scim_server, inputs, tmp_path, capsys):
    server = scim_server(read_users([inputs[0]]))
    plan = tmp_path / "plan.json"
    make_plan(inputs, server.url, plan, capsys)
    data = json.loads(plan.read_text("utf-8"))
    data["operations"] = [op for op in data["operations"] if op.get("email") != "user000@ex.com"]
    plan.write_text(json.dumps(data), encoding="utf-8")

    assert main(["apply", str(plan)]) == 2
    assert "does not match its digest" in capsys.readouterr().err
    assert server.dump()["groups"] == {"Sales": {"kept@ex.com"}}


def test_a_stale_plan_is_refused_and_replan_applies_from_the_current_state(
    scim_server, inputs, tmp_path, capsys
):
    users = read_users([inputs[0]])
    server = scim_server(users)
    plan = tmp_path / "plan.json"
    make_plan(inputs, server.url, plan, capsys)
    with fast_client(server.url) as client:  # by hand, after the plan: a user outside the export
        outsider = client.request(
            "POST",
            "/Users",
            json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "o@x"},
        )
        sales = client.find_group("Sales")
        client.modify_members(str(sales["id"]), [str(outsider["id"])], [])

    assert main(["apply", str(plan)]) == 2
    err = capsys.readouterr().err
    assert "Sales changed since the plan: 1 member differs" in err and "--replan" in err
    assert server.dump()["groups"]["Sales"] == {"kept@ex.com", "o@x"}

    assert main(["apply", str(plan), "--replan"]) == 0
    assert "Replanned: 0 operation(s) new, 0 dropped" in capsys.readouterr().out
    expected = expected_groups(users, read_mapping(inputs[1]))
    assert server.dump()["groups"] == {**expected, "Sales": expected["Sales"] | {"o@x"}}


def test_a_plan_is_applied_only_to_the_server_it_was_made_for(
    scim_server, inputs, tmp_path, capsys
):
    server, other = scim_server(read_users([inputs[0]])), scim_server(read_users([inputs[0]]))
    plan = tmp_path / "plan.json"
    make_plan(inputs, server.url, plan, capsys)
    assert main(["apply", str(plan), "--url", other.url]) == 2
    assert f"the plan was made for {server.url}" in capsys.readouterr().err
    assert other.dump()["groups"] == {"Sales": {"kept@ex.com"}}


def test_plan_out_needs_a_dry_run_and_a_plan_file_needs_to_be_one(inputs, tmp_path, capsys):
    users, mapping = inputs
    argv = ["sync", "--users", str(users), "--mapping", str(mapping), "--url", "http://127.0.0.1:9"]
    assert main([*argv, "--plan-out", str(tmp_path / "p.json")]) == 2
    assert "use it with --dry-run" in capsys.readouterr().err
    for content in ("{}", "[1, 2]", "not json"):
        (tmp_path / "p.json").write_text(content, encoding="utf-8")
        assert main(["apply", str(tmp_path / "p.json")]) == 2
        err = capsys.readouterr().err
        assert "p.json" in err and "Traceback" not in err
    assert main(["apply", str(tmp_path / "missing.json")]) == 2
    assert "no such plan file" in capsys.readouterr().err


def test_the_plan_code_is_the_digest_people_compare(scim_server, inputs, tmp_path, capsys):
    server = scim_server(read_users([inputs[0]]))
    plan = tmp_path / "plan.json"
    code = make_plan(inputs, server.url, plan, capsys)
    saved = read_plan(plan)
    assert saved.code == code and saved.digest.startswith(code.replace("-", ""))
    assert saved.counts() == (1, 8, 0)
