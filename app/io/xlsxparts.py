"""The parts of an .xlsx package that python-calamine will read, found and weighed first.

calamine reads the package relationships, then shared strings, styles, the workbook and its
relationships when a workbook is opened, and a sheet's XML when the sheet is read. Each of
those parts is located as calamine locates it (case-insensitive names, the workbook folder
taken from _rels/.rels), its declared uncompressed size is checked against a documented
limit, and it is inflated here by a bounded stream that refuses a part producing more than
its header declares: a zip bomb or a lying header costs a few seconds, never the memory.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.core.errors import InputError
from app.io.limits import (
    MAX_CELLS,
    MAX_SHARED_STRINGS_XML,
    MAX_SHEETS,
    MAX_STYLES_XML,
    MAX_TEXT_RUN,
    MAX_WORKBOOK_XML,
    MAX_ZIP_PARTS,
    size_text,
)

CHUNK = 1 << 22
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_OFFICE_DOCUMENT = "/relationships/officeDocument"
_SI_TAG = b"si"
_UNIQUE_COUNT = re.compile(rb"""sst\s[^>]*?uniqueCount\s*=\s*["']\s*(\d+)""")


def damaged(path: Path) -> InputError:
    return InputError(
        f"{path.name}: the workbook is damaged or incomplete (maybe cut off while copying "
        "or downloading). Export or download it again."
    )


def not_a_workbook(path: Path) -> InputError:
    return InputError(
        f"{path.name}: not an Excel workbook (it is a zip file without a workbook inside). "
        "Export the list again as .xlsx or CSV."
    )


def part_too_large(path: Path, part: str, size: int, limit: int) -> InputError:
    return InputError(
        f"{path.name}: the workbook's part {part!r} is too large to read ({size_text(size)} "
        f"uncompressed; GroupMap reads up to {size_text(limit)}). Copy the users to a new "
        "workbook, or export them as CSV, and try again."
    )


@dataclass(frozen=True)
class SheetPart:
    name: str
    part: zipfile.ZipInfo | None  # None: the sheet's XML is missing (calamine fails on it)


class Package:
    """An open .xlsx zip with calamine's view of its part names."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, raw: BinaryIO) -> None:
        self.path = path
        self.archive = archive
        self.raw = raw
        self.entries: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            key = info.filename.replace("\\", "/").lower()
            if key in self.entries:  # two parts calamine cannot tell apart
                raise damaged(path)
            self.entries[key] = info
        self.folder = self._workbook_folder()

    def find(self, name: str) -> zipfile.ZipInfo | None:
        return self.entries.get(name.replace("\\", "/").lower())

    def chunks(self, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
        """The part's bytes, inflated in bounded pieces; InputError if too large or lying."""
        if info.file_size > limit:
            raise part_too_large(self.path, info.filename, info.file_size, limit)
        if info.flag_bits & 0x1:
            raise damaged(self.path)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InputError(
                f"{self.path.name}: the workbook uses an unusual zip compression. Open it "
                "in Excel, save it again as .xlsx and try again."
            )
        run = 0
        for chunk in self._inflate(info):
            last = chunk.rfind(b"<")
            run = run + len(chunk) if last < 0 else len(chunk) - last
            if run > MAX_TEXT_RUN:
                raise InputError(
                    f"{self.path.name}: the workbook's part {info.filename!r} holds a text of "
                    f"over {size_text(MAX_TEXT_RUN)} without markup. Copy the users to a new "
                    "workbook, or export them as CSV, and try again."
                )
            yield chunk

    def _inflate(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        try:
            self.raw.seek(info.header_offset)
            magic, name_length, extra_length = _LOCAL_HEADER.unpack(self.raw.read(30))
            if magic != b"PK\x03\x04":
                raise damaged(self.path)
            self.raw.seek(info.header_offset + 30 + name_length + extra_length)
            inflater = zlib.decompressobj(-15) if info.compress_type else None
            remaining, produced = info.compress_size, 0
            while remaining > 0:
                data = self.raw.read(min(CHUNK, remaining))
                if not data:
                    raise damaged(self.path)
                remaining -= len(data)
                while data:
                    if inflater is None:
                        out, data = data, b""
                    else:
                        out = inflater.decompress(data, CHUNK)
                        data = inflater.unconsumed_tail
                    produced += len(out)
                    if produced > info.file_size:  # the header lies about the size
                        raise damaged(self.path)
                    if out:
                        yield out
            tail = inflater.flush() if inflater is not None else b""
            produced += len(tail)
            if tail:
                yield tail
            if produced != info.file_size:
                raise damaged(self.path)
            if inflater is not None and not inflater.eof:
                raise damaged(self.path)
        except (zlib.error, struct.error, OSError) as exc:
            raise damaged(self.path) from exc

    def read(self, name: str, limit: int) -> bytes | None:
        info = self.find(name)
        return None if info is None else b"".join(self.chunks(info, limit))

    def _xml(self, name: str) -> ET.Element | None:
        data = self.read(name, MAX_WORKBOOK_XML)
        if data is None:
            return None
        try:
            return ET.fromstring(data)
        except ET.ParseError as exc:
            raise damaged(self.path) from exc

    def _workbook_folder(self) -> str:
        """The workbook's folder ("xl/"), from the package relationships as calamine reads it."""
        rels = self._xml("_rels/.rels")
        if rels is None:
            raise not_a_workbook(self.path)
        target = None
        for rel in rels.iter():
            if _local(rel.tag) == "Relationship" and rel.get("Type", "").endswith(
                _OFFICE_DOCUMENT
            ):
                target = rel.get("Target")
        if target is None:
            raise not_a_workbook(self.path)
        cut = target.rfind("/")
        return target[: cut + 1].removeprefix("/") if cut >= 0 else ""

    def check_opened_parts(self) -> None:
        """Size and stream-check the parts calamine reads when it opens the workbook."""
        styles = self.find(self.folder + "styles.xml")
        if styles is not None:
            for _ in self.chunks(styles, MAX_STYLES_XML):
                pass
        info = self.find(self.folder + "sharedStrings.xml")
        if info is not None:
            self._check_shared_strings(info)

    def _check_shared_strings(self, info: zipfile.ZipInfo) -> None:
        """Refuse more shared texts than the cell limit (calamine reserves and keeps each)."""
        texts, tail, head = 0, b"", True
        for chunk in self.chunks(info, MAX_SHARED_STRINGS_XML):
            data = tail + chunk
            if head:
                declared = _declared_count(data)
                head = False
                if declared > MAX_CELLS:
                    raise self._too_many_texts(declared)
            texts += _count_tags(data[: len(data) - len(tail_of(data))], _SI_TAG)
            tail = tail_of(data)
            if texts > MAX_CELLS:
                raise self._too_many_texts(texts)

    def _too_many_texts(self, count: int) -> InputError:
        return InputError(
            f"{self.path.name}: the workbook holds too many texts ({count:,}; GroupMap reads "
            f"up to {MAX_CELLS:,}). Copy the users to a new workbook, or export them as CSV, "
            "and try again."
        )

    def sheets(self) -> list[SheetPart]:
        """Every sheet in workbook order, with the XML part calamine reads for it."""
        workbook = self._xml(self.folder + "workbook.xml")
        rels = self._xml(self.folder + "_rels/workbook.xml.rels")
        if workbook is None or rels is None:
            raise not_a_workbook(self.path)
        targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter()
                   if _local(rel.tag) == "Relationship"}
        sheets: list[SheetPart] = []
        for element in workbook.iter():
            if _local(element.tag) != "sheet":
                continue
            if len(sheets) == MAX_SHEETS:
                raise InputError(
                    f"{self.path.name}: the workbook has over {MAX_SHEETS:,} sheets. Copy the "
                    "users to a new workbook, or export them as CSV, and try again."
                )
            rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
            target = targets.get(rid, "")
            part = target[1:] if target.startswith("/") else self.folder + target
            info = self.find(part) or self.find(posixpath.normpath(part))
            sheets.append(SheetPart(element.get("name", ""), info))
        return sheets


