"""Connect reads the server at once, and the preview's heading says whose "before" it shows."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from app.ui.server.connection import ConnectionProfile
from tests.scim_fixtures import TOKEN, make_mapping
from tests.test_ui_sync_flow import GROUPS, WAIT, export_users, open_export


def test_connect_refreshes_and_the_heading_names_the_server(qtbot, window, scim_server):
    users = export_users(16)
    server = scim_server(users)
    open_export(window, users, make_mapping(GROUPS))
    heading = window.preview.heading
    assert "the export export.csv" in heading.text()
    controller = window.sync_controller
    answer = SimpleNamespace(profile=ConnectionProfile(name="staging", url=server.url),
                             token=TOKEN, checked=True)
    with qtbot.waitSignal(controller.refreshed, timeout=WAIT):
        controller._accept_connection(answer)  # the Connect dialog's OK
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    assert controller.server_state is not None  # no F5 needed
    assert "server staging" in heading.text()
    window.document.set_users(export_users(8), [Path("pending.csv")])  # another export
    assert "the export pending.csv" in heading.text()
