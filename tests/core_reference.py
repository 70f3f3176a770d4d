"""A plain, per-user implementation of the mapping rules, to check the engine against.

It is deliberately naive: a loop over users, sets and lists, straight from the rule text.
"""

from __future__ import annotations

import re

from app.core.mapping import Mapping, MappingRow
from app.core.users import UserList, split_groups


def reference_matches(row: MappingRow, value: str, ignore_case: bool) -> bool:
    """Does a row match one export value (stripped, case-folded if asked), by its kind?"""

    def norm(text: str) -> str:
        text = text.strip()
        return text.casefold() if ignore_case else text

    value, text = norm(value), norm(row.value)
    if row.kind == "equals":
        return value == text
    if row.kind == "starts with":
        return value.startswith(text)
    if row.kind == "ends with":
        return value.endswith(text)
    if row.kind == "contains":
        return text in value
    try:
        pattern = re.compile(row.value.strip(), re.IGNORECASE if ignore_case else 0)
    except re.error:
        return False
    return pattern.fullmatch(value) is not None


def reference_usable(row: MappingRow) -> bool:
    """A complete row whose pattern, if it is one, compiles."""
    if not (row.value.strip() and row.group.strip()):
        return False
    if row.kind != "pattern":
        return True
    try:
        re.compile(row.value.strip())
    except re.error:
        return False
    return True


def reference_after(
    users: UserList, mapping: Mapping, listed: list[bool] | None = None
) -> list[tuple[set[str], set[str], bool]]:
    """Per user: (groups before, groups after, matched any row).

    listed: per user, whether the export lists a current group for them (rule 6); by default
    the list's own current groups are the export's.
    """
    opts = mapping.options

    def norm(text: str) -> str:
        text = text.strip()
        return text.casefold() if opts.ignore_case else text

    rows = [r for r in mapping.rows if reference_usable(r)]
    managed = {r.group.strip() for r in rows} | ({opts.default_group.strip()} - {""})
    result = []
    rows_of_users = zip(users.frame["source"], users.frame["groups"], strict=True)
    for i, (source, groups) in enumerate(rows_of_users):
        values = (
            [p.strip() for p in source.split(opts.separator)]
            if opts.separator
            else [source.strip()]
        )
        values = {norm(v) for v in values if v.strip()}
        matching = [
            r.group.strip()
            for r in rows
            if any(reference_matches(r, v, opts.ignore_case) for v in values)
        ]
        target = list(dict.fromkeys(matching)) if opts.multiple_groups else matching[:1]
        matched = bool(target)
        if not target and opts.default_group.strip():
            target = [opts.default_group.strip()]
        before = set(split_groups(groups))
        in_export_group = bool(before) if listed is None else listed[i]
        existing = in_export_group or bool(before - set(target))
        if target and (opts.apply_existing or not existing):
            after = {g for g in before if g not in managed} | set(target)
        else:
            after = set(before)
        result.append((before, after, matched))
    return result
