"""The documented limits of what GroupMap reads, and the checks every reader shares.

A hostile or broken file must cost bounded time and memory and end in one clear line: the
input is a regular file (not a folder, pipe or device), a small file is read with a bounded
read (a file that grows or lies about its size cannot exhaust memory), and a decoding error
(deep nesting, a number with thousands of digits) becomes the reader's one-line message.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from app.core.errors import InputError

MB = 1 << 20
MAX_DRAFT_BYTES = 64 * MB  # a draft or a .json mapping
MAX_MAPPING_BYTES = 64 * MB  # a .csv/.xlsx mapping table
MAX_CSV_COLUMNS = 16_384  # Excel's own last column, XFD
MAX_CSV_HEADER_BYTES = 4 * MB  # the header line of a CSV export
MAX_CELLS = 25_000_000  # rows x columns of one sheet: 1,048,576 rows of 23 columns
MAX_SHEET_XML = 2048 * MB  # one sheet's XML, uncompressed
MAX_SHARED_STRINGS_XML = 512 * MB  # the workbook's shared texts, uncompressed
MAX_STYLES_XML = 64 * MB  # the workbook's styles, uncompressed
MAX_WORKBOOK_XML = 16 * MB  # workbook.xml and the relationship parts, uncompressed
MAX_TEXT_RUN = 64 * MB  # text without markup in a part: calamine holds such a run at once
MAX_SHEETS = 1_000  # sheets of one workbook (each is scanned until one holds the users)
MAX_ZIP_PARTS = 100_000  # entries of a workbook's zip directory (read whole when opened)
MAX_JSON_NUMBER_DIGITS = 30

_KINDS = (
    (stat.S_ISDIR, "is a directory, not a file"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file"),
    (stat.S_ISCHR, "is a device, not a regular file"),
    (stat.S_ISBLK, "is a device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


def size_text(size: int) -> str:
    """1536 -> "1.5 KB", 3 << 30 -> "3.0 GB": sizes in messages, as a file manager shows them."""
    for unit, scale in (("GB", 1 << 30), ("MB", MB), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def check_regular_file(path: Path, limit: int | None = None) -> os.stat_result:
    """The file's status; InputError if it is missing, not a regular file, or over `limit`."""
    try:
        status = os.stat(path)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file. Check the path and try again.") from exc
    except OSError as exc:
        raise InputError(
            f"{path}: cannot be read ({exc.strerror or exc}). Check the path and your "
            "permissions, then try again."
        ) from exc
    for test, problem in _KINDS:
        if test(status.st_mode):
            raise InputError(f"{path}: {problem}. Choose the file itself and try again.")
    if limit is not None and status.st_size > limit:
        raise _too_big(path, status.st_size, limit)
    return status


def _too_big(path: Path, size: int | None, limit: int) -> InputError:
    size_part = f"{size_text(size)}, " if size is not None else ""
    return InputError(
        f"{path.name}: the file is too large ({size_part}GroupMap reads up to "
        f"{size_text(limit)} of this kind of file). Check that it is the right file and try "
        "again."
    )


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of a small regular file, never more than `limit` + 1 read into memory.

    Opened without blocking (a FIFO swapped in after the check cannot hang the read) and
    checked again on the open handle, so what was checked is what is read.
    """
    check_regular_file(path, limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"{path.name}: cannot be read ({exc.strerror or exc}).") from exc
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"{path}: is not a regular file. Choose the file itself.")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(f"{path.name}: cannot be read ({exc.strerror or exc}).") from exc
    if len(data) > limit:
        raise _too_big(path, None, limit)
    return data


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_NUMBER_DIGITS:
        raise ValueError(f"a number with {len(text):,} digits")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_JSON_NUMBER_DIGITS * 2:
        raise ValueError(f"a number {len(text):,} characters long")
    return float(text)


def decode_json(raw: bytes) -> object:
    """JSON from UTF-8 bytes (BOM allowed); ValueError with a short reason for anything wrong.

    Numbers are bounded at parse time and nesting deeper than Python's recursion limit is a
    ValueError, not a RecursionError: a hostile draft costs one line, not a traceback.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError("not UTF-8 text") from exc
    try:
        data = json.loads(text, parse_int=_bounded_int, parse_float=_bounded_float,
                          parse_constant=_no_constant)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno},"
                         f" column {exc.colno}") from exc
    _refuse_lone_surrogates(text)
    return data


_SURROGATE_ESCAPE = re.compile(r"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")


def _refuse_lone_surrogates(text: str) -> None:
    """A `\\ud800` escape without its pair decodes to a string no file or terminal can hold
    (saving a preview or a run would fail later): refuse it where it stands."""
    paired_at = -1  # where a low surrogate completing the last high one starts
    for found in _SURROGATE_ESCAPE.finditer(text):
        if len(found[1]) % 2 == 0:  # "\\\\ud800" is a backslash, then text
            continue
        high = found[2][1].lower() in "89ab"
        if (not high and found.start() == paired_at) or (high and _low_follows(text, found.end())):
            paired_at = found.end() if high else -1
            continue
        position = found.start() + len(found[1]) - 1
        line = text.count("\n", 0, position) + 1
        column = position - text.rfind("\n", 0, position)
        raise ValueError(f"a lone surrogate \\u{found[2]}, which is not a character, at line"
                         f" {line}, column {column}; remove or replace it")


def _low_follows(text: str, at: int) -> bool:
    follows = _SURROGATE_ESCAPE.match(text, at)
    return bool(follows and len(follows[1]) == 1 and follows[2][1].lower() in "cdef")


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")


def shown(value: object, width: int = 40) -> str:
    """A value for a one-line message: its repr, cut to `width` characters."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**width else "(huge)"
    return text if len(text) <= width else text[: width - 1] + "…"
