"""Reading .xlsx/.xlsm workbooks with fastexcel (calamine), every cell as the text shown.

Before fastexcel sees a sheet, its XML is streamed once to learn its true extent (calamine
allocates rows x columns cells, so a stray cell in XFD1048576 would abort the process) and
its merged ranges (calamine leaves all but the top-left cell of a merge empty).
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import InputError

OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
ZIP_MAGIC = b"PK\x03\x04"
MAX_CELLS = 25_000_000
MAX_SHEET_XML = 4 << 30
HEADER_SEARCH_ROWS = 20
CHUNK = 1 << 22

_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# Literal-led patterns, so the scan runs at memchr speed ("r=" is the cell reference).
_ROW = re.compile(rb"row [^>]*?r=\"(\d+)\"")
_CELL = re.compile(rb" r=\"([A-Z]{1,3})\d")
_WIDE_CELL = re.compile(rb" r=\"([A-Z]{2,3})\d")
_MERGE = re.compile(rb"mergeCell ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")


def column_number(letters: bytes | str) -> int:
    """0-based column index of Excel column letters (A -> 0, AA -> 26)."""
    number = 0
    for char in letters if isinstance(letters, str) else letters.decode():
        number = number * 26 + ord(char) - 64
    return number - 1


@dataclass
class SheetScan:
    rows: int = 0
    columns: int = 0
    merges: set[tuple[int, int, int, int]] = field(default_factory=set)  # r1, c1, r2, c2


@dataclass
class Sheet:
    """One sheet: the header row's texts and the cells below it, one pyarrow string array each."""

    file: str
    name: str
    headers: list[str]
    columns: list[pa.Array]
    notes: list[dict] = field(default_factory=list)

    def series(self, index: int) -> pd.Series:
        """A column as pandas text, blank cells as "", date cells as ISO dates."""
        return pd.Series(_normalize(self.columns[index]), dtype=str)

    @property
    def row_count(self) -> int:
        return len(self.columns[0]) if self.columns else 0


