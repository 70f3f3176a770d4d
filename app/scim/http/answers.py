"""Reading a server's JSON defensively: every wrong type is one clear error, never a traceback.

A server may answer a list where an object belongs, `groups` as a string, a resource without
`id`, `maxResults` as text. Each helper names the server, the request and the field, so the
admin can send the vendor one precise line.
"""

from __future__ import annotations

from typing import Any

from app.scim.http.errors import BadAnswer

KINDS = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}


def kind(value: object) -> str:
    return KINDS.get(type(value), "a number" if isinstance(value, int | float) else "something")


def wrong(where: str, field: str, value: object, expected: str) -> BadAnswer:
    return BadAnswer(
        f"{where}: `{field}` is {kind(value)}, not {expected}; the server does not follow SCIM "
        "(RFC 7643/7644) here: report it to its vendor"
    )


def as_object(value: object, where: str, field: str = "the answer") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise wrong(where, field, value, "an object")
    return value


def as_list(value: object, where: str, field: str) -> list[Any]:
    """A list; absent (None) is an empty one."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise wrong(where, field, value, "a list")
    return value


def objects(value: object, where: str, field: str) -> list[dict[str, Any]]:
    """A list of objects, e.g. Resources, members, groups, emails."""
    items = as_list(value, where, field)
    for item in items:
        if not isinstance(item, dict):
            raise wrong(where, f"{field}[]", item, "an object")
    return items


def count(value: object, where: str, field: str, default: int | None = None) -> int | None:
    """A whole number, also written as digits in a string ("200"); absent gives the default."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise wrong(where, field, value, "a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise wrong(where, field, value, "a whole number")


def resource_id(resource: dict[str, Any], where: str, field: str = "id") -> str:
    value = resource.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise wrong(where, field, value, "an id (a non-empty string)")
    return str(value)
