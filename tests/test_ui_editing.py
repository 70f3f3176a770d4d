"""Editing traps in the grid: completion popups with Tab and Enter, the Group list's keys."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit

from app.core.mapping import Mapping, MappingRow
from app.ui.base.document import Document
from app.ui.mapping.commands import MappingEditor
from app.ui.mapping.mapping_model import GROUP, VALUE
from app.ui.mapping.mapping_view import MappingPanel
from tests.test_ui_mapping import make_users, rows


@pytest.fixture
def panel(qtbot):
    document = Document()
    editor = MappingEditor(document)
    document.set_users(make_users())
    editor.reset(Mapping((MappingRow("Sales", "Sales Team"), MappingRow("Eng", "Engineering"))))
    widget = MappingPanel(editor)
    widget.value_delegate.set_values(["Eng", "Ops", "Sales"])
    widget.group_delegate.set_groups(["Engineering", "Operations", "Sales Team"],
                                     {"Engineering", "Operations", "Sales Team"})
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    widget.activateWindow()
    qtbot.waitExposed(widget)
    widget.table.setFocus()
    return widget


def editing(panel):
    return panel.table.state() == panel.table.State.EditingState


def start_typing(qtbot, panel, row, column, text):
    table = panel.table
    table.setCurrentIndex(panel.model.index(row, column))
    qtbot.keyClick(table, text[0])
    qtbot.waitUntil(lambda: editing(panel))
    if text[1:]:
        qtbot.keyClicks(table.focusWidget(), text[1:])
    return table.focusWidget()


def popup_of(editor):
    completer = editor.completer()
    return completer.popup()


def test_tab_in_the_value_popup_takes_the_completion_and_moves_to_the_group(qtbot, panel):
    editor = start_typing(qtbot, panel, 2, VALUE, "Op")
    assert isinstance(editor, QLineEdit)
    popup = popup_of(editor)
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Down)  # highlight "Ops"
    qtbot.keyClick(popup, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: editing(panel) and panel.table.currentIndex().column() == GROUP)
    assert rows(panel) == [("Sales", "Sales Team"), ("Eng", "Engineering"), ("Ops", "")]
    assert panel.table.currentIndex().row() == 2  # the same row, not a new one
    qtbot.keyClicks(panel.table.focusWidget(), "Operations")
    qtbot.keyClick(panel.table.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: rows(panel)[2:] == [("Ops", "Operations")])
    assert len(rows(panel)) == 3


def test_tab_and_enter_in_the_group_popup_take_the_highlighted_group_at_once(qtbot, panel):
    combo = start_typing(qtbot, panel, 0, GROUP, "Op")
    combo = combo if isinstance(combo, QComboBox) else combo.parent()
    assert isinstance(combo, QComboBox)
    popup = combo.completer().popup()
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)  # one Enter: accepted and saved
    qtbot.waitUntil(lambda: rows(panel)[0] == ("Sales", "Operations"))
    qtbot.waitUntil(lambda: not editing(panel))
    combo = start_typing(qtbot, panel, 1, GROUP, "Sal")
    combo = combo if isinstance(combo, QComboBox) else combo.parent()
    popup = combo.completer().popup()
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: rows(panel)[1] == ("Eng", "Sales Team"))  # not a new group "Sal"


def test_down_in_the_group_editor_opens_the_list_without_changing_the_group(qtbot, panel):
    table = panel.table
    table.setCurrentIndex(panel.model.index(1, GROUP))
    qtbot.keyClick(table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: editing(panel))
    combo = table.focusWidget()
    combo = combo if isinstance(combo, QComboBox) else combo.parent()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentText() == "Engineering"
    qtbot.waitUntil(combo.view().isVisible)
    qtbot.keyClick(combo.view(), Qt.Key.Key_Down)
    qtbot.keyClick(combo.view(), Qt.Key.Key_Return)  # picked in the list: saved at once
    qtbot.waitUntil(lambda: rows(panel)[1] == ("Eng", "Operations"))


def test_a_new_group_close_to_an_existing_one_is_flagged(panel):
    from app.core.names import close_group
    from app.ui.mapping.mapping_model import STATUS

    known = ["Sales Team", "Engineering"]
    assert close_group("sales team", known) == "Sales Team"
    assert close_group("SalesTeam ", known) == "Sales Team"
    assert close_group("Sa", known) == "Sales Team"
    assert close_group("Engineering", known) is None and close_group("Ops", known) is None
    panel.model.set_known_groups(set(known))
    panel.editor.set_cell(1, "group", "engineering")
    status = panel.model.status(1)
    assert status.severity == "warning" and "'Engineering'" in status.label
    assert "new group" in panel.model.data(panel.model.index(1, STATUS))
    panel.editor.set_cell(1, "group", "Operations")
    assert panel.model.status(1).label == "new group"


def test_unmapped_values_get_empty_groups_and_the_cursor_in_the_first(qtbot, panel):
    assert panel.add_unmapped() == 2
    assert rows(panel)[2:] == [("sales", "Sales Team"), ("Ops", "")]  # near-miss's group
    assert panel.table.currentIndex().row() == 2
    assert panel.table.currentIndex().column() == GROUP and editing(panel)
    assert all(r.group != r.value for r in panel.editor.rows)  # never a group per value
    panel.editor.stack.undo()
    assert len(rows(panel)) == 2  # one undo step


def test_many_unmapped_values_ask_first(qtbot, panel, monkeypatch):
    from app.core.users import UserList
    from app.ui.mapping import mapping_view

    records = [{"email": f"u{i}@x.org", "name": f"U {i}", "status": "active",
                "source": f"Team {i}", "groups": ""} for i in range(12)]
    panel.editor.document.set_users(UserList.from_records(records))
    asked = []
    monkeypatch.setattr(mapping_view.QMessageBox, "question", lambda _p, _t, text, *a: (
        asked.append(text), mapping_view.QMessageBox.StandardButton.Cancel)[1])
    assert panel.add_unmapped() == 0 and len(rows(panel)) == 2
    assert "Add 12 rows" in asked[0]
    monkeypatch.setattr(mapping_view.QMessageBox, "question",
                        lambda *a: mapping_view.QMessageBox.StandardButton.Yes)
    assert panel.add_unmapped() == 12 and len(rows(panel)) == 14
    assert panel.editor.stack.undoText() == "Add 12 rows for unmapped values"


def test_fixes_say_when_they_leave_a_group_to_pick_or_create_one():
    from app.core.engine import evaluate
    from app.core.fixes import fix_for
    from app.core.mapping import GROUP_NAME_LIMIT
    from app.core.warnings import find_warnings

    users = make_users()
    long_name = "Sales " + "x" * GROUP_NAME_LIMIT
    mapping = Mapping((MappingRow("Sales", long_name),))
    evaluation = evaluate(users, mapping)
    warnings = find_warnings(evaluation)
    by_code = {w.code: w for w in warnings}
    unmatched = fix_for(by_code["unmatched_value"], mapping, evaluation, warnings)
    assert unmatched.edit_group and "pick its group" in unmatched.label
    assert unmatched.mapping.rows[-1].group == ""
    shorten = fix_for(by_code["group_name_too_long"], mapping, evaluation, warnings)
    assert shorten.label.endswith("(new group)")
    blank = fix_for(by_code["blank_value"], mapping, evaluation, warnings)
    assert blank.focus == "default_group" and blank.mapping is None
