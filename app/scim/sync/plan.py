"""From the server's state to the changes a sync makes, through the one matching engine.

The export's users get their current groups from the server (`with_current_groups`), then
`app.core.engine.evaluate` decides every target: the same rules and the same code as the
preview. Only export users found on the server and only managed groups are ever touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from app.core.engine import Evaluation, evaluate
from app.core.errors import InputError
from app.core.identity import email_key
from app.core.mapping import Mapping
from app.core.users import UserList
from app.scim.config.settings import SyncSettings
from app.scim.sync.state import ServerState, export_groups_of


class MassRemovalError(InputError):
    """The plan removes more memberships than the guard allows; nothing was written."""


@dataclass(frozen=True)
class Drift:
    """An export user whose managed groups in the export differ from the server's."""

    email: str
    export_groups: tuple[str, ...]
    server_groups: tuple[str, ...]


@dataclass
class SyncPlan:
    groups_to_create: list[str]
    adds: dict[str, list[str]]  # group -> export emails (as written) to add
    removes: dict[str, list[str]]
    not_found: list[str]
    drift: list[Drift]
    state: ServerState
    settings: SyncSettings
    users: UserList  # the export's users, current groups from the server
    evaluation: Evaluation | None = None
    current_memberships: int = 0
    attribute_values: dict[str, str] = field(default_factory=dict)  # email -> new value ("" clears)
    conflicts: dict[str, str] = field(default_factory=dict)  # email -> why it is left alone
    # A replayed plan's reason for every addition and every removal ("run 12 removed them"):
    # it has no mapping to explain them with.
    replay_reasons: dict[str, str] = field(default_factory=dict)  # "add" / "remove" -> why

    @classmethod
    def replayed(
        cls,
        adds: dict[str, list[str]],
        removes: dict[str, list[str]],
        state: ServerState,
        settings: SyncSettings,
        users: UserList,
        current_memberships: int,
        groups_to_create: list[str] | None = None,
        reasons: dict[str, str] | None = None,
    ) -> SyncPlan:
        """A plan of changes decided elsewhere (a saved plan, an undo's inverse), not by the
        engine: it is executed, guarded, verified and journaled like any sync. `reasons`:
        why each addition ("add") and each removal ("remove") is made."""
        return cls(
            groups_to_create=list(groups_to_create or []),
            adds=adds,
            removes=removes,
            not_found=[],
            drift=[],
            state=state,
            settings=settings,
            users=users,
            current_memberships=current_memberships,
            replay_reasons=dict(reasons or {}),
        )

    @property
    def added_count(self) -> int:
        return sum(len(v) for v in self.adds.values())

    @property
    def removed_count(self) -> int:
        return sum(len(v) for v in self.removes.values())

    def changed_emails(self) -> set[str]:
        """The export users (email_key) the plan adds to or removes from a group."""
        return {email_key(e) for m in (self.adds, self.removes) for v in m.values() for e in v}

    @property
    def unchanged_count(self) -> int:
        """Users found on the server that the plan leaves as they are (conflicts apart)."""
        changed = self.changed_emails()
        return sum(1 for e in self.state.user_ids if e not in changed and e not in self.conflicts)

    @property
    def removal_ratio(self) -> float:
        if self.current_memberships == 0:
            return 0.0
        return self.removed_count / self.current_memberships

    @property
    def mass_removal(self) -> bool:
        """More removals than --max-removal-ratio allows (whether or not they are allowed)."""
        return self.removal_ratio > self.settings.max_removal_ratio

    @property
    def blocked(self) -> bool:
        return self.mass_removal and not self.settings.allow_mass_removal

    @property
    def is_empty(self) -> bool:
        return not (self.groups_to_create or self.added_count or self.removed_count)

    def mass_removal_message(self) -> str:
        return (
            f"Stopped before writing anything: the sync would remove {self.removed_count} of the "
            f"{self.current_memberships} current memberships of the managed groups "
            f"({self.removal_ratio:.0%}, above the {self.settings.max_removal_ratio:.0%} limit). "
            "Check the export and the mapping (a wrong source column or an incomplete export "
            "looks like this); if the removals are intended, run again with "
            "--allow-mass-removal or a higher --max-removal-ratio."
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per operation: create group, add, remove (or set attribute)."""
        rows = [("create group", name, "") for name in self.groups_to_create]
        for group in sorted(set(self.adds) | set(self.removes)):
            rows += [("add", group, email) for email in self.adds.get(group, [])]
            rows += [("remove", group, email) for email in self.removes.get(group, [])]
        return pd.DataFrame(rows, columns=["operation", "group", "email"])

    def describe(self) -> str:
        """The plan as text, for --dry-run."""
        lines = []
        if self.groups_to_create:
            lines.append(f"Groups to create ({len(self.groups_to_create)}):")
            lines += [f"  + {name}" for name in self.groups_to_create]
        for group in sorted(set(self.adds) | set(self.removes)):
            adds, removes = self.adds.get(group, []), self.removes.get(group, [])
            if not adds and not removes:
                continue
            lines.append(f"{group}: add {len(adds)}, remove {len(removes)}")
            lines += [f"  + {email}" for email in adds]
            lines += [f"  - {email}" for email in removes]
        if not lines:
            lines.append("Nothing to change: the server already matches the mapping.")
        if self.not_found:
            lines.append(f"Not found on the server ({len(self.not_found)}, not created):")
            lines += [f"  ? {email}" for email in self.not_found]
        if self.drift:
            lines.append(
                f"Drift: {len(self.drift)} user(s) whose groups on the server differ from the "
                "export's current groups (the sync plans from the server)"
            )
        if self.conflicts:
            lines.append(f"Left alone ({len(self.conflicts)}):")
            lines += [f"  ! {email}: {why}" for email, why in self.conflicts.items()]
        unseen = self.unseen_groups()
        if unseen:
            lines.append(f"Not to be written ({len(unseen)}), their members unseen:")
            lines += [f"  ! {why}" for why in unseen]
        return "\n".join(lines)

    def unseen_groups(self) -> list[str]:
        """Why each group with planned changes will not be written: no read shows its members
        (the executor refuses it, app/scim/sync/gate.py `unseen`)."""
        return [why for group, why in self.state.groups_unseen.items()
                if self.adds.get(group) or self.removes.get(group)]


def plan_sync(
    users: UserList, mapping: Mapping, state: ServerState, settings: SyncSettings
) -> SyncPlan:
    """What to create, add and remove so the server matches the preview's targets."""
    if settings.target == "attribute" and mapping.options.multiple_groups:
        raise InputError(
            "--target attribute writes one group per user, but the mapping allows several "
            "groups per user: turn off 'multiple groups' in the mapping options"
        )
    managed = set(state.managed)
    server_managed = state.managed_groups_of()
    export_groups = export_groups_of(users)
    current: dict[str, list[str]] = {}
    for email, groups in export_groups.items():
        if email not in state.user_ids:
            current[email] = list(groups)
            continue
        if state.all_groups_of is not None:
            others = [g for g in state.all_groups_of.get(email, []) if g not in managed]
        else:
            others = [g for g in groups if g not in managed]
        current[email] = server_managed.get(email, []) + others
    on_server = users.with_current_groups(current)
    evaluation = evaluate(on_server, mapping)

    emails = on_server.frame["email"].str.strip().to_numpy()
    adds: dict[str, list[str]] = {}
    removes: dict[str, list[str]] = {}
    for group, (add_idx, remove_idx) in evaluation.changes_by_group().items():
        adds[group] = _found(emails[add_idx], state)
        removes[group] = _found(emails[remove_idx], state)
    drift = []
    for email, groups in export_groups.items():
        if email in state.user_ids:
            before = tuple(sorted(g for g in groups if g in managed))
            now = tuple(sorted(server_managed.get(email, [])))
            if before != now:
                drift.append(Drift(email, before, now))
    plan = SyncPlan(
        groups_to_create=[],
        adds={g: v for g, v in adds.items() if v},
        removes={g: v for g, v in removes.items() if v},
        not_found=list(state.not_found),
        drift=drift,
        state=state,
        settings=settings,
        users=on_server,
        evaluation=evaluation,
        current_memberships=state.current_memberships(),
        conflicts=dict(state.ambiguous),  # users the server cannot tell apart: left alone
    )
    if settings.target == "attribute":
        _attribute_values(plan, evaluation, emails)
    else:
        plan.groups_to_create = mapping.new_groups(state.groups)
    return plan


def _found(emails: Iterable[object], state: ServerState) -> list[str]:
    seen: dict[str, str] = {}
    for email in emails:
        key = email_key(str(email))
        if key in state.user_ids:
            seen.setdefault(key, str(email))
    return list(seen.values())


def _attribute_values(plan: SyncPlan, evaluation: Evaluation, emails: Iterable[object]) -> None:
    """Per user to change: the single value to write ("" clears it)."""
    changed = plan.changed_emails()
    for i, email in enumerate(emails):
        key = email_key(str(email))
        if key not in changed or key in plan.attribute_values:
            continue
        after = evaluation.user_after(i)
        if len(after) > 1:
            plan.conflicts[key] = (
                f"would hold {', '.join(after)} but the attribute holds one value; left unchanged"
            )
            continue
        plan.attribute_values[key] = after[0] if after else ""
    if plan.conflicts:
        for changes in (plan.adds, plan.removes):
            for group in list(changes):
                changes[group] = [e for e in changes[group] if email_key(e) not in plan.conflicts]
                if not changes[group]:
                    del changes[group]
