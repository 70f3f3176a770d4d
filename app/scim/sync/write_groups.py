"""Write one managed group: create it with its first members, then batched membership changes.

A batch the server refuses with a client error (4xx) is split in halves and retried, so one
bad member fails alone instead of taking its whole batch down. Removals no shape can make
safely on a server fail alone too: their batch's adds are still sent. Every request carrying
membership changes first spends them from the sync's change budget (app/scim/http/budget.py).
"""

from __future__ import annotations

import math
from typing import Any

from app.core.identity import email_key
from app.scim.http.client import member_ids
from app.scim.http.errors import ConnectError, PartlyWritten, ScimError, UnsafeRemoval
from app.scim.http.pacing import Stop
from app.scim.http.protocol import has_members
from app.scim.http.replace import Witness
from app.scim.sync.gate import GroupUnseen, unseen
from app.scim.sync.plan import SyncPlan
from app.scim.sync.run import Run
from app.scim.sync.user_groups import members_from_users, refusal
from app.scim.sync.verify import record_answer

SPLIT_STATUSES = frozenset({400, 404, 409, 413, 422})
MAX_CONFLICTS = 3  # times a write refused by its If-Match is read again and sent again


def planned_group_requests(plan: SyncPlan, batch_size: int) -> int:
    """The write requests the plan needs when nothing goes wrong."""
    total = 0
    for group in set(plan.groups_to_create) | set(plan.adds) | set(plan.removes):
        changes = len(plan.adds.get(group, [])) + len(plan.removes.get(group, []))
        if group in plan.groups_to_create:
            total += 1
            changes = max(0, changes - batch_size)
        total += math.ceil(changes / batch_size)
    return total


def write_group(run: Run, group: str) -> None:
    plan, result, ids = run.plan, run.result, run.plan.state.user_ids
    adds = list(plan.adds.get(group, []))
    removes = list(plan.removes.get(group, []))
    refused = unseen(plan, group)
    if refused is not None:  # its members are hidden: nothing is sent to it
        for operation, emails in (("add", adds), ("remove", removes)):
            if emails:
                run.fail(group, operation, emails, refused)
        return
    try:
        if group in plan.groups_to_create:
            run.check()
            first = adds[: run.settings.batch_size]
            run.spend(len(first))
            run.intend("create", group, first)
            try:
                first_ids = [ids[email_key(e)] for e in first]
                created, adopted = run.client.create_group(group, first_ids)
            except ScimError as exc:
                run.fail(group, "create", adds, exc)
                run.step()
                return
            run.step()
            group_id = str(created["id"])
            result.created(group, group_id, adopted)
            try:
                present, version = _members_after_create(
                    run, group, group_id, created, adopted, bool(first)
                )
            except (ScimError, GroupUnseen) as exc:  # the group exists; what it holds is unknown
                run.fail(group, "add", adds, exc)
                return
            run.made_group(group, group_id, present, version)
            done = [e for e in adds if ids[email_key(e)] in present]
            if adopted:  # it existed: who is in it was there before, not this run's doing
                result.witnessed(group, done)
            else:
                result.applied(group, added=done)
            adds = [e for e in adds if ids[email_key(e)] not in present]
            members = {0: "no members yet", 1: "1 member"}.get(len(done), f"{len(done)} members")
            if adopted:
                run.say(f"Adopted existing group {group}: {members} of the plan already in it")
            else:
                run.say(f"Created group {group} with {members}")
        else:
            group_id = plan.state.groups[group].id
        _write_batches(run, group, group_id, adds, removes)
    except Stop as stop:
        run.not_sent(group, "add", [e for e in adds if not result.is_done(group, e)], stop)
        run.not_sent(group, "remove", [e for e in removes if not result.is_done(group, e)], stop)


def _members_after_create(
    run: Run, group: str, group_id: str, created: dict[str, Any], adopted: bool, sent: bool
) -> tuple[set[str], str | None]:
    """Who the new (or adopted) group holds, and its version: its answer, or a read where
    that says nothing. An adopted group read without `members` on a server that hides them:
    its users say who was in it before the run, else nothing is written to it."""
    if adopted or (sent and "members" not in created):
        run.check()
        state = run.plan.state
        body, version = run.client.get_group(group_id, attributes=state.groups_asked or None)
        present = set(member_ids(body))
        if adopted and not has_members(body) and (state.users_carry_groups or (
            state.groups_unseen or state.groups_from_users
        )):
            named = members_from_users(run.client, {group: group_id})
            if named is None:
                why = "adopted, its reads show no members"
                raise GroupUnseen(refusal(run.client.base_url, group, why, carried=False))
            present |= named[group]
        return present, version
    meta = created.get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    return set(member_ids(created)), str(version) if version else None


