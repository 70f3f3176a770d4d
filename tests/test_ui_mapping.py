"""The mapping grid: cell edits, undo/redo, paste, reorder, options, statuses, counts."""

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt
from PySide6.QtGui import QDropEvent, QGuiApplication

from app.core.engine import evaluate
from app.core.mapping import Mapping, MappingRow, Options
from app.core.users import UserList
from app.ui.base.document import Document
from app.ui.mapping.commands import MappingEditor
from app.ui.mapping.mapping_model import GROUP, STATUS, USERS, VALUE
from app.ui.mapping.mapping_view import MappingPanel
from app.ui.mapping.options_panel import OptionsPanel


def make_users() -> UserList:
    records = [
        {"email": f"u{i}@x.org", "name": f"User {i}", "status": "active", "source": src,
         "groups": grp}
        for i, (src, grp) in enumerate(
            [("Sales", ""), ("Sales", ""), ("sales", ""), ("Eng", "Engineering"), ("Eng", ""),
             ("Ops", ""), ("", "")])
    ]
    return UserList.from_records(records)


@pytest.fixture
def panel(qtbot):
    document = Document()
    editor = MappingEditor(document)
    document.set_users(make_users())
    editor.reset(Mapping((MappingRow("Sales", "Sales Team"), MappingRow("Eng", "Engineering"))))
    widget = MappingPanel(editor)
    widget.model.set_known_groups(set(document.users.group_names))
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    return widget


def cell(panel, row, col, role=Qt.ItemDataRole.DisplayRole):
    return panel.model.data(panel.model.index(row, col), role)


def rows(panel):
    return [(r.value, r.group) for r in panel.editor.document.mapping.rows]


def test_cell_edit_updates_counts_and_undo_restores(panel):
    model, document = panel.model, panel.editor.document
    assert cell(panel, 0, USERS) == "2" and cell(panel, 1, USERS) == "2"
    assert model.setData(model.index(0, VALUE), "sales")
    assert rows(panel)[0] == ("sales", "Sales Team")
    assert cell(panel, 0, USERS) == "1"
    assert document.evaluation.unmatched == evaluate(document.users, document.mapping).unmatched
    assert document.dirty
    panel.editor.stack.undo()
    assert rows(panel)[0] == ("Sales", "Sales Team") and cell(panel, 0, USERS) == "2"
    assert not document.dirty
    panel.editor.stack.redo()
    assert rows(panel)[0] == ("sales", "Sales Team") and document.dirty


def test_typing_in_the_blank_line_adds_a_row(panel):
    model = panel.model
    assert model.rowCount() == 3
    assert model.setData(model.index(2, GROUP), "Operations")
    assert model.setData(model.index(2, VALUE), "Ops")
    assert rows(panel)[2] == ("Ops", "Operations")
    assert cell(panel, 2, USERS) == "1"
    assert cell(panel, 2, STATUS) == "new group"
    panel.editor.stack.undo()
    panel.editor.stack.undo()
    assert len(rows(panel)) == 2


def test_statuses_come_from_the_core_warnings(panel):
    editor = panel.editor
    editor.insert(2, [MappingRow("Sales", "Dup"), MappingRow("Nobody", "Sales Team"),
                      MappingRow("Ops", "x" * 51)], "add")
    assert cell(panel, 0, STATUS) == "near-miss"  # 'sales' differs only by case
    assert cell(panel, 1, STATUS) == "ok"
    assert cell(panel, 2, STATUS) == "duplicate value"
    assert cell(panel, 3, STATUS) == "matches no user"
    assert cell(panel, 4, STATUS) == "name too long"
    assert "51 characters" in cell(panel, 4, STATUS, Qt.ItemDataRole.ToolTipRole)
    panel.editor.set_option("ignore_case", True, "case")
    assert cell(panel, 0, STATUS) == "new group" and cell(panel, 0, USERS) == "3"


def test_delete_duplicate_move_and_add_unmapped(panel):
    editor = panel.editor
    panel.select_rows([0])
    panel.actions["duplicate"].trigger()
    assert rows(panel) == [("Sales", "Sales Team"), ("Sales", "Sales Team"),
                           ("Eng", "Engineering")]
    assert panel.selected_rows() == [1]
    panel.actions["down"].trigger()
    assert rows(panel)[2] == ("Sales", "Sales Team") and panel.selected_rows() == [2]
    panel.actions["delete"].trigger()
    assert rows(panel) == [("Sales", "Sales Team"), ("Eng", "Engineering")]
    panel.select_rows([1])
    panel.actions["up"].trigger()
    assert rows(panel) == [("Eng", "Engineering"), ("Sales", "Sales Team")]
    assert editor.add_unmapped() == 2
    assert rows(panel)[2:] == [("sales", "Sales Team"), ("Ops", "")]  # near-miss: its group
    for _ in range(5):
        editor.stack.undo()
    assert rows(panel) == [("Sales", "Sales Team"), ("Eng", "Engineering")]


