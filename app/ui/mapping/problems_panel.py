"""The Problems panel: the core's warnings, each selectable and, where obvious, fixable."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.fixes import fix_for
from app.core.mapping_warnings import by_severity
from app.core.warnings import Warning
from app.ui.base.icons import icon
from app.ui.mapping.commands import MappingEditor

ICONS = {"error": "status-error", "warning": "status-warning", "info": "status-info"}


class ProblemsPanel(QWidget):
    """Lists warnings, info (what GroupMap does with what the admin chose) after the others;
    selecting one emits `problemSelected` so the window can show its subject."""

    problemSelected = Signal(object)  # Warning
    fixNeedsInput = Signal(object)  # Fix: a Group cell or an option to fill in

    def __init__(self, editor: MappingEditor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.list = QListWidget(self)
        self.list.setAccessibleName("Problems")
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.fix_button = QPushButton("&Apply Fix", self)
        self.fix_button.setToolTip("Apply the fix offered for the selected problem (undoable)")
        self.fix_button.setEnabled(False)
        self.fix_label = QLabel(self)
        self.fix_label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        fix_row = QHBoxLayout()
        fix_row.setContentsMargins(0, 0, 0, 0)
        fix_row.addWidget(self.fix_label, 1)
        fix_row.addWidget(self.fix_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.list, 1)
        layout.addLayout(fix_row)
        self.warnings: list[Warning] = []
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.itemActivated.connect(lambda _: self.apply_fix())
        self.fix_button.clicked.connect(self.apply_fix)
        editor.document.evaluationChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        document = self.editor.document
        previous = self.current()
        self.warnings = by_severity(list(document.warnings))
        self.list.blockSignals(True)
        self.list.clear()
        for w in self.warnings:
            item = QListWidgetItem(icon(ICONS.get(w.severity, "status-warning")), w.message,
                                   self.list)
            item.setToolTip(w.message)
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, w.severity)
        if not self.warnings:
            text = "No problems found." if document.evaluation is not None else (
                "Open an export to check the mapping against it.")
            item = QListWidgetItem(text, self.list)
            item.setFlags(Qt.ItemFlag.NoItemFlags)
        self.list.blockSignals(False)
        if previous in self.warnings:
            self.list.setCurrentRow(self.warnings.index(previous))
        self._update_fix()

    def current(self) -> Warning | None:
        """The selected problem: focus arriving in the list sets a current row without
        selecting it, and must not filter the users (focusing is not selecting)."""
        rows = [i.row() for i in self.list.selectionModel().selectedRows()]
        row = rows[0] if rows else -1
        return self.warnings[row] if 0 <= row < len(self.warnings) else None

    def _selection_changed(self) -> None:
        self._update_fix()
        warning = self.current()
        if warning is not None:
            self.problemSelected.emit(warning)

    def _update_fix(self) -> None:
        warning = self.current()
        document = self.editor.document
        fix = fix_for(warning, document.mapping, document.evaluation,
                      self.warnings) if warning else None
        self.fix_button.setEnabled(fix is not None)
        self.fix_label.setText(f"Fix: {fix.label}" if fix else "")

    def apply_fix(self) -> None:
        """Apply the current problem's fix, then select the next problem (Enter goes on)."""
        warning = self.current()
        if warning is None:
            return
        document = self.editor.document
        fix = fix_for(warning, document.mapping, document.evaluation, self.warnings)
        if fix is None:
            return
        row = self.list.currentRow()
        if fix.mapping is not None:
            self.editor.push(fix.mapping, fix.label, fix.select)
        if fix.focus or fix.edit_group:
            self.fixNeedsInput.emit(fix)  # the window opens the cell or field to fill in
            return
        if self.warnings:
            if warning in self.warnings:  # not gone: the next one is below it
                row = self.warnings.index(warning) + 1
            self.list.setCurrentRow(min(row, len(self.warnings) - 1))

    def summary(self) -> str:
        """The dock's title: errors and warnings are counted, info is not."""
        n = sum(1 for w in self.warnings if w.severity != "info")
        return "Problems" if not n else f"Problems ({n})"
