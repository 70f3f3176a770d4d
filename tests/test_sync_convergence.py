"""Rule 6 has a fixed point: a sync that stopped anywhere converges when planned again.

No server is needed: the server is modelled as memberships, the planner (app.scim.sync.plan,
through the core engine) plans from it, and any subset of the plan's operations is applied
as an interrupted or partly failed run would have applied it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.engine import evaluate
from app.core.mapping import Mapping, MappingRow, Options
from app.core.users import UserList
from app.scim.config.settings import SyncSettings
from app.scim.sync.plan import plan_sync
from app.scim.sync.state import ServerGroup, ServerState
from tests.core_reference import reference_after

SETTINGS = SyncSettings(url="http://127.0.0.1:9/v2")
VALUES = ["Sales", "Eng", "Sales;Eng", "Ops", "", "eng", "Ops;Sales"]
EXPORT_GROUPS = ["", "S", "Hand", "E; Hand"]
MANAGED = ["S", "E", "O"]


@dataclass
class Server:
    """Memberships on a modelled server: managed groups that exist, and unmanaged groups."""

    groups: dict[str, set[str]]  # existing managed group -> member emails
    others: dict[str, list[str]] = field(default_factory=dict)  # email -> unmanaged groups
    found: set[str] = field(default_factory=set)  # export emails the server has

    def state(self, mapping: Mapping) -> ServerState:
        return ServerState(
            user_ids={e: f"id-{e}" for e in self.found},
            groups={
                name: ServerGroup(f"g-{name}", name, [f"id-{e}" for e in sorted(members)])
                for name, members in self.groups.items()
            },
            all_groups_of={
                e: [g for g, m in self.groups.items() if e in m] + self.others.get(e, [])
                for e in self.found
            },
            managed=mapping.managed_groups(),
        )

    def apply(self, operations: list[tuple[str, str, str]]) -> None:
        for op, group, email in operations:
            if op == "create":
                self.groups.setdefault(group, set())
            elif group in self.groups:  # a write to a group not created yet cannot happen
                (self.groups[group].add if op == "add" else self.groups[group].discard)(email)

    def snapshot(self) -> dict[str, frozenset[str]]:
        return {g: frozenset(m) for g, m in self.groups.items() if m}


def operations(plan) -> list[tuple[str, str, str]]:
    ops = [("create", g, "") for g in plan.groups_to_create]
    for op, changes in (("add", plan.adds), ("remove", plan.removes)):
        ops += [(op, g, e.lower()) for g, emails in changes.items() for e in emails]
    return ops


def users_of(rows: list[tuple[str, str]]) -> UserList:
    return UserList.from_records(
        {"email": f"u{i}@ex.com", "name": "", "status": "", "source": s, "groups": g}
        for i, (s, g) in enumerate(rows)
    )


def mapping_of(multiple_groups: bool, apply_existing: bool, default_group: str) -> Mapping:
    rows = (("Sales", "S"), ("Eng", "E"), ("eng", "E"), ("Ops", "O"), ("Sales", "E"))
    return Mapping(
        tuple(MappingRow(v, g) for v, g in rows),
        Options(
            separator=";",
            multiple_groups=multiple_groups,
            apply_existing=apply_existing,
            default_group=default_group,
        ),
    )


OPTION_SETS = list(itertools.product([False, True], [False, True], ["", "O"]))


@pytest.mark.parametrize(("multiple_groups", "apply_existing", "default_group"), OPTION_SETS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_partial_run_converges_to_the_full_plans_state(
    multiple_groups, apply_existing, default_group, data
):
    rows = data.draw(
        st.lists(st.tuples(st.sampled_from(VALUES), st.sampled_from(EXPORT_GROUPS)), max_size=8)
    )
    users = users_of(rows)
    mapping = mapping_of(multiple_groups, apply_existing, default_group)
    emails = [f"u{i}@ex.com" for i in range(len(rows))]
    found = data.draw(st.sets(st.sampled_from(emails))) if emails else set()
    existing = data.draw(st.sets(st.sampled_from(MANAGED)))
    members = {
        g: data.draw(st.sets(st.sampled_from(sorted(found)))) if found else set()
        for g in existing
    }
    others = {e: ["Hand"] for e in found if data.draw(st.booleans())}

    def server() -> Server:
        return Server({g: set(m) for g, m in members.items()}, dict(others), set(found))

    full = server()
    full_plan = plan_sync(users, mapping, full.state(mapping), SETTINGS)
    full.apply(operations(full_plan))

    partial = server()
    ops = operations(plan_sync(users, mapping, partial.state(mapping), SETTINGS))
    landed = data.draw(st.lists(st.booleans(), min_size=len(ops), max_size=len(ops)))
    partial.apply([op for op, ok in zip(ops, landed, strict=True) if ok])
    partial.apply(operations(plan_sync(users, mapping, partial.state(mapping), SETTINGS)))

    assert partial.snapshot() == full.snapshot()
    again = plan_sync(users, mapping, full.state(mapping), SETTINGS)
    assert again.is_empty, "a finished sync plans nothing more"


def test_a_user_placed_in_one_target_by_an_interrupted_run_gets_the_others():
    users = users_of([("Sales", "")])
    mapping = mapping_of(multiple_groups=True, apply_existing=False, default_group="")
    interrupted = Server({"S": {"u0@ex.com"}}, found={"u0@ex.com"})
    plan = plan_sync(users, mapping, interrupted.state(mapping), SETTINGS)
    assert plan.adds == {"E": ["u0@ex.com"]}
    assert plan.groups_to_create == ["E", "O"]


def test_a_user_in_a_group_outside_their_targets_keeps_their_groups():
    users = users_of([("Sales", "")])
    mapping = mapping_of(multiple_groups=True, apply_existing=False, default_group="")
    by_hand = Server({"S": set()}, others={"u0@ex.com": ["Hand"]}, found={"u0@ex.com"})
    plan = plan_sync(users, mapping, by_hand.state(mapping), SETTINGS)
    assert not plan.adds and not plan.removes


def test_a_user_the_export_lists_in_a_group_keeps_their_groups_on_the_server_too():
    users = users_of([("Sales", "S")])
    mapping = mapping_of(multiple_groups=True, apply_existing=False, default_group="")
    server = Server({"S": {"u0@ex.com"}}, found={"u0@ex.com"})
    plan = plan_sync(users, mapping, server.state(mapping), SETTINGS)
    assert not plan.adds and not plan.removes


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(VALUES),
            st.sampled_from(EXPORT_GROUPS),
            st.sampled_from(["", "S", "E", "S; E", "Hand", "S; Hand"]),
        ),
        max_size=20,
    ),
    multiple_groups=st.booleans(),
    apply_existing=st.booleans(),
    default_group=st.sampled_from(["", "O"]),
)
def test_engine_agrees_with_the_reference_when_the_server_is_the_before(
    rows, multiple_groups, apply_existing, default_group
):
    users = users_of([(s, g) for s, g, _ in rows])
    on_server = users.with_current_groups({f"u{i}@ex.com": [row[2]] for i, row in enumerate(rows)})
    mapping = mapping_of(multiple_groups, apply_existing, default_group)
    listed = [bool(g.strip()) for _, g, _ in rows]
    evaluation = evaluate(on_server, mapping)
    expected = reference_after(on_server, mapping, listed)
    assert [set(evaluation.user_after(i)) for i in range(len(rows))] == [a for _, a, _ in expected]
    assert evaluation.changes == sum(before != after for before, after, _ in expected)
