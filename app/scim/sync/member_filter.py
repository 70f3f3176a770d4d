"""Checking a group list's members: which groups to read singly against it, and asking the
server whether one user is in one group, by a members filter.

A group's member list can be wrong in either direction (a list or a single read capping
members, a cached list still showing members removed by hand); a filter on
`id eq "…" and members.value eq "…"` is answered from the group itself, so a few of them
tell which of two answers that disagree is true (the read and the read-back use it).
"""

from __future__ import annotations

from app.scim.http.client import ScimClient, escape_filter_value
from app.scim.http.errors import ScimError

CHECKED = 3  # members a single read leaves out, asked about by filter per sampled group


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


def sample_groups(
    listed: dict[str, set[str]], page: dict[str, int], doubtful: list[str], size: int
) -> list[str]:
    """The groups read singly to check the list: the `size` showing the most members, and
    the one showing the most on each other page of the list (a server may cap only some
    pages); none where no group shows a member."""
    ranked = sorted((n for n in listed if n not in doubtful), key=lambda n: -len(listed[n]))
    sample = [n for n in ranked if listed[n]][:size]
    pages = {page[n] for n in sample}
    for name in ranked if sample else []:
        if page[name] not in pages:
            sample.append(name)
            pages.add(page[name])
    return sample


def stale_group(
    client: ScimClient,
    ids: dict[str, str],
    listed: dict[str, set[str]],
    members: dict[str, list[str]],
    sample: list[str],
) -> str:
    """The first sampled group whose list shows a member that its single read leaves out and
    a members filter does not find (the list is stale), or ""; where the filter finds them
    all, or cannot say (no filtering), the single read is the capped one. A few (CHECKED)
    such members are asked about per group."""
    for name in sample:
        extra = sorted(listed[name] - set(members[name]))[:CHECKED]
        if any(filter_finds(client, ids[name], uid) is False for uid in extra):
            return name
    return ""
