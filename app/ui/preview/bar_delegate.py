"""The summary's before/after bar: two thin bars on one scale, in the palette's colours."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.ui.base.contrast import readable
from app.ui.preview.summary_model import BAR_ROLE


def bar_colors(palette: QPalette, shrinking: bool = False) -> tuple[QColor, QColor]:
    """Before (grey) and after (the selection blue, red when the group shrinks), each at
    4.5:1 on the table's rows: a dark theme's blue on dark grey was hard to see."""
    grounds = [palette.color(QPalette.ColorRole.Base),
               palette.color(QPalette.ColorRole.AlternateBase)]
    grey = readable(palette.color(QPalette.ColorRole.PlaceholderText), grounds)
    accent = QColor("#d0393e") if shrinking else palette.color(QPalette.ColorRole.Highlight)
    return grey, readable(accent, grounds)


class BarDelegate(QStyledItemDelegate):
    """Two thin bars in a cell: before (grey) over after (highlight colour), on one scale."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().paint(painter, option, index)
        value = index.data(BAR_ROLE)
        if not value:
            return
        before, after, largest = value
        rect = option.rect.adjusted(6, 5, -6, -5)
        width = rect.width()
        half = max(rect.height() // 2 - 1, 2)
        grey, accent = bar_colors(option.palette, shrinking=after < before)
        palette = option.palette
        if option.state & QStyle.StateFlag.State_Selected:  # on the highlight: its text colour
            accent = palette.color(QPalette.ColorRole.HighlightedText)
            grey = QColor(accent)
            grey.setAlpha(140)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(grey)
        painter.drawRect(QRect(rect.left(), rect.top(), round(width * before / largest), half))
        painter.setBrush(accent)
        painter.drawRect(
            QRect(rect.left(), rect.top() + half + 2, round(width * after / largest), half)
        )
        painter.restore()
