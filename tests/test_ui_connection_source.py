"""The connection dialog's live source and notify webhook (pytest-qt): saved in the
connection (the Okta token in the keyring, never in the file), checked with one-line
messages, read back by the dialog, `groupmap sources` and an unattended
`groupmap sync --connection NAME` with no users file."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import QSettings

from app.cli import main
from app.scim.config.connections import connections_path
from app.scim.config.tokens import TokenStore
from app.ui.server.connection import ConnectionProfile, ConnectionStore
from app.ui.server.connection_dialog import ConnectionDialog
from tests.fake_idp import OKTA_TOKEN, FakeOkta, okta_user, started
from tests.scim_fixtures import TOKEN
from tests.test_sources_scim import add_user
from tests.test_ui_sync_connection import MemoryKeyring


@pytest.fixture
def memory_keyring(monkeypatch):
    """The OS keyring, as a dict for the test (the command line's TokenStore reads it too)."""
    monkeypatch.delenv("GROUPMAP_NO_KEYRING", raising=False)
    monkeypatch.delenv("GROUPMAP_TOKEN", raising=False)
    monkeypatch.delenv("GROUPMAP_OKTA_TOKEN", raising=False)
    original = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(original)


@pytest.fixture
def store(tmp_path: Path) -> ConnectionStore:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return ConnectionStore(settings, TokenStore())


def new_dialog(qtbot, store: ConnectionStore, current: str = "") -> ConnectionDialog:
    dialog = ConnectionDialog(store, current=current)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def fill(dialog: ConnectionDialog, url: str, kind: str, attribute: str = "",
         source_url: str = "", notify: str = "") -> None:
    dialog.name.setText("Prod")
    dialog.url.setText(url)
    dialog.token_edit.setText(TOKEN)
    fields = dialog.source
    fields.kind.setCurrentIndex(fields.kind.findData(kind))
    fields.attribute.setText(attribute)
    fields.url.setText(source_url)
    fields.notify.setText(notify)


def test_the_fields_show_what_the_source_needs(qtbot, store, memory_keyring):
    dialog = new_dialog(qtbot, store)
    dialog.tabs.setCurrentIndex(1)  # the Unattended runs page
    fields = dialog.source
    visible = {}
    for kind in ("", "scim", "entra", "okta"):
        fields.kind.setCurrentIndex(fields.kind.findData(kind))
        visible[kind] = [w.isVisible() for w in (fields.attribute, fields.url, fields.token)]
    assert visible == {"": [False, False, False], "scim": [True, False, False],
                       "entra": [True, True, False], "okta": [True, True, True]}
    assert fields.notify.isVisible()
    assert fields.attribute.placeholderText() == "profile.department"


@pytest.mark.parametrize(("kind", "attribute", "source_url", "notify", "message"), [
    ("entra", "", "", "", "Enter the source attribute that holds the value, for example "
     "department, or choose None for users from a file."),
    ("okta", "profile.department", "", "", "Enter the Okta org URL the users are read from, "
     "e.g. https://example.okta.com."),
    ("okta", "profile.department", "okta.example.com", "", "The source URL must start with "
     "https://, e.g. https://example.okta.com."),
    ("entra", "department", "http://graph.example.com", "", "The source URL uses plain HTTP, "
     "which would send the token unencrypted: use https://, or tick 'Allow plain HTTP' for a "
     "local test server."),
    ("", "", "", "hooks.slack.com/services/T0", "The notify webhook must be an https:// URL, "
     "as the service (Slack, Teams) gave it, or empty."),
    ("", "", "", "http://hooks.example.com/x", "The notify webhook uses plain HTTP: GroupMap "
     "posts only over https (or to this machine); use the https:// URL the service gave."),
    ("", "", "", "https://me:pw@hooks.example.com/x", "The notify webhook carries a user name "
     "or password (user:password@host): remove them."),
])
def test_a_source_or_webhook_that_cannot_work_is_refused_in_one_line(
    qtbot, store, memory_keyring, kind, attribute, source_url, notify, message
):
    dialog = new_dialog(qtbot, store)
    fill(dialog, "https://scim.example.com/v2", kind, attribute, source_url, notify)
    dialog.accept()
    assert dialog.status.text() == message
    assert store.profiles() == [] and dialog.isVisible()  # nothing saved


@pytest.mark.parametrize(("name", "attribute", "message"), [
    ("Prod\x1b[31m", "department", "The connection name has a control or invisible "
     "character (pasted along with it?): type it again."),
    ("Prod", "depart\u202ement", "The source attribute has a control or invisible "
     "character (pasted along with it?): type it again."),
])
def test_a_control_or_invisible_character_is_refused_before_it_is_saved(
    qtbot, store, memory_keyring, name, attribute, message
):
    dialog = new_dialog(qtbot, store)
    fill(dialog, "https://scim.example.com/v2", "entra", attribute)
    dialog.name.setText(name)
    dialog.accept()
    assert dialog.status.text() == message
    assert store.profiles() == [] and dialog.isVisible()


def test_source_webhook_and_okta_token_are_saved_and_read_back_never_in_the_file(
    qtbot, store, memory_keyring, capsys
):
    dialog = new_dialog(qtbot, store)
    fill(dialog, "https://scim.example.com/v2", "okta", "profile.department",
         "https://example.okta.com", "https://hooks.example.com/services/T0/B0/secret")
    dialog.source.token.setText(OKTA_TOKEN)
    dialog.accept()
    assert not dialog.isVisible()
    saved = store.get("Prod")
    assert (saved.source, saved.source_url, saved.notify) == (
        "okta:profile.department", "https://example.okta.com",
        "https://hooks.example.com/services/T0/B0/secret")
    text = connections_path().read_text("utf-8")
    assert OKTA_TOKEN not in text and TOKEN not in text
    assert memory_keyring.saved[("GroupMap SCIM", "okta:example.okta.com")] == OKTA_TOKEN

    again = new_dialog(qtbot, ConnectionStore(store.settings, TokenStore()), current="Prod")
    fields = again.source
    assert (fields.kind.currentData(), fields.attribute.text(), fields.url.text(),
            fields.token.text(), fields.notify.text()) == (
        "okta", "profile.department", "https://example.okta.com", OKTA_TOKEN,
        "https://hooks.example.com/services/T0/B0/secret")

    assert main(["sources", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == [{"connection": "Prod", "kind": "okta",
                                "attribute": "profile.department",
                                "url": "https://example.okta.com",
                                "server": "https://scim.example.com/v2"}]
    assert main(["connections", "--json"]) == 0
    out += capsys.readouterr().out
    assert json.loads(out.splitlines()[-1])[0]["notify"] is True
    assert OKTA_TOKEN not in out and TOKEN not in out and "secret" not in out


def test_choosing_none_clears_the_saved_source(qtbot, store, memory_keyring):
    store.save(ConnectionProfile("Prod", "https://scim.example.com/v2", source="entra:department",
                                 source_url="https://graph.microsoft.us"))
    dialog = new_dialog(qtbot, store, current="Prod")
    assert dialog.source.kind.currentData() == "entra"
    dialog.source.kind.setCurrentIndex(dialog.source.kind.findData(""))
    dialog.accept()
    saved = store.get("Prod")
    assert (saved.source, saved.source_url) == ("", "")


def test_a_connection_saved_in_the_dialog_syncs_unattended_from_okta(
    qtbot, store, memory_keyring, scim_server, clock, servers, tmp_path, capsys
):
    """Both ends saved in the app, tokens in the keyring: `sync --connection Prod` reads the
    users from Okta with no file and no token in the environment."""
    okta = started(servers, FakeOkta(
        [okta_user(i, department=["Sales", "Engineering"][i % 2]) for i in range(4)],
        OKTA_TOKEN, clock))
    server = scim_server()
    for i in range(4):
        add_user(server.url, f"user{i}@example.com", "")
    dialog = new_dialog(qtbot, store)
    fill(dialog, server.url, "okta", "profile.department", okta.url)
    dialog.source.token.setText(OKTA_TOKEN)
    dialog.accept()
    assert not dialog.isVisible()
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales Team\n", encoding="utf-8")
    assert main(["sync", "--connection", "Prod", "--mapping", str(mapping)]) == 0
    assert "Read 4 users from" in capsys.readouterr().out
    assert server.dump()["groups"]["Sales Team"] == {"user0@example.com", "user2@example.com"}


def test_the_connections_file_is_readable_by_its_owner_alone(qtbot, store, memory_keyring):
    """It holds webhook URLs: whoever reads one may post to the channel."""
    import os
    import stat

    path = connections_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"format": "groupmap-connections", "version": 1, "connections": []}')
    os.chmod(path, 0o644)  # as an earlier version wrote it
    store.save(ConnectionProfile("Prod", "https://scim.example.com/v2",
                                 notify="https://hooks.example.com/services/T0/B0/secret"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.save(ConnectionProfile("Stage", "https://stage.example.com/v2"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_dialog_fits_a_laptop_screen_and_shows_the_page_of_a_problem(
    qtbot, store, memory_keyring
):
    """Every Entra row shown, the dialog still fits 1024x640 (its own pages); a problem with
    the source is shown on the page that holds the field."""
    dialog = new_dialog(qtbot, store)
    fill(dialog, "https://scim.example.com/v2", "entra", "department")
    dialog.show()
    assert dialog.sizeHint().height() <= 600 and dialog.sizeHint().width() <= 1000
    assert dialog.tabs.currentIndex() == 0
    dialog.source.attribute.setText("")
    dialog.accept()
    assert dialog.tabs.currentIndex() == 1 and dialog.result() == 0
    assert dialog.status.text() == dialog.source.problem(dialog.edited_profile())
    dialog.source.attribute.setText("department")
    dialog.url.setText("")
    dialog.accept()
    assert dialog.tabs.currentIndex() == 0
    assert dialog.status.text().startswith("Enter the SCIM base URL")


def _saved_with_secrets(store: ConnectionStore) -> None:
    """Prod (Okta source) and Entra-Prod (Entra source), each with its secrets in the keyring,
    and Other sharing Prod's Okta org: that token stays while Other uses it."""
    store.save(ConnectionProfile("Prod", "https://scim.example.com/v2", source="okta:title",
                                 source_url="https://acme.okta.com"))
    store.save(ConnectionProfile("Entra-Prod", "https://scim.example.com/v2",
                                 source="entra:department", entra_tenant="contoso.com",
                                 entra_client_id="11111111-2222-3333-4444-555555555555"))
    store.save(ConnectionProfile("Other", "https://scim2.example.com/v2", source="okta:title",
                                 source_url="https://acme.okta.com/"))
    for name, secret in (("Prod", "scim-1"), ("Entra-Prod", "scim-2"), ("Other", "scim-3"),
                         ("okta:acme.okta.com", "00okta"),
                         ("entra:11111111-2222-3333-4444-555555555555", "entra-secret")):
        store.tokens.set(name, secret)


def test_deleting_in_the_dialog_forgets_every_secret_the_connection_stored(
    qtbot, store, memory_keyring, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    _saved_with_secrets(store)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    for name in ("Entra-Prod", "Prod"):
        dialog = new_dialog(qtbot, store, current=name)
        dialog._delete_current()
    assert [p.name for p in store.profiles()] == ["Other"]
    assert {user: secret for (_, user), secret in memory_keyring.saved.items()} == {
        "Other": "scim-3", "okta:acme.okta.com": "00okta"}  # Other's Okta org: kept
    store.remove("Other")
    assert memory_keyring.saved == {}


def test_connections_delete_forgets_every_secret_the_connection_stored(
    store, memory_keyring, capsys
):
    _saved_with_secrets(store)
    assert main(["connections", "--delete", "Entra-Prod"]) == 0
    assert main(["connections", "--delete", "Other"]) == 0
    out = capsys.readouterr().out
    assert "Deleted the connection 'Entra-Prod'" in out and "00okta" not in out
    assert {user for _, user in memory_keyring.saved} == {"Prod", "okta:acme.okta.com"}
    assert main(["connections", "--delete", "Prod"]) == 0
    assert memory_keyring.saved == {}
    assert main(["connections", "--delete", "Prod"]) == 2  # gone: the names there are
    assert "no saved connection is named 'Prod'" in capsys.readouterr().err


def test_clearing_or_changing_a_source_forgets_the_secret_no_connection_uses(
    store, memory_keyring
):
    """sources --clear and --save, and the dialog's save, replace connections the same way
    (replace_connections): an Okta token or Entra secret nobody uses any more is forgotten."""
    _saved_with_secrets(store)
    entra = "entra:11111111-2222-3333-4444-555555555555"
    assert main(["sources", "--clear", "Entra-Prod"]) == 0
    assert entra not in {user for _, user in memory_keyring.saved}
    assert main(["sources", "--save", "Prod", "--users", "scim:title"]) == 0
    assert "okta:acme.okta.com" in {u for _, u in memory_keyring.saved}  # Other still uses it
    store.save(ConnectionProfile("Other", "https://scim2.example.com/v2"))  # the dialog's save
    assert {user for _, user in memory_keyring.saved} == {"Prod", "Entra-Prod", "Other"}
