"""Keyboard round 2: a new row opens for typing, the focused pane is framed, F6 reaches every
pane (folded or tabbed ones too), focusing Problems selects nothing, a pane's buttons answer
from anywhere in it, menus have unique access keys, file dialogs give the focus back."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit

from app.resources import resource_path
from app.ui.shell.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, discard_on_close):
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings, tmp_path / "data")
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitExposed(win)
    win.files.open_mapping(resource_path("sample", "mapping.csv"))
    win.files.open_paths([resource_path("sample", "users.csv")])
    qtbot.waitUntil(lambda: win.tasks.current is None, timeout=20_000)
    win.editor.mark_saved()
    yield win
    win.document.dirty = False
    win.close()


def focus(qtbot, widget):
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)


def press(qtbot, key, modifiers=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(QApplication.focusWidget(), key, modifiers)


@pytest.mark.parametrize("start", ["mapping", "users"])
def test_ctrl_shift_n_opens_the_new_rows_value_cell_for_typing(qtbot, window, start):
    table = window.mapping_panel.table
    focus(qtbot, table if start == "mapping" else window.preview.users)
    rows = len(window.editor.rows)
    press(qtbot, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier
          | Qt.KeyboardModifier.ShiftModifier)
    assert len(window.editor.rows) == rows + 1
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit) and table.isAncestorOf(editor)
    qtbot.keyClicks(editor, "Contractors")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the commit is queued
    qtbot.waitUntil(lambda: window.editor.rows[-1].value == "Contractors")


def test_the_focused_pane_wears_a_highlight_frame(qtbot, window):
    frame = window.pane_frame
    for pane, target in window.pane_parts()[:4]:
        focus(qtbot, target)
        assert frame.pane is pane and frame.isVisible() and frame.geometry() == pane.rect()
        image = pane.grab().toImage()
        highlight = pane.palette().color(pane.palette().ColorRole.Highlight)
        assert image.pixelColor(0, pane.height() // 2).name() == highlight.name()
        assert image.pixelColor(pane.width() // 2, 1).name() == highlight.name()


def test_f6_reaches_every_pane_folded_and_tabbed_ones_too(qtbot, window):
    assert window.dock_fold.folded  # the test screen is short: Problems start folded
    focus(qtbot, window.mapping_panel.table)
    seen = []
    for _ in range(6):
        press(qtbot, Qt.Key.Key_F6)
        seen.append(QApplication.focusWidget())
    assert seen == [window.options_box.header, window.preview.summary, window.preview.users,
                    window.problems.list, window.expectations.table, window.mapping_panel.table]
    press(qtbot, Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is window.expectations.table
    assert window.expectations.table.isVisible() and not window.dock_fold.folded


def test_focusing_problems_selects_and_filters_nothing(qtbot, window):
    problems = window.problems
    assert problems.warnings  # the sample has near misses and unmatched values
    shown = window.preview.users_model.rowCount()
    with qtbot.assertNotEmitted(problems.problemSelected):
        window.focus_problems()
        focus(qtbot, problems.list)
    assert problems.current() is None and not problems.list.selectedItems()
    assert window.preview.users_model.rowCount() == shown
    press(qtbot, Qt.Key.Key_Space)  # the keyboard's choice does select
    assert problems.current() is problems.warnings[0]


def test_a_panes_buttons_answer_from_anywhere_in_it(qtbot, window):
    window.reveal_pane(window.expectations.table)
    window.problems_dock.show()  # Problems' "&Apply Fix" shares Alt+A
    focus(qtbot, window.expectations.table)
    press(qtbot, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)  # &Add Expectation
    assert len(window.expectations.model.expectations) == 1  # a line, open for typing
    assert window.expectations.table.state() == window.expectations.table.State.EditingState
    window.reveal_pane(window.problems.list)
    focus(qtbot, window.problems.list)
    window.problems.list.setCurrentRow(0)  # a near miss: its fix is one click
    with qtbot.waitSignal(window.editor.stack.indexChanged):
        press(qtbot, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)  # &Apply Fix


def access_keys(texts):
    return [m.group(1).lower() for t in texts if (m := re.search(r"&([^&])", t))]


def test_every_menu_has_unique_access_keys(window):
    for entry in window.menuBar().actions():
        keys = access_keys(a.text() for a in entry.menu().actions() if not a.isSeparator())
        assert len(keys) == len(set(keys)), (entry.text(), keys)


def test_the_focus_returns_after_a_file_dialog(qtbot, window):
    users = window.preview.users
    focus(qtbot, users)
    dialog = QFileDialog(window, "Open")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: dialog.isAncestorOf(QApplication.focusWidget() or dialog))
    dialog.reject()
    qtbot.waitUntil(users.hasFocus)
