"""Apply a sync plan: few requests, independent groups in parallel, every failure listed.

Per group: one create carrying the first members (what the server did not keep is added
after), then PATCH requests of at most `batch_size` membership changes each. A failed
batch is recorded with the server's reason and the sync goes on; authentication failures
and an unreachable server stop the remaining work. `cancelled()` is checked before every
request.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from app.scim.client import ScimClient, member_ids
from app.scim.errors import AuthError, ConnectError, ScimError
from app.scim.plan import MassRemovalError, SyncPlan
from app.scim.result import FailedOperation, SyncResult
from app.scim.settings import SyncProgress, SyncSettings


class _Stop(Exception):
    """Raised inside a worker when the sync is cancelled or must stop."""


@dataclass
class _Run:
    client: ScimClient
    plan: SyncPlan
    settings: SyncSettings
    progress: Callable[[SyncProgress], None] | None
    cancelled: Callable[[], bool] | None
    log: Callable[[str], None] | None
    total: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    abort: str = ""
    was_cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self) -> None:
        if self.abort:
            raise _Stop(self.abort)
        if self.cancelled is not None and self.cancelled():
            self.was_cancelled = True
            raise _Stop("cancelled")

    def step(self) -> None:
        with self.lock:
            self.done += 1
            done, total = self.done, max(self.total, self.done)
        if self.progress is not None:
            self.progress(SyncProgress(done, total, time.monotonic() - self.started))

    def say(self, message: str) -> None:
        if self.log is not None:
            self.log(self.client.redact(message))


def planned_requests(plan: SyncPlan, batch_size: int) -> int:
    """The write requests the plan needs when nothing goes wrong."""
    if plan.settings.target == "attribute":
        return len(plan.attribute_values)
    total = 0
    for group in set(plan.groups_to_create) | set(plan.adds) | set(plan.removes):
        changes = len(plan.adds.get(group, [])) + len(plan.removes.get(group, []))
        if group in plan.groups_to_create:
            total += 1
            changes = max(0, changes - batch_size)
        total += math.ceil(changes / batch_size)
    return total


def execute(
    client: ScimClient,
    plan: SyncPlan,
    settings: SyncSettings,
    progress: Callable[[SyncProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> SyncResult:
    """Apply the plan; raises MassRemovalError (nothing written) when the guard trips."""
    if plan.blocked:
        raise MassRemovalError(plan.mass_removal_message())
    run = _Run(
        client,
        plan,
        settings,
        progress,
        cancelled,
        log,
        planned_requests(plan, settings.batch_size),
    )
    result = SyncResult.start(plan)
    if settings.target == "attribute":
        index: dict[str, tuple[list[str], list[str]]] = {}
        for position, changes in enumerate((plan.adds, plan.removes)):
            for group, emails in changes.items():
                for email in emails:
                    index.setdefault(email.lower(), ([], []))[position].append(group)
        jobs = [
            (lambda e=e, v=v: _write_attribute(run, result, e, v, *index.get(e, ([], []))))
            for e, v in plan.attribute_values.items()
        ]
    else:
        groups = list(dict.fromkeys([*plan.groups_to_create, *plan.adds, *plan.removes]))
        jobs = [(lambda g=g: _write_group(run, result, g)) for g in groups]
    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()
    result.cancelled = run.was_cancelled
    result.requests = client.request_count
    return result


def _fail(
    run: _Run, result: SyncResult, group: str, operation: str, emails: list[str], error: Exception
) -> None:
    status = error.status if isinstance(error, ScimError) else 0
    reason = run.client.redact(str(error))
    result.add_failure(FailedOperation(group, operation, list(emails), status, reason))
    run.say(f"{operation} {group}: failed for {len(emails)} user(s): {reason}")
    if isinstance(error, AuthError) or (isinstance(error, ConnectError) and not error.ambiguous):
        run.abort = f"not sent: an earlier request failed ({reason})"


def _write_group(run: _Run, result: SyncResult, group: str) -> None:
    plan, ids = run.plan, run.plan.state.user_ids
    adds = list(plan.adds.get(group, []))
    removes = list(plan.removes.get(group, []))
    try:
        if group in plan.groups_to_create:
            run.check()
            first = adds[: run.settings.batch_size]
            try:
                created, adopted = run.client.create_group(group, [ids[e.lower()] for e in first])
            except ScimError as exc:
                _fail(run, result, group, "create", adds or [], exc)
                run.step()
                return
            run.step()
            group_id = str(created["id"])
            result.created(group, group_id)
            if adopted or (first and "members" not in created):
                run.check()
                body, _ = run.client.get_group(group_id)
                present = set(member_ids(body))
            else:
                present = set(member_ids(created))
            done = [e for e in adds if ids[e.lower()] in present]
            result.applied(group, added=done)
            adds = [e for e in adds if ids[e.lower()] not in present]
            run.say(
                f"{'Adopted' if adopted else 'Created'} group {group} with {len(done)} member(s)"
            )
        else:
            group_id = plan.state.groups[group].id
        _write_batches(run, result, group, group_id, adds, removes)
    except _Stop as stop:
        pending_adds = [e for e in plan.adds.get(group, []) if not result.is_done(group, e)]
        if not run.was_cancelled:
            if pending_adds:
                result.add_failure(FailedOperation(group, "add", pending_adds, 0, str(stop)))
            pending_removes = [e for e in removes if not result.is_done(group, e)]
            if pending_removes:
                result.add_failure(FailedOperation(group, "remove", pending_removes, 0, str(stop)))


def _write_batches(
    run: _Run, result: SyncResult, group: str, group_id: str, adds: list[str], removes: list[str]
) -> None:
    ids = run.plan.state.user_ids
    size = run.settings.batch_size
    changes = [("add", e) for e in adds] + [("remove", e) for e in removes]
    for start in range(0, len(changes), size):
        batch = changes[start : start + size]
        batch_adds = [e for op, e in batch if op == "add"]
        batch_removes = [e for op, e in batch if op == "remove"]
        run.check()
        try:
            run.client.modify_members(
                group_id,
                [ids[e.lower()] for e in batch_adds],
                [ids[e.lower()] for e in batch_removes],
            )
        except ScimError as exc:
            if batch_adds:
                _fail(run, result, group, "add", batch_adds, exc)
            if batch_removes:
                _fail(run, result, group, "remove", batch_removes, exc)
        else:
            result.applied(group, added=batch_adds, removed=batch_removes)
        run.step()
    if changes:
        run.say(f"{group}: {len(adds)} to add, {len(removes)} to remove, done")


def _write_attribute(
    run: _Run,
    result: SyncResult,
    email: str,
    value: str,
    added_to: list[str],
    removed_from: list[str],
) -> None:
    path = str(run.settings.attribute)
    if value:
        operation = {"op": "replace", "path": path, "value": value}
    else:
        operation = {"op": "remove", "path": path}
    try:
        run.check()
        run.client.patch_user(run.plan.state.user_ids[email], [operation])
    except _Stop as stop:
        if not run.was_cancelled:
            for group in added_to:
                result.add_failure(FailedOperation(group, "add", [email], 0, str(stop)))
            for group in removed_from:
                result.add_failure(FailedOperation(group, "remove", [email], 0, str(stop)))
        return
    except ScimError as exc:
        for group in added_to:
            _fail(run, result, group, "add", [email], exc)
        for group in removed_from:
            _fail(run, result, group, "remove", [email], exc)
    else:
        for group in added_to:
            result.applied(group, added=[email])
        for group in removed_from:
            result.applied(group, removed=[email])
    run.step()
