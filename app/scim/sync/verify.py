"""Verified writes: every answer checked, then each changed group read back once.

A server may answer 200 or 204 and keep less than was sent (vendors silently cap groups at
20 or 100 members), or answer 200 with a SCIM Error body. An Error body is a failure; a
PATCH or PUT answer that lists members is compared with what was sent; after the writes,
one GET per changed group (or the group list, where this server's list was found
trustworthy and takes fewer requests; a group the list shows without a change is read on its
own, as a list may lag behind the writes) compares the export users' memberships with the
plan. Where an add seems lost, a few of the missing users are looked up with a members
filter: found, the list was capped (the group is reported unverified); not found, the
losses are real.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from app.core.identity import email_key
from app.scim.http.client import ScimClient, member_ids
from app.scim.http.errors import ScimError
from app.scim.http.protocol import has_members
from app.scim.sync.member_filter import filter_finds
from app.scim.sync.result import SyncResult
from app.scim.sync.run import Run

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
CONFIRM_SAMPLE = 3  # users missing from a read-back looked up by filter, to tell capped lists


def error_in_body(
    answer: object, redact: Callable[[str], str]
) -> ScimError | None:
    """The SCIM Error a 2xx answer carries in its body, if it carries one (its texts redacted:
    a server may echo the token)."""
    if not isinstance(answer, dict):
        return None
    schemas = answer.get("schemas")
    if not (isinstance(schemas, list) and ERROR_SCHEMA in schemas):
        return None
    try:
        status = int(str(answer.get("status", 0)))
    except ValueError:
        status = 0
    detail = redact(str(answer.get("detail") or "no detail given"))
    scim_type = redact(str(answer.get("scimType") or "")) or None
    return ScimError(
        status or 200, scim_type, f"the server answered success with a SCIM Error: {detail}"
    )


def record_answer(
    run: Run, group: str, adds: list[str], removes: list[str], answer: object
) -> None:
    """Record one membership write from the server's answer: done, failed, or not kept."""
    error = error_in_body(answer, run.client.redact)
    if error is not None:
        if adds:
            run.fail(group, "add", adds, error)
        if removes:
            run.fail(group, "remove", removes, error)
        return
    status = 204 if answer is None else 200
    if not isinstance(answer, dict) or not isinstance(answer.get("members"), list):
        run.result.applied(group, added=adds, removed=removes, status=status)
        return
    ids = run.plan.state.user_ids
    try:
        present = set(member_ids(answer))
    except ScimError:  # a member list that cannot be read says nothing: the read-back will
        run.result.applied(group, added=adds, removed=removes, status=status)
        return
    kept_adds = [e for e in adds if ids[email_key(e)] in present]
    kept_removes = [e for e in removes if ids[email_key(e)] not in present]
    run.result.applied(group, added=kept_adds, removed=kept_removes, status=status)
    reason = "the server's answer to the write does not show the change"
    lost_adds = [e for e in adds if e not in kept_adds]
    lost_removes = [e for e in removes if e not in kept_removes]
    if lost_adds:
        run.result.lost(group, "add", lost_adds, reason)
    if lost_removes:
        run.result.lost(group, "remove", lost_removes, reason)
    if lost_adds or lost_removes:
        run.say(f"{group}: {len(lost_adds) + len(lost_removes)} change(s) not kept by the server")


