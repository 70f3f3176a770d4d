"""The preview export: what a mapping would do to an export, for review before syncing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from app.core.engine import Change, Evaluation
from app.core.report import problem_rows, summary_rows, user_rows
from app.core.warnings import Warning
from app.io.writers import output_kind, write_table, write_workbook

# The workbook is for people: headers as the app shows them, problem types in words. The CSV
# keeps the stable lower-case column names scripts read.
HEADERS = {
    "name": "Name", "email": "Email", "status": "Status", "source value": "Source value",
    "current groups": "Current groups", "new groups": "New groups", "change": "Change",
    "reason": "Reason", "group": "Group", "before": "Before", "after": "After",
    "added": "Added", "removed": "Removed", "new": "New group", "message": "Problem",
    "row": "Row", "value": "Value",
}
PROBLEM_TYPES = {
    "incomplete_row": "Incomplete row",
    "duplicate_value": "Duplicate value",
    "near_miss": "Near-miss value",
    "unmatched_value": "Unmatched value",
    "unmatched_values_more": "More unmatched values",
    "blank_value": "No value",
    "row_matches_no_user": "Row matches no user",
    "several_rows_match": "Several rows match",
    "group_name_too_long": "Group name too long",
    "looks_multi_valued": "Several values in one cell",
    "kept_by_apply_existing": "Kept: apply to existing users is off",
    "near_duplicate_group": "Near-duplicate group name",
}


def write_preview(
    path: str | Path,
    evaluation: Evaluation,
    warnings: Sequence[Warning],
    progress: Callable[[float], None] | None = None,
    about: Sequence[tuple[str, str]] = (),
) -> None:
    """.xlsx: sheets Summary (when, `about`: export, draft, server; and the totals), Groups,
    Users, Problems, Mapping and Options with readable headers.
    .csv: the Users table only, with the stable lower-case column names."""
    path = Path(path)
    kind = output_kind(path)  # a .pdf is refused, never written as a workbook
    users = user_rows(evaluation)
    if kind == "csv":
        write_table(path, users, progress=progress)
        return
    problems = problem_rows(list(warnings))
    problems.insert(0, "Type", [PROBLEM_TYPES.get(c, c.replace("_", " ").capitalize())
                                for c in problems.pop("code")])
    sheets = {
        "Summary": overview_rows(evaluation, about),
        "Groups": summary_rows(evaluation).rename(columns=HEADERS),
        "Users": users.rename(columns=HEADERS),
        "Problems": problems.rename(columns=HEADERS),
        "Mapping": mapping_rows(evaluation),
        "Options": option_rows(evaluation),
    }
    write_workbook(path, sheets, progress)


def overview_rows(evaluation: Evaluation,
                  about: Sequence[tuple[str, str]] = ()) -> pd.DataFrame:
    """The first sheet a manager reads: when, from what, and the totals (numbers as numbers)."""
    import time

    groups = evaluation.group_summaries()
    changing = np.isin(evaluation.user_change, [Change.ASSIGNED, Change.MOVED, Change.REMOVED])
    rows: list[tuple[str, object]] = [("Exported at", time.strftime("%Y-%m-%d %H:%M %z")),
                                      *about]
    rows += [
        ("Users", evaluation.user_count),
        ("Users whose groups change", int(changing.sum())),
        ("Unmatched users", evaluation.unmatched),
        ("Memberships added", sum(g.added for g in groups)),
        ("Memberships removed", sum(g.removed for g in groups)),
        ("New groups", sum(1 for g in groups if g.new)),
        ("Mapping rows", len(evaluation.mapping.rows)),
    ]
    return pd.DataFrame(rows, columns=["Item", "Value"])


def mapping_rows(evaluation: Evaluation) -> pd.DataFrame:
    """The mapping as the grid shows it: priority, match kind, value, group and the users
    each decides."""
    counts = evaluation.row_user_counts()
    return pd.DataFrame(
        [(i + 1, r.kind.value, r.value, r.group, int(counts[i]))
         for i, r in enumerate(evaluation.mapping.rows)],
        columns=["Priority", "Match", "Value in Identity Provider", "Group", "Users"],
    )


def option_rows(evaluation: Evaluation) -> pd.DataFrame:
    """The options that decided this preview, in the app's words."""
    o = evaluation.mapping.options
    rows = [
        ("Source column", o.source_column),
        ("Default group", o.default_group or "(none)"),
        ("Case-sensitive", "no" if o.ignore_case else "yes"),
        ("Separator", o.separator or "(none)"),
        ("One group per user", "no" if o.multiple_groups else "yes"),
        ("Apply changes to existing users", "yes" if o.apply_existing else "no"),
    ]
    return pd.DataFrame(rows, columns=["Option", "Value"])
