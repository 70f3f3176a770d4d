"""`groupmap demo`: the app, the bundled sample, and a seeded SCIM server on loopback.

The server (scim2-server, in memory) starts on a free 127.0.0.1 port with the sample's users,
their current groups and a few extra groups (resources/sample/demo_groups.json); the app
opens with the sample export and mapping, connected to it with a random session token that
is never stored. The server stops when the app closes.

Without a display (a Linux machine with neither DISPLAY nor WAYLAND_DISPLAY), or with
`--headless`, the same path runs offscreen: refresh, preview, sync, and a printed summary.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.io.journal import JOURNAL_ENV
from app.resources import resource_path

if TYPE_CHECKING:
    from app.ui.server.sync_controller import SyncController
    from app.ui.server.sync_window import SyncWindow
    from app.ui.shell.main_window import MainWindow

DEMO_CONNECTION = "Demo server (local)"
HEADLESS_LIMIT_MS = 90_000


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def demo_inputs() -> tuple[Path, Path, dict[str, list[str]]]:
    """The sample export, the sample mapping and the extra server groups."""
    users = resource_path("sample", "users.csv")
    mapping = resource_path("sample", "mapping.csv")
    extra: dict[str, list[str]] = {}
    try:
        raw = json.loads(resource_path("sample", "demo_groups.json").read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        raw = {}
    for name, emails in raw.items():
        if not name.startswith("_") and isinstance(emails, list):
            extra[name] = [str(e) for e in emails]
    return users, mapping, extra


def start_demo_server(users_path: Path, extra: dict[str, list[str]], token: str):
    """A started LocalScimServer seeded from the sample export."""
    from app.io import read_users
    from app.scim.server import LocalScimServer

    server = LocalScimServer(read_users([users_path]), token=token, extra_groups=extra)
    server.start()
    return server


def connect_window(window: SyncWindow, url: str, token: str) -> SyncController:
    """Connect the window's sync controller to the demo server (session only) and refresh."""
    from app.ui.server.connection import ConnectionProfile

    controller = window.sync_controller
    profile = ConnectionProfile(name=DEMO_CONNECTION, url=url)
    controller.set_connection(profile, token, persist=False)
    controller.refresh_when_ready()
    return controller


def _headless_driver(controller: SyncController) -> None:
    """Offscreen: after the refresh, plan and sync without dialogs, print, then quit."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.ui.server.sync_dialog import result_summary
    from app.ui.server.sync_preview import plan_summary

    def on_planned(plan: Any) -> None:
        controller.planned.disconnect(on_planned)
        print("Preview:", plan_summary(plan))
        QTimer.singleShot(0, lambda: controller.sync(plan))  # after the read task has ended

    def on_synced(result: Any) -> None:
        print(result_summary(result))
        QApplication.instance().exit(1 if result.failed else 0)

    def on_failed(text: str) -> None:
        print(f"groupmap demo: {text}", file=sys.stderr)
        QApplication.instance().exit(1)

    def too_slow() -> None:
        print("groupmap demo: the headless demo did not finish in time.", file=sys.stderr)
        QApplication.instance().exit(1)

    controller.refreshed.connect(lambda state: print("Refreshed from the demo server."))
    controller.planned.connect(on_planned)
    controller.synced.connect(on_synced)
    controller.failed.connect(on_failed)
    QTimer.singleShot(HEADLESS_LIMIT_MS, too_slow)


def _go_offscreen() -> None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")  # offscreen noise
    print("Running the demo offscreen: refresh, preview and sync, then a summary.")


def run_demo(headless: bool = False) -> int:
    """Start the seeded server, open the app connected to it, stop the server at exit."""
    if not headless and not has_display():
        print("No display found (DISPLAY and WAYLAND_DISPLAY are unset).")
        headless = True
    if headless:
        _go_offscreen()
    elif sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        # If no window can open (missing X11 libraries), Qt falls back to offscreen instead
        # of aborting, and the demo runs headless with a note on what to install.
        wayland = "wayland;" if os.environ.get("WAYLAND_DISPLAY") else ""
        os.environ["QT_QPA_PLATFORM"] = f"{wayland}xcb;offscreen"
    from app.ui.shell.app import run_app

    users_path, mapping_path, extra = demo_inputs()
    token = secrets.token_urlsafe(24)
    # The demo's runs go to a throwaway server: keep them out of the admin's sync history.
    journal = tempfile.TemporaryDirectory(prefix="groupmap-demo-journal-")
    os.environ.setdefault(JOURNAL_ENV, journal.name)
    server = start_demo_server(users_path, extra, token)
    print(f"Demo SCIM server running at {server.url} (stops when the app closes).")
    try:

        def setup(window: MainWindow) -> None:
            from PySide6.QtGui import QGuiApplication

            controller = connect_window(window, server.url, token)
            offscreen = QGuiApplication.platformName() == "offscreen"
            if offscreen and not headless:
                print(
                    "Could not open a window: the display is not reachable, or Qt's X11 "
                    "libraries are missing (README's Quick start lists them)."
                )
                _go_offscreen()
            if headless or offscreen:
                _headless_driver(controller)

        return run_app([users_path], mapping_path=mapping_path, setup=setup)
    finally:
        server.stop()
        journal.cleanup()
