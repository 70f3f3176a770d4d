"""Mapping tables as Calendly shows them: "Value in Identity Provider" and "Group" columns.

Row order is priority order; fully blank lines are skipped. A .json file is read as a draft.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from app.core.errors import InputError
from app.core.mapping import Mapping, MappingRow
from app.io.cells import header_key
from app.io.drafts import load_draft, save_draft
from app.io.limits import MAX_MAPPING_BYTES, check_regular_file
from app.io.tables import open_table
from app.io.writers import write_table

VALUE_HEADER = "Value in Identity Provider"
GROUP_HEADER = "Group"
VALUE_HEADERS = (VALUE_HEADER, "Value in IdP", "Identity Provider Value", "Value")
GROUP_HEADERS = (GROUP_HEADER, "Calendly Group", "Groups")


def _accepts_mapping(headers: list[str]) -> bool:
    keys = {header_key(h) for h in headers}
    return any(header_key(h) in keys for h in VALUE_HEADERS) and any(
        header_key(h) in keys for h in GROUP_HEADERS
    )


def read_mapping(path: str | Path) -> Mapping:
    """The rows of a mapping file (.csv/.xlsx) or a draft (.json), with default options."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return load_draft(path)
    check_regular_file(path, MAX_MAPPING_BYTES)
    table = open_table(path, _accepts_mapping)
    value, group = table.find(VALUE_HEADERS), table.find(GROUP_HEADERS)
    if value is None or group is None:
        raise InputError(
            f"{table.file}: a mapping file needs the columns {VALUE_HEADER!r} and "
            f"{GROUP_HEADER!r}; columns found: {table.listed_headers}."
        )
    values, groups = table.columns([value, group])
    frame = pd.DataFrame({"value": values.to_numpy(), "group": groups.to_numpy()})
    blank = (frame["value"].str.strip() == "") & (frame["group"].str.strip() == "")
    frame = frame.loc[~blank]
    rows = tuple(MappingRow(v, g) for v, g in zip(frame["value"], frame["group"], strict=True))
    return Mapping(rows)


def mapping_frame(mapping: Mapping) -> pd.DataFrame:
    return pd.DataFrame(
        {
            VALUE_HEADER: [row.value for row in mapping.rows],
            GROUP_HEADER: [row.group for row in mapping.rows],
        },
        dtype=str,
    )


def write_mapping(path: str | Path, mapping: Mapping) -> None:
    """Write the rows as .csv or .xlsx with Calendly's two headers (a .json path saves a draft)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        save_draft(path, mapping)
        return
    write_table(path, mapping_frame(mapping), sheet_name="Mapping")
