"""Opening an exported table (.csv/.txt/.tsv or .xlsx/.xlsm) as headers plus text columns.

CSV columns are parsed only when asked for (`Table.columns`), so a 1M-row export with many
columns costs only the columns the caller uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from app.core.errors import InputError
from app.io import csvfile, xlsxfile
from app.io.cells import header_key, unescape_series
from app.io.limits import check_regular_file
from app.io.roles import TABLE, Role

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")

Progress = Callable[[float], None]


@dataclass
class Table:
    """Headers and lazily read columns of one exported table."""

    file: str
    headers: list[str]
    read: Callable[[list[int], Progress | None], list[pd.Series]]
    sheet: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    first_row: int = 2  # the spreadsheet's (or file's) number of the first row of data

    def find(self, names: Sequence[str]) -> int | None:
        """Index of the first header equal to one of `names` (by `header_key`, in names' order).
        A header the file repeats is noted (`duplicate_column`): the first one is read."""
        keys = [header_key(h) for h in self.headers]
        for name in names:
            key = header_key(name)
            if key in keys:
                self._note_repeats(keys, key)
                return keys.index(key)
        return None

    def _note_repeats(self, keys: list[str], key: str) -> None:
        columns = [i + 1 for i, k in enumerate(keys) if k == key]
        name = self.headers[columns[0] - 1]
        if len(columns) < 2 or any(n.get("value") == name for n in self.notes
                                   if n["code"] == "duplicate_column"):
            return
        listed = ", ".join(map(str, columns[:-1])) + f" and {columns[-1]}"
        self.notes.append({
            "code": "duplicate_column",
            "message": f"{self.file}: the header names the column {name!r} {len(columns)} times"
            f" (columns {listed}); column {columns[0]} is read, the others are ignored. Rename"
            " or remove the others if they hold the data.",
            "value": name,
            "count": len(columns),
        })

    def columns(
        self, indices: Sequence[int], on_progress: Progress | None = None
    ) -> list[pd.Series]:
        try:
            return self.read(list(indices), on_progress)
        except OSError as exc:
            raise _unreadable(self.file, exc) from exc

    @property
    def listed_headers(self) -> str:
        """The headers for an error message: at most 20, each cut to 40 characters."""
        shown = [h for h in self.headers if h.strip() and not h.startswith("Unnamed: ")]
        cut = [h if len(h) <= 40 else h[:39] + "…" for h in shown[:20]]
        more = f" and {len(shown) - 20} more" if len(shown) > 20 else ""
        return ", ".join(cut) + more if cut else "(none)"


def _is_workbook_content(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(8)
    return head.startswith(xlsxfile.ZIP_MAGIC) or head == xlsxfile.OLE_MAGIC


def open_table(
    path: str | Path, role: Role, accept: Callable[[list[str]], bool] | None = None
) -> Table:
    """Open `path`; for workbooks, `accept(headers)` picks the sheet and header row to use;
    a refusal's advice fits the file's `role` (a user export, a mapping...)."""
    path = Path(path)
    check_regular_file(path)  # "no such file", "is a directory", "is a device"...
    try:
        return _open(path, role, accept)
    except OSError as exc:
        raise _unreadable(path.name, exc) from exc


def _unreadable(name: str, exc: OSError) -> InputError:
    return InputError(
        f"{name}: cannot be read ({exc.strerror or exc}). Check that you may read it and that "
        "no other program locks it, then try again."
    )


def _open(path: Path, role: Role, accept: Callable[[list[str]], bool] | None) -> Table:
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES or (suffix in TEXT_SUFFIXES and _is_workbook_content(path)):
        return _open_workbook(path, role, accept or (lambda headers: True))
    if suffix in TEXT_SUFFIXES:
        return _open_text(path, role)
    raise InputError(
        f"{path.name}: unsupported file type {path.suffix or '(no extension)'!r}. "
        "Use an .xlsx, .xlsm or .csv export."
    )


def _open_text(path: Path, role: Role) -> Table:
    fmt = csvfile.detect_format(path, role)
    headers = [h.strip() for h in csvfile.read_header(path, fmt, role)]

    def read(indices: list[int], on_progress: Progress | None) -> list[pd.Series]:
        wanted = sorted(set(indices))
        frame = csvfile.read_columns(path, fmt, wanted, on_progress)
        if frame.shape[1] == 0:
            return [pd.Series([], dtype=str) for _ in indices]
        by_index = dict(zip(wanted, range(len(wanted)), strict=True))
        return [unescape_series(frame.iloc[:, by_index[i]].astype(str)) for i in indices]

    return Table(path.name, headers, read)


def _open_workbook(path: Path, role: Role, accept: Callable[[list[str]], bool]) -> Table:
    sheet = xlsxfile.read_workbook(path, accept, role)

    def read(indices: list[int], on_progress: Progress | None) -> list[pd.Series]:
        result = [sheet.series(i) for i in indices]
        if on_progress is not None:
            on_progress(1.0)
        return result

    return Table(
        path.name, sheet.headers, read, sheet.name, list(sheet.notes), first_row=sheet.first_row
    )


def read_table(path: str | Path) -> pd.DataFrame:
    """A whole table as text (the inverse of `write_table` for .csv and .xlsx files)."""
    table = open_table(path, TABLE)
    columns = table.columns(range(len(table.headers)))
    frame = pd.DataFrame({i: column.reset_index(drop=True) for i, column in enumerate(columns)})
    frame.columns = table.headers
    return frame
