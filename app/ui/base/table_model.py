"""What the three table models share: fixed columns with a title and a tooltip each."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex


class HeaderedTableModel(QAbstractTableModel):
    """A flat table whose columns are `headers`, with `header_tips` as their tooltips."""

    headers: tuple[str, ...] = ()
    header_tips: tuple[str, ...] = ()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return self.headers[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.header_tips[section]
        return None


def accessible_text(model: QAbstractTableModel, index: Index) -> str:
    """A cell's name for a screen reader: its text, or "empty" (a blank cell had no name)."""
    text = model.data(index, Qt.ItemDataRole.DisplayRole)
    return str(text) if text not in (None, "") else "empty"
