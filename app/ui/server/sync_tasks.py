"""The background functions of the sync UI (run through app/ui/base/worker.py; no widgets here).

Each takes the worker's TaskState first, builds its own ScimClient (one per task, closed at
the end) and reports progress and log lines through the state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.core.users import split_groups
from app.scim.config.connections import ConnectionProfile
from app.scim.config.probe import describe_error, probe_server
from app.scim.config.settings import TARGET_GROUPS
from app.ui.base.worker import Progress


def probe_task(state: Any, profile: ConnectionProfile, token: str) -> list[str]:
    """Test connection, off the UI thread."""
    return probe_server(profile, token)


def named_path(path: str, group_names: dict[str, str]) -> str:
    """/Groups/<id> with the group's name after it, so the log reads by name."""
    prefix = "/Groups/"
    if not path.startswith(prefix):
        return path
    group_id = path[len(prefix):].split("?")[0].split("/")[0]
    name = group_names.get(group_id)
    return f"{path} ({name})" if name else path


def _client(profile: ConnectionProfile, token: str, state: Any, cancelled: Any = None,
            group_names: dict[str, str] | None = None) -> Any:
    """A client whose every request becomes a log line (method, path, status; no headers;
    groups named after their id); a cancel also ends its waits for the rate limit."""
    names = group_names or {}

    def on_request(event: Any) -> None:
        status = event.status if event.status is not None else "no answer"
        path = named_path(event.path, names)
        line = f"{event.method} {path} → {status} ({event.elapsed:.2f} s)"
        if event.attempt > 1:
            line += f", attempt {event.attempt}"
        if event.error:
            line += f": {event.error}"
        state.set_partial_result(line)

    return profile.client(token, cancelled=cancelled, on_request=on_request)


def plan_task(
    state: Any,
    profile: ConnectionProfile,
    token: str,
    users: Any,
    mapping: Any,
    settings: Any,
    export_paths: Sequence[str] = (),
    listed: Any = None,
) -> tuple[Any, Any, list[str], dict[str, tuple[str, ...]]]:
    """Read the server (managed groups, the export's users), plan; every group name comes
    from the same group list (read once, with the sync's reader: pages read of pages known,
    Cancel between pages). `listed`: the server's /Users as a `scim:` source of these users
    just listed them (app/scim/sync/listed_users.py), so they are not listed again.

    Drift leaves out what this app's journaled runs since the export explain. The state
    keeps the read's requests by kind: the sync writes through another client, and its
    journal's `reads` record says what the read took.
    """
    from app.scim.sync import plan_sync, read_server_state
    from app.scim.sync.record import applied_since, discount_own_changes, export_time

    def progress(p: Any) -> None:
        fraction = p.done / p.total if p.total else 0.0
        state.set_progress(Progress(fraction, f"{p.done:,} of {p.total:,} pages read"))

    with profile.client(token, cancelled=state.is_cancelled) as client:
        server = read_server_state(
            client, users, mapping, settings, progress=progress, cancelled=state.is_cancelled,
            listed=listed,
        )
        server.requests_by_kind = client.requests_by_kind()
    names = server.group_names if profile.target == TARGET_GROUPS else []
    plan = plan_sync(users, mapping, server, settings)
    own = applied_since(settings.url, export_time(list(export_paths)))
    plan.drift = discount_own_changes(plan.drift, own, server.managed)
    frame = plan.users.frame  # the export's users with their groups as the server has them
    groups_by_email = {
        email: split_groups(groups)
        for email, groups in zip(frame["email"], frame["groups"], strict=True)
    }
    return server, plan, sorted({n for n in names if n}, key=str.casefold), groups_by_email


def _write(state: Any, profile: ConnectionProfile, token: str, run: Any,
           group_names: dict[str, str] | None = None) -> Any:
    """Started with keep_result=True: after a cancel, run returns its result all the same."""

    def progress(p: Any) -> None:
        state.set_progress(
            (p.done, p.total, p.elapsed, p.rate, p.paused, p.budget_left, p.changes_per_hour),
            final=p.done >= p.total,
        )

    with _client(profile, token, state, state.is_cancelled, group_names) as client:
        return run(client, progress, state.is_cancelled, state.set_partial_result)


def sync_task(
    state: Any,
    profile: ConnectionProfile,
    token: str,
    plan: Any,
    settings: Any,
    journal: Any = None,
) -> Any:
    """Execute the plan with these settings (the allow-mass-removal choice travels in them).

    The task runs with keep_result=True, so a cancelled sync still returns its SyncResult
    (marked cancelled) to show and retry. With a journal
    (app/scim/sync/record.py), every operation is recorded as it completes, then the run's end.
    """
    from dataclasses import replace

    from app.scim.sync import execute

    plan = replace(plan, settings=settings)
    names = {group.id: name for name, group in plan.state.groups.items()}

    def run(c: Any, p: Any, k: Any, log: Any) -> Any:
        try:
            result = execute(c, plan, settings, p, k, log, journal)
        except Exception as exc:
            if journal is not None:
                journal.finish(None, f"stopped: {describe_error(exc)}")
            raise
        if journal is not None:
            journal.finish(result)
        return result

    return _write(state, profile, token, run, names)


def retry_task(
    state: Any, profile: ConnectionProfile, token: str, result: Any, settings: Any
) -> Any:
    """Run the failed operations of a result again; returns the merged result."""
    from app.scim.sync import retry_failed

    def run(c: Any, p: Any, k: Any, log: Any) -> Any:
        merged = retry_failed(c, result, settings, p, k, log)
        if merged.journal is not None:  # the retry belongs to the same journaled run
            merged.journal.finish(merged)
        return merged

    return _write(state, profile, token, run)
