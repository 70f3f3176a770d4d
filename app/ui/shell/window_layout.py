"""The main window's layout across sessions: geometry, dock state, splitters and folds
(QSettings).

A first start (nothing saved yet) fits the window to the screen and sizes the main split so
the grid shows every column, once the window has its real width and again when the start
page gives way to the first export's preview. A saved layout is restored only on a screen of
the size it was saved on and when it fits there; otherwise the window starts as on a first
start for this screen (a layout from a large monitor squeezed the grid to one row on a
laptop). On a short screen the Options and the Problems docks start folded.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, QRect, QSettings, QSize, QTimer
from PySide6.QtWidgets import QMainWindow, QSplitter

from app.ui.base.fold import DockFold, FoldingSection
from app.ui.base.screen_fit import first_geometry

SHORT_SCREEN = 900  # px of available height: below, Options and Problems start folded
SUMMARY_SHARE = 0.36  # of the preview's height for the group summary on a first start
SUMMARY_ROWS = 8  # and never more than these rows: the users take the rest


class WindowLayout:
    """Saves and restores one window's layout; `shown()` and `export_opened()` are its hooks."""

    def __init__(self, window: QMainWindow, settings: QSettings, splitter: QSplitter,
                 preview_splitter: QSplitter, grid_width: Callable[[], int],
                 summary_height: Callable[[int], int]) -> None:
        self.window = window
        self.settings = settings
        self.splitter = splitter
        self._splitters = {"mainSplitter": splitter, "previewSplitter": preview_splitter}
        self._grid_width = grid_width  # the width the grid needs for all its columns
        self._summary_height = summary_height  # the height the summary needs for n rows
        self._fit_on_show = False
        self._fit_on_export = False

    def restore(self, options: FoldingSection, docks: DockFold) -> None:
        """The saved layout if it suits this screen, else a first start's layout for it."""
        self._options, self._docks = options, docks
        window = self.window
        available = screen_area(window)
        geometry = self.settings.value("window/geometry")
        saved_on = self.settings.value("window/screen")
        if (isinstance(geometry, QByteArray) and saved_on == _size_text(available.size())
                and window.restoreGeometry(geometry) and fits(window.geometry(), available)):
            self._restore_state()
            return
        # first start or another screen: 1280x800, or what fits the screen with its frame
        window.setGeometry(first_geometry(available))
        short = available.height() < SHORT_SCREEN
        options.set_unfolded(not short)
        docks.set_folded(short)
        self._fit_on_show = True  # once the window has its real width
        self._fit_on_export = True  # and again when the start page gives way

    def _restore_state(self) -> None:
        for key, widget in self._splitters.items():
            state = self.settings.value(f"window/{key}")
            if isinstance(state, QByteArray):
                widget.restoreState(state)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.window.restoreState(state)
        self._options.set_unfolded(_flag(self.settings.value("window/optionsUnfolded"), True))
        self._docks.set_folded(_flag(self.settings.value("window/docksFolded"), False))

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
        """The grid wide enough for all its columns (Status included), the preview the rest;
        the group summary a share of the preview's height, the users the rest."""
        total = max(self.splitter.width() - self.splitter.handleWidth(), 1)
        left = min(max(self._grid_width() + 16, total * 4 // 9), total * 2 // 3)
        self.splitter.setSizes([left, total - left])
        preview = self._splitters["previewSplitter"]
        height = max(preview.height() - preview.handleWidth(), 1)
        summary = min(round(height * SUMMARY_SHARE), self._summary_height(SUMMARY_ROWS))
        preview.setSizes([summary, height - summary])

    def save(self) -> None:
        self.settings.setValue("window/geometry", self.window.saveGeometry())
        available = screen_area(self.window).size()
        self.settings.setValue("window/screen", _size_text(available))
        self.settings.setValue("window/optionsUnfolded", self._options.is_unfolded())
        self.settings.setValue("window/docksFolded", self._docks.folded)
        self.settings.setValue("window/state", self.window.saveState())
        for key, widget in self._splitters.items():
            self.settings.setValue(f"window/{key}", widget.saveState())
        self.settings.sync()


def screen_area(window: QMainWindow) -> QRect:
    """The free area of the window's screen (tests stand in a laptop's here)."""
    return window.screen().availableGeometry()


def fits(rect: QRect, available: QRect) -> bool:
    """The window's client area fits the screen's free area."""
    return rect.width() <= available.width() and rect.height() <= available.height()


def _size_text(size: QSize) -> str:
    return f"{size.width()}x{size.height()}"


def _flag(value: object, default: bool) -> bool:
    """A QSettings boolean (an INI file gives it back as "true"/"false")."""
    if value is None:
        return default
    return value in (True, "true", "1", 1)
