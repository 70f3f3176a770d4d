"""A Microsoft Graph token for the Entra ID source, through MSAL (the Microsoft Authentication
Library for Python), as Microsoft asks clients of its identity platform to do.

How the token is chosen, in this order: $GROUPMAP_ENTRA_TOKEN (a ready access token); with
`device_code` (`--entra-device-code`, the app's Sign In), the device-code flow for an admin
at the desk (`PublicClientApplication`: the code to enter is shown, the platform polled at the
interval it gives, until the admin signed in, the code expired or `cancelled` says to stop);
else the client-credentials grant for unattended runs (`ConfidentialClientApplication`, the
client secret from $GROUPMAP_ENTRA_CLIENT_SECRET or the keyring).

MSAL talks HTTP through an httpx client made here (the 30 s timeout, no redirects; the
certificate authorities of every bundle $SSL_CERT_FILE, $SSL_CERT_DIR, $REQUESTS_CA_BUNDLE or
$CURL_CA_BUNDLE names, else certifi's),
reads `{login}/{tenant}/v2.0/.well-known/openid-configuration` (no instance discovery, so a
national cloud or a test server works), and keeps its token cache in memory for one
sign-in: nothing is written to disk.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from app.scim.config.tokens import ENTRA_SECRET_NAME
from app.scim.http.redact import redact
from app.sources import http as source_http
from app.sources.errors import SourceCancelled, SourceError, SourceSpecError
from app.sources.http import checked_url

LOGIN_URL = "https://login.microsoftonline.com"
SCOPE = "https://graph.microsoft.com/.default"
PERMISSION = "User.Read.All"
TOKEN_ENV = "GROUPMAP_ENTRA_TOKEN"
KEYRING_NAME = ENTRA_SECRET_NAME  # the client secret's name in the token store
TIMEOUT = 30.0
AADSTS = re.compile(r"AADSTS\d+:[^\"\n]*")  # an Entra reason inside an answer MSAL quotes
BUNDLE_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
POLL_STEP = 1.0  # the longest wait between two looks at `cancelled` while polling
# an app's client ID, and a tenant by its ID or a domain (contoso.onmicrosoft.com): the one
# rule for the app's dialog and `groupmap sources --save`
GUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
DOMAIN = re.compile(r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
STORE_HINT = (
    'store a new one with `keyring set "GroupMap SCIM" entra:{client_id}` '
    "(or set $GROUPMAP_ENTRA_CLIENT_SECRET)"
)
# What to do about the Entra errors an admin can fix (AADSTS codes, learn.microsoft.com:
# "Microsoft Entra authentication and authorization error codes").
ADVICE = {
    7000215: "the client secret for app {client_id} was refused by Entra ID (invalid secret): "
    + STORE_HINT,
    7000222: "the client secret for app {client_id} has expired: make a new one under "
    "Certificates & secrets of its app registration and " + STORE_HINT,
    700016: "Entra ID has no app {client_id} in tenant {tenant}: check the tenant and client "
    "ID ($GROUPMAP_ENTRA_TENANT and $GROUPMAP_ENTRA_CLIENT_ID, or the connection's Entra app)",
    7000218: "app {client_id} does not allow public client flows, which the device-code "
    "sign-in needs: turn on Authentication ▸ Allow public client flows in its app "
    "registration, or use the client secret",
    70000: "the sign-in for app {client_id} was declined: run the command again to get a new "
    "code",
    70019: "the device code expired before the sign-in was completed: run the command again "
    "to get a new code",
}
END_OF_POLLING = {  # RFC 8628 3.5 errors that end the device-code flow, as Entra names them
    "authorization_declined": 70000,
    "expired_token": 70019,
}


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


def login_base(login_url: str) -> str:
    """The sign-in URL without a trailing slash: https only (MSAL accepts nothing else)."""
    base = checked_url(login_url, "Microsoft sign-in", insecure_http=False)
    if not base.lower().startswith("https://"):
        raise SourceSpecError(
            f"the Microsoft sign-in URL {base!r} is not https, which MSAL requires: give "
            f"--entra-login-url as https://… (default {LOGIN_URL})"
        )
    return base


def is_tenant(text: str) -> bool:
    """A tenant ID (a GUID) or a domain such as contoso.onmicrosoft.com."""
    return bool(GUID.fullmatch(text) or DOMAIN.fullmatch(text))


def is_client_id(text: str) -> bool:
    """An app registration's Application (client) ID: a GUID."""
    return bool(GUID.fullmatch(text))


@contextmanager
def _signing_in(base: str, tenant: str, secret: str = "") -> Iterator[httpx.Client]:
    """The HTTP client MSAL uses; what MSAL raises (network, an answer that is not the
    identity platform's) becomes one line naming the sign-in URL and the tenant."""
    # one more try of a failed connection, as MSAL's own HTTP client does
    transport = httpx.HTTPTransport(retries=1, verify=_trusted())
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False, transport=transport) as http:
        try:
            yield http
        except (httpx.HTTPError, ValueError, RuntimeError, KeyError) as error:
            text = redact(_cause(error), secret)
            raise SourceError(
                f"could not sign in at Microsoft sign-in {base} for tenant {tenant} "
                f"({text[:300]}): check the tenant, --entra-login-url and the network; "
                "nothing was written"
            ) from None


