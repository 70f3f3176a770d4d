"""Small and large screens: the first window fits the screen, the toolbar turns compact when
narrow, the users table puts Change and Reason first when it cannot show every column, and
columns take their content's width (up to a limit) on first show."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt
from PySide6.QtGui import QAction, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

FIRST_SIZE = QSize(1280, 800)
LARGE_SHARE = 0.85  # of a screen larger than FIRST_SIZE allows
FRAME_ALLOWANCE = QSize(16, 48)  # title bar and borders the window manager adds
COLUMN_LIMIT = 360  # px: a column sized to its content never grows wider than this
STRETCHED_MINIMUM = 160  # px: a stretched last column is readable from this width


def first_geometry(available: QRect) -> QRect:
    """The first window: FIRST_SIZE or LARGE_SHARE of a large screen (room for every users
    column at 1920), never more than fits the available screen with its frame."""
    width = min(max(FIRST_SIZE.width(), round(available.width() * LARGE_SHARE)),
                available.width() - FRAME_ALLOWANCE.width())
    height = min(max(FIRST_SIZE.height(), round(available.height() * LARGE_SHARE)),
                 available.height() - FRAME_ALLOWANCE.height())
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    rect.moveTop(max(available.top() + FRAME_ALLOWANCE.height() - 16, rect.top()))
    return rect


class ElidingLabel(QLabel):
    """The toolbar's connection label, shortened when it is given less than its text's width:
    the "Server: " prefix goes first, then the name ends in "…"; the state after " · "
    ("connected", "not reachable") always shows."""

    def minimumSizeHint(self) -> QSize:
        return QSize(40, super().minimumSizeHint().height())

    def shown_text(self, width: int) -> str:
        metrics, text = self.fontMetrics(), self.text()
        if metrics.horizontalAdvance(text) <= width:
            return text
        name, sep, state = text.rpartition(" · ")
        if not sep:
            name, state = text, ""
        name = name.removeprefix("Server: ")
        suffix = f"{sep}{state}"
        room = max(width - metrics.horizontalAdvance(suffix), 0)
        return metrics.elidedText(name, Qt.TextElideMode.ElideRight, room) + suffix

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.shown_text(rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                         text)


class CompactToolbar(QObject):
    """When the toolbar would overflow, the `secondary` actions' buttons drop their text, the
    server actions use short names and the connection label is elided, so Connect, Refresh and
    Preview changes stay on screen."""

    SHORT = {"&Refresh from server": "Refresh", "&Preview changes…": "Preview…"}
    LABEL_WIDTH = 150  # px for the connection label in compact mode (full text in its tooltip)

    def __init__(self, toolbar: QToolBar, secondary: list[QAction]) -> None:
        super().__init__(toolbar)
        self.toolbar, self.secondary = toolbar, secondary
        self.compact = False
        self._fitted: tuple = ()
        toolbar.installEventFilter(self)

    def buttons(self) -> list[QToolButton]:
        found = [self.toolbar.widgetForAction(a) for a in self.secondary]
        return [b for b in found if isinstance(b, QToolButton)]

    def set_compact(self, compact: bool) -> None:
        self.compact = compact
        style = (Qt.ToolButtonStyle.ToolButtonIconOnly if compact
                 else Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for button in self.buttons():
            button.setToolButtonStyle(style)
        for action in self.toolbar.actions():
            short = self.SHORT.get(action.text())
            if short:
                action.setIconText(short if compact else action.text().replace("&", ""))
            widget = self.toolbar.widgetForAction(action)
            if isinstance(widget, ElidingLabel):
                widget.setMaximumWidth(self.LABEL_WIDTH if compact else 16_777_215)

    def full_width(self) -> int:
        """The width every button and label needs as shown now."""
        total = 0
        for action in self.toolbar.actions():
            widget = self.toolbar.widgetForAction(action)
            if widget is not None and action.isVisible():
                total += widget.sizeHint().width() + self.toolbar.layout().spacing()
        return total + 2 * self.toolbar.layout().contentsMargins().left() + 24

    def fit(self) -> None:
        """Compact below the width measured with every label shown (measured uncompacted)."""
        self._fitted = self._fingerprint()
        if self.compact:
            self.set_compact(False)  # measure with every label shown
        self.set_compact(self.full_width() > self.toolbar.width())

    def _fingerprint(self) -> tuple:
        """What decides the fit: the width and the texts (our own restyling changes neither)."""
        labels = tuple(w.text() for w in self.toolbar.findChildren(QLabel))
        actions = tuple((a.text(), a.isVisible()) for a in self.toolbar.actions())
        return self.toolbar.width(), labels, actions

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Resize or (
                kind == QEvent.Type.LayoutRequest and self._fingerprint() != self._fitted):
            self.fit()  # resized, or a label changed ("Server: … · connected")
        return False


def fit_columns_to_content(table: QTableView, limit: int = COLUMN_LIMIT) -> None:
    """Each visible column as wide as its header and the rows on screen need, at most `limit`
    (reads only the visible rows: cheap with a million users)."""
    header = table.horizontalHeader()
    for column in range(header.count()):
        if header.isSectionHidden(column) or header.stretchLastSection() and (
                column == header.count() - 1):
            continue
        wanted = max(table.sizeHintForColumn(column), header.sectionSizeHint(column))
        if wanted > header.sectionSize(column):
            header.resizeSection(column, min(wanted, limit))


class PriorityColumns(QObject):
    """When the table cannot show every column, `first` move right after column 0 (Change and
    Reason beside the name); with room they go back. The header's menu hides or shows any."""

    def __init__(self, table: QTableView, first: list[int]) -> None:
        super().__init__(table)
        self.table, self.first = table, first
        self.moved = False
        header = table.horizontalHeader()
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._menu)
        header.sectionResized.connect(lambda *_: self.fit())  # hiding a column resizes it
        table.viewport().installEventFilter(self)

    def needed(self) -> int:
        """The width every shown column needs; a stretched last one counts as its minimum."""
        header = self.table.horizontalHeader()
        shown = [header.logicalIndex(v) for v in range(header.count())
                 if not header.isSectionHidden(header.logicalIndex(v))]
        stretched = shown[-1] if shown and header.stretchLastSection() else None
        return sum(STRETCHED_MINIMUM if c == stretched else header.sectionSize(c) for c in shown)

    def fit(self) -> None:
        narrow = self.needed() > self.table.viewport().width() + 1
        if narrow != self.moved:
            self.set_moved(narrow)

    def set_moved(self, moved: bool) -> None:
        header = self.table.horizontalHeader()
        self.moved = moved
        order = list(range(header.count()))
        if moved:
            order = [order[0], *self.first, *(c for c in order[1:] if c not in self.first)]
        for target, column in enumerate(order):
            header.moveSection(header.visualIndex(column), target)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def _menu(self, position) -> None:
        header = self.table.horizontalHeader()
        menu = QMenu(self.table)
        model = self.table.model()
        for column in range(header.count()):
            title = str(model.headerData(column, Qt.Orientation.Horizontal))
            action = menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(column))
            action.setEnabled(column != 0)
            action.toggled.connect(lambda on, c=column: header.setSectionHidden(c, not on))
        menu.popup(header.mapToGlobal(position))


