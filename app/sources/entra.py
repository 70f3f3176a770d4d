"""`--users entra:ATTRIBUTE`: the users of Microsoft Entra ID through Microsoft Graph.

GET {graph}/v1.0/users with `$select` (the attribute is not among the default properties),
`$top=999`, following `@odata.nextLink` as given; 429 and 503 wait for `Retry-After`. The
attribute is a user property (`department`, `jobTitle`, `companyName`, `officeLocation`,
`employeeType`), an on-premises extension attribute (`onPremisesExtensionAttributes/
extensionAttribute1`…`15`, read from the selected `onPremisesExtensionAttributes`) or a
directory extension (`extension_<appId>_<name>`). Email: `mail`, else `userPrincipalName`.

The token comes from app/sources/entra_login.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from app.core.users import UserList
from app.sources.errors import SourceError, SourceSpecError
from app.sources.http import Page, SourceHttp, only_objects, retry_after
from app.sources.users import (
    SourceInfo,
    SourceUser,
    any_case,
    first_text,
    flat_values,
    user_list,
)

GRAPH_URL = "https://graph.microsoft.com"
PERMISSION = "User.Read.All"
PAGE_SIZE = 999  # Graph's largest $top for users
ALWAYS = ("id", "mail", "userPrincipalName", "displayName", "accountEnabled")
EXTENSION_ATTRIBUTE = re.compile(
    r"(?i)^onPremisesExtensionAttributes[/.](extensionAttribute(?:[1-9]|1[0-5]))$"
)
PROPERTY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class Graph:
    """How Microsoft Graph answers: errors `{"error": {"code", "message"}}`, Retry-After."""

    name = "Microsoft Graph"

    def __init__(self, base: str = "https://graph.microsoft.com") -> None:
        self.base = base  # the Graph the token must be for (a national cloud's, a test's)

    def error_text(self, body: object) -> str:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return ""
        return ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))

    def refused(self, status: int, detail: str) -> str:
        if status == 401:
            return (
                f"Microsoft Graph refused the token ({status} {detail}): get a new one (expired, "
                f"or not for {self.base}) from an app granted {PERMISSION}; "
                "nothing was written"
            )
        return (
            f"Microsoft Graph refused to list the users ({status} {detail}): the token needs "
            f"the permission {PERMISSION} (application or delegated, with admin consent); "
            "nothing was written"
        )

    def invalid(self, detail: str) -> str:
        return (
            f"Microsoft Graph refused the query for the users (400 {detail}): check the "
            "attribute: a user property Graph can $select (department, jobTitle, "
            "onPremisesExtensionAttributes/extensionAttribute1, extension_<appId>_<name>); "
            "nothing was written"
        )

    def wait_after(self, response: httpx.Response, now: float) -> float | None:
        return retry_after(response, now)


def base_of(graph_url: str) -> str:
    """The Graph base URL, given with or without its /v1.0."""
    return graph_url.strip().rstrip("/").removesuffix("/v1.0")


def selection(attribute: str) -> tuple[str, Callable[[dict[str, Any]], list[str]]]:
    """The property to `$select` for the attribute, and how to read the value from a user."""
    extension = EXTENSION_ATTRIBUTE.match(attribute)
    if extension:
        name = extension.group(1)
        name = name[0].lower() + name[1:]

        def read_extension(user: dict[str, Any]) -> list[str]:
            holder = any_case(user, "onPremisesExtensionAttributes")
            return flat_values(any_case(holder, name)) if isinstance(holder, dict) else []

        return "onPremisesExtensionAttributes", read_extension
    if not PROPERTY.match(attribute):
        raise SourceSpecError(
            f"entra:{attribute} is not a Microsoft Graph user property: use one such as "
            "department, jobTitle, companyName, officeLocation, employeeType, "
            "onPremisesExtensionAttributes/extensionAttribute1 or extension_<appId>_<name>"
        )
    return attribute, lambda user: flat_values(any_case(user, attribute))


def read_entra(
    token: str,
    attribute: str,
    graph_url: str = GRAPH_URL,
    separator: str = "",
    insecure_http: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    **http: Any,
) -> tuple[UserList, SourceInfo]:
    """Every user of the tenant (disabled ones too, with status Disabled). `http` may hold
    `renew`: a new token when Graph refuses this one mid-read (it expired)."""
    selected, read = selection(attribute)
    fields = ",".join(dict.fromkeys((*ALWAYS, selected)))
    users: list[SourceUser] = []
    with SourceHttp(Graph(base_of(graph_url)), base_of(graph_url), f"Bearer {token}", token,
                    insecure_http=insecure_http, **http) as graph:
        first = f"{graph.base_url}/v1.0/users"
        params = {"$select": fields, "$top": str(PAGE_SIZE)}
        for page in graph.pages(first, params, _next_link, cancelled):
            records = page_users(page, graph.base_url)
            graph.fresh(records)
            for user in records:
                email = first_text(user.get("mail"), user.get("userPrincipalName"))
                users.append(SourceUser(
                    email=email,
                    name=str(user.get("displayName") or ""),
                    status="Disabled" if user.get("accountEnabled") is False else "Active",
                    values=read(user),
                ))
            if progress is not None:
                progress(len(users), 0)
        return user_list(users, "entra", graph.base_url, attribute, separator)


def page_users(page: Page, where: str) -> list[dict[str, Any]]:
    body = page.body
    values = body.get("value") if isinstance(body, dict) else None
    if not isinstance(values, list):
        raise SourceError(
            f"Microsoft Graph at {where} answered /v1.0/users without a 'value' list: check "
            "that --entra-url is the Graph base URL (https://graph.microsoft.com); nothing "
            "was written"
        )
    return only_objects(values, f"Microsoft Graph at {where} answered /v1.0/users but")


def _next_link(page: Page) -> str | None:
    body = page.body
    link = body.get("@odata.nextLink") if isinstance(body, dict) else None
    return str(link) if link else None