def _trusted() -> ssl.SSLContext | bool:
    """Every CA bundle the environment names: $SSL_CERT_FILE / $SSL_CERT_DIR (what httpx
    reads for every other request) and $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE (what MSAL's own
    client, requests, reads); none named: the bundled certifi store."""
    named = [os.environ.get(name, "") for name in BUNDLE_VARIABLES]
    bundles = list(dict.fromkeys(path for path in named if path))
    if not bundles:
        return True
    context = ssl.create_default_context(cafile=None)
    for bundle in bundles:
        try:
            if os.path.isdir(bundle):
                context.load_verify_locations(capath=bundle)
            else:
                context.load_verify_locations(cafile=bundle)
        except (OSError, ssl.SSLError) as error:
            raise SourceSpecError(
                f"the CA bundle {bundle!r} (named by ${' or $'.join(BUNDLE_VARIABLES)}) "
                f"cannot be read ({error}): point the variable at a PEM file of certificates, "
                "or unset it"
            ) from None
    return context


def _cause(error: BaseException) -> str:
    """Entra's own reason ("AADSTS90002: Tenant ... not found.") where MSAL wrapped one (its
    discovery error keeps the answer in the exception it replaced), else the error, one line."""
    chain: list[BaseException] = []
    found: BaseException | None = error
    while found is not None and found not in chain:
        chain.append(found)
        found = found.__cause__ or found.__context__
    for one in chain:
        reason = AADSTS.search(str(one))
        if reason:
            return reason.group(0).strip()
    return " ".join(f"{type(error).__name__}: {error}".split())


def _application(base: str, tenant: str, client_id: str, http: httpx.Client,
                 secret: str = "") -> Any:
    """A public (no secret) or confidential MSAL application for this tenant."""
    import msal

    options: dict[str, Any] = {
        "authority": f"{base}/{tenant}",
        "http_client": http,
        "instance_discovery": False,  # the authority is the one given, not looked up
        "token_cache": msal.TokenCache(),  # in memory, gone with the application
    }
    if secret:
        return msal.ConfidentialClientApplication(client_id, client_credential=secret,
                                                  **options)
    return msal.PublicClientApplication(client_id, **options)


def refusal(result: dict[str, Any], tenant: str, client_id: str, secret: str = "") -> str:
    """What Entra's error answer means and what to do, in one line."""
    codes = [c for c in result.get("error_codes") or [] if isinstance(c, int)]
    error = str(result.get("error") or "")
    codes.append(END_OF_POLLING.get(error, 0))
    advice = next((ADVICE[c] for c in codes if c in ADVICE), "")
    reason = str(result.get("error_description") or error or "no reason given")
    reason = redact(reason.splitlines()[0] if reason.strip() else reason, secret)
    if advice:
        said = advice.format(client_id=client_id, tenant=tenant)
        return f"{said} ({reason}); nothing was written"
    return (
        f"Entra ID refused the sign-in of app {client_id} in tenant {tenant} ({error}: "
        f"{reason}); check the tenant, the client id and the app's permission {PERMISSION}; "
        "nothing was written"
    )


def client_credentials(login_url: str, tenant: str, client_id: str, secret: str) -> str:
    """The client-credentials grant: the app's own token, for unattended runs."""
    base = login_base(login_url)
    with _signing_in(base, tenant, secret) as http:
        app = _application(base, tenant, client_id, http, secret)
        result = app.acquire_token_for_client(scopes=[SCOPE])
    token = result.get("access_token") if isinstance(result, dict) else None
    if isinstance(token, str) and token:
        return token
    raise SourceError(refusal(result if isinstance(result, dict) else {}, tenant, client_id,
                              secret))


def device_code_token(
    login_url: str, tenant: str, client_id: str, show: Callable[[str, str], None],
    cancelled: Callable[[], bool] | None = None,
) -> str:
    """The device-code flow: show (message, code), then poll until the admin signed in, the
    code expired, or `cancelled` says to stop (looked at every second)."""
    base = login_base(login_url)
    with _signing_in(base, tenant) as http:
        app = _application(base, tenant, client_id, http)
        flow = app.initiate_device_flow(scopes=[SCOPE])
        if not flow.get("user_code"):
            raise SourceError(refusal(flow, tenant, client_id))
        code = str(flow["user_code"])
        show(str(flow.get("message") or f"Open {flow.get('verification_uri')} and enter the "
                                         f"code {code} to sign in."), code)
        deadline = source_http.now() + float(flow.get("expires_in") or 900)
        while True:
            # the interval before every poll (RFC 8628 3.5; after slow_down MSAL added 5 s)
            _wait(float(flow.get("interval") or 5), cancelled)
            if source_http.now() >= deadline:
                raise SourceError(refusal({"error": "expired_token"}, tenant, client_id))
            # one poll, no waiting inside MSAL: the waits are here, so Cancel is looked at
            result = app.acquire_token_by_device_flow(flow, exit_condition=lambda flow: True)
            token = result.get("access_token")
            if isinstance(token, str) and token:
                return token
            if result.get("error") not in ("authorization_pending", "slow_down"):
                raise SourceError(refusal(result, tenant, client_id))


def _wait(seconds: float, cancelled: Callable[[], bool] | None) -> None:
    """Wait between two polls, a second at a time, stopping when the admin cancels."""
    while True:
        if cancelled is not None and cancelled():
            raise SourceCancelled("the sign-in was cancelled")
        if seconds <= 0:
            return
        step = min(seconds, POLL_STEP)
        source_http.pause(step)
        seconds -= step
