"""The per-group summary of the preview: before, after, added, removed, new, and a bar.

Small (one row per group), so it keeps a plain list and sorts it itself.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt

from app.core.engine import Evaluation, GroupSummary
from app.ui.base.table_model import HeaderedTableModel, Index, accessible_text

NAME, BEFORE, AFTER, ADDED, REMOVED, NEW, BAR = range(7)
HEADERS = ("Group", "Before", "After", "Added", "Removed", "New", "Before → after")
TIPS = (
    "Group name (click to show its users)",
    "Members today",
    "Members after the change",
    "Users who join",
    "Users who leave",
    "The group does not exist yet",
    "Grey: members today; coloured: members after",
)
BAR_ROLE = Qt.ItemDataRole.UserRole + 1  # (before, after, largest count of any group)


def _key(column: int):
    return {
        NAME: lambda s: s.name.casefold(),
        BEFORE: lambda s: s.before,
        AFTER: lambda s: s.after,
        ADDED: lambda s: s.added,
        REMOVED: lambda s: s.removed,
        NEW: lambda s: s.new,
        BAR: lambda s: s.after - s.before,
    }[column]


class SummaryModel(HeaderedTableModel):
    headers = HEADERS
    header_tips = TIPS

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[GroupSummary] = []
        self._largest = 1
        self._sort = (NAME, Qt.SortOrder.AscendingOrder)

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        rows = evaluation.group_summaries() if evaluation is not None else []
        rows = self._sorted(rows)
        same_names = [r.name for r in rows] == [r.name for r in self._rows]
        self._largest = max([1] + [max(r.before, r.after) for r in rows])
        if same_names:
            self._rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, BAR))
        else:
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()

    def group(self, row: int) -> str:
        return self._rows[row].name

    def row_of(self, name: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.name == name), -1)

    def _sorted(self, rows: list[GroupSummary]) -> list[GroupSummary]:
        column, order = self._sort
        return sorted(rows, key=_key(column), reverse=order == Qt.SortOrder.DescendingOrder)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._rows = self._sorted(self._rows)
        self.layoutChanged.emit()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        s, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{s.before:,} → {s.after:,}" if col == BAR else accessible_text(self, index)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == NAME:
                return s.name
            if col == NEW:
                return "new" if s.new else ""
            if col == ADDED:
                return f"+{s.added:,}" if s.added else "0"
            if col == REMOVED:
                return f"−{s.removed:,}" if s.removed else "0"
            if col == BAR:
                return None
            return f"{(s.before, s.after)[col - BEFORE]:,}"
        if role == BAR_ROLE and col == BAR:
            return (s.before, s.after, self._largest)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (BEFORE, AFTER, ADDED, REMOVED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == NEW:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            managed = "managed by this mapping" if s.managed else "not managed: never changes"
            return (
                f"{s.name}: {s.before:,} → {s.after:,} (+{s.added:,} / −{s.removed:,}), {managed}"
            )
        return None