def _write_batches(
    run: Run, group: str, group_id: str, adds: list[str], removes: list[str]
) -> None:
    changes = [("add", e) for e in adds] + [("remove", e) for e in removes]
    # Without PATCH every write replaces the whole group: one PUT carries every change.
    size = run.settings.batch_size if run.client.features().patch else max(len(changes), 1)
    for start in range(0, len(changes), size):
        _send_batch(run, group, group_id, changes[start : start + size])
        run.step()
    if changes:
        added = sum(run.result.is_done(group, e) for e in adds)
        removed = sum(run.result.is_done(group, e) for e in removes)
        failed = len(changes) - added - removed
        note = f", {failed} failed (listed apart)" if failed else ""
        run.say(f"{group}: {added} added, {removed} removed{note}")


def known_members(run: Run, group: str) -> set[str] | None:
    """Ids that a source other than GET /Groups/{id} places in the group: the group list's
    members, the `groups` of every server user (when every user was read), and for a group
    this run created, the members it placed. A single read missing one of them is capped and
    must not be written back; None: no such witness. Members this run removed are not
    expected any more."""
    state = run.plan.state
    witnesses = [state.listed_members.get(group)]
    if state.users_complete:
        witnesses.append(state.claimed_members.get(group, set()))
    done = set(run.result.done.get(group, set()))  # email keys, written by this worker only
    ids = state.user_ids
    if group not in state.groups:  # created by this run: it holds what this run placed
        placed = map(email_key, run.plan.adds.get(group, []))
        witnesses.append({ids[k] for k in placed if k in done})
    present = [w for w in witnesses if w is not None]
    if not present:
        return None
    removed = {ids[k] for k in map(email_key, run.plan.removes.get(group, [])) if k in done}
    return set().union(*present) - removed


def _send_batch(run: Run, group: str, group_id: str, batch: list[tuple[str, str]]) -> None:
    """One write. Sent with If-Match and refused (412: the group changed since it was read) or
    answered by nothing (a timeout, a 5xx: it may have landed), the group is read again: a
    write that landed is the run's; else what is still to do is sent, up to MAX_CONFLICTS
    times."""
    run.check()
    run.spend(len(batch))
    error: ScimError | None = None
    sent: str | None = None  # the version the last write was sent against
    for attempt in range(MAX_CONFLICTS + 1):
        lost = error is not None and error.status != 412
        if lost:  # back off as the transport would before repeating a request
            run.client.transport.wait_before_retry(attempt)
        try:
            run.witness(group, again=error is not None)
        except (ScimError, GroupUnseen) as exc:  # cannot be read again: nothing is sent blind
            run.budget.refund(len(batch))
            _fail(run, group, batch, error if lost and error is not None else exc)
            return
        if lost and _landed(run, group, batch, sent):
            adds = [e for op, e in batch if op == "add"]
            removes = [e for op, e in batch if op == "remove"]
            run.result.applied(group, added=adds, removed=removes)
            return
        batch = _still_to_do(run, group, batch)
        if not batch:
            return
        sent = run.if_match(group)
        error = _send(run, group, group_id, batch)
        if error is None:
            return
        batch = [(op, e) for op, e in batch if not run.result.is_done(group, e)]
    run.budget.refund(len(batch))
    if error is None or error.status == 412:
        error = ScimError(412, None, _contested(run, group))
    _fail(run, group, batch, error)


def _landed(run: Run, group: str, batch: list[tuple[str, str]], sent: str | None) -> bool:
    """Whether a write whose answer was lost went through: the group moved on from the
    version it was sent against and shows every change of it (a PATCH is all or nothing)."""
    known = run.known(group)
    if known is None or group in run.blind or known.version == sent:
        return False
    ids, present = run.plan.state.user_ids, set(known.members)
    return all((ids[email_key(e)] in present) == (op == "add") for op, e in batch)


