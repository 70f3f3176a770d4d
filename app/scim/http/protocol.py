"""SCIM wire details shared by the client and its group writes: schemas, paths, filters,
member lists and how attribute values compare."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit

from app.core.identity import email_key, group_key
from app.scim.http import answers
from app.scim.http.errors import BadAnswer

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
    """The ids in a group's `members` (absent: none; use `has_members` to tell the two apart).

    A member carries its id in `value`; some servers send only `$ref` (the member's URI,
    .../Users/<id>), whose last path segment is then the id. A member with neither cannot
    be counted as absent or present, so it is an error, never skipped.
    """
    members = answers.objects(group.get("members"), where, "members")
    ids = []
    for member in members:
        value = member.get("value")
        if value in (None, ""):
            value = ref_id(member.get("$ref"))
        if value in (None, "") or isinstance(value, bool | dict | list):
            shown = str({k: v for k, v in member.items() if k in ("value", "$ref", "display")})
            raise BadAnswer(
                f"{where}: a member with neither `value` nor a `$ref` ending in /Users/<id> "
                f"({shown[:120]}): GroupMap cannot tell who it is, so it changes nothing from "
                "this answer; report it to the vendor"
            )
        ids.append(str(value))
    return ids


def ref_id(ref: object) -> str | None:
    """The resource id at the end of a `$ref` URI (.../Users/<id> or .../Groups/<id>)."""
    if not isinstance(ref, str):
        return None
    segments = [unquote(s) for s in urlsplit(ref.strip()).path.split("/") if s]
    if len(segments) < 2 or segments[-2] not in ("Users", "Groups"):
        return None
    return segments[-1]


def has_members(group: dict[str, Any]) -> bool:
    """True when the answer carries a member list at all ("members absent" is not "none")."""
    return isinstance(group.get("members"), list)


def attribute_values(resource: dict[str, Any], attribute: str) -> list[str]:
    """The values of userName, externalId, displayName or emails(.value) on a resource."""
    if attribute in ("emails", "emails.value"):
        emails = resource.get("emails")
        where = f"a resource (id {resource.get('id')!r})"
        return [str(e["value"]) for e in answers.objects(emails, where, "emails") if e.get("value")]
    value = resource.get(attribute)
    if isinstance(value, dict | list):
        raise answers.wrong(f"a resource (id {resource.get('id')!r})", attribute, value, "a string")
    return [str(value)] if value not in (None, "") else []


def value_matches(resource: dict[str, Any], attribute: str, value: str) -> bool:
    """RFC 7643: userName, emails and displayName compare case-insensitively; externalId exactly.
    Case-insensitively means by app/core/identity.py's keys (NFC, lower case; ß is not ss)."""
    values = attribute_values(resource, attribute)
    if attribute == "externalId":
        return value in values
    key = group_key if attribute == "displayName" else email_key
    wanted = key(value)
    return any(key(v) == wanted for v in values)
