"""Attacks on If-Match and the 412 re-read: hand edits racing each batch of a sync, then undo.

Each test runs a sync against the real scim2-server behind the fault proxy, whose `refuse`
hook makes the admin's hand edit (straight to the server) at a chosen write, then undoes the
run and asserts the server's final state and the journal (helpers: tests/attack_race.py).
"""

from __future__ import annotations

import httpx
import pytest

from app.io.journal import list_runs
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.record import RunJournal
from app.scim.sync.run import Run
from tests.attack_race import (
    MAPPING,
    Admin,
    email,
    on_patch,
    outcomes,
    per_group,
    sales_users,
    sync,
    undo,
)
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users
from tests.scim_proxy import Recorded


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)


def test_hand_adds_before_each_later_batch_stay_after_sync_and_undo(
    scim_server, fault_proxy, capsys
):
    """Batches of 2 into a group holding one user: before the 2nd and 3rd PATCH the admin
    adds by hand a user the run adds in a later batch. Both are witnessed, never undone."""
    server = scim_server(sales_users(9, in_sales=1))
    admin = Admin(server)
    sales = admin.gid("Sales")

    def hand_add(i):
        return lambda record: admin.add(sales, email(i))

    proxy = fault_proxy(server.url, refuse=on_patch({2: hand_add(6), 3: hand_add(8)}))
    result, run_id = sync(proxy.url, sales_users(9, in_sales=1))
    assert result.ok and result.added == 6 and result.unchanged == 3
    assert server.dump()["groups"]["Sales"] == {email(i) for i in range(9)}
    assert outcomes(run_id)["witnessed"] == {email(6), email(8)}
    assert sum(r.if_match != "" for r in proxy.writes()) == len(proxy.writes())
    code, _ = undo(proxy.url, capsys, run_id)
    assert code == 0
    assert server.dump()["groups"]["Sales"] == {email(0), email(6), email(8)}


def test_hand_removal_of_a_member_the_run_removes_later_is_not_put_back_by_undo(
    scim_server, fault_proxy, capsys
):
    """The run removes 4 (mapping left them), 2 a batch; before the 2nd batch the admin
    removes by hand the one the run removes in it. Undo puts back only the run's removals."""
    users = make_users(6, ["s", "s", "x", "x", "x", "x"], groups=lambda i: "Sales")
    mapping = make_mapping({"s": "Sales", "x": "Eng"}, apply_existing=True)
    server = scim_server(users)
    admin = Admin(server)
    sales = admin.gid("Sales")
    proxy = fault_proxy(server.url, refuse=on_patch(
        {2: lambda record: admin.remove(sales, email(5))}))
    result, run_id = sync(proxy.url, users, mapping=mapping)
    assert result.ok and result.removed == 3
    assert outcomes(run_id, "remove")["witnessed"] == {email(5)}
    assert server.dump()["groups"]["Sales"] == {email(0), email(1)}
    code, _ = undo(proxy.url, capsys, run_id)
    assert code == 0
    assert server.dump()["groups"]["Sales"] == {email(i) for i in range(5)}


def test_an_edit_that_moves_the_version_but_not_the_members_costs_one_read(
    scim_server, fault_proxy, capsys
):
    server = scim_server(sales_users(7, in_sales=1))
    admin = Admin(server)
    sales = admin.gid("Sales")
    proxy = fault_proxy(server.url, refuse=on_patch(
        {2: lambda record: admin.rename(sales, "hand-edited")}))
    result, run_id = sync(proxy.url, sales_users(7, in_sales=1))
    assert result.ok and result.added == 6 and "witnessed" not in outcomes(run_id)
    assert [r.method for r in proxy.writes()] == ["PATCH"] * 4  # one refused, sent again
    code, _ = undo(proxy.url, capsys, run_id)
    assert code == 0 and server.dump()["groups"]["Sales"] == {email(0)}


