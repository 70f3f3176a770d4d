"""`--users scim:ATTRIBUTE`: the users of the sync's own SCIM server, their value taken from
an attribute the identity provider pushed there (title, userType, the enterprise extension's
department, a custom extension's attribute).

The email is the attribute the sync matches on (`--match-attribute`), the status `active`,
the current groups the server's own (each user's `groups`, else /Groups with members).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.users import UserList
from app.scim.config.settings import MATCH_ATTRIBUTES
from app.scim.http import answers
from app.scim.http.client import ScimClient, attribute_values
from app.sources.errors import SourceCancelled
from app.sources.users import SourceInfo, SourceUser, any_case, flat_values, user_list

BASE_ATTRIBUTES = ("id", "userName", "emails", "externalId", "displayName", "active", "groups")


def values_at(resource: dict[str, Any], path: str) -> list[str]:
    """The values at a SCIM attribute path (RFC 7644 3.10): `title`, `name.familyName`,
    `emails.value`, or one prefixed by its schema URN; names compare case-insensitively."""
    container: object = resource
    rest = path
    if path.lower().startswith("urn:"):
        schema = next(
            (key for key in resource if path.lower().startswith(f"{key.lower()}:")), None
        )
        if schema is None:
            return []
        container, rest = resource[schema], path[len(schema) + 1:]
    nodes = [container]
    for part in rest.split("."):
        found = []
        for node in nodes:
            for item in node if isinstance(node, list) else [node]:
                if isinstance(item, dict):
                    value = any_case(item, part)
                    if value is not None:
                        found.append(value)
        nodes = found
    return [v for node in nodes for v in flat_values(node)]


def reader(path: str) -> Callable[[dict[str, Any]], list[str]]:
    """values_at for one path, with a fast way for a plain top-level attribute (`title`)."""
    if ":" in path or "." in path:
        return lambda resource: values_at(resource, path)

    def read(resource: dict[str, Any]) -> list[str]:
        value = resource.get(path)
        return flat_values(value if value is not None else any_case(resource, path))

    return read


def _email(resource: dict[str, Any], match_attribute: str) -> str:
    if match_attribute == "emails":
        emails = [e for e in resource.get("emails") or [] if isinstance(e, dict)]
        primary = [e for e in emails if e.get("primary") is True] + emails
        return str(primary[0].get("value") or "") if primary else ""
    values = attribute_values(resource, MATCH_ATTRIBUTES[match_attribute])
    return values[0] if values else ""


Listed = Callable[[list[dict[str, Any]], int, tuple[str, ...]], None]


def read_scim(
    client: ScimClient,
    attribute: str,
    match_attribute: str = "userName",
    separator: str = "",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    *,
    also: tuple[str, ...] = (),
    listed: Listed | None = None,
    parallel: int = 1,
) -> tuple[UserList, SourceInfo]:
    """Every user of the server with their value; pages by startIndex (ScimClient), up to
    `parallel` at once once the total is known. `also`: more attributes to ask for;
    `listed(resources, totalResults, attributes)` is given the listing, so a sync to the same
    server reads its users from it instead of again."""
    where = client.where("GET", "/Users")
    attributes = tuple(dict.fromkeys((*BASE_ATTRIBUTES, attribute, *also)))
    params = {"attributes": ",".join(attributes)}
    resources: list[dict[str, Any]] = []
    total = 0
    for page, total in client.iter_pages("/Users", params, parallel=parallel):
        resources.extend(page)
        if progress is not None:
            progress(len(resources), total)
        if cancelled is not None and cancelled():
            raise SourceCancelled(f"reading {client.base_url} was cancelled")
    if listed is not None:
        listed(resources, total, attributes)
    return user_list(
        source_users(resources, attribute, match_attribute, _groups_by_user(client, resources),
                     where),
        "scim", client.base_url, attribute, separator,
    )


def source_users(
    resources: list[dict[str, Any]], attribute: str, match_attribute: str,
    groups_of: dict[str, list[str]], where: str,
) -> list[SourceUser]:
    """Each SCIM user as a source user: email, name, status, the attribute's values, groups."""
    users = []
    read = reader(attribute)
    for resource in resources:
        user_id = answers.resource_id(resource, where, "Resources[].id")
        active = resource.get("active")
        users.append(
            SourceUser(
                email=_email(resource, match_attribute),
                name=str(resource.get("displayName") or resource.get("userName") or ""),
                status="Inactive" if active is False else "Active",
                values=read(resource),
                groups=groups_of.get(user_id, []),
            )
        )
    return users


def _groups_by_user(client: ScimClient, resources: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per user id, the names of their groups: from the users' `groups` where the server
    fills it, else by listing /Groups with their members."""
    by_user: dict[str, list[str]] = {}
    if any(isinstance(r.get("groups"), list) for r in resources):
        for resource in resources:
            names = [str(g.get("display") or "") for g in resource.get("groups") or []
                     if isinstance(g, dict)]
            by_user[str(resource.get("id"))] = [n for n in names if n]
        return by_user
    for group in client.list_groups(members=True):
        name = str(group.get("displayName") or "")
        for member in group.get("members") or []:
            if isinstance(member, dict) and member.get("value") and name:
                by_user.setdefault(str(member["value"]), []).append(name)
    return by_user
