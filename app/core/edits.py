"""Pure edits of the mapping rows (no Qt): each returns the new rows and the rows to select.

The grid's undo commands are built from these, so every edit is testable without a window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from app.core.engine import Evaluation
from app.core.mapping import MappingRow, MatchKind, match_kind
from app.core.warnings import Warning

Rows = tuple[MappingRow, ...]
EDITABLE = ("value", "group")  # the grid columns that hold text, left to right


def set_cell(rows: Rows, row: int, field: str, text: str) -> Rows:
    """Set value or group of a row; writing past the end appends a row (the grid's blank line)."""
    rows = _padded(rows, row + 1)
    changes: dict[str, Any] = {field: text}
    updated = replace(rows[row], **changes)  # the row keeps its match kind
    return rows[:row] + (updated,) + rows[row + 1 :]


def set_kind(rows: Rows, row: int, kind: MatchKind) -> Rows:
    """Set a row's match kind; writing past the end appends a row (the grid's blank line)."""
    rows = _padded(rows, row + 1)
    return rows[:row] + (replace(rows[row], kind=MatchKind(kind)),) + rows[row + 1 :]


def clear_cells(rows: Rows, selected: Sequence[int], fields: Sequence[str]) -> Rows:
    """Blank the given fields of the selected rows (the rows stay, like a spreadsheet's Delete)."""
    updated = list(rows)
    for i in set(selected):
        if i < len(rows):
            blank: dict[str, Any] = {f: MatchKind.EQUALS if f == "kind" else "" for f in fields}
            updated[i] = replace(rows[i], **blank)
    return tuple(updated)


def insert_rows(rows: Rows, at: int, new: Sequence[MappingRow]) -> tuple[Rows, list[int]]:
    at = max(0, min(at, len(rows)))
    return rows[:at] + tuple(new) + rows[at:], list(range(at, at + len(new)))


def delete_rows(rows: Rows, selected: Sequence[int]) -> tuple[Rows, list[int]]:
    drop = set(selected)
    kept = tuple(r for i, r in enumerate(rows) if i not in drop)
    first = min(drop) if drop else 0
    return kept, [min(first, len(kept) - 1)] if kept else []


def duplicate_rows(rows: Rows, selected: Sequence[int]) -> tuple[Rows, list[int]]:
    """Copies of the selected rows, inserted right after the last one."""
    chosen = sorted(set(i for i in selected if i < len(rows)))
    if not chosen:
        return rows, []
    return insert_rows(rows, chosen[-1] + 1, [rows[i] for i in chosen])


def move_rows(rows: Rows, selected: Sequence[int], target: int) -> tuple[Rows, list[int]]:
    """Move the selected rows (kept in order) so they start where row `target` was."""
    chosen = sorted(set(i for i in selected if i < len(rows)))
    if not chosen:
        return rows, []
    moving = [rows[i] for i in chosen]
    rest = [r for i, r in enumerate(rows) if i not in set(chosen)]
    at = target - sum(1 for i in chosen if i < target)
    at = max(0, min(at, len(rest)))
    return tuple(rest[:at] + moving + rest[at:]), list(range(at, at + len(moving)))


def shift_rows(rows: Rows, selected: Sequence[int], step: int) -> tuple[Rows, list[int]]:
    """Move the selected block one row up (step -1) or down (step 1)."""
    chosen = sorted(set(i for i in selected if i < len(rows)))
    if not chosen:
        return rows, []
    if step < 0:
        return move_rows(rows, chosen, max(chosen[0] - 1, 0))
    return move_rows(rows, chosen, min(chosen[-1] + 2, len(rows)))


def parse_block(text: str) -> list[list[str]]:
    """Tab-separated text from Excel or Google Sheets: lines of cells, trailing blank line dropped.

    A cell Excel quoted (because it held a tab or a newline) has its quotes removed.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    block = []
    for line in lines:
        cells = []
        for cell in line.split("\t"):
            if len(cell) >= 2 and cell[0] == cell[-1] == '"':
                cell = cell[1:-1].replace('""', '"')
            cells.append(cell)
        block.append(cells)
    return block


def is_header(cells: Sequence[str]) -> bool:
    """A pasted first line that names the columns instead of holding a mapping."""
    first = cells[0].strip().casefold() if cells else ""
    return first.startswith("value") or first in ("identity provider group", "source value")


def paste_block(
    rows: Rows, top: int, field: str, block: list[list[str]]
) -> tuple[Rows, list[int]]:
    """Paste cells starting at (top, field); a two-column block at the value column fills both,
    and a third cell naming a match kind (as a mapping file's Match column) sets the kind."""
    if block and is_header(block[0]):
        block = block[1:]
    if not block:
        return rows, []
    start = EDITABLE.index(field)
    rows = _padded(rows, top + len(block))
    updated = list(rows)
    for offset, cells in enumerate(block):
        row = updated[top + offset]
        values = [row.value, row.group]
        for k, cell in enumerate(cells[: len(EDITABLE) - start]):
            values[start + k] = cell.strip()
        kind = match_kind(cells[2]) if start == 0 and len(cells) > 2 else None
        updated[top + offset] = replace(row, value=values[0], group=values[1],
                                        kind=kind or row.kind)
    return tuple(updated), list(range(top, top + len(block)))


def block_text(rows: Rows, selected_rows: Sequence[int], fields: Sequence[str]) -> str:
    """The selected cells as tab-separated lines, ready for Excel or Google Sheets (fields:
    "value", "group" and "kind", in that order, as in a mapping file). Like a mapping file,
    rows that are all equals are copied without their kind, as Calendly's two columns."""
    chosen = [i for i in sorted(set(selected_rows)) if i < len(rows)]
    if len(fields) > 1 and all(rows[i].kind == MatchKind.EQUALS for i in chosen):
        fields = [f for f in fields if f != "kind"]
    lines = ["\t".join(getattr(rows[i], f) for f in fields) for i in chosen]
    return "\n".join(lines) + ("\n" if lines else "")


def unmapped_rows(evaluation: Evaluation, warnings: Sequence[Warning] = ()) -> list[MappingRow]:
    """One row per export value no row matches, most users first. The Group is left empty for
    the admin to pick (never a new group per value), or is the group of the row the value is a
    near-miss of."""
    rows = evaluation.mapping.rows
    near = {w.value: rows[w.row - 1].group.strip() for w in warnings
            if w.code == "near_miss" and w.row is not None and w.row <= len(rows)}
    return [MappingRow(value, near.get(value, "")) for value, _ in evaluation.unmatched_values()]


def _padded(rows: Rows, length: int) -> Rows:
    if len(rows) >= length:
        return rows
    return rows + tuple(MappingRow("", "") for _ in range(length - len(rows)))
