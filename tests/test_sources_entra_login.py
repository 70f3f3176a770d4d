"""Entra sign-in through MSAL against a fake Microsoft identity platform over TLS
(tests/fake_entra_login.py, written from Microsoft's documentation): a ready token wins,
client credentials with the secret from the environment or the keyring, the device-code
flow paced as the platform asks and cancellable, and one-line errors that never show a
secret or a token."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import app.sources.http as source_http
from app.cli import main
from app.sources.entra_login import client_credentials, device_code_token, entra_token
from app.sources.errors import SourceCancelled, SourceError, SourceSpecError
from tests.fake_entra_login import CLIENT_ID, MINTED, TENANT
from tests.fake_idp import FakeGraph, graph_user, started

# MSAL warns when a device-code poll comes sooner than the interval by the wall clock; these
# tests wait on a clock of their own (tests/fake_idp.py), which the wall clock does not see.
pytestmark = pytest.mark.filterwarnings("ignore:Attempted too soon:UserWarning")
SECRET = "s3cret~Value.0123456789"


def entra_app(monkeypatch, secret: str | None) -> None:
    monkeypatch.delenv("GROUPMAP_ENTRA_TOKEN", raising=False)
    monkeypatch.setenv("GROUPMAP_ENTRA_TENANT", TENANT)
    monkeypatch.setenv("GROUPMAP_ENTRA_CLIENT_ID", CLIENT_ID)
    if secret is None:
        monkeypatch.delenv("GROUPMAP_ENTRA_CLIENT_SECRET", raising=False)
    else:
        monkeypatch.setenv("GROUPMAP_ENTRA_CLIENT_SECRET", secret)


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.csv"
    path.write_text("Value in Identity Provider,Group\nSales,Sales Team\n", encoding="utf-8")
    return path


def test_client_credentials_through_msal(clock, login, monkeypatch):
    server = login(SECRET)
    entra_app(monkeypatch, SECRET)
    assert entra_token(server.url) == MINTED
    assert server.gets == [f"/{TENANT}/v2.0/.well-known/openid-configuration"]
    form = server.forms[-1]
    assert form["path"] == f"/{TENANT}/oauth2/v2.0/token"
    assert form["grant_type"] == "client_credentials" and form["client_secret"] == SECRET
    assert set(form["scope"].split()) >= {"https://graph.microsoft.com/.default"}


def test_a_refused_secret_says_how_to_store_a_new_one_without_showing_it(clock, login,
                                                                         monkeypatch):
    server = login(SECRET)
    with pytest.raises(SourceError) as caught:
        client_credentials(server.url, TENANT, CLIENT_ID, "wrong~secret.value")
    message = str(caught.value)
    assert message.startswith(f"the client secret for app {CLIENT_ID} was refused by Entra ID")
    assert f'keyring set "GroupMap SCIM" entra:{CLIENT_ID}' in message
    assert "AADSTS7000215" in message and "wrong~secret.value" not in message
    assert len(message.splitlines()) == 1


def test_an_unknown_app_or_tenant_is_one_line_saying_what_to_check(clock, login):
    server = login(SECRET)
    with pytest.raises(SourceError, match="Entra ID has no app 0000-bad in tenant"):
        client_credentials(server.url, TENANT, "0000-bad", SECRET)
    with pytest.raises(SourceError) as caught:
        client_credentials(server.url, "nobody.onmicrosoft.com", CLIENT_ID, SECRET)
    message = str(caught.value)
    assert "nobody.onmicrosoft.com" in message and "AADSTS90002" in message
    assert SECRET not in message and len(message.splitlines()) == 1


def test_the_secret_comes_from_the_keyring(clock, login, monkeypatch):
    server = login("kept-in-keyring")
    entra_app(monkeypatch, None)
    stored = {f"entra:{CLIENT_ID}": "kept-in-keyring"}
    assert entra_token(server.url, stored.get) == MINTED


def test_a_ready_token_wins_and_nothing_is_asked(clock, login, monkeypatch):
    server = login(SECRET)
    entra_app(monkeypatch, SECRET)
    monkeypatch.setenv("GROUPMAP_ENTRA_TOKEN", "Bearer ready-token-abc")
    assert entra_token(server.url, device_code=True) == "ready-token-abc"
    assert server.forms == [] and server.gets == []


def test_the_ca_bundle_msal_would_read_is_trusted(clock, login, monkeypatch, tmp_path):
    server = login(SECRET)
    bundle = tmp_path / "test-ca.pem"  # the login fixture's CA
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(SourceError, match="CERTIFICATE_VERIFY_FAILED"):
        client_credentials(server.url, TENANT, CLIENT_ID, SECRET)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert client_credentials(server.url, TENANT, CLIENT_ID, SECRET) == MINTED
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(SourceSpecError, match="cannot be read"):
        client_credentials(server.url, TENANT, CLIENT_ID, SECRET)


def test_sign_in_is_https_only(monkeypatch):
    entra_app(monkeypatch, SECRET)
    with pytest.raises(SourceSpecError, match="not https, which MSAL requires"):
        entra_token("http://127.0.0.1:9")


def test_device_code_shows_the_code_and_polls_at_the_interval(clock, login, monkeypatch):
    server = login(answers=("authorization_pending", "slow_down", "authorization_pending"),
                   clock=clock)
    entra_app(monkeypatch, None)
    shown: list[tuple[str, str]] = []
    token = entra_token(server.url, device_code=True,
                        show=lambda message, code: shown.append((message, code)))
    assert token == MINTED
    assert shown == [(shown[0][0], "FGH7QK9XW")]
    assert "https://microsoft.com/devicelogin" in shown[0][0]
    assert server.forms[0]["path"] == f"/{TENANT}/oauth2/v2.0/devicecode"
    assert len(server.polls) == 4  # never too soon: the fake would have said slow_down again
    assert sum(clock.slept) == 5 + 5 + 10 + 10  # after slow_down, 5 s more (RFC 8628 3.5)


@pytest.mark.parametrize(("answer", "said"), [
    ("authorization_declined", "was declined: run the command again"),
    ("expired_token", "the device code expired before the sign-in was completed"),
])
def test_device_code_ends_on_a_declined_or_expired_code(clock, login, answer, said):
    server = login(answers=("authorization_pending", answer))
    with pytest.raises(SourceError, match=said) as caught:
        device_code_token(server.url, TENANT, CLIENT_ID, lambda message, code: None)
    assert len(caught.value.args[0].splitlines()) == 1
    assert len(server.polls) == 2


def test_device_code_without_public_client_flows_says_to_allow_them(clock, login):
    server = login(public_flows=False)
    with pytest.raises(SourceError, match="does not allow public client flows"):
        device_code_token(server.url, TENANT, CLIENT_ID, lambda message, code: None)


def test_device_code_stops_when_the_code_expires_unused(clock, login):
    server = login(answers=("authorization_pending",) * 1000, clock=clock)
    with pytest.raises(SourceError, match="device code expired"):
        device_code_token(server.url, TENANT, CLIENT_ID, lambda message, code: None)
    assert sum(clock.slept) >= 900 and len(server.polls) <= 900 / 5 + 1


def test_cancel_ends_the_polling_between_two_seconds(clock, login, monkeypatch):
    server = login(answers=("authorization_pending",) * 1000)
    stop = threading.Event()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 7:  # the admin cancels in the second wait, after one poll
            stop.set()

    monkeypatch.setattr(source_http, "pause", sleep)
    with pytest.raises(SourceCancelled, match="cancelled"):
        device_code_token(server.url, TENANT, CLIENT_ID, lambda message, code: None,
                          cancelled=stop.is_set)
    assert len(server.polls) == 1 and clock.slept == [1.0] * 7


def test_the_command_line_signs_in_with_a_code_then_reads_graph(clock, servers, login,
                                                                 mapping, monkeypatch, capsys):
    server = login(answers=("authorization_pending",))
    graph = started(servers, FakeGraph([graph_user(i, department="Sales") for i in range(3)],
                                       MINTED, clock))
    entra_app(monkeypatch, None)
    assert main(["preview", "--users", "entra:department", "--mapping", str(mapping),
                 "--entra-url", graph.url, "--entra-login-url", server.url,
                 "--entra-device-code", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "enter the code FGH7QK9XW" in err
    assert json.loads(out)["groups"][0]["after"] == 3
    assert MINTED not in out + err


def test_a_refused_secret_on_the_command_line_is_exit_3_and_one_line(clock, login, mapping,
                                                                      monkeypatch, capsys):
    server = login(SECRET)
    entra_app(monkeypatch, "wrong~secret.value")
    assert main(["preview", "--users", "entra:department", "--mapping", str(mapping),
                 "--entra-login-url", server.url]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "AADSTS7000215" in err
    assert "wrong~secret.value" not in err


def test_without_any_token_says_what_to_set(mapping, monkeypatch, capsys):
    entra_app(monkeypatch, None)
    assert main(["preview", "--users", "entra:department", "--mapping", str(mapping)]) == 2
    err = capsys.readouterr().err
    assert "$GROUPMAP_ENTRA_TOKEN" in err and "--entra-device-code" in err


def test_an_unattended_sync_signs_in_with_the_secret_and_keeps_no_token(
    clock, servers, login, scim_server, mapping, monkeypatch, capsys, journal_folder
):
    import httpx

    from tests.scim_fixtures import TOKEN, make_users

    server = login(SECRET)
    graph = started(servers, FakeGraph(
        [graph_user(i, department="Sales") for i in range(3)], MINTED, clock))
    seeded = make_users(3, [""], domain="contoso.com")
    seeded.frame["email"] = [f"user{i}@contoso.com" for i in range(3)]
    url = scim_server(seeded).url
    entra_app(monkeypatch, SECRET)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    assert main(["sync", "--users", "entra:department", "--mapping", str(mapping), "--url", url,
                 "--entra-url", graph.url, "--entra-login-url", server.url, "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["added"] == 3
    groups = httpx.get(f"{url}/Groups", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert [len(g["members"]) for g in groups["Resources"]] == [3]
    journaled = "".join(p.read_text("utf-8") for p in journal_folder.rglob("*") if p.is_file())
    assert '"kind": "entra"' in journaled or '"kind":"entra"' in journaled
    for secret in (MINTED, SECRET):
        assert secret not in journaled + out + err
