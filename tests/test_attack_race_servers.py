"""Attacks on If-Match from servers that answer versions and writes their own way: a 412
for another reason, versions spelled differently, If-Match ignored, ETags in headers only,
`members` on request, no PATCH, the RFC removal path refused; each with a hand edit racing
the run, then undo (helpers: tests/attack_race.py)."""

from __future__ import annotations

import pytest

from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.record import RunJournal
from tests.attack_race import (
    MAPPING,
    Admin,
    HeaderETagProxy,
    IgnoringProxy,
    StrongETagProxy,
    email,
    on_patch,
    on_put,
    outcomes,
    per_group,
    sales_users,
    sync,
    undo,
)
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)


def test_put_only_server_keeps_a_hand_add_made_between_its_read_and_its_put(
    scim_server, fault_proxy, capsys
):
    """No PATCH: the group is replaced (PUT with If-Match). Between the GET that builds the
    PUT and the PUT, the admin adds a user outside the export: the PUT is refused, the group
    read again, and the hand-added user survives the sync. The undo reads the group alone,
    with no second witness that the read lists every member: it refuses, sending nothing."""
    server = scim_server(sales_users(5, in_sales=1))
    admin = Admin(server)
    sales = admin.gid("Sales")
    proxy = fault_proxy(server.url, quirks=frozenset({"no_patch"}), refuse=on_put(
        lambda record: admin.add(sales, email(4))))
    result, run_id = sync(proxy.url, sales_users(4, in_sales=1), batch_size=10)
    assert result.ok, result.failed
    assert all(r.if_match for r in proxy.writes() if r.method == "PUT")
    assert server.dump()["groups"]["Sales"] == {email(i) for i in range(5)}
    code, out = undo(proxy.url, capsys, run_id)
    assert code != 0 and "Nothing was sent" in out["stderr"]
    assert server.dump()["groups"]["Sales"] == {email(i) for i in range(5)}


def test_a_412_after_the_checked_value_removal_landed_keeps_the_removal_the_runs(
    scim_server, fault_proxy, capsys
):
    """A server refusing the RFC removal path: the removal goes as Entra's value array, sent
    alone and checked, then the batch's add. The admin edits the group before that add: the
    add is refused (412), but the removal did land and is the run's, so undo puts it back."""
    users = make_users(6, ["s", "s", "x", "x", "s", "s"],
                       groups=lambda i: "Sales" if i < 4 else "")
    mapping = make_mapping({"s": "Sales", "x": "Eng"}, apply_existing=True)
    server = scim_server(users)
    admin = Admin(server)
    sales = admin.gid("Sales")
    proxy = fault_proxy(server.url, quirks=frozenset({"reject_filter_remove"}),
                        refuse=on_patch({3: lambda r: admin.rename(sales, "hand")}))
    result, run_id = sync(proxy.url, users, batch_size=10, mapping=mapping)
    assert result.ok, result.failed
    assert server.dump()["groups"]["Sales"] == {email(i) for i in (0, 1, 4, 5)}
    assert outcomes(run_id, "remove").get("applied") == {email(2), email(3)}
    assert "witnessed" not in outcomes(run_id, "remove")
    code, out = undo(proxy.url, capsys, run_id)
    assert code == 0, out["stderr"]
    assert server.dump()["groups"]["Sales"] == {email(i) for i in range(4)}


