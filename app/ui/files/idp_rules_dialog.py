"""File ▸ Export Mapping as Identity-Provider Rules…: the mapping in a target's language,
to copy, with its length against the target's limit and every note (why it is not exact,
and whom that affects in the open export)."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.idp_rules import DEFAULT_ATTRIBUTE, Format, Rules, affected_notes, generate
from app.core.mapping import Mapping
from app.core.users import UserList


class IdpRulesDialog(QDialog):
    """Shows the closest rules for the chosen format; the notes say whether they are exact."""

    def __init__(self, mapping: Mapping, users: UserList | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export Mapping as Identity-Provider Rules")
        self.mapping, self.users = mapping, users
        self.format_box = QComboBox()
        self.format_box.addItems([str(f) for f in Format])
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.length_label = QLabel()
        self.status_label = QLabel()
        self.notes = QListWidget()
        self.notes.setWordWrap(True)
        self.copy_button = QPushButton("&Copy")
        self.copy_button.clicked.connect(self.copy)
        form = QFormLayout()
        form.addRow("&Format:", self.format_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(self.text, 3)
        layout.addWidget(self.length_label)
        layout.addWidget(QLabel("Notes:"))
        layout.addWidget(self.notes, 1)
        layout.addWidget(buttons)
        self.format_box.currentTextChanged.connect(self.refresh)
        self.resize(820, 560)
        self.refresh()

    def refresh(self) -> None:
        rules = generate(self.mapping, Format(self.format_box.currentText()), DEFAULT_ATTRIBUTE,
                         approximate=True)
        if rules.refusals and self.users is not None:
            rules.notes += affected_notes(rules, self.mapping, self.users)
        self.rules = rules
        self.text.setPlainText(_text(rules))
        self.status_label.setText(
            "Exact: every user gets the same group as in GroupMap." if rules.exact else
            "Not exact: the closest rules are shown; the notes say what differs."
        )
        limit = f" of {rules.limit:,} allowed" if rules.limit else " (no documented limit)"
        what = "longest rule" if rules.format.per_group else "expression"
        self.length_label.setText(f"{what.capitalize()}: {rules.longest():,} characters{limit}.")
        self.notes.clear()
        self.notes.addItems(rules.notes or ["No notes: the rules are exact."])

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())


def _text(rules: Rules) -> str:
    if rules.format.per_group:
        return "\n\n".join(f"# {r.group}\n{r.rule}" for r in rules.rules)
    return rules.expression
