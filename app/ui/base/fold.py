"""Parts that fold away to one line, so a laptop screen keeps its rows for the tables.

`FoldingSection`: a header button showing a one-line summary over a body (the Options).
`DockFold`: tabified docks (Problems, Expectations) that fold down to their tab bar; a click
on a tab, or the focus arriving inside, unfolds them.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QTabBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

UNFOLDED_HEIGHT = 150  # px: a dock's height when it unfolds for the first time


class FoldingSection(QWidget):
    """A header button ("▸ Options: …summary…") over a body it shows or hides."""

    toggled = Signal(bool)  # unfolded

    def __init__(self, title: str, body: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title, self.body = title, body
        self.header = QToolButton(self)
        self.header.setCheckable(True)
        self.header.setAutoRaise(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.header.setAccessibleName(title)
        self.header.toggled.connect(self._toggled)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(body)
        self._summary = ""
        self.set_unfolded(True)

    def set_summary(self, text: str) -> None:
        self._summary = text
        self._show_header()

    def is_unfolded(self) -> bool:
        return self.header.isChecked()

    def set_unfolded(self, unfolded: bool) -> None:
        if self.header.isChecked() != unfolded:
            self.header.setChecked(unfolded)
        else:
            self._toggled(unfolded)

    def _toggled(self, unfolded: bool) -> None:
        self.body.setVisible(unfolded)
        self.header.setArrowType(Qt.ArrowType.DownArrow if unfolded else Qt.ArrowType.RightArrow)
        self._show_header()
        self.toggled.emit(unfolded)

    def _show_header(self) -> None:
        unfolded = self.header.isChecked()
        text = self.title if unfolded else f"{self.title}: {self._summary}"
        self.header.setText(text.replace("&", "&&"))
        action = "fold" if unfolded else "show"
        self.header.setToolTip(f"{self._summary}\nClick to {action} the {self.title.lower()}")
        self.header.setAccessibleDescription(self._summary)

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setWidth(min(hint.width(), 120))  # the summary elides; never widens the column
        return hint


class DockTitle(QWidget):
    """A dock's title bar: a fold button and the dock's title (kept in step with it)."""

    def __init__(self, dock: QDockWidget, fold: DockFold) -> None:
        super().__init__(dock)
        self.button = QToolButton(self)
        self.button.setAutoRaise(True)
        self.button.setArrowType(Qt.ArrowType.DownArrow)
        self.button.setToolTip("Fold the panel down to its tabs")
        self.button.setAccessibleName(f"Fold {dock.objectName().title()} panel")
        self.button.clicked.connect(lambda: fold.set_folded(True))
        self.label = QLabel(dock.windowTitle(), self)
        dock.windowTitleChanged.connect(self.label.setText)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 1, 4, 1)
        layout.addWidget(self.button)
        layout.addWidget(self.label, 1)
        self.setAutoFillBackground(True)


class DockFold(QObject):
    """Tabified bottom docks folding together to their tab bar (their titles, with counts,
    stay readable there); a tab click or the focus entering a dock unfolds them."""

    foldedChanged = Signal(bool)

    def __init__(self, window: QMainWindow, docks: Sequence[QDockWidget]) -> None:
        super().__init__(window)
        self.window, self.docks = window, list(docks)
        self.folded = False
        self._height = UNFOLDED_HEIGHT
        self.titles = {}
        for dock in self.docks:
            self.titles[dock] = DockTitle(dock, self)
            dock.setTitleBarWidget(self.titles[dock])
        QApplication.instance().focusChanged.connect(self._focus_changed)
        QTimer.singleShot(0, self, self._watch_tabs)

    def _watch_tabs(self) -> None:
        """The main window's tab bar for tabified docks: a click on a tab unfolds."""
        for bar in self.window.findChildren(QTabBar):
            if bar.parent() is self.window and not bar.property("groupmap-fold"):
                bar.setProperty("groupmap-fold", True)
                bar.tabBarClicked.connect(lambda _: self.set_folded(False))
                bar.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show:
            self._watch_tabs()
        return False

    def set_folded(self, folded: bool) -> None:
        self._watch_tabs()
        if folded == self.folded:
            return
        if folded:
            shown = [d for d in self.docks if d.isVisible()]
            self._height = max(shown[0].height(), 80) if shown else self._height
        self.folded = folded
        for dock in self.docks:
            dock.widget().setVisible(not folded)
            self.titles[dock].setVisible(not folded)
            dock.setMaximumHeight(0 if folded else 16_777_215)
        if not folded:
            self.window.resizeDocks(self.docks[:1], [self._height], Qt.Orientation.Vertical)
        self.foldedChanged.emit(folded)

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        if self.folded and new is not None and any(d.isAncestorOf(new) for d in self.docks):
            self.set_folded(False)
