"""A sync's journal records: what the run is, its plan, each write's intent before it is
sent and its outcome after; and what the journal tells later runs (the source guard's
reference, this app's own changes).

The executor calls `intent` right before each request, then `created`, `applied`,
`witnessed`, `failed` and `not_kept` from its worker threads; each writes one line forced to
disk (app/io/journal.py), so the file is a write-ahead log of what may have reached the server
even when the process is killed. An intent carries the witnessed before-state of every
membership it touches (what the run read): undo never reverts what was there before the run.
A record that cannot be written sets `error`, and the run sends nothing more.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.core.identity import email_key
from app.core.mapping import Mapping
from app.core.source_guard import SourceStats, source_change, source_stats
from app.core.users import UserList
from app.io.drafts import draft_dict
from app.io.journal import (
    FORMAT_VERSION,
    Journal,
    JournalUnwritable,
    last_successful_sync,
    list_runs,
    os_user,
    read_run,
)
from app.io.journal_text import when
from app.scim.config.settings import SyncSettings
from app.scim.http.redact import redact_url
from app.scim.sync.plan import Drift, SyncPlan

if TYPE_CHECKING:
    from app.scim.sync.result import FailedOperation, SyncResult


class SourceRecord(Protocol):
    """A live source as the journal records it (app/sources/users.py's SourceInfo)."""

    def to_json(self) -> dict[str, Any]: ...


class RunJournal:
    """The journal of one run, bound to its plan (for SCIM ids of groups and users)."""

    def __init__(self, journal: Journal, plan: SyncPlan) -> None:
        self.journal = journal
        self.plan = plan
        self.group_ids: dict[str, str] = {n: g.id for n, g in plan.state.groups.items()}
        self.error = ""  # set when a record could not be written: the run stops sending

    @property
    def run_id(self) -> int:
        return self.journal.run_id

    @classmethod
    def begin(
        cls,
        plan: SyncPlan,
        settings: SyncSettings,
        mapping: Mapping | None,
        export_files: list[str],
        *,
        dry_run: bool = False,
        undoes: int | None = None,
        applies: str | None = None,
        folder: Path | None = None,
        counted: bool = True,
        source: SourceRecord | None = None,
        guards: dict[str, Any] | None = None,
        requests: dict[str, int] | None = None,
    ) -> RunJournal:
        """Open a new run's journal and write its start and plan records.

        `counted=False`: the plan's users are not the export's (an undo, a saved plan), so the
        export's counts are left out and the run is never the source guard's reference.
        `undoes` (a run id) and `applies` (a plan code) name what the run is; `source` the
        live source the users were read from (kind, URL, attribute, users); `guards`, what
        was overridden (app/scim/sync/guards.py, `plan_guards`), is a record of its own, and
        so is how the server was read (`reads`: `requests`, the requests by kind so far, and
        how each managed group was read, bounded for thousands of groups). Raises
        JournalUnwritable (nothing sent yet) when the folder or disk cannot take the records.
        """
        run = cls(Journal.create(folder), plan)
        counts = export_stats(plan.users) if counted else {"users": None, "blank_source": None}
        run.journal.write(
            "start",
            format=FORMAT_VERSION,
            run=run.run_id,
            url=redact_url(settings.url),  # never a query's API key
            os_user=os_user(),
            dry_run=dry_run,
            undoes=undoes,
            applies=applies,
            target=settings.target,
            attribute=settings.attribute,
            match_attribute=settings.match_attribute,
            export={"files": [Path(f).name for f in export_files], **counts},
            **({"source": source.to_json()} if source is not None else {}),
        )
        if mapping is not None:  # a record of its own: readers of the runs' heads skip it
            run.journal.write("mapping", mapping=draft_dict(mapping))
        if guards is not None:
            run.journal.write("guards", **guards)
        if plan.state.groups_read_by or requests:
            run.journal.write(
                "reads",
                requests_by_kind=dict(requests or {}),
                groups_read=plan.state.groups_read(),
            )
        run.journal.write(
            "plan",
            groups_to_create=list(plan.groups_to_create),
            adds=plan.adds,
            removes=plan.removes,
            not_found=len(plan.not_found),
            drift=len(plan.drift),
        )
        return run

    def _members(self, emails: list[str]) -> list[dict[str, str]]:
        ids = self.plan.state.user_ids
        return [{"id": ids.get(email_key(e), ""), "email": e} for e in emails]

    def _write(self, kind: str, **data: Any) -> None:
        """One record; a failure is kept in `error` (the run checks it before every request)
        rather than raised in a worker thread."""
        if self.error:
            return
        try:
            self.journal.write(kind, **data)
        except JournalUnwritable as error:
            self.error = str(error)

    def _op(self, op: str, group: str, emails: list[str], outcome: str, **extra: Any) -> None:
        self._write(
            "op",
            op=op,
            group=group,
            group_id=self.group_ids.get(group, ""),
            members=self._members(emails),
            outcome=outcome,
            **extra,
        )

    def intent(
        self, operation: str, group: str, emails: list[str], group_id: str = ""
    ) -> None:
        """Before a request: what it will change, and each membership's witnessed before-state
        (`before`: the user was a member of the group when the run read the server)."""
        if group_id:
            self.group_ids[group] = group_id
        known = self.plan.state.groups.get(group)
        present = set(known.members) if known is not None else set()
        members = [
            {**member, "before": bool(member["id"]) and member["id"] in present}
            for member in self._members(emails)
        ]
        self._write(
            "intent",
            op=operation,
            group=group,
            group_id=self.group_ids.get(group, ""),
            group_existed=known is not None,
            members=members,
        )

    # --- called by SyncResult as operations complete -----------------------------------

    def created(self, group: str, group_id: str, adopted: bool = False) -> None:
        """A group this run created, or adopted (it existed already: never "created" by it)."""
        self.group_ids[group] = group_id
        if adopted:
            self._op("create", group, [], "adopted", status=None)
        else:
            self._op("create", group, [], "applied", status=201)

    def witnessed(self, group: str, emails: list[str], operation: str = "add") -> None:
        """Changes found already made (members of a group the run adopted, a hand edit since
        the read): there before, never the run's own; they answer the intent."""
        self._op(operation, group, emails, "witnessed")

    def refused(self, group: str, operation: str, emails: list[str], status: int) -> None:
        """A write the server refused by its If-Match (412): nothing of it was made. Recorded
        before the group is read again, so a run killed then leaves no unanswered intent for
        undo to take a hand edit meanwhile for the run's own change."""
        self._op(operation, group, emails, "refused", status=status)

    def applied(
        self, group: str, added: list[str], removed: list[str], status: int | None
    ) -> None:
        if added:
            self._op("add", group, added, "applied", status=status)
        if removed:
            self._op("remove", group, removed, "applied", status=status)

    def failed(self, failure: FailedOperation) -> None:
        self._op(
            failure.operation,
            failure.group,
            failure.emails,
            "failed",
            status=failure.status,
            reason=failure.reason,
        )

    def deleted(self, group: str, group_id: str) -> None:
        self.group_ids[group] = group_id
        self._op("delete", group, [], "applied", status=204)

    def not_kept(
        self, group: str, operation: str, emails: list[str], reason: str, was_applied: bool
    ) -> None:
        """`was_applied`: an "applied" record for them came first (the read-back found out)."""
        self._op(operation, group, emails, "not kept", reason=reason, was_applied=was_applied)

    # --- after the writes ---------------------------------------------------------------

    def verified(self, result: SyncResult, requests: int) -> None:
        self._write(
            "verify",
            requests=requests,
            not_kept=[
                {"group": n.group, "op": n.operation, "email": n.email} for n in result.not_kept
            ],
            unverified=list(result.unverified),
        )

    def finish(self, result: SyncResult | None, status: str = "") -> None:
        """The end record: "done", "failed", "cancelled", or a stop reason (the last one counts)."""
        if not status and result is not None:
            if result.cancelled:
                status = "cancelled"
            elif result.failed or result.not_kept:
                status = "failed"
            else:
                status = "done"
        summary = result.to_json() if result is not None else {}
        self._write("end", status=status or "done", result=summary)
        if result is not None and self.error and not result.journal_error:
            result.journal_error = self.error  # a record after the last write failed: say so


def export_stats(users: UserList) -> dict[str, int]:
    return source_stats(users).to_dict()


def source_change_since_last(url: str, users: UserList, folder: Path | None = None) -> str:
    """How this export differs from the last successful sync's to `url` (with the run), or ""."""
    last = last_successful_sync(url, folder)
    if last is None:
        return ""
    export = last.start.get("export") or {}
    try:
        before = SourceStats(int(export["users"]), int(export["blank_source"]))
    except (KeyError, TypeError, ValueError):
        return ""
    change = source_change(before, source_stats(users))
    if not change:
        return ""
    return f"{change} (run {last.run_id}, {when(str(last.start.get('at', '')))} UTC)"


def source_guard_message(url: str, users: UserList, folder: Path | None = None) -> str:
    """The CLI's stop message for a suspicious export, or "" when it looks like the last."""
    change = source_change_since_last(url, users, folder)
    if not change:
        return ""
    return (
        f"Stopped before writing anything: {change}. A half export, a wrong sheet or a wrong "
        "source column looks like this; check the export, or run again with "
        "--allow-source-change if it is right."
    )


# --- drift, less this app's own changes ---------------------------------------------------


def applied_since(
    url: str, since: float | None = None, folder: Path | None = None
) -> dict[str, dict[str, bool]]:
    """Per user (email_key): group -> member after this app's last kept change to it, from
    the runs to `url` that started after `since` (a POSIX time; None: every run)."""
    changes: dict[str, dict[str, bool]] = {}
    for head in list_runs(url, folder, head_only=True):
        started = _posix(str(head.start.get("at", "")))
        if since is not None and started is not None and started < since:
            continue
        run = read_run(head.path)  # only the runs since the export: their operations
        for op in run.ops:
            if op.get("op") not in ("add", "remove"):
                continue
            outcome = op.get("outcome")
            for member in op.get("members") or []:
                email = email_key(str(member.get("email", "")))
                groups = changes.setdefault(email, {})
                group = str(op.get("group", ""))
                if outcome == "applied":
                    groups[group] = op["op"] == "add"
                elif outcome == "not kept" and groups.get(group) == (op["op"] == "add"):
                    del groups[group]
    return changes


def discount_own_changes(
    drift: list[Drift], applied: dict[str, dict[str, bool]], managed: list[str]
) -> list[Drift]:
    """The drift this app's journaled changes do not explain: a user whose server groups equal
    the export's groups with this app's later changes applied is not drift."""
    managed_set = set(managed)
    kept = []
    for d in drift:
        expected = set(d.export_groups)
        for group, member in applied.get(email_key(d.email), {}).items():
            if member:
                expected.add(group)
            else:
                expected.discard(group)
        if expected & managed_set != set(d.server_groups):
            kept.append(d)
    return kept


def export_time(paths: list[str]) -> float | None:
    """When the export was written (the oldest file's modification time), if known."""
    times = []
    for path in paths:
        try:
            times.append(Path(path).stat().st_mtime)
        except OSError:
            continue
    return min(times) if times else None


def _posix(stamp: str) -> float | None:
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None
