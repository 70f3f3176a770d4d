"""Unattended runs from a live source: a saved connection holding the source (no file),
`groupmap sources`, and `--notify` telling a webhook when a run fails, is stopped or leaves
work, without a token and without ever failing the sync itself."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.scim.config.connections import ConnectionProfile, read_connections, write_connections
from app.scim.config.tokens import TokenStore
from app.scim.http.transport import Transport
from tests.scim_fixtures import TOKEN
from tests.test_sources_scim import DEPARTMENT, HEADERS, add_user, members


@pytest.fixture(autouse=True)
def setup(monkeypatch):
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)
    stored = {"Prod": TOKEN}
    monkeypatch.setattr(TokenStore, "get", lambda self, name: stored.get(name, ""))
    monkeypatch.delenv("GROUPMAP_TOKEN", raising=False)


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.csv"
    path.write_text("Value in Identity Provider,Group\nSales,Sales Team\nEngineering,Engineers\n",
                    encoding="utf-8")
    return path


def server_with_users(scim_server, n: int = 10) -> tuple[str, dict[str, str]]:
    url = scim_server().url
    ids = {f"u{i}@ex.com": add_user(url, f"u{i}@ex.com", ["Sales", "Engineering"][i % 2])
           for i in range(n)}
    return url, ids


def test_a_connection_holding_a_source_syncs_with_no_file(scim_server, mapping, capsys):
    url, _ = server_with_users(scim_server)
    write_connections([ConnectionProfile("Prod", url, source=f"scim:{DEPARTMENT}")])
    assert main(["sync", "--connection", "Prod", "--mapping", str(mapping)]) == 0
    assert members(url)["Sales Team"] == {f"u{i}@ex.com" for i in (0, 2, 4, 6, 8)}
    assert "Read 10 users from" in capsys.readouterr().out


def test_sources_saves_and_lists_sources_never_tokens(scim_server, capsys, monkeypatch):
    monkeypatch.setenv("GROUPMAP_ENTRA_TOKEN", "eyJ.never-shown-token.sig")
    write_connections([ConnectionProfile("Prod", "https://scim.example.com/v2"),
                       ConnectionProfile("Other", "https://other.example.com/v2")])
    assert main(["sources", "--save", "Prod", "--users", "entra:department",
                 "--source-url", "https://graph.microsoft.us"]) == 0
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == [{"connection": "Prod", "kind": "entra", "attribute": "department",
                                "url": "https://graph.microsoft.us",
                                "server": "https://scim.example.com/v2",
                                "tenant": "", "client_id": "",  # the environment names the app
                                "login_url": "https://login.microsoftonline.com"}]
    assert "never-shown" not in out and TOKEN not in out
    assert main(["connections", "--json"]) == 0
    listed = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert listed["Prod"]["source"] == "entra:department" and listed["Other"]["source"] is None
    assert [p.url for p in read_connections()] == ["https://scim.example.com/v2",
                                                   "https://other.example.com/v2"]
    assert main(["sources", "--clear", "Prod", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["sources", "--save", "Prod", "--users", "users.csv"]) == 2
    assert "KIND:ATTRIBUTE" in capsys.readouterr().err
    assert main(["sources", "--save", "Prod", "--users", "okta:department"]) == 2
    assert "--source-url https://YOUR-ORG.okta.com" in capsys.readouterr().err


GUID = "11111111-2222-3333-4444-555555555555"


def test_sources_save_sets_the_entra_app_that_signs_in_unattended(capsys):
    write_connections([ConnectionProfile("Prod", "https://scim.example.com/v2")])
    assert main(["sources", "--save", "Prod", "--users", "entra:department", "--entra-tenant",
                 "contoso.onmicrosoft.com", "--entra-client-id", GUID]) == 0
    saved = read_connections()[0]
    assert (saved.source, saved.entra_tenant, saved.entra_client_id) == (
        "entra:department", "contoso.onmicrosoft.com", GUID)
    assert main(["sources", "--save", "Prod", "--users", "entra:jobTitle", "--entra-tenant",
                 GUID.replace("1", "9")]) == 0  # the client ID saved before stays
    saved = read_connections()[0]
    assert (saved.source, saved.entra_tenant, saved.entra_client_id) == (
        "entra:jobTitle", GUID.replace("1", "9"), GUID)
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert (row["tenant"], row["client_id"]) == (GUID.replace("1", "9"), GUID)


@pytest.mark.parametrize(("options", "says"), [
    (["--users", "entra:department", "--entra-tenant", "not a tenant!", "--entra-client-id",
      GUID], "--entra-tenant 'not a tenant!' is neither a tenant ID (a GUID) nor a domain"),
    (["--users", "entra:department", "--entra-tenant", "contoso.com", "--entra-client-id",
      "my-app"], "--entra-client-id 'my-app' is not a GUID"),
    (["--users", "entra:department", "--entra-tenant", "contoso.com"],
     "needs both its tenant and its client ID to sign in unattended: add --entra-client-id"),
    (["--users", "entra:department", "--entra-tenant", "contoso.com", "--entra-client-id",
      f"{GUID}\x1b[2J"], "--entra-client-id '11111111-2222-3333-4444-555555555555\\x1b[2J' is "
     "not a GUID"),  # a terminal escape pasted along: quoted escaped, refused, not saved
    (["--users", "okta:department", "--source-url", "https://acme.okta.com",
      "--entra-client-id", GUID], "okta:department has none: leave them out"),
])
def test_sources_save_refuses_an_entra_app_that_cannot_sign_in(capsys, options, says):
    write_connections([ConnectionProfile("Prod", "https://scim.example.com/v2")])
    assert main(["sources", "--save", "Prod", *options]) == 2
    err = capsys.readouterr().err
    assert says in err and "Nothing was saved" in err and err.count("\n") == 1
    assert read_connections() == [ConnectionProfile("Prod", "https://scim.example.com/v2")]


def test_entra_app_options_without_save_are_refused(capsys):
    write_connections([ConnectionProfile("Prod", "https://scim.example.com/v2")])
    assert main(["sources", "--clear", "Prod", "--entra-tenant", "contoso.com"]) == 2
    assert "--entra-tenant go with --save CONNECTION" in capsys.readouterr().err


def test_no_users_and_no_saved_source_says_what_to_give(scim_server, mapping, capsys):
    write_connections([ConnectionProfile("Prod", "https://scim.example.com/v2")])
    assert main(["sync", "--connection", "Prod", "--mapping", str(mapping)]) == 2
    err = capsys.readouterr().err
    assert "connection 'Prod' has no saved source" in err and "--users" in err


def test_notify_posts_once_when_the_source_guard_stops_the_sync(
    scim_server, mapping, webhook, capsys
):
    url, ids = server_with_users(scim_server)
    hook = webhook()
    write_connections([ConnectionProfile("Prod", url, source=f"scim:{DEPARTMENT}",
                                         notify=hook.url)])
    assert main(["sync", "--connection", "Prod", "--mapping", str(mapping)]) == 0
    assert hook.posts == []  # a run that did everything tells nobody
    for i in range(6):
        httpx.delete(f"{url}/Users/{ids[f'u{i}@ex.com']}", headers=HEADERS)
    assert main(["sync", "--connection", "Prod", "--mapping", str(mapping)]) == 2
    assert len(hook.posts) == 1
    sent = hook.posts[0]
    assert sent["text"].startswith(f"GroupMap sync to {url} was stopped: ")
    assert "60% fewer" in sent["text"] and sent["status"] == 2
    assert sent["source"] == {"kind": "scim", "url": url, "attribute": DEPARTMENT, "users": 4}
    assert TOKEN not in json.dumps(sent)


def test_notify_carries_the_summary_of_a_run_that_left_work(
    scim_server, fault_proxy, mapping, webhook, monkeypatch
):
    url, _ = server_with_users(scim_server, 4)
    def refuse(record):
        if record.method == "POST" and record.body.get("displayName") == "Engineers":
            return 400, "group name Engineers is reserved"
        return None

    proxy = fault_proxy(url, refuse=refuse)
    hook = webhook()
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    status = main(["sync", "--users", f"scim:{DEPARTMENT}", "--mapping", str(mapping),
                   "--url", proxy.url, "--notify", hook.url])
    assert status == 1
    assert len(hook.posts) == 1
    sent = hook.posts[0]
    assert sent["text"].startswith(f"GroupMap sync to {proxy.url} left work for a rerun: ")
    assert "Engineers is reserved" in sent["text"]
    assert sent["summary"]["added"] == 2 and sent["summary"]["failed"] == 2
    assert TOKEN not in json.dumps(hook.posts)


def test_a_failing_webhook_never_fails_the_sync(scim_server, mapping, webhook, capsys,
                                                 monkeypatch):
    url, _ = server_with_users(scim_server, 2)
    monkeypatch.setenv("GROUPMAP_TOKEN", "wrong-token-7777777")
    broken = webhook(status=500)
    args = ["sync", "--users", f"scim:{DEPARTMENT}", "--mapping", str(mapping), "--url", url]
    assert main([*args, "--notify", broken.url]) == 3
    err = capsys.readouterr().err
    assert "could not notify 127.0.0.1" in err and "The run's own result stands" in err
    assert len(broken.posts) == 1 and "wrong-token-7777777" not in json.dumps(broken.posts)
    assert main([*args, "--notify", "http://hooks.example.com/x"]) == 3
    assert "not sent (plain http)" in capsys.readouterr().err
