"""First match wins, as per-group rules: a row decides for its group only where no earlier
row of another group matches. The default group takes whoever no row matches."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.idp_rules.model import PlannedRow


@dataclass(frozen=True)
class Clause:
    """Users matching `row` (None: any user) and none of `unless`."""

    row: PlannedRow | None
    unless: tuple[PlannedRow, ...]


def group_clauses(
    plan: list[PlannedRow], default_group: str, multiple_groups: bool
) -> dict[str, list[Clause]]:
    """Per group, in the order groups first appear, the clauses whose union is its members."""
    groups: dict[str, list[Clause]] = {}
    for i, planned in enumerate(plan):
        earlier = () if multiple_groups else tuple(
            p for p in plan[:i] if p.group != planned.group
        )
        groups.setdefault(planned.group, []).append(Clause(planned, earlier))
    if default_group:
        groups.setdefault(default_group, []).append(Clause(None, tuple(plan)))
    return groups