def test_a_server_returning_members_on_request_is_read_again_with_them_asked(
    fake_scim, capsys, monkeypatch
):
    """`members` only where `attributes` names it (no ETags). A paced run reads a group
    again before writing it (witness older than its age, here 0 s): that read must ask for
    `members` too, or it sees none, the admin's hand add just before becomes the run's,
    and undo (which sees it through the users' `groups`) removes it."""
    fake = fake_scim("members_on_request")
    ids = [fake.add_user(email(i)) for i in range(4)]
    sales = fake.add_group("Sales", [ids[0]])
    users = sales_users(4, in_sales=1)
    settings = SyncSettings(fake.url, TOKEN, allow_mass_removal=True, batch_size=10)
    with fast_client(fake.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        fake.groups[sales]["members"].append(ids[2])  # by hand, after the read
        monkeypatch.setattr("app.scim.sync.run.MAX_WITNESS_AGE", 0.0)
        journal = RunJournal.begin(plan, settings, MAPPING, [])
        result = execute(client, plan, settings, journal=journal)
        journal.finish(result)
    assert result.ok and result.added == 2
    assert outcomes(journal.run_id)["witnessed"] == {email(2)}
    code, out = undo(fake.url, capsys, journal.run_id)
    assert code == 0, out["stderr"]
    assert fake.members(sales) == {email(0), email(2)}


def test_versions_spelled_differently_by_patch_answers_still_end_right(
    scim_server, capsys
):
    server = scim_server(sales_users(7, in_sales=1))
    admin = Admin(server)
    sales = admin.gid("Sales")
    proxy = StrongETagProxy(server.url, refuse=on_patch({3: lambda r: admin.add(sales, email(6))}))
    proxy.start()
    try:
        result, run_id = sync(proxy.url, sales_users(7, in_sales=1))
        assert result.ok and result.added == 5 and outcomes(run_id)["witnessed"] == {email(6)}
        code, _ = undo(proxy.url, capsys, run_id)
        assert code == 0 and server.dump()["groups"]["Sales"] == {email(0), email(6)}
    finally:
        proxy.stop()


def test_a_server_ignoring_if_match_loses_no_hand_add_outside_the_plan(scim_server, capsys):
    """The server drops If-Match: a hand add of a user the plan does not touch, between two
    batches, survives the sync (PATCH carries only the delta) and its undo."""
    server = scim_server(sales_users(7, in_sales=1))
    admin = Admin(server)
    sales = admin.gid("Sales")
    proxy = IgnoringProxy(server.url, refuse=on_patch({2: lambda r: admin.add(sales, email(6))}))
    proxy.start()
    try:
        result, run_id = sync(proxy.url, sales_users(6, in_sales=1))
        assert result.ok and result.added == 5
        code, _ = undo(proxy.url, capsys, run_id)
        assert code == 0 and server.dump()["groups"]["Sales"] == {email(0), email(6)}
    finally:
        proxy.stop()


def test_etags_only_in_headers_a_hand_add_before_the_first_write_is_witnessed(
    scim_server, capsys
):
    """The list read gives no versions (eight groups: the small one is not read singly);
    the first write must not go unconditional on a server with ETags: the group is read for
    its version, and the hand add made right before the PATCH is refused (412), read again
    and witnessed."""
    groups = [f"G{g}" for g in range(8)]
    users = make_users(40, groups, groups=lambda i: groups[i % 8]
                       if (i < 24 and i % 8 != 7) or i == 7 else "")
    mapping = make_mapping({g: g for g in groups}, apply_existing=True)
    server = scim_server(users)
    admin = Admin(server)
    small = admin.gid("G7")
    proxy = HeaderETagProxy(server.url, refuse=per_group(
        1, lambda gid: admin.add(gid, email(23)) if gid == small else None))
    proxy.start()
    try:
        result, run_id = sync(proxy.url, users, batch_size=10, mapping=mapping)
        assert result.ok and result.added == 17
        assert outcomes(run_id)["witnessed"] == {email(23)}
        assert all(r.if_match for r in proxy.writes())
        code, _ = undo(proxy.url, capsys, run_id)
        assert code == 0 and server.dump()["groups"]["G7"] == {email(7), email(23)}
    finally:
        proxy.stop()


def test_a_412_for_another_reason_is_read_again_and_sent_again(scim_server, fault_proxy):
    """A server answering 412 to a write whose version did match (a lock, a proxy): the
    group is read again, nothing is witnessed, the write goes again and lands."""
    server = scim_server(sales_users(5))
    proxy = fault_proxy(server.url, refuse=on_patch({1: lambda r: (412, "locked")}))
    result, run_id = sync(proxy.url, sales_users(5), batch_size=10)
    assert result.ok and result.added == 5
    assert outcomes(run_id) == {"applied": {email(i) for i in range(5)}}
    assert server.dump()["groups"]["Sales"] == {email(i) for i in range(5)}
