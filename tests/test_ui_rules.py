"""The app with match kinds and expectations: Match column, statuses, tooltips, the
Expectations tab, "Expect This", and expectations saved in the draft."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QMessageBox

from app.core.mapping import Expectation, Mapping, MappingRow, MatchKind
from app.core.users import UserList
from app.io import load_draft
from app.ui.mapping.expectations_panel import EXPECTED, RESULT, SUBJECT
from app.ui.mapping.mapping_model import MATCH, STATUS, USERS, VALUE

SOURCES = ["Sales - EMEA", "Sales - AMER", "Sales - EMEA", "Marketing EMEA", "Eng"]


def users() -> UserList:
    return UserList.from_records(
        {"email": f"u{i}@x.org", "name": f"U{i}", "status": "active", "source": s, "groups": ""}
        for i, s in enumerate(SOURCES)
    )


pytestmark = pytest.mark.usefixtures("discard_on_close")  # from tests/ui_fixtures.py


@pytest.fixture
def window(window):
    window.document.set_users(users())
    window.editor.reset(Mapping((
        MappingRow("Sales", "Sales", MatchKind.STARTS_WITH),
        MappingRow("EMEA", "Europe", MatchKind.CONTAINS),
        MappingRow("Eng", "Engineering"),
    )))
    return window


def data(window, row, col, role=Qt.ItemDataRole.DisplayRole):
    model = window.mapping_panel.model
    return model.data(model.index(row, col), role)


def test_match_column_shows_and_edits_the_kind_undoably(window):
    model = window.mapping_panel.model
    assert [data(window, r, MATCH) for r in range(3)] == ["starts with", "contains", "equals"]
    assert data(window, 0, USERS) == "3" and data(window, 1, USERS) == "1"
    assert model.setData(model.index(1, MATCH), "ends with")
    assert window.document.mapping.rows[1] == MappingRow("EMEA", "Europe", MatchKind.ENDS_WITH)
    assert data(window, 1, USERS) == "1"  # "Marketing EMEA" still, now by its end
    assert model.setData(model.index(0, VALUE), "Sales - E")  # a text edit keeps the kind
    assert window.document.mapping.rows[0].kind == MatchKind.STARTS_WITH
    window.editor.stack.undo()
    window.editor.stack.undo()
    assert window.document.mapping.rows[1].kind == MatchKind.CONTAINS
    assert not model.flags(model.index(3, MATCH)) & Qt.ItemFlag.ItemIsEditable  # blank line


def test_the_match_combo_is_reached_and_used_with_the_keyboard(window, qtbot):
    table = window.mapping_panel.table
    table.setFocus()
    table.setCurrentIndex(window.mapping_panel.model.index(2, MATCH))
    qtbot.keyClick(table, Qt.Key.Key_F2)
    combo = table.indexWidget(table.currentIndex())
    assert isinstance(combo, QComboBox) and combo.currentText() == "equals"
    assert [combo.itemText(i) for i in range(combo.count())] == [k.value for k in MatchKind]
    qtbot.waitUntil(lambda: combo.view().isVisible())  # the list is open
    qtbot.keyClick(combo.view(), Qt.Key.Key_Down)
    qtbot.keyClick(combo.view(), Qt.Key.Key_Down)
    assert window.document.mapping.rows[2].kind == MatchKind.EQUALS  # moving is not choosing
    qtbot.keyClick(combo.view(), Qt.Key.Key_Return)
    assert window.document.mapping.rows[2].kind == MatchKind.ENDS_WITH
    qtbot.waitUntil(lambda: table.indexWidget(table.currentIndex()) is None)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_P)  # a letter on the cell picks the kind it starts
    assert window.document.mapping.rows[2].kind == MatchKind.PATTERN
    qtbot.wait(10)
    assert table.indexWidget(table.currentIndex()) is None  # and no list is left open
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Space)
    combo = table.indexWidget(table.currentIndex())
    qtbot.waitUntil(lambda: combo.view().isVisible())
    qtbot.keyClick(combo.view(), Qt.Key.Key_Escape)
    assert window.document.mapping.rows[2].kind == MatchKind.PATTERN


def test_status_shows_bad_patterns_and_shadowed_rows(window):
    editor = window.editor
    bad = MappingRow(r"Eng\1", "E", MatchKind.PATTERN)
    editor.insert(3, [MappingRow("Sales - EMEA", "X"), bad], "Add")
    assert data(window, 3, STATUS) == "shadowed"
    assert "shadowed by row 1" in data(window, 3, STATUS, Qt.ItemDataRole.ToolTipRole)
    assert data(window, 4, STATUS) == "bad pattern"
    assert "at position 3" in data(window, 4, STATUS, Qt.ItemDataRole.ToolTipRole)
    assert data(window, 0, STATUS) == "too broad"  # 3 of 5 users


def test_tooltip_of_a_non_equals_row_lists_the_values_it_matches(window):
    tip = data(window, 0, VALUE, Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines() == [
        "Row 1 (starts with 'Sales') matches 2 export values:",
        "Sales - EMEA  (2 users)",
        "Sales - AMER  (1 user)",
    ]
    assert data(window, 2, VALUE, Qt.ItemDataRole.ToolTipRole) is None  # equals: no list


def test_expect_this_adds_the_users_outcome_and_a_failure_shows_in_problems(window, qtbot):
    users_view = window.preview.users
    users_view.selectRow(3)  # Marketing EMEA -> Europe
    expect = next(a for a in users_view.actions() if a.text() == "&Expect This")
    expect.trigger()
    user = window.preview.users_model.user_at(3)
    assert window.document.mapping.expectations == (
        Expectation(f"u{user}@x.org", ("Europe",)),)
    model = window.expectations.model
    assert model.data(model.index(0, RESULT)).startswith("passes: lands in Europe (row 2)")
    assert window.expectations_dock.windowTitle() == "Expectations (1)"

    model.setData(model.index(0, EXPECTED), "Marketing")
    [problem] = [w for w in window.document.warnings if w.code == "expectation_failed"]
    assert problem.message == f"u{user}@x.org is expected in Marketing but lands in Europe (row 2)."
    assert window.expectations_dock.windowTitle() == "Expectations (1 failing)"
    window.problems.list.setCurrentRow(window.problems.warnings.index(problem))
    assert window.mapping_panel.selected_rows() == [1]  # the jump to the deciding row
    window.mapping_panel.select_rows([0])
    window.expectations.table.setCurrentIndex(model.index(0, SUBJECT))
    assert window.mapping_panel.selected_rows() == [1]  # the tab jumps to it too
    window.editor.stack.undo()
    assert window.document.mapping.expectations[0].groups == ("Europe",)


def test_expectations_typed_in_the_tab_are_saved_in_the_draft(window, tmp_path):
    panel = window.expectations
    panel.add_button.click()
    assert panel.table.state() == panel.table.State.EditingState  # typing goes to the new line
    model = panel.model
    model.setData(model.index(0, SUBJECT), "Eng")
    model.setData(model.index(0, EXPECTED), "no group")
    assert model.data(model.index(0, RESULT)) == "fails: lands in Engineering (row 3)"
    panel.add(Expectation("u4@x.org", ("Engineering",)))
    panel.table.selectRow(0)
    window.editor.set_cell(2, "group", "Eng")  # a mapping edit keeps the selected line
    assert panel.table.selectionModel().isRowSelected(0)
    panel.remove_selected()
    assert window.document.mapping.expectations == (Expectation("u4@x.org", ("Engineering",)),)
    assert window.files.save_to(tmp_path / "d.json")
    assert load_draft(tmp_path / "d.json").expectations == window.document.mapping.expectations


def test_tooltip_lists_the_first_twenty_values_most_users_first(window):
    sources = [f"Team {i:02d}" for i in range(25) for _ in range(i + 1)]
    window.document.set_users(UserList.from_records(
        {"email": f"v{n}@x.org", "name": "", "status": "", "source": s, "groups": ""}
        for n, s in enumerate(sources)))
    window.editor.set_kind(0, MatchKind.STARTS_WITH)
    window.editor.set_cell(0, "value", "Team")
    lines = data(window, 0, MATCH, Qt.ItemDataRole.ToolTipRole).splitlines()
    assert lines[0] == "Row 1 (starts with 'Team') matches 25 export values:"
    assert lines[1:3] == ["Team 24  (25 users)", "Team 23  (24 users)"]
    assert len(lines) == 1 + 20 + 1 and lines[-1] == "… and 5 more"


def test_copy_and_paste_of_whole_rows_keep_the_match_kind(window, qtbot):
    from PySide6.QtGui import QGuiApplication

    panel = window.mapping_panel
    panel.select_rows([0, 1])
    panel.copy()
    copied = QGuiApplication.clipboard().text()
    assert copied == "Sales\tSales\tstarts with\nEMEA\tEurope\tcontains\n"
    panel.table.setCurrentIndex(panel.model.index(3, VALUE))
    panel.paste()
    assert window.document.mapping.rows[3:] == window.document.mapping.rows[:2]
    panel.select_rows([3])
    panel.table.selectionModel().select(
        panel.model.index(3, MATCH), panel.table.selectionModel().SelectionFlag.ClearAndSelect)
    panel.clear()
    assert window.document.mapping.rows[3] == MappingRow("Sales", "Sales")  # kind back to equals


def test_delete_key_removes_the_selected_expectations(window, qtbot):
    panel = window.expectations
    panel.add(Expectation("u0@x.org", ("Sales",)))
    panel.add(Expectation("u4@x.org", ("Engineering",)))
    panel.table.setFocus()
    panel.table.selectRow(0)
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert window.document.mapping.expectations == (Expectation("u4@x.org", ("Engineering",)),)


def test_the_apps_sync_asks_before_writing_while_an_expectation_fails(
    qtbot, window, scim_server, monkeypatch
):
    from app.ui.mapping import expectations_panel
    from app.ui.server.connection import ConnectionProfile
    from tests.scim_fixtures import TOKEN

    server = scim_server(window.document.users)
    window.editor.set_expectations([Expectation("u4@x.org", ("Sales",))], "Expect")
    controller = window.sync_controller
    controller.set_connection(ConnectionProfile("test", server.url), TOKEN, persist=False)
    with qtbot.waitSignal(controller.planned, timeout=15_000) as blocker:
        controller.refresh()
    qtbot.waitUntil(lambda: controller.task is None, timeout=15_000)
    plan = blocker.args[0]
    asked = []

    def answer(button):
        def warning(parent, title, text, *args):
            asked.append(text)
            return button
        return warning

    monkeypatch.setattr(expectations_panel.QMessageBox, "warning",
                        answer(QMessageBox.StandardButton.Cancel))
    controller.sync(plan)
    assert controller.task is None and server.dump()["groups"] == {}
    assert "1 expectation(s) of the mapping fail" in asked[0]
    assert "u4@x.org is expected in Sales but lands in Engineering (row 3)." in asked[0]
    monkeypatch.setattr(expectations_panel.QMessageBox, "warning",
                        answer(QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(controller.synced, timeout=15_000):
        controller.sync(plan)
    qtbot.waitUntil(lambda: controller.task is None, timeout=15_000)
    assert set(server.dump()["groups"]) == {"Sales", "Europe", "Engineering"}


def test_a_shadowed_row_is_fixed_by_moving_it_above_the_first_row_shadowing_it(window):
    window.editor.insert(3, [MappingRow("Sales - EMEA", "Field")], "Add")
    problems = window.problems
    row = next(i for i, w in enumerate(problems.warnings) if w.code == "shadowed_row")
    problems.list.setCurrentRow(row)
    assert problems.fix_label.text() == "Fix: Move row 4 above row 1"
    problems.apply_fix()
    assert window.document.mapping.rows[0] == MappingRow("Sales - EMEA", "Field")
    assert not [w for w in window.document.warnings if w.code == "shadowed_row"]


def test_import_expectations_from_a_file_and_a_bad_file_explained(window, tmp_path, monkeypatch):
    from app.ui.mapping import expectations_panel

    good = tmp_path / "expect.csv"
    good.write_text("Email or value,Expected group\nu0@x.org,Sales\nEng,Engineering\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("Who,Team\na,b\n")
    window.editor.set_expectations([Expectation("U0@x.org", ())], "Expect")
    chosen = iter([str(good), str(bad)])
    monkeypatch.setattr(expectations_panel.QFileDialog, "getOpenFileName",
                        lambda *a, **k: (next(chosen), ""))
    window.expectations.import_button.click()
    assert window.document.mapping.expectations == (
        Expectation("u0@x.org", ("Sales",)), Expectation("Eng", ("Engineering",)))
    assert window.editor.stack.undoText() == "Import expectations from expect.csv"
    window.expectations.import_button.click()
    assert "an expectations file needs the columns" in window.files.error_box.informativeText()
    assert len(window.document.mapping.expectations) == 2
