"""The connection dialog's Entra ID source (pytest-qt): the app that signs in unattended
(tenant, client ID, sign-in URL in the connection; the client secret in the keyring under
entra:CLIENT_ID, never in the file), one-line checks, `groupmap sources --json`, and an
unattended `groupmap sync --connection NAME` signing in by client credentials against the TLS
fake sign-in, the fake Graph and the real scim2-server."""

from __future__ import annotations

import json

import httpx
import pytest

from app.cli import main
from app.scim.config.connections import connections_path
from app.scim.config.tokens import TokenStore
from app.ui.server.connection import ConnectionStore
from tests import test_ui_connection_source as shared
from tests.fake_entra_login import CLIENT_ID, MINTED, TENANT
from tests.fake_idp import FakeGraph, graph_user, started
from tests.scim_fixtures import TOKEN
from tests.test_sources_scim import add_user
from tests.test_ui_connection_source import fill, new_dialog

memory_keyring = shared.memory_keyring  # the keyring as a dict, and a connection store
store = shared.store

SECRET = "s3cret~Value.0123456789"
KEYRING = "GroupMap SCIM"


@pytest.fixture(autouse=True)
def no_app_in_the_environment(monkeypatch):
    """The connection names the app: nothing about it comes from the environment."""
    for name in ("TOKEN", "TENANT", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"GROUPMAP_ENTRA_{name}", raising=False)


def fill_entra(dialog, url: str, graph: str = "", login: str = "", secret: str = SECRET,
               tenant: str = TENANT, client_id: str = CLIENT_ID) -> None:
    fill(dialog, url, "entra", "department", graph)
    fields = dialog.source
    fields.tenant.setText(tenant)
    fields.client_id.setText(client_id)
    fields.secret.setText(secret)
    fields.login_url.setText(login)


def test_the_entra_rows_show_for_entra_alone(qtbot, store, memory_keyring):
    dialog = new_dialog(qtbot, store)
    dialog.tabs.setCurrentIndex(1)  # the Unattended runs page
    fields = dialog.source
    rows = (fields.tenant, fields.client_id, fields.secret, fields.login_url)
    for kind in ("", "scim", "okta", "entra"):
        fields.kind.setCurrentIndex(fields.kind.findData(kind))
        assert [row.isVisible() for row in rows] == [kind == "entra"] * 4, kind
    assert fields.secret.echoMode() == fields.secret.EchoMode.Password


@pytest.mark.parametrize(("tenant", "client_id", "secret", "login", "message"), [
    (TENANT, "", SECRET, "", "Enter the Entra app's client ID (Application (client) ID of its "
     "app registration) with the tenant and secret, or leave all three empty."),
    ("", "", SECRET, "", "Enter the Entra app's client ID (Application (client) ID of its "
     "app registration) with the tenant and secret, or leave all three empty."),
    ("", CLIENT_ID, SECRET, "", "Enter the Entra tenant the app belongs to (its tenant ID or a "
     "domain such as contoso.onmicrosoft.com)."),
    ("contoso onmicrosoft", CLIENT_ID, SECRET, "", "The Entra tenant must be its tenant ID (a "
     "GUID) or a domain such as contoso.onmicrosoft.com."),
    (TENANT, "my-app", SECRET, "", "The Entra client ID must be the app registration's "
     "Application (client) ID, a GUID such as 11111111-2222-3333-4444-555555555555."),
    (TENANT, CLIENT_ID, SECRET, "http://login.example.com", "The sign-in URL must start with "
     "https:// (Microsoft sign-in is https only), e.g. https://login.microsoftonline.us, or be "
     "empty."),
    (TENANT, CLIENT_ID, SECRET, "https://me:pw@login.example.com", "The sign-in URL carries a "
     "user name or password (user:password@host): remove them."),
])
def test_an_entra_app_that_cannot_sign_in_is_refused_in_one_line(
    qtbot, store, memory_keyring, tenant, client_id, secret, login, message
):
    dialog = new_dialog(qtbot, store)
    fill_entra(dialog, "https://scim.example.com/v2", login=login, secret=secret,
               tenant=tenant, client_id=client_id)
    dialog.accept()
    assert dialog.status.text() == message
    assert store.profiles() == [] and memory_keyring.saved == {}  # nothing saved


