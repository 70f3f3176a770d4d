"""The sync controller needs of its window only what SyncWindow lists: a small QWidget that
implements the protocol drives Connect, Refresh and Sync against the reference server."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu, QStatusBar, QToolBar, QVBoxLayout, QWidget

from app.ui.base.document import Document
from app.ui.base.worker import TaskRunner
from app.ui.server.connection import ConnectionProfile
from app.ui.server.install import install_sync
from app.ui.server.sync_controller import SyncController
from app.ui.server.sync_window import SyncWindow
from tests.scim_fixtures import TOKEN, make_mapping
from tests.test_ui_sync_flow import GROUPS, export_users, refresh, run_sync


class BareWindow(QWidget):
    """Exactly the SyncWindow protocol, nothing of MainWindow."""

    def __init__(self, settings: QSettings) -> None:
        super().__init__()
        self.document = Document(self)
        self.settings = settings
        self.server_menu = QMenu("Server", self)
        self.help_menu: QMenu | None = None
        self.toolbar = QToolBar(self)
        self.empty_state: QWidget | None = None
        self.preview = None
        self.tasks = TaskRunner(self)
        self.sync_controller: SyncController
        self.drift: list[str] = []
        self._status = QStatusBar(self)
        QVBoxLayout(self).addWidget(self._status)

    def statusBar(self) -> QStatusBar:  # the name QMainWindow gives it
        return self._status

    def set_drift(self, emails: list[str]) -> None:
        self.drift = list(emails)


@pytest.fixture
def bare(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    win = BareWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    return win


def test_a_window_with_only_the_protocol_drives_refresh_and_sync(qtbot, bare, scim_server):
    window: SyncWindow = bare
    users = export_users(16)
    server = scim_server(users, extra_groups={"Team B": ["user002@ex.com"]})
    window.document.set_users(users, [Path("export.csv")])
    window.document.set_mapping(make_mapping(GROUPS, apply_existing=True))
    controller = install_sync(window)
    assert window.sync_controller is controller
    assert controller.refresh_action in window.server_menu.actions()
    controller.set_connection(ConnectionProfile(name="test", url=server.url), TOKEN,
                              persist=False)
    plan = refresh(qtbot, controller)
    assert bare.drift == ["user002@ex.com"]
    assert "Team B" in window.document.server_groups
    assert window.document.export_users is users
    assert window.statusBar().currentMessage().startswith("Read test:")
    result = run_sync(qtbot, controller, plan, allow=True)
    assert not result.failed and result.added
    groups = server.dump()["groups"]
    assert "user009@ex.com" in groups["Team B"]  # value B, mapped to Team B
    assert "user002@ex.com" not in groups["Team B"]  # moved to its mapped group
