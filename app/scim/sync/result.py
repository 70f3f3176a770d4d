"""What a sync did: counts, created groups, every failed operation with the server's reason."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from app.core.identity import email_key
from app.scim.sync.plan import Drift, SyncPlan

REPORT_COLUMNS = ["email", "name", "outcome", "added to", "removed from", "reason"]


class OperationLog(Protocol):
    """Where a run writes each intent before its request, each outcome after it, the read-back
    and the end: the run's journal (app/scim/sync/record.py, RunJournal) when it keeps one.
    `error` is set once a record could not be written: the run then sends nothing more."""

    error: str

    def intent(self, operation: str, group: str, emails: list[str]) -> None: ...

    def witnessed(self, group: str, emails: list[str], operation: str = "add") -> None: ...

    def refused(self, group: str, operation: str, emails: list[str], status: int) -> None: ...

    def created(self, group: str, group_id: str, adopted: bool = False) -> None: ...

    def applied(
        self, group: str, added: list[str], removed: list[str], status: int | None
    ) -> None: ...

    def not_kept(
        self, group: str, operation: str, emails: list[str], reason: str, was_applied: bool
    ) -> None: ...

    def failed(self, failure: FailedOperation) -> None: ...

    def verified(self, result: SyncResult, requests: int) -> None: ...

    def finish(self, result: SyncResult | None, status: str = "") -> None: ...


@dataclass(frozen=True)
class FailedOperation:
    group: str
    operation: str  # "create", "add" or "remove"
    emails: list[str]
    status: int  # HTTP status, 0 when no answer came
    reason: str  # the server's detail, or what went wrong

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "operation": self.operation,
            "emails": list(self.emails),
            "status": self.status,
            "reason": self.reason,
        }

    def describe(self) -> str:
        who = f"{len(self.emails)} user(s)" if self.emails else "the group"
        return f"{self.operation} {self.group!r} for {who}: {self.reason}"


@dataclass(frozen=True)
class NotKept:
    """A change the server answered as done but did not keep (its answer or the read-back)."""

    group: str
    operation: str  # "add" or "remove"
    email: str
    reason: str

    def what(self) -> str:
        verb = "added to" if self.operation == "add" else "removed from"
        return f"{verb} {self.group!r} but not kept by the server ({self.reason})"

    def describe(self) -> str:
        return f"{self.email}: {self.what()}"


@dataclass
class SyncResult:
    plan: SyncPlan
    created_groups: list[str] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    not_found: list[str] = field(default_factory=list)
    failed: list[FailedOperation] = field(default_factory=list)
    requests: int = 0
    requests_by_kind: dict[str, int] = field(default_factory=dict)  # see Transport
    drift: list[Drift] = field(default_factory=list)
    cancelled: bool = False
    group_ids: dict[str, str] = field(default_factory=dict)  # groups created or adopted
    done: dict[str, set[str]] = field(default_factory=dict)  # group -> email_keys applied
    not_kept: list[NotKept] = field(default_factory=list)
    verified: bool = False  # the changed groups were read back
    unverified: list[str] = field(default_factory=list)  # groups the read-back could not read
    journal_error: str = ""  # the journal became unwritable: the run stopped sending there
    journal: OperationLog | None = field(default=None, repr=False)  # when recording
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, plan: SyncPlan) -> SyncResult:
        return cls(
            plan, unchanged=plan.unchanged_count, not_found=list(plan.not_found), drift=plan.drift
        )

    # --- recording (thread-safe) ---------------------------------------------------------

    def created(self, group: str, group_id: str, adopted: bool = False) -> None:
        """A managed group now on the server; `adopted`: it was there already (a 409)."""
        with self._lock:
            if group not in self.created_groups:
                self.created_groups.append(group)
            self.group_ids[group] = group_id
        if self.journal is not None:
            self.journal.created(group, group_id, adopted)

    def applied(
        self,
        group: str,
        added: Sequence[str] = (),
        removed: Sequence[str] = (),
        status: int | None = None,
    ) -> None:
        with self._lock:
            self.added += len(added)
            self.removed += len(removed)
            self.done.setdefault(group, set()).update(email_key(e) for e in [*added, *removed])
        if self.journal is not None:
            self.journal.applied(group, list(added), list(removed), status)

    def witnessed(self, group: str, emails: Sequence[str], operation: str = "add") -> None:
        """Planned changes found already made: members in a group the run adopted, or a
        change someone made by hand since the group was read (`operation`: "add" or
        "remove"). Not the run's doing, so never counted as its changes nor reverted by its
        undo."""
        with self._lock:
            self.unchanged += len(emails)
            self.done.setdefault(group, set()).update(email_key(e) for e in emails)
        if self.journal is not None and emails:
            self.journal.witnessed(group, list(emails), operation)

    def lost(
        self, group: str, operation: str, emails: list[str], reason: str, counted: bool = False
    ) -> None:
        """Changes the server did not keep; `counted`: they were recorded as applied before."""
        with self._lock:
            self.not_kept += [NotKept(group, operation, e, reason) for e in emails]
            if counted:
                if operation == "add":
                    self.added -= len(emails)
                else:
                    self.removed -= len(emails)
                self.done.get(group, set()).difference_update(email_key(e) for e in emails)
        if self.journal is not None:
            self.journal.not_kept(group, operation, emails, reason, counted)

    def is_done(self, group: str, email: str) -> bool:
        with self._lock:
            return email_key(email) in self.done.get(group, set())

    def add_failure(self, failure: FailedOperation) -> None:
        with self._lock:
            self.failed.append(failure)
        if self.journal is not None:
            self.journal.failed(failure)

    # --- reading -------------------------------------------------------------------------

    @property
    def failed_count(self) -> int:
        """Memberships that could not be changed, plus failed creates of groups with none."""
        return sum(len(f.emails) or 1 for f in self.failed)

    @property
    def nothing_written(self) -> bool:
        return not self.created_groups and self.added == 0 and self.removed == 0

    @property
    def refused_access(self) -> bool:
        """Every failure is an authentication refusal or an unreachable server."""
        return bool(self.failed) and all(
            f.status in (401, 403)
            or (f.status == 0 and "could not connect" in f.reason)
            or f.reason.startswith("not sent:")
            for f in self.failed
        )

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled and not self.not_kept

    def _plan_order(self, group: str) -> tuple[int, str]:
        order = self.plan.groups_to_create
        return (order.index(group) if group in order else len(order), group)

    def to_json(self) -> dict[str, Any]:
        return {
            "created_groups": sorted(self.created_groups, key=self._plan_order),
            "added": self.added,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "not_found": len(self.not_found),
            "failed": self.failed_count,
            "not_kept": len(self.not_kept),
            "requests": self.requests,
            "drift": len(self.drift),
            "left_alone": len(self.plan.conflicts),
            "requests_by_kind": dict(self.requests_by_kind),
            "groups_read": self.plan.state.groups_read(),
        }

    def report_frame(self) -> pd.DataFrame:
        """One row per export user: the outcome, and for a failure the server's reason."""
        plan = self.plan
        planned: dict[str, list[tuple[str, str]]] = {}
        for op, changes in (("add", plan.adds), ("remove", plan.removes)):
            for group, emails in changes.items():
                for email in emails:
                    planned.setdefault(email_key(email), []).append((op, group))
        failures: dict[tuple[str, str, str], str] = {}
        for f in self.failed:
            for email in f.emails:
                failures.setdefault((f.operation, f.group, email_key(email)), f.reason)
        not_found = {email_key(e) for e in self.not_found}
        lost: dict[str, list[str]] = {}
        for n in self.not_kept:
            lost.setdefault(email_key(n.email), []).append(n.what())
        rows = []
        frame = plan.users.frame
        for email, name in zip(frame["email"], frame["name"], strict=True):
            key = email_key(email)
            ops = planned.get(key, [])
            added = [g for op, g in ops if op == "add"]
            removed = [g for op, g in ops if op == "remove"]
            reasons = [failures[(op, g, key)] for op, g in ops if (op, g, key) in failures]
            for op, g in ops:
                if op == "add" and ("create", g, key) in failures:
                    reasons.append(failures[("create", g, key)])
            if key in not_found:
                outcome, reason = "not found", "no user with this email on the server"
            elif key in plan.conflicts:
                outcome, reason = "left unchanged", plan.conflicts[key]
            elif not ops:
                outcome, reason = "unchanged", ""
            elif key in lost:
                outcome, reason = "not kept by the server", "; ".join(lost[key])
            elif reasons:
                outcome = "failed" if len(reasons) >= len(ops) else "partly failed"
                reason = "; ".join(dict.fromkeys(reasons))
            elif all(key in self.done.get(g, set()) for _, g in ops):
                outcome, reason = "changed", ""
            else:
                outcome, reason = "not done", "sync cancelled before this change"
            rows.append((email, name, outcome, "; ".join(added), "; ".join(removed), reason))
        return pd.DataFrame(rows, columns=REPORT_COLUMNS)

    def describe_failures(self) -> list[str]:
        """One line per failure; failures for one reason (a deadline, a stop) in one line that
        counts the work left for a rerun."""
        by_reason: dict[str, list[FailedOperation]] = {}
        for failure in self.failed:
            by_reason.setdefault(failure.reason, []).append(failure)
        lines = []
        for reason, failures in by_reason.items():
            if len(failures) == 1:
                lines.append(failures[0].describe())
                continue
            groups = list(dict.fromkeys(f.group for f in failures))
            shown = ", ".join(repr(g) for g in groups[:5]) + (", ..." if len(groups) > 5 else "")
            changes = sum(max(len(f.emails), 1) for f in failures)
            lines.append(f"{changes:,} change(s) in {len(groups)} group(s) ({shown}): {reason}")
        return lines + [n.describe() for n in self.not_kept]
