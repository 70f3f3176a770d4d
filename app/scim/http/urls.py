"""The one rule for a usable SCIM base URL and bearer token, shared by the command line,
the app's connection form and the transport."""

from __future__ import annotations

import ipaddress

import httpx

from app.core.errors import InputError
from app.scim.http.redact import redact_url


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_problem(base_url: str, insecure_http: bool) -> str | None:
    """The one rule for a usable SCIM base URL: why not ("invalid", "credentials", "not http",
    "plain http"), or None. Plain http is only for this machine unless allowed."""
    try:
        url = httpx.URL(base_url.strip())
    except httpx.InvalidURL:
        return "invalid"
    if url.userinfo:
        return "credentials"
    if url.scheme not in ("http", "https") or not url.host:
        return "not http"
    if url.scheme == "http" and not (insecure_http or is_loopback(url.host)):
        return "plain http"
    return None


def checked_base_url(base_url: str, insecure_http: bool) -> str:
    """The base URL without a trailing slash on its path (a query, some providers' API key,
    is kept: requests carry it) nor fragment; refuses what url_problem refuses.

    A URL carrying credentials (user:password@host) is never quoted back.
    """
    problem = url_problem(base_url, insecure_http)
    if problem == "invalid":
        raise InputError(
            "the SCIM URL is not a valid URL: give the service provider's SCIM base URL, e.g. "
            "https://example.com/scim/v2"
        )
    if problem == "credentials":
        host = httpx.URL(base_url.strip()).host
        raise InputError(
            f"the SCIM URL for {host or 'the server'} carries a user name or password "
            "(user:password@host): GroupMap never sends credentials in the URL; remove them "
            "from the URL and give the bearer token as the token instead"
        )
    if problem == "not http":
        raise InputError(
            f"SCIM URL {redact_url(base_url)!r} is not an http(s) URL: give the service "
            "provider's SCIM base URL, e.g. https://example.com/scim/v2"
        )
    if problem == "plain http":
        raise InputError(
            f"SCIM URL {redact_url(base_url)!r} uses plain http, which would send the token "
            "unencrypted: use https, or pass --insecure-http if this is a test server you trust"
        )
    head, mark, query = str(httpx.URL(base_url.strip()).copy_with(fragment=None)).partition("?")
    return head.rstrip("/") + mark + query


def checked_token(token: str | None) -> str | None:
    """The token without surrounding whitespace (a secret file's trailing newline).

    A token that cannot go into an HTTP header is refused here, without showing it: sent as
    is, the HTTP library's error would quote the header, token included.
    """
    token = (token or "").strip()
    if not token:
        return None
    if token.lower().startswith("bearer "):
        raise InputError(
            "the bearer token starts with 'Bearer ': give the token alone, GroupMap adds the "
            "'Bearer ' prefix itself"
        )
    if not all(" " < ch < "\x7f" for ch in token):
        raise InputError(
            "the bearer token contains spaces, line breaks or non-ASCII characters, which "
            "cannot be sent in an HTTP header: copy the token again from the service provider"
        )
    return token
