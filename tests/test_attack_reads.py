"""Issue 25's reads attacked: servers whose group lists, single reads, pages or users'
`groups` lie in one way each (tests/attack_proxy.py in front of the real scim2-server).

Every attack checks the two promises, at --concurrency 1 and 8: exactness (each export
user's membership of each managed group equals the preview's target after the sync) and
safety (members GroupMap does not manage stay; the undo of the run gives back exactly the
memberships there were before it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli import main
from app.io import read_users
from app.scim.http.transport import Transport
from app.scim.server import LocalScimServer
from tests.attack_proxy import AttackProxy
from tests.scim_fixtures import TOKEN, expected_groups, make_mapping

GROUPS = [f"G{i}" for i in range(6)]
VALUES = [f"v{i}" for i in range(6)]
EXPORT = 18  # export users; user i's target is G(i % 6)
OUTSIDERS = 4  # server users not in the export, each in some managed groups


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """Outcomes, not waiting: the client's backoff does not sleep."""
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)


def _current(i: int) -> str:
    """Where export user i is on the server before the sync: groups of very different sizes
    (G0 large, the rest small), some already right, some to be removed from."""
    if i % 3 == 0:
        return GROUPS[i % 6]  # already placed
    if i % 3 == 1:
        return "G0"  # to be removed from G0 (unless G0 is its target)
    return f"{GROUPS[(i + 1) % 6]};{GROUPS[i % 6]}"  # placed, and in one group too many


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("Name,Email,Status,Identity Provider Group,Group\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def world(tmp_path: Path):
    """(server, export file, mapping file): the real server seeded with the export's users in
    their current groups and OUTSIDERS users the export does not name, in managed groups."""
    export = [f"User {i},user{i:03d}@ex.com,active,{VALUES[i % 6]},{_current(i)}"
              for i in range(EXPORT)]
    outsiders = [f"Out {j},out{j}@else.com,active,x,{GROUPS[j]};G5" for j in range(OUTSIDERS)]
    users_file = _csv(tmp_path / "users.csv", export)
    seed = _csv(tmp_path / "seed.csv", export + outsiders)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\n"
                       + "".join(f"{v},{g}\n" for v, g in zip(VALUES, GROUPS, strict=True)))
    server = LocalScimServer(read_users([seed]), token=TOKEN)
    server.start()
    yield server, users_file, mapping
    server.stop()


def _memberships(server: LocalScimServer) -> dict[str, set[str]]:
    groups = server.dump()["groups"]
    return {g: set(groups.get(g, set())) for g in GROUPS}


def _targets(users_file: Path) -> dict[str, set[str]]:
    users = read_users([users_file])
    mapping = make_mapping(dict(zip(VALUES, GROUPS, strict=True)), apply_existing=True)
    return expected_groups(users, mapping)


def attack(world, capsys, twist, concurrency: int, page_size: int = 2) -> dict[str, Any]:
    """Sync through a proxy twisting reads, then undo it straight at the server; assert
    exactness after the sync and safety after the undo. The sync's --json."""
    server, users_file, mapping = world
    before = _memberships(server)
    proxy = AttackProxy(server.url, twist)
    proxy.start()
    try:
        capsys.readouterr()
        code = main(["sync", "--users", str(users_file), "--mapping", str(mapping),
                     "--url", proxy.url, "--allow-mass-removal", "--json", "--apply-existing",
                     "--concurrency", str(concurrency), "--page-size", str(page_size)])
        out, err = capsys.readouterr()
        after = _check(world, before, code, out, err)
        if code in (0, 1):  # the undo reads an honest server: the journal alone decides
            proxy.twist = None
            undone = main(["undo", "1", "--url", proxy.url, "--allow-mass-removal", "--json"])
            assert undone in (0, 1)
    finally:
        proxy.stop()
    assert _memberships(server) == before or code in (0, 1), (after, err)
    if code in (0, 1):
        assert _memberships(server) == before, (after, capsys.readouterr().err)
    return json.loads(out) if code in (0, 1) else {"code": code, "err": err}


def _check(world, before, code: int, out: str, err: str) -> dict[str, set[str]]:
    """Exactness where the sync said it succeeded; outsiders kept whatever it said."""
    server, users_file, _ = world
    after = _memberships(server)
    exporters = {f"user{i:03d}@ex.com" for i in range(EXPORT)}
    targets = _targets(users_file)
    for group in GROUPS:
        assert after[group] - exporters == before[group] - exporters, (group, err)
    if code == 0:
        wrong = {g: (after[g] & exporters) ^ targets.get(g, set()) for g in GROUPS}
        assert not any(wrong.values()), (wrong, err, out)
    return after


