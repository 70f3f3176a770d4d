"""The mapping options beside the grid; each change is one undoable command."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QWidget,
)

from app.core.users import DEFAULT_SOURCE_COLUMN
from app.ui.mapping.commands import MappingEditor


class OptionsPanel(QWidget):
    """The options' form; `summary()` is its one line for the folded Options header."""

    summaryChanged = Signal(str)

    def __init__(self, editor: MappingEditor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.source = QComboBox(self)
        self.source.setEditable(True)
        self.source.setToolTip(
            "The export column holding the value to match (usually Identity Provider Group)."
            " Changing it reads the export again.")
        self.default_group = QComboBox(self)
        self.default_group.setEditable(True)
        self.default_group.lineEdit().setPlaceholderText("none: unmatched users keep their groups")
        self.default_group.setToolTip("The group for users whose value matches no row")
        self.case_sensitive = QCheckBox("Case-sens&itive", self)
        self.case_sensitive.setToolTip("Compare values with their case (Sales ≠ sales)")
        self.one_group = QCheckBox("One group per &user", self)
        self.one_group.setToolTip(
            "The first matching row decides; off: users join the group of every matching row")
        self.separator = QLineEdit(self)
        self.separator.setMaximumWidth(self.fontMetrics().horizontalAdvance("MMMM") + 16)
        self.separator.setPlaceholderText("none")
        self.separator.setToolTip('Split a cell into several values at this text, e.g. ";"')
        self.apply_existing = QCheckBox("Apply changes to e&xisting users", self)
        self.apply_existing.setToolTip(
            "Off: users already in a group keep their groups; only users in no group are placed."
            "\nOn: users with a matching row leave the mapped groups that are not their target.")
        for widget, name in (
            (self.source, "Source column"), (self.default_group, "Default group"),
            (self.case_sensitive, "Case-sensitive"), (self.one_group, "One group per user"),
            (self.separator, "Separator"), (self.apply_existing, "Apply changes to existing users"),
        ):
            widget.setAccessibleName(name)
            if isinstance(widget, QComboBox) and widget.lineEdit() is not None:
                widget.lineEdit().setAccessibleName(name)  # its text field is announced too

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Source &column:", self.source)
        form.addRow("Default &group:", self.default_group)
        checks = QHBoxLayout()
        checks.addWidget(self.case_sensitive)
        checks.addWidget(self.one_group)
        checks.addStretch(1)
        form.addRow(checks)
        form.addRow("Se&parator:", self.separator)
        form.addRow(self.apply_existing)

        self.source.lineEdit().editingFinished.connect(self._source_changed)
        self.source.activated.connect(lambda _: self._source_changed())
        self.default_group.lineEdit().editingFinished.connect(self._default_changed)
        self.default_group.activated.connect(lambda _: self._default_changed())
        self.case_sensitive.toggled.connect(
            lambda on: self._set("ignore_case", not on,
                                 "Case-sensitive " + ("on" if on else "off")))
        self.one_group.toggled.connect(
            lambda on: self._set("multiple_groups", not on,
                                 "One group per user " + ("on" if on else "off")))
        self.separator.editingFinished.connect(
            lambda: self._set("separator", self.separator.text(), "Set separator"))
        self.apply_existing.toggled.connect(
            lambda on: self._set("apply_existing", on,
                                 "Apply to existing users " + ("on" if on else "off")))
        editor.document.mappingChanged.connect(self.refresh)
        self.set_columns([])
        self.refresh()

    def set_columns(self, columns: list[str]) -> None:
        """The export's column names offered for the source column."""
        current = self.editor.document.mapping.options.source_column
        names = list(dict.fromkeys([current, DEFAULT_SOURCE_COLUMN, *columns]))
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItems(names)
        self.source.setCurrentText(current)
        self.source.blockSignals(False)

    def set_groups(self, groups: list[str]) -> None:
        self.default_group.blockSignals(True)
        text = self.default_group.currentText()
        self.default_group.clear()
        self.default_group.addItems(groups)
        self.default_group.setCurrentText(text)
        self.default_group.blockSignals(False)

    def refresh(self) -> None:
        """Show the document's options without pushing commands back."""
        options = self.editor.document.mapping.options
        widgets = (self.source, self.default_group, self.case_sensitive, self.one_group,
                   self.separator, self.apply_existing)
        for widget in widgets:
            widget.blockSignals(True)
        if self.source.findText(options.source_column) < 0:
            self.source.addItem(options.source_column)
        self.source.setCurrentText(options.source_column)
        self.default_group.setCurrentText(options.default_group)
        self.case_sensitive.setChecked(not options.ignore_case)
        self.one_group.setChecked(not options.multiple_groups)
        if self.separator.text() != options.separator:
            self.separator.setText(options.separator)
        self.apply_existing.setChecked(options.apply_existing)
        for widget in widgets:
            widget.blockSignals(False)
        self.summaryChanged.emit(self.summary())

    def summary(self) -> str:
        """The options in one line: "Identity Provider Group · case-sensitive · one group ·
        default Everyone"."""
        options = self.editor.document.mapping.options
        parts = [options.source_column,
                 "ignore case" if options.ignore_case else "case-sensitive",
                 "every matching group" if options.multiple_groups else "one group"]
        if options.separator:
            parts.append(f"split at {options.separator!r}")
        parts.append(f"default {options.default_group}" if options.default_group
                     else "no default group")
        if options.apply_existing:
            parts.append("applies to existing users")
        return " · ".join(parts)

    def _set(self, name: str, value: object, text: str) -> None:
        if getattr(self.editor.document.mapping.options, name) != value:
            self.editor.set_option(name, value, text)

    def _source_changed(self) -> None:
        name = self.source.currentText().strip()
        if name:
            self._set("source_column", name, f"Source column {name!r}")

    def _default_changed(self) -> None:
        self._set("default_group", self.default_group.currentText().strip(), "Set default group")
