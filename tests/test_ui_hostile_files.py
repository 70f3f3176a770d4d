"""The app on hostile files (issue 11): a dialog names the file and the problem, and the
draft (rows, options, users) is left exactly as it was."""

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from app.resources import resource_path
from app.ui.files import file_controller
from app.ui.shell.main_window import MainWindow

SAMPLE_USERS = resource_path("sample", "users.csv")
SAMPLE_MAPPING = resource_path("sample", "mapping.csv")
BAD = Path(__file__).parent / "data" / "bad"


pytestmark = pytest.mark.usefixtures("discard_on_close")  # from tests/ui_fixtures.py


@pytest.fixture
def window(window):
    window.files.open_mapping(SAMPLE_MAPPING)
    return window


def wait(qtbot, window):
    qtbot.waitUntil(lambda: window.tasks.current is None, timeout=20_000)


def assert_dialog(window, title: str, *parts: str) -> None:
    box = window.files.error_box
    assert box.isVisible() and box.text() == title
    text = box.informativeText()
    assert "Your draft was not changed" in text
    for part in parts:
        assert part in text
    box.close()


def test_a_far_cell_in_single_quotes_is_a_dialog_not_a_crash(qtbot, window):
    rows = window.document.mapping.rows
    window.files.open_paths([BAD / "far_cell_single_quotes.xlsx"])
    wait(qtbot, window)
    assert_dialog(window, "Can't open the export", "far_cell_single_quotes.xlsx",
                  "too large to read", "1,048,576 rows x 16,384 columns")
    assert window.document.mapping.rows == rows and window.document.users is None


def test_a_draft_that_is_a_pipe_or_nested_too_deeply_leaves_the_draft(qtbot, window, tmp_path):
    window.files.open_paths([SAMPLE_USERS])
    wait(qtbot, window)
    mapping, users = window.document.mapping, window.document.users
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    window.files.open_paths([pipe])  # must not block on the pipe
    assert_dialog(window, "Can't open the draft", "is a named pipe (FIFO)")
    window.files.open_paths([BAD / "draft_deep_nesting.json"])
    assert_dialog(window, "Can't open the draft", "damaged (nested too deeply)")
    assert window.document.mapping == mapping and window.document.users is users


def test_exporting_the_preview_as_pdf_is_refused_in_a_dialog(qtbot, window, tmp_path):
    window.files.open_paths([SAMPLE_USERS])
    wait(qtbot, window)
    window.files.export_preview(tmp_path / "preview.pdf")
    wait(qtbot, window)
    assert_dialog(window, "Can't export the preview", "can only save as .csv or .xlsx")
    assert not (tmp_path / "preview.pdf").exists()


def test_a_typed_name_without_extension_gets_the_chosen_type(qtbot, window, tmp_path, monkeypatch):
    window.files.open_paths([SAMPLE_USERS])
    wait(qtbot, window)
    answers = iter([(str(tmp_path / "plan"), "CSV (*.csv)"),
                    (str(tmp_path / "map"), "Excel workbook (*.xlsx)")])
    monkeypatch.setattr(file_controller.QFileDialog, "getSaveFileName",
                        lambda *a, **k: next(answers))
    window.files.export_preview_dialog()
    wait(qtbot, window)
    window.files.export_mapping_dialog()
    assert sorted(p.name for p in tmp_path.iterdir() if p.stem in ("plan", "map")) == [
        "map.xlsx", "plan.csv"]


def test_a_failing_autosave_is_a_status_message_not_a_traceback(qtbot, tmp_path):
    blocker = tmp_path / "not a folder"
    blocker.write_text("x")  # the data folder cannot be created below a file
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings, blocker / "data")
    qtbot.addWidget(win)
    win.files.open_mapping(SAMPLE_MAPPING)
    win.editor.set_option("separator", ";", "sep")  # a structural change saves at once
    win.files.autosaver.save()
    assert win.statusBar().currentMessage().startswith("Autosave failed: ")
    assert "not a folder" in win.statusBar().currentMessage()
