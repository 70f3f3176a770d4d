"""The mapping grid's model: rows of the document's mapping, with live user counts and status.

The model never changes the mapping itself: setData goes through the MappingEditor, so every
edit is one undoable command. A blank line at the end lets the admin type a new row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QMimeData, QModelIndex, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette

from app.core.edits import EDITABLE, block_text
from app.core.explain import row_values
from app.core.mapping import MatchKind, match_kind
from app.core.names import close_group
from app.core.warnings import Warning
from app.ui.base.icons import icon
from app.ui.base.table_model import HeaderedTableModel, Index, accessible_text
from app.ui.mapping.commands import MappingEditor

PRIORITY, MATCH, VALUE, GROUP, USERS, STATUS = range(6)
HEADERS = ("#", "Match", "Value in Identity Provider", "Group", "Users", "Status")
HEADER_TIPS = (
    "Priority: the first matching row decides. Drag rows to reorder.",
    "How the value is compared: equals, starts with, ends with, contains, or pattern"
    " (a regular expression matching the whole value). F2 or Space picks another.",
    "The value of the source column in the export (completes from the export's values)",
    "The group users with this value join; a name not known yet creates a new group",
    "Users this row decides",
    "Problems with this row",
)
FIELD_OF = {VALUE: "value", GROUP: "group"}
# Row warnings, worst first: (code, severity) where severity picks the icon.
ROW_CODES = {
    "bad_pattern": "error",
    "group_name_too_long": "error",
    "duplicate_value": "error",
    "shadowed_row": "warning",
    "row_too_broad": "warning",
    "incomplete_row": "warning",
    "near_miss": "warning",
    "near_duplicate_group": "warning",
    "row_matches_no_user": "warning",
}
SEVERITY_ORDER = ("error", "warning", "new", "info", "ok")
MATCHED_SHOWN = 20  # export values listed in a non-equals row's tooltip


@dataclass
class RowStatus:
    severity: str  # error, warning, new, ok
    label: str
    tooltip: str


class MappingModel(HeaderedTableModel):
    headers = HEADERS
    header_tips = HEADER_TIPS

    def __init__(self, editor: MappingEditor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.document = editor.document
        self.known_groups: set[str] = set()  # from the server and the export: not "new"
        self._counts = np.zeros(0, dtype=np.int64)
        self._statuses: list[RowStatus] = []
        self._n_rows = 0
        self._rows: tuple = ()
        self.document.evaluationChanged.connect(self.refresh)
        self.refresh()

    # --- refresh -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute counts and statuses from the document; reset only if the row count moved."""
        rows = self.document.mapping.rows
        evaluation = self.document.evaluation
        self._counts = evaluation.row_user_counts() if evaluation is not None else None
        self._statuses = self._row_statuses(self.document.warnings)
        old = self._rows
        self._rows = rows
        if len(rows) > len(old) and rows[: len(old)] == old:
            # Rows appended (typing in the blank line): an insert, not a reset, keeps the
            # current cell; the editor's selectRows puts it back on the new row.
            self.beginInsertRows(QModelIndex(), len(old), len(rows) - 1)
            self._n_rows = len(rows)
            self.endInsertRows()
        elif len(rows) != self._n_rows:
            self.beginResetModel()
            self._n_rows = len(rows)
            self.endResetModel()
        if self._n_rows:
            self.dataChanged.emit(self.index(0, 0), self.index(self._n_rows, STATUS))

    def set_known_groups(self, names: set[str]) -> None:
        self.known_groups = set(names)
        self.refresh()

    def _row_statuses(self, warnings: list[Warning]) -> list[RowStatus]:
        rows = self.document.mapping.rows
        by_row: dict[int, list[Warning]] = {}
        for w in warnings:
            if w.row is not None and w.code in ROW_CODES:
                by_row.setdefault(w.row - 1, []).append(w)
        has_export = self.document.evaluation is not None
        known = self.known_groups
        new_groups = set(self.document.new_groups())
        statuses = []
        for i, row in enumerate(rows):
            found = by_row.get(i, [])
            group = row.group.strip()
            if found:
                found.sort(key=lambda w: SEVERITY_ORDER.index(ROW_CODES[w.code]))
                severity = ROW_CODES[found[0].code]
                label = _LABELS[found[0].code]
                tip = "\n".join(w.message for w in found)
            elif row.is_complete and group in new_groups:
                severity, label = "new", "new group"
                tip = f"No user is in {group!r} today: the group will be created."
                similar = close_group(group, known)
                if similar is not None:
                    severity, label = "warning", f"new group, like {similar!r}"
                    tip = (f"{group!r} is a new group, close to the existing {similar!r}."
                           f" Pick {similar!r} unless a new group is meant.")
            elif not row.value.strip() and not group:
                severity, label, tip = "ok", "", ""
            elif has_export:
                severity, label, tip = "ok", "ok", "This row is fine."
            else:
                severity, label = "info", "needs export"
                tip = "Open the export to count this row's users and check it."
            statuses.append(RowStatus(severity, label, tip))
        return statuses

    def status(self, row: int) -> RowStatus | None:
        return self._statuses[row] if row < len(self._statuses) else None

    # --- Qt model ------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._n_rows + 1

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        real = index.row() < self._n_rows
        return _FLAGS[(index.column() in FIELD_OF or (real and index.column() == MATCH), real)]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return accessible_text(self, index)
        row, col = index.row(), index.column()
        placeholder = row >= self._n_rows
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if placeholder:
                return "" if role == Qt.ItemDataRole.EditRole or col != VALUE else "New row…"
            mapping_row = self.document.mapping.rows[row]
            if col == PRIORITY:
                return str(row + 1)
            if col == MATCH:
                return mapping_row.kind.value
            if col in FIELD_OF:
                return getattr(mapping_row, FIELD_OF[col])
            if col == USERS:
                return "" if self._counts is None else f"{int(self._counts[row]):,}"
            if col == STATUS:
                return self._statuses[row].label
            return None
        if placeholder:
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Type a value here to add a row"
            if role == Qt.ItemDataRole.ForegroundRole:
                return self._muted()
            return None
        if role == Qt.ItemDataRole.DecorationRole and col == STATUS:
            severity = self._statuses[row].severity
            if self._statuses[row].label:
                return _status_icon(severity)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == STATUS:
                return self._statuses[row].tooltip
            if col == USERS and self._counts is not None:
                return f"{int(self._counts[row]):,} users get their group from row {row + 1}"
            if col == PRIORITY:
                return "Drag to reorder; the first matching row decides"
            if col in (MATCH, VALUE):
                return self._matched_values_tip(row)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (PRIORITY, USERS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col == PRIORITY:
            return self._muted()
        equals = col == MATCH and self.document.mapping.rows[row].kind == MatchKind.EQUALS
        if role == Qt.ItemDataRole.ForegroundRole and equals:
            return self._muted()
        return None

    def _matched_values_tip(self, row: int) -> str | None:
        """A non-equals row's tooltip: the export values it matches, most users first."""
        mapping_row = self.document.mapping.rows[row]
        evaluation = self.document.evaluation
        if mapping_row.kind == MatchKind.EQUALS or evaluation is None:
            return None
        if not mapping_row.is_usable:
            return self._statuses[row].tooltip or None
        shown, total = row_values(evaluation, row, MATCHED_SHOWN)
        if not total:
            return f"Row {row + 1} ({mapping_row.describe()}) matches no value of the export."
        lines = [f"Row {row + 1} ({mapping_row.describe()}) matches {total:,} export value"
                 + ("" if total == 1 else "s") + ":"]
        lines += [f"{value}  ({count:,} user{'' if count == 1 else 's'})"
                  for value, count in shown]
        if total > len(shown):
            lines.append(f"… and {total - len(shown):,} more")
        return "\n".join(lines)

    def setData(self, index: Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role == Qt.ItemDataRole.EditRole and index.column() == MATCH:
            kind = match_kind(str(value))
            if kind is None or index.row() >= self._n_rows:
                return False
            self.editor.set_kind(index.row(), kind)
            return True
        if role != Qt.ItemDataRole.EditRole or index.column() not in FIELD_OF:
            return False
        text = str(value)
        if index.row() >= self._n_rows and not text.strip():
            return False
        self.editor.set_cell(index.row(), FIELD_OF[index.column()], text)
        return True

    # --- drag and drop: rows move through the editor, never through the model ------------

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return ["text/plain"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        rows = sorted({i.row() for i in indexes if i.row() < self._n_rows})
        mime = QMimeData()
        mime.setText(block_text(self.document.mapping.rows, rows, EDITABLE))
        return mime

    def _muted(self) -> QColor:
        return QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)


_BASE = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_FLAGS = {  # (editable column, real row) -> flags, built once: flags() runs per cell
    (editable, real): _BASE
    | (Qt.ItemFlag.ItemIsEditable if editable else Qt.ItemFlag.NoItemFlags)
    | (Qt.ItemFlag.ItemIsDragEnabled if real else Qt.ItemFlag.NoItemFlags)
    for editable in (False, True)
    for real in (False, True)
}
_LABELS = {
    "bad_pattern": "bad pattern",
    "shadowed_row": "shadowed",
    "row_too_broad": "too broad",
    "group_name_too_long": "name too long",
    "duplicate_value": "duplicate value",
    "incomplete_row": "incomplete",
    "near_miss": "near-miss",
    "near_duplicate_group": "same group as another row",
    "row_matches_no_user": "matches no user",
}


def _status_icon(severity: str) -> QIcon:
    return icon({"error": "status-error", "warning": "status-warning", "new": "status-new",
                 "info": "status-info"}.get(severity, "status-ok"))
