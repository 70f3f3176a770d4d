"""Writing tables to .csv or .xlsx, safe against formula injection, always atomically.

Other areas (the SCIM sync report, the plan export) reuse `write_table`/`write_workbook`.
In CSV every risky cell gets a leading quote (`safe_cell`); in .xlsx every text is written
with `write_string`, so it is a string cell that Excel and LibreOffice never evaluate.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException

from app.core.errors import InputError
from app.io.atomic import atomic_path, cannot_save, check_writable
from app.io.cells import safe_cell, safe_series

Progress = Callable[[float], None]
MIN_WIDTH, MAX_WIDTH, WIDTH_SAMPLE = 8, 60, 2000
WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}


def write_table(
    path: str | Path,
    frame: pd.DataFrame,
    sheet_name: str = "Sheet1",
    progress: Progress | None = None,
) -> None:
    """Write one table: .csv (UTF-8 with BOM, so Excel shows accents) or .xlsx."""
    path = Path(path)
    if output_kind(path) == "csv":
        write_csv(path, frame)
        if progress is not None:
            progress(1.0)
    else:
        write_workbook(path, {sheet_name: frame}, progress)


def output_kind(path: Path) -> str:
    """ "csv" or "xlsx" from the name; InputError for any other (a .pdf is never written)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    raise InputError(f"{path.name}: can only save as .csv or .xlsx; choose one of those.")


def check_output(path: str | Path, inputs: Iterable[str | Path] = (), table: bool = True) -> None:
    """Before any work: refuse a type GroupMap cannot write (for a `table`), a file that is one
    of the inputs (`refuse_input`), a link, pipe or device, or a folder it cannot write in."""
    if table:
        output_kind(Path(path))
    refuse_input(path, inputs)
    refuse_special(Path(path))
    check_writable(path)


def refuse_folder_name(path: str) -> None:
    """`out/x.csv/` (or `out/x.csv/.`) names a folder, but a Path drops the ending and would
    write the file `out/x.csv`: refused while the name is still as typed."""
    separators = os.sep + (os.altsep or "")
    last = path
    for separator in separators:
        last = last.rsplit(separator, 1)[-1]
    if path and last in ("", "."):
        found = re.search(f"(?:[{re.escape(separators)}]+\\.?)+$", path)
        meant = path[: found.start()] if found else ""
        example = meant if Path(meant).suffix else os.path.join(meant, "report.csv")
        raise InputError(
            f"{path!r} ends with {path[len(meant):]!r}, so it names a folder, not a file; "
            f"nothing was read or written. Give the file's name, e.g. {example}"
        )


def refuse_special(path: Path) -> None:
    """An output is written as a new regular file put in place of the name: a link would be
    replaced (its target untouched, the new file taking its name), and a pipe or device would
    stop being one, so neither is ever an output."""
    if path.is_symlink():
        raise InputError(
            f"{path}: is a link (to {os.readlink(path)}), not a file; nothing was written. Give "
            "the path of a regular file, or of one to create."
        )
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "a pipe or device"
        raise InputError(
            f"{path}: is {kind}, not a file; nothing was written. Give the path of a regular "
            "file, or of one to create."
        )


def refuse_input(path: str | Path, inputs: Iterable[str | Path]) -> None:
    """An output must not overwrite an input: the same file by another name, through a link
    (same device and inode), or the same path once links are resolved."""
    for source in inputs:
        if _same_file(Path(path), Path(source)):
            raise InputError(
                f"{path}: is the same file as the input {source}, which writing would destroy;"
                " nothing was read or written. Choose another output file."
            )


def _same_file(output: Path, source: Path) -> bool:
    try:
        return os.path.samefile(output, source)
    except OSError:  # one of them does not exist (yet): compare where the names lead
        return output.resolve() == source.resolve()