def shown_columns(table: QTableView) -> list[int]:
    """Logical columns in their visual order, hidden ones left out (for tests)."""
    header = table.horizontalHeader()
    return [header.logicalIndex(v) for v in range(header.count())
            if not header.isSectionHidden(header.logicalIndex(v))]


class WrappingRow(QWidget):
    """A field and a strip of buttons on one line; when the line is too narrow to leave the
    field `field_width`, the strip goes to a second line (the filter box was "Fi…" at
    1024 px)."""

    def __init__(self, field: QWidget, strip: QWidget, field_width: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field, self.strip, self.field_width = field, strip, field_width
        self.field.setMinimumWidth(min(field_width, 120))
        self.top, self.bottom = QHBoxLayout(), QHBoxLayout()
        for row in (self.top, self.bottom):
            row.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self.top)
        layout.addLayout(self.bottom)
        self.top.addWidget(field, 1)
        self.top.addWidget(strip)
        self.wrapped = False
        strip.installEventFilter(self)

    def set_wrapped(self, wrapped: bool) -> None:
        if wrapped == self.wrapped:
            return
        self.wrapped = wrapped
        (self.bottom if wrapped else self.top).addWidget(self.strip)
        if wrapped:
            self.bottom.addStretch(1)
        else:
            self.bottom.takeAt(0)

    def fit(self) -> None:
        self.set_wrapped(self.width() < self.field_width + self.strip.sizeHint().width())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # a chip or Drift (2) appeared
            self.fit()
        return False

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.field.minimumWidth() + 40), hint.height())
