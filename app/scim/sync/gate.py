"""The write gate: every write (sync, apply, undo, retry; CLI and app) passes here first.

A plan is what the run read plus what it decided. Like Terraform's apply, the gate checks at
the moment of writing that the server is still what the plan assumed: when the plan's read is
older than MAX_WITNESS_AGE seconds (a saved plan, a preview left open, an undo previewed a
while ago), the plan's whole scope is read again (every managed group, every user the plan
names) and compared with what the plan recorded. Any difference refuses the write with one
line per difference, and nothing is sent:
- a managed group created, deleted, renamed, or deleted and made again under its name
  (another id), or whose members changed (a hand edit, another tool's run);
- a user the plan names deleted, or deleted and made again (another id);
- near-duplicate group names on the server (the read refuses those itself).
A plan that passes is then exactly what a fresh plan from the same export and mapping would
be (the engine is deterministic): the gate's read becomes the plan's witness, so the
journal's before-states are what the server held at the moment of writing; where the server
has ETags, each write's If-Match holds it to that (a group changed since is read again and
only what is still to do is sent: app/scim/sync/write_groups.py). A group that
read has no witness of (its members hidden, `groups_unseen`) is never written to: each
group's writes start by asking `unseen` (app/scim/sync/write_groups.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app.core.errors import InputError
from app.core.users import UserList
from app.scim.config.settings import SyncSettings
from app.scim.http.client import ScimClient
from app.scim.http.errors import ScimError
from app.scim.http.redact import redact_url
from app.scim.sync.plan import SyncPlan
from app.scim.sync.state import ServerGroup, ServerState, read_scope

MAX_WITNESS_AGE = 10.0  # seconds a read stays the witness of the writes planned from it


class GroupUnseen(Exception):
    """No read witnesses who is in the group (app/scim/sync/group_reads.py): not written to."""


def unseen(plan: SyncPlan, group: str) -> GroupUnseen | None:
    """Why nothing may be written to this group, or None: a before-state nobody witnessed
    would journal members already there as absent, and an undo would remove them."""
    line = plan.state.groups_unseen.get(group)
    return GroupUnseen(line) if line else None


class PlanNoLongerFits(InputError):
    """The server changed since the plan was made: nothing was written."""

    def __init__(self, url: str, changes: list[str]) -> None:
        more = f"; and {len(changes) - 10} more" if len(changes) > 10 else ""
        shown = "; ".join(changes[:10]) + more
        super().__init__(
            f"the plan no longer fits {redact_url(url)}: {shown}. Nothing was written. Plan "
            "again from the server's current state (run the sync again, `groupmap apply "
            "--replan`, or Preview changes in the app)"
        )
        self.changes = changes


def pass_gate(
    client: ScimClient,
    plan: SyncPlan,
    settings: SyncSettings,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Raise PlanNoLongerFits unless the server still holds what the plan assumed; a plan read
    moments ago is its own witness."""
    if plan.state.read_at and time.monotonic() - plan.state.read_at <= MAX_WITNESS_AGE:
        return
    changes, fresh = plan_changes(client, plan, settings, cancelled)
    if changes:
        raise PlanNoLongerFits(settings.url, changes)
    for name, group in fresh.groups.items():  # the same members: newer versions (ETags)
        if name in plan.state.groups:
            plan.state.groups[name].version = group.version
    plan.state.read_at = fresh.read_at
    recorded = plan.state  # how the gate read the groups is how this run read them
    recorded.groups_read_by, recorded.groups_judged = fresh.groups_read_by, fresh.groups_judged
    recorded.groups_basis, recorded.groups_fell_back = fresh.groups_basis, fresh.groups_fell_back
    recorded.groups_from_users = fresh.groups_from_users
    recorded.groups_unseen = fresh.groups_unseen  # never written to (write_groups.py asks)


def plan_changes(
    client: ScimClient,
    plan: SyncPlan,
    settings: SyncSettings,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[list[str], ServerState]:
    """What differs between the server now and what the plan recorded, one line each."""
    recorded = plan.state
    scope = list(dict.fromkeys([
        *recorded.managed, *plan.groups_to_create, *plan.adds, *plan.removes,
    ]))
    named = sorted(plan.changed_emails() | set(plan.attribute_values))
    fresh = read_scope(client, UserList.of_emails(named), scope, settings, cancelled=cancelled)
    changes: list[str] = []
    if settings.target == "groups":
        for name in scope:
            changes += _group_changes(client, name, recorded.groups.get(name),
                                      fresh.groups.get(name), name in fresh.groups_unseen)
    for email in named:
        before, now = recorded.user_ids.get(email), fresh.user_ids.get(email)
        if before and not now:
            changes.append(f"the user {email} is no longer on the server")
        elif before and now != before:
            changes.append(f"the user {email} was deleted and made again (id {before} -> {now})")
        elif email in plan.attribute_values and (
            recorded.attribute_values.get(email) != fresh.attribute_values.get(email)
        ):
            changes.append(f"the user {email}'s {settings.attribute} changed since the plan")
    return changes, fresh


def _group_changes(
    client: ScimClient,
    name: str,
    before: ServerGroup | None,
    now: ServerGroup | None,
    hidden: bool = False,
) -> list[str]:
    """hidden: no read shows the group's members now (never written to: `unseen`), so they
    are not compared."""
    if before is None and now is not None:
        return [f"the group {name} was created on the server since the plan (id {now.id})"]
    if before is None:
        return []
    if now is None:
        return [_gone(client, name, before.id)]
    if now.id != before.id:
        return [f"the group {name} was deleted and made again (id {before.id} -> {now.id})"]
    differ = 0 if hidden else len(set(now.members) ^ set(before.members))
    if differ:
        noun = "member differs" if differ == 1 else "members differ"
        return [f"the group {name} changed since the plan: {differ} {noun}"]
    return []


def _gone(client: ScimClient, name: str, group_id: str) -> str:
    """Why a group the plan knew is not under its name any more: renamed, or deleted."""
    try:
        body, _ = client.get_group(group_id)
    except ScimError as error:
        if error.status == 404:
            return f"the group {name} was deleted on the server since the plan"
        raise
    renamed = body.get("displayName") if isinstance(body, dict) else None
    return f"the group {name} was renamed to {renamed!r} on the server since the plan"
