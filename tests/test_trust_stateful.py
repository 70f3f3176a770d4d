"""Issue 22's promises under any interleaving (hypothesis RuleBasedStateMachine), against the
real scim2-server in-process: syncs with mapping edits, hand edits on the server (members,
groups created, renamed, deleted and made again; the very change a sync or an undo is about to
make, made right before its first write), plans saved and applied later, undo of any earlier
run, runs killed at a random write, a journal disk that fills.

Invariants, after every step:
- nothing outside the managed scope changes (a hand-made group keeps what the admin put in);
- every membership change GroupMap made on the server is named by an intent in its journal;
- undo never removes a membership that existed before the undone run, never puts back one
  the run did not remove, and never reverts a membership a later run changed;
- a saved plan writes only when a fresh sync would plan the same.

`make test` runs a few hundred steps; `make soak` (GROUPMAP_SOAK=1) many thousands. A failure
prints hypothesis's seed and the shortest sequence of steps that breaks the promise.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import app.io.journal as journal_module
from app.core.errors import InputError
from app.core.users import UserList
from app.io.journal import list_runs
from app.scim.http.errors import ScimError
from app.scim.server import LocalScimServer
from app.scim.sync import MassRemovalError, SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.gate import PlanNoLongerFits
from app.scim.sync.planfile import read_plan, save_plan, saved_settings, sync_plan
from app.scim.sync.record import RunJournal
from app.scim.sync.undo import apply_undo, plan_undo
from tests.scim_fixtures import TOKEN, fast_client, make_mapping

SOAK = bool(os.environ.get("GROUPMAP_SOAK"))
USERS = [f"u{i}@ex.com" for i in range(6)]
VALUES = ["a", "b", "c"]
MANAGED = {"a": "Alpha", "b": "Beta", "c": "Gamma"}
HAND_GROUP = "Hand made"  # never managed: GroupMap must never touch it
REAL_FSYNC = os.fsync


class Killed(BaseException):
    """The process dies between a request and its answer (the request reached the server)."""


Membership = tuple[str, str]  # group name, email


class TrustMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="groupmap-stateful-"))
        self.journal_env = os.environ.get(journal_module.JOURNAL_ENV)
        os.environ[journal_module.JOURNAL_ENV] = str(self.folder / "journal")
        self.values = {email: VALUES[i % 3] for i, email in enumerate(USERS)}
        seed = UserList.from_records(
            {"email": e, "name": e, "status": "Active", "source": "", "groups": ""}
            for e in USERS
        )
        self.server = LocalScimServer(seed, token=TOKEN, extra_groups={HAND_GROUP: [USERS[0]]})
        self.server.start()
        self.hand: set[str] = {USERS[0]}  # the admin's own group, as the admin left it
        self.before_run: dict[int, set[Membership]] = {}  # what the server held before run N
        self.changed_by: dict[int, set[Membership]] = {}  # memberships run N changed
        self.plan_path: Path | None = None
        self.undone: list[int] = []

    def teardown(self) -> None:
        self.server.stop()
        journal_module.os.fsync = REAL_FSYNC
        if self.journal_env is None:
            os.environ.pop(journal_module.JOURNAL_ENV, None)
        else:
            os.environ[journal_module.JOURNAL_ENV] = self.journal_env

    # --- the model's view of the server -----------------------------------------------------

    def memberships(self) -> set[Membership]:
        groups = self.server.dump()["groups"]
        return {(g, e) for g, members in groups.items() if g != HAND_GROUP for e in members}

    def users(self) -> UserList:
        return UserList.from_records(
            {"email": e, "name": e, "status": "Active", "source": v, "groups": ""}
            for e, v in self.values.items()
        )

    def settings(self) -> SyncSettings:
        return SyncSettings(self.server.url, TOKEN, allow_mass_removal=True, batch_size=2,
                            concurrency=1)

    def mapping(self, apply_existing: bool) -> Any:
        return make_mapping(MANAGED, apply_existing=apply_existing)

    def ids(self) -> dict[str, str]:
        return {email: uid for uid, email in self.server.dump()["users"].items()}

    def record_run(self, before: set[Membership]) -> None:
        """After a GroupMap write: the new run's before-state and what it changed."""
        runs = list_runs(self.server.url)
        if not runs:
            return
        run = runs[-1]
        if run.run_id in self.before_run:
            return
        after = self.memberships()
        self.before_run[run.run_id] = before
        self.changed_by[run.run_id] = before ^ after
        intended = {
            (str(i["group"]), str(m.get("email", "")).lower())
            for r in runs for i in r.intents for m in i.get("members") or []
        }
        renamed = {g for g, _ in before ^ after if g not in MANAGED.values()}
        missing = {m for m in before ^ after if m not in intended and m[0] not in renamed}
        assert not missing, f"changes on the server that no journal intent names: {missing}"

    # --- GroupMap's writes ------------------------------------------------------------------

    @rule(edits=st.dictionaries(st.sampled_from(USERS), st.sampled_from([*VALUES, "x", ""])),
          apply_existing=st.booleans(),
          kill_after=st.none() | st.integers(1, 4),
          full_disk_after=st.none() | st.integers(2, 8),
          race=st.booleans())
    def sync(self, edits: dict[str, str], apply_existing: bool, kill_after: int | None,
             full_disk_after: int | None, race: bool) -> None:
        self.values.update(edits)
        before = self.memberships()
        mapping, settings_ = self.mapping(apply_existing), self.settings()
        users = self.users()
        try:
            with fast_client(self.server.url) as client:
                plan = plan_sync(users, mapping,
                                 read_server_state(client, users, mapping, settings_), settings_)
                self._faults(client, kill_after, full_disk_after)
                if race:
                    self._race(client, before)
                journal = RunJournal.begin(plan, settings_, mapping, ["export.csv"])
                journal.finish(execute(client, plan, settings_, journal=journal))
        except (Killed, InputError, ScimError, MassRemovalError):
            pass
        finally:
            journal_module.os.fsync = REAL_FSYNC
        self.record_run(before)

    def _race(self, client: Any, before: set[Membership]) -> None:
        """Right before the run's first membership write, the admin makes its first change by
        hand: the run's write is then moot, and `before` (what the server held before the
        run) has the admin's change."""
        real = client.modify_members
        raced = [False]

        def hand_first(group_id: str, add: list[str], remove: list[str], known: Any = (),
                       **cond: Any) -> Any:
            if not raced[0] and (add or remove):
                raced[0] = True
                with fast_client(self.server.url) as admin:
                    found = admin.get_group(group_id)[0]
                    admin.modify_members(group_id, add[:1], [] if add else remove[:1])
                email = self.server.dump()["users"][(add or remove)[0]]
                (before.add if add else before.discard)((str(found["displayName"]), email))
            return real(group_id, add, remove, known, **cond)

        client.modify_members = hand_first

    def _faults(self, client: Any, kill_after: int | None, full_disk_after: int | None) -> None:
        if kill_after is not None:
            calls = [0]
            real = client.modify_members

            def dies(
                group_id: str, add: list[str], remove: list[str], known: Any = (), **cond: Any
            ) -> Any:
                answer = real(group_id, add, remove, known, **cond)
                calls[0] += 1
                if calls[0] >= kill_after:
                    raise Killed()
                return answer

            client.modify_members = dies
        if full_disk_after is not None:
            writes = [0]

            def fills(fd: int) -> None:
                writes[0] += 1
                if writes[0] > full_disk_after:
                    raise OSError(28, "No space left on device")
                REAL_FSYNC(fd)

            journal_module.os.fsync = fills

    @rule(apply_existing=st.booleans())
    def save_plan(self, apply_existing: bool) -> None:
        mapping, settings_ = self.mapping(apply_existing), self.settings()
        users = self.users()
        export = self.folder / "export.csv"
        export.write_text(repr(sorted(self.values.items())), encoding="utf-8")
        with fast_client(self.server.url) as client:
            try:
                state = read_server_state(client, users, mapping, settings_)
            except InputError:  # a near-duplicate group by hand: no plan
                return
            plan = plan_sync(users, mapping, state, settings_)
        self.plan_path = self.folder / "plan.json"
        save_plan(self.plan_path, plan, mapping, [export])
        self.plan_users, self.plan_mapping = users, mapping

    @precondition(lambda self: self.plan_path is not None)
    @rule()
    def apply_plan(self) -> None:
        assert self.plan_path is not None
        saved = read_plan(self.plan_path)
        settings_ = saved_settings(saved, self.settings())
        plan = sync_plan(saved, settings_)
        before = self.memberships()
        with fast_client(self.server.url) as client:
            try:  # what a fresh sync would plan now, from the same export and mapping
                fresh = plan_sync(self.plan_users, self.plan_mapping, read_server_state(
                    client, self.plan_users, self.plan_mapping, settings_), settings_)
            except InputError:
                fresh = None
            try:
                journal = RunJournal.begin(plan, settings_, saved.mapping, [], counted=False,
                                           applies=saved.code)
                journal.finish(execute(client, plan, settings_, journal=journal))
            except (PlanNoLongerFits, InputError, MassRemovalError):
                assert self.memberships() == before  # refused: nothing written
                return
        assert fresh is not None and _ops(fresh) == _ops(plan), (
            "apply wrote a plan that a fresh sync would not make"
        )
        self.record_run(before)

    @precondition(lambda self: bool(self.before_run))
    @rule(data=st.data(), race=st.booleans())
    def undo(self, data: st.DataObject, race: bool) -> None:
        run_id = data.draw(st.sampled_from(sorted(self.before_run)))
        runs = list_runs(self.server.url)
        run = next(r for r in runs if r.run_id == run_id)
        before = self.memberships()
        with fast_client(self.server.url) as client:
            try:
                undo = plan_undo(client, run, self.settings(), later=runs)
                if race:
                    self._race(client, before)
                apply_undo(client, undo, self.settings())
            except (InputError, ScimError, MassRemovalError):
                assert self.memberships() == before
                return
        after = self.memberships()
        removed, added = before - after, after - before
        existed = self.before_run[run_id]
        assert not removed & existed, f"undo of run {run_id} removed what was there before it"
        put_back = {m for m in added if m[0] in MANAGED.values()}  # renamed: not by name
        assert put_back <= self.changed_by[run_id] & existed, (
            f"undo of run {run_id} put back what the run did not remove: "
            f"{put_back - (self.changed_by[run_id] & existed)}"
        )
        later = set().union(*(c for n, c in self.changed_by.items() if n > run_id))
        assert not (before ^ after) & later, f"undo of run {run_id} reverted a later change"
        self.record_run(before)

    # --- the admin's hand edits -------------------------------------------------------------

    @rule(group=st.sampled_from([*MANAGED.values(), HAND_GROUP]), user=st.sampled_from(USERS),
          add=st.booleans())
    def hand_member(self, group: str, user: str, add: bool) -> None:
        with fast_client(self.server.url) as client:
            found = client.find_group(group)
            if found is None:
                return
            uid = self.ids()[user]
            client.modify_members(str(found["id"]), [uid] if add else [], [] if add else [uid])
        if group == HAND_GROUP:
            (self.hand.add if add else self.hand.discard)(user)

    @rule(group=st.sampled_from(list(MANAGED.values())), how=st.sampled_from(
        ["delete", "recreate", "rename", "near-duplicate"]))
    def hand_group(self, group: str, how: str) -> None:
        with contextlib.suppress(ScimError):  # the server refused the admin: nothing changed
            self._hand_group(group, how)

    def _hand_group(self, group: str, how: str) -> None:
        with fast_client(self.server.url) as client:
            found = client.find_group(group)
            if how == "near-duplicate":
                if client.find_group(group.lower()) is None and found is None:
                    client.create_group(group.lower(), [])
                return
            if found is None:
                if how == "recreate":
                    client.create_group(group, [])
                return
            path = f"/Groups/{found['id']}"
            if how == "rename":
                client.request("PATCH", path, json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "displayName",
                                    "value": f"{group} (old)"}],
                })
            else:
                client.request("DELETE", path)
                if how == "recreate":
                    client.create_group(group, [])

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def the_hand_made_group_is_never_touched(self) -> None:
        assert self.server.dump()["groups"].get(HAND_GROUP) == self.hand


def _ops(plan: Any) -> tuple[Any, ...]:
    return (sorted(plan.groups_to_create),
            sorted((g, sorted(e.lower() for e in v)) for g, v in plan.adds.items() if v),
            sorted((g, sorted(e.lower() for e in v)) for g, v in plan.removes.items() if v))


TrustMachine.TestCase.settings = settings(
    max_examples=200 if SOAK else 6,
    stateful_step_count=30 if SOAK else 25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


test_trust_under_any_interleaving = pytest.mark.timeout(0 if SOAK else 600)(TrustMachine.TestCase)
