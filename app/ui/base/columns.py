"""A table column that fills the free width but never shrinks below a readable minimum.

QHeaderView's Stretch mode squeezes its column to a few pixels when the fixed-width columns
do not fit (the mapping grid's values and the summary's group names turned into "…" in a
960-px window). Here the column takes what is left, at least `minimum`; below that the
table scrolls sideways instead.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QHeaderView, QTableView


class FillColumn(QObject):
    def __init__(self, table: QTableView, column: int, minimum: int) -> None:
        super().__init__(table)
        self.table, self.column, self.minimum = table, column, minimum
        header = table.horizontalHeader()
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.sectionResized.connect(self._other_resized)
        table.viewport().installEventFilter(self)
        self.fit()

    def fit(self) -> None:
        header = self.table.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(header.count())
                     if c != self.column and not header.isSectionHidden(c))
        width = max(self.minimum, self.table.viewport().width() - others)
        if header.sectionSize(self.column) != width:
            header.resizeSection(self.column, width)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def _other_resized(self, column: int, _old: int, _new: int) -> None:
        if column != self.column:
            self.fit()
