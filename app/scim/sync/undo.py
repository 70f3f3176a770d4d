"""Undo a sync from its journal: the inverse of what the run changed, where nothing changed since.

The journal, not the plan, says what reached the server: memberships the run added are
removed, memberships it removed are added back, for an interrupted run too (an intent sent
without an answer is resolved by reading the group). Only what the run changed relative to
its witnesses is reverted: a membership its intent saw before the run (format 2 journals), or
that it found in a group it adopted, is never removed. A membership a later run touched (a
later sync, or an earlier undo of this run) is left alone and listed, and so is one no longer
as the run left it (changed by hand): each touched group is read first. Groups the run created
stay, emptied of what it added; `delete_created_groups` deletes one only if it is then empty.
The inverse is an ordinary SyncPlan, so it is previewed, guarded, executed, verified and
journaled like any sync.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import InputError
from app.core.identity import email_key
from app.core.users import UserList
from app.io.journal import RunRecord, same_server
from app.scim.config.settings import SyncProgress, SyncSettings
from app.scim.http.client import ScimClient, member_ids
from app.scim.http.errors import ScimError
from app.scim.http.protocol import has_members
from app.scim.http.redact import redact_url
from app.scim.sync.executor import execute
from app.scim.sync.plan import MassRemovalError, SyncPlan
from app.scim.sync.record import RunJournal
from app.scim.sync.result import SyncResult
from app.scim.sync.state import ServerGroup, ServerState
from app.scim.sync.user_groups import members_from_users


@dataclass(frozen=True)
class LeftAsIs:
    """A change of the run that is no longer as it left it: undo does not touch it."""

    group: str
    operation: str  # what the run did: "add" or "remove"
    email: str
    now: str  # what the server shows now

    def describe(self) -> str:
        did = "added to" if self.operation == "add" else "removed from"
        return (
            f"{self.email}: {did} {self.group!r} by the run, {self.now}: "
            "changed since, left as is"
        )


@dataclass
class UndoPlan:
    run: RunRecord
    plan: SyncPlan  # the inverse, executed like a sync
    left_as_is: list[LeftAsIs] = field(default_factory=list)
    created_groups: dict[str, str] = field(default_factory=dict)  # name -> id, created by run

    def describe(self) -> str:
        lines = [f"Undo of run {self.run.run_id} ({self.run.start.get('at', '')}):"]
        lines.append(self.plan.describe())
        if self.left_as_is:
            lines.append(f"Changed since, left as is ({len(self.left_as_is)}):")
            lines += [f"  = {item.describe()}" for item in self.left_as_is]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "undoes": self.run.run_id,
            "left_as_is": [item.__dict__ for item in self.left_as_is],
        }


Change = tuple[str, str, str]  # operation, email, group name


def applied_changes(run: RunRecord) -> dict[tuple[str, str], Change]:
    """(group id, user id) -> the run's last change that the server kept, or that an intent
    sent without an answer may have made (the read of the group decides). A change to a
    membership the run witnessed as already so before it is not the run's to revert."""
    witnessed_before = _witnessed_before(run)
    unresolved = set(run.unresolved())
    records = [(op, str(op.get("outcome"))) for op in run.ops]
    records += [(intent, "unresolved") for intent in run.intents]
    changes: dict[tuple[str, str], Change] = {}
    for op, outcome in records:
        if op.get("op") not in ("add", "remove"):
            continue
        group_id = str(op.get("group_id") or "")
        for member in op.get("members") or []:
            key = (group_id, str(member.get("id") or ""))
            email = str(member.get("email", ""))
            if not all(key):
                continue
            sent = (op["op"], op["group"], email_key(email))
            if outcome == "unresolved" and sent not in unresolved:
                continue
            if outcome in ("applied", "unresolved"):
                if not witnessed_before.get((op["op"], *key)):
                    changes[key] = (op["op"], email, str(op.get("group", "")))
            elif outcome == "not kept" and changes.get(key, ("",))[0] == op["op"]:
                del changes[key]
    return changes


def _witnessed_before(run: RunRecord) -> dict[tuple[str, str, str], bool]:
    """(operation, group id, user id) -> True where the run's intent saw the membership
    already as the operation leaves it: an add of a member, a removal of a non-member."""
    seen: dict[tuple[str, str, str], bool] = {}
    for intent in run.intents:
        if intent.get("op") not in ("add", "remove"):
            continue
        for member in intent.get("members") or []:
            before = member.get("before")
            if not isinstance(before, bool):
                continue
            key = (str(intent["op"]), str(intent.get("group_id") or ""), str(member.get("id")))
            already = before if intent["op"] == "add" else not before
            seen[key] = seen.get(key, False) or already
    return seen


