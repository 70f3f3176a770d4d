"""Reading delimited text exports: encoding and delimiter detection, then pandas' C parser.

Every cell comes back as the text written in the file ("" for an empty cell): dtype=str with
NA detection off, so "007", "1" and "NA" stay exactly as typed.
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from app.core.errors import InputError
from app.io.limits import MAX_CSV_COLUMNS, MAX_CSV_HEADER_BYTES, size_text
from app.io.roles import Role

SAMPLE_BYTES = 1 << 16
DELIMITERS = (",", ";", "\t")
CHUNK_ROWS = 250_000


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    delimiter: str
    skip_rows: int  # 1 when the file starts with Excel's "sep=;" line


def _encoding_of(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4:
        if odd.count(0) > len(odd) * 0.3 and even.count(0) < len(even) * 0.1:
            return "utf-16-le"
        if even.count(0) > len(even) * 0.3 and odd.count(0) < len(odd) * 0.1:
            return "utf-16-be"
    for errors in ("strict", "surrogatepass"):  # UTF-8 holding a lone surrogate is UTF-8
        try:
            sample.decode("utf-8", errors)
            return "utf-8"
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 3:  # a character cut at the sample's end
                return "utf-8"
    return "cp1252"


_SURROGATE = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")  # U+D800-DFFF, as UTF-8 would spell it


def _refuse_surrogate(path: Path, fmt: CsvFormat, role: Role) -> None:
    """A lone surrogate (half of a character, bytes ED A0 80 for U+D800) in a UTF-8 file is
    not text: read as UTF-8 the file fails without saying where, read as Windows-1252 every
    accent in it would be wrong. Refused with its line and column, found at memchr speed."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        found = _SURROGATE.search(data)
        if found is None:
            return
        at = found.start()
        start = data.rfind(b"\n", 0, at) + 1
        line = data[:start].count(b"\n") + 1
        before = data[start:at].decode("utf-8", "replace")
        half = data[at:at + 3].decode("utf-8", "surrogatepass")
    column = len(next(csv.reader([before + "x"], delimiter=fmt.delimiter)))
    raise InputError(
        f"{path.name}: line {line}, column {column} holds half of a character (the lone "
        f"surrogate U+{ord(half):04X}), which is not text. Retype that cell, or "
        f"{role.or_again}."
    )


def _first_lines(text: str, count: int = 20) -> list[str]:
    return text.splitlines()[:count]


def _delimiter_of(text: str) -> str:
    """The delimiter that splits the header line into the most fields (ties: , then ; then tab)."""
    lines = [line for line in _first_lines(text) if line.strip()]
    if not lines:
        return ","
    header = lines[0]
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        fields = len(next(csv.reader([header], delimiter=delimiter), []))
        if fields > best_fields:
            best, best_fields = delimiter, fields
    if best_fields == 1 and len(lines) > 1:
        try:
            return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
        except csv.Error:
            return ","
    return best


_CONTROL = bytes(c for c in range(32) if c not in b"\t\n\r") + b"\x7f"


def _looks_binary(sample: bytes) -> bool:
    """A program, picture or archive rather than text.

    Valid UTF-8 is text whatever control characters it holds (cells may contain them);
    otherwise over 10% control bytes mean binary. A NUL byte anywhere is `_nul_line`'s.
    """
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return False
    except UnicodeDecodeError:
        controls = len(sample) - len(sample.translate(None, _CONTROL))
        return controls > len(sample) * 0.1


def _nul_line(path: Path) -> int | None:
    """The line of the file's first NUL byte, if any (at memchr speed): no CSV text in an
    8-bit encoding holds one, and a NUL in a cell would be an invisible character that no
    value typed elsewhere matches."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        at = data.find(b"\x00")
        return None if at < 0 else data[:at].count(b"\n") + 1


def detect_format(path: Path, role: Role) -> CsvFormat:
    """Encoding (BOM, UTF-16 without BOM, UTF-8, else cp1252) and delimiter of a text file;
    InputError, with advice fitting the file's `role`, for an empty or binary one."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise InputError(f"{path.name}: the file is empty. {role.again}.")
    encoding = _encoding_of(sample)
    if not encoding.startswith("utf-16"):
        nul = _nul_line(path)
        if nul is not None or _looks_binary(sample):
            where = f"a NUL byte on line {nul}" if nul is not None else "control bytes"
            raise InputError(
                f"{path.name}: not a CSV text file (it holds binary data: {where}), so not "
                f"{role.what} GroupMap can read. {role.again} as .xlsx or CSV."
            )
    text = sample.decode(encoding, errors="ignore")
    first = text.split("\n", 1)[0].strip().strip('"')
    if first.lower().startswith("sep=") and len(first) == 5:
        fmt = CsvFormat(encoding, first[4], 1)
    else:
        fmt = CsvFormat(encoding, _delimiter_of(text), 0)
    if encoding.startswith("utf-8"):
        _refuse_surrogate(path, fmt, role)
    return fmt