def _local(name: str) -> str:
    """The local name of an element or attribute: "{ns}sheet" and "x:sheet" -> "sheet"."""
    return name.rpartition("}")[2].rpartition(":")[2]


def tail_of(data: bytes) -> bytes:
    """From the last "<" on: markup that may continue in the next chunk ("<" never occurs
    inside an attribute value or text, so everything before it is complete)."""
    cut = data.rfind(b"<")
    return data[cut:] if cut >= 0 and data.find(b">", cut) < 0 else b""


def _count_tags(data: bytes, name: bytes) -> int:
    """Start tags with this local name, whatever the prefix or the whitespace after it."""
    count = 0
    for opener in (b"<", b":"):
        for after in (b" ", b">", b"/", b"\t", b"\n", b"\r"):
            count += data.count(opener + name + after)
    return count


def _declared_count(head: bytes) -> int:
    """The uniqueCount calamine reserves room for (0 when absent or unreadable)."""
    found = _UNIQUE_COUNT.search(head)
    return int(found[1][:12]) if found else 0


def _directory_entries(raw: BinaryIO) -> int:
    """How many entries the zip's directory declares (0 if its end record is not found), read
    from the end record before zipfile and calamine each build an object per entry."""
    size = raw.seek(0, 2)
    raw.seek(max(0, size - (1 << 16) - 22))
    tail = raw.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) < end + 22:
        return 0
    entries: int = struct.unpack_from("<H", tail, end + 10)[0]
    locator = tail.rfind(b"PK\x06\x07", 0, end)
    if entries == 0xFFFF and locator >= 0 and len(tail) >= locator + 20:
        raw.seek(struct.unpack_from("<Q", tail, locator + 8)[0] + 32)
        entries = struct.unpack("<Q", raw.read(8).ljust(8, b"\0"))[0]
    return entries


@contextlib.contextmanager
def open_package(path: Path) -> Iterator[Package]:
    """`path` as a zip package; a broken zip is the damaged message."""
    with open(path, "rb") as raw:
        entries = _directory_entries(raw)
        if entries > MAX_ZIP_PARTS:
            raise InputError(
                f"{path.name}: the workbook's zip holds {entries:,} parts (a real workbook has "
                "a few dozen). Export the list again as .xlsx or CSV."
            )
        raw.seek(0)
        try:
            archive = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise damaged(path) from exc
        with archive:
            yield Package(path, archive, raw)
