"""Editors for the mapping grid: value, group and match kind."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QSize, QStringListModel, Qt, QTimer
from PySide6.QtGui import QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QComboBox,
    QCompleter,
    QLineEdit,
    QStyledItemDelegate,
    QWidget,
)

from app.core.mapping import MatchKind
from app.ui.base.icons import icon

HINT_OF_KEY = {
    Qt.Key.Key_Tab: QAbstractItemDelegate.EndEditHint.EditNextItem,
    Qt.Key.Key_Backtab: QAbstractItemDelegate.EndEditHint.EditPreviousItem,
    Qt.Key.Key_Return: QAbstractItemDelegate.EndEditHint.SubmitModelCache,
    Qt.Key.Key_Enter: QAbstractItemDelegate.EndEditHint.SubmitModelCache,
}


class AcceptCompletion(QObject):
    """Tab, Shift+Tab and Enter in an open completion popup take the highlighted entry and end
    the edit in one press (Tab: on to the next cell of the row), instead of the popup keeping
    the key and the typed prefix being saved."""

    def __init__(self, delegate: QStyledItemDelegate, editor: QWidget,
                 completer: QCompleter) -> None:
        super().__init__(editor)
        self.delegate, self.editor, self.completer = delegate, editor, completer
        completer.popup().installEventFilter(self)  # after QCompleter's own filter: runs first

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        hint = HINT_OF_KEY.get(Qt.Key(event.key()))
        if hint is None:
            return False
        popup = self.completer.popup()
        current = popup.currentIndex()
        if current.isValid():
            text = str(current.data(self.completer.completionRole()))
            if isinstance(self.editor, QComboBox):
                self.editor.setEditText(text)
            else:
                self.editor.setText(text)
        popup.hide()
        self.delegate.commitData.emit(self.editor)
        self.delegate.closeEditor.emit(self.editor, hint)
        return True


class ValueDelegate(QStyledItemDelegate):
    """A line edit completing from the export's distinct values (substring, any case)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.values = QStringListModel(self)

    def set_values(self, values: list[str]) -> None:
        self.values.setStringList(values)

    def createEditor(self, parent: QWidget, option, index: QModelIndex) -> QWidget:
        editor = QLineEdit(parent)
        editor.setFrame(False)
        completer = QCompleter(self.values, editor)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setMaxVisibleItems(12)
        editor.setCompleter(completer)
        AcceptCompletion(self, editor, completer)
        editor.setAccessibleName("Value in Identity Provider")
        return editor

    def setEditorData(self, editor: QLineEdit, index: QModelIndex) -> None:
        editor.setText(index.data(Qt.ItemDataRole.EditRole) or "")

    def setModelData(self, editor: QLineEdit, model, index: QModelIndex) -> None:
        model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)


class GroupDelegate(QStyledItemDelegate):
    """An editable combo of the known groups; a name typed that is not listed is a new group."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.groups: list[str] = []
        self.existing: set[str] = set()  # groups that exist (export, server); others are new

    def set_groups(self, groups: list[str], existing: set[str]) -> None:
        self.groups, self.existing = groups, existing

    def createEditor(self, parent: QWidget, option, index: QModelIndex) -> QWidget:
        combo = QComboBox(parent)
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.setMaxVisibleItems(15)
        side = combo.fontMetrics().height()
        combo.setIconSize(QSize(side, side))
        new_icon, blank = icon("status-new"), QPixmap(side, side)
        blank.fill(Qt.GlobalColor.transparent)
        for name in self.groups:  # every item has an icon, so the names line up
            if name in self.existing:
                combo.addItem(QIcon(blank), name)
            else:
                combo.addItem(new_icon, name)
                combo.setItemData(combo.count() - 1, "New group: created by the sync",
                                  Qt.ItemDataRole.ToolTipRole)
        completer = combo.completer()
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        AcceptCompletion(self, combo, completer)
        combo.activated.connect(lambda _: self._picked(combo))
        combo.setAccessibleName("Group")
        combo.setToolTip("Pick a group, or type a new name to create it")
        return combo

    def _picked(self, combo: QComboBox) -> None:
        """A group chosen in the list ends the edit: no second Enter."""
        self.commitData.emit(combo)
        self.closeEditor.emit(combo, QAbstractItemDelegate.EndEditHint.SubmitModelCache)

    def eventFilter(self, editor: QObject, event: QEvent) -> bool:
        """Up and Down open the list instead of silently changing the cell's group."""
        if (event.type() == QEvent.Type.KeyPress and isinstance(editor, QComboBox)
                and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up)
                and not event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            editor.showPopup()
            return True
        return super().eventFilter(editor, event)

    def setEditorData(self, editor: QComboBox, index: QModelIndex) -> None:
        text = index.data(Qt.ItemDataRole.EditRole) or ""
        # Select the listed item too, so the popup opens on the cell's group, not the first one.
        editor.setCurrentIndex(editor.findText(text))  # exact, case-sensitive
        editor.setEditText(text)
        editor.lineEdit().selectAll()

    def setModelData(self, editor: QComboBox, model, index: QModelIndex) -> None:
        model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)


class MatchDelegate(QStyledItemDelegate):
    """A combo of the match kinds whose list opens at once. F2 or Space opens it, the arrows
    move and Enter applies (as a click does); a letter typed on the cell picks the kind it
    starts (e for equals, p for pattern); Escape leaves the kind as it was."""

    def createEditor(self, parent: QWidget, option, index: QModelIndex) -> QWidget:
        combo = QComboBox(parent)
        for kind in MatchKind:
            combo.addItem(kind.value, kind.value)
            combo.setItemData(combo.count() - 1, MATCH_TIPS[kind], Qt.ItemDataRole.ToolTipRole)
        combo.setAccessibleName("Match")
        combo.setToolTip("How this row's value is compared with the export's values")
        combo.activated.connect(lambda _: self._commit(combo))
        return combo

    def _commit(self, combo: QComboBox) -> None:
        self.commitData.emit(combo)
        self.closeEditor.emit(combo, QStyledItemDelegate.EndEditHint.SubmitModelCache)

    def setEditorData(self, editor: QComboBox, index: QModelIndex) -> None:
        editor.setCurrentIndex(max(editor.findData(index.data(Qt.ItemDataRole.EditRole)), 0))
        # Open the list once the editor is shown, unless a typed letter already chose a kind.
        QTimer.singleShot(0, editor, lambda: editor.showPopup() if editor.isVisible() else None)

    def setModelData(self, editor: QComboBox, model, index: QModelIndex) -> None:
        model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


MATCH_TIPS = {
    MatchKind.EQUALS: "The whole value is the row's text",
    MatchKind.STARTS_WITH: "The value begins with the row's text",
    MatchKind.ENDS_WITH: "The value ends with the row's text",
    MatchKind.CONTAINS: "The row's text appears anywhere in the value",
    MatchKind.PATTERN: "A regular expression (Python syntax) that matches the whole value",
}
