"""Attacks on If-Match and the 412 re-read: hand edits racing each batch of a sync, then undo.

Each test runs a sync against the real scim2-server behind the fault proxy, whose `refuse`
hook makes the admin's hand edit (straight to the server) at a chosen write, then undoes the
run and asserts the server's final state and the journal.
"""

from __future__ import annotations

import json

import httpx
import pytest

from app.cli import main
from app.io.journal import list_runs, read_run
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.record import RunJournal
from app.scim.sync.run import Run
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users
from tests.scim_proxy import FaultProxy, Recorded

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAPPING = make_mapping({"s": "Sales"}, apply_existing=True)


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)


class Admin:
    """Hand edits straight to the server, by userName."""

    def __init__(self, server) -> None:
        self.server = server
        self.http = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"})

    def uid(self, email: str) -> str:
        return next(i for i, n in self.server.dump()["users"].items() if n == email)

    def gid(self, name: str) -> str:
        answer = self.http.get(f"{self.server.url}/Groups").json()
        return next(g["id"] for g in answer["Resources"] if g["displayName"] == name)

    def patch(self, group_id: str, operations: list[dict]) -> None:
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        answer = self.http.patch(f"{self.server.url}/Groups/{group_id}", json=body)
        assert answer.status_code in (200, 204), answer.text

    def add(self, group_id: str, email: str) -> None:
        self.patch(group_id, [{"op": "add", "path": "members",
                               "value": [{"value": self.uid(email)}]}])

    def remove(self, group_id: str, email: str) -> None:
        self.patch(group_id, [{"op": "remove",
                               "path": f'members[value eq "{self.uid(email)}"]'}])

    def rename(self, group_id: str, name: str) -> None:
        self.patch(group_id, [{"op": "replace", "path": "externalId", "value": name}])


def on_patch(edits: dict[int, object]):
    """A refuse hook running edits[n]() right before the n-th group PATCH (1-based) is
    forwarded; an edit may return a refusal (status, detail) to answer instead."""
    seen = {"n": 0}

    def hook(record: Recorded):
        if record.method not in ("PATCH", "PUT") or not record.path.startswith("/Groups/"):
            return None
        seen["n"] += 1
        edit = edits.get(seen["n"])
        return edit(record) if callable(edit) else None

    return hook


def sync(url, users, batch_size=2, mapping=MAPPING, **options):
    settings = SyncSettings(url, TOKEN, allow_mass_removal=True, batch_size=batch_size,
                            **options)
    with fast_client(url) as client:
        state = read_server_state(client, users, mapping, settings)
        plan = plan_sync(users, mapping, state, settings)
        journal = RunJournal.begin(plan, settings, mapping, ["users.csv"])
        result = execute(client, plan, settings, journal=journal)
        journal.finish(result)
    return result, journal.run_id


def undo(url, capsys, run_id: int, *extra):
    capsys.readouterr()
    code = main(["undo", str(run_id), *extra, "--url", url, "--allow-mass-removal", "--json"])
    captured = capsys.readouterr()
    return code, {**json.loads(captured.out or "{}"), "stderr": captured.err}


def outcomes(run_id: int, op: str = "add") -> dict[str, set[str]]:
    """outcome -> emails, for the run's `op` records."""
    run = next(r for r in list_runs() if r.run_id == run_id)
    found: dict[str, set[str]] = {}
    for record in read_run(run.path).ops:
        if record.get("op") == op:
            found.setdefault(str(record["outcome"]), set()).update(
                m["email"] for m in record.get("members") or [])
    return found


def sales_users(n: int, in_sales: int = 0):
    """n users mapped to Sales; the first `in_sales` already in it."""
    return make_users(n, ["s"], groups=lambda i: "Sales" if i < in_sales else "")


def email(i: int) -> str:
    return f"user{i:05d}@ex.com"


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


def test_a_412_for_another_reason_is_read_again_and_sent_again(scim_server, fault_proxy):
    """A server answering 412 to a write whose version did match (a lock, a proxy): the
    group is read again, nothing is witnessed, the write goes again and lands."""
    server = scim_server(sales_users(5))
    proxy = fault_proxy(server.url, refuse=on_patch({1: lambda r: (412, "locked")}))
    result, run_id = sync(proxy.url, sales_users(5), batch_size=10)
    assert result.ok and result.added == 5
    assert outcomes(run_id) == {"applied": {email(i) for i in range(5)}}
    assert server.dump()["groups"]["Sales"] == {email(i) for i in range(5)}


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


def per_group(n: int, edit):
    """A refuse hook running edit(group_id) right before each group's n-th PATCH."""
    seen: dict[str, int] = {}

    def hook(record: Recorded):
        if record.method != "PATCH" or not record.path.startswith("/Groups/"):
            return None
        group_id = record.path.rsplit("/", 1)[1]
        seen[group_id] = seen.get(group_id, 0) + 1
        if seen[group_id] == n:
            edit(group_id)
        return None

    return hook


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


def on_put(edit):
    seen = {"n": 0}

    def hook(record: Recorded):
        if record.method == "PUT" and record.path.startswith("/Groups/"):
            seen["n"] += 1
            if seen["n"] == 1:
                edit(record)
        return None

    return hook


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


class StrongETagProxy(FaultProxy):
    """Its PATCH answers spell the version as a strong ETag ("5"), its reads as the server
    does (W/"5"): a version that differs between GET and PATCH answers."""

    def _quirk_response(self, h, path, response):
        status, content, headers = super()._quirk_response(h, path, response)
        if h.command == "PATCH" and headers.get("ETag", "").startswith("W/"):
            headers["ETag"] = headers["ETag"][2:]
        return status, content, headers


class IgnoringProxy(FaultProxy):
    """Forwards no If-Match: a server that advertises ETags and ignores them on writes."""

    def _handle(self, h):
        if "If-Match" in h.headers:
            del h.headers["If-Match"]
        return super()._handle(h)


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


class HeaderETagProxy(FaultProxy):
    """Versions only in the ETag header of single answers, never in `meta.version`: the
    group list carries none."""

    def _quirk_response(self, h, path, response):
        status, content, headers = super()._quirk_response(h, path, response)
        if content and headers.get("Content-Type", "").endswith("json"):
            body = json.loads(content)
            for resource in [body, *(body.get("Resources") or [])]:
                if isinstance(resource, dict) and isinstance(resource.get("meta"), dict):
                    resource["meta"].pop("version", None)
            content = json.dumps(body).encode()
        return status, content, headers


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
