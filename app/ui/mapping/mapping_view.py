"""The mapping grid: table view, its actions (add, delete, duplicate, move, copy, paste)."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.edits import EDITABLE, block_text
from app.ui.base.columns import FillColumn
from app.ui.base.icons import set_icon
from app.ui.mapping.commands import MappingEditor
from app.ui.mapping.delegates import GroupDelegate, MatchDelegate, ValueDelegate
from app.ui.mapping.mapping_model import (
    FIELD_OF,
    GROUP,
    MATCH,
    PRIORITY,
    STATUS,
    USERS,
    VALUE,
    MappingModel,
)

ROW_HEIGHT_PAD = 10
SELECT_LIMIT = 1000  # rows selected after a command; beyond, only the first
ASK_ABOVE_ROWS = 10  # adding more unmapped values' rows than this asks first


class MappingTable(QTableView):
    """A table whose rows are dragged to reorder; the drop goes through the editor (undoable)."""

    rowsDropped = Signal(list, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDropIndicatorShown(True)
        self.setDragDropOverwriteMode(False)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.source() is not self:  # files from outside: let the window open them
            event.ignore()
            return
        super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if event.source() is not self:
            event.ignore()
            return
        index = self.indexAt(event.position().toPoint())
        target = index.row() if index.isValid() else self.model().rowCount() - 1
        if self.dropIndicatorPosition() == QAbstractItemView.DropIndicatorPosition.BelowItem:
            target += 1
        rows = sorted({i.row() for i in self.selectionModel().selectedIndexes()})
        event.setDropAction(Qt.DropAction.CopyAction)  # the view must not delete the source rows
        event.accept()
        self.rowsDropped.emit(rows, target)


class MappingPanel(QWidget):
    """The grid and its button row; `actions` are also put in the window's menus."""

    def __init__(self, editor: MappingEditor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.model = MappingModel(editor, self)
        self.table = MappingTable(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Mapping table")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.value_delegate = ValueDelegate(self.table)
        self.group_delegate = GroupDelegate(self.table)
        self.table.setItemDelegateForColumn(VALUE, self.value_delegate)
        self.table.setItemDelegateForColumn(GROUP, self.group_delegate)
        self.match_delegate = MatchDelegate(self.table)
        self.table.setItemDelegateForColumn(MATCH, self.match_delegate)
        vertical = self.table.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + ROW_HEIGHT_PAD)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setTextElideMode(Qt.TextElideMode.ElideRight)
        width = self.fontMetrics().horizontalAdvance
        header.resizeSection(PRIORITY, width("000") + 14)
        header.resizeSection(MATCH, width("starts with") + 34)
        header.resizeSection(GROUP, width("Engineering") + 44)
        header.resizeSection(USERS, width("000,000") + 14)
        header.resizeSection(STATUS, width("matches no user") + 34)
        self.value_column = FillColumn(self.table, VALUE, width("Customer Support") + 16)
        header.setHighlightSections(False)

        self.actions: dict[str, QAction] = {}
        self._make_actions()
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        for name in ("add", "delete", "duplicate", "up", "down", "unmapped"):
            button = QToolButton(self)
            button.setDefaultAction(self.actions[name])
            button.setAutoRaise(True)
            if name == "unmapped":
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for group in (("cut", "copy", "paste", "clear"),
                      ("add", "duplicate", "delete"), ("up", "down")):
            separator = QAction(self.table)
            separator.setSeparator(True)
            self.table.addActions([self.actions[n] for n in group] + [separator])

        self.table.rowsDropped.connect(self.editor.move)
        editor.selectRows.connect(self.select_rows)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._selection_changed)
        self._selection_changed()

    def _make_actions(self) -> None:
        specs = [
            ("add", "&Add Row", "row-add", "Ctrl+Shift+N", self.add_row,
             "Insert an empty row below the selection"),
            ("delete", "&Delete Rows", "row-delete", "Ctrl+Del", self.delete_rows,
             "Delete the selected rows"),
            ("duplicate", "Dupl&icate Rows", "row-duplicate", "Ctrl+D", self.duplicate_rows,
             "Copy the selected rows below them"),
            ("up", "M&ove Up", "row-up", "Ctrl+Shift+Up", lambda: self.shift(-1),
             "Move the selected rows up (higher priority)"),
            ("down", "Move Do&wn", "row-down", "Ctrl+Shift+Down", lambda: self.shift(1),
             "Move the selected rows down (lower priority)"),
            ("unmapped", "Add Rows for Unmapped &Values", "rows-unmapped", "Ctrl+Shift+U",
             self.add_unmapped,
             "Add a row for each export value no row matches, most users first; pick their"
             " groups (the Group cells start empty)"),
            ("copy", "&Copy", None, QKeySequence.StandardKey.Copy, self.copy,
             "Copy the selected cells as tab-separated text (pastes into Excel)"),
            ("cut", "Cu&t", None, QKeySequence.StandardKey.Cut, self.cut,
             "Copy the selected cells and clear them"),
            ("clear", "C&lear Cells", None, QKeySequence.StandardKey.Delete, self.clear,
             "Blank the selected cells"),
            ("paste", "&Paste", None, QKeySequence.StandardKey.Paste, self.paste,
             "Paste cells copied from Excel or Google Sheets at the current cell"),
        ]
        for name, text, icon_name, shortcut, slot, tip in specs:
            action = QAction(text, self)
            if icon_name:
                set_icon(action, icon_name)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({keys})" if keys else tip)
            action.setStatusTip(tip)
            action.triggered.connect(slot)
            self.addAction(action)
            self.actions[name] = action

    def needed_width(self) -> int:
        """The width showing every column, the Value column at its minimum (first layout)."""
        header = self.table.horizontalHeader()
        columns = sum(header.sectionSize(c) for c in range(header.count()) if c != VALUE)
        scrollbar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        return columns + self.value_column.minimum + scrollbar + 2 * self.table.frameWidth()

    # --- selection -----------------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        """Rows with a selected cell (the blank last line excluded)."""
        limit = len(self.editor.rows)
        rows: set[int] = set()
        for span in self.table.selectionModel().selection():  # ranges: fast for big blocks
            rows.update(range(span.top(), min(span.bottom(), limit - 1) + 1))
        return sorted(rows)

    def select_rows(self, rows: list[int]) -> None:
        if len(rows) > SELECT_LIMIT:  # Qt checks every selected cell: keep big blocks cheap
            rows = rows[:1]
        model, selection = self.model, QItemSelection()
        last = model.columnCount() - 1
        for first, final in _runs([r for r in rows if r < model.rowCount()]):
            selection.select(model.index(first, 0), model.index(final, last))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
        self.table.selectionModel().select(selection, flags)
        if rows and rows[0] < model.rowCount():
            current = self.table.currentIndex()
            column = current.column() if current.isValid() else VALUE
            self.table.selectionModel().setCurrentIndex(
                model.index(rows[0], column), QItemSelectionModel.SelectionFlag.NoUpdate)
            self.table.scrollTo(model.index(rows[0], column))

    def _selection_changed(self, *args) -> None:
        rows = self.selected_rows()
        self.editor.selection = rows
        for name in ("delete", "duplicate", "up", "down", "cut", "clear"):
            self.actions[name].setEnabled(bool(rows))
        self.actions["unmapped"].setEnabled(self.editor.document.evaluation is not None)

    # --- edits ---------------------------------------------------------------------------

    def add_row(self) -> None:
        rows = self.selected_rows()
        self.editor.add_row(rows[-1] + 1 if rows else None)
        current = self.table.currentIndex()
        if current.isValid():  # the new row's Value cell, open for typing
            index = self.model.index(current.row(), VALUE)
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)
            self.table.setCurrentIndex(index)
            self.table.scrollTo(index)
            self.table.edit(index)

    def delete_rows(self) -> None:
        self.editor.delete(self.selected_rows())

    def duplicate_rows(self) -> None:
        self.editor.duplicate(self.selected_rows())

    def shift(self, step: int) -> None:
        self.editor.shift(self.selected_rows(), step)

    def add_unmapped(self) -> int:
        """Add the unmapped values' rows (asking first when many), cursor in the first Group."""
        new = self.editor.unmapped_rows()
        if not new:
            return 0
        if len(new) > ASK_ABOVE_ROWS:
            answer = QMessageBox.question(
                self, "Add rows for unmapped values",
                f"Add {len(new):,} rows, one per export value no row matches? Their Group"
                " cells stay empty until you pick a group (one undo step removes them all).",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Yes)
            if answer != QMessageBox.StandardButton.Yes:
                return 0
        first = len(self.editor.rows)
        self.editor.add_unmapped()
        self.edit_group(first)
        return len(new)

    def edit_group(self, row: int) -> None:
        """Put the cursor in a row's Group cell and open its editor (a group to pick)."""
        index = self.model.index(row, GROUP)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
        self.table.edit(index)

    def _selected_fields(self) -> list[str]:
        columns: set[int] = set()
        for span in self.table.selectionModel().selection():
            columns.update(range(span.left(), span.right() + 1))
        fields = [FIELD_OF[c] for c in (VALUE, GROUP) if c in columns]
        fields += ["kind"] if MATCH in columns else []  # last, as a mapping file's Match column
        return fields or list(EDITABLE)

    def copy(self) -> None:
        text = block_text(self.editor.rows, self.selected_rows(), self._selected_fields())
        if text:
            QGuiApplication.clipboard().setText(text)

    def cut(self) -> None:
        self.copy()
        self.clear()

    def clear(self) -> None:
        self.editor.clear(self.selected_rows(), self._selected_fields())

    def paste(self) -> None:
        text = QGuiApplication.clipboard().text()
        if not text:
            return
        current = self.table.currentIndex()
        row = current.row() if current.isValid() else len(self.editor.rows)
        field = "group" if current.isValid() and current.column() == GROUP else "value"
        self.editor.paste(row, field, text)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted rows as (first, last) runs of consecutive numbers: one selection range each."""
    runs: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs
