"""Which server group a managed group is: the one spelled exactly as the mapping, or none;
near-duplicates stop the sync rather than be guessed between."""

from __future__ import annotations

from typing import Any

from app.core.errors import InputError
from app.scim.http.client import ScimClient


def server_group(client: ScimClient, name: str, similar: list[dict[str, Any]]) -> str | None:
    """The id of the one server group spelled exactly as the managed group, or None.

    Two groups of that exact name, or only groups of its group_key (differing by case,
    spacing, Unicode form or invisible characters), stop the sync: adopting one would be a
    guess, and creating the group beside them would make a near-duplicate.
    """
    exact = [g for g in similar if g["displayName"] == name]
    if len(exact) == 1:
        return str(exact[0]["id"])
    if not similar:
        return None
    shown = ", ".join(f"{g['displayName']!r} (id {g['id']})" for g in similar)
    if exact:
        what, advice = f"{len(exact)} groups named {name!r}: {shown}", (
            "Delete or rename the extra ones on the server"
        )
    else:
        what, advice = f"no group spelled exactly {name!r}, only {shown}", (
            "Rename the server group to the mapping's spelling, or spell the mapping's group "
            "as the server does"
        )
    raise InputError(
        f"{client.base_url} has {what} (differing at most by case, spacing, Unicode form or "
        f"invisible characters): GroupMap will not pick one. {advice}, then run the sync "
        "again; nothing was written"
    )