def test_copy_and_paste_blocks(panel):
    clipboard = QGuiApplication.clipboard()
    panel.select_rows([0, 1])
    panel.actions["copy"].trigger()
    assert clipboard.text() == "Sales\tSales Team\nEng\tEngineering\n"
    clipboard.setText("Value in Identity Provider\tGroup\r\nOps\tOperations\r\nHR\tPeople\r\n")
    panel.table.setCurrentIndex(panel.model.index(1, VALUE))
    panel.actions["paste"].trigger()
    assert rows(panel) == [("Sales", "Sales Team"), ("Ops", "Operations"), ("HR", "People")]
    clipboard.setText("Team A\nTeam B\n")
    panel.table.setCurrentIndex(panel.model.index(0, GROUP))
    panel.actions["paste"].trigger()
    assert rows(panel)[:2] == [("Sales", "Team A"), ("Ops", "Team B")]
    panel.editor.stack.undo()
    panel.editor.stack.undo()
    assert rows(panel) == [("Sales", "Sales Team"), ("Eng", "Engineering")]


def test_cut_and_clear_blank_cells(panel):
    panel.table.selectionModel().clearSelection()
    index = panel.model.index(1, GROUP)
    panel.table.selectionModel().select(index, panel.table.selectionModel().SelectionFlag.Select)
    panel.actions["cut"].trigger()
    assert QGuiApplication.clipboard().text() == "Engineering\n"
    assert rows(panel)[1] == ("Eng", "")
    assert cell(panel, 1, STATUS) == "incomplete"


