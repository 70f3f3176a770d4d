"""The main window's remembered state: recent files, geometry, splitters (QSettings).

A mixin of MainWindow, like FileActions; expects settings, recent_menu, splitter, preview.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray

RECENT_LIMIT = 8


class WindowState:
    """Mixin: recent files (File > Open Recent) and the window's layout across sessions."""

    # --- recent files --------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def add_recent(self, path: Path) -> None:
        name = str(Path(path).resolve())
        recent = [name] + [p for p in self.recent_files() if p != name]
        self.settings.setValue("recentFiles", recent[:RECENT_LIMIT])

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.recent_files()
        menu.setToolTipsVisible(True)  # the full path: two exports may share a file name
        names = [Path(n).name for n in recent]
        for number, name in enumerate(recent, 1):
            label = Path(name).name
            if names.count(label) > 1:  # two exports called users.csv: show their folders
                label = f"{label} — {Path(name).parent}"
            label = label.replace("&", "&&")
            action = menu.addAction(f"&{number} {label}" if number < 10 else label)
            action.setToolTip(name)
            action.setStatusTip(name)
            action.triggered.connect(lambda _=False, n=name: self.open_paths([n]))
        if not recent:
            menu.addAction("No recent files").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("&Clear List", lambda: self.settings.setValue("recentFiles", []))

    # --- layout persistence --------------------------------------------------------------

    def restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:  # first start: 1280x800, or what fits the screen with the window's frame
            from app.ui.screen_fit import first_geometry

            self.setGeometry(first_geometry(self.screen().availableGeometry()))
        for key, widget in self._splitters().items():
            state = self.settings.value(f"window/{key}")
            if isinstance(state, QByteArray):
                widget.restoreState(state)
            elif key == "mainSplitter":  # first start: the grid shows every column, Status too
                self._fit_split_on_show = True  # once the window has its real width
                self._fit_split_on_export = True  # and again when the start page gives way
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if getattr(self, "_fit_split_on_show", False):
            from PySide6.QtCore import QTimer

            self._fit_split_on_show = False
            QTimer.singleShot(0, self, self.fit_main_splitter)

    def fit_split_for_export(self) -> None:
        """The first export of a first start: size the split for the preview, not the start
        page (which needs more width)."""
        if getattr(self, "_fit_split_on_export", False) and self.isVisible():
            from PySide6.QtCore import QTimer

            self._fit_split_on_export = False
            QTimer.singleShot(0, self, self.fit_main_splitter)

    def fit_main_splitter(self) -> None:
        """The grid wide enough for all its columns (Status included), the preview the rest."""
        total = max(self.splitter.width() - self.splitter.handleWidth(), 1)
        left = min(max(self.mapping_panel.needed_width() + 16, total * 4 // 9), total * 2 // 3)
        self.splitter.setSizes([left, total - left])

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        for key, widget in self._splitters().items():
            self.settings.setValue(f"window/{key}", widget.saveState())
        self.settings.sync()

    def _splitters(self) -> dict:
        return {"mainSplitter": self.splitter, "previewSplitter": self.preview.splitter}
