"""The Expectations tab: what the mapping must do, checked on every edit.

Each line is an email or an export value and the groups it must land in ("no group" for
none); the Result column shows the core's verdict. Edits go through the MappingEditor, so
they are undoable and saved with the draft. Selecting a line selects the row that decides.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.expectations import (
    Outcome,
    check_expectations,
    expect_user,
    failures,
    parse_groups,
)
from app.core.identity import email_key
from app.core.mapping import Expectation
from app.ui.base.icons import icon, set_icon
from app.ui.base.table_model import HeaderedTableModel, Index, accessible_text
from app.ui.mapping.commands import MappingEditor

SUBJECT, EXPECTED, RESULT = range(3)
EXPECT_LIMIT = 1000  # users turned into expectations at once by "Expect This"


class ExpectationsModel(HeaderedTableModel):
    headers = ("Email or value", "Expected groups", "Result")
    header_tips = (
        "A user's email, or an export value (a whole cell of the source column)",
        "The groups it must land in, separated by ';', or 'no group'",
        "What the mapping does for it now",
    )

    refreshed = Signal()  # verdicts recomputed (after every edit)

    def __init__(self, editor: MappingEditor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.outcomes: dict[int, Outcome] = {}
        self._shown = -1  # rows the view knows about
        editor.document.evaluationChanged.connect(self.refresh)
        self.refresh()

    @property
    def expectations(self) -> tuple[Expectation, ...]:
        return self.editor.document.mapping.expectations

    def refresh(self) -> None:
        """New verdicts; a reset only when lines were added or removed (keeps the selection)."""
        evaluation = self.editor.document.evaluation
        outcomes = check_expectations(evaluation) if evaluation is not None else []
        if len(self.expectations) == self._shown:
            self.outcomes = {outcome.index: outcome for outcome in outcomes}
            if self._shown:
                self.dataChanged.emit(self.index(0, 0), self.index(self._shown - 1, RESULT))
            self.refreshed.emit()
            return
        self.beginResetModel()
        self.outcomes = {outcome.index: outcome for outcome in outcomes}
        self._shown = len(self.expectations)
        self.endResetModel()
        self.refreshed.emit()

    def failed(self) -> int:
        return sum(not outcome.passed for outcome in self.outcomes.values())

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else max(self._shown, 0)

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() in (SUBJECT, EXPECTED):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.expectations):
            return None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return accessible_text(self, index)
        expectation = self.expectations[index.row()]
        outcome = self.outcomes.get(index.row())
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == SUBJECT:
                return expectation.subject
            if col == EXPECTED:
                return "; ".join(expectation.groups) if expectation.groups else "no group"
            return _result_text(outcome, self.editor.document.evaluation is not None)
        if role == Qt.ItemDataRole.ToolTipRole:
            return outcome.message if outcome is not None else None
        if role == Qt.ItemDataRole.DecorationRole and col == RESULT and outcome is not None:
            return icon("status-ok" if outcome.passed else "status-error")
        return None

    def setData(self, index: Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or index.column() not in (SUBJECT, EXPECTED):
            return False
        items = list(self.expectations)
        current = items[index.row()]
        if index.column() == SUBJECT:
            items[index.row()] = Expectation(str(value).strip(), current.groups)
        else:
            items[index.row()] = Expectation(current.subject, parse_groups(str(value)))
        if items[index.row()] != current:
            self.editor.set_expectations(items, "Edit expectation")
        return True

    def deciding_row(self, row: int) -> int | None:
        outcome = self.outcomes.get(row)
        return outcome.rows[0] if outcome is not None and outcome.rows else None


def _result_text(outcome: Outcome | None, has_export: bool) -> str:
    if outcome is None:
        return "" if has_export else "Open an export to check"
    lands = ", ".join(outcome.groups) if outcome.groups else "no group"
    if not outcome.found:
        return "fails: not in the export"
    verdict = "passes" if outcome.passed else "fails"
    return f"{verdict}: lands in {lands} ({outcome.why})"


class ExpectationsPanel(QWidget):
    """The tab beside Problems; `rowRequested` asks the window to select a mapping row."""

    rowRequested = Signal(int)  # 0-based mapping row

    def __init__(self, editor: MappingEditor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.model = ExpectationsModel(editor, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Expectations")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(RESULT, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(SUBJECT, self.fontMetrics().horizontalAdvance("ann@example.com") + 40)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.add_button = QToolButton(self)
        self.add_button.setText("&Add Expectation")
        set_icon(self.add_button, "row-add")
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.add_button.setToolTip("Add a line: an email or export value and its expected groups")
        self.add_button.clicked.connect(lambda: self.add())
        self.delete_button = QToolButton(self)
        self.delete_button.setText("&Remove")
        set_icon(self.delete_button, "row-delete")
        self.delete_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.delete_button.setToolTip("Remove the selected expectations")
        self.delete_button.clicked.connect(self.remove_selected)
        self.import_button = QToolButton(self)
        self.import_button.setText("&Import…")
        self.import_button.setToolTip(
            'Add the expectations of a .csv or .xlsx ("Email or value", "Expected group")')
        self.hint = QLabel(self)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.hint, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        remove = QAction("&Remove Expectations", self.table)
        remove.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        remove.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        remove.triggered.connect(self.remove_selected)
        self.table.addAction(remove)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.model.refreshed.connect(self._update_hint)
        self._update_hint()

    def add(self, expectation: Expectation | None = None) -> None:
        """Append a line (blank, to type in), and start editing its email or value."""
        items = [*self.model.expectations, expectation or Expectation("", ())]
        self.editor.set_expectations(items, "Add expectation")
        index = self.model.index(len(items) - 1, SUBJECT)
        self.table.setCurrentIndex(index)
        if expectation is None:
            self.table.edit(index)

    def expect(self, new: list[Expectation], text: str = "Expect this") -> None:
        """Add expectations; one for the same email or value is replaced."""
        keys = {email_key(e.subject) for e in new}
        kept = [e for e in self.model.expectations if email_key(e.subject) not in keys]
        self.editor.set_expectations([*kept, *new], text)

    def remove_selected(self) -> None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        current = self.table.currentIndex()
        if not rows and current.isValid():
            rows = {current.row()}
        if rows:
            kept = [e for i, e in enumerate(self.model.expectations) if i not in rows]
            self.editor.set_expectations(kept, "Remove expectation")

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.model.deciding_row(current.row()) if current.isValid() else None
        if row is not None:
            self.rowRequested.emit(row)

    def _update_hint(self) -> None:
        if not self.model.expectations:
            self.hint.setText("State what the mapping must do: right-click a user, Expect This.")
        else:
            failed = self.model.failed()
            self.hint.setText(f"{failed} failing" if failed else "All pass")
        self.delete_button.setEnabled(bool(self.model.expectations))

    def summary(self) -> str:
        failed, total = self.model.failed(), len(self.model.expectations)
        if not total:
            return "Expectations"
        return f"Expectations ({failed} failing)" if failed else f"Expectations ({total})"


def install_expectations(window) -> None:
    """The Expectations tab beside the window's Problems, and "Expect This" on its users table."""
    panel = ExpectationsPanel(window.editor, window)
    dock = QDockWidget("Expectations", window)
    dock.setObjectName("expectations")
    dock.setWidget(panel)
    dock.setFeatures(window.problems_dock.features())
    window.tabifyDockWidget(window.problems_dock, dock)
    window.problems_dock.raise_()
    show = QAction("Show &Expectations", window)
    show.setToolTip("Show the Expectations tab beside Problems")
    show.triggered.connect(lambda: (dock.show(), dock.raise_(), panel.table.setFocus()))
    window.view_menu.addAction(show)  # the dock's own toggle is renamed with its count
    window.expectations, window.expectations_dock = panel, dock
    panel.rowRequested.connect(lambda row: window.mapping_panel.select_rows([row]))
    window.document.evaluationChanged.connect(lambda: dock.setWindowTitle(panel.summary()))
    dock.setWindowTitle(panel.summary())

    panel.import_button.clicked.connect(lambda: import_expectations(window))
    users = window.preview.users
    expect = QAction("&Expect This", users)
    expect.setToolTip("Add the selected users' current outcome as expectations")
    expect.triggered.connect(lambda: expect_selected_users(window))
    users.addAction(expect)


