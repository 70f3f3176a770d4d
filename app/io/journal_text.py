"""A journal's runs in words: one user's placements across runs, an operation, a run's reads
(what `groupmap history` and the app's Sync history show)."""

from __future__ import annotations

from typing import Any

from app.core.identity import email_key
from app.io.journal import RunRecord


def user_placements(runs: list[RunRecord], email: str) -> list[dict[str, Any]]:
    """One user's journaled changes across runs, oldest first."""
    wanted = email_key(email)
    found = []
    for run in runs:
        for op in run.ops:
            for member in op.get("members") or []:
                if email_key(str(member.get("email", ""))) == wanted:
                    found.append(
                        {
                            "run": run.run_id,
                            "at": op.get("at", ""),
                            "mode": run.mode,
                            "op": op.get("op"),
                            "group": op.get("group"),
                            "outcome": op.get("outcome"),
                        }
                    )
    return found


def when(stamp: str) -> str:
    """A journal time stamp as "2026-12-01 09:12" (UTC)."""
    return stamp.replace("T", " ")[:16]


def describe_placement(placement: dict[str, Any]) -> str:
    """"added to Sales by run 14, 2026-12-01 09:12" (with the outcome if it did not apply)."""
    p = placement
    verb = {"add": "added to", "remove": "removed from"}.get(p["op"], p["op"])
    outcome = "" if p["outcome"] == "applied" else f" ({p['outcome']})"
    mode = "" if p["mode"] == "sync" else f", {p['mode']}"
    return f"{verb} {p['group']} by run {p['run']}, {when(p['at'])}{mode}{outcome}"


def describe_reads(reads: dict[str, Any]) -> str:
    """One line: how a run read the managed groups and what it cost (a `reads` record)."""
    groups, kinds = _object(reads.get("groups_read")), _object(reads.get("requests_by_kind"))
    line = (
        f"Read the server: {groups.get('list', 0)} group(s) from the group list, "
        f"{groups.get('single', 0)} one by one"
    )
    if groups.get("why"):
        line += f" ({groups['why']})"
    if kinds:
        line += "; requests: " + ", ".join(f"{k} {v}" for k, v in kinds.items())
    for key, how in (("fell_back", "read one by one"), ("unseen", "not written to"),
                     ("from_users", "members from the users' `groups`")):
        for name, why in _object(groups.get(key)).items():
            line += f"\n  {name} {how}: {why}"
    return line


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def describe_op(op: dict[str, Any]) -> str:
    """One operation as a line: time, operation, group, members, outcome, HTTP status."""
    members = op.get("members") or []
    sign = {"add": "+", "remove": "-"}.get(op.get("op", ""), "")
    who = ", ".join(str(m.get("email", "")) for m in members[:5])
    if len(members) > 5:
        who += f", … {len(members) - 5} more"
    line = f"{when(op.get('at', ''))}  {op.get('op')} {op.get('group')}"
    if members:
        line += f" {sign}{len(members)} ({who})"
    line += f": {op.get('outcome')}"
    if op.get("status"):
        line += f", HTTP {op['status']}"
    if op.get("reason"):
        line += f": {op['reason']}"
    return line
