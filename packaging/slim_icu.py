"""Build a smaller libicudata for the Linux bundle: ICU data without what Qt never asks for.

PySide6's Qt links ICU, whose data library (libicudata.so.73, ~31 MB) holds every locale's
unit, currency, language and region names, break-iterator dictionaries, transliterators
and legacy codepage tables. GroupMap's Qt uses ICU for collation (sorting tables in the
user's language), case mapping and time-zone names only. This keeps those (all languages),
the root and English locales and ICU's core tables, drops the rest (~23 MB), and links the
result into a library with the same soname and data symbol, using the system C compiler.

Used by packaging/groupmap.spec; run alone to inspect (QTLIB = PySide6/Qt/lib of the venv):
    .venv/bin/python packaging/slim_icu.py $QTLIB/libicudata.so.73 /tmp/icu
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

# Data trees and file kinds Qt does not use (break iteration is Qt's own, codecs are Python's).
DROPPED_TREES = ("brkitr", "curr", "lang", "rbnf", "region", "translit", "unit")
DROPPED_SUFFIXES = (".cnv", "unames.icu")
KEPT_LOCALES = re.compile(r"^(root|en(_[A-Za-z0-9]+)*)\.res$")
LOCALE_FILE = re.compile(r"^[a-z]{2,3}(_[A-Za-z0-9]+)*\.res$")
ALIGN = 16


def wanted(name: str) -> bool:
    """Whether an ICU data item (e.g. 'icudt73l/coll/de.res') stays in the slim package."""
    parts = name.split("/")
    if len(parts) > 2:
        return parts[1] not in DROPPED_TREES
    base = parts[-1]
    if base.endswith(DROPPED_SUFFIXES):
        return False
    return not LOCALE_FILE.match(base) or bool(KEPT_LOCALES.match(base))


def find_package(blob: bytes, start: int = 0) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Split the ICU common-data package ('CmnD') in ``blob[start:]`` into header and items.

    Layout: a header (uint16 size, magic 0xda 0x27, UDataInfo, copyright), then a table of
    contents (uint32 count, count x (name offset, data offset) relative to the table), the
    names, and each item (itself a complete ICU data file), 16-byte aligned.
    """
    header_size, magic1, magic2 = struct.unpack_from("<HBB", blob, start)
    if (magic1, magic2) != (0xDA, 0x27) or blob[start + 12 : start + 16] != b"CmnD":
        raise ValueError(f"no ICU common data package at offset {start:#x}")
    toc = start + header_size
    (count,) = struct.unpack_from("<I", blob, toc)
    entries = [struct.unpack_from("<II", blob, toc + 4 + 8 * i) for i in range(count)]
    total = len(blob) - toc  # the last item runs to the end of the data symbol
    items = []
    for index, (name_offset, data_offset) in enumerate(entries):
        end = entries[index + 1][1] if index + 1 < count else total
        name_end = blob.index(b"\0", toc + name_offset)
        name = blob[toc + name_offset : name_end].decode("ascii")
        items.append((name, blob[toc + data_offset : toc + end]))
    return blob[start:toc], items


def write_package(header: bytes, items: list[tuple[str, bytes]]) -> bytes:
    """A 'CmnD' package holding ``items`` (names must stay in the original, sorted order)."""
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in items)
    table_size = 4 + 8 * len(items)
    data_offset = _align(table_size + len(names))
    table, name_offset, data = [struct.pack("<I", len(items))], table_size, []
    for name, payload in items:
        table.append(struct.pack("<II", name_offset, data_offset))
        name_offset += len(name) + 1
        padded = payload + b"\0" * (_align(len(payload)) - len(payload))
        data.append(padded)
        data_offset += len(padded)
    body = b"".join(table) + names
    body += b"\xaa" * (_align(len(body)) - len(body))
    return header + body + b"".join(data)


def _align(size: int) -> int:
    return (size + ALIGN - 1) // ALIGN * ALIGN


def data_symbol(library: Path) -> tuple[str, int, int]:
    """Name, file offset and size of the icudtNN_dat symbol in an ICU data library."""
    symbols = subprocess.run(
        ["readelf", "--dyn-syms", "-W", str(library)], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(
        r":\s+([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+OBJECT\s+GLOBAL\s+\S+\s+\d+\s+(icudt\d+_dat)",
        symbols,
    )
    if not match:
        raise ValueError(f"{library} exports no icudtNN_dat symbol; is it an ICU data library?")
    address, size, name = int(match.group(1), 16), int(match.group(2), 0), match.group(3)
    sections = subprocess.run(
        ["readelf", "-S", "-W", str(library)], capture_output=True, text=True, check=True
    ).stdout
    for line in sections.splitlines():
        fields = line.split("]")[-1].split()
        if len(fields) >= 5 and fields[1] == "PROGBITS":
            start, offset, length = int(fields[2], 16), int(fields[3], 16), int(fields[4], 16)
            if start <= address < start + length:
                return name, offset + (address - start), size
    raise ValueError(f"{library}: the section holding {name} was not found")


def slim_library(library: Path, work: Path) -> Path:
    """Write work/<soname> with the slim data and return its path (needs cc and readelf)."""
    if not (shutil.which("cc") and shutil.which("readelf")):
        raise RuntimeError("slimming ICU needs a C compiler (cc) and readelf (binutils)")
    symbol, offset, size = data_symbol(library)
    blob = library.read_bytes()[offset : offset + size]
    header, items = find_package(blob)
    package = write_package(header, [(name, data) for name, data in items if wanted(name)])
    work.mkdir(parents=True, exist_ok=True)
    (work / "icudata.dat").write_bytes(package)
    (work / "icudata.S").write_text(
        f"\t.section .rodata\n\t.globl {symbol}\n\t.type {symbol}, @object\n\t.balign 16\n"
        f'{symbol}:\n\t.incbin "{work / "icudata.dat"}"\n\t.size {symbol}, .-{symbol}\n'
        '\t.section .note.GNU-stack,"",@progbits\n'
    )
    out = work / library.name
    subprocess.run(
        [
            "cc",
            "-shared",
            "-nostdlib",
            f"-Wl,-soname,{library.name}",
            "-o",
            str(out),
            str(work / "icudata.S"),
        ],
        check=True,
    )
    return out


if __name__ == "__main__":
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    result = slim_library(source, target)
    print(
        f"{source.name}: {source.stat().st_size / 2**20:.1f} MB -> "
        f"{result.stat().st_size / 2**20:.1f} MB ({result})"
    )