def touched_later(run: RunRecord, later: list[RunRecord]) -> dict[tuple[str, str], int]:
    """(group id or group name, email key) -> the first later run whose journal shows a change
    of that membership sent (applied, or sent without an answer); dry runs aside. Any server's
    runs count, by group id where the journal has it (a URL may be spelled two ways, a group
    renamed): leaving a membership as is is the safe side."""
    touched: dict[tuple[str, str], int] = {}
    for other in sorted(later, key=lambda r: r.run_id):
        if other.run_id <= run.run_id or other.start.get("dry_run"):
            continue
        unresolved = set(other.unresolved())
        records = [op for op in other.ops if op.get("outcome") == "applied"]
        records += [i for i in other.intents
                    if any(k in unresolved for k in _intent_keys(i))]
        for op in records:
            if op.get("op") not in ("add", "remove"):
                continue
            for member in op.get("members") or []:
                email = email_key(str(member.get("email", "")))
                for group in (str(op.get("group_id") or ""), str(op["group"])):
                    if group:
                        touched.setdefault((group, email), other.run_id)
    return touched


def _intent_keys(intent: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(str(intent["op"]), str(intent["group"]), email_key(str(m.get("email", ""))))
            for m in intent.get("members") or []]


def _unanswered_creates(run: RunRecord) -> list[dict[str, Any]]:
    """The create intents of groups that did not exist when the run read the server, sent
    without an answer (a kill, a lost answer): the read of the server tells if they landed."""
    pending = {group for op, group, _ in run.unresolved() if op == "create"}
    return [i for i in run.intents
            if i.get("op") == "create" and i["group"] in pending and not i.get("group_existed")]


def check_undoable(run: RunRecord, url: str) -> None:
    if not same_server(run.url, url):
        raise InputError(
            f"run {run.run_id} synced {run.url}, not {redact_url(url)}: undo it with --url "
            f"{run.url}"
        )
    if run.start.get("dry_run"):
        raise InputError(f"run {run.run_id} was a dry run: it wrote nothing, so nothing to undo")
    if run.start.get("target") == "attribute":
        raise InputError(
            f"run {run.run_id} wrote a user attribute: undo reverts group memberships only; "
            "sync the previous mapping again to restore the attribute"
        )


def plan_undo(
    client: ScimClient,
    run: RunRecord,
    settings: SyncSettings,
    cancelled: Callable[[], bool] | None = None,
    later: list[RunRecord] | None = None,
) -> UndoPlan:
    """Read each group the run touched and plan the inverse of what is still as it left it.

    `later`: the journaled runs (any order, any server: the later ones count); a membership
    one of them changed is left as is. A create sent without an answer is resolved by
    looking the group up."""
    check_undoable(run, settings.url)
    changes = applied_changes(run)
    created = {
        str(op["group"]): str(op.get("group_id") or "")
        for op in run.ops
        if op.get("op") == "create" and op.get("outcome") == "applied" and op.get("group_id")
    }
    for intent in _unanswered_creates(run):  # the group is there now: the run made it
        found = client.find_group(str(intent["group"]))
        if found is None:
            continue
        group_id, name = str(found["id"]), str(intent["group"])
        created[name] = group_id
        for member in intent.get("members") or []:
            if member.get("id"):
                changes.setdefault(
                    (group_id, str(member["id"])), ("add", str(member.get("email", "")), name)
                )
    left: list[LeftAsIs] = []
    by_later = touched_later(run, later or [])
    for (group_id, user_id), (op, email, name) in list(changes.items()):
        other = by_later.get((group_id, email_key(email))) or by_later.get(
            (name, email_key(email))
        )
        if other is not None:
            what = "undone" if _undoes(later or [], other, run.run_id) else "changed"
            left.append(LeftAsIs(name, op, email, f"{what} by the later run {other}"))
            del changes[(group_id, user_id)]
    names = {gid: name for (gid, _), (_, _, name) in changes.items()}
    names.update({gid: name for name, gid in created.items()})
    state = ServerState(managed=list(dict.fromkeys(names.values())))
    hidden: dict[str, str] = {}  # groups read without `members`: name -> id
    for group_id, name in names.items():
        if cancelled is not None and cancelled():
            raise InputError("undo cancelled while reading the server; nothing was written")
        try:
            body, version = client.get_group(group_id)
        except ScimError as error:
            if error.status != 404:
                raise
            body = None
        if body is None:
            left += [
                LeftAsIs(n, op, email, "the group is no longer on the server")
                for (gid, _), (op, email, n) in changes.items()
                if gid == group_id
            ]
            continue
        state.groups[name] = ServerGroup(group_id, name, member_ids(body), version)
        if not has_members(body):
            hidden[name] = group_id
    _witness_hidden(client, state, hidden)
    adds: dict[str, list[str]] = {}
    removes: dict[str, list[str]] = {}
    for (group_id, user_id), (op, email, name) in changes.items():
        group = state.groups.get(name)
        if group is None or group.id != group_id:
            continue
        present = user_id in set(group.members)
        state.user_ids.setdefault(email_key(email), user_id)
        if op == "add" and present:
            removes.setdefault(name, []).append(email)
        elif op == "remove" and not present:
            adds.setdefault(name, []).append(email)
        else:
            # An answer without a member list, on a server whose users do not carry `groups`,
            # is read as empty (servers leave `members` out of an empty group): at worst a
            # removal the run made is re-added to a member who is there, and an add is left
            # as is; nothing is ever removed unseen.
            now = "not listed as a member now" if op == "add" else "a member again"
            left.append(LeftAsIs(name, op, email, now))
    emails = sorted({e for (_, e, _) in changes.values()})
    users = UserList.of_emails(emails)
    undone = f"run {run.run_id} ({run.start.get('at', '')})"
    plan = SyncPlan.replayed(
        adds, removes, state, settings, users, state.current_memberships(),
        reasons={"add": f"{undone} removed them; undo puts them back",
                 "remove": f"{undone} added them; undo takes them out"},
    )
    state.read_at = time.monotonic()  # the groups read above witness the inverse's writes
    return UndoPlan(run, plan, left, {n: g for n, g in created.items() if n in state.groups})


