"""Server ▸ Sync history: the journaled runs to the connected server, their operations,
one user's placements across runs, and "Undo this sync…".

`install_history(controller)` adds the menu entry and the users table's context action;
undo itself is app/ui/server/undo_flow.py.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InputError
from app.io.journal import RunRecord, read_runs
from app.io.journal_text import describe_placement, user_placements, when
from app.scim.http.redact import redact_url
from app.ui.server.connection_dialog import plain_label
from app.ui.server.server_context import ServerContext
from app.ui.server.sync_preview import plural
from app.ui.server.undo_flow import UndoFlow

RUN_COLUMNS = ["Run", "When (UTC)", "Mode", "Status", "Added", "Removed", "Failed", "By"]
OP_COLUMNS = ["When (UTC)", "Operation", "Group", "Users", "Outcome", "HTTP", "Reason"]
SHOWN_MEMBERS = 20  # emails per operation row; `groupmap history RUN --json` has them all


# --- the window ----------------------------------------------------------------------------


class HistoryWindow(QDialog):
    """Runs to one server (newest first) and, below, the selected run's operations."""

    def __init__(self, controller: ServerContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Sync history")
        self.resize(860, 560)
        self.runs: list[RunRecord] = []
        self.undo_flow: UndoFlow | None = None
        layout = QVBoxLayout(self)
        self.heading = plain_label("", self)
        layout.addWidget(self.heading)
        self.run_list = QTreeWidget(self)
        self.run_list.setHeaderLabels(RUN_COLUMNS)
        self.run_list.setRootIsDecorated(False)
        self.run_list.setUniformRowHeights(True)
        self.run_list.itemSelectionChanged.connect(self._show_selected)
        self.details_label = QLabel(self)
        self.details_label.setTextFormat(Qt.TextFormat.PlainText)
        self.details = QTreeWidget(self)
        self.details.setHeaderLabels(OP_COLUMNS)
        self.details.setRootIsDecorated(False)
        self.details.setUniformRowHeights(True)
        lower = QWidget(self)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.details_label)
        lower_layout.addWidget(self.details, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.run_list)
        splitter.addWidget(lower)
        layout.addWidget(splitter, 1)
        self.buttons = QDialogButtonBox(self)
        self.undo_button = self.buttons.addButton(
            "&Undo this sync…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.undo_button.setToolTip(
            "Revert what the selected run applied, where nothing changed since (previewed first)"
        )
        self.undo_button.clicked.connect(self.undo_selected)
        refresh = self.buttons.addButton("&Refresh", QDialogButtonBox.ButtonRole.ActionRole)
        refresh.clicked.connect(self.reload)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.reload()

    @property
    def url(self) -> str:
        profile = self.controller.profile
        return profile.url if profile is not None else ""

    def reload(self) -> None:
        """Read the journal folder again (another run may have finished)."""
        selected = self.selected_run()
        try:
            runs, problems = read_runs(self.url or None)
        except InputError as error:  # an unreadable journal folder: say which, list nothing
            self.runs = []
            self.heading.setText(str(error))
        else:
            self.runs = list(reversed(runs))
            where = f"to {redact_url(self.url)}" if self.url else "to every server (not connected)"
            heading = f"{plural(len(self.runs), 'run')} {where}, newest first."
            if problems:  # malformed records are named and skipped, never a traceback
                heading += f"\nSkipped in the journal: {problems[0]}"
                if len(problems) > 1:
                    heading += f" (and {len(problems) - 1:,} more)"
            self.heading.setText(heading)
        self.run_list.clear()
        for run in self.runs:
            s = run.summary()
            cells = [str(s["run"]), when(s["started"]), s["mode"], s["status"],
                     f"{s['added']:,}", f"{s['removed']:,}", f"{s['failed']:,}", s["user"]]
            item = QTreeWidgetItem(cells)
            item.setData(0, Qt.ItemDataRole.UserRole, run.run_id)
            self.run_list.addTopLevelItem(item)
        for column in range(len(RUN_COLUMNS)):
            self.run_list.resizeColumnToContents(column)
        self.details.clear()
        self.details_label.setText("Select a run to see its operations.")
        self._update_undo()
        if self.runs:  # the run selected before, else the newest: what is shown is selected
            self.select_run(selected.run_id if selected is not None else self.runs[0].run_id)
            if self.selected_run() is None:
                self.select_run(self.runs[0].run_id)

    def selected_run(self) -> RunRecord | None:
        items = self.run_list.selectedItems()
        if not items:
            return None
        run_id = items[0].data(0, Qt.ItemDataRole.UserRole)
        return next((r for r in self.runs if r.run_id == run_id), None)

    def select_run(self, run_id: int) -> None:
        for i in range(self.run_list.topLevelItemCount()):
            item = self.run_list.topLevelItem(i)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == run_id:
                self.run_list.setCurrentItem(item)
                return

    def _update_undo(self) -> None:
        run = self.selected_run()
        undoable = (
            run is not None
            and not run.start.get("dry_run")
            and run.start.get("target") != "attribute"
            and bool(self.url)
            and self.controller.task is None
        )
        self.undo_button.setEnabled(undoable)

    def _show_selected(self) -> None:
        self._update_undo()
        run = self.selected_run()
        if run is None:
            return
        self.details_label.setText(
            f"Run {run.run_id}: {run.mode} by {run.start.get('os_user') or 'unknown'}, "
            f"{run.status}; {run.source_text()}."
        )
        self.details.clear()
        for op in run.ops:
            members = [str(m.get("email", "")) for m in op.get("members") or []]
            shown = ", ".join(members[:SHOWN_MEMBERS])
            if len(members) > SHOWN_MEMBERS:
                shown += f" … and {len(members) - SHOWN_MEMBERS:,} more"
            if len(members) > 1:
                shown = f"{len(members):,}: {shown}"
            cells = [when(op.get("at", "")), str(op.get("op", "")), str(op.get("group", "")),
                     shown, str(op.get("outcome", "")), str(op.get("status") or ""),
                     str(op.get("reason") or "")]
            self.details.addTopLevelItem(QTreeWidgetItem(cells))
        for operation, group, email in run.unresolved():  # an interrupted run's last sends
            self.details.addTopLevelItem(QTreeWidgetItem(
                ["", operation, group, email, "sent, no answer recorded", "", ""]
            ))
        for column in range(3):
            self.details.resizeColumnToContents(column)
        self.details.setColumnWidth(3, 320)

    def show_user(self, email: str) -> None:
        """One user's placements across the listed runs, in the lower pane."""
        self.run_list.clearSelection()
        placements = user_placements(list(reversed(self.runs)), email)
        self.details_label.setText(
            f"{email}: {plural(len(placements), 'journaled change')} in these runs."
        )
        self.details.clear()
        for p in placements:
            item = QTreeWidgetItem(
                [when(p["at"]), str(p["op"]), str(p["group"]), email, str(p["outcome"]), "", ""]
            )
            item.setToolTip(0, describe_placement(p))
            self.details.addTopLevelItem(item)

    def undo_selected(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.undo_flow = UndoFlow(self.controller, self)
            self.undo_flow.start(run.run_id)


class HistoryHost(ServerContext, Protocol):
    """The controller, with the places where the history keeps its action and window."""

    history_action: QAction | None
    history_window: HistoryWindow | None


def install_history(controller: HistoryHost) -> None:
    """Server ▸ Sync history…, and "Sync history of this user…" on the users table."""
    window = controller.window
    action = QAction("S&ync history…", window.window())
    action.setToolTip("Every sync to this server: when, who, what changed; undo a sync")
    action.triggered.connect(lambda: open_history(controller))
    window.server_menu.insertAction(controller.help_action, action)
    controller.history_action = action
    if window.preview is None:
        return
    users = window.preview.users
    per_user = QAction("Sync &history of this user…", users)
    per_user.setToolTip("The groups the journaled syncs added this user to or removed them from")

    def show_user() -> None:
        index = users.currentIndex()
        if not index.isValid():
            return
        from app.ui.preview.users_model import EMAIL

        email = str(users.model().index(index.row(), EMAIL).data() or "")
        if email:
            open_history(controller).show_user(email)

    per_user.triggered.connect(show_user)
    users.addAction(per_user)


def open_history(controller: HistoryHost) -> HistoryWindow:
    window = controller.history_window
    if window is None:
        window = HistoryWindow(controller, controller.dialog_parent())
        controller.history_window = window
        controller.synced.connect(lambda _result: window.reload())
    else:
        window.reload()
    window.show()
    window.raise_()
    return window
