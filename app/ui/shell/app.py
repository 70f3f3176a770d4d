"""Start the desktop app: the QApplication (names, palette, icon) and the main window."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app import __version__

if TYPE_CHECKING:
    from app.ui.shell.main_window import MainWindow

ORGANIZATION = "GroupMap"
APPLICATION = "GroupMap"


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with the names QSettings uses; reuses a running one (tests, demo)."""
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("groupmap")
    from app.ui.base.icons import app_icon

    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)
    return app


def run_app(
    paths: list[str], *, mapping_path: str | Path | None = None,
    setup: Callable[[MainWindow], None] | None = None,
) -> int:
    """Open the main window on the given exports/drafts (and mapping), run the event loop.

    `setup(window)` runs once the window is shown (the demo connects it to its server).
    The platform's own palette is kept, so the app follows light and dark mode.
    """
    app = make_application()
    from app.ui.shell.main_window import MainWindow

    window = MainWindow()
    window.show()

    def start() -> None:
        # After a crash, offer the autosaved draft first (the demo brings its own mapping).
        restored = window.files.offer_restore() if mapping_path is None else False
        if mapping_path is not None:
            window.files.open_mapping(Path(mapping_path))
        if paths:
            exports = [p for p in paths if Path(p).suffix.lower() != ".json"]
            window.files.open_paths(exports if restored else paths)
        if setup is not None:
            setup(window)

    QTimer.singleShot(0, start)
    return app.exec()
