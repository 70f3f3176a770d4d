"""Details an admin notices: Open Recent folders, a draft without its export, a broken
draft's line and column, crash-restore reopening the export that was open."""

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from app.core.errors import InputError
from app.core.mapping import Mapping, MappingRow
from app.io import load_draft
from app.resources import resource_path
from app.ui.files import file_controller
from app.ui.mapping.mapping_model import STATUS
from app.ui.shell.main_window import MainWindow

SAMPLE_USERS = resource_path("sample", "users.csv")


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, tmp_path, settings, monkeypatch):
    monkeypatch.setattr(file_controller.QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    win = MainWindow(settings, tmp_path / "data")
    qtbot.addWidget(win)
    win.show()
    return win


def test_open_recent_shows_the_folder_of_same_named_files(window, tmp_path):
    for folder in ("march", "april"):
        (tmp_path / folder).mkdir()
        window.files.recent.add(tmp_path / folder / "users.csv")
    window.files.recent.add(tmp_path / "mapping.csv")
    window.files.recent.fill_menu()
    titles = [a.text() for a in window.recent_menu.actions()][:3]
    assert titles[0] == "&1 mapping.csv"
    assert titles[1] == f"&2 users.csv — {(tmp_path / 'april').resolve()}"
    assert titles[2] == f"&3 users.csv — {(tmp_path / 'march').resolve()}"


def test_a_draft_without_its_export_says_counts_need_the_export(window):
    window.editor.reset(Mapping((MappingRow("Sales", "Sales"),)))
    model = window.mapping_panel.model
    assert model.data(model.index(0, STATUS)) == "needs export"
    assert "Open the export" in model.status(0).tooltip


def test_a_broken_draft_names_line_and_column(tmp_path):
    draft = tmp_path / "broken.json"
    draft.write_text('{\n  "rows": [\n    {"value": "Sales", "group": }\n  ]\n}\n', "utf-8")
    with pytest.raises(InputError, match=r"line 3, column 33"):
        load_draft(draft)


def test_crash_restore_reopens_the_export_opened_after_the_last_edit(qtbot, window, tmp_path,
                                                                    settings, monkeypatch):
    window.editor.set_cell(0, "value", "Sales")  # an edit first, the export afterwards
    window.files.open_paths([SAMPLE_USERS])
    qtbot.waitUntil(lambda: window.tasks.current is None, timeout=20_000)
    window.files.autosaver.save()
    window.files.autosaver.session.lock.unlock()  # it "crashes": its files stay, its lock goes
    crashed = tmp_path / "data"
    again = MainWindow(settings, crashed)
    qtbot.addWidget(again)
    monkeypatch.setattr(file_controller.QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert again.files.offer_restore()
    qtbot.waitUntil(lambda: again.tasks.current is None and again.document.users is not None,
                    timeout=20_000)
    assert again.document.export_paths == [Path(SAMPLE_USERS)]
    again.document.dirty = False
    window.document.dirty = False


def test_add_export_combines_another_export_with_the_open_one(qtbot, window, tmp_path):
    pending = tmp_path / "pending.csv"
    pending.write_text("Name,Email,Status,Identity Provider Group\n"
                       "Eve New,eve.new@x.com,pending,Engineering\n", "utf-8")
    assert not window.actions_by_name["add_export"].isEnabled()
    window.files.open_paths([SAMPLE_USERS])
    qtbot.waitUntil(lambda: window.tasks.current is None, timeout=20_000)
    before = len(window.document.users)
    assert window.actions_by_name["add_export"].isEnabled()
    window.files.add_exports([pending])
    qtbot.waitUntil(lambda: window.tasks.current is None
                    and len(window.document.users) == before + 1, timeout=20_000)
    assert window.document.export_paths == [Path(SAMPLE_USERS), pending]
