"""The managed groups' members: from the group list where this server's list can be trusted,
else one GET /Groups/{id} per group.

Groups are listed with their members (a page holds up to `count` groups), so a sync that
changes nothing needs no request per group where the list is complete. Some servers cap the
members of list answers (or send none), so the list is trusted only on evidence, decided per
server at the start: the (up to) SAMPLE managed groups with the most members in the list, and
the one with the most on each other page of the list (a server may cap only some pages), are
also read one by one, and a single read showing a member the list leaves out means the list
is capped: every managed group is then read singly, as before. A single read showing fewer
is capped itself, or right and the list stale (members filters on a few it leaves out tell
which). Per group, a member count in the list above its members, or a user whose `groups`
name the group but whom the list leaves out (when every user was read), also sends that
group to a single read. A group the list shows without `members` is read singly (absent is
not empty). Where no group in the list shows members, the server's Group schema (/Schemas,
read only then) is asked whether `members` is returned only on request: then the list is
asked again naming `members`, and judged like any list (the schema alone never trusts it).

Last, each group's members must be witnessed: where /Schemas says `members` is `returned:
never` and no read showed them, or the users' `groups` or the group's own member count show
members its reads leave out, the members come from the users' `groups` when every server
user was read, else the group is `unseen`: the write path refuses it (a group read as empty
would get adds for members already in it, journaled as absent before, that an undo would
remove).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from app.core.identity import group_key
from app.scim.http import answers
from app.scim.http.client import ScimClient, member_ids
from app.scim.http.errors import AuthError, ConnectError, ScimError, TooLarge
from app.scim.http.features import GROUP_SCHEMA, members_returned
from app.scim.http.protocol import has_members, resource_path
from app.scim.http.replace import COUNT_FIELDS
from app.scim.sync.group_spelling import server_group
from app.scim.sync.groups_ahead import GroupListAhead, ListPage
from app.scim.sync.member_filter import sample_groups, stale_group
from app.scim.sync.read_progress import ReadProgress
from app.scim.sync.user_groups import members_from_users, refusal

SAMPLE = 3  # managed groups read singly to check the list's members against
SHOWN = 100  # groups named in `fell_back` (--json, the journal); the others only counted
ASKED = "displayName,members"  # the attributes asked for where members come on request only


@dataclass
class GroupsRead:
    """What was read of the managed groups that exist on the server."""

    ids: dict[str, str] = field(default_factory=dict)  # managed group -> server id
    members: dict[str, list[str]] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    listed: dict[str, set[str]] = field(default_factory=dict)  # the list's members, if any
    page: dict[str, int] = field(default_factory=dict)  # managed group -> its list page (0..)
    read_by: dict[str, str] = field(default_factory=dict)  # managed group -> "list"/"single"
    # groups read singly although the list was trusted for the others -> why
    fell_back: dict[str, str] = field(default_factory=dict)
    list_trusted: bool = False
    on_server: int = 0  # groups the list holds, managed or not
    names: list[str] = field(default_factory=list)  # every group's displayName on the server
    why: str = ""  # how the list was judged, for the log and --json
    basis: str = ""  # the evidence: "users" (their `groups`), "sample" (single reads), or ""
    schema: str = ""  # /Schemas' `returned` of Group.members, where it was asked
    attributes: str = ""  # asked of every group read ("" where members come by default)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # id -> listed
    shown: set[str] = field(default_factory=set)  # groups some read showed a member list of
    # groups whose reads do not show their members -> why; members from users' `groups`
    from_users: dict[str, str] = field(default_factory=dict)
    unseen: dict[str, str] = field(default_factory=dict)  # -> why (no witness: not written)


def read_groups(
    client: ScimClient,
    managed: Iterable[str],
    concurrency: int,
    claimed: dict[str, set[str]] | None = None,
    users: set[str] | None = None,
    progress: ReadProgress | None = None,
    carried: bool = False,
    ahead: GroupListAhead | None = None,
) -> GroupsRead:
    """The managed groups on the server with their members. claimed: group -> ids of the
    users whose `groups` name it; users: the ids of every server user, when all were read
    (then their `groups` are evidence, and a list missing one of them is not trusted);
    carried: users carry `groups` (read them all where a group's reads show no members).
    progress: counts every page and single read, and stops between them on Cancel. ahead:
    the group list, its first page asked for already (app/scim/sync/groups_ahead.py)."""
    progress = progress or ReadProgress()
    managed = list(managed)
    try:
        pages = ahead.pages() if ahead else client.iter_pages("/Groups", parallel=concurrency)
        listing = _list(pages, progress)
    except TooLarge:  # members make the pages too large here: read the groups one by one
        params = {"excludedAttributes": "members"}
        listing = _list(client.iter_pages("/Groups", params, parallel=concurrency), progress)
    read = _match(client, managed, listing)
    if read.ids and not any(read.listed.values()):
        _ask_schema(client, read, managed, concurrency, progress)
    single = _judge_list(client, read, concurrency, claimed or {}, users, progress)
    _read_singly(client, read, single, concurrency, progress)
    for name, group_id in read.ids.items():
        if name not in read.members:  # trusted from the list
            read.members[name] = sorted(read.listed[name])
            read.versions[name] = _version(read.entries[group_id])
            read.read_by[name] = "list"
    _witness(read, (claimed or {}) if users is not None else {}, users is not None)
    if read.unseen and carried and users is None:  # the users not read yet may name members
        _witness_by_users(client, read)
    for name, why in read.unseen.items():
        read.unseen[name] = refusal(client.base_url, name, why, carried)
    return read


def _witness_by_users(client: ScimClient, read: GroupsRead) -> None:
    """Every server user's `groups`, listed once, as the witness of the unseen groups."""
    named = members_from_users(client, {n: read.ids[n] for n in read.unseen})
    for name, why in list(read.unseen.items()):
        members = set(read.members[name]) | (named or {}).get(name, set())
        count = max(_counts(read.entries[read.ids[name]]), default=0)
        if named is not None and count <= len(members):
            read.members[name] = sorted(members)
            read.from_users[name] = why
            del read.unseen[name]


def _witness(read: GroupsRead, claimed: dict[str, set[str]], every_user: bool) -> None:
    """Groups whose reads do not witness their members: taken from the users' `groups` where
    every server user was read (and carries them), else named in `unseen`, with why."""
    for name, group_id in read.ids.items():
        members = set(read.members[name])
        named = claimed.get(name, set())
        count = max(_counts(read.entries[group_id]), default=0)
        if read.schema == "never" and name not in read.shown:
            why = "/Schemas: returned never"
        elif not named <= members:
            why = f"its users' `groups` name {len(named - members):,} member(s) its reads omit"
        elif count > len(members):
            why = f"its member count {count:,} is above the {len(members):,} its reads show"
        else:
            continue
        if every_user and count <= len(members | named):
            read.members[name] = sorted(members | named)
            read.from_users[name] = why
        else:
            read.unseen[name] = why


def groups_read_json(
    read_by: dict[str, str],
    why: str,
    basis: str,
    fell_back: dict[str, str],
    from_users: dict[str, str] | None = None,
    unseen: dict[str, str] | None = None,
) -> dict[str, Any]:
    """How the managed groups were read, for --json and the journal: counts by way, the
    evidence, each group read singly against the common way, each group whose members came
    from the users' `groups` and each not written to, with why (at most SHOWN of each named,
    so the record stays small for thousands of groups)."""
    ways = list(read_by.values())
    summary: dict[str, Any] = {"list": ways.count("list"), "single": ways.count("single")}
    if why:
        summary["why"] = why
    if basis:
        summary["evidence"] = basis
    for key, named in (("fell_back", fell_back), ("from_users", from_users), ("unseen", unseen)):
        if named:
            summary[key] = dict(list(named.items())[:SHOWN])
            if len(named) > SHOWN:
                summary[f"{key}_more"] = len(named) - SHOWN
    return summary


def _list(
    pages: Generator[ListPage], progress: ReadProgress
) -> list[list[dict[str, Any]]]:
    """Every group on the server, page by page, the pages counted as they come."""
    found: list[list[dict[str, Any]]] = []
    try:
        for page, total in pages:
            if not found:
                progress.expect(math.ceil(total / len(page)) if page else 1)
            found.append(page)
            progress.read()
    finally:
        pages.close()
    return found


def _match(
    client: ScimClient, managed: list[str], pages: list[list[dict[str, Any]]]
) -> GroupsRead:
    """The managed groups in the list, with the members it shows and the page they were on."""
    where = client.where("GET", "/Groups")
    listing = [group for page in pages for group in page]
    page_of = {str(group.get("id")): i for i, page in enumerate(pages) for group in page}
    by_key: dict[str, list[dict[str, Any]]] = {}
    by_id: dict[str, dict[str, Any]] = {}
    for group in listing:
        by_id[answers.resource_id(group, where, "Resources[].id")] = group
        name = group.get("displayName")
        if not isinstance(name, str):
            raise answers.wrong(where, "Resources[].displayName", name, "a string")
        by_key.setdefault(group_key(name), []).append(group)
    names = [g["displayName"] for g in by_id.values()]
    read = GroupsRead(on_server=len(listing), entries=by_id, names=names)
    # Only an exact spelling is adopted, so "Sales" and "sales" in one mapping can never
    # both claim the server's "Sales" (each would remove the other's members from it).
    for name in managed:
        group_id = server_group(client, name, by_key.get(group_key(name), []))
        if group_id is None:
            continue
        read.ids[name] = group_id
        read.page[name] = page_of[group_id]
        entry = by_id[group_id]
        if has_members(entry):
            read.listed[name] = set(member_ids(entry, where))
            read.shown.add(name)
    return read


def _ask_schema(
    client: ScimClient,
    read: GroupsRead,
    managed: list[str],
    concurrency: int,
    progress: ReadProgress,
) -> None:
    """No managed group in the list shows members: ask the server's Group schema why. Where
    `members` is returned on request only, the list is read again asking for it."""
    path = resource_path("/Schemas", GROUP_SCHEMA)
    try:
        schema = client.request("GET", path)
        read.schema = members_returned(schema or {}, client.where("GET", path))
    except (AuthError, ConnectError):
        raise
    except ScimError:  # no /Schemas here, or one unusable: no evidence from it
        return
    if read.schema != "request":
        return
    pages = client.iter_pages("/Groups", {"attributes": ASKED}, parallel=concurrency)
    listing = _list(pages, progress)
    asked = _match(client, managed, listing)
    read.ids, read.listed, read.entries = asked.ids, asked.listed, asked.entries
    read.page, read.shown = asked.page, asked.shown
    read.attributes = ASKED


def _judge_list(
    client: ScimClient,
    read: GroupsRead,
    concurrency: int,
    claimed: dict[str, set[str]],
    users: set[str] | None,
    progress: ReadProgress,
) -> list[str]:
    """Whether the list's members can be trusted on this server; the groups to read singly."""
    if not read.ids:
        return []
    if users is None:
        claimed = {}  # only every user's `groups` says who is in a group
    unlisted = [name for name in read.ids if name not in read.listed]
    for name in unlisted:
        read.fell_back[name] = "listed without members"
    doubtful = []
    for name, members in read.listed.items():
        count = max(_counts(read.entries[read.ids[name]]), default=0)
        if count > len(members):
            shown = len(members)
            read.fell_back[name] = f"its member count {count:,} is above the list's {shown:,}"
        elif not claimed.get(name, set()) <= members:
            read.fell_back[name] = "users' `groups` name members the list leaves out"
        else:
            continue
        doubtful.append(name)
    seen = users or set()
    filled = bool(seen) and any(claimed.get(n) for n in read.listed)
    if filled and all((m & seen) <= claimed.get(n, set()) for n, m in read.listed.items()):
        # Users fill `groups` on this server (it names every user the list shows): a group
        # whose list holds every user that names it needs no read of its own.
        read.list_trusted, read.basis = True, "users"
        read.why = "every user's `groups` agrees with the group list"
        return [*unlisted, *doubtful]
    sample = sample_groups(read.listed, read.page, doubtful, SAMPLE)
    if not sample:
        read.fell_back.clear()  # every group is read singly: none is an exception
        read.why = "no group in the list shows members to check it by" + _schema_said(read)
        return list(read.ids)
    _read_singly(client, read, sample, concurrency, progress)
    capped = [n for n in sample if not set(read.members[n]) <= read.listed[n]]
    read.basis = "sample"
    stale = "" if capped else stale_group(client, read.ids, read.listed, read.members, sample)
    if capped or stale:
        name = capped[0] if capped else stale
        read.fell_back.clear()
        read.why = (
            f"the group list shows {len(read.listed[name]):,} member(s) of {name!r}, a single "
            f"read {len(read.members[name]):,}: the list is capped, groups read singly"
            + (" (though /Schemas says members come on request)" if read.schema else "")
        ) if capped else (
            f"the group list shows member(s) of {stale!r} that neither a single read nor a "
            "members filter finds: the list is stale, groups read singly"
        )
        return list(read.ids)
    read.list_trusted = True
    read.why = f"the group list agrees with single reads of {len(sample)} group(s)"
    if read.schema:
        read.why += ", members asked for by name (/Schemas: returned on request)"
    for name in sample:  # a single read showing fewer is the capped one: the list holds all
        if set(read.members[name]) < read.listed[name]:
            read.members[name], read.read_by[name] = sorted(read.listed[name]), "list"
            read.why = f"single reads are capped ({name!r}): members read from the group list"
    for name in sample:
        if read.read_by[name] == "single":
            read.fell_back[name] = "read singly to check the list"
    return [n for n in [*unlisted, *doubtful] if n not in read.members]


def _schema_said(read: GroupsRead) -> str:
    """The end of `why` where every group is read singly: what /Schemas said, if asked."""
    if read.schema == "never":
        return ": groups read singly (/Schemas says members are never returned)"
    if read.schema:
        return f": groups read singly (/Schemas says members are returned {read.schema!r})"
    return ": groups read singly"


def _read_singly(
    client: ScimClient,
    read: GroupsRead,
    names: list[str],
    concurrency: int,
    progress: ReadProgress,
) -> None:
    """One GET per group, up to `concurrency` at once; a Cancel sends none after it."""
    names = [n for n in names if n not in read.members]
    progress.expect(len(names))

    def fetch(name: str) -> tuple[str, list[str], str | None, bool]:
        progress.check()
        group_id = read.ids[name]
        body, version = client.get_group(group_id, attributes=read.attributes or None)
        where = client.where("GET", f"/Groups/{group_id}")
        return name, member_ids(body, where), version, has_members(body)

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        for name, members, version, shown in pool.map(fetch, names):
            read.members[name], read.versions[name] = members, version
            read.read_by[name] = "single"
            if shown:
                read.shown.add(name)
            progress.read()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _counts(entry: dict[str, Any]) -> list[int]:
    return [c for f in COUNT_FIELDS if isinstance(c := entry.get(f), int)]


def _version(entry: dict[str, Any]) -> str | None:
    meta = entry.get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    return str(version) if version else None
