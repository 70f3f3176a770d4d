"""What the sync controller needs of the main window, written down as a typed Protocol.

MainWindow implements it; a test can drive the controller with any small QWidget that does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMenu, QStatusBar, QToolBar, QWidget

    from app.ui.document import Document
    from app.ui.preview_view import PreviewPanel
    from app.ui.sync_controller import SyncController
    from app.ui.worker import Task, TaskRunner


class SyncWindow(Protocol):
    """The window side of the Server menu: where its actions go, what it reads and updates."""

    document: Document
    settings: QSettings
    server_menu: QMenu  # the "&Server" menu: the controller fills it
    help_menu: QMenu | None  # Setup help goes first here, when the window has one
    toolbar: QToolBar  # the server actions go at its end
    empty_state: QWidget | None  # the start page: a setup-help link is added to its layout
    preview: PreviewPanel | None  # its users table gets "Sync history of this user…"
    tasks: TaskRunner  # every background task starts here; `then` queues behind them
    sync_controller: SyncController

    def window(self) -> QWidget:
        """The top-level widget: parent of the controller's actions and dialogs (QWidget's)."""
        ...

    def statusBar(self) -> QStatusBar: ...

    def run_in_background(
        self, label: str, fn: Callable[..., Any], *args: Any,
        on_done: Callable[[Any], None], on_error: Callable[[BaseException], None],
    ) -> Task:
        """Run fn(state, *args) off the UI thread with the window's progress and Cancel."""
        ...

    def set_drift(self, emails: list[str]) -> None:
        """Mark these users as having other groups on the server than the export says."""
        ...