def _listed_groups(
    client: ScimClient, result: SyncResult, changed: int, concurrency: int
) -> dict[str, dict[str, object]]:
    """The changed groups as the group list shows them (id -> group, with members), where a
    page holds more than one changed group and this server's list was found trustworthy when
    it was read, or was not judged (no managed group existed: a first sync); a group missing
    from it (a search index lagging) is read on its own."""
    state = result.plan.state
    if not state.groups_list_trusted and state.groups_judged:
        return {}
    on_server = state.groups_on_server + len(result.created_groups)
    try:  # a failure or a cancel here leaves each group to its own read (or to none)
        if changed <= max(1, -(-on_server // max(1, client.page_size()))):
            return {}
        groups = client.list_groups(
            members=True, parallel=concurrency, kind="read_back", attributes=state.groups_asked
        )
    except ScimError:
        return {}
    return {str(g.get("id")): g for g in groups if has_members(g)}


def read_back(
    client: ScimClient,
    result: SyncResult,
    concurrency: int = 4,
    cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> int:
    """One GET per changed group, or the group list where this server's list is trusted and
    cheaper (and a few filters where adds seem lost); what the server did not keep goes to
    result.not_kept, groups it cannot tell to result.unverified. Requests made."""
    plan = result.plan
    if plan.settings.target != "groups":
        return 0
    ids = plan.state.user_ids
    group_ids = {name: g.id for name, g in plan.state.groups.items()}
    group_ids.update(result.group_ids)
    changed = [g for g in group_ids if result.done.get(g)]
    adds = {g: {email_key(e) for e in plan.adds.get(g, [])} for g in changed}
    sent_before = client.request_count  # the read-back runs alone, after the writes
    listed_entries = _listed_groups(client, result, len(changed), concurrency)
    trusted = plan.state.groups_list_trusted

    def proven(entry: dict[str, object] | None, group: str) -> dict[str, object] | None:
        """The list's entry, where the list is trusted or shows every change kept: a list
        never invents members, so one showing each add (and no remove to hide) is proof
        even from a server whose list might cap members; else None (a read of its own)."""
        if entry is None or trusted:
            return entry
        done = result.done.get(group, set())
        if done - adds[group]:
            return None
        try:
            present = set(member_ids(entry))
        except ScimError:
            return None
        return entry if all(ids[e] in present for e in done) else None

    def members(group: str, from_list: bool) -> tuple[set[str], bool]:
        """The group's members, and whether they came from the list."""
        entry = proven(listed_entries.get(group_ids[group]), group) if from_list else None
        body = entry or client.get_group(
            group_ids[group], kind="read_back", attributes=plan.state.groups_asked or None
        )[0]
        # No member list: an empty group (some servers leave `members` out then), unless
        # this run added to it, when the server hides its members and nothing is known.
        if not has_members(body) and adds[group] & result.done.get(group, set()):
            raise ScimError(200, None, "the server's answer does not list its members")
        return set(member_ids(body)), entry is not None

    def lost(group: str, present: set[str]) -> tuple[list[str], list[str]]:
        done = sorted(result.done.get(group, set()))
        return (
            [e for e in done if e in adds[group] and ids[e] not in present],
            [e for e in done if e not in adds[group] and ids[e] in present],
        )

    def check(group: str) -> None:
        if cancelled is not None and cancelled():
            return
        try:
            present, via_list = members(group, from_list=True)
            lost_adds, lost_removes = lost(group, present)
            if (lost_adds or lost_removes) and via_list:
                # a list may lag behind the writes (a search index): the group itself decides
                present, _ = members(group, from_list=False)
                lost_adds, lost_removes = lost(group, present)
        except ScimError as error:
            reason = client.redact(f"could not read {group!r} back to verify it: {error}")
            result.unverified.append(reason)
            if log is not None:
                log(reason)
            return
        if lost_adds:  # a member missing from the list may be kept by a server capping lists
            sample = lost_adds[:CONFIRM_SAMPLE]
            listed = [filter_finds(client, group_ids[group], ids[e], "read_back") for e in sample]
            if all(found is True for found in listed):
                reason = client.redact(
                    f"could not read {group!r} back to verify it: its member list looks capped "
                    f"({len(present):,} listed; a members filter finds users it leaves out)"
                )
                result.unverified.append(reason)
                lost_adds = []
            else:
                found = {e for e, hit in zip(sample, listed, strict=True) if hit}
                lost_adds = [e for e in lost_adds if e not in found]
        reason = "the group read back after the sync does not show the change"
        for operation, emails in (("add", lost_adds), ("remove", lost_removes)):
            if emails:
                result.lost(group, operation, emails, reason, counted=True)
        if (lost_adds or lost_removes) and log is not None:
            count = len(lost_adds) + len(lost_removes)
            log(f"{group}: {count} change(s) not kept by the server (read back)")

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(check, changed))
    requests = client.request_count - sent_before
    result.verified = True
    if result.journal is not None:
        result.journal.verified(result, requests)
    return requests
