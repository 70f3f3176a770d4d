"""The main window's layout across sessions: geometry, dock state and splitters (QSettings).

A first start (nothing saved yet) fits the window to the screen and sizes the main split so
the grid shows every column, once the window has its real width and again when the start
page gives way to the first export's preview.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSettings, QTimer
from PySide6.QtWidgets import QMainWindow, QSplitter


class WindowLayout:
    """Saves and restores one window's layout; `shown()` and `export_opened()` are its hooks."""

    def __init__(self, window: QMainWindow, settings: QSettings, splitter: QSplitter,
                 preview_splitter: QSplitter, grid_width: Callable[[], int]) -> None:
        self.window = window
        self.settings = settings
        self.splitter = splitter
        self._splitters = {"mainSplitter": splitter, "previewSplitter": preview_splitter}
        self._grid_width = grid_width  # the width the grid needs for all its columns
        self._fit_on_show = False
        self._fit_on_export = False

    def restore(self) -> None:
        window = self.window
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            window.restoreGeometry(geometry)
        else:  # first start: 1280x800, or what fits the screen with the window's frame
            from app.ui.base.screen_fit import first_geometry

            window.setGeometry(first_geometry(window.screen().availableGeometry()))
        for key, widget in self._splitters.items():
            state = self.settings.value(f"window/{key}")
            if isinstance(state, QByteArray):
                widget.restoreState(state)
            elif key == "mainSplitter":  # first start: the grid shows every column, Status too
                self._fit_on_show = True  # once the window has its real width
                self._fit_on_export = True  # and again when the start page gives way
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            window.restoreState(state)

    def shown(self) -> None:
        """The window's showEvent: a first start sizes the split once the width is known."""
        if self._fit_on_show:
            self._fit_on_show = False
            QTimer.singleShot(0, self.window, self.fit_main_splitter)

    def export_opened(self) -> None:
        """The first export of a first start: size the split for the preview, not the start
        page (which needs more width)."""
        if self._fit_on_export and self.window.isVisible():
            self._fit_on_export = False
            QTimer.singleShot(0, self.window, self.fit_main_splitter)

    def fit_main_splitter(self) -> None:
        """The grid wide enough for all its columns (Status included), the preview the rest."""
        total = max(self.splitter.width() - self.splitter.handleWidth(), 1)
        left = min(max(self._grid_width() + 16, total * 4 // 9), total * 2 // 3)
        self.splitter.setSizes([left, total - left])

    def save(self) -> None:
        self.settings.setValue("window/geometry", self.window.saveGeometry())
        self.settings.setValue("window/state", self.window.saveState())
        for key, widget in self._splitters.items():
            self.settings.setValue(f"window/{key}", widget.saveState())
        self.settings.sync()
