"""Test connection and error descriptions: what the app and the CLI say about a server.

`probe_server` reads ServiceProviderConfig and counts users and groups; `describe_error`
turns any failure into one plain-text line saying what to do next.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import InputError
from app.scim.config.connections import ConnectionProfile
from app.scim.config.settings import TARGET_GROUPS
from app.scim.http.client import ScimClient
from app.scim.http.errors import AuthError, ConnectError, ScimError

PROBE_DEADLINE = 60.0  # seconds Test connection retries a server that answers 429 or 503


def describe_error(exc: BaseException) -> str:
    """One plain-text explanation of a failure, saying what to do next."""
    if isinstance(exc, AuthError):
        return (
            f"The server refused the token ({exc.message}). Check the bearer token, or create "
            "a new one in the service provider's SCIM settings."
        )
    if isinstance(exc, ConnectError):
        return (
            f"Could not reach the server ({exc.detail or 'no answer'}). Check the SCIM base URL "
            "and your network, then try again."
        )
    if isinstance(exc, ScimError):
        return f"The server answered with an error: {exc.message}"
    if isinstance(exc, InputError):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}): {exc}"


def _total(
    client: ScimClient, endpoint: str, params: dict[str, Any] | None = None
) -> int | None:
    try:
        return client.total_of(endpoint, params)
    except ScimError as exc:
        if isinstance(exc, (AuthError, ConnectError)):
            raise
        return None


def _count(number: int | None, word: str) -> str:
    if number is None:
        return f"{word}s: not counted"
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def probe_server(profile: ConnectionProfile, token: str) -> list[str]:
    """Test connection: ServiceProviderConfig, then the number of users and groups."""
    from app.scim.http.pacing import RateLimiter

    # A test, not a sync: a server that keeps throttling is reported soon, not after 2 h.
    limiter = RateLimiter(profile.sync_settings(token).max_rate, deadline=PROBE_DEADLINE)
    with profile.client(token, max_attempts=2, timeout=15.0, limiter=limiter) as client:
        features = client.features()
        users = _total(client, "/Users")
        groups = (
            _total(client, "/Groups", {"excludedAttributes": "members"})
            if profile.target == TARGET_GROUPS
            else None
        )
    supported = [
        name
        for name, on in (
            ("PATCH", features.patch),
            ("filtering", features.filter),
            ("bulk", features.bulk),
            ("ETags", features.etag),
            ("sorting", features.sort),
        )
        if on
    ]
    missing = [
        name
        for name, on in (("PATCH", features.patch), ("filtering", features.filter))
        if not on
    ]
    lines = [f"Supports: {', '.join(supported) or 'none of PATCH, filtering, bulk, ETags'}."]
    if missing:
        lines.append(
            f"Without {' and '.join(missing)}: GroupMap adapts (lists and matches locally, "
            "replaces groups with PUT), which takes more requests."
        )
    lines.append(f"Page size: up to {features.filter_max_results:,} results.")
    counts = [_count(users, "user")]
    if profile.target == TARGET_GROUPS:
        counts.append(_count(groups, "group"))
    lines.append("The server has " + " and ".join(counts) + ".")
    return lines
