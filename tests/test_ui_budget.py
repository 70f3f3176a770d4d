"""The membership-change budget in the app: a connection keeps it, Preview changes and the
time left during a sync follow it where it binds."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from app.scim.config.tokens import TokenStore
from app.ui.server.connection import ConnectionStore
from app.ui.server.connection_dialog import ConnectionDialog
from app.ui.server.sync_dialog import SyncDialog
from app.ui.server.sync_preview import estimate_text
from tests.scim_fixtures import TOKEN


def test_a_connection_keeps_its_budget_and_the_github_preset_has_one(
    qtbot, tmp_path, monkeypatch
):
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    ini, saved = str(tmp_path / "s.ini"), tmp_path / "connections.json"
    store = ConnectionStore(QSettings(ini, QSettings.Format.IniFormat), TokenStore(), saved)
    dialog = ConnectionDialog(store)
    qtbot.addWidget(dialog)
    dialog.name.setText("github")
    dialog.url.setText("https://api.github.com/scim/v2/enterprises/acme")
    dialog.vendor.setCurrentIndex(dialog.vendor.findData("github"))
    profile = dialog.edited_profile()
    assert profile.max_changes_per_hour == 0.0  # the preset's
    assert profile.sync_settings(TOKEN).max_changes_per_hour == 1000
    dialog.max_changes.setValue(500)
    store.save(dialog.edited_profile())
    again = ConnectionStore(
        QSettings(ini, QSettings.Format.IniFormat), TokenStore(), saved
    ).get("github")
    assert again.max_changes_per_hour == 500
    assert again.sync_settings(TOKEN).max_changes_per_hour == 500  # it wins over the preset
    reopened = ConnectionDialog(store, current="github")
    qtbot.addWidget(reopened)
    assert reopened.max_changes.value() == 500


def test_the_time_left_follows_the_budget_where_it_binds(qtbot):
    dialog = SyncDialog()
    qtbot.addWidget(dialog)
    dialog.set_progress(10, 50, elapsed=10.0, rate=1.0, budget=4 * 3600, changes_per_hour=1000)
    assert "about 4.0 h left" in dialog.counts.text()
    assert "paced at 1,000 membership changes an hour" in dialog.counts.text()
    dialog.set_progress(10, 50, elapsed=10.0, rate=1.0, budget=5.0, changes_per_hour=1000)
    assert "about 40 s left" in dialog.counts.text()  # the rate binds: 40 requests, 1 a second
    assert "paced at 1 request a second" in dialog.counts.text()


def test_preview_changes_shows_the_change_bound_estimate():
    from app.core.users import UserList
    from app.scim.config.settings import SyncSettings
    from app.scim.sync.estimate import watched_settings
    from app.scim.sync.plan import SyncPlan
    from app.scim.sync.state import ServerState

    settings = SyncSettings(url="https://x.example/scim", profile="github",
                            max_rate=1000 / 3600, max_changes_per_hour=1000)
    emails = [f"u{i}@ex.com" for i in range(5000)]
    plan = SyncPlan(
        groups_to_create=[], adds={f"G{g}": emails[g::50] for g in range(50)}, removes={},
        not_found=[], drift=[], state=ServerState(managed=[f"G{g}" for g in range(50)]),
        settings=settings,
        users=UserList.of_emails(emails), current_memberships=0,
    )
    # The app's sync is watched (time left, Cancel): its deadline makes room for the budget's
    # five hours, so Preview changes warns of no stop half-way.
    assert estimate_text(plan) == (
        "Writing takes about 50 requests (5,000 membership changes), about 5 hours at 1,000 "
        "membership changes an hour (the preset's budget)."
    )
    assert watched_settings(plan, settings).deadline == 5 * 3600 + settings.deadline


def test_the_apps_writes_get_the_watched_deadline(window):
    """Sync, apply, undo and retry all take their settings from sync_settings(..., plan): the
    deadline makes room for the budget's planned time (here 5 hours) plus the usual 2."""
    from app.core.users import UserList
    from app.scim.sync.plan import SyncPlan
    from app.scim.sync.state import ServerState
    from app.ui.server.connection import ConnectionProfile

    controller = window.sync_controller
    profile = ConnectionProfile(name="gh", url="https://x.example/scim", vendor="github")
    controller.set_connection(profile, TOKEN, persist=False)
    settings = controller.sync_settings()
    emails = [f"u{i}@ex.com" for i in range(5000)]
    plan = SyncPlan(
        groups_to_create=[], adds={"G": emails}, removes={}, not_found=[], drift=[],
        state=ServerState(managed=["G"]), settings=settings,
        users=UserList.of_emails(emails), current_memberships=0,
    )
    assert controller.sync_settings(True, plan).deadline == 5 * 3600 + settings.deadline
    assert controller.sync_settings(True, plan).allow_mass_removal

