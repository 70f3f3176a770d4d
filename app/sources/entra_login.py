"""A Microsoft Graph token for the Entra ID source, from the Microsoft identity platform.

In this order: $GROUPMAP_ENTRA_TOKEN (a ready access token); the client-credentials grant
for unattended runs (tenant, client id, and the client secret from
$GROUPMAP_ENTRA_CLIENT_SECRET or the keyring); or, asked for with `device_code`, the device
authorization grant for an admin at the desk (the code to enter is shown, the token polled
for at the interval the platform gives). Both grants are plain OAuth 2.0 form posts to
{login}/{tenant}/oauth2/v2.0/…, so no sign-in library is needed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import httpx

from app.scim.http.redact import redact
from app.sources import http as source_http
from app.sources.errors import SourceCancelled, SourceError, SourceSpecError
from app.sources.http import checked_url

LOGIN_URL = "https://login.microsoftonline.com"
SCOPE = "https://graph.microsoft.com/.default"
PERMISSION = "User.Read.All"
TOKEN_ENV = "GROUPMAP_ENTRA_TOKEN"
KEYRING_NAME = "entra:{client_id}"  # the client secret's name in the token store
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TIMEOUT = 30.0


def entra_token(
    login_url: str = LOGIN_URL,
    store_get: Callable[[str], str] | None = None,
    *,
    device_code: bool = False,
    show: Callable[[str, str], None] | None = None,
) -> str:
    """A Graph access token, or a one-line error saying what to set."""
    ready = os.environ.get(TOKEN_ENV, "").strip()
    if ready:
        scheme, _, rest = ready.partition(" ")
        return rest.strip() if scheme.lower() == "bearer" and rest else ready
    tenant = os.environ.get("GROUPMAP_ENTRA_TENANT", "").strip()
    client_id = os.environ.get("GROUPMAP_ENTRA_CLIENT_ID", "").strip()
    if tenant and client_id and device_code:
        return device_code_token(login_url, tenant, client_id, show or _print)
    secret = os.environ.get("GROUPMAP_ENTRA_CLIENT_SECRET", "").strip()
    if not secret and client_id and store_get is not None:
        secret = store_get(KEYRING_NAME.format(client_id=client_id))
    if not (tenant and client_id and secret):
        raise SourceSpecError(
            f"no Microsoft Graph token: set ${TOKEN_ENV} to an access token, or "
            "$GROUPMAP_ENTRA_TENANT and $GROUPMAP_ENTRA_CLIENT_ID with the client secret in "
            "$GROUPMAP_ENTRA_CLIENT_SECRET (or the keyring) for an app granted "
            f"{PERMISSION}, or sign in at the desk with --entra-device-code"
        )
    return client_credentials(login_url, tenant, client_id, secret)


def _print(message: str, code: str) -> None:
    print(message)


def _post(url: str, form: dict[str, str], secret: str = "") -> tuple[int, dict[str, Any]]:
    try:
        response = httpx.post(url, data=form, timeout=TIMEOUT)
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise SourceError(
            f"could not reach Microsoft sign-in at {url.split('/oauth2')[0]}: "
            f"{redact(type(error).__name__ + ': ' + str(error), secret)}; check the network "
            "and the tenant; nothing was written"
        ) from None
    return response.status_code, body if isinstance(body, dict) else {}


def _reason(body: dict[str, Any], secret: str = "") -> str:
    text = str(body.get("error_description") or body.get("error") or "no reason given")
    return redact(text.splitlines()[0] if text.strip() else text, secret)


def client_credentials(login_url: str, tenant: str, client_id: str, secret: str) -> str:
    """The client-credentials grant: the app's own token, for unattended runs."""
    base = checked_url(login_url, "Microsoft sign-in", insecure_http=False)
    form = {"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "scope": SCOPE}
    status, body = _post(f"{base}/{tenant}/oauth2/v2.0/token", form, secret)
    token = body.get("access_token")
    if status == 200 and isinstance(token, str) and token:
        return token
    raise SourceError(
        f"Microsoft sign-in at {base} refused the client credentials of {client_id} for tenant "
        f"{tenant} ({status} {_reason(body, secret)}): check the client id and secret; "
        "nothing was written"
    )


def device_code_token(
    login_url: str, tenant: str, client_id: str, show: Callable[[str, str], None],
    cancelled: Callable[[], bool] | None = None,
) -> str:
    """The device authorization grant: show (message, code), poll until the admin signed in
    (or `cancelled` says to stop)."""
    base = checked_url(login_url, "Microsoft sign-in", insecure_http=False)
    status, start = _post(f"{base}/{tenant}/oauth2/v2.0/devicecode",
                          {"client_id": client_id, "scope": SCOPE})
    device = start.get("device_code")
    if status != 200 or not isinstance(device, str):
        raise SourceError(
            f"Microsoft sign-in at {base} refused a device code for {client_id} in tenant "
            f"{tenant} ({status} {_reason(start)}): check that the app allows public client "
            "flows; nothing was written"
        )
    code = str(start.get("user_code") or "")
    show(str(start.get("message") or f"Open {start.get('verification_uri')} and enter the code "
                                      f"{code} to sign in."), code)
    interval = float(start.get("interval") or 5)
    deadline = source_http.now() + float(start.get("expires_in") or 900)
    form = {"grant_type": DEVICE_GRANT, "client_id": client_id, "device_code": device}
    while source_http.now() < deadline:
        if cancelled is not None and cancelled():
            raise SourceCancelled("the sign-in was cancelled")
        source_http.pause(interval)
        status, body = _post(f"{base}/{tenant}/oauth2/v2.0/token", form)
        token = body.get("access_token")
        if status == 200 and isinstance(token, str) and token:
            return token
        error = body.get("error")
        if error == "slow_down":
            interval += 5  # RFC 8628: wait longer between polls
        elif error != "authorization_pending":
            raise SourceError(
                f"the sign-in for {client_id} in tenant {tenant} did not complete "
                f"({error or status}: {_reason(body)}); run the command again to get a new "
                "code; nothing was written"
            )
    raise SourceError(
        "the device code expired before the sign-in was completed: run the command again to "
        "get a new code; nothing was written"
    )
