"""File ▸ Open Recent: the recently opened drafts and exports, kept in QSettings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu, QWidget

RECENT_LIMIT = 8


class RecentFiles:
    """The list (newest first, at most RECENT_LIMIT) and the menu that shows it."""

    def __init__(self, settings: QSettings, open_paths: Callable[[list[str | Path]], None],
                 parent: QWidget) -> None:
        self.settings = settings
        self._open_paths = open_paths
        self.menu = QMenu("Open &Recent", parent)
        self.menu.aboutToShow.connect(self.fill_menu)

    def paths(self) -> list[str]:
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):  # QSettings gives one entry as a plain string
            return [value]
        return [str(v) for v in value] if isinstance(value, list) else []

    def add(self, path: Path) -> None:
        name = str(Path(path).resolve())
        recent = [name] + [p for p in self.paths() if p != name]
        self.settings.setValue("recentFiles", recent[:RECENT_LIMIT])

    def fill_menu(self) -> None:
        menu = self.menu
        menu.clear()
        recent = self.paths()
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
            action.triggered.connect(lambda _=False, n=name: self._open_paths([n]))
        if not recent:
            menu.addAction("No recent files").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("&Clear List", lambda: self.settings.setValue("recentFiles", []))
