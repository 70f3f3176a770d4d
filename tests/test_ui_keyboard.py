"""Keyboard paths: Tab leaves tables, F6 cycles panes, shortcuts over text fields, access keys."""

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.resources import resource_path
from app.ui.shell.keyboard import missing_access_keys
from app.ui.shell.main_window import MainWindow

SAMPLE_USERS = resource_path("sample", "users.csv")
SAMPLE_MAPPING = resource_path("sample", "mapping.csv")


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings, tmp_path / "data")
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitExposed(win)
    win.files.open_mapping(SAMPLE_MAPPING)
    win.files.open_paths([SAMPLE_USERS])
    qtbot.waitUntil(lambda: win.tasks.current is None, timeout=20_000)
    win.editor.mark_saved()
    return win


def focus(qtbot, widget):
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)


@pytest.mark.parametrize("table", ["mapping", "summary", "users"])
def test_tab_leaves_each_table_and_arrows_move_inside(qtbot, window, table):
    view = {"mapping": window.mapping_panel.table, "summary": window.preview.summary,
            "users": window.preview.users}[table]
    focus(qtbot, view)
    view.setCurrentIndex(view.model().index(0, 0))
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.currentIndex().row() == 1  # arrows move between cells
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    assert not view.hasFocus()  # Tab goes on to the next control
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab)
    assert view.hasFocus()


def test_f6_cycles_the_panes_both_ways(qtbot, window):
    panes = window.panes()
    focus(qtbot, panes[0])
    seen = []
    for _ in panes:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6)
        seen.append(QApplication.focusWidget())
    assert seen == [*panes[1:], panes[0]]
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is panes[-1]


def test_problems_shortcut_and_view_menu_access_key(qtbot, window):
    window.problems_dock.hide()
    focus(qtbot, window.mapping_panel.table)
    action = window.actions_by_name["problems"]
    assert "&P" in action.text() and action.shortcut().toString() == "Ctrl+Shift+P"
    view_menu = next(m.menu() for m in window.menuBar().actions() if m.text() == "&View")
    assert action in view_menu.actions()
    qtbot.keyClick(window.mapping_panel.table, Qt.Key.Key_P,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.problems_dock.isVisible()
    assert window.problems.list.hasFocus()


def test_ctrl_e_exports_the_preview_while_the_filter_box_has_focus(qtbot, window, monkeypatch):
    asked = []
    monkeypatch.setattr(window.files, "export_preview_dialog", lambda: asked.append(True))
    window.actions_by_name["export_preview"].triggered.disconnect()
    window.actions_by_name["export_preview"].triggered.connect(window.files.export_preview_dialog)
    focus(qtbot, window.preview.search)
    qtbot.keyClicks(window.preview.search, "abc")
    qtbot.keyClick(window.preview.search, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert asked == [True]
    qtbot.keyClick(window.preview.search, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert window.preview.search.selectedText() == "abc"  # the field keeps its editing keys


def test_unsaved_changes_dialog_buttons_have_access_keys(qtbot, window):
    window.editor.set_cell(0, "group", "Somewhere else")
    seen = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        seen.append(sorted(b.text() for b in box.buttons()))
        seen.append(missing_access_keys(box.buttons()))
        box.button(QMessageBox.StandardButton.Cancel).click()

    QTimer.singleShot(0, answer)
    assert not window.files.confirm_discard("closing")
    assert seen[0] == ["&Cancel", "&Don't Save", "&Save"]
    assert seen[1] == []
    window.editor.mark_saved()


def test_enter_on_a_problem_applies_its_fix_and_selects_the_next(qtbot, window):
    problems = window.problems
    near = next(i for i, w in enumerate(problems.warnings) if w.code == "near_miss")
    warning = problems.warnings[near]
    count = len(window.document.mapping.rows)
    focus(qtbot, problems.list)
    problems.list.setCurrentRow(near)
    qtbot.keyClick(problems.list, Qt.Key.Key_Return)
    assert len(window.document.mapping.rows) == count + 1
    assert warning not in problems.warnings
    assert problems.list.currentRow() == min(near, len(problems.warnings) - 1)
    assert problems.list.hasFocus()
    window.editor.mark_saved()  # closing must not ask


def test_a_problem_lists_exactly_its_users_as_a_chip_and_keeps_the_filter_text(qtbot, window):
    from app.core.explain import cells_with_value

    preview, problems = window.preview, window.problems
    preview.search.setText("example")
    qtbot.waitUntil(lambda: preview.users_model.filter.text == "example")
    near = next(i for i, w in enumerate(problems.warnings)
                if w.code == "near_miss" and w.value == "engineering")
    problems.list.setCurrentRow(near)
    evaluation = window.document.evaluation
    users = evaluation.users
    exact = int(cells_with_value(evaluation, "engineering")[users.cell_codes].sum())
    assert exact == problems.warnings[near].count  # not "Engineering;Support" as well
    assert preview.users_model.rowCount() == exact
    assert preview.search.text() == "example" and preview.value_chip.isVisible()
    assert preview.value_chip.text() == "Value: engineering"
    preview.value_chip.click()
    assert not preview.value_chip.isVisible()
    assert preview.users_model.rowCount() > exact


def test_every_dialog_button_has_an_access_key(qtbot, window):
    from PySide6.QtWidgets import QDialogButtonBox

    from app.ui.server.setup_help import SetupHelpDialog
    from app.ui.server.sync_dialog import SyncDialog
    from app.ui.server.sync_preview import PlanDialog
    from app.ui.shell.about import AboutDialog
    from tests.test_ui_plan_removals import explained_plan

    dialogs = [window.sync_controller.open_connection_dialog(), SyncDialog(window),
               PlanDialog(explained_plan(), window), AboutDialog(window),
               SetupHelpDialog(window)]
    for dialog in dialogs:
        dialog.show()
        buttons = [b for box in dialog.findChildren(QDialogButtonBox) for b in box.buttons()]
        assert buttons and missing_access_keys(buttons) == [], type(dialog).__name__
        dialog.reject()
