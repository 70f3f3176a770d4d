"""Reading .xlsx/.xlsm workbooks with python-calamine, every cell as the text shown.

Before calamine opens the workbook, every part it reads is located and weighed (app/io/
xlsxparts.py); before it reads a sheet, the sheet's XML is streamed once to learn its true
extent (calamine allocates rows x columns cells, so a stray cell in XFD1048576 would abort the
process) and its merged ranges (calamine leaves all but the top-left cell of a merge empty),
in app/io/xlsxscan.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import python_calamine as calamine

from app.core.errors import InputError
from app.io.limits import MAX_CELLS
from app.io.roles import Role
from app.io.xlsxparts import damaged, open_package
from app.io.xlsxscan import SheetScan, scan_sheet
from app.io.xlsxsurrogates import surrogate_refusal

OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
ZIP_MAGIC = b"PK\x03\x04"
HEADER_SEARCH_ROWS = 20

Cell = str | float | int | bool | dt.date | dt.datetime | dt.time | dt.timedelta


def _number_text(value: float) -> str:
    """1.0 -> "1", 0.1 -> "0.1", 2.5e-05 -> "0.000025"; exponents only for huge or tiny values."""
    if abs(value) >= 1e21:
        return repr(value)
    if value.is_integer():
        return str(int(value))
    text = repr(value)
    if "e" in text and abs(value) >= 1e-9:
        return np.format_float_positional(value, trim="-")
    return text


def _clock_text(value: dt.time | dt.datetime) -> str:
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")


def _datetime_text(value: dt.datetime) -> str:
    if value.time() == dt.time():
        return value.date().isoformat()
    return value.date().isoformat() + " " + _clock_text(value.time())


def _duration_text(value: dt.timedelta) -> str:
    """A [h]:mm:ss cell as Excel shows it: 30:05:00."""
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


# Each function takes values of exactly its key's type (looked up by `type(value)`).
_TEXT_OF: dict[type, Callable[[Any], str]] = {
    float: _number_text,
    int: str,
    bool: lambda value: "TRUE" if value else "FALSE",
    dt.date: dt.date.isoformat,
    dt.datetime: _datetime_text,
    dt.time: _clock_text,
    dt.timedelta: _duration_text,
}


def cell_text(value: Cell | None) -> str:
    """The text a cell shows: numbers without a spurious ".0", dates as ISO, blank as ""."""
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    return _TEXT_OF.get(type(value), str)(value)


@dataclass
class Sheet:
    """One sheet: the header row's texts and the calamine rows below it (converted on demand)."""

    file: str
    name: str
    headers: list[str]
    rows: list[list[Cell]]
    notes: list[dict[str, Any]] = field(default_factory=list)
    first_row: int = 2  # the spreadsheet's number of the first row below the headers

    def series(self, index: int) -> pd.Series:
        """A column as pandas text, blank cells as "", date cells as ISO dates."""
        column = [row[index] for row in self.rows]  # calamine's rows are all the sheet's width
        texts = [value if value.__class__ is str else cell_text(value) for value in column]
        return pd.Series(texts, dtype=str)


def _check_container(path: Path, role: Role) -> None:
    with open(path, "rb") as handle:
        head = handle.read(8)
        if not head:
            raise InputError(f"{path.name}: the file is empty. {role.again}.")
        if head == OLE_MAGIC:
            body = head + handle.read(1 << 20)
            if "EncryptionInfo".encode("utf-16-le") in body:
                raise _protected(path)
            raise InputError(
                f"{path.name}: this is an old Excel 97-2003 workbook (.xls) or another "
                "non-.xlsx file. Open it in Excel and save it as .xlsx or CSV."
            )
    if head[:4] != ZIP_MAGIC:
        raise InputError(
            f"{path.name}: not an Excel workbook (the file is not in .xlsx format). "
            "Export the list again as .xlsx or CSV."
        )


def _protected(path: Path) -> InputError:
    return InputError(
        f"{path.name}: the workbook is password-protected. Open it in Excel, "
        "remove the password (File > Info > Protect Workbook), save and try again."
    )


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _too_large(path: Path, sheet: str, why: str) -> InputError:
    return InputError(
        f"{path.name}: sheet {sheet!r} is too large to read ({why}). Delete the unused rows "
        "and columns, or copy the users to a new workbook, and try again."
    )


def _fill_merges(rows: list[list[Cell]], scan: SheetScan, path: Path, name: str) -> None:
    """Give every cell of a merged range the top-left cell's text, as the admin sees it."""
    width = len(rows[0])
    area = 0
    for r1, c1, r2, c2 in sorted(scan.merges):
        if r1 >= len(rows) or c1 >= width:
            continue
        area += (min(r2, len(rows) - 1) - r1 + 1) * (min(c2, width - 1) - c1 + 1)
        if area > MAX_CELLS:  # overlapping ranges, which Excel never writes
            raise _too_large(path, name, "its merged ranges overlap")
        top = rows[r1][c1]
        for row in rows[r1 : r2 + 1]:
            row[c1 : c2 + 1] = [top] * len(row[c1 : c2 + 1])


