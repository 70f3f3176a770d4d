"""One-click fixes for warnings (no Qt): a label and the mapping after the fix, or None."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.core import edits
from app.core.engine import Evaluation
from app.core.mapping import GROUP_NAME_LIMIT, Mapping, MappingRow
from app.core.warnings import Warning


@dataclass(frozen=True)
class Fix:
    """`edit_group`: the fix leaves a Group cell to fill in (the grid opens it); `focus` names
    a control the fix is done in instead of a mapping change ("default_group")."""

    label: str
    mapping: Mapping | None
    select: list[int]
    edit_group: bool = False
    focus: str = ""


def _new_mark(group: str, evaluation: Evaluation | None) -> str:
    """" (new group)" when the sync would create `group`: say so in the fix's label."""
    existing = set(evaluation.users.group_names) if evaluation is not None else set()
    return "" if not group or group in existing else " (new group)"


def fix_for(warning: Warning, mapping: Mapping, evaluation: Evaluation | None,
            warnings: Sequence[Warning] = ()) -> Fix | None:
    """The fix the Problems panel offers for a warning, if there is an obvious one."""
    rows = mapping.rows
    row = warning.row - 1 if warning.row is not None and warning.row <= len(rows) else None
    code = warning.code
    if code == "near_miss" and row is not None and warning.value:
        group = rows[row].group.strip()
        new, select = edits.insert_rows(rows, row + 1, [MappingRow(warning.value, group)])
        return Fix(f"Add a row for {warning.value!r} → {group}{_new_mark(group, evaluation)}",
                   mapping.with_rows(new), select)
    if code == "unmatched_value" and warning.value:
        new, select = edits.insert_rows(rows, len(rows), [MappingRow(warning.value, "")])
        return Fix(f"Add a row for {warning.value!r}, then pick its group",
                   mapping.with_rows(new), select, edit_group=True)
    if code == "unmatched_values_more" and evaluation is not None:
        added = edits.unmapped_rows(evaluation, warnings)
        new, select = edits.insert_rows(rows, len(rows), added)
        return Fix(f"Add {len(added):,} rows for unmapped values, then pick their groups",
                   mapping.with_rows(new), select, edit_group=True)
    if code == "kept_by_apply_existing" and not mapping.options.apply_existing:
        return Fix("Turn on 'apply changes to existing users'",
                   mapping.with_options(apply_existing=True), [])
    if code == "blank_value" and not mapping.default_group:
        return Fix("Set a default group for users without a value", None, [],
                   focus="default_group")
    if code in ("duplicate_value", "incomplete_row", "row_matches_no_user") and row is not None:
        new, select = edits.delete_rows(rows, [row])
        return Fix(f"Delete row {row + 1}", mapping.with_rows(new), select)
    if code == "shadowed_row" and row is not None and (warning.suggestion or "").isdigit():
        above = int(warning.suggestion or 0) - 1
        new, select = edits.move_rows(rows, [row], above)
        return Fix(f"Move row {row + 1} above row {above + 1}", mapping.with_rows(new), select)
    if code == "looks_multi_valued" and warning.suggestion:
        return Fix(f"Set the separator to {warning.suggestion!r}",
                   mapping.with_options(separator=warning.suggestion), [])
    if code == "near_duplicate_group" and warning.value and warning.suggestion:
        return _one_spelling(mapping, warning.value, warning.suggestion)
    if code == "group_name_too_long" and row is not None:
        short = rows[row].group.strip()[:GROUP_NAME_LIMIT].rstrip()
        new = edits.set_cell(rows, row, "group", short)
        return Fix(f"Shorten to {short!r}{_new_mark(short, evaluation)}", mapping.with_rows(new),
                   [row])
    return None


def _one_spelling(mapping: Mapping, other: str, kept: str) -> Fix:
    """Every row (and the default group) spelling the group `other` spells it `kept`."""
    rows = list(mapping.rows)
    changed = [i for i, r in enumerate(rows) if r.group.strip() == other]
    for i in changed:
        rows[i] = replace(rows[i], group=kept)
    fixed = mapping.with_rows(rows)
    if mapping.default_group == other:
        fixed = fixed.with_options(default_group=kept)
    return Fix(f"Spell the group {kept!r} everywhere", fixed, changed)
