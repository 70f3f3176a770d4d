"""Tables for export and for the command line, built from an evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from app.core.engine import Change, Evaluation
from app.core.users import join_groups
from app.core.warnings import Warning

USER_COLUMNS = [
    "name",
    "email",
    "status",
    "source value",
    "current groups",
    "new groups",
    "change",
    "reason",
]
SUMMARY_COLUMNS = ["group", "before", "after", "added", "removed", "new"]


def after_in_current_order(evaluation: Evaluation, profile: int) -> list[str]:
    """A profile's groups after the sync, those it keeps in the current groups' order first
    (an unchanged user reads the same in both columns), then the new ones."""
    users = evaluation.users
    after = evaluation.profile_after(profile)
    current = users.groupsets[int(users.profiles.groupset[profile])]
    kept = [g for g in current if g in after]
    return kept + [g for g in after if g not in kept]


def user_rows(evaluation: Evaluation) -> pd.DataFrame:
    """One row per user: who they are, their groups before and after, and why.

    Text is built once per profile (users sharing a value and current groups), then gathered.
    """
    users = evaluation.users
    of_user = users.profiles.of_user
    n_profiles = len(users.profiles)
    after = np.array([join_groups(after_in_current_order(evaluation, p))
                      for p in range(n_profiles)], dtype=object)
    reasons = np.array([evaluation.profile_reason(p) for p in range(n_profiles)], dtype=object)
    labels = np.array([c.label for c in Change], dtype=object)
    frame = users.frame
    return pd.DataFrame(
        {
            "name": frame["name"].to_numpy(),
            "email": frame["email"].to_numpy(),
            "status": frame["status"].to_numpy(),
            "source value": frame["source"].to_numpy(),
            "current groups": frame["groups"].to_numpy(),
            "new groups": after[of_user] if n_profiles else after,
            "change": labels[evaluation.user_change] if n_profiles else labels[:0],
            "reason": reasons[of_user] if n_profiles else reasons,
        },
        columns=USER_COLUMNS,
    )


def summary_rows(evaluation: Evaluation) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (s.name, s.before, s.after, s.added, s.removed, "yes" if s.new else "")
            for s in evaluation.group_summaries()
        ],
        columns=SUMMARY_COLUMNS,
    )


def problem_rows(warnings: list[Warning]) -> pd.DataFrame:
    return pd.DataFrame(
        [(w.code, w.message, w.row if w.row is not None else "", w.value or "") for w in warnings],
        columns=["code", "message", "row", "value"],
    )


def preview_json(evaluation: Evaluation, warnings: list[Warning]) -> dict[str, Any]:
    """The object `groupmap preview --json` prints."""
    return {
        "users": evaluation.user_count,
        "unmatched": evaluation.unmatched,
        "changes": evaluation.changes,
        "groups": [
            {
                "name": s.name,
                "before": s.before,
                "after": s.after,
                "added": s.added,
                "removed": s.removed,
                "new": s.new,
            }
            for s in evaluation.group_summaries()
        ],
        "warnings": [w.to_dict() for w in warnings],
    }
