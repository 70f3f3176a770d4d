"""A hand edit racing a write: the admin makes, by hand, the very change a run is about to make,
between the run's read and its first PATCH. The write carries If-Match with the version the run
read; the server refuses it (412), the run reads the group again, and what is already so is left
out of its writes and journaled as witnessed: its undo never reverts the admin's edit. Against
the real scim2-server (ETags), behind a proxy that makes the edit as the PATCH arrives."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from app.cli import main
from app.io.journal import find_run, list_runs
from app.scim.http.transport import Transport
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.record import RunJournal
from app.scim.sync.retry import retry_failed
from app.scim.sync.write_groups import MAX_CONFLICTS
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users
from tests.scim_proxy import Recorded
from tests.test_trust_journal import mapping_file, server_users_csv, sync_cli, undo

SALES = {f"user0000{i}@ex.com" for i in range(4)}


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)


@dataclass
class HandEdit:
    """A FaultProxy `refuse` hook: as the first PATCH to `group` arrives (armed), the admin
    adds and removes these users by hand, straight on the server; the PATCH then goes on."""

    server: object
    group: str
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    armed: bool = True

    def __call__(self, record: Recorded) -> None:
        if not (self.armed and record.method == "PATCH"):
            return None
        with fast_client(self.server.url) as admin:
            group_id = admin.find_group(self.group)["id"]
            if record.path != f"/Groups/{group_id}":
                return None
            self.armed = False
            ids = {email: uid for uid, email in self.server.dump()["users"].items()}
            admin.modify_members(group_id, [ids[e] for e in self.add],
                                 [ids[e] for e in self.remove])
        return None


def patches(proxy) -> list[Recorded]:
    return [r for r in proxy.records if r.method == "PATCH"]


def witnessed(run_id: int, op: str) -> list[str]:
    return [m["email"] for o in find_run(run_id).ops
            if o["op"] == op and o["outcome"] == "witnessed" for m in o["members"]]


def test_a_member_added_by_hand_right_before_the_add_stays_after_undo(
    scim_server, fault_proxy, capsys
):
    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    proxy = fault_proxy(server.url, refuse=HandEdit(server, "Sales", add=["user00000@ex.com"]))
    assert sync_cli(proxy.url, server_users_csv(users, capsys), mapping_file()) == 0
    assert "added 3, removed 0, unchanged 1" in capsys.readouterr().out
    assert server.dump()["groups"]["Sales"] == SALES
    sent = patches(proxy)
    assert len(sent) == 2 and all(r.if_match for r in sent)  # refused once, then sent
    assert sent[0].if_match != sent[1].if_match
    assert [m["value"] for m in sent[1].body["Operations"][0]["value"]] == [
        uid for uid, e in server.dump()["users"].items() if e != "user00000@ex.com"
    ]
    assert witnessed(1, "add") == ["user00000@ex.com"]
    assert undo(proxy.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == {"user00000@ex.com"}


def test_a_member_removed_by_hand_right_before_the_removal_is_not_put_back_by_undo(
    scim_server, fault_proxy, capsys
):
    """The admin removed user4 deliberately: the run's removal of it is moot, not the run's,
    so its undo puts back only user5, whom the run did remove."""
    users = make_users(6, ["sales", "sales", "sales", "sales", "eng", "eng"])
    everyone = {f"user0000{i}@ex.com" for i in range(6)}
    server = scim_server(users, extra_groups={"Sales": sorted(everyone)})
    edit = HandEdit(server, "Sales", remove=["user00004@ex.com"])
    proxy = fault_proxy(server.url, refuse=edit)
    assert sync_cli(proxy.url, server_users_csv(users, capsys), mapping_file()) == 0
    assert server.dump()["groups"]["Sales"] == SALES
    assert witnessed(1, "remove") == ["user00004@ex.com"]
    assert undo(proxy.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == everyone - {"user00004@ex.com"}


def test_a_saved_plan_applied_later_keeps_the_hand_edit_made_after_its_gate(
    scim_server, fault_proxy, tmp_path, capsys
):
    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    proxy = fault_proxy(server.url, refuse=HandEdit(server, "Sales", add=["user00002@ex.com"]))
    plan = tmp_path / "plan.json"
    argv = ["--users", str(server_users_csv(users, capsys)), "--mapping", str(mapping_file())]
    assert main(["sync", *argv, "--url", proxy.url, "--dry-run", "--plan-out", str(plan)]) == 0
    capsys.readouterr()
    assert main(["apply", str(plan), "--json"]) == 0  # the gate reads; then the admin edits
    assert json.loads(capsys.readouterr().out)["added"] == 3
    assert server.dump()["groups"]["Sales"] == SALES
    applied = list_runs()[-1].run_id  # the dry run is journaled too
    assert witnessed(applied, "add") == ["user00002@ex.com"]
    assert undo(proxy.url, str(applied)) == 0
    assert server.dump()["groups"]["Sales"] == {"user00002@ex.com"}


def test_an_undo_of_an_undo_does_not_put_back_a_member_removed_by_hand_meanwhile(
    scim_server, fault_proxy, capsys
):
    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    edit = HandEdit(server, "Sales", remove=["user00001@ex.com"], armed=False)
    proxy = fault_proxy(server.url, refuse=edit)
    assert sync_cli(proxy.url, server_users_csv(users, capsys), mapping_file()) == 0
    edit.armed = True  # the admin removes user1 as the undo is about to
    assert undo(proxy.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == set()
    assert witnessed(2, "remove") == ["user00001@ex.com"]
    assert undo(proxy.url, "2") == 0  # puts back what the undo removed: not user1
    assert server.dump()["groups"]["Sales"] == SALES - {"user00001@ex.com"}


def test_a_group_that_changes_at_every_write_fails_alone_and_nothing_is_journaled_as_done(
    scim_server, fault_proxy, capsys
):
    users = make_users(4, ["sales", "eng"])
    server = scim_server(users, extra_groups={"Sales": [], "Engineering": []})
    with fast_client(server.url) as client:
        sales = client.find_group("Sales")["id"]

    def always_changed(record: Recorded) -> tuple | None:
        if record.method == "PATCH" and record.path == f"/Groups/{sales}":
            return 412, "precondition failed"
        return None

    proxy = fault_proxy(server.url, refuse=always_changed)
    assert sync_cli(proxy.url, server_users_csv(users, capsys), mapping_file()) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "412 Precondition Failed" in line]
    assert len(lines) == 1 and proxy.url in lines[0] and "'Sales'" in lines[0]
    assert "run the sync again once that stops" in lines[0]
    assert server.dump()["groups"] == {"Sales": set(), "Engineering": {
        "user00001@ex.com", "user00003@ex.com"}}
    to_sales = [r for r in patches(proxy) if r.path == f"/Groups/{sales}"]
    assert len(to_sales) == MAX_CONFLICTS + 1 and all(r.if_match for r in to_sales)
    ops = [o for o in find_run(1).ops if o["group"] == "Sales"]
    assert [(o["outcome"], o["status"]) for o in ops] == [("refused", 412)] * 4 + [("failed", 412)]
    assert undo(proxy.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == set()


def test_a_retry_after_the_edits_stop_writes_what_failed(scim_server, fault_proxy):
    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    refusing = [True]
    proxy = fault_proxy(server.url, refuse=lambda r: (
        (412, "precondition failed") if refusing[0] and r.method == "PATCH" else None))
    mapping = make_mapping({"sales": "Sales"})
    settings_ = SyncSettings(proxy.url, TOKEN)
    with fast_client(proxy.url) as client:
        plan = plan_sync(users, mapping, read_server_state(client, users, mapping, settings_),
                         settings_)
        journal = RunJournal.begin(plan, settings_, mapping, ["users.csv"])
        result = execute(client, plan, settings_, journal=journal)
        assert len(result.failed) == 1 and result.failed[0].status == 412
        refusing[0] = False
        again = retry_failed(client, result, settings_)
        journal.finish(again)
    assert not again.failed and again.added == 4
    assert server.dump()["groups"]["Sales"] == SALES


def test_without_etags_a_write_answered_with_the_members_witnesses_the_next_one(
    scim_server, fault_proxy, capsys
):
    """No ETags: no If-Match and no read added per group. A PATCH answer that lists the
    members shows a hand edit made meanwhile: the later batch leaves it out."""
    users = make_users(6, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    edit = HandEdit(server, "Sales", add=["user00005@ex.com"])  # a later batch's member
    proxy = fault_proxy(server.url, refuse=edit, quirks=frozenset({"no_etag", "patch_200"}))
    assert sync_cli(proxy.url, server_users_csv(users, capsys), mapping_file(),
                    "--batch-size", "2", "--concurrency", "1") == 0
    assert server.dump()["groups"]["Sales"] == {f"user0000{i}@ex.com" for i in range(6)}
    assert not any(r.if_match for r in proxy.records)
    sent = patches(proxy)
    writing = proxy.records[proxy.records.index(sent[0]):proxy.records.index(sent[-1])]
    assert not [r for r in writing if r.method == "GET"]  # no read added between the writes
    assert len(sent) == 3 and witnessed(1, "add") == ["user00005@ex.com"]
    assert undo(proxy.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == {"user00005@ex.com"}


def test_a_conditional_write_whose_answer_is_lost_is_the_runs_and_undone(
    scim_server, fault_proxy, capsys
):
    """The PATCH went through, its answer was cut: the If-Match would refuse a repeat, so
    the group is read: moved on and showing the write, it is the run's, and undo reverts it."""
    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    proxy = fault_proxy(server.url, fault_rate=1.0, faults=("truncate",),
                        fault_methods=("PATCH",))
    assert sync_cli(proxy.url, server_users_csv(users, capsys), mapping_file()) == 0
    assert "added 4, removed 0, unchanged 0" in capsys.readouterr().out
    assert len(patches(proxy)) == 1 and server.dump()["groups"]["Sales"] == SALES
    assert witnessed(1, "add") == []
    assert undo(proxy.url, "1") == 0 and server.dump()["groups"]["Sales"] == set()


