"""Mapping tables as Calendly shows them: "Value in Identity Provider" and "Group" columns.

Row order is priority order; fully blank lines are skipped. A .json file is read as a draft.
An optional "Match" column gives each row's match kind (equals when absent or blank); it is
written only when some row is not equals, so an equals-only table stays Calendly's two columns.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from app.core.errors import InputError
from app.core.mapping import Mapping, MappingRow, MatchKind, match_kind
from app.io.cells import header_key
from app.io.drafts import load_draft, save_draft
from app.io.limits import MAX_MAPPING_BYTES, check_regular_file
from app.io.roles import MAPPING
from app.io.tables import open_table
from app.io.writers import write_table

VALUE_HEADER = "Value in Identity Provider"
GROUP_HEADER = "Group"
VALUE_HEADERS = (VALUE_HEADER, "Value in IdP", "Identity Provider Value", "Value")
GROUP_HEADERS = (GROUP_HEADER, "Calendly Group", "Groups")
MATCH_HEADER = "Match"
MATCH_HEADERS = (MATCH_HEADER, "Match kind", "Match type", "Operator")


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
    table = open_table(path, MAPPING, _accepts_mapping)
    value, group = table.find(VALUE_HEADERS), table.find(GROUP_HEADERS)
    if value is None or group is None:
        raise InputError(
            f"{table.file}: a mapping file needs the columns {VALUE_HEADER!r} and "
            f"{GROUP_HEADER!r}; columns found: {table.listed_headers}."
        )
    match = table.find(MATCH_HEADERS)
    columns = table.columns([value, group] if match is None else [value, group, match])
    frame = pd.DataFrame({"value": columns[0].to_numpy(), "group": columns[1].to_numpy()})
    frame["match"] = columns[2].to_numpy() if match is not None else ""
    frame["row"] = range(table.first_row, table.first_row + len(frame))  # as the admin sees it
    blank = (frame["value"].str.strip() == "") & (frame["group"].str.strip() == "")
    frame = frame.loc[~blank]
    kinds = _match_kinds(table.file, frame["match"], frame["value"], frame["row"])
    rows = tuple(
        MappingRow(v, g, k) for v, g, k in zip(frame["value"], frame["group"], kinds, strict=True)
    )
    return Mapping(rows)


def _match_kinds(
    file: str, cells: pd.Series, values: pd.Series, numbers: pd.Series
) -> list[MatchKind]:
    """The kind named in each "Match" cell; InputError naming the first unknown one by its row
    number in the spreadsheet (the header row is row 1 of a .csv)."""
    kinds = []
    for number, cell, value in zip(numbers, cells, values, strict=True):
        kind = match_kind(str(cell))
        if kind is None:
            allowed = ", ".join(k.value for k in MatchKind)
            raise InputError(
                f"{file}: row {number} ({str(value).strip()!r}) has the unknown match"
                f" {str(cell).strip()!r} in the {MATCH_HEADER!r} column. Use one of: {allowed}"
                " (blank means equals)."
            )
        kinds.append(kind)
    return kinds


def mapping_frame(mapping: Mapping) -> pd.DataFrame:
    columns = {
        VALUE_HEADER: [row.value for row in mapping.rows],
        GROUP_HEADER: [row.group for row in mapping.rows],
    }
    if any(row.kind != MatchKind.EQUALS for row in mapping.rows):
        columns[MATCH_HEADER] = [row.kind.value for row in mapping.rows]
    return pd.DataFrame(columns, dtype=str)


def write_mapping(path: str | Path, mapping: Mapping) -> None:
    """Write the rows as .csv or .xlsx with Calendly's two headers (a .json path saves a draft)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        save_draft(path, mapping)
        return
    write_table(path, mapping_frame(mapping), sheet_name="Mapping")
