"""Conditional group writes: the version a write must still find (If-Match, RFC 7644 3.14),
and the whole group replaced with PUT on a server without PATCH.

A PUT replaces every member, so it is sent only from a member list a second witness confirms
complete (the group list's members, every user's `groups`, the group's own member count), and
with If-Match on the version read right before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from app.scim.http.errors import ScimError, UnsafeWrite
from app.scim.http.protocol import GROUP_SCHEMA, has_members, member_ids, resource_path
from app.scim.http.transport import Transport

COUNT_FIELDS = ("memberCount", "membersCount", "totalMembers")  # vendor extensions seen


@dataclass
class Witness:
    """The version of a group its writes must still find (If-Match; None: unconditional),
    moved on by each request of one membership write; after it, the version it left."""

    version: str | None

    def moved(self, version: str | None) -> None:
        """The group is now at `version` (a write's answer, a read on the way)."""
        if self.version is not None:
            self.version = version

    def still(self, version: str | None, server: str, group_id: str) -> bool:
        """Whether writes are conditional; raises a 412 where a read on the way finds the
        group changed since the witness."""
        if self.version is not None and version != self.version:
            raise ScimError(412, None, f"{server}: group {group_id} changed since it was read")
        return self.version is not None


class Replacing(Protocol):
    """What a replacement uses of ScimClient."""

    @property
    def base_url(self) -> str: ...

    @property
    def transport(self) -> Transport: ...

    def where(self, method: str, path: str) -> str: ...

    def get_group(self, group_id: str) -> tuple[dict[str, Any], str | None]: ...

    def request_versioned(
        self, method: str, path: str, **kwargs: Any
    ) -> tuple[object, str | None]: ...


def replace_members(
    client: Replacing,
    group_id: str,
    add: list[str],
    remove: list[str],
    known: set[str] | None,
    w: Witness,
) -> object:
    """PUT the group as read, members changed. The group as read here must still be the one
    the caller witnessed, and a 412 to the PUT goes back to the caller; without a witness, a
    412 reads again here."""
    gone = set(remove)
    path = resource_path("/Groups", group_id)
    for attempt in range(1, client.transport.max_attempts + 1):
        group, version = client.get_group(group_id)
        conditional = w.still(version, client.base_url, group_id)
        members = complete_members(client, group, path, known)
        members = [m for m in members if m not in gone]
        members += [m for m in add if m not in set(members)]
        # Everything the server sent back except meta: a PUT replaces the whole resource,
        # so attributes this client does not know (extensions) must travel with it.
        body = {key: value for key, value in group.items() if key != "meta"}
        body.setdefault("schemas", [GROUP_SCHEMA])
        body["id"] = group_id
        body["members"] = [{"value": m} for m in members]
        headers = {"If-Match": version} if version else None
        try:
            answer, version = client.request_versioned(
                "PUT", path, json=body, headers=headers, retry_ambiguous=not conditional
            )
            w.moved(version)
            return answer
        except ScimError as exc:
            last = attempt >= client.transport.max_attempts
            if exc.status != 412 or conditional or last:
                raise
    raise AssertionError("unreachable")


def complete_members(
    client: Replacing, group: dict[str, Any], path: str, known: set[str] | None
) -> list[str]:
    """The group's member ids, if a second witness says the answer holds all of them.

    The witnesses: `known` (ids another source places in the group; every one must be
    listed) or a member count equal to the list. A capped GET and nothing to compare it
    with cannot be told from a complete one, so nothing is sent then.
    """
    server = client.base_url
    advice = (
        "replacing the group (PUT; this server has no PATCH) would delete the members left "
        "out, including users outside the export. Nothing was sent: ask the vendor to "
        "return every member on GET or to offer PATCH, or change this group's members on "
        "the server by hand"
    )
    if not has_members(group):
        raise UnsafeWrite(
            f"{server}: GET {path} does not return the group's members "
            f"(absent is not empty): {advice}"
        )
    where = client.where("GET", path)
    members = member_ids(group, where)
    counts = [c for f in COUNT_FIELDS if isinstance(c := group.get(f), int)]
    missing = (known or set()) - set(members)
    if missing or any(c > len(members) for c in counts):
        more = max([len(missing), *(c - len(members) for c in counts)])
        raise UnsafeWrite(
            f"{server}: GET {path} returned {len(members)} member(s), but at least "
            f"{more} more are in the group (the group list, the users' `groups` or the "
            f"group's own count say so): the list is capped or incomplete, and {advice}"
        )
    if known is None and not counts:
        raise UnsafeWrite(
            f"{server}: GET {path} returned {len(members)} member(s) and nothing "
            "else confirms that is all of them (no member count, no members in the group "
            "list, no `groups` on every user): the list may be capped, and "
            f"{advice}"
        )
    return members
