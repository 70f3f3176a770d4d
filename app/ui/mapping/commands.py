"""Every change to the mapping goes through one undoable command holding before and after.

Mappings are small frozen values, so a command stores whole snapshots: undo of a paste, a
reorder or an option change is as exact as undo of a single cell.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.core import edits
from app.core.mapping import Expectation, Mapping, MappingRow, MatchKind
from app.ui.base.document import Document


class MappingCommand(QUndoCommand):
    def __init__(
        self,
        editor: MappingEditor,
        before: Mapping,
        after: Mapping,
        text: str,
        select_before: Sequence[int],
        select_after: Sequence[int],
    ) -> None:
        super().__init__(text)
        self._editor = editor
        self._before, self._after = before, after
        self._select_before, self._select_after = list(select_before), list(select_after)

    def redo(self) -> None:
        self._editor._apply(self._after, self._select_after)

    def undo(self) -> None:
        self._editor._apply(self._before, self._select_before)


class MappingEditor(QObject):
    """The one place the UI changes the mapping: builds commands and pushes them on the stack."""

    selectRows = Signal(list)  # rows to select after a command ran (done or undone)

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.stack = QUndoStack(self)
        self.stack.cleanChanged.connect(self._clean_changed)
        self.selection: list[int] = []  # the grid keeps this current; used as "select before"

    # --- plumbing ------------------------------------------------------------------------

    def push(self, after: Mapping, text: str, select: Sequence[int] = ()) -> None:
        before = self.document.mapping
        if after == before:
            return
        self.stack.push(MappingCommand(self, before, after, text, self.selection, select))

    def _apply(self, mapping: Mapping, select: list[int]) -> None:
        self.document.set_mapping(mapping)
        self.selectRows.emit(select)

    def _clean_changed(self, clean: bool) -> None:
        self.document.dirty = not clean

    def reset(self, mapping: Mapping) -> None:
        """A fresh mapping (new or opened draft): no undo history, not dirty."""
        self.stack.clear()
        self.document.set_mapping(mapping, dirty=False)
        self.document.dirty = False
        self.stack.setClean()

    def mark_saved(self) -> None:
        self.stack.setClean()
        self.document.dirty = False

    @property
    def rows(self) -> tuple[MappingRow, ...]:
        return self.document.mapping.rows

    def _push_rows(self, rows: edits.Rows, text: str, select: Sequence[int]) -> None:
        self.push(self.document.mapping.with_rows(rows), text, select)

    # --- edits ---------------------------------------------------------------------------

    def set_cell(self, row: int, field: str, text: str) -> None:
        if row < len(self.rows) and getattr(self.rows[row], field) == text:
            return
        label = "value" if field == "value" else "group"
        self._push_rows(edits.set_cell(self.rows, row, field, text), f"Edit {label}", [row])

    def set_kind(self, row: int, kind: MatchKind) -> None:
        if row < len(self.rows) and self.rows[row].kind == kind:
            return
        self._push_rows(edits.set_kind(self.rows, row, kind), "Change match", [row])

    def set_expectations(self, expectations: Sequence[Expectation], text: str) -> None:
        """Replace the expectations (one undoable command, like a row edit)."""
        self.push(self.document.mapping.with_expectations(tuple(expectations)), text,
                  self.selection)

    def add_row(self, at: int | None = None) -> None:
        at = len(self.rows) if at is None else at
        rows, select = edits.insert_rows(self.rows, at, [MappingRow("", "")])
        self._push_rows(rows, "Add row", select)

    def insert(self, at: int, new: Sequence[MappingRow], text: str) -> None:
        if new:
            rows, select = edits.insert_rows(self.rows, at, new)
            self._push_rows(rows, text, select)

    def delete(self, selected: Sequence[int]) -> None:
        rows, select = edits.delete_rows(self.rows, [i for i in selected if i < len(self.rows)])
        n = len(self.rows) - len(rows)
        self._push_rows(rows, f"Delete {n} row" + ("" if n == 1 else "s"), select)

    def duplicate(self, selected: Sequence[int]) -> None:
        rows, select = edits.duplicate_rows(self.rows, selected)
        self._push_rows(rows, "Duplicate rows", select)

    def move(self, selected: Sequence[int], target: int) -> None:
        rows, select = edits.move_rows(self.rows, selected, target)
        self._push_rows(rows, "Move rows", select)

    def shift(self, selected: Sequence[int], step: int) -> None:
        rows, select = edits.shift_rows(self.rows, selected, step)
        self._push_rows(rows, "Move up" if step < 0 else "Move down", select)

    def paste(self, top: int, field: str, text: str) -> None:
        rows, select = edits.paste_block(self.rows, top, field, edits.parse_block(text))
        self._push_rows(rows, "Paste", select)

    def clear(self, selected: Sequence[int], fields: Sequence[str]) -> None:
        self._push_rows(edits.clear_cells(self.rows, selected, fields), "Clear cells", selected)

    def unmapped_rows(self) -> list[MappingRow]:
        """The rows "Add Rows for Unmapped Values" would append (Group empty or a near-miss's)."""
        evaluation = self.document.evaluation
        return edits.unmapped_rows(evaluation, self.document.warnings) if evaluation else []

    def add_unmapped(self) -> int:
        """Append a row per export value no row matches, as one undo step; returns how many."""
        new = self.unmapped_rows()
        self.insert(len(self.rows), new, f"Add {len(new)} rows for unmapped values")
        return len(new)

    def set_option(self, name: str, value: object, text: str) -> None:
        self.push(self.document.mapping.with_options(**{name: value}), text, self.selection)
