"""From the users a source read to the `UserList` a file import produces, and what the
journal and the report say about where the values came from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from app.core.users import COLUMNS, UserList, join_groups

JOINERS = (";", "|", "\n")  # for a multi-valued attribute, the first no value contains


@dataclass
class SourceUser:
    email: str
    name: str
    status: str
    values: list[str]  # a multi-valued attribute gives several
    groups: list[str] = field(default_factory=list)  # current groups, where the source knows


@dataclass(frozen=True)
class SourceInfo:
    """What a run read: recorded in the journal's start record and printed by preview."""

    kind: str
    url: str
    attribute: str
    users: int
    separator: str  # "" when every user had at most one value

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "attribute": self.attribute,
                "users": self.users}

    def origin(self) -> str:
        """Where the values came from, as a report's "Source column" says it."""
        return f"{self.kind}:{self.attribute} from {self.url}"

    def describe(self) -> str:
        return f"{self.users:,} users from {self.url} ({self.kind}:{self.attribute})"


def first_text(*values: object) -> str:
    """The first value that is non-blank text: an email given as a list, a number or an
    object is no email (str() of it would make one up)."""
    return next((v.strip() for v in values if isinstance(v, str) and v.strip()), "")


def any_case(record: dict[str, Any], name: str) -> object:
    """The record's value for `name`, its spelling first, else any case: Graph and SCIM take
    property names in any case but answer in their own (`Department` reads `department`)."""
    if name in record:
        return record[name]
    lowered = name.lower()
    return next((v for k, v in record.items() if k.lower() == lowered), None)


def flat_values(value: object) -> list[str]:
    """The text values of an attribute: a list gives one per element (a complex element its
    `value`), blanks are dropped, booleans read true/false."""
    if value is None:
        return []
    if isinstance(value, list):
        return [v for item in value for v in flat_values(item)]
    if isinstance(value, dict):
        return flat_values(value.get("value"))
    if isinstance(value, bool):
        return ["true" if value else "false"]
    text = str(value).strip()
    return [text] if text else []


def user_list(
    users: Iterable[SourceUser], kind: str, url: str, attribute: str, separator: str = ""
) -> tuple[UserList, SourceInfo]:
    """The users as an export would list them; several values joined by `separator`, or by
    the first of JOINERS that no value contains (the caller sets it as the separator)."""
    users, notes = _first_of_each(users)
    multi = any(len(u.values) > 1 for u in users)
    joiner = separator
    if multi and not joiner:
        every = [v for u in users for v in u.values]
        joiner = next((j for j in JOINERS if not any(j in v for v in every)), JOINERS[-1])
    join = (joiner or ";").join
    frame = pd.DataFrame({
        "email": [u.email.strip() for u in users],
        "name": [u.name for u in users],
        "status": [u.status for u in users],
        "source": [u.values[0] if len(u.values) == 1 else join(u.values) for u in users],
        "groups": [join_groups(u.groups) if u.groups else "" for u in users],
    }, columns=list(COLUMNS), dtype=str)  # the string dtype a file import gives
    listed = UserList(frame, source_column=f"{kind}:{attribute}", notes=notes)
    return listed, SourceInfo(kind, url, attribute, len(users), joiner if multi else "")


def _first_of_each(users: Iterable[SourceUser]) -> tuple[list[SourceUser], list[dict[str, Any]]]:
    """One user per email (any case), the first read; two accounts with one email are
    reported as a file's repeated rows are."""
    kept: dict[str, SourceUser] = {}
    repeats: dict[str, int] = {}
    unnamed: list[SourceUser] = []
    for user in users:
        key = user.email.strip().lower()
        if not key:
            unnamed.append(user)
            continue
        if key in kept:
            repeats[key] = repeats.get(key, 1) + 1
        else:
            kept[key] = user
    notes: list[dict[str, Any]] = [
        {
            "code": "duplicate_email",
            "message": f"{kept[key].email.strip()} belongs to {count} accounts of the source; "
            "the first one read is used, the others are ignored.",
            "value": kept[key].email.strip(),
            "count": count,
        }
        for key, count in repeats.items()
    ]
    if unnamed:  # as a file's rows without an email: skipped, but never silently
        names = ", ".join(repr(u.name) for u in unnamed[:3] if u.name) or "no name either"
        notes.append({
            "code": "missing_email",
            "message": f"{len(unnamed):,} account(s) of the source have no email (such as "
            f"{names}) and were skipped: give them one in the source, or read another "
            "attribute as the email",
            "count": len(unnamed),
        })
    return list(kept.values()), notes
