"""Asking the server whether one user is in one group, by a members filter.

A group's member list can be wrong in either direction (a list or a single read capping
members, a cached list still showing members removed by hand); a filter on
`id eq "…" and members.value eq "…"` is answered from the group itself, so a few of them
tell which of two answers that disagree is true (the read and the read-back use it).
"""

from __future__ import annotations

from app.scim.http.client import ScimClient, escape_filter_value
from app.scim.http.errors import ScimError


def filter_finds(
    client: ScimClient, group_id: str, user_id: str, kind: str | None = None
) -> bool | None:
    """Whether a members filter finds the user in the group; None when the server cannot say
    (no filtering, an error, or an answer that ignored the filter)."""
    if not client.features().filter:
        return None
    query = f"id eq {escape_filter_value(group_id)} and members.value eq "
    query += escape_filter_value(user_id)
    params = {"filter": query, "excludedAttributes": "members"}
    try:
        body = client.request("GET", "/Groups", params=params, kind=kind) or {}
    except ScimError:
        return None
    resources = body.get("Resources") if isinstance(body, dict) else None
    if not isinstance(resources, list):
        return None
    if any(not isinstance(r, dict) or str(r.get("id")) != group_id for r in resources):
        return None  # the filter was ignored: this answer says nothing about the member
    return bool(resources)