def _header_row(rows: list[list[Cell]], accept: Callable[[list[str]], bool]) -> tuple[int, bool]:
    """The first of the top rows whose texts `accept` likes; else the first non-blank row."""
    first_filled = None
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        texts = [cell_text(value).strip() for value in row]
        if not any(texts):
            continue
        if first_filled is None:
            first_filled = r
        if accept(texts):
            return r, True
    return (first_filled if first_filled is not None else 0), False


def read_workbook(path: Path, accept: Callable[[list[str]], bool], role: Role) -> Sheet:
    """The first sheet with a header row `accept` likes, else the first sheet with any data.

    The caller then checks the headers of what it gets (and names them in its error).
    """
    _check_container(path, role)
    with open_package(path) as package:
        parts = package.sheets()
        package.check_opened_parts()
        try:
            workbook = calamine.CalamineWorkbook.from_path(path)
        except calamine.PasswordError as exc:
            raise _protected(path) from exc
        except (calamine.CalamineError, OSError) as exc:
            raise surrogate_refusal(package, parts, path, role) or damaged(path) from exc
        with workbook:
            names = workbook.sheet_names
            if len(names) != len(parts):
                raise damaged(path)  # calamine sees other sheets than the checks did
            charts = {sheet.name for sheet in workbook.sheets_metadata
                      if sheet.typ == calamine.SheetTypeEnum.ChartSheet}
            fallback: Sheet | None = None
            unreadable: InputError | None = None
            for index, name in enumerate(names):
                if name in charts:
                    continue
                try:
                    part = parts[index].part
                    scan = scan_sheet(package, part) if part is not None else SheetScan()
                    if scan.rows * scan.columns > MAX_CELLS:
                        size = f"it spans {scan.rows:,} rows x {scan.columns:,} columns"
                        raise _too_large(path, name, size)
                    loaded = _load(workbook, index, name, scan, path, accept)
                except SheetUnreadable as exc:
                    found = surrogate_refusal(package, [parts[index]], path, role)
                    unreadable = unreadable or found or exc
                    continue
                except InputError as exc:  # a huge or unreadable sheet: another may hold the users
                    unreadable = unreadable or exc
                    continue
                if loaded is None:
                    continue
                sheet, accepted = loaded
                if accepted:
                    if len(names) > 1:
                        sheet.notes.insert(0, _sheet_note(path, name, names))
                    return sheet
                fallback = fallback or sheet
    if fallback is None:
        if unreadable is not None:
            raise unreadable
        raise InputError(f"{path.name}: the workbook has no data. {role.again}.")
    return fallback


def _sheet_note(path: Path, name: str, names: list[str]) -> dict[str, Any]:
    others = [n for n in names if n != name]
    return {
        "code": "sheet_chosen",
        "message": f"{path.name}: read sheet {name!r}; other sheets ignored: "
        + ", ".join(repr(n) for n in others),
        "value": name,
    }


class SheetUnreadable(InputError):
    """calamine could not read a sheet (a lone surrogate in it is then looked for)."""


def _load(
    workbook: calamine.CalamineWorkbook,
    index: int,
    name: str,
    scan: SheetScan,
    path: Path,
    accept: Callable[[list[str]], bool],
) -> tuple[Sheet, bool] | None:
    try:
        rows = workbook.get_sheet_by_index(index).to_python(skip_empty_area=False)
    except (calamine.CalamineError, OSError) as exc:
        raise SheetUnreadable(
            f"{path.name}: cannot read sheet {name!r} ({_first_line(exc)}). Open the file in "
            "Excel, save it again as .xlsx and try again."
        ) from exc
    if not rows or not rows[0]:
        return None
    if scan.merges:
        _fill_merges(rows, scan, path, name)
    header, accepted = _header_row(rows, accept)
    headers = [cell_text(value).strip() for value in rows[header]]
    sheet = Sheet(path.name, name, headers, rows[header + 1 :], first_row=header + 2)
    if scan.uncached:
        sheet.notes.append({
            "code": "formula_without_value",
            "message": f"{path.name}: sheet {name!r} has {scan.uncached:,} formula cell(s) with"
            f" no saved value (such as {', '.join(scan.uncached_refs)}), read as blank. Open the"
            " workbook in Excel or LibreOffice and save it, so their values are saved.",
            "value": scan.uncached_refs[0],
            "count": scan.uncached,
        })
    if scan.merges:
        sheet.notes.append({
            "code": "merged_cells",
            "message": f"{path.name}: sheet {name!r} has merged cells; each cell of a merged "
            "range was read as the range's text.",
        })
    return sheet, accepted
