"""State that must not silently change: a re-read export keeps the server's groups; Connect
tests the server first and the toolbar says how the connection stands."""

from __future__ import annotations

import socket
from pathlib import Path

from app.ui.base.document import Document
from tests.scim_fixtures import TOKEN, make_mapping
from tests.test_ui_sync_flow import GROUPS, WAIT, connect, export_users, open_export, refresh


def test_the_export_read_again_keeps_the_server_state_and_drift(qtbot, window, scim_server):
    users = export_users()
    server = scim_server(users, extra_groups={"Team B": ["user002@ex.com"]})
    open_export(window, users, make_mapping(GROUPS, apply_existing=True))
    controller = connect(window, server)
    refresh(qtbot, controller)
    assert window.preview.quick_buttons["drift"].isVisibleTo(window)
    # The source column changed: the same export comes back with the export's groups.
    window.document.set_users(export_users(), [Path("export.csv")])
    frame = window.document.users.frame.set_index("email")
    assert set(frame.loc["user002@ex.com", "groups"].split("; ")) == {"Team A", "Team B"}
    assert window.preview.quick_buttons["drift"].isVisibleTo(window)
    assert controller.export_users.frame.loc[2, "groups"] == "Team A"  # still the export's
    window.document.set_users(export_users(), [Path("another.csv")])  # another export: gone
    assert not window.preview.quick_buttons["drift"].isVisibleTo(window)


def test_the_document_keeps_the_export_users_beside_the_servers_before(qtbot):
    document = Document()
    users = export_users(4)
    with qtbot.waitSignal(document.exportChanged):
        document.set_users(users, [Path("export.csv")])
    replaced = []
    document.exportChanged.connect(lambda: replaced.append(True))
    with qtbot.waitSignal(document.usersChanged):
        document.set_current_groups_from_server({"user001@ex.com": ["Team B"]})
    assert replaced == []  # the export itself did not change
    assert document.export_users is users
    assert document.users.frame.loc[1, "groups"] == "Team B"
    assert document.users.frame.loc[0, "groups"] == ""
    document.set_users(None)
    assert document.export_users is None and document.users is None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connect_to_a_refused_url_fails_at_once_and_stays_open(qtbot, window):
    controller = window.sync_controller
    dialog = controller.open_connection_dialog()
    dialog.name.setText("Staging")
    dialog.url.setText(f"http://127.0.0.1:{closed_port()}/scim/v2")
    dialog.token_edit.setText(TOKEN)
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Not connected"), timeout=WAIT)
    assert dialog.isVisible() and "Check the URL" in dialog.status.text()
    assert controller.profile is None
    assert controller.status_label.text() == "Not connected"
    dialog.reject()


def test_connect_tests_first_and_the_toolbar_says_connected(qtbot, window, scim_server):
    server = scim_server(export_users(4))
    controller = window.sync_controller
    dialog = controller.open_connection_dialog()
    dialog.name.setText("Staging")
    dialog.url.setText(server.url)
    dialog.token_edit.setText(TOKEN)
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: controller.profile is not None, timeout=WAIT)
    assert controller.status_label.text() == "Server: Staging · connected"
    controller.set_connection(controller.profile, TOKEN, persist=False)
    assert controller.status_label.text() == "Server: Staging (not checked yet)"