def expect_selected_users(window) -> None:
    """'Expect this': each selected user's outcome becomes an expectation (undoable)."""
    evaluation = window.document.evaluation
    if evaluation is None:
        return
    view = window.preview.users
    rows: set[int] = set()
    for span in view.selectionModel().selection():
        rows.update(range(span.top(), span.bottom() + 1))
    if not rows and view.currentIndex().isValid():
        rows = {view.currentIndex().row()}
    model = window.preview.users_model
    chosen = [model.user_at(r) for r in sorted(rows)[:EXPECT_LIMIT]]
    if chosen:
        window.expectations.expect([expect_user(evaluation, user) for user in chosen])
        window.expectations_dock.show()
        window.expectations_dock.raise_()


def confirm_despite_failed_expectations(parent: QWidget | None, document) -> bool:
    """Before the app's sync writes: True if every expectation passes, or the admin, told which
    fail, chooses to sync anyway (as `groupmap sync --ignore-expectations`)."""
    evaluation = document.evaluation
    failed = failures(evaluation) if evaluation is not None else []
    if not failed:
        return True
    listed = "\n".join(f"• {outcome.message}" for outcome in failed[:10])
    more = f"\n… and {len(failed) - 10} more" if len(failed) > 10 else ""
    answer = QMessageBox.warning(
        parent,
        "GroupMap",
        f"{len(failed)} expectation(s) of the mapping fail:\n\n{listed}{more}\n\n"
        "Fix the mapping (see the Expectations tab), or sync anyway?",
        QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Yes,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def import_expectations(window) -> None:
    """Add the expectations of a file, like `--expect FILE` (one already there for the same
    email or value is replaced); a file that cannot be read is explained, nothing changes."""
    from app.core.errors import InputError
    from app.io.expectfile import read_expectations

    start = str(window.settings.value("lastDir", str(Path.home())))
    name, _ = QFileDialog.getOpenFileName(
        window, "Import Expectations", start, "Expectations (*.xlsx *.xlsm *.csv)")
    if not name:
        return
    try:
        found = read_expectations(Path(name))
    except (OSError, InputError) as exc:
        window.files.show_error("Can't import the expectations", Path(name), str(exc))
        return
    window.expectations.expect(list(found), f"Import expectations from {Path(name).name}")