def test_the_entra_app_is_saved_the_secret_in_the_keyring_never_in_the_file(
    qtbot, store, memory_keyring, capsys
):
    dialog = new_dialog(qtbot, store)
    fill_entra(dialog, "https://scim.example.com/v2", "https://graph.microsoft.us",
               "https://login.microsoftonline.us")
    dialog.accept()
    assert not dialog.isVisible()
    saved = store.get("Prod")
    assert (saved.source, saved.entra_tenant, saved.entra_client_id, saved.entra_login_url) == (
        "entra:department", TENANT, CLIENT_ID, "https://login.microsoftonline.us")
    assert memory_keyring.saved[(KEYRING, f"entra:{CLIENT_ID}")] == SECRET
    text = connections_path().read_text("utf-8")
    assert SECRET not in text and TOKEN not in text and CLIENT_ID in text

    fields = new_dialog(qtbot, ConnectionStore(store.settings, TokenStore()), "Prod").source
    assert (fields.kind.currentData(), fields.tenant.text(), fields.client_id.text(),
            fields.secret.text(), fields.login_url.text()) == (
        "entra", TENANT, CLIENT_ID, SECRET, "https://login.microsoftonline.us")

    assert main(["sources", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == [{
        "connection": "Prod", "kind": "entra", "attribute": "department",
        "url": "https://graph.microsoft.us", "server": "https://scim.example.com/v2",
        "tenant": TENANT, "client_id": CLIENT_ID,
        "login_url": "https://login.microsoftonline.us"}]
    assert SECRET not in out


def test_switching_away_from_entra_keeps_no_app(qtbot, store, memory_keyring):
    dialog = new_dialog(qtbot, store)
    fill_entra(dialog, "https://scim.example.com/v2")
    fields = dialog.source
    fields.kind.setCurrentIndex(fields.kind.findData("scim"))
    dialog.accept()
    saved = store.get("Prod")
    assert (saved.source, saved.entra_tenant, saved.entra_client_id) == (
        "scim:department", "", "")
    assert memory_keyring.saved.get((KEYRING, f"entra:{CLIENT_ID}")) is None


def test_a_connection_saved_in_the_dialog_syncs_unattended_from_entra(
    qtbot, store, memory_keyring, scim_server, clock, servers, login, tmp_path, capsys,
    journal_folder
):
    """Tenant, client ID and sign-in URL from the connection, the secret from the keyring,
    no variable about the app: `sync --connection Prod` signs in by client credentials, reads
    Graph and syncs, and no secret or token is written anywhere."""
    signing_in = login(SECRET)
    graph = started(servers, FakeGraph(
        [graph_user(i, department=["Sales", "Engineering"][i % 2]) for i in range(4)],
        MINTED, clock))
    server = scim_server()
    for i in range(4):
        add_user(server.url, f"user{i}@contoso.com", "")
    dialog = new_dialog(qtbot, store)
    fill_entra(dialog, server.url, graph.url, signing_in.url)
    dialog.accept()
    assert not dialog.isVisible()
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales Team\n", encoding="utf-8")

    assert main(["sync", "--connection", "Prod", "--mapping", str(mapping), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["added"] == 2 and "Read 4 users from" in err
    form = signing_in.forms[-1]
    assert form["grant_type"] == "client_credentials" and form["client_secret"] == SECRET
    assert form["path"] == f"/{TENANT}/oauth2/v2.0/token"
    assert server.dump()["groups"]["Sales Team"] == {"user0@contoso.com", "user2@contoso.com"}
    journaled = "".join(p.read_text("utf-8") for p in journal_folder.rglob("*") if p.is_file())
    for secret in (SECRET, MINTED, TOKEN):
        assert secret not in journaled + out + err


def test_without_a_stored_secret_the_unattended_sync_says_where_to_put_it(
    qtbot, store, memory_keyring, scim_server, tmp_path, capsys
):
    dialog = new_dialog(qtbot, store)
    fill_entra(dialog, url := scim_server().url, secret="")
    dialog.accept()
    assert not dialog.isVisible() and store.get("Prod").entra_client_id == CLIENT_ID
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales Team\n", encoding="utf-8")
    assert main(["sync", "--connection", "Prod", "--mapping", str(mapping)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"no client secret for Entra app {CLIENT_ID} of connection 'Prod'" in err
    assert f'keyring set "GroupMap SCIM" entra:{CLIENT_ID}' in err
    assert httpx.get(f"{url}/Groups",
                     headers={"Authorization": f"Bearer {TOKEN}"}).json()["totalResults"] == 0


def test_saving_the_source_from_the_command_line_keeps_or_drops_the_entra_app(
    qtbot, store, memory_keyring, capsys
):
    dialog = new_dialog(qtbot, store)
    fill_entra(dialog, "https://scim.example.com/v2")
    dialog.accept()
    assert main(["sources", "--save", "Prod", "--users", "entra:jobTitle"]) == 0
    kept = store.get("Prod")
    assert (kept.source, kept.entra_tenant, kept.entra_client_id) == (
        "entra:jobTitle", TENANT, CLIENT_ID)
    assert main(["sources", "--save", "Prod", "--users", "okta:profile.department",
                 "--source-url", "https://example.okta.com"]) == 0
    assert (store.get("Prod").entra_tenant, store.get("Prod").entra_client_id) == ("", "")
    capsys.readouterr()


@pytest.mark.filterwarnings("ignore:Attempted too soon:UserWarning")  # MSAL, on the test clock
def test_at_the_desk_the_saved_app_signs_in_with_a_code(
    qtbot, store, memory_keyring, clock, servers, login, tmp_path, capsys
):
    signing_in = login(answers=("authorization_pending",))
    graph = started(servers, FakeGraph([graph_user(i, department="Sales") for i in range(3)],
                                       MINTED, clock))
    dialog = new_dialog(qtbot, store)
    fill_entra(dialog, "https://scim.example.com/v2", graph.url, signing_in.url, secret="")
    dialog.accept()
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales Team\n", encoding="utf-8")
    assert main(["preview", "--connection", "Prod", "--mapping", str(mapping),
                 "--entra-device-code", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "enter the code FGH7QK9XW" in err
    assert signing_in.forms[0]["path"] == f"/{TENANT}/oauth2/v2.0/devicecode"
    assert json.loads(out)["groups"][0]["after"] == 3
