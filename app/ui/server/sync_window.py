"""What the sync controller needs of the main window, written down as a typed Protocol.

MainWindow implements it; a test drives the controller with a small QWidget that does, and
mypy checks the controller, its flows and MainWindow against it. The controller and its flows
(sync_controller.py, sync_actions.py, plan_flow.py, undo_flow.py, history_window.py) use
nothing else of the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMenu, QStatusBar, QToolBar, QWidget

    from app.ui.base.document import Document
    from app.ui.base.worker import TaskRunner
    from app.ui.preview.preview_view import PreviewPanel


class SyncWindow(Protocol):
    """The window side of the Server menu: where its actions go, what it reads and updates."""

    @property
    def document(self) -> Document: ...

    @property
    def settings(self) -> QSettings: ...

    @property
    def server_menu(self) -> QMenu:
        """The "&Server" menu: the controller fills it."""
        ...

    @property
    def help_menu(self) -> QMenu | None:
        """Setup help goes first here, when the window has one."""
        ...

    @property
    def toolbar(self) -> QToolBar:
        """The server actions go at its end."""
        ...

    @property
    def empty_state(self) -> QWidget | None:
        """The start page: a setup-help link is added to its layout."""
        ...

    @property
    def preview(self) -> PreviewPanel | None:
        """Its users table gets "Sync history of this user…"."""
        ...

    @property
    def tasks(self) -> TaskRunner:
        """Every background task starts here: with a label, the window shows its progress and
        Cancel; with a key, it supersedes a running one; `then` queues behind them."""
        ...

    def window(self) -> QWidget:
        """The top-level widget: parent of the controller's actions and dialogs (QWidget's)."""
        ...

    def statusBar(self) -> QStatusBar: ...

    def set_drift(self, emails: list[str]) -> None:
        """Mark these users as having other groups on the server than the export says."""
        ...
