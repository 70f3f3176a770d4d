"""Group names an admin probably did not mean to create: close to one that exists."""

from __future__ import annotations

from collections.abc import Iterable

from app.core.identity import group_key

MIN_PREFIX = 2  # "Sa" for "Sales" is a typo worth flagging; "S" is just a letter


def close_group(name: str, existing: Iterable[str]) -> str | None:
    """The existing group a new name resembles: the same group_key (case, spacing, Unicode
    form, invisible characters), the same but for all spaces, or one name the start of the
    other ("Sa", "Sales"); None if nothing is close or the name exists."""
    name = name.strip()
    known = [g for g in existing if g.strip()]
    if not name or name in known:
        return None
    key = group_key(name)
    for group in known:
        if group_key(group) == key:
            return group
    loose = key.replace(" ", "")
    for group in sorted(known, key=len):
        other = group_key(group).replace(" ", "")
        shorter, longer = sorted((loose, other), key=len)
        if len(shorter) >= MIN_PREFIX and longer.startswith(shorter):
            return group
    return None