def _still_to_do(run: Run, group: str, batch: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The batch less what the group's witness shows already done: someone else's change
    (a hand edit in the moments before this write), so never the run's to undo."""
    known = run.known(group)
    if known is None or group in run.blind:
        return batch
    ids, present = run.plan.state.user_ids, set(known.members)
    done = [(op, e) for op, e in batch if (ids[email_key(e)] in present) == (op == "add")]
    if not done:
        return batch
    run.budget.refund(len(done))
    for operation in ("add", "remove"):
        emails = [e for op, e in done if op == operation]
        if emails:
            run.result.witnessed(group, emails, operation)
    run.say(f"{group}: {len(done)} change(s) already made on the server by someone else "
            "since it was read: left out, and never reverted by this run's undo")
    return [change for change in batch if change not in done]


def _contested(run: Run, group: str) -> str:
    return (
        f"{run.client.base_url}: the group {group!r} changed on the server each time it was "
        f"read again to write it ({MAX_CONFLICTS + 1} times: 412 Precondition Failed to "
        "If-Match); nothing was sent to it that it refused. Someone or something is editing "
        "it now: run the sync again once that stops"
    )


def _fail(run: Run, group: str, batch: list[tuple[str, str]], error: Exception) -> None:
    for operation in ("add", "remove"):
        emails = [e for op, e in batch if op == operation]
        if emails:
            run.fail(group, operation, emails, error)


def _send(
    run: Run, group: str, group_id: str, batch: list[tuple[str, str]]
) -> ScimError | None:
    """Send the batch with its intents and record its outcome; or, for a write sent with
    If-Match, return the error after which the caller reads the group again: the If-Match
    refused (412), or no answer (the write may have landed)."""
    ids = run.plan.state.user_ids
    batch_adds = [e for op, e in batch if op == "add"]
    batch_removes = [e for op, e in batch if op == "remove"]
    run.intend("add", group, batch_adds)
    run.intend("remove", group, batch_removes)
    add_ids = [ids[email_key(e)] for e in batch_adds]
    remove_ids = [ids[email_key(e)] for e in batch_removes]
    conditional = run.if_match(group)
    witness = Witness(conditional)
    try:
        answer = run.client.modify_members(
            group_id,
            add_ids,
            remove_ids,
            known_members(run, group) if not run.client.features().patch else None,
            witness=witness,
        )
    except UnsafeRemoval as exc:
        run.budget.refund(len(batch_adds))  # the adds go again, alone: they spend once
        if batch_adds:
            _send_batch(run, group, group_id, [("add", e) for e in batch_adds])
        run.fail(group, "remove", batch_removes, exc)
    except PartlyWritten as partly:  # the checked removal landed, the add after it did not
        landed = [e for e in batch_removes if ids[email_key(e)] in set(partly.removed)]
        run.wrote(group, [], [ids[email_key(e)] for e in landed], None, witness)
        run.result.applied(group, removed=landed)
        rest = [change for change in batch if change[0] == "add" or change[1] not in landed]
        return _refused(run, group, group_id, rest, partly.error, conditional)
    except ScimError as exc:
        return _refused(run, group, group_id, batch, exc, conditional)
    else:
        run.wrote(group, add_ids, remove_ids, answer, witness)
        record_answer(run, group, batch_adds, batch_removes, answer)
    return None


def _refused(
    run: Run,
    group: str,
    group_id: str,
    batch: list[tuple[str, str]],
    exc: ScimError,
    conditional: str | None,
) -> ScimError | None:
    """A write answered with an error: for a conditional one refused or unanswered, the
    error to read the group again after; else split on a client error, or failed."""
    unanswered = (isinstance(exc, ConnectError) and exc.ambiguous) or exc.status in (
        500, 502, 504,  # what the transport repeats: it may have landed
    )
    if conditional and (exc.status == 412 or unanswered):
        if exc.status == 412:
            run.refused(group, [e for op, e in batch if op == "add"],
                        [e for op, e in batch if op == "remove"])
        return exc
    if len(batch) > 1 and exc.status in SPLIT_STATUSES:
        run.budget.refund(len(batch))  # refused whole: the halves spend it again
        half = len(batch) // 2
        _send_batch(run, group, group_id, batch[:half])
        _send_batch(run, group, group_id, batch[half:])
        return None
    _fail(run, group, batch, exc)
    return None
