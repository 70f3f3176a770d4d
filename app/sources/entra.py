"""`--users entra:ATTRIBUTE`: the users of Microsoft Entra ID through Microsoft Graph.

GET {graph}/v1.0/users with `$select` (the attribute is not among the default properties),
`$top=999`, following `@odata.nextLink` as given; 429 and 503 wait for `Retry-After`. The
attribute is a user property (`department`, `jobTitle`, `companyName`, `officeLocation`,
`employeeType`), an on-premises extension attribute (`onPremisesExtensionAttributes/
extensionAttribute1`…`15`, read from the selected `onPremisesExtensionAttributes`) or a
directory extension (`extension_<appId>_<name>`). Email: `mail`, else `userPrincipalName`.

The token: $GROUPMAP_ENTRA_TOKEN (ready), else the client-credentials grant of the Microsoft
identity platform for tenant, client id and secret ($GROUPMAP_ENTRA_TENANT,
$GROUPMAP_ENTRA_CLIENT_ID, the secret from $GROUPMAP_ENTRA_CLIENT_SECRET or the keyring).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import httpx

from app.core.users import UserList
from app.sources.errors import SourceError, SourceSpecError
from app.sources.http import Page, SourceHttp, checked_url, seconds_or_none
from app.sources.users import SourceInfo, SourceUser, flat_values, user_list

GRAPH_URL = "https://graph.microsoft.com"
LOGIN_URL = "https://login.microsoftonline.com"
SCOPE = "https://graph.microsoft.com/.default"
PERMISSION = "User.Read.All"
PAGE_SIZE = 999  # Graph's largest $top for users
ALWAYS = ("id", "mail", "userPrincipalName", "displayName", "accountEnabled")
EXTENSION_ATTRIBUTE = re.compile(
    r"(?i)^onPremisesExtensionAttributes[/.](extensionAttribute(?:[1-9]|1[0-5]))$"
)
PROPERTY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
TOKEN_ENV = "GROUPMAP_ENTRA_TOKEN"
KEYRING_NAME = "entra:{client_id}"  # the secret's name in the token store


class Graph:
    """How Microsoft Graph answers: errors `{"error": {"code", "message"}}`, Retry-After."""

    name = "Microsoft Graph"

    def error_text(self, body: object) -> str:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return ""
        return ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))

    def refused(self, status: int, detail: str) -> str:
        return (
            f"Microsoft Graph refused to list the users ({status} {detail}): the token needs "
            f"the permission {PERMISSION} (application or delegated, with admin consent); "
            "nothing was written"
        )

    def wait_after(self, response: httpx.Response, now: float) -> float | None:
        return seconds_or_none(response.headers.get("Retry-After"))


def selection(attribute: str) -> tuple[str, Callable[[dict[str, Any]], list[str]]]:
    """The property to `$select` for the attribute, and how to read the value from a user."""
    extension = EXTENSION_ATTRIBUTE.match(attribute)
    if extension:
        name = extension.group(1)
        name = name[0].lower() + name[1:]

        def read_extension(user: dict[str, Any]) -> list[str]:
            holder = user.get("onPremisesExtensionAttributes")
            return flat_values(holder.get(name)) if isinstance(holder, dict) else []

        return "onPremisesExtensionAttributes", read_extension
    if not PROPERTY.match(attribute):
        raise SourceSpecError(
            f"entra:{attribute} is not a Microsoft Graph user property: use one such as "
            "department, jobTitle, companyName, officeLocation, employeeType, "
            "onPremisesExtensionAttributes/extensionAttribute1 or extension_<appId>_<name>"
        )
    return attribute, lambda user: flat_values(user.get(attribute))


def read_entra(
    token: str,
    attribute: str,
    graph_url: str = GRAPH_URL,
    separator: str = "",
    insecure_http: bool = False,
    progress: Callable[[int, int], None] | None = None,
    **http: Any,
) -> tuple[UserList, SourceInfo]:
    """Every user of the tenant (disabled ones too, with status Disabled)."""
    selected, read = selection(attribute)
    fields = ",".join(dict.fromkeys((*ALWAYS, selected)))
    users: list[SourceUser] = []
    with SourceHttp(Graph(), graph_url, f"Bearer {token}", token,
                    insecure_http=insecure_http, **http) as graph:
        first = f"{graph.base_url}/v1.0/users"
        params = {"$select": fields, "$top": str(PAGE_SIZE)}
        for page in graph.pages(first, params, _next_link):
            for user in _values(page, graph.base_url):
                email = str(user.get("mail") or user.get("userPrincipalName") or "")
                users.append(SourceUser(
                    email=email,
                    name=str(user.get("displayName") or ""),
                    status="Disabled" if user.get("accountEnabled") is False else "Active",
                    values=read(user),
                ))
            if progress is not None:
                progress(len(users), 0)
        return user_list(users, "entra", graph.base_url, attribute, separator)


def _values(page: Page, where: str) -> list[dict[str, Any]]:
    body = page.body
    values = body.get("value") if isinstance(body, dict) else None
    if not isinstance(values, list):
        raise SourceError(
            f"Microsoft Graph at {where} answered /v1.0/users without a 'value' list: check "
            "that --entra-url is the Graph base URL (https://graph.microsoft.com); nothing "
            "was written"
        )
    return [v for v in values if isinstance(v, dict)]


def _next_link(page: Page) -> str | None:
    body = page.body
    link = body.get("@odata.nextLink") if isinstance(body, dict) else None
    return str(link) if link else None


def entra_token(login_url: str = LOGIN_URL, store_get: Callable[[str], str] | None = None,
                timeout: float = 30.0) -> str:
    """A Graph token: $GROUPMAP_ENTRA_TOKEN, else one from the client-credentials grant."""
    ready = os.environ.get(TOKEN_ENV, "").strip()
    if ready:
        return ready
    tenant = os.environ.get("GROUPMAP_ENTRA_TENANT", "").strip()
    client_id = os.environ.get("GROUPMAP_ENTRA_CLIENT_ID", "").strip()
    secret = os.environ.get("GROUPMAP_ENTRA_CLIENT_SECRET", "").strip()
    if not secret and client_id and store_get is not None:
        secret = store_get(KEYRING_NAME.format(client_id=client_id))
    if not (tenant and client_id and secret):
        raise SourceSpecError(
            f"no Microsoft Graph token: set ${TOKEN_ENV} to an access token, or "
            "$GROUPMAP_ENTRA_TENANT and $GROUPMAP_ENTRA_CLIENT_ID with the client secret in "
            "$GROUPMAP_ENTRA_CLIENT_SECRET (or the keyring) for an app granted "
            f"{PERMISSION}"
        )
    return client_credentials(login_url, tenant, client_id, secret, timeout)


def client_credentials(login_url: str, tenant: str, client_id: str, secret: str,
                       timeout: float = 30.0) -> str:
    """The OAuth 2.0 client-credentials grant of the Microsoft identity platform."""
    base = checked_url(login_url, "Microsoft sign-in", insecure_http=False)
    url = f"{base}/{tenant}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "scope": SCOPE}
    try:
        response = httpx.post(url, data=form, timeout=timeout)
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise SourceError(
            f"could not get a Microsoft Graph token from {base} for tenant {tenant}: "
            f"{type(error).__name__}; check the network and the tenant; nothing was written"
        ) from None
    token = body.get("access_token") if isinstance(body, dict) else None
    if response.is_success and isinstance(token, str) and token:
        return token
    reason = body.get("error_description") or body.get("error") if isinstance(body, dict) else ""
    from app.scim.http.redact import redact

    raise SourceError(
        f"Microsoft sign-in at {base} refused the client credentials of {client_id} for tenant "
        f"{tenant} ({response.status_code} {redact(str(reason or ''), secret).splitlines()[0]}):"
        " check the client id and secret; nothing was written"
    )
