"""The hostile servers of tests/test_attack_reads.py: twists for tests/attack_proxy.py (each
rewrites the real server's read answers in one way) and hand edits made straight at the
server."""

from __future__ import annotations

import json
import time

import httpx

from app.scim.server import LocalScimServer
from tests.scim_fixtures import TOKEN


def group_list(path: str, query: dict[str, str]) -> bool:
    return path == "/Groups" and "filter" not in query


def cap_page_two(proxy, path, query, body):
    """Group list pages after the first show every group with no members (`[]`): a server
    filling members on its first page only."""
    if group_list(path, query) and int(query.get("startIndex", 1)) > 1:
        for group in body.get("Resources", []):
            if group.get("members"):
                group["members"] = []
    return body


def user_id(proxy, email: str) -> str:
    """The server id of a user (read straight from the upstream, cached)."""
    with proxy.lock:
        ids = proxy.state.setdefault("ids", {})
    if email not in ids:
        body = proxy.forward("GET", "/Users", {"filter": f'userName eq "{email}"'},
                             proxy.state["auth"])
        ids[email] = body["Resources"][0]["id"]
    return ids[email]


def hand_remove(server: LocalScimServer, email: str, group: str) -> None:
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


def stale_list(proxy, path, query, body):
    """The group list is a cache from before user000 was removed from G0 by hand (G0, the
    biggest group, is read singly to check the list, and shows one member fewer)."""
    if group_list(path, query):
        uid = user_id(proxy, "user000@ex.com")
        for group in body.get("Resources", []):
            listed = {m["value"] for m in group.get("members") or []}
            if group.get("displayName") == "G0" and listed and uid not in listed:
                group["members"].append({"value": uid})
    return body


def single_capped(proxy, path, query, body):
    """Single reads show at most 2 members; lists are complete."""
    if path.startswith("/Groups/") and body.get("members"):
        body["members"] = body["members"][:2]
    return body


def list_capped_above(proxy, path, query, body):
    """Lists show at most 3 members of a group; single reads are complete."""
    if group_list(path, query):
        for group in body.get("Resources", []):
            if group.get("members"):
                group["members"] = group["members"][:3]
    return body


def total_shifts(proxy, path, query, body):
    """totalResults grows by 3 on every page after the first, for users and groups."""
    if "filter" not in query and "totalResults" in body and int(query.get("startIndex", 1)) > 1:
        body["totalResults"] += 3
    return body


def total_shrinks(proxy, path, query, body):
    """totalResults says 2 fewer on pages after the first."""
    if "filter" not in query and "totalResults" in body and int(query.get("startIndex", 1)) > 1:
        body["totalResults"] -= 2
    return body


def overlapping(proxy, path, query, body):
    """Each page after the first starts with the previous page's last resource, the page's
    own last resource dropped (the page keeps its size)."""
    start, count = int(query.get("startIndex", 1)), int(query.get("count", 0) or 0)
    if "filter" not in query and start > 1 and count and body.get("Resources"):
        before = proxy.forward("GET", path, dict(query, startIndex=str(start - 1), count="1"),
                               proxy.state["auth"])
        body["Resources"] = before["Resources"][:1] + body["Resources"][:-1]
    return body


def short_pages(proxy, path, query, body):
    """Pages 2 and 3 hold one resource fewer than asked (not the last page)."""
    start, count = int(query.get("startIndex", 1)), int(query.get("count", 0) or 0)
    resources = body.get("Resources")
    inner = resources and len(resources) == count and start + count <= body["totalResults"]
    if "filter" not in query and count and 1 < start <= 1 + 2 * count and inner:
        body["Resources"] = resources[:-1]
    return body


def ignores_start(proxy, path, query, body):
    """Every list answer is page 1."""
    if "filter" not in query and int(query.get("startIndex", 1)) > 1:
        return proxy.forward("GET", path, dict(query, startIndex="1"), proxy.state["auth"])
    return body


def group_twice(proxy, path, query, body):
    """The first page of the group list holds the biggest group a second time, showing one
    member fewer."""
    if group_list(path, query) and int(query.get("startIndex", 1)) == 1:
        resources = body.get("Resources", [])
        if resources and resources[0].get("members"):
            copy = json.loads(json.dumps(resources[0]))
            copy["members"] = copy["members"][:-1]
            resources.append(copy)
    return body


def throttle_pages(proxy, path, query, body):
    """The first answer to the list page at startIndex 3 (asked for at once with others at
    --concurrency 8) is 429 for the users, 503 for the groups; asked again, it is answered."""
    if "filter" in query or "Resources" not in body or query.get("startIndex") != "3":
        return body
    with proxy.lock:
        refused = proxy.state.setdefault("refused", set())
        key = (path, json.dumps(query, sort_keys=True))
        if key in refused:
            return body
        refused.add(key)
    status = 429 if path == "/Users" else 503
    return status, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": str(status), "detail": "too many requests at once"}


def refs_only(proxy, path, query, body):
    """Members carry only `$ref` (no `value`), in lists and single reads."""
    groups = body.get("Resources", []) if path == "/Groups" else [body]
    for group in groups if path.startswith("/Groups") else []:
        kind = lambda m: "Groups" if m.get("type") == "Group" else "Users"  # noqa: E731
        group["members"] = [{"$ref": f"{proxy.upstream}/{kind(m)}/{m['value']}"}
                            for m in group.get("members") or []] or group.get("members")
    return body


def nest(server: LocalScimServer, inner: str, outer: str) -> None:
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


def users_groups_partial(proxy, path, query, body):
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


def stale_after_writes(proxy, path, query, body):
    """The group list is a cache: once a write came, it keeps answering what it answered
    before the write (a search index lagging behind the writes)."""
    if not group_list(path, query):
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


def page_three_late(proxy, path, query, body):
    """The list page at startIndex 3 comes last (the others overtake it)."""
    if "filter" not in query and query.get("startIndex") == "3":
        time.sleep(0.3)
    return body


def group_again_later(proxy, path, query, body):
    """The group list's second page also holds the first page's first group, one member
    short (a page one longer than asked)."""
    if group_list(path, query) and query.get("startIndex") == str(1 + int(query["count"])):
        first = proxy.forward("GET", path, dict(query, startIndex="1"), proxy.state["auth"])
        copy = first["Resources"][0]
        copy["members"] = (copy.get("members") or [])[:-1]
        body["Resources"].append(copy)
    return body


def total_per_page(proxy, path, query, body):
    """totalResults says how many resources this page holds (a common server bug)."""
    if "filter" not in query and "Resources" in body:
        body["totalResults"] = len(body["Resources"])
    return body
