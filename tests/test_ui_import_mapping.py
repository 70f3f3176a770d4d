"""Import Mapping onto a grid that has rows asks: replace them, append below, or cancel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.core.mapping import Mapping, MappingRow
from app.ui.files import file_controller


def answer(button: str, seen: list[str]) -> None:
    box = QApplication.activeModalWidget()
    seen.append(box.text())
    next(b for b in box.buttons() if b.text() == button).click()


@pytest.mark.parametrize("button, expected", [
    ("A&ppend", ["Sales", "Support", "Ops", "Legal"]),
    ("&Replace", ["Ops", "Legal"]),
    ("&Cancel", ["Sales", "Support"]),
])
def test_import_mapping_asks_replace_or_append(qtbot, window, tmp_path, monkeypatch,
                                               discard_on_close, button, expected):
    window.editor.reset(Mapping(rows=(MappingRow("Sales", "Sales"),
                                      MappingRow("Support", "Support"))))
    table = tmp_path / "more.csv"
    table.write_text("Value,Group\nOps,Ops\nLegal,Legal\n", encoding="utf-8")
    monkeypatch.setattr(file_controller.QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(table), ""))
    seen: list[str] = []
    QTimer.singleShot(0, lambda: answer(button, seen))
    window.files.import_mapping_dialog()
    assert seen == ["Replace the 2 rows with the 2 rows of more.csv, or append them below?"]
    assert [r.value for r in window.document.mapping.rows] == expected
    if button != "&Cancel":
        window.editor.stack.undo()  # one step brings the rows back
        assert [r.value for r in window.document.mapping.rows] == ["Sales", "Support"]


def test_opening_a_mapping_table_as_an_export_offers_import_mapping(qtbot, window, tmp_path,
                                                                     monkeypatch):
    table = tmp_path / "mapping.xlsx"
    import pandas as pd

    pd.DataFrame({"Value in Identity Provider": ["Ops"], "Group": ["Operations"]}).to_excel(
        table, index=False)
    asked = []
    monkeypatch.setattr(file_controller.QMessageBox, "question", lambda *a, **k: (
        asked.append(a[2]), file_controller.QMessageBox.StandardButton.Yes)[1])
    monkeypatch.setattr("app.ui.files.mapping_import.QMessageBox.question",
                        file_controller.QMessageBox.question)
    window.files.open_paths([table])
    qtbot.waitUntil(lambda: window.tasks.current is None, timeout=20_000)
    assert asked == ["mapping.xlsx is a mapping table (1 row), not a user export. Import it as"
                     " the mapping?"]
    assert [(r.value, r.group) for r in window.document.mapping.rows] == [("Ops", "Operations")]
    assert window.files.error_box is None  # no "no email column" error on top
