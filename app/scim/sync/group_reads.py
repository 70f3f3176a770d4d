"""The managed groups' members: from the group list where this server's list can be trusted,
else one GET /Groups/{id} per group.

Groups are listed with their members (a page holds up to `count` groups), so a sync that
changes nothing needs no request per group where the list is complete. Some servers cap the
members of list answers (or send none), so the list is trusted only on evidence, decided per
server at the start: the (up to) SAMPLE managed groups with the most members in the list are
also read one by one, and a single read showing a member the list leaves out means the list
is capped: every managed group is then read singly, as before. Per group, a member count in
the list above its members, or a user whose `groups` name the group but whom the list leaves
out (when every user was read), also sends that group to a single read. A group the list
shows without `members` is read singly (absent is not empty).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import InputError
from app.core.identity import group_key
from app.scim.http import answers
from app.scim.http.client import ScimClient, member_ids
from app.scim.http.errors import TooLarge
from app.scim.http.members import COUNT_FIELDS
from app.scim.http.protocol import has_members

SAMPLE = 3  # managed groups read singly to check the list's members against


@dataclass
class GroupsRead:
    """What was read of the managed groups that exist on the server."""

    ids: dict[str, str] = field(default_factory=dict)  # managed group -> server id
    members: dict[str, list[str]] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    listed: dict[str, set[str]] = field(default_factory=dict)  # the list's members, if any
    read_by: dict[str, str] = field(default_factory=dict)  # managed group -> "list"/"single"
    list_trusted: bool = False
    on_server: int = 0  # groups the list holds, managed or not
    why: str = ""  # how the list was judged, for the log and --json


def read_groups(
    client: ScimClient,
    managed: Iterable[str],
    concurrency: int,
    claimed: dict[str, set[str]] | None = None,
    users: set[str] | None = None,
) -> GroupsRead:
    """The managed groups on the server with their members. claimed: group -> ids of the
    users whose `groups` name it; users: the ids of every server user, when all were read
    (then their `groups` are evidence, and a list missing one of them is not trusted)."""
    where = client.where("GET", "/Groups")
    try:
        listing = client.list_groups(members=True, parallel=concurrency)
    except TooLarge:  # members make the pages too large here: read the groups one by one
        listing = client.list_groups(parallel=concurrency)
    by_key: dict[str, list[dict[str, Any]]] = {}
    by_id: dict[str, dict[str, Any]] = {}
    for group in listing:
        by_id[answers.resource_id(group, where, "Resources[].id")] = group
        name = group.get("displayName")
        if not isinstance(name, str):
            raise answers.wrong(where, "Resources[].displayName", name, "a string")
        by_key.setdefault(group_key(name), []).append(group)
    read = GroupsRead(on_server=len(listing))
    # Only an exact spelling is adopted, so "Sales" and "sales" in one mapping can never
    # both claim the server's "Sales" (each would remove the other's members from it).
    for name in managed:
        group_id = server_group(client, name, by_key.get(group_key(name), []))
        if group_id is None:
            continue
        read.ids[name] = group_id
        entry = by_id[group_id]
        if has_members(entry):
            read.listed[name] = set(member_ids(entry, where))
    single = _judge_list(client, read, by_id, concurrency, claimed or {}, users)
    _read_singly(client, read, single, concurrency)
    for name, group_id in read.ids.items():
        if name not in read.members:  # trusted from the list
            read.members[name] = sorted(read.listed[name])
            read.versions[name] = _version(by_id[group_id])
            read.read_by[name] = "list"
    return read


def _judge_list(
    client: ScimClient,
    read: GroupsRead,
    by_id: dict[str, dict[str, Any]],
    concurrency: int,
    claimed: dict[str, set[str]],
    users: set[str] | None,
) -> list[str]:
    """Whether the list's members can be trusted on this server; the groups to read singly."""
    if not read.ids:
        return []
    if users is None:
        claimed = {}  # only every user's `groups` says who is in a group
    unlisted = [name for name in read.ids if name not in read.listed]
    doubtful = [
        name
        for name, members in read.listed.items()
        if any(c > len(members) for c in _counts(by_id[read.ids[name]]))
        or not claimed.get(name, set()) <= members
    ]
    seen = users or set()
    filled = bool(seen) and any(claimed.get(n) for n in read.listed)
    if filled and all((m & seen) <= claimed.get(n, set()) for n, m in read.listed.items()):
        # Users fill `groups` on this server (it names every user the list shows): a group
        # whose list holds every user that names it needs no read of its own.
        read.list_trusted = True
        read.why = "every user's `groups` agrees with the group list"
        return [*unlisted, *doubtful]
    sample = sorted(
        (n for n in read.listed if n not in doubtful and read.listed[n]),
        key=lambda n: -len(read.listed[n]),
    )[:SAMPLE]
    if not sample:
        read.why = "no group in the list shows members to check it by: groups read singly"
        return list(read.ids)
    _read_singly(client, read, sample, concurrency)
    capped = [n for n in sample if not set(read.members[n]) <= read.listed[n]]
    if capped:
        name = capped[0]
        read.why = (
            f"the group list shows {len(read.listed[name]):,} member(s) of {name!r}, a single "
            f"read {len(read.members[name]):,}: the list is capped, groups read singly"
        )
        return list(read.ids)
    read.list_trusted = True
    read.why = f"the group list agrees with single reads of {len(sample)} group(s)"
    for name in sample:  # a single read showing fewer is the capped one: the list holds all
        if set(read.members[name]) < read.listed[name]:
            read.members[name], read.read_by[name] = sorted(read.listed[name]), "list"
            read.why = f"single reads are capped ({name!r}): members read from the group list"
    return [n for n in [*unlisted, *doubtful] if n not in read.members]


def _read_singly(
    client: ScimClient, read: GroupsRead, names: list[str], concurrency: int
) -> None:
    names = [n for n in names if n not in read.members]

    def fetch(name: str) -> tuple[str, list[str], str | None]:
        group_id = read.ids[name]
        body, version = client.get_group(group_id)
        return name, member_ids(body, client.where("GET", f"/Groups/{group_id}")), version

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for name, members, version in pool.map(fetch, names):
            read.members[name], read.versions[name] = members, version
            read.read_by[name] = "single"


def _counts(entry: dict[str, Any]) -> list[int]:
    return [c for f in COUNT_FIELDS if isinstance(c := entry.get(f), int)]


def _version(entry: dict[str, Any]) -> str | None:
    meta = entry.get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    return str(version) if version else None


def server_group(client: ScimClient, name: str, similar: list[dict[str, Any]]) -> str | None:
    """The id of the one server group spelled exactly as the managed group, or None.

    Two groups of that exact name, or only groups of its group_key (differing by case,
    spacing, Unicode form or invisible characters), stop the sync: adopting one would be a
    guess, and creating the group beside them would make a near-duplicate.
    """
    exact = [g for g in similar if g["displayName"] == name]
    if len(exact) == 1:
        return str(exact[0]["id"])
    if not similar:
        return None
    shown = ", ".join(f"{g['displayName']!r} (id {g['id']})" for g in similar)
    if exact:
        what, advice = f"{len(exact)} groups named {name!r}: {shown}", (
            "Delete or rename the extra ones on the server"
        )
    else:
        what, advice = f"no group spelled exactly {name!r}, only {shown}", (
            "Rename the server group to the mapping's spelling, or spell the mapping's group "
            "as the server does"
        )
    raise InputError(
        f"{client.base_url} has {what} (differing at most by case, spacing, Unicode form or "
        f"invisible characters): GroupMap will not pick one. {advice}, then run the sync "
        "again; nothing was written"
    )
