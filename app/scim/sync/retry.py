"""Retry a sync: run again only the operations that failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from app.core.identity import email_key
from app.scim.config.settings import SyncProgress, SyncSettings
from app.scim.http.client import ScimClient
from app.scim.sync.executor import execute
from app.scim.sync.result import SyncResult
from app.scim.sync.state import ServerGroup


def retry_failed(
    client: ScimClient,
    result: SyncResult,
    settings: SyncSettings,
    progress: Callable[[SyncProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> SyncResult:
    """Run again only what failed (and what a cancel left undone is not included)."""
    plan = result.plan
    creates = [f.group for f in result.failed if f.operation == "create"]
    adds: dict[str, list[str]] = {}
    removes: dict[str, list[str]] = {}
    for failure in result.failed:
        target = removes if failure.operation == "remove" else adds
        if failure.emails:
            target.setdefault(failure.group, []).extend(
                e for e in failure.emails if e not in target.get(failure.group, [])
            )
    state = replace(plan.state, groups=groups_after(result))
    touched = {email_key(e) for m in (adds, removes) for v in m.values() for e in v}
    retry_plan = replace(
        plan,
        groups_to_create=list(dict.fromkeys(creates)),
        adds=adds,
        removes=removes,
        state=state,
        attribute_values={e: v for e, v in plan.attribute_values.items() if e in touched},
    )
    sent_before = client.request_count  # the app retries on a new client: count only this
    again = execute(client, retry_plan, settings, progress, cancelled, log, result.journal)
    merged = replace(
        result,
        created_groups=list(dict.fromkeys([*result.created_groups, *again.created_groups])),
        added=result.added + again.added,
        removed=result.removed + again.removed,
        failed=again.failed,
        not_kept=[*result.not_kept, *again.not_kept],
        requests=result.requests + client.request_count - sent_before,
        cancelled=again.cancelled,
        group_ids={**result.group_ids, **again.group_ids},
        done={
            g: result.done.get(g, set()) | again.done.get(g, set())
            for g in set(result.done) | set(again.done)
        },
    )
    return merged


def groups_after(result: SyncResult) -> dict[str, ServerGroup]:
    """The plan's groups as the run left them: what the write gate compares a retry with."""
    plan = result.plan
    ids = plan.state.user_ids
    groups = {}
    for name in {*plan.state.groups, *result.group_ids}:
        known = plan.state.groups.get(name)
        group_id = known.id if known is not None else result.group_ids[name]
        members = set(known.members) if known is not None else set()
        done = result.done.get(name, set())
        members |= {ids[email_key(e)] for e in plan.adds.get(name, []) if email_key(e) in done}
        members -= {ids[email_key(e)] for e in plan.removes.get(name, []) if email_key(e) in done}
        version = known.version if known is not None else None
        groups[name] = ServerGroup(group_id, name, sorted(members), version)
    return groups