def _text_column(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def write_csv(path: str | Path, frame: pd.DataFrame) -> None:
    """CSV with header; text cells made formula-safe."""
    safe = frame.copy()
    for column in safe.columns:
        if _text_column(safe[column]):
            safe[column] = safe_series(safe[column].fillna("").astype(str))
    safe.columns = [safe_cell(str(c)) for c in safe.columns]
    with atomic_path(path) as tmp:
        safe.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")


def column_widths(frame: pd.DataFrame) -> list[int]:
    """Widths from the header and a sample of the cells, within sensible bounds."""
    widths = []
    for column in frame.columns:
        sample = frame[column].head(WIDTH_SAMPLE).astype(str).str.len()
        longest = max(len(str(column)), int(sample.max()) if len(sample) else 0)
        widths.append(max(MIN_WIDTH, min(MAX_WIDTH, longest + 2)))
    return widths


def write_workbook(
    path: str | Path,
    sheets: dict[str, pd.DataFrame],
    progress: Progress | None = None,
) -> None:
    """One sheet per table: bold frozen header row, autofilter, fitted column widths.

    xlsxwriter zips into memory and its part files go to a private temporary folder, removed
    whatever happens; only then is the file written, atomically. So its own errors (a full
    disk while zipping is a FileCreateError, not an OSError) never leave a file open or half
    written, and every failure is the one-line save message.
    """
    path = Path(path)
    if output_kind(path) != "xlsx":
        raise InputError(f"{path.name}: a workbook is saved as .xlsx; choose that extension.")
    total = max(sum(len(frame) for frame in sheets.values()), 1)
    done = 0
    zipped = _Memory()
    try:
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as parts:
            workbook = xlsxwriter.Workbook(zipped, {**WORKBOOK_OPTIONS, "tmpdir": parts})
            header_format = workbook.add_format({"bold": True})
            for name, frame in sheets.items():
                done = _write_sheet(workbook, name, frame, header_format, progress, done, total)
            workbook.close()
    except XlsxWriterException as exc:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
        if cause is None:
            raise InputError(f"{path.name}: cannot save the workbook ({exc}).") from exc
        raise cannot_save(path, cause, tempfile.gettempdir()) from exc
    except OSError as exc:
        raise cannot_save(path, exc, tempfile.gettempdir()) from exc
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(zipped.getbuffer())
    if progress is not None:
        progress(1.0)


class _Memory(io.BytesIO):
    """The zip in memory. Never closed: when a part file fails, xlsxwriter leaves its zip open
    and closes it whenever it is collected, which must not fail then (a traceback at exit)."""

    def close(self) -> None:
        pass


def _sheet_name(workbook: xlsxwriter.Workbook, name: str) -> str:
    """A name Excel accepts: no []:*?/\\, at most 31 characters, unique in the workbook."""
    clean = "".join("_" if char in "[]:*?/\\" else char for char in name).strip("'")[:31]
    clean = clean or "Sheet"
    taken = {sheet.name.casefold() for sheet in workbook.worksheets()}
    candidate, number = clean, 2
    while candidate.casefold() in taken:
        suffix = f" ({number})"
        candidate, number = clean[: 31 - len(suffix)] + suffix, number + 1
    return candidate


def _write_sheet(
    workbook: xlsxwriter.Workbook,
    name: str,
    frame: pd.DataFrame,
    header_format: object,
    progress: Progress | None,
    done: int,
    total: int,
) -> int:
    sheet = workbook.add_worksheet(_sheet_name(workbook, name))
    for col, width in enumerate(column_widths(frame)):
        sheet.set_column(col, col, width)
    for col, header in enumerate(frame.columns):
        sheet.write_string(0, col, str(header), header_format)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(frame), 1), max(len(frame.columns) - 1, 0))
    writers = []
    columns = []
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series):
            writers.append(sheet.write_boolean)
            columns.append(series.to_numpy(dtype=bool).tolist())
        elif pd.api.types.is_numeric_dtype(series):
            writers.append(sheet.write_number)
            columns.append(series.to_numpy().tolist())
        elif series.map(_is_number).any():  # a mixed column (Item/Value): numbers as numbers
            writers.append(partial(_write_mixed, sheet))
            columns.append(series.fillna("").to_numpy(dtype=object).tolist())
        else:
            writers.append(sheet.write_string)
            columns.append(series.fillna("").astype(str).to_numpy(dtype=object).tolist())
    step = max(total // 100, 1000)
    for r, row in enumerate(zip(*columns, strict=True), start=1):
        for c, value in enumerate(row):
            if value != "" and value == value:  # skip blanks and NaN: an empty cell
                writers[c](r, c, value)
        if progress is not None and r % step == 0:
            progress(min((done + r) / total, 0.99))
    return done + len(frame)



def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_)


def _write_mixed(sheet: xlsxwriter.worksheet.Worksheet, row: int, col: int, value: object) -> None:
    """A cell of a mixed column: a number as a number (sums and sorting work), else text."""
    if _is_number(value):
        sheet.write_number(row, col, float(value))  # type: ignore[arg-type]
    else:
        sheet.write_string(row, col, str(value))
