"""The Server menu of the main window: connect, refresh from server, preview changes, sync.

`install_sync(window)` (app/ui/server/install.py) is the one hook the main window calls. The
controller keeps the connection (profile + token, the token only in memory and the TokenStore),
runs every network step through the window's TaskRunner (app/ui/base/worker.py) and talks to the
window only through the SyncWindow protocol (app/ui/server/sync_window.py): it feeds
`document.set_current_groups_from_server`, `document.set_server_groups` and `set_drift(...)`.
Its menu and toolbar entries are built by app/ui/server/sync_actions.py.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from app.core.expectations import failures
from app.scim.config.probe import describe_error
from app.scim.http.errors import AuthError, ConnectError
from app.scim.http.redact import redact, redact_url
from app.scim.sync.estimate import watched_settings
from app.ui.base.file_names import proposed_name
from app.ui.base.screen_fit import ElidingLabel
from app.ui.base.worker import Task
from app.ui.mapping.expectations_panel import confirm_despite_failed_expectations
from app.ui.server.connection import ConnectionProfile, ConnectionStore
from app.ui.server.connection_dialog import ConnectionDialog
from app.ui.server.history_window import HistoryWindow
from app.ui.server.plan_flow import SavedPlanFlow, add_save_button
from app.ui.server.setup_help import show_setup_help
from app.ui.server.sync_actions import build_server_actions
from app.ui.server.sync_dialog import SyncDialog
from app.ui.server.sync_journal import begin_sync_journal
from app.ui.server.sync_preview import PlanDialog, plural, report_summary, save_frame
from app.ui.server.sync_tasks import plan_task, retry_task, sync_task
from app.ui.server.sync_window import SyncWindow

if TYPE_CHECKING:
    from app.core.users import UserList
    from app.scim.config.settings import SyncSettings
    from app.scim.sync.plan import SyncPlan
    from app.scim.sync.result import SyncResult
    from app.scim.sync.state import ServerState
    from app.ui.server.setup_help import SetupHelpDialog

READ_SERVER = "read-server"  # the key of a server read: a newer read supersedes it

CONNECTION_STATES = {  # after "Server: <name>" in the toolbar
    "unchecked": " (not checked yet)",
    "connected": " · connected",
    "failed": " · not reachable",
}


class SyncController(QObject):
    """Owns the connection and the sync state of one main window."""

    connectionChanged = Signal()
    refreshed = Signal(object)  # ServerState
    planned = Signal(object)  # SyncPlan
    synced = Signal(object)  # SyncResult
    failed = Signal(str)  # plain-text explanation
    connect_action: QAction  # these are built by app/ui/server/sync_actions.py
    refresh_action: QAction
    preview_action: QAction
    apply_plan_action: QAction
    help_action: QAction
    status_label: ElidingLabel
    empty_help_button: QPushButton | None  # on the start page, when the window has one

    def __init__(self, window: SyncWindow, store: ConnectionStore | None = None) -> None:
        super().__init__(window.window())
        self.window = window
        self.document = window.document
        self.store = store if store is not None else ConnectionStore()
        self.profile: ConnectionProfile | None = None
        self.token = ""
        self.server_state: ServerState | None = None
        self.plan: SyncPlan | None = None
        self.result: SyncResult | None = None
        self.task: Task[Any] | None = None  # the controller's running task (read or write)
        self.plan_dialog: PlanDialog | None = None
        self.connection_state = "unchecked"  # CONNECTION_STATES: what the toolbar says
        # (export paths, groups by email, drift) of the last read
        self._server_read: tuple[list[Path], dict[str, tuple[str, ...]], list[str]] | None = None
        self.sync_dialog: SyncDialog | None = None
        self.help_dialog: SetupHelpDialog | None = None
        self.history_action: QAction | None = None  # Server ▸ Sync history… (install_history)
        self.history_window: HistoryWindow | None = None  # once opened
        self.saved_plans = SavedPlanFlow(self)
        self.document.usersChanged.connect(self._update_actions)
        self.document.exportChanged.connect(self._on_export_changed)
        app = QCoreApplication.instance()
        if app is not None:  # quitting mid-sync stops between requests instead of hanging
            app.aboutToQuit.connect(self.cancel)
        build_server_actions(self)
        self._update_actions()

    # --- window integration -------------------------------------------------------------

    def _update_actions(self) -> None:
        connected = self.profile is not None
        has_users = self.document.users is not None
        idle = self.task is None
        self.connect_action.setEnabled(idle)
        for action in (self.refresh_action, self.preview_action):
            action.setEnabled(connected and has_users and idle)
        self.apply_plan_action.setEnabled(connected and idle)
        if self.profile is None:
            self.status_label.setText("Not connected")
        else:
            self.status_label.setText(f"Server: {self.profile.name}"
                                      f"{CONNECTION_STATES[self.connection_state]}")
        self.status_label.setToolTip(redact_url(self.profile.url) if self.profile else "")

    def _on_export_changed(self) -> None:
        if not self._reapply_server_groups():
            self.server_state = None

    def _reapply_server_groups(self) -> bool:
        """The same export read again (another source column, or undoing it): keep what the
        server said, so "before" and Drift do not fall back to the export."""
        read = self._server_read
        if read is None or self.document.users is None:
            return False
        paths, groups_by_email, drift = read
        if list(self.document.export_paths) != paths:
            self._server_read = None
            return False
        self.document.set_current_groups_from_server(groups_by_email)
        self.window.set_drift(drift)
        return True

    @property
    def export_users(self) -> UserList | None:
        """The users as exported (before "current groups" were replaced by the server's)."""
        return self.document.export_users

    # --- connection ---------------------------------------------------------------------

    def open_connection_dialog(self) -> ConnectionDialog:
        current = self.profile.name if self.profile else ""
        dialog = ConnectionDialog(self.store, self.dialog_parent(), current)
        dialog.helpRequested.connect(lambda: self.show_help("Service provider", dialog))
        dialog.accepted.connect(lambda: self._accept_connection(dialog))
        dialog.open()
        return dialog

    def _accept_connection(self, dialog: ConnectionDialog) -> None:
        """Connect, then read the server at once: "before" is the server's, not the export's."""
        if dialog.profile is not None:
            self.set_connection(dialog.profile, dialog.token, checked=dialog.checked)
            self.refresh_when_ready()

    def set_connection(
        self, profile: ConnectionProfile, token: str, *, persist: bool = True,
        checked: bool = False,
    ) -> None:
        """Use this connection; `persist=False` keeps profile and token for this session;
        `checked`: the server just answered a test (the toolbar says "connected")."""
        if not persist:
            self.store.save(profile, persist=False)
            self.store.tokens.set(profile.name, token, remember=False)
        self.profile, self.token = profile, token
        self.connection_state = "connected" if checked else "unchecked"
        self._server_read = None
        self.server_state = None
        self._update_actions()
        self.connectionChanged.emit()

    def show_help(self, tab: str = "Okta", parent: QWidget | None = None) -> SetupHelpDialog:
        self.help_dialog = show_setup_help(parent or self.dialog_parent(), tab)
        return self.help_dialog

    def dialog_parent(self) -> QWidget:
        return self.window.window()

    def sync_settings(
        self, allow_mass_removal: bool = False, plan: SyncPlan | None = None
    ) -> SyncSettings:
        """The connection's settings; for writing a plan, watched ones (the app shows the time
        left and Cancel, so the deadline makes room for the change budget's planned time)."""
        assert self.profile is not None
        settings = self.profile.sync_settings(self.token)
        if allow_mass_removal:
            from dataclasses import replace

            settings = replace(settings, allow_mass_removal=True)
        return settings if plan is None else watched_settings(plan, settings)

    # --- refresh and preview ------------------------------------------------------------

    def refresh(self) -> None:
        """Read the server, then update the grid's "before", known groups and drift."""
        self._read_server(show_plan=False)

    def preview(self) -> None:
        """Read the server afresh, plan, and show the plan (its "Sync now" runs the sync)."""
        self._read_server(show_plan=True)

    def _read_server(self, show_plan: bool) -> None:
        """A read already running is superseded (the newest read wins); a sync, a plan check
        or an undo's read is not; an import is waited for."""
        if self.profile is None or self.export_users is None:
            return
        if self.task is not None and self.task.key != READ_SERVER:
            return
        if self.task is None and self.window.tasks.busy:  # an import: read right after it
            self.window.tasks.then(lambda: self._read_server(show_plan), key=READ_SERVER)
            return
        self.start_read(
            f"Reading {self.profile.name}…",
            plan_task,
            self.profile,
            self.token,
            self.export_users,
            self.document.mapping,
            self.sync_settings(),
            [str(p) for p in self.document.export_paths],  # drift less this app's own changes
            self.document.take_listing(self.profile.url),  # a scim: source's, read once
            on_done=lambda out: self._on_read(out, show_plan),
            key=READ_SERVER,
        )

    def start_read(
        self, label: str, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], object],
        key: Hashable | None = None,
    ) -> Task[Any]:
        """Start a read of the server as the window's current task (status bar progress and
        Cancel); its errors are explained, and the actions wait for it."""
        task = self.window.tasks.start(fn, *args, label=label, key=key)
        task.done.connect(on_done)
        task.error.connect(self.show_error)
        task.finished.connect(self._task_finished)
        self._set_task(task)
        return task

    def refresh_when_ready(self) -> None:
        """Refresh as soon as an export is open (the demo connects before it has loaded)."""
        if self.document.users is not None:
            self.refresh()
            return

        def once() -> None:
            self.document.usersChanged.disconnect(once)
            QTimer.singleShot(0, self.refresh)

        self.document.usersChanged.connect(once)

    def _on_read(
        self, out: tuple[ServerState, SyncPlan, list[str], dict[str, tuple[str, ...]]],
        show_plan: bool,
    ) -> None:
        state, plan, group_names, groups_by_email = out
        self.connection_state = "connected"
        self.server_state, self.plan = state, plan
        drift = [d.email for d in plan.drift]
        self._server_read = (list(self.document.export_paths), groups_by_email, drift)
        self.document.set_current_groups_from_server(groups_by_email)
        if group_names:
            self.document.set_server_groups(group_names)
        self.window.set_drift(drift)
        found = f"{len(state.user_ids):,} users found"
        if plan.drift:
            found += f", {len(plan.drift):,} with drift"
        next_step = ("The server already matches the mapping." if plan.is_empty
                     else "Next: Preview changes.")
        name = self.profile.name if self.profile else "the server"
        self._say(f"Read {name}: {found}. {next_step}")
        self.refreshed.emit(state)
        self.planned.emit(plan)
        if show_plan:  # once this read task has finished, so "Sync now" can start at once
            QTimer.singleShot(0, lambda: self.show_plan(plan))

    def show_plan(self, plan: SyncPlan) -> PlanDialog:
        dialog = PlanDialog(plan, self.dialog_parent())
        dialog.server_name = self.profile.name if self.profile is not None else ""
        add_save_button(dialog, self)
        dialog.accepted.connect(lambda: self.sync(plan, dialog.allow_mass_removal))
        self.plan_dialog = dialog
        dialog.open()
        return dialog

    # --- sync ---------------------------------------------------------------------------

    def _sync_dialog(self) -> SyncDialog:
        if self.sync_dialog is None:
            dialog = SyncDialog(self.dialog_parent(), "Sync to the server")
            dialog.cancelRequested.connect(self.cancel)
            dialog.retryRequested.connect(self.retry_failed)
            dialog.exportRequested.connect(self.export_report)
            dialog.finished.connect(self._after_sync_closed)
            self.sync_dialog = dialog
        return self.sync_dialog

    def sync(self, plan: SyncPlan, allow_mass_removal: bool = False) -> None:
        if self.profile is None:
            return
        if self.window.tasks.busy:  # a read is finishing: start right after it
            self.window.tasks.then(lambda: self.sync(plan, allow_mass_removal))
            return
        evaluation = self.document.evaluation
        failing = bool(evaluation is not None and failures(evaluation))
        if not confirm_despite_failed_expectations(self.dialog_parent(), self.document):
            return
        settings = self.sync_settings(allow_mass_removal, plan)
        # asks about a suspicious export; journals what the admin chose to override
        journal = begin_sync_journal(self, plan, settings, expectations_ignored=failing)
        if journal is None:
            return
        self.run_write(f"Syncing to {self.profile.name}…",
                        partial(sync_task, journal=journal), plan, settings)

    def retry_failed(self) -> None:
        if self.result is None or not self.result.failed or self.task is not None:
            return
        self.run_write(f"Retrying {plural(len(self.result.failed), 'failed operation')}…",
                        retry_task, self.result, self.sync_settings(True, self.result.plan),
                        new_log=False)

    def run_write(self, title: str, fn: Callable[..., SyncResult], subject: Any,
                   settings: SyncSettings, new_log: bool = True) -> None:
        """Show the sync dialog running `title` (its log cleared for a new run) and start the
        write: a sync, an applied plan, an undo or a retry."""
        assert self.profile is not None
        dialog = self._sync_dialog()
        if new_log:
            dialog.log.clear()
        dialog.clear_result()
        dialog.set_running(True, title)
        dialog.show()
        task = self.window.tasks.start(
            fn, self.profile, self.token, subject, settings, keep_result=True)
        task.progress.connect(lambda v: dialog.set_progress(*v) if isinstance(v, tuple) else None)
        task.partial.connect(lambda line: dialog.append_log(redact(str(line), self.token)))
        task.done.connect(self._on_synced)
        task.error.connect(self.show_error)
        task.finished.connect(self._task_finished)
        self._set_task(task)

    def cancel(self) -> None:
        """Stop between requests: a running sync returns a result marked cancelled."""
        self.window.tasks.cancel(self.task)

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 15_000)

    def _on_synced(self, result: SyncResult) -> None:
        self.result = result
        self._say("Sync cancelled." if result.cancelled else (
            f"Sync finished with {plural(len(result.failed), 'failed operation')}." if result.failed
            else "Sync finished."))
        if self.sync_dialog is not None:
            self.sync_dialog.show_result(result)
        self.synced.emit(result)

    def _after_sync_closed(self) -> None:
        """Show the server's new state in the grid once the admin closes the sync window."""
        if self.result is not None and (self.result.added or self.result.removed
                                        or self.result.created_groups):
            self.refresh()

    def export_report(self) -> Path | None:
        if self.result is None:
            return None
        sheets = {"Sync report": self.result.report_frame(),
                  "Summary": report_summary(self.result, self.profile)}
        server = self.profile.name if self.profile is not None else ""
        return save_frame(self.dialog_parent(), sheets, proposed_name("sync-report", server),
                          "Export the report")

    # --- shared -------------------------------------------------------------------------

    def _set_task(self, task: Task[Any]) -> None:
        self.task = task
        self._update_actions()

    def _task_finished(self) -> None:
        self.task = None
        self._update_actions()

    def show_error(self, exc: BaseException) -> None:
        text = redact(describe_error(exc), self.token)
        if isinstance(exc, ConnectError | AuthError):
            self.connection_state = "failed"
            self._update_actions()
        if self.sync_dialog is not None and self.sync_dialog.running:
            self.sync_dialog.show_error(text)
        elif self.dialog_parent().isVisible():
            box = QMessageBox(QMessageBox.Icon.Warning, "GroupMap", "", parent=self.dialog_parent())
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setText(text)
            box.open()
        self.failed.emit(text)
