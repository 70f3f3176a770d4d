"""The main window the UI tests share (a plugin of tests/conftest.py). A module that needs
more in it overrides `window` with a fixture of the same name that takes this one."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from app.ui.files import file_controller
from app.ui.shell.main_window import MainWindow


@pytest.fixture
def discard_on_close(monkeypatch):
    """pytest-qt closes the windows after each test: answer "Discard" unless a test asks."""
    monkeypatch.setattr(file_controller.QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)


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
