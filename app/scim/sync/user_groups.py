"""Who is in a group, seen from the users' side: every server user's `groups` (RFC 7643 4.1.2).

The other witness of a group whose reads do not show its members (/Schemas says `returned:
never`, or a count or the users name members the reads leave out): where every server user
is listed and users carry `groups`, the users naming a group are its user members. Without
that witness GroupMap cannot know who was in the group before a run, so nothing it writes
there could be undone safely (app/scim/sync/group_reads.py refuses such groups).
"""

from __future__ import annotations

from app.scim.http import answers
from app.scim.http.client import ScimClient


def members_from_users(client: ScimClient, groups: dict[str, str]) -> dict[str, set[str]] | None:
    """Per group (name -> server id), the ids of the users whose direct `groups` name it (by
    id, else by displayName); None when no user carries `groups` (no witness at all)."""
    found: dict[str, set[str]] = {name: set() for name in groups}
    by_id = {group_id: name for name, group_id in groups.items()}
    where = client.where("GET", "/Users")
    carried = False
    pages = client.iter_pages("/Users", {"attributes": "id,groups"})
    try:
        for page, _ in pages:
            for user in page:
                user_id = answers.resource_id(user, where, "Resources[].id")
                if user.get("groups") is None:
                    continue
                carried = True
                for entry in answers.objects(user["groups"], where, "Resources[].groups"):
                    if entry.get("type") == "indirect":
                        continue
                    display = entry.get("display")
                    name = by_id.get(str(entry.get("value") or "")) or (
                        display if display in found else None
                    )
                    if name is not None:
                        found[name].add(user_id)
    finally:
        pages.close()
    return found if carried else None


def refusal(url: str, name: str, why: str, carried: bool) -> str:
    """The one line that says why GroupMap does not write to a group it cannot see into."""
    users = "its users' `groups` do not account for them" if carried else (
        "its users do not list their groups"
    )
    return (
        f"{url} does not return the members of {name} ({why}) and {users}: GroupMap cannot "
        "see who is in it, so it does not write to it. Ask the vendor to return group "
        "members (or users' `groups`), or change the group by hand"
    )
