"""The sync controller's place in the window: the Server menu, Setup help in the Help menu,
the toolbar's connection label and actions, and the start page's setup-help link.

Everything goes through the SyncWindow protocol (app/ui/server/sync_window.py); the actions are
attributes of the controller, which enables them and connects nothing else of the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QBoxLayout, QPushButton

from app.ui.base.screen_fit import ElidingLabel

if TYPE_CHECKING:
    from app.ui.server.server_context import ServerContext


def build_server_actions(controller: ServerContext) -> None:
    """Connect…, Refresh, Preview changes, Apply saved plan…, Setup help; menu and toolbar."""
    c = controller
    window = c.window.window()
    c.connect_action = QAction("&Connect…", window)
    c.connect_action.setToolTip("Choose or edit a SCIM connection (URL, token, target)")
    c.refresh_action = QAction("&Refresh from server", window)
    c.refresh_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
    keys = c.refresh_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    c.refresh_action.setToolTip(
        "Read the managed groups and the export's users from the server"
        + (f" ({keys})" if keys else "")
    )
    c.preview_action = QAction("&Preview changes…", window)
    c.preview_action.setToolTip("Show what a sync would change, before writing anything")
    c.apply_plan_action = QAction("&Apply saved plan…", window)
    c.apply_plan_action.setToolTip(
        "Apply a plan saved for approval, exactly as saved, after checking it still fits"
    )
    c.help_action = QAction("Setup &help…", window)
    c.connect_action.triggered.connect(c.open_connection_dialog)
    c.refresh_action.triggered.connect(c.refresh)
    c.preview_action.triggered.connect(c.preview)
    c.apply_plan_action.triggered.connect(c.saved_plans.choose)
    c.help_action.triggered.connect(lambda: c.show_help("Okta"))
    menu = c.window.server_menu
    menu.addAction(c.connect_action)
    menu.addSeparator()
    for action in (c.refresh_action, c.preview_action, c.apply_plan_action):
        menu.addAction(action)
    menu.addSeparator()
    menu.addAction(c.help_action)
    help_menu = c.window.help_menu
    if help_menu is not None:  # where an admin looks for help first
        first = help_menu.actions()[0] if help_menu.actions() else None
        if first is None:
            help_menu.addAction(c.help_action)
        else:
            help_menu.insertAction(first, c.help_action)
    c.status_label = ElidingLabel(window)  # elided in a narrow window's toolbar
    c.status_label.setTextFormat(Qt.TextFormat.PlainText)
    c.status_label.setContentsMargins(8, 0, 8, 0)
    c.empty_help_button = _add_help_to_empty_state(c)
    toolbar = c.window.toolbar
    toolbar.addSeparator()
    toolbar.addWidget(c.status_label)
    for action in (c.connect_action, c.refresh_action, c.preview_action):
        toolbar.addAction(action)


def _add_help_to_empty_state(controller: ServerContext) -> QPushButton | None:
    """A setup-help link on the window's start page, where a new admin begins."""
    page = controller.window.empty_state
    layout = page.layout() if page is not None else None
    if not isinstance(layout, QBoxLayout):
        return None
    button = QPushButton("How to send “Identity Provider Group” from your identity provider…")
    button.setFlat(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setStyleSheet("color: palette(link); text-decoration: underline;")
    button.clicked.connect(lambda: controller.show_help("Okta"))
    layout.insertWidget(layout.count() - 1, button, 0, Qt.AlignmentFlag.AlignHCenter)
    return button
