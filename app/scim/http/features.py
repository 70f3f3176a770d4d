"""What a service provider advertises in /ServiceProviderConfig, read defensively.

Below both the client (which discovers it) and its group writes (which follow it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.scim.http import answers

DEFAULT_PAGE = 100


@dataclass(frozen=True)
class Features:
    """What the service provider advertises in /ServiceProviderConfig."""

    patch: bool = True
    bulk: bool = False
    bulk_max_operations: int = 0
    bulk_max_payload: int = 0
    filter: bool = True
    filter_max_results: int = DEFAULT_PAGE
    etag: bool = False
    sort: bool = False

    @classmethod
    def from_config(cls, config: object, where: str = "/ServiceProviderConfig") -> Features:
        config = answers.as_object(config, where)

        def section(name: str) -> dict[str, Any]:
            value = config.get(name)
            return {} if value is None else answers.as_object(value, where, name)

        def flag(name: str, default: bool) -> bool:
            value = section(name).get("supported", default)
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            if not isinstance(value, bool):
                raise answers.wrong(where, f"{name}.supported", value, "true or false")
            return value

        def number(name: str, field: str, default: int) -> int:
            value = answers.count(section(name).get(field), where, f"{name}.{field}", default)
            return value or default

        return cls(
            patch=flag("patch", True),
            bulk=flag("bulk", False),
            bulk_max_operations=number("bulk", "maxOperations", 0),
            bulk_max_payload=number("bulk", "maxPayloadSize", 0),
            filter=flag("filter", False),
            filter_max_results=number("filter", "maxResults", DEFAULT_PAGE),
            etag=flag("etag", False),
            sort=flag("sort", False),
        )


GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def members_returned(schema: object, where: str = "/Schemas") -> str:
    """What the server's Group schema (/Schemas) says of `members`' `returned`: "always",
    "default", "request", "never", or "" where it does not say (RFC 7643 7)."""
    schema = answers.as_object(schema, where)
    resources = schema.get("Resources")
    found = answers.objects(resources, where, "Resources") if resources is not None else [schema]
    for entry in found:
        if entry.get("id") != GROUP_SCHEMA:
            continue
        attributes = answers.objects(entry.get("attributes") or [], where, "attributes")
        for attribute in attributes:
            if str(attribute.get("name", "")).lower() == "members":
                returned = attribute.get("returned")
                return returned.lower() if isinstance(returned, str) else ""
    return ""
