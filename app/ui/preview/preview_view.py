"""The live preview: summary per group (with bars), filter box, quick filters, every user."""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.engine import Evaluation
from app.ui.base.columns import FillColumn
from app.ui.base.icons import set_icon
from app.ui.base.screen_fit import PriorityColumns, WrappingRow, fit_columns_to_content
from app.ui.preview.bar_delegate import BarDelegate
from app.ui.preview.summary_model import BAR, NAME, SummaryModel
from app.ui.preview.users_model import CHANGE, REASON, UsersModel, frame_sort_keys

QUICK = (
    ("all", "All", "Every user"),
    ("changes", "Changes", "Users whose groups change"),
    ("unmatched", "Unmatched", "Users whose value matches no row"),
    ("new groups", "New groups", "Users who join a group that does not exist yet"),
    ("drift", "Drift", "Users whose export row disagrees with the server"),
)
FILTER_DELAY_MS = 200
COPY_LIMIT = 100_000  # users copied to the clipboard at once
USER_WIDTHS = (  # sample texts setting the initial column widths
    "Isla Nakamura", "kira.lopez@example", "pending", "Sales-EMEA", "Engineering",
    "Engineering", "unmatched", "row 12: Sales-EMEA -> Sales; kept current groups",
)


def _fixed_rows(table: QTableView) -> None:
    vertical = table.verticalHeader()
    vertical.setVisible(False)
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(table.fontMetrics().height() + 8)


class UsersTable(QTableView):
    """The users table; says so when the filters leave no user to show."""

    placeholder = "No user matches these filters."

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        model = self.model()
        if model is not None and model.rowCount() == 0 and model.evaluation is not None:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.viewport().rect().adjusted(8, 24, -8, -8),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                             self.placeholder)
            painter.end()


