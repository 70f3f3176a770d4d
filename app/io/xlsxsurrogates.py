"""Where a workbook calamine refused to read holds a lone surrogate (half of a character,
`&#55296;` or the bytes ED A0 80): such a cell is not text, and calamine names neither the
sheet nor the cell. Looked for only after calamine failed, in bounded overlapping windows."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from app.core.errors import InputError
from app.io.limits import MAX_SHARED_STRINGS_XML, MAX_SHEET_XML
from app.io.roles import Role
from app.io.xlsxparts import Package, SheetPart, tail_of

_HALF = re.compile(rb"&#(?:[xX]0*([0-9a-fA-F]{1,6})|0*([0-9]{1,7}));|\xed[\xa0-\xbf][\x80-\xbf]")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*)>")
_REF = re.compile(rb"""\br\s*=\s*["']([A-Z]{1,3}[0-9]{1,7})["']""")
_SHARED = re.compile(rb"""\bt\s*=\s*["']s["']""")
_SI = re.compile(rb"<(?:\w+:)?si[\s>/]")
OVERLAP = 4096  # bytes a window keeps of the previous one: a cell's markup is far shorter


def _windows(package: Package, info: zipfile.ZipInfo, limit: int) -> Iterator[tuple[bytes, int]]:
    """(window, cut): the part in pieces, each starting with the end of the previous one;
    what lies before `cut` is not seen again."""
    carry = b""
    for chunk in package.chunks(info, limit):
        data = carry + chunk
        cut = max(0, min(len(data) - len(tail_of(data)), len(data) - OVERLAP))
        yield data, cut
        carry = data[cut:]


def _half_at(data: bytes) -> tuple[int, str] | None:
    """The first lone surrogate in `data`: where, and which ("U+D800")."""
    for found in _HALF.finditer(data):
        hexa, decimal = found[1], found[2]
        if hexa or decimal:
            point = int(hexa, 16) if hexa else int(decimal)
        else:
            point = ord(found[0].decode("utf-8", "surrogatepass"))
        if 0xD800 <= point <= 0xDFFF:
            return found.start(), f"U+{point:04X}"
    return None


def _last_ref(data: bytes) -> str | None:
    """The reference (`B7`) of the last cell that starts in `data`."""
    refs = [ref for tag in _CELL.finditer(data) if (ref := _REF.search(tag[1]))]
    return refs[-1][1].decode() if refs else None


def _shared_half(package: Package) -> tuple[int, str] | None:
    """The number (from 0) of the first shared text holding a lone surrogate, and which."""
    info = package.find(package.folder + "sharedStrings.xml")
    before = 0
    for data, cut in _windows(package, info, MAX_SHARED_STRINGS_XML) if info else ():
        half = _half_at(data)
        if half is not None:
            return before + len(_SI.findall(data, 0, half[0])) - 1, half[1]
        before += len(_SI.findall(data, 0, cut))
    return None


def _inline_half(package: Package, info: zipfile.ZipInfo) -> tuple[str, str] | None:
    """The cell whose own text (not a shared one) holds a lone surrogate, and which."""
    last = None
    for data, cut in _windows(package, info, MAX_SHEET_XML):
        half = _half_at(data)
        if half is not None:
            return _last_ref(data[: half[0]]) or last or "(unnamed)", half[1]
        last = _last_ref(data[:cut]) or last
    return None


def _shared_cell(package: Package, info: zipfile.ZipInfo, number: int) -> str | None:
    """The first cell showing shared text `number`."""
    shows = re.compile(rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?v>\s*%d\s*<" % number)
    for data, _ in _windows(package, info, MAX_SHEET_XML):
        for found in shows.finditer(data):
            if _SHARED.search(found[1]):
                ref = _REF.search(found[1])
                return ref[1].decode() if ref else "(unnamed)"
    return None


def surrogate_refusal(package: Package, sheets: list[SheetPart], path: Path, role: Role
                      ) -> InputError | None:
    """InputError naming the sheet and cell of the first lone surrogate, or None when there
    is none (calamine failed for another reason)."""
    shared = _shared_half(package)
    for sheet in sheets:
        if sheet.part is None:
            continue
        if shared is not None:
            ref = _shared_cell(package, sheet.part, shared[0])
            found = (ref, shared[1]) if ref else None
        else:
            found = _inline_half(package, sheet.part)
        if found is not None:
            return InputError(
                f"{path.name}: sheet {sheet.name!r}, cell {found[0]} holds half of a character"
                f" (the lone surrogate {found[1]}), which is not text. Retype that cell, or "
                f"{role.or_again}."
            )
    return None
