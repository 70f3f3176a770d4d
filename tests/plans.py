"""Small real sync plans for the preview dialog's tests, without a server."""

from __future__ import annotations

from app.core.engine import Evaluation
from app.core.users import UserList
from app.scim.config.settings import SyncSettings
from app.scim.sync.plan import SyncPlan
from app.scim.sync.state import ServerState


def dialog_plan(
    adds: dict[str, list[str]],
    removes: dict[str, list[str]],
    groups_to_create: list[str] | None = None,
    removal_ratio: float = 0.0,
    users: UserList | None = None,
    evaluation: Evaluation | None = None,
) -> SyncPlan:
    """A plan as the planner makes them; removal_ratio sets the managed groups' memberships."""
    removed = sum(len(v) for v in removes.values())
    return SyncPlan(
        groups_to_create=list(groups_to_create or []),
        adds=adds,
        removes=removes,
        not_found=[],
        drift=[],
        state=ServerState(),
        settings=SyncSettings("http://127.0.0.1:9/v2"),
        users=users if users is not None else UserList.from_records([]),
        evaluation=evaluation,
        current_memberships=round(removed / removal_ratio) if removal_ratio else 0,
    )
