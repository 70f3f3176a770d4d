"""Connection profiles, token storage and the connection dialog, against the real server."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from PySide6.QtCore import QSettings, Qt

from app.scim.config.settings import TARGET_ATTRIBUTE
from app.scim.config.tokens import TokenStore
from app.scim.http.redact import redact
from app.ui.server.connection import ConnectionProfile, ConnectionStore
from app.ui.server.connection_dialog import ConnectionDialog
from tests.scim_fixtures import TOKEN, make_users

WAIT = 15_000


class MemoryKeyring(KeyringBackend):
    """An OS keyring stand-in: stores in a dict, or fails every call when `broken`."""

    priority = 1

    def __init__(self, broken: bool = False) -> None:
        super().__init__()
        self.broken = broken
        self.saved: dict[tuple[str, str], str] = {}

    def _check(self) -> None:
        if self.broken:
            raise keyring.errors.KeyringError("keyring locked")

    def get_password(self, service, username):
        self._check()
        return self.saved.get((service, username))

    def set_password(self, service, username, password):
        self._check()
        self.saved[(service, username)] = password

    def delete_password(self, service, username):
        self._check()
        self.saved.pop((service, username), None)


@pytest.fixture
def os_keyring(monkeypatch):
    """Swap the process keyring for the test, restoring the original afterwards."""
    monkeypatch.delenv("GROUPMAP_NO_KEYRING", raising=False)
    original = keyring.get_keyring()

    def install(backend):
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(original)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return ConnectionStore(settings, TokenStore())


def test_without_a_keyring_the_token_is_kept_for_the_session_only(os_keyring):
    os_keyring(fail.Keyring())
    tokens = TokenStore()
    assert not tokens.persistent and "this session only" in tokens.describe()
    assert tokens.set("prod", TOKEN) is False
    assert tokens.get("prod") == TOKEN
    assert TokenStore().get("prod") == ""  # a new session has nothing


def test_with_a_keyring_the_token_survives_a_restart(os_keyring):
    backend = os_keyring(MemoryKeyring())
    tokens = TokenStore()
    assert tokens.persistent
    assert tokens.set("prod", TOKEN) is True
    assert TokenStore().get("prod") == TOKEN
    tokens.delete("prod")
    assert backend.saved == {} and TokenStore().get("prod") == ""


def test_a_failing_keyring_falls_back_to_the_session(os_keyring):
    os_keyring(MemoryKeyring(broken=True))
    tokens = TokenStore()
    assert tokens.set("prod", TOKEN) is False
    assert tokens.get("prod") == TOKEN and not tokens.persistent


def test_profiles_persist_without_their_tokens(store, tmp_path):
    store.save(ConnectionProfile("staging", "https://staging.example.com/scim/v2"))
    store.save(
        ConnectionProfile(
            "production",
            "https://example.com/scim/v2",
            target=TARGET_ATTRIBUTE,
            attribute="urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            match_attribute="emails",
        )
    )
    store.tokens.set("production", TOKEN)
    store.last_used = "production"
    store.save(ConnectionProfile("demo", "http://127.0.0.1:9/v2"), persist=False)

    again = ConnectionStore(
        QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), TokenStore()
    )
    assert [p.name for p in again.profiles()] == ["staging", "production"]
    production = again.get("production")
    assert production.target == TARGET_ATTRIBUTE and production.match_attribute == "emails"
    assert again.last_used == "production"
    assert TOKEN not in (tmp_path / "settings.ini").read_text("utf-8")
    assert [p.name for p in store.profiles()] == ["staging", "production", "demo"]
    store.remove("staging")
    assert [p.name for p in store.profiles()] == ["production", "demo"]


def test_redact_hides_the_token_in_any_text():
    assert redact(f"GET failed: Bearer {TOKEN}", TOKEN) == "GET failed: Bearer [redacted]"


def wait_tested(qtbot, dialog):
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=WAIT)
    return dialog.status.text()


def test_test_connection_reports_features_and_counts(qtbot, store, scim_server):
    server = scim_server(make_users(5, ["x"], lambda i: "Sales" if i < 3 else ""))
    dialog = ConnectionDialog(store)
    qtbot.addWidget(dialog)
    dialog.name.setText("local")
    dialog.url.setText(server.url)
    dialog.token_edit.setText(TOKEN)
    dialog.test_connection()
    text = wait_tested(qtbot, dialog)
    assert text.startswith("Connected.")
    assert "PATCH" in text and "5 users and 1 group." in text

    dialog.token_edit.setText("wrong-token-value")
    dialog.test_connection()
    text = wait_tested(qtbot, dialog)
    assert "refused the token" in text and "wrong-token-value" not in text
    assert dialog.status.textFormat() == Qt.TextFormat.PlainText

    dialog.token_edit.setText(TOKEN)
    dialog.accept()
    assert dialog.result() == ConnectionDialog.DialogCode.Accepted
    assert store.get("local").url == server.url and store.tokens.get("local") == TOKEN
    assert dialog.profile.name == "local" and dialog.token == TOKEN


def test_server_error_text_is_never_rich_text(qtbot, store, scim_server, fault_proxy):
    server = scim_server()
    proxy = fault_proxy(server.url, refuse=lambda r: (400, "<b>bold</b> <a href='x'>link</a>"))
    dialog = ConnectionDialog(store)
    qtbot.addWidget(dialog)
    dialog.name.setText("proxied")
    dialog.url.setText(proxy.url)
    dialog.test_connection()
    text = wait_tested(qtbot, dialog)
    assert "<b>bold</b>" in text
    assert dialog.status.textFormat() == Qt.TextFormat.PlainText


@pytest.mark.parametrize(
    ("url", "insecure", "target", "attribute", "expected"),
    [
        ("", False, "groups", "", "Enter the SCIM base URL"),
        ("ftp://example.com", False, "groups", "", "must start with https://"),
        ("http://example.com/scim/v2", False, "groups", "", "plain HTTP"),
        ("https://admin:pw@example.com/scim/v2", False, "groups", "", "user:password@host"),
        ("https://example.com/scim/v2", False, "attribute", "", "attribute path"),
    ],
)
def test_the_form_says_what_to_fix(qtbot, store, url, insecure, target, attribute, expected):
    dialog = ConnectionDialog(store)
    qtbot.addWidget(dialog)
    dialog.name.setText("x")
    dialog.url.setText(url)
    dialog.insecure.setChecked(insecure)
    dialog.target.setCurrentIndex(dialog.target.findData(target))
    dialog.attribute.setText(attribute)
    dialog.accept()
    assert dialog.result() != ConnectionDialog.DialogCode.Accepted
    assert expected in dialog.status.text()
    assert store.get("x") is None


def test_loopback_http_needs_no_insecure_flag_and_renaming_moves_the_token(qtbot, store):
    store.save(ConnectionProfile("old", "http://127.0.0.1:8000/v2"))
    store.tokens.set("old", TOKEN)
    dialog = ConnectionDialog(store, current="old")
    qtbot.addWidget(dialog)
    assert dialog.token_edit.text() == TOKEN
    dialog.name.setText("new")
    dialog.accept()
    assert dialog.result() == ConnectionDialog.DialogCode.Accepted
    assert [p.name for p in store.profiles()] == ["new"]
    assert store.tokens.get("new") == TOKEN and store.tokens.get("old") == ""


def test_setup_help_is_reachable_from_the_start_page_and_the_dialog(qtbot, tmp_path, monkeypatch):
    from app.ui.shell.main_window import MainWindow

    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, data_dir=tmp_path / "data")
    qtbot.addWidget(window)
    window.show()
    controller = window.sync_controller
    assert controller.empty_help_button.isVisible()  # no export open: the start page
    controller.empty_help_button.click()
    tabs = controller.help_dialog.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == [
        "Okta", "Entra ID", "OneLogin", "Service provider"
    ]
    steps = ["Profile Editor", "Provision on demand", "Reapply All Mappings", "bearer token"]
    for i, step in enumerate(steps):
        assert step in tabs.widget(i).toPlainText()

    dialog = controller.open_connection_dialog()
    dialog.help_button.click()
    help_dialog = controller.help_dialog
    assert help_dialog.isVisible()
    assert help_dialog.tabs.tabText(help_dialog.tabs.currentIndex()) == "Service provider"
    assert "SCIM base URL" in help_dialog.tabs.currentWidget().toPlainText()
    dialog.reject()
    window.close()


def test_a_session_connection_stays_out_of_settings_and_keyring(qtbot, tmp_path, os_keyring):
    backend = os_keyring(MemoryKeyring())
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    store = ConnectionStore(settings, TokenStore())
    store.save(ConnectionProfile("Demo", "http://127.0.0.1:9/v2"), persist=False)
    store.tokens.set("Demo", TOKEN, remember=False)
    dialog = ConnectionDialog(store, current="Demo")
    qtbot.addWidget(dialog)
    assert dialog.remember.isChecked()  # a keyring is there, and remembering is the default
    dialog.accept()
    assert dialog.result() == ConnectionDialog.DialogCode.Accepted
    settings.sync()
    written = tmp_path / "settings.ini"
    assert not written.exists() or "Demo" not in written.read_text("utf-8")
    assert store.get("Demo") is not None
    assert backend.saved == {} and store.tokens.get("Demo") == TOKEN


def test_unticking_remember_forgets_the_saved_token(os_keyring):
    backend = os_keyring(MemoryKeyring())
    tokens = TokenStore()
    tokens.set("prod", TOKEN)
    assert backend.saved
    tokens.set("prod", TOKEN, remember=False)
    assert backend.saved == {} and tokens.get("prod") == TOKEN


def test_every_field_has_an_access_key_and_test_keeps_the_focus(qtbot, store, scim_server):
    from PySide6.QtWidgets import QFormLayout, QLabel

    dialog = ConnectionDialog(store)
    qtbot.addWidget(dialog)
    form = dialog._form
    labelled = {}
    for row in range(form.rowCount()):
        label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        if label is not None and isinstance(label.widget(), QLabel) and label.widget().text():
            labelled[label.widget().text()] = label.widget().buddy()
    assert all("&" in text and buddy is not None for text, buddy in labelled.items())
    assert dialog.name in labelled.values() and dialog.url in labelled.values()
    for button in (dialog.test_button, dialog.help_button, dialog.connect_button,
                   dialog.show_token, dialog.insecure):
        assert "&" in button.text()
    assert all(w.toolTip() for w in (dialog.url, dialog.target, dialog.match, dialog.insecure))

    server = scim_server(make_users(2, ["x"], lambda i: "Sales"))
    dialog.name.setText("local")
    dialog.url.setText(server.url)
    dialog.token_edit.setText(TOKEN)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    dialog.test_button.setFocus()
    qtbot.waitUntil(dialog.test_button.hasFocus)
    dialog.test_button.click()
    assert wait_tested(qtbot, dialog).startswith("Connected.")
    assert dialog.test_button.hasFocus()  # not left on Setup help


def test_editing_a_connection_in_the_app_keeps_its_saved_source_and_webhook(qtbot, store):
    """What the form does not show (a live source saved with `groupmap sources`, a webhook)
    survives an edit in the dialog."""
    store.save(ConnectionProfile("prod", "http://127.0.0.1:8000/v2", source="entra:department",
                                 source_url="https://graph.microsoft.us",
                                 notify="https://hooks.example.com/x"))
    dialog = ConnectionDialog(store, current="prod")
    qtbot.addWidget(dialog)
    dialog.url.setText("http://127.0.0.1:9000/v2")
    dialog.accept()
    saved = store.get("prod")
    assert saved is not None and saved.url == "http://127.0.0.1:9000/v2"
    assert (saved.source, saved.source_url, saved.notify) == (
        "entra:department", "https://graph.microsoft.us", "https://hooks.example.com/x")
