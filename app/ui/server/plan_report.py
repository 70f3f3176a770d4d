"""The exported plan a manager reads: a Summary (server, plan code, counts, guards) and one
line per change with the user's name and the reason, under plain headers."""

from __future__ import annotations

import time
from typing import Protocol

import pandas as pd

CHANGE_COLUMNS = ["Change", "Group", "Name", "Email", "Reason"]


class UserDetails(Protocol):
    """Names and reasons of a plan's users (app/ui/server/sync_preview.py's UserDetails)."""

    def name(self, email: str) -> str: ...
    def addition_reasons(self, emails: list[str]) -> list[str]: ...
    def removal_reasons(self, group: str, emails: list[str]) -> list[str]: ...


def plan_sheets(plan, server: str, code: str, details: UserDetails,
                losing: int) -> dict[str, pd.DataFrame]:
    """{"Changes": …, "Summary": …} for Export plan… (a .csv gets the Changes)."""
    rows: list[tuple[str, str, str, str, str]] = [
        ("Create group", name, "", "", "a mapping row names this group; the server has none")
        for name in plan.groups_to_create]
    for group in sorted(set(plan.adds) | set(plan.removes)):
        adds, removes = plan.adds.get(group, []), plan.removes.get(group, [])
        for email, reason in zip(adds, details.addition_reasons(adds), strict=True):
            rows.append(("Add", group, details.name(email), email, reason))
        for email, reason in zip(removes, details.removal_reasons(group, removes), strict=True):
            rows.append(("Remove", group, details.name(email), email, reason))
    changes = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    return {"Changes": changes, "Summary": plan_summary_frame(plan, server, code, losing)}


def plan_summary_frame(plan, server: str, code: str, losing: int) -> pd.DataFrame:
    """Item and value, numbers stored as numbers."""
    settings = plan.settings
    mass = plan.mass_removal_message() if plan.mass_removal else "no"
    rows: list[tuple[str, object]] = [
        ("Server", server or "(not named)"),
        ("Exported at", time.strftime("%Y-%m-%d %H:%M:%S %z")),
        ("Plan code", code or "not saved for approval"),
        ("Groups to create", len(plan.groups_to_create)),
        ("Memberships to add", plan.added_count),
        ("Memberships to remove", plan.removed_count),
        ("Users who leave a group", losing),
        ("Users not on the server (skipped)", len(plan.not_found)),
        ("Users whose export differs from the server (drift)", len(plan.drift)),
        ("Removal guard", f"at most {settings.max_removal_ratio:.0%} of the memberships"),
        ("Mass removal", mass),
        ("Mass removal allowed", "yes" if settings.allow_mass_removal else "no"),
    ]
    return pd.DataFrame(rows, columns=["Item", "Value"])
