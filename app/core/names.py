"""Group names an admin probably did not mean to create: close to one that exists."""

from __future__ import annotations

from collections.abc import Iterable

from app.core.mapping import loose_key

MIN_PREFIX = 2  # "Sa" for "Sales" is a typo worth flagging; "S" is just a letter


def close_group(name: str, existing: Iterable[str]) -> str | None:
    """The existing group a new name resembles: the same but for case or spacing, or one name
    the start of the other ("Sa", "Sales"); None if nothing is close or the name exists."""
    name = name.strip()
    known = [g for g in existing if g.strip()]
    if not name or name in known:
        return None
    key = loose_key(name)
    for group in known:
        if loose_key(group) == key:
            return group
    for group in sorted(known, key=len):
        other = loose_key(group)
        shorter, longer = sorted((key, other), key=len)
        if len(shorter) >= MIN_PREFIX and longer.startswith(shorter):
            return group
    return None