class PreviewPanel(QWidget):
    groupClicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.summary_model = SummaryModel(self)
        self.users_model = UsersModel(self)

        self.summary = QTableView(self)
        self.summary.setModel(self.summary_model)
        self.summary.setAccessibleName("Summary per group")
        self.summary.setItemDelegateForColumn(BAR, BarDelegate(self.summary))
        self.summary.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.summary.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.summary.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary.setSortingEnabled(True)
        self.summary.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        self.summary.setAlternatingRowColors(True)
        _fixed_rows(self.summary)
        header = self.summary.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        advance = self.fontMetrics().horizontalAdvance
        for column in range(1, BAR):  # fixed widths: ResizeToContents reads every row
            title = str(self.summary_model.headerData(column, Qt.Orientation.Horizontal, 0))
            header.resizeSection(column, max(advance("−000,000"), advance(title) + 12) + 16)
        header.resizeSection(BAR, 140)
        self.group_column = FillColumn(self.summary, NAME, advance("Customer Support") + 16)
        self.summary.clicked.connect(self._summary_clicked)
        show_group = QAction("Show This Group's &Users", self.summary)
        show_group.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter),
                                 QKeySequence(Qt.Key.Key_Space)])
        show_group.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        show_group.triggered.connect(  # the keyboard's click: list the group, again: everyone
            lambda: self.summary.currentIndex().isValid()
            and self._summary_clicked(self.summary.currentIndex()))
        self.summary.addAction(show_group)
        self.summary.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Filter by name, email or value")
        self.search.setClearButtonEnabled(True)
        search_icon = self.search.addAction(QIcon(), QLineEdit.ActionPosition.LeadingPosition)
        set_icon(search_icon, "search")
        self.search.setAccessibleName("Filter users")
        search_icon.setText("Filter users")
        for button in self.search.findChildren(QToolButton):  # the icon and the clear button
            action = button.defaultAction()
            button.setAccessibleName(action.text() if action is search_icon else "Clear filter")
        self.search.setToolTip("Show users whose name, email or source value contains this text")
        self._search_timer = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self._search_timer.timeout.connect(
            lambda: self.users_model.set_filter(text=self.search.text()))
        self.search.textChanged.connect(lambda _: self._search_timer.start())

        self.quick = QButtonGroup(self)
        self.quick_buttons: dict[str, QToolButton] = {}
        quick_row = QHBoxLayout()
        quick_row.setSpacing(2)
        for key, label, tip in QUICK:
            button = QToolButton(self)
            button.setText(label)
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setToolTip(tip)
            button.setAccessibleName(f"Show {label.lower()}")
            self.quick.addButton(button)
            self.quick_buttons[key] = button
            button.clicked.connect(lambda _=False, k=key: self.set_quick(k))
            quick_row.addWidget(button)
        self.quick_buttons["all"].setChecked(True)
        self.quick_buttons["drift"].setVisible(False)

        self.group_chip = QToolButton(self)
        set_icon(self.group_chip, "cancel")
        self.group_chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.group_chip.setAutoRaise(True)
        self.group_chip.setToolTip("Show users of every group")
        self.group_chip.setVisible(False)
        self.group_chip.clicked.connect(lambda: self.set_group(""))

        self.value_chip = QToolButton(self)
        set_icon(self.value_chip, "cancel")
        self.value_chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.value_chip.setAutoRaise(True)
        self.value_chip.setToolTip("Show users of every value")
        self.value_chip.setVisible(False)
        self.value_chip.clicked.connect(lambda: self.set_value(None))

        self.count_label = QLabel(self)
        self.count_label.setAccessibleName("Users shown")

        self.users = UsersTable(self)
        self.users.setModel(self.users_model)
        self.users.setAccessibleName("Users")
        self.users.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.users.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.users.setWordWrap(False)
        self.users.setAlternatingRowColors(True)
        _fixed_rows(self.users)
        users_header = self.users.horizontalHeader()
        users_header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        users_header.setStretchLastSection(True)
        advance = self.fontMetrics().horizontalAdvance
        for column, sample in enumerate(USER_WIDTHS):
            title = str(self.users_model.headerData(column, Qt.Orientation.Horizontal, 0))
            users_header.resizeSection(column, max(advance(sample), advance(title) + 12) + 16)
        users_header.setSortIndicatorShown(True)
        users_header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        users_header.setSectionsClickable(True)
        users_header.sortIndicatorChanged.connect(self._sort)
        self.priority_columns = PriorityColumns(self.users, [CHANGE, REASON])
        self._fitted = False  # columns sized to the first export's content once

        copy = QAction("&Copy Users", self.users)
        copy.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.setToolTip("Copy the selected users as tab-separated text (pastes into Excel)")
        copy.triggered.connect(self.copy_users)
        self.users.addAction(copy)
        self.users.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        strip = QWidget(self)
        strip_layout = QHBoxLayout(strip)
        strip_layout.setContentsMargins(0, 0, 0, 0)
        strip_layout.addLayout(quick_row)
        strip_layout.addWidget(self.group_chip)
        strip_layout.addWidget(self.value_chip)
        self.filters = WrappingRow(self.search, strip, advance("Filter by name, email") + 40, self)
        self.users_box = users_box = QWidget(self)
        users_layout = QVBoxLayout(users_box)
        users_layout.setContentsMargins(0, 0, 0, 0)
        users_layout.setSpacing(4)
        users_layout.addWidget(self.filters)
        users_layout.addWidget(self.users, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.summary)
        self.splitter.addWidget(users_box)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.heading = QLabel(self)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.set_before_source("")
        heading_row = QHBoxLayout()
        heading_row.addWidget(self.heading, 1)
        heading_row.addWidget(self.count_label)  # on the heading's line: rows for the users
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(heading_row)
        layout.addWidget(self.splitter, 1)

        self.users_model.modelReset.connect(self._update_count)

    # --- inputs --------------------------------------------------------------------------

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        if evaluation is not None and evaluation.users is not self.users_model.evaluation_users:
            self._rank_in_background(evaluation.users)
        self.summary_model.set_evaluation(evaluation)
        self.users_model.set_evaluation(evaluation)
        self._show_drift()
        self._update_count()
        if evaluation is not None and not self._fitted:
            self._fitted = True
            QTimer.singleShot(0, self.fit_columns)

    def set_before_source(self, source: str) -> None:
        """Whose groups "Before" shows: the export's, or a server's after a refresh."""
        before = f" — “Before” is {escape(source)}" if source else (
            " — what changes if you sync this mapping")
        self.heading.setText(f"<b>Preview</b>{before}")
        self.heading.setToolTip("What changes if you sync this mapping; “Before” shows the"
                                " groups " + ("the server has" if source.startswith("server ")
                                              else "the export lists"))
        self.heading.setAccessibleName(self.heading.text().replace("<b>", "").replace("</b>", ""))

    def summary_height(self, rows: int) -> int:
        """The summary's height showing `rows` groups (its header and frame included)."""
        table = self.summary
        chrome = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
        return chrome + rows * table.verticalHeader().defaultSectionSize() + 2

    def fit_columns(self) -> None:
        """Columns as wide as their content on screen (up to a limit), then Change and Reason
        first if the users table still cannot show every column."""
        fit_columns_to_content(self.users)
        self.priority_columns.fit()

    def _rank_in_background(self, users) -> None:
        """Rank the export's columns on a worker thread, so a click on a header sorts a
        million users in milliseconds instead of freezing the window."""
        from app.ui.base.worker import start_task

        self._rank_task = start_task(lambda state: frame_sort_keys(users))
        self._rank_task.done.connect(lambda keys: self.users_model.add_sort_keys(users, keys))

    def _sort(self, column: int, order: Qt.SortOrder) -> None:
        """Sort (a busy cursor if the column is not ranked yet: a million users take a moment)."""
        QGuiApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        try:
            self.users_model.sort(column, order)
        finally:
            QGuiApplication.restoreOverrideCursor()

    def set_quick(self, key: str) -> None:
        self.quick_buttons[key].setChecked(True)
        self.users_model.set_filter(quick=key)

    def set_group(self, group: str) -> None:
        """Show only the users in `group` before or after ("" shows every group)."""
        self.group_chip.setText(f"Group: {group}" if group else "")
        self.group_chip.setVisible(bool(group))
        if group:
            row = self.summary_model.row_of(group)
            if row >= 0:
                self.summary.selectRow(row)
        else:
            self.summary.clearSelection()
        self.users_model.set_filter(group=group)

    def set_value(self, value: str | None) -> None:
        """Show only the users holding exactly `value` ("" no value, None every user), as a
        chip that clears it; the filter box keeps the admin's text."""
        label = "Value: (none)" if value == "" else f"Value: {value}"
        self.value_chip.setText(label.replace("&", "&&") if value is not None else "")
        self.value_chip.setVisible(value is not None)
        self.users_model.set_value_filter(value)

    def set_search(self, text: str) -> None:
        """Filter users by text at once (a problem about a value shows its users)."""
        self.search.blockSignals(True)
        self.search.setText(text)
        self.search.blockSignals(False)
        self.users_model.set_filter(text=text)

    def set_drift(self, mask: np.ndarray) -> None:
        """Flag users whose export row disagrees with the server (a new export clears it)."""
        self.users_model.set_drift(mask)
        self._show_drift()

    def _show_drift(self) -> None:
        mask = self.users_model.drift
        self.quick_buttons["drift"].setVisible(bool(mask.any()))
        self.quick_buttons["drift"].setText(f"Drift ({int(mask.sum()):,})")

    def copy_users(self) -> None:
        rows: set[int] = set()
        for span in self.users.selectionModel().selection():
            rows.update(range(span.top(), span.bottom() + 1))
        if len(rows) > COPY_LIMIT:
            self.count_label.setText(
                f"Select at most {COPY_LIMIT:,} users to copy, or use File ▸ Export Preview.")
            return
        text = self.users_model.rows_text(sorted(rows))
        if text:
            QGuiApplication.clipboard().setText(text)

    def _summary_clicked(self, index: QModelIndex) -> None:
        group = self.summary_model.group(index.row())
        self.set_group("" if group == self.users_model.filter.group else group)
        self.groupClicked.emit(group)

    def _update_count(self) -> None:
        model = self.users_model
        total = len(model.evaluation.users) if model.evaluation is not None else 0
        shown = model.rowCount()
        if not total:
            self.count_label.setText("")
        elif shown == total:
            self.count_label.setText(f"{total:,} users")
        else:
            self.count_label.setText(f"Showing {shown:,} of {total:,} users")
