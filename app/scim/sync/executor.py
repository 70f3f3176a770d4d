"""Apply a sync plan: few requests, independent groups in parallel, every failure listed.

Per group: one create carrying the first members (what the server did not keep is added
after), then PATCH requests of at most `batch_size` membership changes each. A failed
batch is recorded with the server's reason and the sync goes on; authentication failures
and an unreachable server stop the remaining work. `cancelled()` is checked before every
request. Unless `verify` is off, every changed group is then read back (app/scim/sync/verify.py);
with a `journal`, every operation is recorded as it completes (app/scim/sync/record.py).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from app.scim.config.settings import SyncProgress, SyncSettings
from app.scim.http.budget import ChangeBudget
from app.scim.http.client import ScimClient
from app.scim.sync.gate import pass_gate
from app.scim.sync.plan import MassRemovalError, SyncPlan
from app.scim.sync.result import OperationLog, SyncResult
from app.scim.sync.run import Run
from app.scim.sync.verify import read_back
from app.scim.sync.write_attribute import attribute_jobs
from app.scim.sync.write_groups import planned_group_requests, write_group


def planned_requests(plan: SyncPlan, batch_size: int) -> int:
    """The write requests the plan needs when nothing goes wrong (attribute mode: per user)."""
    if plan.settings.target == "attribute":
        return len(plan.attribute_values)
    return planned_group_requests(plan, batch_size)


def execute(
    client: ScimClient,
    plan: SyncPlan,
    settings: SyncSettings,
    progress: Callable[[SyncProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
    journal: OperationLog | None = None,
    verify: bool = True,
    budget: ChangeBudget | None = None,
) -> SyncResult:
    """Apply the plan; raises MassRemovalError or PlanNoLongerFits (nothing written) when the
    mass-removal guard trips or the write gate finds the server changed since the plan.

    Without a `budget`, one is made from the settings' max_changes_per_hour for this run.
    """
    if plan.blocked:
        raise MassRemovalError(plan.mass_removal_message())
    pass_gate(client, plan, settings, cancelled)  # the server is still what the plan assumed
    result = SyncResult.start(plan)
    result.journal = journal
    client.limiter.deadline = settings.deadline  # throttled retries end with the sync's deadline
    if budget is None:
        budget = ChangeBudget(settings.max_changes_per_hour, settings.deadline, cancelled=cancelled)
    run = Run(client, plan, settings, result, progress, cancelled, log, budget)
    jobs: list[Callable[[], None]]
    if settings.target == "attribute":
        jobs = attribute_jobs(run)
    else:
        run.total = planned_group_requests(plan, settings.batch_size)
        run.changes = plan.added_count + plan.removed_count
        groups = list(dict.fromkeys([*plan.groups_to_create, *plan.adds, *plan.removes]))
        jobs = [partial(write_group, run, g) for g in groups]
    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()
    result.cancelled = run.was_cancelled
    if verify and not run.abort:
        read_back(client, result, settings.concurrency, cancelled, log)
    result.requests = client.request_count
    result.requests_by_kind = client.requests_by_kind()
    return result
