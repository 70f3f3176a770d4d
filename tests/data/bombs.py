"""Zip bombs for the hostile-file tests: gigabytes of XML in a few megabytes, made in a second.

A repeated block is deflated once: after a full flush the compressor starts afresh, so every
copy of the block compresses to the same bytes, and the part is those bytes written `count`
times. The zip is written by hand (headers, data, central directory) with true sizes and CRCs.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Repeated:
    head: bytes
    block: bytes
    count: int
    tail: bytes = b""

    @property
    def size(self) -> int:
        return len(self.head) + len(self.block) * self.count + len(self.tail)

    def deflated(self) -> tuple[list[bytes], int]:
        """The raw deflate stream as pieces (the block's piece repeated), and the CRC-32."""
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        head = compressor.compress(self.head) + compressor.flush(zlib.Z_FULL_FLUSH)
        block = compressor.compress(self.block) + compressor.flush(zlib.Z_FULL_FLUSH)
        tail = compressor.compress(self.tail) + compressor.flush()
        crc = zlib.crc32(self.head)
        for _ in range(self.count):
            crc = zlib.crc32(self.block, crc)
        crc = zlib.crc32(self.tail, crc)
        return [head, *([block] * self.count), tail], crc


def rebuild(source: Path, target: Path, parts: dict[str, bytes | Repeated]) -> None:
    """`source`'s zip with some parts replaced (or added), written to `target`."""
    with zipfile.ZipFile(source) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    entries.update(parts)
    directory = bytearray()
    with open(target, "wb") as out:
        for name, content in entries.items():
            if isinstance(content, Repeated):
                pieces, crc = content.deflated()
                size = content.size
            else:
                compressor = zlib.compressobj(1, zlib.DEFLATED, -15)  # fast: a sheet of 1M rows
                pieces = [compressor.compress(content) + compressor.flush()]
                crc, size = zlib.crc32(content), len(content)
            packed = sum(len(piece) for piece in pieces)
            encoded = name.encode()
            offset = out.tell()
            fields = (20, 0, 8, 0, 0, crc, packed, size, len(encoded))
            out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", *fields, 0) + encoded)
            for piece in pieces:
                out.write(piece)
            directory += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, *fields, 0, 0,
                                     0, 0, 0, offset) + encoded
        start = out.tell()
        out.write(directory)
        count = len(entries)
        if count > 0xFFFF:  # zip64 end records carry the count (a zip of 100,000 parts)
            end64 = out.tell()
            out.write(struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                                  len(directory), start))
            out.write(struct.pack("<4sIQI", b"PK\x06\x07", 0, end64, 1))
            count = 0xFFFF
        out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(directory),
                              start, 0))
