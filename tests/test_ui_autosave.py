"""Autosave per window: a crashed window's draft is offered, a live one's never (pytest-qt)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from app.core.mapping import Mapping, MappingRow
from app.io import load_draft, save_draft
from app.ui.files import file_controller
from app.ui.shell.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def new_window(qtbot, tmp_path):
    """Windows over one data folder; closed without questions at the end, pass or fail."""
    made = []
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)

    def make() -> MainWindow:
        window = MainWindow(settings, tmp_path / "data")
        qtbot.addWidget(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.document.dirty = False
        window.close()


CRASH = """
import os, sys
from pathlib import Path
from types import SimpleNamespace
from app.core.mapping import Mapping, MappingRow
from app.ui.files.autosave import Session
session = Session.new(Path(sys.argv[1]))
session.write(Mapping((MappingRow("Sales", "Sellers"),)), SimpleNamespace(
    draft_path=None, export_paths=[]))
os._exit(1)  # a crash: no clean close, the lock file left behind with a dead pid
"""


def crashed_session(folder: Path) -> list[Path]:
    """A window in another process autosaves, then dies: its files, lock file included."""
    before = set(folder.glob("autosave-*"))
    subprocess.run([sys.executable, "-c", CRASH, str(folder)], cwd=ROOT, check=False)
    left = sorted(set(folder.glob("autosave-*")) - before)
    assert sorted(p.suffix for p in left) == [".json", ".json", ".lock"], left
    return left


def test_autosave_and_recovery_after_a_crash(new_window, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    crashed = crashed_session(data)
    second = new_window()
    asked = []
    monkeypatch.setattr(file_controller.QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    assert second.files.offer_restore()
    assert asked[0].startswith("GroupMap did not close properly last time. Restore the unsaved "
                               "draft (1 row), autosaved at ")
    assert asked[0].endswith("?\n\nNo deletes the autosaved copy.")
    assert second.document.mapping.rows == (MappingRow("Sales", "Sellers"),)
    assert second.document.dirty
    assert not any(p.exists() for p in crashed)  # now held by the second window's own file
    assert second.files.autosaver.draft_file.exists()
    monkeypatch.setattr(file_controller.QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert second.close()
    assert list(data.glob("autosave*")) == []
    assert not new_window().files.offer_restore()


def test_a_live_windows_autosave_is_never_offered_nor_deleted(new_window, tmp_path,
                                                              monkeypatch):
    first = new_window()
    first.editor.insert(0, [MappingRow("Sales", "Sales Team")], "add")  # structural: saved now
    own = first.files.autosaver.draft_file
    assert own.exists() and own.parent == tmp_path / "data"
    crashed = crashed_session(tmp_path / "data")
    second = new_window()
    asked = []
    monkeypatch.setattr(file_controller.QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    assert not second.files.offer_restore()  # No: the crashed copy goes, the live one stays
    assert len(asked) == 1 and not any(p.exists() for p in crashed)
    assert own.exists()
    assert not second.files.offer_restore() and len(asked) == 1  # first's is never offered
    second.editor.insert(0, [MappingRow("Eng", "Eng")], "add")
    assert second.files.autosaver.draft_file != own
    first.files.autosaver.save()
    assert load_draft(own).rows == (MappingRow("Sales", "Sales Team"),)


def test_an_autosave_from_before_sessions_is_offered(new_window, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    save_draft(data / "autosave.json", Mapping((MappingRow("Old", "Old"),)))
    window = new_window()
    monkeypatch.setattr(file_controller.QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert window.files.offer_restore()
    assert window.document.mapping.rows == (MappingRow("Old", "Old"),)
    assert not (data / "autosave.json").exists()
