"""A plain, per-user implementation of the mapping rules, to check the engine against.

It is deliberately naive: a loop over users, sets and lists, straight from the rule text.
"""

from __future__ import annotations

from app.core.mapping import Mapping
from app.core.users import UserList, split_groups


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

    rows = [(norm(r.value), r.group.strip()) for r in mapping.rows if r.is_complete]
    managed = {g for _, g in rows} | ({opts.default_group.strip()} - {""})
    result = []
    rows_of_users = zip(users.frame["source"], users.frame["groups"], strict=True)
    for i, (source, groups) in enumerate(rows_of_users):
        values = (
            [p.strip() for p in source.split(opts.separator)]
            if opts.separator
            else [source.strip()]
        )
        values = {norm(v) for v in values if v.strip()}
        matching = [g for value, g in rows if value in values]
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
