"""The guards that stop a write or a saved plan, in the words the CLI and the app both show.

- expectations: a mapping whose expectations fail writes nothing and saves no plan
  (`--ignore-expectations` in the CLI; the app asks);
- the source guard: an export that looks unlike the last successful sync's to the same server
  (far fewer users, far more blank values) writes nothing and saves no plan
  (`--allow-source-change`; the app asks);
- the mass-removal guard lives with the plan (`SyncPlan.blocked`) and is re-checked by the
  executor at every write, a saved plan's included.
A saved plan records which guards its maker overrode (`plan_guards`), and `groupmap apply` and
the app's Apply plan show them before writing.
"""

from __future__ import annotations

from typing import Any

from app.core.engine import evaluate
from app.core.expectations import failures
from app.core.mapping import Mapping
from app.core.users import UserList
from app.scim.sync.plan import SyncPlan
from app.scim.sync.record import source_guard_message


def expectations_stop(users: UserList, mapping: Mapping) -> str:
    """Why failing expectations stop the write or the plan, or "" when none fails."""
    if not mapping.expectations:
        return ""
    failed = failures(evaluate(users, mapping))
    if not failed:
        return ""
    listed = "\n".join(f"  FAIL {outcome.message}" for outcome in failed)
    return (
        f"{len(failed)} expectation(s) of the mapping fail, so nothing was written:\n"
        f"{listed}\nFix the mapping (or the expectations), or pass --ignore-expectations."
    )


def source_stop(url: str, users: UserList) -> str:
    """Why the export looks unlike the last sync's to `url` (the source guard), or ""."""
    return source_guard_message(url, users)


def plan_stops(
    plan: SyncPlan,
    mapping: Mapping,
    *,
    ignore_expectations: bool = False,
    allow_source_change: bool = False,
) -> list[str]:
    """What stops saving this plan for approval: the same as what stops `sync --plan-out`."""
    stops = []
    if not ignore_expectations:
        stops.append(expectations_stop(plan.users, mapping))
    if not allow_source_change:
        stops.append(source_stop(plan.settings.url, plan.users))
    return [stop for stop in stops if stop]


def plan_guards(
    plan: SyncPlan, *, ignore_expectations: bool, allow_source_change: bool
) -> dict[str, Any]:
    """What a plan file and a run's journal record of the guards: what was overridden, and the
    removal guard's verdict (the executor checks that again at every write)."""
    return {
        "expectations_ignored": ignore_expectations,
        "source_change_allowed": allow_source_change,
        "mass_removal_allowed": plan.settings.allow_mass_removal,
        "mass_removal": plan.mass_removal_message() if plan.mass_removal else "",
    }


def overridden(guards: dict[str, Any]) -> list[str]:
    """The lines `apply` shows: the guards the plan's maker overrode when saving it."""
    lines = []
    if guards.get("expectations_ignored"):
        lines.append("its maker saved it although expectations of the mapping failed")
    if guards.get("source_change_allowed"):
        lines.append("its maker saved it although the export looked unlike the last sync's")
    if guards.get("mass_removal"):
        lines.append(f"when it was made: {guards['mass_removal']}")
    return lines
