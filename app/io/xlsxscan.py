"""A sheet's true extent, cell count and merged ranges, learned before calamine reads it.

calamine places each cell at its `r` reference (or, without one, after the previous cell of
its row), then allocates rows x columns cells at once: one cell in XFD1048576 asks for 512 GB
and aborts the process. So the sheet's XML is streamed once here, whatever its spelling:

- the fast path reads the spelling every common writer uses (`<c r="A1"`, any one namespace
  prefix) with byte counts and a few regular expressions, at memchr speed;
- any other spelling (single quotes, newlines in tags, cells without `r`, other prefixes,
  comments) switches to the exact path: an XML parser (expat) that reads the attributes as
  attributes and follows calamine's placement rules, refusing structures no writer makes.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.parsers import expat

from app.core.errors import InputError
from app.io.limits import MAX_CELLS, MAX_SHEET_XML
from app.io.xlsxparts import Package, damaged, tail_of

EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
MAX_MERGES = 1_000_000
UNCACHED_EXAMPLES = 5
OPEN_CELL_CARRY = 1 << 20  # bytes of a cell left open at a chunk's end, kept for the next
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?worksheet[\s/>]")
_REF = rb"([A-Za-z]{1,4})(\d{1,8})(?::([A-Za-z]{1,4})(\d{1,8}))?"
_MERGE_REF = re.compile(_REF)
_MERGE = re.compile(
    rb"""mergeCell\s(?:[^>"']|"[^"]*"|'[^']*')*?(?<=\s)ref\s*=\s*["']""" + _REF + rb"""["']"""
)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class _Refused(Exception):
    """The exact path met something calamine would misread or no writer makes."""


@dataclass
class SheetScan:
    rows: int = 0
    columns: int = 0
    cells: int = 0
    merges: set[tuple[int, int, int, int]] = field(default_factory=set)  # r1, c1, r2, c2
    uncached: int = 0  # formula cells without a saved value: calamine reads them as blank
    uncached_refs: list[str] = field(default_factory=list)  # the first few of them

    def note_uncached(self, ref: str) -> None:
        self.uncached += 1
        if len(self.uncached_refs) < UNCACHED_EXAMPLES:
            self.uncached_refs.append(ref)


def column_number(letters: bytes | str) -> int:
    """0-based column index of Excel column letters (A -> 0, AA -> 26), any case."""
    number = 0
    for char in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        number = number * 26 + ord(char) - 64
    return number - 1


def scan_sheet(package: Package, info: zipfile.ZipInfo) -> SheetScan:
    """Extent, cells and merges of one sheet; InputError if it is beyond the limits."""
    scan = _fast_scan(package, info)
    if scan is None:
        scan = _exact_scan(package, info)
    return scan


def _letters(column: int) -> str:
    """Excel column letters of a 0-based index (0 -> "A", 26 -> "AA")."""
    text = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        text = _LETTERS[rest] + text
    return text


def _at_most(text: str, digit: str, low: str) -> str:
    """A pattern for the strings of `digit` (from `low` up) not greater than `text`: shorter,
    or as long and not after it in order (so "A".."H" for "H", "1".."99" and "100" for "100")."""
    alternatives = [f"{digit}{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, char in enumerate(text):
        if char > low:
            rest = f"{digit}{{{len(text) - i - 1}}}"
            alternatives.append(f"{text[:i]}[{low}-{chr(ord(char) - 1)}]{rest}")
    alternatives.append(text)
    return "(?:" + "|".join(alternatives) + ")"


class _Fast:
    """The patterns of the common spelling, for the namespace prefix the sheet uses.

    `notable(column, row)` finds the next cell that is spelled otherwise, or lies right of
    `column` or below `row` (0-based column, 1-based row): one search per chunk of a sheet.
    """

    def __init__(self, prefix: bytes) -> None:
        self.cell = b"<" + prefix + b"c r=\""
        self.tag = re.escape(b"<" + prefix + b"c")
        others = [rb"(?<!<" + re.escape(prefix[:-1]) + rb"):c[\s/>]" if prefix else rb":c[\s/>]"]
        if prefix:
            others.append(rb"<c[\s/>]")
        self.other_cells = [re.compile(pattern) for pattern in others]
        self.ref = re.compile(rb"([A-Z]{1,3})(\d{1,8})\"")
        self.close = b"</" + prefix + b"c>"
        self.formula = re.compile(b"<" + re.escape(prefix) + rb"f[\s/>]")
        self.value = re.compile(b"<" + re.escape(prefix) + rb"v[\s/>]")
        body = rb"\"[^>]*?(?:/>|>(.*?)" + re.escape(self.close) + rb")"
        self.cells = re.compile(re.escape(self.cell) + rb"([A-Z]{1,3}\d{1,8})" + body, re.S)
        self._notable: dict[tuple[int, int], re.Pattern[bytes]] = {}

    def uncached(self, scan: SheetScan, data: bytes) -> bytes:
        """Note the formula cells of `data` without a saved value (`<f>` but no `<v>`); the
        part from a cell still open at its end is returned, to be read with the next chunk
        (up to OPEN_CELL_CARRY: a cell longer than that is no formula a writer saves)."""
        if self.formula.search(data):
            for cell in self.cells.finditer(data):
                body = cell[2] or b""
                if self.formula.search(body) and not self.value.search(body):
                    scan.note_uncached(cell[1].decode())
        last = data.rfind(self.cell)
        if last < 0 or len(data) - last > OPEN_CELL_CARRY:
            return b""
        end = data.find(b">", last)
        if end >= 0 and (data[end - 1 : end] == b"/" or data.find(self.close, end) >= 0):
            return b""
        return data[last:]

    def notable(self, column: int, row: int) -> re.Pattern[bytes]:
        key = (column, row)
        if key not in self._notable:
            letters = _at_most(_letters(column), "[A-Z]", "A") if column >= 0 else "(?!)"
            digits = _at_most(str(row), "\\d", "0") if row > 0 else "(?!)"
            boring = f' r="{letters}{digits}"'.encode()
            self._notable[key] = re.compile(self.tag + rb"(?!" + boring + rb")[\s/>]")
        return self._notable[key]


def _fast_scan(package: Package, info: zipfile.ZipInfo) -> SheetScan | None:
    """None when the sheet is spelled otherwise than the fast path reads exactly."""
    scan, fast, tail, column, row, open_cell = SheetScan(), None, b"", -1, 0, b""
    for chunk in package.chunks(info, MAX_SHEET_XML):
        data = tail + chunk
        tail = tail_of(data)
        data = data[: len(data) - len(tail)]
        if fast is None:
            root = _ROOT.search(data)
            if root is None:
                return None
            fast = _Fast(root[1] or b"")
        if data.find(b"!") >= 0 and b"<!" in data:
            return None  # a comment, CDATA or declaration: the exact path skips them right
        if any(pattern.search(data) for pattern in fast.other_cells):
            return None
        scan.cells += data.count(fast.cell)
        open_cell = fast.uncached(scan, open_cell + data)
        if scan.cells > MAX_CELLS:
            raise _too_many_cells(package, info, scan.cells)
        last = data.rfind(fast.cell)
        ref = fast.ref.match(data, last + len(fast.cell)) if last >= 0 else None
        if ref is not None:
            row = max(row, _row_number(ref[2], package, info))
        position = 0
        while found := fast.notable(column, row).search(data, position):
            ref = fast.ref.match(data, found.start() + len(fast.cell))
            if not data.startswith(fast.cell, found.start()) or ref is None:
                return None
            column = max(column, column_number(ref[1]))
            row = max(row, _row_number(ref[2], package, info))
            position = found.end()
        if b"mergeCell" in data:
            _add_merges(scan, _MERGE.findall(data), package, info)
    if column >= EXCEL_COLUMNS:
        raise _beyond_excel(package, info)
    scan.rows, scan.columns = (row, column + 1) if scan.cells else (0, 0)
    return scan


def _row_number(digits: bytes, package: Package, info: zipfile.ZipInfo) -> int:
    if len(digits) > 7 or not 0 < int(digits) <= EXCEL_ROWS:
        raise _beyond_excel(package, info)
    return int(digits)


def _add_merges(
    scan: SheetScan,
    found: Sequence[tuple[bytes, ...] | re.Match[bytes] | None],
    package: Package,
    info: zipfile.ZipInfo,
) -> None:
    """Add merged ranges from `findall`'s group tuples or from matches (None: not a range)."""
    for match in found:
        if match is None:
            continue
        c1, r1, c2, r2 = match if isinstance(match, tuple) else match.groups()
        merge = (int(r1) - 1, column_number(c1), int(r2 or r1) - 1, column_number(c2 or c1))
        if min(merge) < 0 or merge[0] > merge[2] or merge[1] > merge[3]:
            continue
        scan.merges.add(merge)
    if len(scan.merges) > MAX_MERGES:
        raise InputError(
            f"{package.path.name}: sheet part {info.filename!r} has over {MAX_MERGES:,} "
            "merged ranges. Unmerge the cells (Home > Merge & Center) and try again."
        )


class _Exact:
    """expat callbacks that place cells by calamine's rules: a cell's own `r`, else the column
    after the previous cell of its row; a row's `r`, else the row after the previous row."""

    def __init__(self, package: Package, info: zipfile.ZipInfo) -> None:
        self.package, self.info, self.scan = package, info, SheetScan()
        self.row = self.col = self.depth = self.cell_depth = 0
        self.in_data = self.done = False
        self.cell_ref, self.formula, self.value = "", False, False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        local = name.rpartition(":")[2]
        if local == "mergeCell" and "ref" in attrs:
            _add_merges(self.scan, [_MERGE_REF.fullmatch(attrs["ref"].encode())], self.package,
                        self.info)
        if not self.in_data or self.done:
            self.in_data = self.in_data or local == "sheetData"
        elif self.cell_depth:
            if local in ("c", "row"):
                raise _Refused(f"a {local} inside a cell")
            self.formula = self.formula or local == "f"
            self.value = self.value or local == "v"
        elif local == "row" and "r" in attrs:
            self.row = _position(attrs["r"], row_only=True)[0]
        elif local == "c":
            self._cell(attrs.get("r"))

    def _cell(self, ref: str | None) -> None:
        self.cell_depth = self.depth
        row = self.row
        if ref is not None:
            row, self.col = _position(ref)
        self.cell_ref, self.formula, self.value = f"{_letters(self.col)}{row + 1}", False, False
        scan = self.scan
        scan.cells += 1
        scan.rows = max(scan.rows, row + 1)
        scan.columns = max(scan.columns, self.col + 1)
        self.col += 1
        if scan.cells > MAX_CELLS:
            raise _too_many_cells(self.package, self.info, scan.cells)
        if scan.rows > EXCEL_ROWS or scan.columns > EXCEL_COLUMNS:
            raise _beyond_excel(self.package, self.info)

    def end(self, name: str) -> None:
        local = name.rpartition(":")[2]
        if self.cell_depth == self.depth:
            self.cell_depth = 0
            if self.formula and not self.value:
                self.scan.note_uncached(self.cell_ref)
        elif self.in_data and not self.done and not self.cell_depth:
            if local == "row":
                self.row, self.col = self.row + 1, 0
            self.done = local == "sheetData"
        self.depth -= 1


def _refuse_declarations(*_args: object) -> None:
    raise _Refused("a document type or entity declaration")


def _exact_scan(package: Package, info: zipfile.ZipInfo) -> SheetScan:
    tags = 0  # first a count at memchr speed: a sheet of 40 million cells fails in a second
    for chunk in package.chunks(info, MAX_SHEET_XML):
        tags += chunk.count(b"<c") + chunk.count(b":c")
        if tags > MAX_CELLS:
            raise _too_many_cells(package, info, tags)
    exact = _Exact(package, info)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_declarations
    parser.EntityDeclHandler = _refuse_declarations
    parser.StartElementHandler = exact.start
    parser.EndElementHandler = exact.end
    try:
        for chunk in package.chunks(info, MAX_SHEET_XML):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except (expat.ExpatError, _Refused, ValueError) as exc:
        raise damaged(package.path) from exc
    return exact.scan


def _position(ref: str, row_only: bool = False) -> tuple[int, int]:
    """0-based (row, column) of a reference as calamine reads it; ValueError if it can't."""
    found = re.fullmatch(r"([A-Za-z]{0,4})(\d{1,8})", ref)
    if found is None or (not found[1] and not row_only) or int(found[2]) < 1:
        raise ValueError(f"cell reference {ref[:20]!r}")
    return int(found[2]) - 1, column_number(found[1]) if found[1] else 0


def _too_many_cells(package: Package, info: zipfile.ZipInfo, cells: int) -> InputError:
    return InputError(
        f"{package.path.name}: sheet part {info.filename!r} is too large to read (over "
        f"{MAX_CELLS:,} cells). Delete the unused rows and columns, or copy the users to a new "
        "workbook, and try again."
    )


def _beyond_excel(package: Package, info: zipfile.ZipInfo) -> InputError:
    return InputError(
        f"{package.path.name}: sheet part {info.filename!r} refers to a cell beyond Excel's "
        f"last row or column ({EXCEL_ROWS:,} rows x {EXCEL_COLUMNS:,} columns). Open it in "
        "Excel, save it again as .xlsx and try again."
    )