def _witness_hidden(client: ScimClient, state: ServerState, hidden: dict[str, str]) -> None:
    """Groups read without `members` (an empty one, or a server hiding them): where users
    carry `groups`, the users naming a group are its members too, so a member the run added
    is seen and removed (else it is left as is: nothing is removed unseen)."""
    named = members_from_users(client, hidden) if hidden else None
    for name in hidden:
        group = state.groups[name]
        group.members = sorted(set(group.members) | (named or {}).get(name, set()))


def _undoes(runs: list[RunRecord], run_id: int, undone: int) -> bool:
    return any(r.run_id == run_id and r.start.get("undoes") == undone for r in runs)


def apply_undo(
    client: ScimClient,
    undo: UndoPlan,
    settings: SyncSettings,
    progress: Callable[[SyncProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
    delete_created_groups: bool = False,
    verify: bool = True,
) -> tuple[SyncResult, RunJournal, list[str]]:
    """Execute the inverse as a journaled run of its own: (result, its journal, groups deleted)."""
    journal = RunJournal.begin(
        undo.plan, settings, None, [], undoes=undo.run.run_id, counted=False
    )
    journal.journal.write("undo", **undo.to_json())
    try:
        result = execute(client, undo.plan, settings, progress, cancelled, log, journal, verify)
    except MassRemovalError:
        journal.finish(None, "stopped: mass-removal guard")
        raise
    deleted: list[str] = []
    if delete_created_groups and result.ok and not journal.error:
        deleted, _ = delete_empty_created(client, undo, journal, log)
    result.requests = client.request_count
    journal.finish(result)
    return result, journal, deleted


def delete_empty_created(
    client: ScimClient,
    undo: UndoPlan,
    journal: RunJournal | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[list[str], list[str]]:
    """Delete the groups the run created that are now empty: (deleted, kept with members)."""
    deleted, kept = [], []
    for name, group_id in undo.created_groups.items():
        try:
            body, _ = client.get_group(group_id)  # the witness: empty right before the delete
            if member_ids(body):
                kept.append(name)
                continue
            if journal is not None:  # the intent on disk first, or nothing is deleted
                journal.intent("delete", name, [], group_id=group_id)
                if journal.error:
                    kept += [n for n in undo.created_groups if n not in deleted]
                    break
            client.request("DELETE", f"/Groups/{group_id}")
        except ScimError as error:
            kept.append(name)
            if log is not None:
                log(client.redact(f"Could not delete the group {name}: {error}"))
            continue
        deleted.append(name)
        if journal is not None:
            journal.deleted(name, group_id)
    return deleted, kept
