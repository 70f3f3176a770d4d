"""The main window the sync, history, plan, pacing and server-state tests share (a plugin
of tests/conftest.py). Test modules with a window of their own define `window` themselves."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from app.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """A shown main window with throw-away settings and data, no OS keyring."""
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, data_dir=tmp_path / "data")
    qtbot.addWidget(win)
    win.show()
    yield win
    win.document.dirty = False  # no "save changes?" question on close
    win.close()
