"""Issue 26 attacked, from the command line: tokens in errors and webhooks, the source guard
against a live source, saved sources holding secrets, odd attributes, hostile webhooks. What
the admin sees (exit status, one line) and what the server ends with."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.core.users import UserList
from tests.hostile_idp import GRAPH_TOKEN, OKTA_SECRET, Answer, Hostile, graph_user
from tests.scim_fixtures import TOKEN


def test_a_page_nested_beyond_the_stack_is_one_line(hostile, tmp_path, monkeypatch,
                                                    capsys) -> None:
    server = hostile(lambda s, p: (200, {}, b"[" * 200_000))
    status, err = preview_entra(server, tmp_path, monkeypatch, capsys)
    assert status == 3
    assert err.startswith("groupmap: error: Microsoft Graph at") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_accounts_without_an_email_are_reported_not_lost_silently(hostile, tmp_path,
                                                                   monkeypatch, capsys) -> None:
    nameless = {"id": "x", "displayName": "Room 12", "accountEnabled": True,
                "department": "Sales"}
    server = hostile(lambda s, p: (200, {}, {"value": [graph_user(1), nameless, nameless]}))
    status, _ = preview_entra(server, tmp_path, monkeypatch, capsys, "--json")
    out = json.loads(LAST_OUT[0])
    assert status == 0 and out["users"] == 1
    notes = [w for w in out["warnings"] if w["code"] == "missing_email"]
    assert notes and notes[0]["count"] == 2 and "Room 12" in notes[0]["message"]


# --- tokens -----------------------------------------------------------------------------


def test_okta_token_given_with_its_scheme_is_never_echoed(hostile, tmp_path, monkeypatch,
                                                          capsys, webhook) -> None:
    """`GROUPMAP_OKTA_TOKEN="SSWS 00…"` is sent as written; Okta echoing the credential alone
    showed it in the error line and the webhook's message."""

    def answer(server: Hostile, path: str) -> Answer:
        credential = server.seen[-1][1].partition(" ")[2]
        return 401, {}, {"errorCode": "E0000011",
                         "errorSummary": f"Invalid token provided: {credential}"}

    server = hostile(answer)
    hook = webhook()
    monkeypatch.setenv("GROUPMAP_OKTA_TOKEN", f"SSWS {OKTA_SECRET}")
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nS,Sales\n", encoding="utf-8")
    status = main(["sync", "--users", "okta:department", "--okta-url", server.url,
                   "--url", "http://127.0.0.1:9/v2", "--mapping", str(mapping),
                   "--notify", hook.url])
    captured = capsys.readouterr()
    assert status == 3
    assert "Okta refused the token (401 E0000011" in captured.err
    assert OKTA_SECRET not in captured.err + captured.out
    assert hook.posts and OKTA_SECRET not in json.dumps(hook.posts)


# --- the source guard against a live source ----------------------------------------------


def test_a_source_that_suddenly_lists_half_its_users_stops_the_sync(hostile, scim_server,
                                                                      tmp_path, monkeypatch,
                                                                      capsys,
                                                                      journal_folder) -> None:
    everyone = [graph_user(i, "Sales" if i % 2 else "Legal") for i in range(20)]
    listed = {"users": everyone}
    server = hostile(lambda s, p: (200, {}, {"value": listed["users"]}))
    scim = scim_server(UserList.from_records(
        {"email": u["mail"], "name": u["displayName"], "status": "Active", "source": "",
         "groups": ""} for u in everyone))
    monkeypatch.setenv("GROUPMAP_ENTRA_TOKEN", GRAPH_TOKEN)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales\nLegal,Legal\n",
                       encoding="utf-8")
    sync = ["sync", "--users", "entra:department", "--entra-url", server.url, "--url",
            scim.url, "--mapping", str(mapping), "--apply-existing", "--json"]
    assert main(sync) == 0
    before = scim.dump()["groups"]
    assert len(before["Sales"]) == 10 and len(before["Legal"]) == 10
    capsys.readouterr()

    listed["users"] = everyone[:10]  # a source answering half its users
    assert main(sync) == 2
    err = capsys.readouterr().err
    assert "Stopped before writing anything: this export has 10 users" in err
    assert scim.dump()["groups"] == before
    assert GRAPH_TOKEN not in err
    journaled = "".join(f.read_text(encoding="utf-8") for f in journal_folder.rglob("*")
                        if f.is_file())
    assert '"kind": "entra"' in journaled.replace('":"', '": "') and GRAPH_TOKEN not in journaled
    assert main(["history", "--url", scim.url, "--json"]) == 0
    assert GRAPH_TOKEN not in capsys.readouterr().out