def test_412_every_time_fails_the_group_alone_and_journals_nothing_done(
    scim_server, fault_proxy, capsys
):
    users = make_users(6, ["s", "e"], groups=lambda i: "Sales" if i == 0 else "Eng" if i == 1
                       else "")
    mapping = make_mapping({"s": "Sales", "e": "Eng"}, apply_existing=True)
    server = scim_server(users)
    sales = Admin(server).gid("Sales")
    proxy = fault_proxy(server.url, refuse=lambda r: (412, "busy")
                        if r.method == "PATCH" and r.path.endswith(sales) else None)
    result, run_id = sync(proxy.url, users, batch_size=10, mapping=mapping)
    assert [f.group for f in result.failed] == ["Sales"] and result.added == 2
    assert "changed on the server each time" in result.failed[0].reason
    assert proxy.count("PATCH", f"/Groups/{sales}") == 4
    sales_ops = outcomes(run_id)
    assert sales_ops["refused"] == {email(i) for i in range(2, 6, 2)}
    assert email(2) not in sales_ops["applied"] and email(2) in sales_ops["failed"]
    assert server.dump()["groups"]["Sales"] == {email(0)}


def test_a_lost_answer_to_a_write_that_landed_is_the_runs_and_undone(
    scim_server, fault_proxy, capsys
):
    """The 2nd PATCH reaches the server but its answer is lost (502): the group is read,
    the write judged landed (journaled applied, not sent again), and undo reverts it."""
    server = scim_server(sales_users(5, in_sales=1))
    http = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"})

    def lands_then_lost(record: Recorded):
        answer = http.patch(f"{server.url}{record.path}", json=record.body,
                            headers={"If-Match": record.if_match})
        assert answer.status_code in (200, 204)
        return (502, "bad gateway")

    proxy = fault_proxy(server.url, refuse=on_patch({2: lands_then_lost}))
    result, run_id = sync(proxy.url, sales_users(5, in_sales=1))
    assert result.ok and result.added == 4
    assert outcomes(run_id) == {"applied": {email(i) for i in range(1, 5)}}
    assert proxy.count("PATCH") == 2
    code, _ = undo(proxy.url, capsys, run_id)
    assert code == 0 and server.dump()["groups"]["Sales"] == {email(0)}


def test_hand_add_into_a_group_the_run_creates_before_its_next_batch(
    scim_server, fault_proxy, capsys
):
    """The run creates Sales with its first 2 members; before the next batch the admin adds
    one the run adds later. The create's version is the witness: 412, witnessed, kept."""
    users = sales_users(6)
    server = scim_server(users)
    admin = Admin(server)
    proxy = fault_proxy(server.url, refuse=on_patch(
        {1: lambda record: admin.add(record.path.rsplit("/", 1)[1], email(5))}))
    result, run_id = sync(proxy.url, users)
    assert result.ok and result.created_groups == ["Sales"] and result.added == 5
    assert outcomes(run_id)["witnessed"] == {email(5)}
    code, _ = undo(proxy.url, capsys, run_id)
    assert code == 0 and server.dump()["groups"]["Sales"] == {email(5)}


def test_run_killed_between_a_412_and_its_read_leaves_the_hand_add_to_undo(
    scim_server, fault_proxy, capsys, monkeypatch
):
    """The admin adds by hand the very user of the run's next batch; the batch is refused
    (412) and the run dies before reading the group again. Undo must not take the
    hand-added user for the run's unanswered write."""
    server = scim_server(sales_users(4, in_sales=1))
    admin = Admin(server)
    sales = admin.gid("Sales")
    proxy = fault_proxy(server.url, refuse=on_patch(
        {2: lambda record: admin.add(sales, email(3))}))
    real = Run.witness

    def killed(self, group, again=False):
        if again:
            raise KeyboardInterrupt
        return real(self, group, again)

    monkeypatch.setattr(Run, "witness", killed)
    with pytest.raises(KeyboardInterrupt):
        sync(proxy.url, sales_users(4, in_sales=1))
    monkeypatch.setattr(Run, "witness", real)
    assert server.dump()["groups"]["Sales"] == {email(i) for i in range(4)}
    run_id = list_runs()[-1].run_id
    assert outcomes(run_id)["refused"] == {email(3)}
    code, _ = undo(proxy.url, capsys, run_id)
    assert code == 0 and server.dump()["groups"]["Sales"] == {email(0), email(3)}


