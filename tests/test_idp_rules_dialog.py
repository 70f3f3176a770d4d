"""The desktop dialog: format chooser, text, Copy, length against the limit, notes."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from app.core.mapping import Mapping, MappingRow, Options
from app.core.users import UserList
from app.ui.files.idp_rules_dialog import IdpRulesDialog


def _users() -> UserList:
    return UserList.from_records([
        {"email": "a@x.com", "name": "", "status": "", "source": "sales", "groups": ""},
    ])


def test_dialog_shows_text_length_and_notes(qtbot) -> None:  # type: ignore[no-untyped-def]
    mapping = Mapping(rows=(MappingRow("Sales", "S"),), options=Options(default_group="D"))
    dialog = IdpRulesDialog(mapping, _users())
    qtbot.addWidget(dialog)
    assert dialog.format_box.currentText() == "entra-expression"
    assert dialog.text.toPlainText().startswith("Switch([department]")
    assert "of 10,000 allowed" in dialog.length_label.text()
    assert dialog.notes.item(0).text().startswith("No notes")
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == dialog.text.toPlainText()


def test_dialog_notes_a_refusal_with_the_users_affected(qtbot) -> None:  # type: ignore[no-untyped-def]
    mapping = Mapping(rows=(MappingRow("Sales", "S"),))
    dialog = IdpRulesDialog(mapping, _users())
    qtbot.addWidget(dialog)
    dialog.format_box.setCurrentText("entra-dynamic")
    notes = [dialog.notes.item(i).text() for i in range(dialog.notes.count())]
    assert dialog.status_label.text().startswith("Not exact")
    assert any("without regard to case" in n for n in notes)
    assert any("a@x.com" in n for n in notes)
    assert dialog.text.toPlainText().startswith("# S\n")
