"""Read what the service provider holds now: the export's users and the managed groups.

Users are read by listing pages or by one filter per user, whichever takes fewer requests
(decided after the first page, which says how many users the server has). Groups are listed
without members; only the managed ones are then read with their members.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import InputError
from app.core.mapping import Mapping
from app.core.users import UserList, split_groups
from app.scim.client import FilterIgnored, ScimClient, attribute_values, member_ids
from app.scim.errors import SyncCancelled
from app.scim.settings import SyncProgress, SyncSettings


@dataclass
class ServerGroup:
    id: str
    name: str
    members: list[str]  # SCIM ids of every member, export users or not
    version: str | None = None


@dataclass
class ServerState:
    """The server's view of the export's users and of the managed groups."""

    user_ids: dict[str, str] = field(default_factory=dict)  # export email (lower) -> SCIM id
    groups: dict[str, ServerGroup] = field(default_factory=dict)  # managed group -> group
    attribute_values: dict[str, str] = field(default_factory=dict)  # email -> value (attr mode)
    all_groups_of: dict[str, list[str]] | None = None  # email -> every group, if users say so
    not_found: list[str] = field(default_factory=list)  # export emails, as written
    managed: list[str] = field(default_factory=list)
    read_by: str = "list"  # "list" or "filter"

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
    return value if attribute == "externalId" else value.casefold()


def read_server_state(
    client: ScimClient,
    users: UserList,
    mapping: Mapping,
    settings: SyncSettings,
    progress: Callable[[SyncProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ServerState:
    """The server's state for the export's users and the mapping's managed groups."""
    started = time.monotonic()
    state = ServerState(managed=mapping.managed_groups())

    def check() -> None:
        if cancelled is not None and cancelled():
            raise SyncCancelled("cancelled while reading the server; nothing was written")

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(SyncProgress(done, max(total, done), time.monotonic() - started, "read"))

    features = client.features()
    attribute = settings.filter_attribute
    wanted: dict[str, str] = {}  # key -> export email as written
    for email in users.frame["email"]:
        email = email.strip()
        if email:
            wanted.setdefault(_key(email, attribute), email)
    attributes = ["id", "userName", "emails", "externalId", "groups"]
    if settings.target == "attribute":
        attributes.append(str(settings.attribute))
    resources: dict[str, dict[str, Any]] = {}  # key -> user resource

    def take(resource: dict[str, Any]) -> None:
        for value in attribute_values(resource, attribute):
            key = _key(value, attribute)
            if key in wanted and key not in resources:
                resources[key] = resource

    pages = client.iter_pages("/Users", {"attributes": ",".join(attributes)})
    first, total = next(pages, ([], 0))
    for resource in first:
        take(resource)
    page_size = max(len(first), 1)
    pages_left = math.ceil(max(0, total - len(first)) / page_size)
    missing = [key for key in wanted if key not in resources]
    if missing and features.filter and len(missing) < pages_left:
        try:
            written = [wanted[key] for key in missing]
            _read_by_filter(client, settings, attributes, written, take, report, cancelled)
            state.read_by = "filter"
        except FilterIgnored:
            pass
    if state.read_by == "list":
        done = 1
        for page, total in pages:
            done += 1
            for resource in page:
                take(resource)
            report(done, math.ceil(total / page_size))
            check()
            if all(key in resources for key in wanted):
                break
    pages.close()
    check()

    has_groups = any("groups" in r for r in resources.values())
    if has_groups:
        state.all_groups_of = {}
    for key, email in wanted.items():
        resource = resources.get(key)
        if resource is None:
            state.not_found.append(email)
            continue
        lower = email.lower()
        state.user_ids[lower] = str(resource["id"])
        if has_groups:
            state.all_groups_of[lower] = [
                str(g.get("display")) for g in resource.get("groups") or [] if g.get("display")
            ]
        if settings.target == "attribute":
            state.attribute_values[lower] = read_attribute(resource, str(settings.attribute))
    if settings.target == "groups":
        _read_groups(client, settings, state)
    check()
    return state


def _read_by_filter(client, settings, attributes, missing, take, report, cancelled) -> None:
    """One filter per export email, spelled as the export writes it.

    RFC 7643 compares userName and emails case-insensitively, but some servers compare
    exactly: the export's spelling (the IdP's, like the server's) finds the user there, and
    a lower-case spelling is tried after it finds nobody.
    """
    attribute = settings.filter_attribute
    done = 0
    ignored = threading.Event()  # one ignored filter is enough: the others are not sent

    def find(email: str) -> list[dict[str, Any]]:
        if ignored.is_set() or (cancelled is not None and cancelled()):
            return []
        try:
            found = client.find_users(attribute, email, attributes)
            if not found and attribute != "externalId" and email.lower() != email:
                found = client.find_users(attribute, email.lower(), attributes)
        except FilterIgnored:
            ignored.set()
            raise
        return found

    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for found in pool.map(find, missing):
            done += 1
            for resource in found:
                take(resource)
            report(done, len(missing))


def _read_groups(client: ScimClient, settings: SyncSettings, state: ServerState) -> None:
    listed = client.list_groups()
    by_exact = {}
    by_folded: dict[str, dict[str, Any]] = {}
    for group in listed:
        name = str(group.get("displayName") or "")
        by_exact.setdefault(name, group)
        by_folded.setdefault(name.casefold(), group)
    # A server group backs one managed group at most: "Sales" and "sales" in one mapping
    # would otherwise both claim the server's "Sales", and each would remove the other's
    # members from it.
    found = {name: str(by_exact[name]["id"]) for name in state.managed if name in by_exact}
    claimed = {group_id: name for name, group_id in found.items()}
    for name in state.managed:
        group = by_folded.get(name.casefold())
        if name in found or group is None:
            continue
        group_id = str(group["id"])
        if group_id in claimed:
            raise InputError(
                f"the mapping names the groups {claimed[group_id]!r} and {name!r}, which are "
                f"one group on the server ({group.get('displayName')!r}): spell them the same "
                "way in the mapping; nothing was written"
            )
        found[name] = claimed[group_id] = group_id

    def fetch(item: tuple[str, str]) -> ServerGroup:
        name, group_id = item
        body, version = client.get_group(group_id)
        return ServerGroup(group_id, name, member_ids(body), version)

    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for group in pool.map(fetch, found.items()):
            state.groups[group.name] = group


def export_groups_of(users: UserList) -> dict[str, tuple[str, ...]]:
    """Per export email (lower): the current groups written in the export."""
    return {
        email.strip().lower(): split_groups(groups)
        for email, groups in zip(users.frame["email"], users.frame["groups"], strict=True)
    }