LAST_OUT: list[str] = [""]


def preview_entra(server: Hostile, tmp_path, monkeypatch, capsys, *more: str) -> tuple[int, str]:
    """`groupmap preview --users entra:department` against `server`: (status, stderr); its
    stdout stays for the caller (and in LAST_OUT)."""
    monkeypatch.setenv("GROUPMAP_ENTRA_TOKEN", GRAPH_TOKEN)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales\n", encoding="utf-8")
    status = main(["preview", "--users", "entra:department", "--entra-url", server.url,
                   "--mapping", str(mapping), *more])
    captured = capsys.readouterr()
    LAST_OUT[0] = captured.out
    assert GRAPH_TOKEN not in captured.out + captured.err
    return status, captured.err


# --- saved sources and odd attributes -------------------------------------------------------


@pytest.mark.parametrize("url", ["https://admin:hunter2-pw@acme.okta.com",
                                 "https://acme.okta.com/?token=00secret-in-query"])
def test_a_source_url_holding_a_secret_is_not_saved(url: str, capsys) -> None:
    from app.scim.config.connections import ConnectionProfile, write_connections

    write_connections([ConnectionProfile(name="Prod", url="https://scim.example.com/v2")])
    status = main(["sources", "--save", "Prod", "--users", "okta:department",
                   "--source-url", url])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert "hunter2" not in err and "00secret" not in err
    assert main(["sources", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_sources_json_never_lists_a_secret_a_hand_edited_file_holds(capsys) -> None:
    from app.scim.config.connections import ConnectionProfile, write_connections

    write_connections([ConnectionProfile(
        name="Prod", url="https://bot:scim-pw-77@scim.example.com/v2?key=k-123",
        source="okta:department", source_url="https://admin:hunter2-pw@acme.okta.com/?t=x9y8",
    )])
    assert main(["sources", "--json"]) == 0
    out = capsys.readouterr().out
    for secret in ("hunter2", "scim-pw-77", "k-123", "x9y8"):
        assert secret not in out
    assert json.loads(out)[0]["url"] == "https://acme.okta.com/?t=[redacted]"


@pytest.mark.parametrize("attribute", ["title,password", "title password", "dept\nment"])
def test_an_attribute_with_odd_characters_is_refused_in_one_line(attribute: str, tmp_path,
                                                                 capsys) -> None:
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nS,Sales\n", encoding="utf-8")
    status = main(["preview", "--users", f"scim:{attribute}", "--url",
                   "http://127.0.0.1:9/v2", "--mapping", str(mapping)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("groupmap: error: --users scim:") and err.count("\n") == 1


# --- the webhook ----------------------------------------------------------------------------


def test_a_webhook_redirecting_elsewhere_is_not_followed_and_warns_in_one_line(hostile,
                                                                               capsys) -> None:
    from app.cli.notify import post

    elsewhere = hostile(lambda s, p: (200, {}, {}))
    other = elsewhere.url.replace("127.0.0.1", "localhost")
    hook = hostile(lambda s, p: (307, {"Location": f"{other}/steal"}, b""))
    post(f"{hook.url}/services/T0/B0/hook-secret-part", {"text": "failed"}, [])
    err = capsys.readouterr().err
    assert err == ("groupmap: warning: could not notify 127.0.0.1: it answered 307 (a "
                   "redirect, not followed); give the webhook's final URL. The run's own "
                   "result stands.\n")
    assert elsewhere.seen == [] and "hook-secret-part" not in err


def test_a_webhook_answering_500_warns_in_one_line(webhook, capsys) -> None:
    from app.cli.notify import post

    hook = webhook(status=500)
    post(hook.url, {"text": "failed"}, [])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "it answered 500 Internal Server Error" in err
    assert "XXXX" not in err  # the webhook URL's secret part


def test_sources_never_lists_what_the_keyring_holds(monkeypatch, capsys) -> None:
    from types import SimpleNamespace

    from app.scim.config import tokens
    from app.scim.config.connections import ConnectionProfile, write_connections

    held = {"Prod": "scim-keyring-secret-1", "okta:acme.okta.com": "00okta-keyring-2",
            "entra:11111111": "entra-client-secret-3"}
    keyring = SimpleNamespace(get_password=lambda service, name: held.get(name),
                              set_password=lambda service, name, value: None,
                              delete_password=lambda service, name: None)
    monkeypatch.setattr(tokens, "_keyring_module", lambda: keyring)
    write_connections([
        ConnectionProfile(name="Prod", url="https://scim.example.com/v2",
                          source="okta:department", source_url="https://acme.okta.com"),
        ConnectionProfile(name="Cloud", url="https://scim.example.com/v2",
                          source="entra:jobTitle", entra_tenant="contoso",
                          entra_client_id="11111111"),
    ])
    assert main(["sources", "--json"]) == 0 and main(["sources"]) == 0
    out = capsys.readouterr().out
    assert [row["connection"] for row in json.loads(out.splitlines()[0])] == ["Prod", "Cloud"]
    for secret in held.values():
        assert secret not in out


def test_an_unattended_okta_sync_with_half_its_users_is_stopped_and_told(hostile, scim_server,
                                                                          webhook, tmp_path,
                                                                          monkeypatch,
                                                                          capsys) -> None:
    """Held: both ends and the webhook saved with the connection, as README's timer runs it."""
    from app.scim.config.connections import ConnectionProfile, write_connections

    everyone = [{"id": f"00u{i}", "status": "ACTIVE", "profile": {
        "login": f"user{i:05d}@ex.com", "email": f"user{i:05d}@ex.com", "firstName": "U",
        "lastName": str(i), "department": "Sales" if i % 2 else "Legal"}} for i in range(10)]
    listed = {"users": everyone}
    okta = hostile(lambda s, p: (200, {"X-Rate-Limit-Limit": "600",
                                       "X-Rate-Limit-Remaining": "599",
                                       "X-Rate-Limit-Reset": "1"}, listed["users"]))
    scim = scim_server(UserList.from_records(
        {"email": u["profile"]["email"], "name": "", "status": "Active", "source": "",
         "groups": ""} for u in everyone))
    hook = webhook()
    write_connections([ConnectionProfile(name="Prod", url=scim.url, source="okta:department",
                                         source_url=okta.url, notify=hook.url)])
    monkeypatch.setenv("GROUPMAP_OKTA_TOKEN", OKTA_SECRET)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales\nLegal,Legal\n",
                       encoding="utf-8")
    sync = ["sync", "--connection", "Prod", "--mapping", str(mapping), "--apply-existing"]
    assert main(sync) == 0 and hook.posts == []
    before = scim.dump()["groups"]
    assert len(before["Sales"]) == 5 and len(before["Legal"]) == 5

    listed["users"] = everyone[:5]
    assert main(sync) == 2
    assert scim.dump()["groups"] == before
    [post] = hook.posts
    assert post["status"] == 2 and post["text"].startswith(
        f"GroupMap sync to {scim.url} was stopped: Stopped before writing anything: this "
        "export has 5 users")
    assert OKTA_SECRET not in json.dumps(post) + capsys.readouterr().err


@pytest.mark.parametrize("token", ["tok\u00e9n-secret-xyz", "first-line-abc\nsecond-line-def",
                                   "with\ttab-secret"])
def test_a_token_holding_what_no_token_has_is_one_line(hostile, token: str, tmp_path,
                                                       monkeypatch, capsys) -> None:
    """A non-ASCII token raised UnicodeEncodeError (a traceback); a line break was "could not
    reach Microsoft Graph" after six tries and a minute of waiting."""
    from app.sources import http

    waits: list[float] = []
    monkeypatch.setattr(http, "pause", waits.append)
    server = hostile(lambda s, p: (200, {}, {"value": [graph_user(1)]}))
    monkeypatch.setenv("GROUPMAP_ENTRA_TOKEN", token)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales\n", encoding="utf-8")
    status = main(["preview", "--users", "entra:department", "--entra-url", server.url,
                   "--mapping", str(mapping)])
    err = capsys.readouterr().err
    assert status == 2 and waits == [] and server.seen == []
    assert err.startswith("groupmap: error: the token for Microsoft Graph holds a character no "
                          "token has") and err.count("\n") == 1
    assert "secret" not in err
