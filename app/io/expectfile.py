"""Expectations files (.csv/.xlsx): "Email or value" and "Expected group" columns.

Each line expects one subject (an email, or an export value) in a group; several groups go in
one cell separated by ";" or on several lines of the same subject. "no group" (or a blank
group) expects that the mapping gives the subject no group. Fully blank lines are skipped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from app.core.errors import InputError
from app.core.expectations import parse_groups
from app.core.mapping import Expectation
from app.io.cells import header_key
from app.io.roles import EXPECTATIONS
from app.io.tables import open_table
from app.io.writers import write_table

SUBJECT_HEADER = "Email or value"
GROUP_HEADER = "Expected group"
SUBJECT_HEADERS = (SUBJECT_HEADER, "Email", "Value", "Subject")
GROUP_HEADERS = (GROUP_HEADER, "Expected groups", "Group", "Groups")


def _accepts(headers: list[str]) -> bool:
    keys = {header_key(h) for h in headers}
    return any(header_key(h) in keys for h in SUBJECT_HEADERS) and any(
        header_key(h) in keys for h in GROUP_HEADERS
    )


def read_expectations(path: str | Path) -> tuple[Expectation, ...]:
    """The expectations of a .csv/.xlsx file, one per subject, in order of first appearance."""
    table = open_table(Path(path), EXPECTATIONS, _accepts)
    subject, group = table.find(SUBJECT_HEADERS), table.find(GROUP_HEADERS)
    if subject is None or group is None:
        raise InputError(
            f"{table.file}: an expectations file needs the columns {SUBJECT_HEADER!r} and "
            f"{GROUP_HEADER!r}; columns found: {table.listed_headers}."
        )
    subjects, groups = table.columns([subject, group])
    expected: dict[str, dict[str, None]] = {}
    for number, (who, cell) in enumerate(zip(subjects, groups, strict=True), start=1):
        who, cell = str(who).strip(), str(cell).strip()
        if not who and not cell:
            continue
        if not who:
            raise InputError(
                f"{table.file}: expectation line {number} names the group {cell!r} but no email"
                f" or value. Fill in {SUBJECT_HEADER!r} or delete the line."
            )
        expected.setdefault(who, {}).update(dict.fromkeys(parse_groups(cell)))
    return tuple(Expectation(who, tuple(names)) for who, names in expected.items())


def write_expectations(path: str | Path, expectations: tuple[Expectation, ...]) -> None:
    """Write expectations in the layout `read_expectations` reads (one line per subject)."""
    frame = pd.DataFrame(
        {
            SUBJECT_HEADER: [e.subject for e in expectations],
            GROUP_HEADER: ["; ".join(e.groups) if e.groups else "no group" for e in expectations],
        },
        dtype=str,
    )
    write_table(Path(path), frame, sheet_name="Expectations")