def _read_kwargs(fmt: CsvFormat) -> dict[str, Any]:
    return dict(
        sep=fmt.delimiter,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        engine="c",
        skiprows=fmt.skip_rows,
        skip_blank_lines=True,
        index_col=False,
        encoding=fmt.encoding,
        encoding_errors="replace" if fmt.encoding == "cp1252" else "strict",
    )


def _parse_error(path: Path, exc: Exception) -> InputError:
    detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return InputError(
        f"{path.name}: cannot read it as a CSV file ({detail}). "
        "Open it in a spreadsheet app and save it again as CSV or .xlsx."
    )


def check_header(path: Path, fmt: CsvFormat, role: Role) -> None:
    """Refuse a header line over the documented size or column count before pandas builds
    anything per column (a 44 MB line of millions of columns would take minutes, then fail)."""
    with open(path, "rb") as handle:
        head = handle.read(MAX_CSV_HEADER_BYTES + 1)
    text = head.decode(fmt.encoding, errors="replace")
    lines = text.split("\n", fmt.skip_rows)[fmt.skip_rows:] if fmt.skip_rows else [text]
    rest = lines[0] if lines else ""
    buffer = io.StringIO(rest)
    try:
        header = next(csv.reader(buffer, delimiter=fmt.delimiter), [])
    except csv.Error as exc:
        raise _parse_error(path, exc) from exc
    ended = buffer.tell() < len(rest) or rest.endswith(("\n", "\r"))
    complete = len(head) <= MAX_CSV_HEADER_BYTES or ended
    if not complete:
        raise InputError(
            f"{path.name}: the header line is longer than {size_text(MAX_CSV_HEADER_BYTES)}; "
            f"this is not {role.what}. {role.again}."
        )
    if len(header) > MAX_CSV_COLUMNS:
        raise InputError(
            f"{path.name}: the header has {len(header):,} columns, more than the "
            f"{MAX_CSV_COLUMNS:,} GroupMap reads. Export only the needed columns and try again."
        )


def read_header(path: Path, fmt: CsvFormat, role: Role) -> list[str]:
    check_header(path, fmt, role)
    try:
        mangled = [str(c) for c in pd.read_csv(path, nrows=0, **_read_kwargs(fmt)).columns]
        # pandas renames a repeated header ("Email", "Email.1"): the names as the file has them
        raw = pd.read_csv(path, nrows=1, header=None, **_read_kwargs(fmt)).iloc[0]
        return [str(name) if str(name).strip() else mangled[i] for i, name in enumerate(raw)]
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path.name}: the file is empty. {role.again}.") from exc
    except (pd.errors.ParserError, UnicodeError, ValueError) as exc:
        raise _parse_error(path, exc) from exc


def read_columns(
    path: Path,
    fmt: CsvFormat,
    usecols: Sequence[int] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """The data rows (the header excluded), all text; `on_progress(fraction of bytes read)`.

    Columns keep the file's header names; `usecols` limits parsing to the columns needed.
    """
    size = max(path.stat().st_size, 1)
    chunks = []
    try:
        with open(path, "rb") as raw:
            kwargs = _read_kwargs(fmt)
            reader = pd.read_csv(
                raw,
                usecols=list(usecols) if usecols is not None else None,
                chunksize=CHUNK_ROWS,
                **kwargs,
            )
            with reader:
                for chunk in reader:
                    chunks.append(chunk)
                    if on_progress is not None:
                        on_progress(min(raw.tell() / size, 1.0))
    except UnicodeDecodeError:
        if fmt.encoding in ("utf-8", "utf-8-sig"):
            # Valid UTF-8 at the start but not further on: an ANSI (cp1252) export.
            ansi = CsvFormat("cp1252", fmt.delimiter, fmt.skip_rows)
            return read_columns(path, ansi, usecols, on_progress)
        raise _parse_error(path, ValueError("invalid characters for its encoding")) from None
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeError, ValueError) as exc:
        raise _parse_error(path, exc) from exc
    if not chunks:
        return pd.DataFrame()
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    return frame