@pytest.mark.parametrize("concurrency", [1, 8])
def test_an_honest_server_holds(world, capsys, concurrency):
    result = attack(world, capsys, None, concurrency)
    assert result["failed"] == 0


def _group_list(path: str, query: dict[str, str]) -> bool:
    return path == "/Groups" and "filter" not in query


def _cap_page_two(proxy, path, query, body):
    """Group list pages after the first show one member per group (a stale cache)."""
    if _group_list(path, query) and int(query.get("startIndex", 1)) > 1:
        for group in body.get("Resources", []):
            if group.get("members"):
                group["members"] = group["members"][:1]
    return body


@pytest.mark.parametrize("concurrency", [1, 8])
def test_list_capping_members_on_later_pages(world, capsys, concurrency):
    """The sample holds a group of every list page, so a cap on page 2 is found."""
    result = attack(world, capsys, _cap_page_two, concurrency)
    assert "the list is capped" in result["groups_read"]["why"]
    assert result["groups_read"]["list"] == 0


def _user_id(proxy, email: str) -> str:
    """The server id of a user (read straight from the upstream, cached)."""
    with proxy.lock:
        ids = proxy.state.setdefault("ids", {})
    if email not in ids:
        body = proxy.forward("GET", "/Users", {"filter": f'userName eq "{email}"'},
                             proxy.state["auth"])
        ids[email] = body["Resources"][0]["id"]
    return ids[email]