def test_dropping_rows_reorders_through_undo(panel, qtbot):
    editor = panel.editor
    editor.insert(2, [MappingRow("Ops", "Operations")], "add")
    panel.select_rows([2])
    table = panel.table
    target = table.visualRect(panel.model.index(0, VALUE)).center() + QPoint(0, -2)
    mime = QMimeData()
    mime.setText("Ops\tOperations\n")
    event = QDropEvent(target, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    table.dropEvent(event)  # from another application: refused, nothing moves
    assert not event.isAccepted() and rows(panel)[2] == ("Ops", "Operations")
    table.rowsDropped.emit([2], 0)  # what the grid's own drop emits
    assert rows(panel)[0] == ("Ops", "Operations")
    assert editor.stack.undoText() == "Move rows"
    editor.stack.undo()
    assert rows(panel)[2] == ("Ops", "Operations")


def test_options_panel_pushes_undoable_changes(panel, qtbot):
    editor = panel.editor
    options = OptionsPanel(editor)
    qtbot.addWidget(options)
    assert options.case_sensitive.isChecked() and options.one_group.isChecked()
    assert not options.apply_existing.isChecked()
    options.case_sensitive.setChecked(False)
    assert editor.document.mapping.options.ignore_case
    assert cell(panel, 0, USERS) == "3"
    options.separator.setText(";")
    options.separator.editingFinished.emit()
    options.default_group.setCurrentText("Everyone")
    options.default_group.lineEdit().editingFinished.emit()
    options.apply_existing.setChecked(True)
    options.one_group.setChecked(False)
    assert editor.document.mapping.options == Options(
        default_group="Everyone", ignore_case=True, separator=";", multiple_groups=True,
        apply_existing=True)
    for _ in range(5):
        editor.stack.undo()
    assert editor.document.mapping.options == Options()
    assert options.case_sensitive.isChecked() and options.separator.text() == ""


def test_models_pass_the_model_tester(panel, qtmodeltester):
    qtmodeltester.check(panel.model)
    editor = panel.editor  # the tester stays attached and checks every signal below
    editor.set_cell(2, "value", "Ops")
    editor.set_cell(2, "group", "Operations")
    editor.duplicate([0, 1])
    editor.move([3], 0)
    editor.delete([1, 2])
    editor.stack.undo()
    assert len(rows(panel)) == 5 and panel.model.rowCount() == 6


def test_editors_complete_values_and_offer_groups(panel, qtbot):
    from PySide6.QtWidgets import QComboBox, QLineEdit, QStyleOptionViewItem

    panel.value_delegate.set_values(["Eng", "Ops", "Sales", "sales"])
    editor = panel.value_delegate.createEditor(
        panel.table.viewport(), QStyleOptionViewItem(), panel.model.index(0, VALUE))
    assert isinstance(editor, QLineEdit)
    completer = editor.completer()
    completer.setCompletionPrefix("al")
    found = [completer.completionModel().index(i, 0).data()
             for i in range(completer.completionCount())]
    assert found == ["Sales", "sales"]
    panel.group_delegate.set_groups(["Engineering", "Operations"], {"Engineering"})
    combo = panel.group_delegate.createEditor(
        panel.table.viewport(), QStyleOptionViewItem(), panel.model.index(1, GROUP))
    assert isinstance(combo, QComboBox) and combo.isEditable()
    assert [combo.itemText(i) for i in range(combo.count())] == ["Engineering", "Operations"]
    assert combo.itemData(1, Qt.ItemDataRole.ToolTipRole).startswith("New group")
    panel.group_delegate.setEditorData(combo, panel.model.index(1, GROUP))
    assert combo.currentText() == "Engineering"
    combo.setCurrentText("Brand New")
    panel.group_delegate.setModelData(combo, panel.model, panel.model.index(1, GROUP))
    assert rows(panel)[1] == ("Eng", "Brand New")
    assert cell(panel, 1, STATUS) == "new group"
    panel.group_delegate.setEditorData(combo, panel.model.index(1, GROUP))
    assert (combo.currentIndex(), combo.currentText()) == (-1, "Brand New")
    panel.model.setData(panel.model.index(1, GROUP), "Operations", Qt.ItemDataRole.EditRole)
    panel.group_delegate.setEditorData(combo, panel.model.index(1, GROUP))
    assert (combo.currentIndex(), combo.currentText()) == (1, "Operations")  # popup opens on it


def test_typing_in_the_grid_commits_through_the_delegates(panel, qtbot):
    table = panel.table
    table.setFocus()
    table.setCurrentIndex(panel.model.index(2, VALUE))  # the blank "New row…" line
    qtbot.keyClick(table, "O")  # any key opens the editor with it
    qtbot.keyClicks(table.focusWidget(), "ps")
    qtbot.keyClick(table.focusWidget(), Qt.Key.Key_Tab)  # commits and moves to Group
    assert rows(panel)[2] == ("Ops", "")
    qtbot.waitUntil(lambda: table.state() == table.State.EditingState)
    qtbot.keyClicks(table.focusWidget(), "Operations")
    qtbot.keyClick(table.focusWidget(), Qt.Key.Key_Return)  # the commit is queued
    qtbot.waitUntil(lambda: rows(panel)[2] == ("Ops", "Operations"))
    assert cell(panel, 2, USERS) == "1"


def test_the_value_column_keeps_a_readable_width_in_a_narrow_grid(panel, qtbot):
    header = panel.table.horizontalHeader()
    panel.resize(900, 400)
    panel.show()
    qtbot.waitUntil(lambda: header.sectionSize(VALUE) > panel.value_column.minimum)
    panel.resize(300, 400)
    qtbot.waitUntil(lambda: header.sectionSize(VALUE) == panel.value_column.minimum)
    assert panel.table.horizontalScrollBar().maximum() > 0  # the rest scrolls into view


def test_a_group_on_the_server_is_not_new_and_the_grid_asks_the_core(panel):
    document = panel.editor.document
    panel.editor.insert(2, [MappingRow("Ops", "Operations")], "add")
    assert cell(panel, 2, STATUS) == "new group"  # no export user holds "Operations"
    document.set_server_groups(["Operations", "Hand-made"])
    assert cell(panel, 2, STATUS) == "ok"
    assert "Operations" not in document.evaluation.new_groups()
    summary = {s.name: s.new for s in document.evaluation.group_summaries()}
    assert summary["Operations"] is False and summary["Sales Team"] is True


def test_without_an_export_the_grid_shows_the_mapping_only_warnings(qtbot):
    document = Document()
    editor = MappingEditor(document)
    editor.reset(Mapping((MappingRow("Ops", "x" * 51), MappingRow("Eng", "Engineering"))))
    widget = MappingPanel(editor)
    qtbot.addWidget(widget)
    assert cell(widget, 0, STATUS) == "name too long"
    assert "Calendly allows 50" in cell(widget, 0, STATUS, Qt.ItemDataRole.ToolTipRole)
    assert cell(widget, 1, STATUS) == "needs export"  # nothing known: not called new
    document.set_server_groups(["Other"])
    assert cell(widget, 1, STATUS) == "new group"
