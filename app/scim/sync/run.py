"""The shared state of one running sync: progress, cancel, stop after fatal errors, failures."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.scim.config.settings import SyncProgress, SyncSettings
from app.scim.http.budget import ChangeBudget
from app.scim.http.client import ScimClient, member_ids
from app.scim.http.errors import AuthError, ConnectError, ScimError
from app.scim.http.pacing import Stop, WaitCancelled
from app.scim.http.protocol import has_members
from app.scim.http.replace import Witness
from app.scim.sync.gate import MAX_WITNESS_AGE, GroupUnseen
from app.scim.sync.plan import SyncPlan
from app.scim.sync.result import FailedOperation, SyncResult
from app.scim.sync.state import ServerGroup
from app.scim.sync.user_groups import members_from_users, refusal


@dataclass
class Run:
    client: ScimClient
    plan: SyncPlan
    settings: SyncSettings
    result: SyncResult
    progress: Callable[[SyncProgress], None] | None
    cancelled: Callable[[], bool] | None
    log: Callable[[str], None] | None
    budget: ChangeBudget = field(default_factory=ChangeBudget)
    total: int = 0
    changes: int = 0  # membership changes planned (spent from the budget as they are sent)
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    abort: str = ""
    was_cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    witnessed_at: dict[str, float] = field(default_factory=dict)  # group -> its last read
    blind: set[str] = field(default_factory=set)  # groups last read without `members`
    made: dict[str, ServerGroup] = field(default_factory=dict)  # created or adopted, as seen

    def check(self) -> None:
        """Called before every request: raises Stop when cancelled or after a fatal error
        (an unwritable journal is one: nothing is sent that the journal cannot record)."""
        journal = self.result.journal
        if journal is not None and journal.error and not self.abort:
            self.result.journal_error = journal.error
            self.abort = f"not sent: {journal.error}"
        if self.abort:
            raise Stop(self.abort)
        if self.cancelled is not None and self.cancelled():
            self.was_cancelled = True
            raise Stop("cancelled")

    def witness(self, group: str, again: bool = False) -> None:
        """Before writing to a group the run read more than MAX_WITNESS_AGE seconds ago (a
        paced run can write for hours), or `again` (the server refused the write's If-Match):
        read it again, so the intent's before-states are what the group holds now, and a
        member the admin added meanwhile is never the run's to undo. Where the write carries
        If-Match the version is the witness: no read until the server says it changed; on a
        server with ETags, a group read without a version (a list without `meta.version`) is
        read once for it, so no write to it goes unconditional. A
        group whose reads hide its members is witnessed by the users' `groups` again."""
        known = self.known(group)
        if known is None or (self.result.journal is None and not again):
            return
        with self.lock:
            at = self.witnessed_at.get(group, self.plan.state.read_at)
        if not again and (self.if_match(group) or (
            at and time.monotonic() - at <= MAX_WITNESS_AGE and self._fresh(known.version)
        )):
            return
        state = self.plan.state  # a server returning `members` on request is asked for them
        body, version = self.client.get_group(known.id, attributes=state.groups_asked or None)
        members = set(member_ids(body))
        shown = has_members(body)
        if group in state.groups_from_users and not shown:  # hidden: ask the users
            named = members_from_users(self.client, {group: known.id})
            if named is None:
                why = "its users no longer list their groups"
                raise GroupUnseen(refusal(self.client.base_url, group, why, carried=False))
            members |= named[group]
            shown = True
        with self.lock:  # absent is not empty: such a read shows nothing already done
            (self.blind.discard if shown else self.blind.add)(group)
        self._witnessed(group, members, version)

    def known(self, group: str) -> ServerGroup | None:
        """The group as last witnessed: read by the run, or as its create left it."""
        with self.lock:
            return self.plan.state.groups.get(group) or self.made.get(group)

    def made_group(self, group: str, group_id: str, members: set[str], version: str | None) -> None:
        """A group the run created or adopted: what it holds after the create witnesses the
        group's next writes, as a read would."""
        with self.lock:
            self.made[group] = ServerGroup(group_id, group, sorted(members), version)
        self._witnessed(group, members, version, fresh=self._fresh(version))

    def if_match(self, group: str) -> str | None:
        """The witnessed version a write to the group must still find (RFC 7644 3.14), where
        the server versions its resources; None: the write goes unconditional."""
        known = self.known(group)
        if known is None or not known.version or not self.client.features().etag:
            return None
        return known.version

    def wrote(
        self, group: str, added: list[str], removed: list[str], answer: object, left: Witness
    ) -> None:
        """After a write the server accepted: what the group holds now witnesses the next
        write. Sent with If-Match, it is exactly the witness with this write applied, at the
        version it `left` (none given: the next write reads again). Without, an answer
        listing the members adds those it shows (a member added by hand meanwhile), never
        drops one (an answer may be capped): the next write's window starts at this answer."""
        known = self.known(group)
        if known is None:
            return
        members = (set(known.members) | set(added)) - set(removed)
        if self.if_match(group):
            self._witnessed(group, members, left.version, fresh=self._fresh(left.version))
        elif isinstance(answer, dict) and has_members(answer):
            try:
                shown = set(member_ids(answer))
            except ScimError:  # members it cannot read say nothing: the witness ages as it was
                return
            self._witnessed(group, members | shown, known.version)

    def _fresh(self, version: str | None) -> bool:
        """Whether a witness is good for MAX_WITNESS_AGE: on a server with ETags, only with
        the version the next write's If-Match needs (without, the next write reads first)."""
        return bool(version) or not self.client.features().etag

    def _witnessed(
        self, group: str, members: set[str], version: str | None, fresh: bool = True
    ) -> None:
        with self.lock:
            held = self.plan.state.groups if group in self.plan.state.groups else self.made
            held[group] = ServerGroup(held[group].id, group, sorted(members), version)
            self.witnessed_at[group] = time.monotonic() if fresh else 0.0

    def intend(self, operation: str, group: str, emails: list[str]) -> None:
        """Right before a request: its intent, with the witnessed before-state, on disk first.
        When the journal cannot take it, the request is not sent and the run stops."""
        journal = self.result.journal
        if journal is None or not (emails or operation in ("create", "delete")):
            return
        journal.intent(operation, group, emails)
        if journal.error:
            self.result.journal_error = journal.error
            self.abort = f"not sent: {journal.error}"
            raise Stop(self.abort)

    def refused(self, group: str, adds: list[str], removes: list[str]) -> None:
        """A conditional write refused (412), on disk before the group is read again."""
        journal = self.result.journal
        if journal is None:
            return
        for operation, emails in (("add", adds), ("remove", removes)):
            if emails:
                journal.refused(group, operation, emails, 412)

    def spend(self, changes: int) -> None:
        """Before a request carrying membership changes: wait for the change budget."""
        self.budget.spend(changes)

    def step(self) -> None:
        with self.lock:
            self.done += 1
            done, total = self.done, max(self.total, self.done)
        if self.progress is not None:
            limiter, budget = self.client.limiter, self.budget  # the time left follows both
            elapsed = time.monotonic() - self.started
            left = max(0, self.changes - budget.spent)
            budget_left = budget.seconds_for(left, last=self.settings.batch_size)
            self.progress(
                SyncProgress(
                    done,
                    total,
                    elapsed,
                    "write",
                    limiter.rate,
                    limiter.paused,
                    budget_left,
                    budget.per_hour,
                )
            )

    def say(self, message: str) -> None:
        if self.log is not None:
            self.log(self.client.redact(message))

    def fail(self, group: str, operation: str, emails: list[str], error: Exception) -> None:
        """Record a failed operation; an auth failure or an unreachable server stops the rest."""
        if isinstance(error, WaitCancelled):  # cancelled while waiting for the rate limit
            self.was_cancelled = True
            return
        status = error.status if isinstance(error, ScimError) else 0
        reason = self.client.redact(str(error))
        self.result.add_failure(FailedOperation(group, operation, list(emails), status, reason))
        self.say(f"{operation} {group}: failed for {len(emails)} user(s): {reason}")
        fatal = isinstance(error, AuthError) or (
            isinstance(error, ConnectError) and not error.ambiguous
        )
        if fatal:
            self.abort = f"not sent: an earlier request failed ({reason})"

    def not_sent(self, group: str, operation: str, emails: list[str], stop: Stop) -> None:
        """Changes left undone by a stop: listed as failed, unless the admin cancelled."""
        if isinstance(stop, WaitCancelled):  # cancelled while waiting for the rate limit
            self.was_cancelled = True
        if emails and not self.was_cancelled:
            self.result.add_failure(FailedOperation(group, operation, list(emails), 0, str(stop)))
