"""The one hook the main window calls: the Server menu, its controller and the sync history."""

from __future__ import annotations

from typing import Protocol

from app.ui.server.connection import ConnectionStore
from app.ui.server.history_window import install_history
from app.ui.server.sync_controller import SyncController
from app.ui.server.sync_window import SyncWindow


class ServerWindow(SyncWindow, Protocol):
    """The window, with where it keeps its controller."""

    sync_controller: SyncController


def install_sync(window: ServerWindow, store: ConnectionStore | None = None) -> SyncController:
    """Add the Server menu and toolbar actions to the main window; returns the controller."""
    if store is None:
        store = ConnectionStore(window.settings)
    controller = SyncController(window, store)
    window.sync_controller = controller
    install_history(controller)  # Server ▸ Sync history, undo, per-user history
    return controller
