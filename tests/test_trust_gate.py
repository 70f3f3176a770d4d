"""Issue 22's write gate: at the moment of writing, a plan that no longer fits the server is
refused with what changed, whatever path writes it (apply, a preview left open, retry)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cli import main
from app.io import read_users
from app.scim.http.transport import Transport
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state, retry_failed
from app.scim.sync.gate import PlanNoLongerFits
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"User {i},user{i:03d}@ex.com,active,{['sales', 'eng'][i % 2]}," for i in range(8)]
    (tmp_path / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "Value in Identity Provider,Group\nsales,Sales\neng,Engineering\nlegal,Legal\n",
        encoding="utf-8",
    )
    return tmp_path / "users.csv", tmp_path / "mapping.csv"


def plan_file(inputs, url, tmp_path, capsys) -> Path:
    users, mapping = inputs
    plan = tmp_path / "plan.json"
    argv = ["sync", "--users", str(users), "--mapping", str(mapping), "--url", url,
            "--apply-existing", "--dry-run", "--plan-out", str(plan)]
    assert main(argv) == 0
    assert re.search(r"plan [0-9a-f]{4}-[0-9a-f]{4}", capsys.readouterr().out)
    return plan


def rename(client, name: str, new_name: str) -> None:
    """The admin renames a group on the server."""
    group_id = client.find_group(name)["id"]
    client.request("PATCH", f"/Groups/{group_id}", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": new_name}],
    })


def ids(server) -> dict[str, str]:
    return {name: uid for uid, name in server.dump()["users"].items()}


def refused(plan: Path, server, capsys, before) -> str:
    assert main(["apply", str(plan)]) == 2
    assert server.dump()["groups"] == before  # nothing written
    return capsys.readouterr().err


def test_apply_refuses_a_hand_change_in_a_managed_group_the_plan_does_not_touch(
    scim_server, inputs, tmp_path, capsys
):
    users = read_users([inputs[0]])
    server = scim_server(users, extra_groups={"Sales": [], "Engineering": [], "Legal": []})
    plan = plan_file(inputs, server.url, tmp_path, capsys)
    with fast_client(server.url) as client:  # Legal is managed, untouched by the plan
        client.modify_members(client.find_group("Legal")["id"], [ids(server)["user000@ex.com"]],
                              [])
    err = refused(plan, server, capsys, server.dump()["groups"])
    assert "the group Legal changed since the plan: 1 member differs" in err


def test_apply_refuses_a_group_renamed_and_made_again_under_its_name(
    scim_server, inputs, tmp_path, capsys
):
    users = read_users([inputs[0]])
    server = scim_server(users, extra_groups={"Sales": [], "Engineering": []})
    plan = plan_file(inputs, server.url, tmp_path, capsys)
    with fast_client(server.url) as client:
        rename(client, "Sales", "Sales (old)")
        client.create_group("Sales", [])
    err = refused(plan, server, capsys, server.dump()["groups"])
    assert "the group Sales was deleted and made again" in err


def test_apply_refuses_a_group_renamed_away(scim_server, inputs, tmp_path, capsys):
    users = read_users([inputs[0]])
    server = scim_server(users, extra_groups={"Sales": [], "Engineering": []})
    plan = plan_file(inputs, server.url, tmp_path, capsys)
    with fast_client(server.url) as client:
        rename(client, "Engineering", "R&D")
    err = refused(plan, server, capsys, server.dump()["groups"])
    assert "the group Engineering was renamed to 'R&D'" in err


def test_apply_refuses_a_user_deleted_and_made_again(scim_server, inputs, tmp_path, capsys):
    users = read_users([inputs[0]])
    server = scim_server(users, extra_groups={"Sales": [], "Engineering": []})
    plan = plan_file(inputs, server.url, tmp_path, capsys)
    with fast_client(server.url) as client:
        old = ids(server)["user002@ex.com"]
        client.request("DELETE", f"/Users/{old}")
        client.request("POST", "/Users", json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "user002@ex.com",
            "emails": [{"value": "user002@ex.com", "primary": True}],
        })
    err = refused(plan, server, capsys, server.dump()["groups"])
    assert "the user user002@ex.com was deleted and made again" in err


def test_apply_refuses_a_near_duplicate_group_made_by_hand(scim_server, inputs, tmp_path, capsys):
    users = read_users([inputs[0]])
    server = scim_server(users, extra_groups={"Sales": [], "Engineering": []})
    plan = plan_file(inputs, server.url, tmp_path, capsys)  # it creates "Legal"
    with fast_client(server.url) as client:
        client.create_group("legal", [])
    before = server.dump()["groups"]
    assert main(["apply", str(plan)]) == 2
    assert server.dump()["groups"] == before and "Legal" not in before
    assert "'legal'" in capsys.readouterr().err


def test_a_plan_left_open_is_checked_again_at_the_click(scim_server):
    """The app's Preview changes / Apply plan path: the plan's read is older than the gate's
    witness age, a member was added by hand meanwhile: nothing is written."""
    users = make_users(6, ["sales"])
    mapping = make_mapping({"sales": "Sales"}, apply_existing=True)
    server = scim_server(users, extra_groups={"Sales": []})
    settings_ = SyncSettings(server.url, TOKEN)
    with fast_client(server.url) as client:
        plan = plan_sync(users, mapping, read_server_state(client, users, mapping, settings_),
                         settings_)
        client.modify_members(client.find_group("Sales")["id"],
                              [ids(server)["user00000@ex.com"]], [])
        plan.state.read_at = 1.0  # long ago
        with pytest.raises(PlanNoLongerFits, match="Sales changed since the plan"):
            execute(client, plan, settings_)
    assert server.dump()["groups"]["Sales"] == {"user00000@ex.com"}


def test_a_retry_passes_the_gate_after_its_own_writes(scim_server, monkeypatch):
    """The gate compares a retry with the state the run left, not the state it read."""
    users = make_users(6, ["sales"])
    mapping = make_mapping({"sales": "Sales"}, apply_existing=True)
    server = scim_server(users, extra_groups={"Sales": []})
    settings_ = SyncSettings(server.url, TOKEN, batch_size=2, concurrency=1)
    with fast_client(server.url) as client:
        plan = plan_sync(users, mapping, read_server_state(client, users, mapping, settings_),
                         settings_)
        calls = []
        real = client.modify_members

        def flaky(group_id, add, remove, known=(), **conditions):
            calls.append(1)
            if len(calls) == 2:
                from app.scim.http.errors import ScimError

                raise ScimError(403, None, "refused once")
            return real(group_id, add, remove, known, **conditions)

        monkeypatch.setattr(client, "modify_members", flaky)
        result = execute(client, plan, settings_)
        assert result.failed and result.added == 4
        plan.state.read_at = 1.0  # the retry comes much later
        again = retry_failed(client, result, settings_)
    assert not again.failed and again.added == 6
    assert len(server.dump()["groups"]["Sales"]) == 6
