"""Hostile SCIM servers that lose data: each test asserts what the server holds afterwards.

The fake server (tests/fake_scim.py) misbehaves in one way per mode; mode "" and the real
scim2-server show the same sync converging where nothing misbehaves.
"""

from __future__ import annotations

import pytest

from app.core.users import UserList
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users

MAPPING = make_mapping({"sales": "Sales", "eng": "Eng"}, apply_existing=True)


def export(*rows: tuple[str, str]) -> UserList:
    """Export users (email, source), no current groups written."""
    return UserList.from_records(
        {"email": e, "name": "", "status": "Active", "source": s, "groups": ""} for e, s in rows
    )


def sync(url, users, mapping=MAPPING, **options):
    settings = SyncSettings(url, TOKEN, max_removal_ratio=1.0, **options)
    with fast_client(url) as client:
        state = read_server_state(client, users, mapping, settings)
        plan = plan_sync(users, mapping, state, settings)
        result = execute(client, plan, settings)
    return plan, result


def seeded(fake, names: list[str]) -> dict[str, str]:
    return {name: fake.add_user(name) for name in names}


@pytest.mark.parametrize("mode", ["", "value_remove_empties"])
def test_value_array_removal_never_empties_a_group(fake_scim, mode):
    """A server refusing the RFC removal and reading the value array as "remove all"."""
    fake = fake_scim(mode)
    ids = seeded(fake, ["a@x", "b@x", "c@x", "d@x", "outsider@x"])
    sales = fake.add_group("Sales", [ids[n] for n in ("a@x", "b@x", "c@x", "outsider@x")])
    ops = fake.add_group("Eng", [ids["d@x"], ids["outsider@x"]])
    users = export(("a@x", "sales"), ("b@x", "sales"), ("c@x", "eng"), ("d@x", "sales"))
    _, result = sync(fake.url, users, concurrency=1)
    if mode == "":
        assert not result.failed
        assert fake.members(sales) == {"a@x", "b@x", "d@x", "outsider@x"}
        assert fake.members(ops) == {"c@x", "outsider@x"}
        return
    # Every member not asked to go is still there, outsiders included.
    assert {"a@x", "b@x", "outsider@x"} <= fake.members(sales)
    assert {"c@x", "outsider@x"} <= fake.members(ops)
    value_removals = [
        w
        for w in fake.writes()
        if w[0] == "PATCH"
        and any(op.get("path") == "members" and op["op"] == "remove" for op in w[3]["Operations"])
    ]
    assert len(value_removals) == 1  # the one checked removal; none after it went wrong
    failures = [f for f in result.failed if f.operation == "remove"]
    assert sorted(f.emails[0] for f in failures) == ["c@x", "d@x"]
    assert all("remove every member" in f.reason for f in failures)
    assert any("added back" in f.reason for f in failures)
    assert not [f for f in result.failed if f.operation == "add"]  # the adds still went


def test_value_array_removal_is_learned_where_it_is_safe(scim_server, fault_proxy):
    """Entra-style servers (value array only, read correctly): verified once, then used."""
    users = make_users(12, ["sales", "eng"], groups=lambda i: "Sales")
    server = scim_server(users)
    proxy = fault_proxy(server.url, quirks=frozenset({"reject_filter_remove"}))
    _, result = sync(proxy.url, users, batch_size=2, concurrency=1)
    assert not result.failed
    assert server.dump()["groups"]["Sales"] == {
        e for e, s in zip(users.frame["email"], users.frame["source"], strict=True) if s == "sales"
    }
    group_reads = [r for r in proxy.records if r.method == "GET" and r.path.startswith("/Groups/")]
    assert len(group_reads) <= 3 + 2  # the state read, then one before/after check only


@pytest.mark.parametrize("mode", ["put_only_no_members", "put_only_capped"])
def test_put_only_server_never_replaces_a_group_from_an_incomplete_read(fake_scim, mode):
    fake = fake_scim(mode, cap=2)
    ids = seeded(fake, ["a@x", "b@x", "c@x", "outsider@x"])
    sales = fake.add_group("Sales", [ids[n] for n in ("a@x", "b@x", "outsider@x")])
    users = export(("a@x", "sales"), ("b@x", "eng"), ("c@x", "sales"))
    _, result = sync(fake.url, users)
    assert fake.members(sales) == {"a@x", "b@x", "outsider@x"}  # nothing deleted
    assert not [
        w
        for w in fake.writes()
        if w[0] == "PUT" and w[1].startswith("/Groups/") and w[1].endswith(sales)
    ]
    why = "does not return the group's members" if "no_members" in mode else "capped or incomplete"
    failures = [f for f in result.failed if f.group == "Sales"]
    assert failures and "add" in {f.operation for f in failures}
    assert all(f.reason.startswith("not sent:") and why in f.reason for f in failures)
    assert all("ask the vendor" in f.reason for f in failures)


def test_put_only_server_with_complete_members_is_replaced_correctly(fake_scim):
    fake = fake_scim("put_only_capped", cap=10)
    ids = seeded(fake, ["a@x", "b@x", "c@x", "outsider@x"])
    sales = fake.add_group("Sales", [ids[n] for n in ("a@x", "b@x", "outsider@x")])
    _, result = sync(fake.url, export(("a@x", "sales"), ("b@x", "eng"), ("c@x", "sales")))
    assert not result.failed
    assert fake.members(sales) == {"a@x", "c@x", "outsider@x"}


@pytest.mark.parametrize("odd", ["g#1", "g/1", "g?1", "g 1", "g%2F1"])
def test_ids_are_percent_encoded_in_paths(fake_scim, odd):
    fake = fake_scim()
    ids = {"a@x": fake.add_user("a@x", id=f"u{odd}"), "b@x": fake.add_user("b@x", id="b")}
    decoy = fake.add_group("Decoy", [ids["a@x"], ids["b@x"]], id="g")
    sales = fake.add_group("Sales", [ids["b@x"]], id=odd)
    _, result = sync(fake.url, export(("a@x", "sales"), ("b@x", "eng")))
    assert not result.failed
    assert fake.members(sales) == {"a@x"}
    assert fake.members(decoy) == {"a@x", "b@x"}  # the group an unencoded id would hit


def test_create_of_unknown_outcome_is_looked_up_again_never_duplicated(fake_scim):
    fake = fake_scim("slow_index", lag=0.3)
    ids = seeded(fake, ["a@x", "b@x"])
    users = export(("a@x", "sales"), ("b@x", "sales"))
    settings = SyncSettings(fake.url, TOKEN, max_removal_ratio=1.0)
    with fast_client(fake.url, create_settle=(0.2, 0.4)) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        result = execute(client, plan, settings)
    assert len(fake.groups_named("Sales")) == 1
    posts = [w[3]["displayName"] for w in fake.writes() if w[:2] == ("POST", "/Groups")]
    assert sorted(posts) == ["Eng", "Sales"]  # one POST each, never repeated
    assert not result.failed and sorted(result.created_groups) == ["Eng", "Sales"]
    (sales,) = fake.groups_named("Sales")
    assert fake.members(sales) == {"a@x", "b@x"}
    assert set(ids.values()) == set(fake.groups[sales]["members"])
