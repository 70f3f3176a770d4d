"""SCIM wire details shared by the client and its membership writes: schemas, paths, filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from app.scim import answers

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def escape_filter_value(value: str) -> str:
    """A filter string literal (RFC 7644 3.4.2.2 uses JSON strings): quotes and backslashes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def resource_path(endpoint: str, resource_id: str) -> str:
    """/Groups/<id> with the id percent-encoded: an id holding #, /, ? or a space stays one
    path segment instead of landing on another resource."""
    return f"{endpoint}/{quote(str(resource_id), safe='')}"


def member_ids(group: dict[str, Any], where: str = "a group") -> list[str]:
    """The ids in a group's `members` (absent: none; use `has_members` to tell the two apart)."""
    members = answers.objects(group.get("members"), where, "members")
    return [str(m["value"]) for m in members if m.get("value") not in (None, "")]


def has_members(group: dict[str, Any]) -> bool:
    """True when the answer carries a member list at all ("members absent" is not "none")."""
    return isinstance(group.get("members"), list)