def test_hand_adds_racing_twelve_groups_written_eight_at_a_time(
    scim_server, fault_proxy, capsys
):
    """Twelve groups of 4 new members each (one already in), written 8 at a time in batches
    of 1: before each group's 2nd PATCH the admin adds its last planned member by hand."""
    groups = [f"G{g:02d}" for g in range(12)]
    users = make_users(60, groups, groups=lambda i: groups[i % 12] if i < 12 else "")
    mapping = make_mapping({g: g for g in groups}, apply_existing=True)
    server = scim_server(users)
    admin = Admin(server)
    names = {admin.gid(g): g for g in groups}
    last = {g: email(48 + k) for k, g in enumerate(groups)}  # each group's last add
    proxy = fault_proxy(server.url, refuse=per_group(
        2, lambda gid: admin.add(gid, last[names[gid]])))
    result, run_id = sync(proxy.url, users, batch_size=1, mapping=mapping, concurrency=8)
    assert result.ok and result.added == 36 and result.unchanged >= 12
    assert outcomes(run_id)["witnessed"] == set(last.values())
    code, _ = undo(proxy.url, capsys, run_id)
    assert code == 0
    dump = server.dump()["groups"]
    assert all(dump[g] == {email(k), last[g]} for k, g in enumerate(groups))


def test_a_saved_plan_passes_the_gate_then_a_hand_add_races_its_first_write(
    scim_server, fault_proxy, capsys
):
    """A plan read long ago (a saved plan): the gate reads every group again and its
    versions become the If-Match; the admin's hand add right after the gate is refused,
    read again and witnessed, never the run's."""
    users = sales_users(5, in_sales=1)
    server = scim_server(users)
    admin = Admin(server)
    sales = admin.gid("Sales")
    proxy = fault_proxy(server.url, refuse=on_patch({1: lambda r: admin.add(sales, email(2))}))
    settings = SyncSettings(proxy.url, TOKEN, allow_mass_removal=True, batch_size=10)
    with fast_client(proxy.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        plan.state.read_at = 1.0  # as a plan loaded from a file is: older than any witness
        journal = RunJournal.begin(plan, settings, MAPPING, [], applies="CODE", counted=False)
        result = execute(client, plan, settings, journal=journal)
        journal.finish(result)
    assert result.ok and result.added == 3 and outcomes(journal.run_id)["witnessed"] == {
        email(2)}
    code, _ = undo(proxy.url, capsys, journal.run_id)
    assert code == 0 and server.dump()["groups"]["Sales"] == {email(0), email(2)}


def test_undo_racing_a_hand_removal_then_undo_of_the_undo(scim_server, fault_proxy, capsys):
    """The undo of a run that added 1..4 is about to remove them; the admin removes 1 by
    hand first. The undo's write is refused, 1 witnessed as removed; undoing the undo puts
    back 2..4 only: never the user the admin removed by hand."""
    server = scim_server(sales_users(5, in_sales=1))
    admin = Admin(server)
    sales = admin.gid("Sales")
    proxy = fault_proxy(server.url, refuse=on_patch({2: lambda r: admin.remove(sales, email(1))}))
    result, run_id = sync(proxy.url, sales_users(5, in_sales=1), batch_size=10)
    assert result.ok and server.dump()["groups"]["Sales"] == {email(i) for i in range(5)}
    code, out = undo(proxy.url, capsys, run_id)
    assert code == 0 and server.dump()["groups"]["Sales"] == {email(0)}
    assert outcomes(out["run"], "remove") == {
        "refused": {email(i) for i in range(1, 5)}, "witnessed": {email(1)},
        "applied": {email(i) for i in range(2, 5)}}
    code, _ = undo(proxy.url, capsys, out["run"])
    assert code == 0 and server.dump()["groups"]["Sales"] == {email(0), *map(email, (2, 3, 4))}