def _hand_remove(server: LocalScimServer, email: str, group: str) -> None:
    """An admin removes a user from a group by hand, straight at the server."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.url, headers=auth) as http:
        user = http.get("/Users", params={"filter": f'userName eq "{email}"'}).json()
        found = http.get("/Groups", params={"filter": f'displayName eq "{group}"'}).json()
        uid, gid = user["Resources"][0]["id"], found["Resources"][0]["id"]
        operation = {"op": "remove", "path": f'members[value eq "{uid}"]'}
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [operation]}
        assert http.patch(f"/Groups/{gid}", json=body).status_code in (200, 204)


def _stale_list(proxy, path, query, body):
    """The group list is a cache from before user000 was removed from G0 by hand (G0, the
    biggest group, is read singly to check the list, and shows one member fewer)."""
    if _group_list(path, query):
        uid = _user_id(proxy, "user000@ex.com")
        for group in body.get("Resources", []):
            listed = {m["value"] for m in group.get("members") or []}
            if group.get("displayName") == "G0" and listed and uid not in listed:
                group["members"].append({"value": uid})
    return body


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_stale_group_list_is_not_taken_for_capped_single_reads(world, capsys, concurrency):
    _hand_remove(world[0], "user000@ex.com", "G0")
    result = attack(world, capsys, _stale_list, concurrency)
    assert "stale" in result["groups_read"]["why"]
    assert result["groups_read"]["list"] == 0


def _single_capped(proxy, path, query, body):
    """Single reads show at most 2 members; lists are complete."""
    if path.startswith("/Groups/") and body.get("members"):
        body["members"] = body["members"][:2]
    return body


def _list_capped_above(proxy, path, query, body):
    """Lists show at most 3 members of a group; single reads are complete."""
    if _group_list(path, query):
        for group in body.get("Resources", []):
            if group.get("members"):
                group["members"] = group["members"][:3]
    return body


def _total_shifts(proxy, path, query, body):
    """totalResults grows by 3 on every page after the first, for users and groups."""
    if "filter" not in query and "totalResults" in body and int(query.get("startIndex", 1)) > 1:
        body["totalResults"] += 3
    return body


def _total_shrinks(proxy, path, query, body):
    """totalResults says 2 fewer on pages after the first."""
    if "filter" not in query and "totalResults" in body and int(query.get("startIndex", 1)) > 1:
        body["totalResults"] -= 2
    return body


def _overlapping(proxy, path, query, body):
    """Each page after the first starts with the previous page's last resource, the page's
    own last resource dropped (the page keeps its size)."""
    start, count = int(query.get("startIndex", 1)), int(query.get("count", 0) or 0)
    if "filter" not in query and start > 1 and count and body.get("Resources"):
        before = proxy.forward("GET", path, dict(query, startIndex=str(start - 1), count="1"),
                               proxy.state["auth"])
        body["Resources"] = before["Resources"][:1] + body["Resources"][:-1]
    return body


def _short_pages(proxy, path, query, body):
    """Pages 2 and 3 hold one resource fewer than asked (not the last page)."""
    start, count = int(query.get("startIndex", 1)), int(query.get("count", 0) or 0)
    resources = body.get("Resources")
    inner = resources and len(resources) == count and start + count <= body["totalResults"]
    if "filter" not in query and count and 1 < start <= 1 + 2 * count and inner:
        body["Resources"] = resources[:-1]
    return body


def _ignores_start(proxy, path, query, body):
    """Every list answer is page 1."""
    if "filter" not in query and int(query.get("startIndex", 1)) > 1:
        return proxy.forward("GET", path, dict(query, startIndex="1"), proxy.state["auth"])
    return body


def _group_twice(proxy, path, query, body):
    """The first page of the group list holds the biggest group a second time, showing one
    member fewer."""
    if _group_list(path, query) and int(query.get("startIndex", 1)) == 1:
        resources = body.get("Resources", [])
        if resources and resources[0].get("members"):
            copy = json.loads(json.dumps(resources[0]))
            copy["members"] = copy["members"][:-1]
            resources.append(copy)
    return body


HELD = {
    "single_capped": _single_capped,
    "list_capped_above": _list_capped_above,
    "short_pages": _short_pages,
}


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("name", list(HELD))
def test_attacks_that_held(world, capsys, name, concurrency):
    result = attack(world, capsys, HELD[name], concurrency)
    assert result["failed"] == 0 and result["not_kept"] == 0


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_total_that_shrinks_between_pages_reads_every_resource(world, capsys, concurrency):
    """Page 1 says 2 more resources than the later pages: the walk reads up to the larger."""
    result = attack(world, capsys, _total_shrinks, concurrency)
    assert result["not_found"] == 0 and result["created_groups"] == ["G4"]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_total_that_grows_past_what_is_served_stops_the_sync(world, capsys, concurrency):
    """Later pages say 3 more than there are: the walk meets an empty page below the total
    (a list changing while read may have shifted a resource past it): refused."""
    result = attack(world, capsys, _total_shifts, concurrency)
    assert result["code"] == 3 and "where totalResults said" in result["err"]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_overlapping_pages_stop_the_sync(world, capsys, concurrency):
    """Pages that repeat a resource and drop one leave fewer than totalResults: refused,
    never groups taken for missing (created again) or users for not found."""
    result = attack(world, capsys, _overlapping, concurrency)
    assert result["code"] == 3
    assert "then an empty page, where totalResults said" in result["err"]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_ignoring_startindex_stops_the_sync(world, capsys, concurrency):
    result = attack(world, capsys, _ignores_start, concurrency)
    assert result["code"] == 3 and "the same resources again" in result["err"]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_group_twice_in_one_page_stops_the_sync(world, capsys, concurrency):
    """Not "2 groups named G0" (there is one): the page is refused for what it is."""
    result = attack(world, capsys, _group_twice, concurrency)
    assert result["code"] == 3 and "twice in one page" in result["err"]


def _throttle_pages(proxy, path, query, body):
    """A list page asked for while another request is being answered is refused, 429 or
    503 in turn (a limit on concurrent requests, as Okta has)."""
    if "filter" in query or "Resources" not in body or proxy.local.busy < 2:
        return body
    with proxy.lock:
        proxy.state["refused"] = refused = proxy.state.get("refused", 0) + 1
    status = 429 if refused % 2 else 503
    return status, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": str(status), "detail": "too many requests at once"}


@pytest.mark.parametrize("concurrency", [1, 8])
def test_pages_refused_with_429_or_503_are_asked_again(world, capsys, concurrency):
    result = attack(world, capsys, _throttle_pages, concurrency)
    assert result["failed"] == 0
    assert result["throttled"] > 0 if concurrency > 1 else result["throttled"] == 0


def _refs_only(proxy, path, query, body):
    """Members carry only `$ref` (no `value`), in lists and single reads."""
    groups = body.get("Resources", []) if path == "/Groups" else [body]
    for group in groups if path.startswith("/Groups") else []:
        kind = lambda m: "Groups" if m.get("type") == "Group" else "Users"  # noqa: E731
        group["members"] = [{"$ref": f"{proxy.upstream}/{kind(m)}/{m['value']}"}
                            for m in group.get("members") or []] or group.get("members")
    return body


@pytest.mark.parametrize("concurrency", [1, 8])
def test_members_as_ref_only_are_read(world, capsys, concurrency):
    result = attack(world, capsys, _refs_only, concurrency)
    assert result["failed"] == 0 and result["added"] + result["removed"] > 0


def _nest(server: LocalScimServer, inner: str, outer: str) -> None:
    """Make the group `inner` a member (type Group) of `outer`, straight at the server."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.url, headers=auth) as http:
        ids = {}
        for name in (inner, outer):
            found = http.get("/Groups", params={"filter": f'displayName eq "{name}"'}).json()
            ids[name] = found["Resources"][0]["id"]
        member = {"value": ids[inner], "type": "Group"}
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [member]}]}
        assert http.patch(f"/Groups/{ids[outer]}", json=body).status_code in (200, 204)


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_nested_group_member_is_kept(world, capsys, concurrency):
    """G5 is a member of G0 and G2 (type Group): never flattened, never removed (attack
    compares every member that is not an export user before and after, undo included)."""
    _nest(world[0], "G5", "G0")
    _nest(world[0], "G5", "G2")
    nested = _memberships(world[0])["G0"] - {f"user{i:03d}@ex.com" for i in range(EXPORT)}
    assert any("@" not in member for member in nested)  # the group's id, kept as is
    result = attack(world, capsys, None, concurrency)
    assert result["failed"] == 0


