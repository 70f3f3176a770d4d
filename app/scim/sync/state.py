"""Read what the service provider holds now: the export's users and the managed groups.

Users are read by listing pages or by one filter per user, whichever takes fewer requests
(decided after the first page, which says how many users the server has); users a filter
does not find (a server comparing case-exactly, or refusing the filter) are then looked for
by listing. Groups are listed with their members, trusted where this server's list is
(app/scim/sync/group_reads.py); the others are read one by one. Nothing is guessed: two
accounts for one export user, one account for two export users, or two server groups for
one managed group are reported, never picked.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import InputError
from app.core.identity import email_key, same_name_groups
from app.core.mapping import Mapping
from app.core.users import UserList, split_groups
from app.scim.config.settings import SyncProgress, SyncSettings
from app.scim.http import answers
from app.scim.http.client import FilterIgnored, ScimClient, attribute_values
from app.scim.http.errors import ScimError
from app.scim.sync.group_reads import groups_read_json, read_groups
from app.scim.sync.groups_ahead import GroupListAhead
from app.scim.sync.listed_users import ListedUsers
from app.scim.sync.read_progress import ReadProgress
from app.scim.sync.user_reads import read_by_filter, resolve_users, stop_if_nobody_found


@dataclass
class ServerGroup:
    id: str
    name: str
    members: list[str]  # SCIM ids of every member, export users or not
    version: str | None = None


@dataclass
class ServerState:
    """The server's view of the export's users and of the managed groups."""

    user_ids: dict[str, str] = field(default_factory=dict)  # email_key -> SCIM id
    groups: dict[str, ServerGroup] = field(default_factory=dict)  # managed group -> group
    attribute_values: dict[str, str] = field(default_factory=dict)  # email -> value (attr mode)
    all_groups_of: dict[str, list[str]] | None = None  # email -> every group, if users say so
    not_found: list[str] = field(default_factory=list)  # export emails, as written
    ambiguous: dict[str, str] = field(default_factory=dict)  # email_key -> why left alone
    # group displayName -> ids of every user read (export or not) whose `groups` name it: a
    # group's member list without them is incomplete (never replaced from, on PUT servers)
    claimed_members: dict[str, set[str]] = field(default_factory=dict)
    users_complete: bool = False  # every server user was read, and users carry `groups`
    users_read: set[str] = field(default_factory=set)  # ids of every server user read
    users_carry_groups: bool = False  # some user read carries `groups`
    # managed group -> member ids as the group list (GET /Groups) shows them, where it does:
    # a witness independent of GET /Groups/{id}, for servers that replace whole groups
    listed_members: dict[str, set[str]] = field(default_factory=dict)
    groups_read_by: dict[str, str] = field(default_factory=dict)  # group -> "list"/"single"
    groups_judged: str = ""  # how this server's group list was judged
    groups_basis: str = ""  # its evidence: "users" (their `groups`), "sample", or ""
    groups_asked: str = ""  # attributes asked by name (a server returning members on request)
    groups_fell_back: dict[str, str] = field(default_factory=dict)  # read singly -> why
    # groups whose reads hide their members: -> why, members from users' `groups` / -> refusal
    groups_from_users: dict[str, str] = field(default_factory=dict)
    groups_unseen: dict[str, str] = field(default_factory=dict)  # never written to
    groups_list_trusted: bool = False  # its members may be read from the list (read-back too)
    groups_on_server: int = 0  # every group the list holds, managed or not
    group_names: list[str] = field(default_factory=list)  # theirs (the app's group names)
    managed: list[str] = field(default_factory=list)
    read_by: str = "list"  # "list" or "filter"
    read_at: float = 0.0  # time.monotonic() when the read ended; 0: not read here (a file)
    # the read's requests by kind, where its client was not the sync's (the app's journal)
    requests_by_kind: dict[str, int] = field(default_factory=dict)

    def groups_read(self) -> dict[str, Any]:
        """How the managed groups were read (list, single, why, evidence, fell_back)."""
        return groups_read_json(
            self.groups_read_by, self.groups_judged, self.groups_basis, self.groups_fell_back,
            self.groups_from_users, self.groups_unseen,
        )

    def email_of_id(self) -> dict[str, str]:
        return {uid: email for email, uid in self.user_ids.items()}

    def managed_groups_of(self) -> dict[str, list[str]]:
        """Per export user found: the managed groups the server has them in."""
        by_id = self.email_of_id()
        result: dict[str, list[str]] = {email: [] for email in self.user_ids}
        for name in self.managed:
            group = self.groups.get(name)
            if group is None:
                continue
            for member in group.members:
                email = by_id.get(member)
                if email is not None and name not in result[email]:
                    result[email].append(name)
        if self.attribute_values:
            for email, value in self.attribute_values.items():
                result[email] = [value] if value in self.managed else []
        return result

    def current_memberships(self) -> int:
        """Memberships of the managed groups on the server (the mass-removal guard's base)."""
        if self.attribute_values:
            return sum(1 for v in self.attribute_values.values() if v in self.managed)
        return sum(len(set(g.members)) for g in self.groups.values())


def read_attribute(resource: dict[str, Any], path: str) -> str:
    """The value at an attribute path such as urn:...:enterprise:2.0:User:department."""
    container: Any = resource
    name = path
    if path.startswith("urn:"):
        schema, _, name = path.rpartition(":")
        container = resource.get(schema) or {}
    for part in name.split("."):
        if not isinstance(container, dict):
            return ""
        container = container.get(part)
    return "" if container is None else str(container)


def _key(value: str, attribute: str) -> str:
    return value if attribute == "externalId" else email_key(value)


def read_server_state(
    client: ScimClient,
    users: UserList,
    mapping: Mapping,
    settings: SyncSettings,
    progress: Callable[[SyncProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    listed: ListedUsers | None = None,
) -> ServerState:
    """The server's state for the export's users and the mapping's managed groups; `listed`:
    the server's users as the `scim:` source read them just before (not listed again)."""
    return read_scope(client, users, mapping.managed_groups(), settings, progress, cancelled,
                      listed)


def read_scope(
    client: ScimClient,
    users: UserList,
    managed: list[str],
    settings: SyncSettings,
    progress: Callable[[SyncProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    listed: ListedUsers | None = None,
) -> ServerState:
    """The server's state for these users and these managed groups (the write gate reads a
    plan's scope again with it)."""
    state = ServerState(managed=list(managed))
    if settings.target == "groups":
        _stop_if_same_name(state.managed)

    reads = ReadProgress(progress, cancelled)  # pages read of pages known, and Cancel
    attribute = settings.filter_attribute
    wanted: dict[str, str] = {}  # key -> export email as written
    for email in users.frame["email"]:
        email = email.strip()
        if email:
            wanted.setdefault(_key(email, attribute), email)
    attributes = ["id", "userName", "emails", "externalId", "groups"]
    if settings.target == "attribute":
        attributes.append(str(settings.attribute))
    candidates: dict[str, dict[str, dict[str, Any]]] = {}  # key -> {id: user resource}
    where = client.where("GET", "/Users")

    def take(resource: dict[str, Any]) -> None:
        user_id = answers.resource_id(resource, where, "Resources[].id")
        state.users_read.add(user_id)
        if resource.get("groups") is not None:
            state.users_carry_groups = True
            for name in _group_names(resource, where, direct_only=True):
                state.claimed_members.setdefault(name, set()).add(user_id)
        for value in attribute_values(resource, attribute):
            key = _key(value, attribute)
            if key in wanted:
                candidates.setdefault(key, {})[user_id] = resource

    query = {"attributes": ",".join(attributes)}
    if listed is not None and listed.covers(attributes):
        pages = listed.pages()
    else:
        pages = client.iter_pages("/Users", query, expected=len(wanted),
                                  parallel=settings.concurrency)
    _read_users(client, settings, pages, take, wanted, candidates, attributes, reads, state)
    ahead: GroupListAhead | None = None
    if settings.target == "groups" and candidates:  # built while the users are resolved
        ahead = GroupListAhead(client, settings.concurrency)
    try:
        resources = resolve_users(wanted, candidates, attribute, state.ambiguous)
        if any("groups" in r for r in resources.values()):
            state.all_groups_of = {}
        for key, email in wanted.items():
            account = resources.get(key)
            if account is None:
                if email_key(email) not in state.ambiguous:
                    state.not_found.append(email)
                continue
            key = email_key(email)
            state.user_ids[key] = str(account["id"])
            if state.all_groups_of is not None:
                state.all_groups_of[key] = _group_names(account, where)
            if settings.target == "attribute":
                state.attribute_values[key] = read_attribute(account, str(settings.attribute))
        stop_if_nobody_found(client, settings, wanted, bool(state.user_ids or state.ambiguous))
        if settings.target == "groups":
            _read_groups(client, settings, state, reads, ahead)
    finally:
        if ahead is not None:
            ahead.close()
    reads.check()
    state.read_at = time.monotonic()
    return state


def _read_users(
    client: ScimClient,
    settings: SyncSettings,
    pages: Generator[tuple[list[dict[str, Any]], int]],
    take: Callable[[dict[str, Any]], None],
    wanted: dict[str, str],
    candidates: dict[str, dict[str, dict[str, Any]]],
    attributes: list[str],
    reads: ReadProgress,
    state: ServerState,
) -> None:
    """The user pages (or one filter per user where that takes fewer requests), each user
    `take`n."""
    try:
        first, total = next(pages, ([], 0))
        for resource in first:
            take(resource)
        page_size = max(len(first), 1)
        pages_left = math.ceil(max(0, total - len(first)) / page_size)
        reads.expect(1 + pages_left)
        reads.read()
        missing = [key for key in wanted if key not in candidates]
        if missing and client.features().filter and len(missing) < pages_left:
            try:
                written = [wanted[key] for key in missing]
                reads.expect(len(written) - pages_left)  # lookups instead of the pages left
                read_by_filter(client, settings, attributes, written, take, reads)
                state.read_by = "filter"
            except FilterIgnored:
                pass
            except ScimError as exc:
                if exc.status != 400:  # a filter this server cannot answer: list here
                    raise
        if any(key not in candidates for key in wanted):  # pages read ahead: none needlessly
            for page, _ in pages:
                for resource in page:
                    take(resource)
                reads.read()
                if all(key in candidates for key in wanted):
                    break
        # read to the end (totalResults users): their `groups` say who is in which group
        state.users_complete = state.users_carry_groups and len(state.users_read) >= total
        reads.check()
    finally:
        pages.close()


def _group_names(resource: dict[str, Any], where: str, direct_only: bool = False) -> list[str]:
    """The displays of a user's `groups` (RFC 7643 4.1.2), each checked for its type;
    direct_only leaves out memberships through nested groups (type "indirect")."""
    groups = answers.objects(resource.get("groups"), where, "Resources[].groups")
    return [
        str(g["display"])
        for g in groups
        if g.get("display") and not (direct_only and g.get("type") == "indirect")
    ]


def _stop_if_same_name(managed: list[str]) -> None:
    """Two managed groups one server would hold as one: creating both makes a near-duplicate,
    and each would remove the other's members. Stop before the first request."""
    pairs = same_name_groups(managed)
    if pairs:
        shown = "; ".join(" and ".join(repr(name) for name in names) for names in pairs)
        raise InputError(
            f"the mapping names {shown}, which differ only by case, spacing, Unicode form or "
            "invisible characters (one group on a server): GroupMap will not create both. "
            "Spell each group one way in the mapping, then run the sync again; nothing was "
            "written"
        )


def _read_groups(
    client: ScimClient,
    settings: SyncSettings,
    state: ServerState,
    reads: ReadProgress,
    ahead: GroupListAhead | None = None,
) -> None:
    """The managed groups with their members: from the group list where this server's list
    is trusted, else one read per group (app/scim/sync/group_reads.py)."""
    users = state.users_read if state.users_complete else None
    read = read_groups(client, state.managed, settings.concurrency, state.claimed_members,
                       users, reads, state.users_carry_groups, ahead)
    for name, group_id in read.ids.items():
        state.groups[name] = ServerGroup(group_id, name, read.members[name], read.versions[name])
    state.listed_members = read.listed
    state.groups_read_by = read.read_by
    state.groups_judged = read.why
    state.groups_fell_back = read.fell_back
    state.groups_from_users, state.groups_unseen = read.from_users, read.unseen
    state.groups_basis, state.groups_asked = read.basis, read.attributes
    state.groups_list_trusted = read.list_trusted
    state.groups_on_server, state.group_names = read.on_server, read.names


def export_groups_of(users: UserList) -> dict[str, tuple[str, ...]]:
    """Per export email (email_key): the current groups written in the export."""
    return {
        email_key(email): split_groups(groups)
        for email, groups in zip(users.frame["email"], users.frame["groups"], strict=True)
    }
