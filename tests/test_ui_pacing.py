"""Pacing in the app: the provider preset and rate of a connection, the estimate in "Preview
changes", a sync through a rate limit, and a time left that follows the limiter."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings

from app.scim.config.tokens import TokenStore
from app.ui.server.connection import ConnectionProfile, ConnectionStore
from app.ui.server.connection_dialog import ConnectionDialog
from app.ui.server.sync_dialog import SyncDialog
from tests.scim_fixtures import TOKEN, expected_groups, make_mapping, make_users

VALUES = ["A", "B", "C", "D"]
MAPPING = make_mapping({v: f"Team {v}" for v in VALUES})
WAIT = 30_000  # ms: an upper bound for liveness, never a timing assertion



def test_a_connections_preset_and_rate_are_kept_and_an_explicit_rate_wins(
    qtbot, tmp_path, monkeypatch
):
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    ini, saved = str(tmp_path / "s.ini"), tmp_path / "connections.json"
    store = ConnectionStore(QSettings(ini, QSettings.Format.IniFormat), TokenStore(), saved)
    dialog = ConnectionDialog(store)
    qtbot.addWidget(dialog)
    dialog.name.setText("zoom")
    dialog.url.setText("https://api.zoom.us/scim2")
    dialog.vendor.setCurrentIndex(dialog.vendor.findData("zoom"))
    profile = dialog.edited_profile()
    assert profile.vendor == "zoom" and profile.max_rate == 0.0
    settings = profile.sync_settings(TOKEN)
    assert settings.max_rate == 1.0 and settings.concurrency == 1 and settings.profile == "zoom"

    store.save(replace(profile, max_rate=0.5))
    again = ConnectionStore(
        QSettings(ini, QSettings.Format.IniFormat), TokenStore(), saved
    ).get("zoom")
    assert again.vendor == "zoom" and again.max_rate == 0.5
    assert again.sync_settings(TOKEN).max_rate == 0.5  # the explicit rate overrides the preset


def test_the_time_left_follows_the_limiter(qtbot):
    dialog = SyncDialog()
    qtbot.addWidget(dialog)
    dialog.set_progress(10, 100, elapsed=1.0)  # no limit known: the pace so far
    assert "about 9 s left" in dialog.counts.text()
    dialog.set_progress(10, 100, elapsed=1.0, rate=0.5)  # the server allows 1 every 2 s
    assert "about 3 min left" in dialog.counts.text()
    assert "paced at 30 requests a minute" in dialog.counts.text()
    dialog.set_progress(10, 100, elapsed=1.0, rate=1.0, paused=30.0)
    assert "about 2 min left" in dialog.counts.text()
    assert "the server asked to wait 30 s" in dialog.counts.text()


def test_preview_shows_the_estimate_and_the_sync_completes_behind_a_rate_limit(
    qtbot, window, scim_server, rate_proxy
):
    users = make_users(200, VALUES)
    server = scim_server(users)
    proxy = rate_proxy(server.url, rate=40.0, burst=5.0, mode="retry_after")
    window.document.set_users(users, [])
    window.editor.reset(MAPPING)
    controller = window.sync_controller
    profile = ConnectionProfile(name="limited", url=proxy.url, max_rate=30.0)
    controller.set_connection(profile, TOKEN, persist=False)

    with qtbot.waitSignal(controller.planned, timeout=WAIT):
        controller.refresh()
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    controller.preview()
    qtbot.waitUntil(lambda: controller.plan_dialog is not None, timeout=WAIT)
    dialog = controller.plan_dialog
    # 4 new groups of 50: a create with the first 50 members each.
    assert dialog.estimate.text() == (
        "Writing takes about 4 requests, about 1 second at 30 requests a second."
    )
    with qtbot.waitSignal(controller.synced, timeout=WAIT) as blocker:
        dialog.sync_button.click()
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    assert not blocker.args[0].failed
    assert server.dump()["groups"] == expected_groups(users, MAPPING)
    assert proxy.throttled == 0  # 30 a second stays under the proxy's 40


def test_test_connection_against_a_server_that_keeps_throttling_reports_it(
    qtbot, tmp_path, monkeypatch, scim_server, fault_proxy
):
    import app.scim.config.probe as probe

    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    monkeypatch.setattr(probe, "PROBE_DEADLINE", 0.5)  # a minute, in the app
    server = scim_server()
    proxy = fault_proxy(server.url, fault_rate=1.0, faults=("429",), retry_after="0")
    store = ConnectionStore(
        QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
        TokenStore(),
        tmp_path / "connections.json",
    )
    dialog = ConnectionDialog(store)
    qtbot.addWidget(dialog)
    dialog.name.setText("throttled")
    dialog.url.setText(proxy.url)
    dialog.token_edit.setText(TOKEN)
    dialog.test_connection()
    qtbot.waitUntil(lambda: "HTTP 429" in dialog.status.text(), timeout=WAIT)
    assert "still limits the rate" in dialog.status.text()


def test_cancel_ends_a_read_waiting_out_a_long_retry_after(qtbot, window, scim_server, fault_proxy):
    """A server that asks for an hour's wait while the app reads it: Cancel ends the wait at
    once, with "Cancelled." and no error, and nothing is written."""
    users = make_users(20, VALUES)
    server = scim_server(users)
    proxy = fault_proxy(server.url, fault_rate=1.0, faults=("429",), retry_after="3600")
    window.document.set_users(users, [])
    window.editor.reset(MAPPING)
    controller = window.sync_controller
    controller.set_connection(ConnectionProfile(name="slow", url=proxy.url), TOKEN, persist=False)
    errors = []
    controller.failed.connect(errors.append)

    controller.refresh()
    qtbot.waitUntil(lambda: proxy.count() >= 1, timeout=WAIT)  # answered 429, waiting
    assert controller.task is not None
    window.status.cancel_button.click()
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    assert errors == []
    assert window.statusBar().currentMessage() == "Cancelled."
    assert proxy.writes() == [] and server.dump()["groups"] == {}