def _users_groups_partial(proxy, path, query, body):
    """Users carry `groups`, naming only the first managed group each is in (a server filling
    them lazily)."""
    if path == "/Users" and "Resources" in body:
        groups = proxy.forward("GET", "/Groups", {"count": "100"}, proxy.state["auth"])
        member_of: dict[str, list[dict[str, str]]] = {}
        for group in groups["Resources"]:
            for member in group.get("members") or []:
                member_of.setdefault(member["value"], []).append(
                    {"value": group["id"], "display": group["displayName"]})
        for user in body["Resources"]:
            user["groups"] = member_of.get(user["id"], [])[:1]
    return body


@pytest.mark.parametrize("concurrency", [1, 8])
def test_users_groups_that_leave_memberships_out_are_not_evidence(world, capsys, concurrency):
    result = attack(world, capsys, _users_groups_partial, concurrency)
    assert result["groups_read"].get("evidence") != "users"


@pytest.mark.parametrize("twist", [None, _stale_list])
def test_the_gate_catches_a_hand_edit_behind_a_stale_list(world, capsys, tmp_path, twist):
    """A plan saved, then user000 removed from G0 by hand, then the plan applied through a
    group list that still shows user000 in G0: the gate reads G0 singly and refuses."""
    server, users_file, mapping = world
    proxy = AttackProxy(server.url)
    proxy.start()
    try:
        plan = tmp_path / "plan.json"
        assert main(["sync", "--users", str(users_file), "--mapping", str(mapping),
                     "--url", proxy.url, "--apply-existing", "--dry-run",
                     "--plan-out", str(plan)]) == 0
        _hand_remove(server, "user000@ex.com", "G0")
        before = _memberships(server)
        proxy.twist = twist
        capsys.readouterr()
        code = main(["apply", str(plan), "--url", proxy.url, "--allow-mass-removal"])
        err = capsys.readouterr().err
    finally:
        proxy.stop()
    assert code == 2 and "the group G0 changed since the plan: 1 member differs" in err
    assert _memberships(server) == before


def _stale_after_writes(proxy, path, query, body):
    """The group list is a cache: once a write came, it keeps answering what it answered
    before the write (a search index lagging behind the writes)."""
    if not _group_list(path, query):
        return body
    key = json.dumps(query, sort_keys=True)
    with proxy.lock:
        cache = proxy.state.setdefault("cache", {})
        written = any(m in ("PATCH", "POST", "PUT") for m, _, _ in proxy.requests)
        if written and key in cache:
            return json.loads(cache[key])
        if not written:
            cache[key] = json.dumps(body)
    return body


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_read_back_from_a_lagging_list(world, capsys, concurrency):
    result = attack(world, capsys, _stale_after_writes, concurrency)
    assert result["not_kept"] == 0, result


def _page_three_late(proxy, path, query, body):
    """The list page at startIndex 3 comes last (the others overtake it)."""
    if "filter" not in query and query.get("startIndex") == "3":
        time.sleep(0.3)
    return body


@pytest.mark.parametrize("concurrency", [1, 8])
def test_pages_arriving_out_of_order(world, capsys, concurrency):
    result = attack(world, capsys, _page_three_late, concurrency)
    assert result["failed"] == 0 and result["not_found"] == 0