def test_a_conditional_write_answered_500_unapplied_is_sent_again(
    scim_server, fault_proxy, capsys
):
    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    failed = []

    def once(record: Recorded) -> tuple | None:
        if record.method == "PATCH" and not failed:
            failed.append(record)
            return 500, "injected"
        return None

    proxy = fault_proxy(server.url, refuse=once)
    assert sync_cli(proxy.url, server_users_csv(users, capsys), mapping_file()) == 0
    sent = patches(proxy)
    assert len(sent) == 2 and sent[0].if_match == sent[1].if_match  # unchanged: sent again
    assert server.dump()["groups"]["Sales"] == SALES
    assert undo(proxy.url, "1") == 0 and server.dump()["groups"]["Sales"] == set()


def test_a_group_the_run_creates_keeps_a_member_added_by_hand_before_its_next_batch(
    scim_server, fault_proxy, capsys
):
    """Created with its first batch, Sales is written again with If-Match on the version its
    create answered with."""
    users = make_users(4, ["sales"])
    server = scim_server(users)
    proxy = fault_proxy(server.url, refuse=HandEdit(server, "Sales", add=["user00003@ex.com"]))
    assert sync_cli(proxy.url, server_users_csv(users, capsys), mapping_file(),
                    "--batch-size", "2") == 0
    assert server.dump()["groups"]["Sales"] == SALES
    assert all(r.if_match for r in patches(proxy)) and witnessed(1, "add") == [
        "user00003@ex.com"
    ]
    assert undo(proxy.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == {"user00003@ex.com"}