def _normalize(array: pa.Array) -> pa.Array:
    """Blank -> "", date cells "2024-03-04 00:00:00" -> "2024-03-04", time cells -> "10:30:00"."""
    array = pc.fill_null(array, "")
    array = pc.replace_substring_regex(array, r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", r"\1")
    return pc.replace_substring_regex(array, r"^1899-12-3[01] (\d{2}:\d{2}:\d{2})$", r"\1")


def _check_container(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(8)
        if not head:
            raise InputError(f"{path.name}: the file is empty. Export the user list again.")
        if head == OLE_MAGIC:
            body = head + handle.read(1 << 20)
            if "EncryptionInfo".encode("utf-16-le") in body:
                raise InputError(
                    f"{path.name}: the workbook is password-protected. Open it in Excel, "
                    "remove the password (File > Info > Protect Workbook), save and try again."
                )
            raise InputError(
                f"{path.name}: this is an old Excel 97-2003 workbook (.xls) or another "
                "non-.xlsx file. Open it in Excel and save it as .xlsx or CSV."
            )
    if head[:4] != ZIP_MAGIC:
        raise InputError(
            f"{path.name}: not an Excel workbook (the file is not in .xlsx format). "
            "Export the list again as .xlsx or CSV."
        )


def _damaged(path: Path) -> InputError:
    return InputError(
        f"{path.name}: the workbook is damaged or incomplete (maybe cut off while copying "
        "or downloading). Export or download it again."
    )


def _sheet_parts(archive: zipfile.ZipFile, path: Path) -> list[tuple[str, str]]:
    """(sheet name, XML part) in workbook order."""
    try:
        workbook = ET.fromstring(archive.read("xl/workbook.xml"))
        rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except KeyError as exc:
        raise InputError(
            f"{path.name}: not an Excel workbook (it is a zip file without a workbook inside). "
            "Export the list again as .xlsx or CSV."
        ) from exc
    except (ET.ParseError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _damaged(path) from exc
    targets = {}
    for rel in rels:
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        targets[rel.get("Id")] = posixpath.normpath(target)
    parts = []
    for sheet in workbook.iter():
        if sheet.tag.endswith("}sheet") or sheet.tag == "sheet":
            rid = sheet.get(f"{{{_NS_REL}}}id")
            parts.append((sheet.get("name", ""), targets.get(rid, "")))
    return parts


def _scan(archive: zipfile.ZipFile, part: str, path: Path) -> SheetScan:
    scan = SheetScan()
    try:
        info = archive.getinfo(part)
    except KeyError:
        return scan
    if info.file_size > MAX_SHEET_XML:
        raise _too_large(path, part, "its XML is over 4 GB")
    tail = b""
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK):
                data = tail + chunk
                last_row = max(data.rfind(b"<row "), data.rfind(b":row "))
                found = _ROW.search(data, last_row) if last_row >= 0 else None
                if found:
                    scan.rows = max(scan.rows, int(found[1]))
                # Every cell of the first chunk, then only cells past column Z (cheap to find).
                cells = _WIDE_CELL if tail else _CELL
                for letters in set(cells.findall(data)):
                    scan.columns = max(scan.columns, column_number(letters) + 1)
                merges = _MERGE.findall(data) if b"mergeCell " in data else []
                for c1, r1, c2, r2 in merges:
                    scan.merges.add((int(r1) - 1, column_number(c1),
                                     int(r2 or r1) - 1, column_number(c2 or c1)))
                tail = data[-512:]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _damaged(path) from exc
    return scan


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _too_large(path: Path, sheet: str, why: str) -> InputError:
    return InputError(
        f"{path.name}: sheet {sheet!r} is too large to read ({why}). Delete the unused rows "
        "and columns, or copy the users to a new workbook, and try again."
    )


def _fill_merges(grid: list[pa.Array], absolute: list[int], scan: SheetScan) -> list[pa.Array]:
    """Give every cell of a merged range the top-left cell's text, as the admin sees it."""
    position = {col: i for i, col in enumerate(absolute)}
    edited: dict[int, np.ndarray] = {}
    for r1, c1, r2, c2 in sorted(scan.merges):
        source = position.get(c1)
        if source is None or r1 >= len(grid[source]):
            continue
        top = grid[source][r1].as_py() if source not in edited else edited[source][r1]
        for col in range(c1, c2 + 1):
            i = position.get(col)
            if i is None:
                continue
            if i not in edited:
                edited[i] = grid[i].to_numpy(zero_copy_only=False).astype(object)
            edited[i][r1 : r2 + 1] = top
    for i, values in edited.items():
        grid[i] = pa.array(values, type=pa.string())
    return grid


def _header_row(grid: list[pa.Array], accept: Callable[[list[str]], bool]) -> tuple[int, bool]:
    """The first of the top rows whose texts `accept` likes; else the first non-blank row."""
    top = [col.slice(0, HEADER_SEARCH_ROWS).to_pylist() for col in grid]
    first_filled = None
    for r in range(min(HEADER_SEARCH_ROWS, len(top[0]) if top else 0)):
        texts = [str(col[r]).strip() if col[r] is not None else "" for col in top]
        if not any(texts):
            continue
        if first_filled is None:
            first_filled = r
        if accept(texts):
            return r, True
    return (first_filled if first_filled is not None else 0), False


def read_workbook(path: Path, accept: Callable[[list[str]], bool]) -> Sheet:
    """The first sheet with a header row `accept` likes, else the first sheet with any data.

    The caller then checks the headers of what it gets (and names them in its error).
    """
    _check_container(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _damaged(path) from exc
    with archive:
        parts = dict(_sheet_parts(archive, path))
        try:
            reader = fastexcel.read_excel(path)
            names = reader.sheet_names
        except (fastexcel.FastExcelError, OSError) as exc:
            raise _damaged(path) from exc
        fallback: Sheet | None = None
        unreadable: InputError | None = None
        for index, name in enumerate(names):
            scan = _scan(archive, parts.get(name, ""), path)
            try:
                if scan.rows * scan.columns > MAX_CELLS:
                    size = f"it spans {scan.rows:,} rows x {scan.columns:,} columns"
                    raise _too_large(path, name, size)
                loaded = _load(reader, index, name, scan, path, accept)
            except InputError as exc:  # a chart sheet, a huge sheet: another may hold the users
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
        raise InputError(f"{path.name}: the workbook has no data. Export the user list again.")
    return fallback


def _sheet_note(path: Path, name: str, names: list[str]) -> dict:
    others = [n for n in names if n != name]
    return {
        "code": "sheet_chosen",
        "message": f"{path.name}: read sheet {name!r}; other sheets ignored: "
        + ", ".join(repr(n) for n in others),
        "value": name,
    }


def _load(
    reader: fastexcel.ExcelReader,
    index: int,
    name: str,
    scan: SheetScan,
    path: Path,
    accept: Callable[[list[str]], bool],
) -> tuple[Sheet, bool] | None:
    try:
        loaded = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string")
        absolute = [c.absolute_index for c in loaded.available_columns()]
        batch = loaded.to_arrow()
    except (fastexcel.FastExcelError, OSError) as exc:
        raise InputError(
            f"{path.name}: cannot read sheet {name!r} ({_first_line(exc)}). Open the file in "
            "Excel, save it again as .xlsx and try again."
        ) from exc
    grid = [batch.column(i) for i in range(batch.num_columns)]
    if not grid or batch.num_rows == 0:
        return None
    if scan.merges:
        grid = _fill_merges(grid, absolute, scan)
    header, accepted = _header_row(grid, accept)
    headers = [("" if v is None else str(v)).strip() for v in (c[header].as_py() for c in grid)]
    sheet = Sheet(path.name, name, headers, [c.slice(header + 1) for c in grid])
    if scan.merges:
        sheet.notes.append({
            "code": "merged_cells",
            "message": f"{path.name}: sheet {name!r} has merged cells; each cell of a merged "
            "range was read as the range's text.",
        })
    return sheet, accepted
