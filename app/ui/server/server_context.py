"""What the Server menu's flows use of the sync controller, written down as a typed Protocol.

The flows (its menu and toolbar entries, plans, undo, history, the journal question) receive
the controller as a ServerContext instead of importing SyncController, which imports them:
the arrows point one way, and mypy checks SyncController against this protocol where
install_sync (app/ui/server/install.py) hands it to them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QPushButton, QWidget

    from app.scim.config.settings import SyncSettings
    from app.scim.sync.plan import SyncPlan
    from app.scim.sync.result import SyncResult
    from app.ui.base.document import Document
    from app.ui.base.screen_fit import ElidingLabel
    from app.ui.base.worker import Task
    from app.ui.server.connection import ConnectionProfile
    from app.ui.server.sync_window import SyncWindow


class PlanChooser(Protocol):
    def choose(self) -> None:
        """Ask for a saved plan file and open it for applying."""
        ...


class ServerContext(Protocol):
    """The connection, the current task and the shared steps of the Server menu."""

    window: SyncWindow
    document: Document
    profile: ConnectionProfile | None
    token: str
    task: Task[Any] | None
    connect_action: QAction  # built by app/ui/server/sync_actions.py
    refresh_action: QAction
    preview_action: QAction
    apply_plan_action: QAction
    help_action: QAction
    status_label: ElidingLabel
    empty_help_button: QPushButton | None

    @property
    def synced(self) -> SignalInstance:
        """Emitted with the SyncResult when a write ends."""
        ...

    @property
    def saved_plans(self) -> PlanChooser: ...

    def refresh(self) -> None: ...

    def preview(self) -> None: ...

    def open_connection_dialog(self) -> QWidget: ...

    def show_help(self, tab: str = "Okta", parent: QWidget | None = None) -> QWidget: ...

    def dialog_parent(self) -> QWidget:
        """The top-level window: parent of the flows' dialogs."""
        ...

    def sync_settings(
        self, allow_mass_removal: bool = False, plan: SyncPlan | None = None
    ) -> SyncSettings: ...

    def start_read(
        self, label: str, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], object],
        key: Hashable | None = None,
    ) -> Task[Any]: ...

    def run_write(self, title: str, fn: Callable[..., SyncResult], subject: Any,
                  settings: SyncSettings, new_log: bool = True) -> None: ...

    def show_error(self, exc: BaseException) -> None:
        """Explain a failure in one line: in the sync window while it runs, else a message."""
        ...
