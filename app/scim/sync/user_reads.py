"""The export's users on the server: one account per export user, or why none is chosen.

Reading pages is app/scim/sync/state.py's; here are the lookups by filter (where fewer
requests than the pages left), and the choice among the accounts found for each user.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.core.errors import InputError
from app.core.identity import email_key
from app.scim.config.settings import MATCH_ATTRIBUTES, SyncSettings
from app.scim.http.client import FilterIgnored, ScimClient, attribute_values
from app.scim.sync.read_progress import ReadProgress


def resolve_users(
    wanted: dict[str, str],
    candidates: dict[str, dict[str, dict[str, Any]]],
    attribute: str,
    ambiguous: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """Per export user, the one server account; ambiguous ones go to `ambiguous`, with why.

    Two accounts whose userName differs only in case: the exact spelling wins, else neither.
    One account matching two export emails: neither email is changed.
    """
    chosen: dict[str, dict[str, Any]] = {}
    for key, found in candidates.items():
        written = wanted[key]
        if len(found) == 1:
            chosen[key] = next(iter(found.values()))
            continue
        exact = [r for r in found.values() if written in attribute_values(r, attribute)]
        if len(exact) == 1:
            chosen[key] = exact[0]
            continue
        names = ", ".join(sorted(repr(str(r.get("userName") or r["id"])) for r in found.values()))
        ambiguous[email_key(written)] = (
            f"{len(found)} server accounts match it by {attribute} ({names}), none spelled "
            "exactly as the export: left alone; merge or rename the accounts on the server"
        )
    owners: dict[str, list[str]] = {}
    for key, resource in chosen.items():
        owners.setdefault(str(resource["id"]), []).append(key)
    for user_id, keys in owners.items():
        if len(keys) > 1:
            emails = [wanted[k] for k in keys]
            for key in keys:
                del chosen[key]
                ambiguous[email_key(wanted[key])] = (
                    f"one server account (id {user_id}) matches {len(keys)} export users "
                    f"({', '.join(emails)}): left alone; fix the emails in the export or on "
                    "the server"
                )
    return chosen


def stop_if_nobody_found(
    client: ScimClient, settings: SyncSettings, wanted: dict[str, str], anyone: bool
) -> None:
    """Not one export user on the server: the match attribute is wrong, not the directory."""
    if not wanted or anyone:
        return
    others = [name for name in MATCH_ATTRIBUTES if name != settings.match_attribute]
    raise InputError(
        f"none of the export's {len(wanted)} users was found on {client.base_url} by "
        f"{settings.filter_attribute} (the export's email compared with each user's "
        f"{settings.filter_attribute}); nothing was written. If this server's "
        f"{settings.filter_attribute} is not the email, choose another match attribute: "
        f"{' or '.join(others)}"
    )


def read_by_filter(
    client: ScimClient,
    settings: SyncSettings,
    attributes: list[str],
    missing: list[str],
    take: Callable[[dict[str, Any]], None],
    reads: ReadProgress,
) -> None:
    """One filter per export email, spelled as the export writes it.

    RFC 7643 compares userName and emails case-insensitively, but some servers compare
    exactly: the export's spelling (the IdP's, like the server's) finds the user there, and
    a lower-case spelling is tried after it finds nobody.
    """
    attribute = settings.filter_attribute
    ignored = threading.Event()  # one ignored filter is enough: the others are not sent

    def find(email: str) -> list[dict[str, Any]]:
        if ignored.is_set() or reads.is_cancelled():
            return []
        try:
            found = client.find_users(attribute, email, attributes)
            if not found and attribute != "externalId" and email_key(email) != email:
                found = client.find_users(attribute, email_key(email), attributes)
        except FilterIgnored:
            ignored.set()
            raise
        return found

    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for found in pool.map(find, missing):
            for resource in found:
                take(resource)
            reads.read()
