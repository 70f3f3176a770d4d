"""Reading exported user lists into the core's UserList, without looping over rows in Python.

Several files (Calendly exports active and pending users separately) are combined; a user
(one email_key: case and Unicode form aside) listed twice counts once and the first row wins.
Import notes use only the keys of app.core.warnings.Warning (code, message, value, count) so
they become warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from app.core.errors import InputError, SourceColumnMissing
from app.core.identity import email_keys
from app.core.users import COLUMNS, DEFAULT_SOURCE_COLUMN, UserList
from app.io.cells import header_key
from app.io.errors import ImportCancelled
from app.io.roles import USERS
from app.io.tables import Table, open_table

EMAIL_HEADERS = ("Email", "E-mail", "Email address", "E-mail address", "userName")
NAME_HEADERS = ("Name", "Full name")
FIRST_NAME_HEADERS = ("First name", "Given name")
LAST_NAME_HEADERS = ("Last name", "Surname", "Family name")
STATUS_HEADERS = ("Status",)
GROUP_HEADERS = ("Group", "Groups", "Current group", "Current groups")
DUPLICATE_NOTE_CAP = 20
EXAMPLE_ROWS = 5

Progress = Callable[[float], None]


def _accepts_users(headers: list[str]) -> bool:
    keys = {header_key(h) for h in headers}
    return any(header_key(name) in keys for name in EMAIL_HEADERS)


def _check(cancelled: Callable[[], bool] | None) -> None:
    if cancelled is not None and cancelled():
        raise ImportCancelled("import cancelled")


def read_users(
    paths: Sequence[str | Path],
    source_column: str | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> UserList:
    """Read and combine user exports; raise InputError (one line) for anything unreadable."""
    files = [Path(p) for p in paths]
    if not files:
        raise InputError("No user list given. Choose an exported .xlsx or .csv file.")
    column = source_column.strip() if source_column and source_column.strip() else None
    sizes = [max(p.stat().st_size, 1) if p.is_file() else 1 for p in files]
    total = float(sum(sizes))
    done = 0.0
    frames: list[pd.DataFrame] = []
    notes: list[dict[str, Any]] = []
    for path, size in zip(files, sizes, strict=True):
        _check(cancelled)
        share, base = 0.9 * size / total, 0.9 * done / total

        def on_progress(fraction: float, share: float = share, base: float = base) -> None:
            _check(cancelled)
            if progress is not None:
                progress(base + share * fraction)

        frame, file_notes = _read_one(path, column, on_progress)
        frames.append(frame)
        notes.extend(file_notes)
        done += size
        on_progress(1.0)
    _check(cancelled)
    combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    combined, duplicate_notes = _drop_duplicates(combined)
    notes.extend(duplicate_notes)
    if combined.empty:
        names = ", ".join(p.name for p in files)
        raise InputError(
            f"{names}: has no users (no row with an email below the header). "
            "Export the user list again, with its users."
        )
    if progress is not None:
        progress(1.0)
    return UserList(combined, column or DEFAULT_SOURCE_COLUMN, notes)


def _read_one(
    path: Path, source_column: str | None, on_progress: Progress
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    table = open_table(path, USERS, _accepts_users)
    if table.sheet is not None:
        on_progress(0.8)  # a workbook is parsed when opened; a CSV when its columns are read
    where = f"{table.file}" + (f" (sheet {table.sheet!r})" if table.sheet else "")
    email = table.find(EMAIL_HEADERS)
    if email is None:
        raise InputError(
            f"{where}: no email column (looked for {', '.join(EMAIL_HEADERS)}); columns found: "
            f"{table.listed_headers}. Choose the user export of your SaaS admin console (for "
            "example Calendly's), or export it again."
        )
    wanted_source = source_column or DEFAULT_SOURCE_COLUMN
    source = table.find([wanted_source])
    if source is None:
        raise SourceColumnMissing(
            f"{where}: no column {wanted_source!r} with the identity-provider value; columns "
            f"found: {table.listed_headers}. Pick one with --source-column.",
            columns=[h for h in table.headers if h.strip()],
        )
    roles = {
        "email": email,
        "source": source,
        "name": table.find(NAME_HEADERS),
        "first": table.find(FIRST_NAME_HEADERS),
        "last": table.find(LAST_NAME_HEADERS),
        "status": table.find(STATUS_HEADERS),
        "groups": table.find(GROUP_HEADERS),
    }
    present = {role: i for role, i in roles.items() if i is not None}
    series = dict(zip(present, table.columns(list(present.values()), on_progress), strict=True))
    frame = _assemble(series)
    frame, notes = _drop_blank(frame, table)
    return frame, table.notes + notes


def _assemble(series: dict[str, pd.Series]) -> pd.DataFrame:
    rows = len(series["email"])
    empty = pd.Series("", index=range(rows), dtype=str)

    def get(role: str) -> pd.Series:
        return series[role].reset_index(drop=True) if role in series else empty

    if "name" in series:
        name = get("name").str.strip()
    else:
        name = (get("first").str.strip() + " " + get("last").str.strip()).str.strip()
    return pd.DataFrame(
        {
            "email": get("email").str.strip(),
            "name": name,
            "status": get("status").str.strip().str.lower(),
            "source": get("source"),
            "groups": get("groups"),
        },
        columns=list(COLUMNS),
    )


def _drop_blank(frame: pd.DataFrame, table: Table) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Drop rows without an email; note those that had other data (they can't be synced)."""
    no_email = frame["email"] == ""
    notes: list[dict[str, Any]] = []
    if not no_email.any():
        return frame, notes
    has_data = (frame["name"] != "") | (frame["status"] != "")
    has_data |= (frame["source"].str.strip() != "") | (frame["groups"].str.strip() != "")
    lost = no_email & has_data
    count = int(lost.sum())
    if count:
        examples = ", ".join(str(i + 1) for i in lost[lost].index[:EXAMPLE_ROWS])
        notes.append({
            "code": "missing_email",
            "message": f"{table.file}: {count} row(s) without an email were skipped "
            f"(such as data row {examples} below the header).",
            "count": count,
        })
    return frame.loc[~no_email].reset_index(drop=True), notes


def _drop_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    key = email_keys(frame["email"])
    duplicate = key.duplicated(keep="first")
    if not duplicate.any():
        return frame, []
    counts = key[duplicate].value_counts() + 1
    kept = pd.Series(frame["email"][~duplicate].to_numpy(), index=key[~duplicate].to_numpy())
    notes = []
    for same, count in counts.head(DUPLICATE_NOTE_CAP).items():
        email = str(kept.get(same, same))
        notes.append({
            "code": "duplicate_email",
            "message": f"{email} is listed {count} times; the first row is used, "
            "the others are ignored.",
            "value": email,
            "count": int(count),
        })
    rest = counts.iloc[DUPLICATE_NOTE_CAP:]
    if len(rest):  # each email is reported once: by name, or counted in this summary
        notes.append({
            "code": "duplicate_emails",
            "message": f"{len(rest)} more email(s) are listed more than once; "
            f"{int((rest - 1).sum())} extra row(s) were ignored (the first row of each user "
            "is used).",
            "count": len(rest),
        })
    return frame.loc[~duplicate].reset_index(drop=True), notes
