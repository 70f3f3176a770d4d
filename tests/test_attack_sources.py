"""Issue 26 attacked: hostile Microsoft Graph and Okta servers, written from the vendors'
documentation (Graph: `value`, `@odata.nextLink`, `Retry-After` on 429/503, errors as
`{"error": {"code", "message"}}`; Okta: a JSON array, `Link: <…>; rel="next"`,
`X-Rate-Limit-*`, errors as `{"errorCode", "errorSummary"}`), each breaking one promise of
README's Live sources; the admin must see one line and the server must end unharmed."""

from __future__ import annotations

import email.utils
import json
import math
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.cli import main
from app.core.users import UserList
from app.sources.entra import read_entra
from app.sources.errors import SourceError
from app.sources.okta import read_okta
from tests.scim_fixtures import TOKEN

GRAPH_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.graph-secret-4b1d.sig"
OKTA_SECRET = "00okta-api-token-9f8e7d6c5b4a"

Answer = tuple[int, dict[str, str], object]


class Hostile:
    """An identity provider answering each GET with `answer(self, path)`: status, headers and
    a JSON body (bytes are sent as they are). Records each path and Authorization header."""

    def __init__(self, answer: Callable[[Hostile, str], Answer]) -> None:
        self.seen: list[tuple[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.seen.append((self.path, self.headers.get("Authorization", "")))
                status, headers, body = answer(owner, self.path)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 (a webhook's answer)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile() -> Iterator[Callable[[Callable[[Hostile, str], Answer]], Hostile]]:
    made: list[Hostile] = []

    def make(answer: Callable[[Hostile, str], Answer]) -> Hostile:
        made.append(Hostile(answer))
        return made[-1]

    yield make
    for server in made:
        server.close()


def graph_user(i: int, department: str = "Sales", **more: Any) -> dict[str, Any]:
    return {"id": f"id-{i}", "mail": f"user{i:05d}@ex.com", "userPrincipalName":
            f"user{i:05d}@ex.onmicrosoft.com", "displayName": f"User {i}",
            "accountEnabled": True, "department": department, **more}


def throttled_once(first: Answer, users: list[dict[str, Any]]) -> Callable[[Hostile, str], Answer]:
    """Answers `first`, then the users."""

    def answer(server: Hostile, path: str) -> Answer:
        return first if len(server.seen) == 1 else (200, {}, {"value": users})

    return answer


# --- throttling headers the documentation allows, or a server garbles ----------------------


def test_retry_after_as_an_http_date_is_honoured(hostile) -> None:
    """RFC 9110 lets Retry-After be an HTTP date; it used to be read as "no wait" and the page
    asked again after 2 s, inside the window the server asked to be left alone."""
    now = 1_900_000_000.0
    date = email.utils.formatdate(now + 120, usegmt=True)
    server = hostile(throttled_once(
        (429, {"Retry-After": date}, {"error": {"code": "TooManyRequests", "message": "slow"}}),
        [graph_user(1)],
    ))
    waits: list[float] = []
    users, _ = read_entra(GRAPH_TOKEN, "department", server.url, sleep=waits.append,
                          clock=lambda: now)
    assert waits == [120.0]
    assert list(users.frame["email"]) == ["user00001@ex.com"]


def test_retry_after_as_a_date_days_away_stops_in_one_line(hostile) -> None:
    date = email.utils.formatdate(1_900_000_000.0 + 3 * 86_400, usegmt=True)
    server = hostile(lambda s, p: (503, {"Retry-After": date}, b""))
    with pytest.raises(SourceError, match=r"asks to wait 259,200 s .*run again later"):
        read_entra(GRAPH_TOKEN, "department", server.url, sleep=lambda s: None,
                   clock=lambda: 1_900_000_000.0)
    assert len(server.seen) == 1  # not asked again during the days it asked for


@pytest.mark.parametrize("garbage", ["nan", "NaN", "inf", "-inf"])
def test_garbage_rate_limit_numbers_never_reach_sleep(hostile, garbage: str) -> None:
    """float() reads "nan" and "inf": time.sleep(nan) raised ValueError, a traceback."""
    okta_user = {"status": "ACTIVE", "profile": {"email": "a@ex.com", "department": "S"}}

    def answer(server: Hostile, path: str) -> Answer:
        headers = {"X-Rate-Limit-Limit": garbage, "X-Rate-Limit-Remaining": "0",
                   "X-Rate-Limit-Reset": garbage, "Retry-After": garbage}
        if len(server.seen) == 1:
            return 429, headers, {"errorCode": "E0000047", "errorSummary": "API call exceeded"}
        if len(server.seen) == 2:
            return 200, {**headers, "Link": f'<{server.url}/api/v1/users?after=x>; rel="next"'}, \
                [okta_user]
        return 200, headers, []

    server = hostile(answer)
    waits: list[float] = []
    users, _ = read_okta(OKTA_SECRET, "department", server.url, sleep=waits.append)
    assert all(math.isfinite(w) for w in waits), waits
    assert list(users.frame["source"]) == ["S"]


# --- what a page holds ------------------------------------------------------------------


def test_graph_attribute_in_another_case_reads_its_values(hostile) -> None:
    """Graph takes `$select=Department` but answers `department`: every value read blank, so
    a first sync would have moved everyone to the default group."""
    extension = {"extensionAttribute3": "EMEA"}
    server = hostile(lambda s, p: (200, {}, {"value": [
        graph_user(1, onPremisesExtensionAttributes=extension)]}))
    users, _ = read_entra(GRAPH_TOKEN, "Department", server.url)
    assert list(users.frame["source"]) == ["Sales"]
    users, _ = read_entra(GRAPH_TOKEN, "OnPremisesExtensionAttributes/ExtensionAttribute3",
                          server.url)
    assert list(users.frame["source"]) == ["EMEA"]


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


def test_a_page_of_entries_that_are_not_users_is_one_line_not_skipped(hostile) -> None:
    """`value` holding strings gave no users and no word: a silent half source."""
    server = hostile(lambda s, p: (200, {}, {"value": [graph_user(1), "user2@ex.com", 3]}))
    with pytest.raises(SourceError, match="lists 2 entries that are not users"):
        read_entra(GRAPH_TOKEN, "department", server.url)
    okta = hostile(lambda s, p: (200, {}, [None]))
    with pytest.raises(SourceError, match="Okta at .* lists 1 entries that are not users"):
        read_okta(OKTA_SECRET, "department", okta.url)


def test_an_email_that_is_not_text_is_no_email(hostile) -> None:
    """str() of `mail: ["a@x"]` made up the email "['a@x']"; the UPN is the email then."""
    server = hostile(lambda s, p: (200, {}, {"value": [
        graph_user(1, mail=["user1@ex.com"]), graph_user(2, mail="  ")]}))
    users, _ = read_entra(GRAPH_TOKEN, "department", server.url)
    assert list(users.frame["email"]) == ["user00001@ex.onmicrosoft.com",
                                          "user00002@ex.onmicrosoft.com"]


def test_a_relative_next_link_is_followed_on_the_same_host(hostile) -> None:
    """A next link without a host is on the server that sent it; it was refused as "another
    host ()"."""

    def answer(server: Hostile, path: str) -> Answer:
        if "skiptoken" in path:
            return 200, {}, {"value": [graph_user(2)]}
        return 200, {}, {"value": [graph_user(1)],
                         "@odata.nextLink": "/v1.0/users?$skiptoken=page2"}

    server = hostile(answer)
    users, info = read_entra(GRAPH_TOKEN, "department", server.url)
    assert info.users == 2
    assert all(auth == f"Bearer {GRAPH_TOKEN}" for _, auth in server.seen)


def test_a_next_link_that_is_not_a_url_is_one_line(hostile) -> None:
    """httpx.InvalidURL escaped as a traceback."""
    server = hostile(lambda s, p: (200, {}, {"value": [graph_user(1)],
                                             "@odata.nextLink": "https://x/\u0000"}))
    with pytest.raises(SourceError, match="sent a next-page link that is not a URL"):
        read_entra(GRAPH_TOKEN, "department", server.url)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])  # another host; another port
def test_a_next_link_to_another_host_never_gets_the_token(hostile, host: str) -> None:
    elsewhere = hostile(lambda s, p: (200, {}, {"value": [graph_user(9)]}))
    other = elsewhere.url.replace("127.0.0.1", host)
    server = hostile(lambda s, p: (200, {}, {"value": [graph_user(1)],
                                             "@odata.nextLink": f"{other}/v1.0/users?x=1"}))
    with pytest.raises(SourceError, match=f"another host, scheme or port \\(http://{host}:"):
        read_entra(GRAPH_TOKEN, "department", server.url)
    assert elsewhere.seen == []


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


# --- pages that never end -----------------------------------------------------------------


def test_fresh_next_links_over_the_same_users_stop_the_read(hostile) -> None:
    """Each next link is new (so no link repeats), each page the same users: the walk only
    ended after 100,000 pages, holding 100,000 copies of them."""

    def answer(server: Hostile, path: str) -> Answer:
        return 200, {}, {"value": [graph_user(1), graph_user(2)], "@odata.nextLink":
                         f"{server.url}/v1.0/users?$skiptoken={len(server.seen)}"}

    server = hostile(answer)
    with pytest.raises(SourceError, match=r"pages without an end \(page 2 lists only users"):
        read_entra(GRAPH_TOKEN, "department", server.url)
    assert len(server.seen) == 2


def test_fresh_next_links_to_empty_pages_stop_the_read(hostile) -> None:
    def answer(server: Hostile, path: str) -> Answer:
        users = [graph_user(1)] if len(server.seen) == 1 else []
        return 200, {}, {"value": users, "@odata.nextLink":
                         f"{server.url}/v1.0/users?$skiptoken={len(server.seen)}"}

    server = hostile(answer)
    with pytest.raises(SourceError, match="100 pages in a row without a user"):
        read_entra(GRAPH_TOKEN, "department", server.url)
    assert len(server.seen) == 101


def test_an_okta_link_cycle_stops_the_read(hostile) -> None:
    def answer(server: Hostile, path: str) -> Answer:
        here = "b" if "after=a" in path else "a"
        user = {"id": f"00u{len(server.seen)}", "status": "ACTIVE",
                "profile": {"email": f"u{len(server.seen)}@ex.com", "department": "S"}}
        return 200, {"Link": f'<{server.url}/api/v1/users?after={here}>; rel="next"'}, [user]

    server = hostile(answer)
    with pytest.raises(SourceError, match="pages without an end"):
        read_okta(OKTA_SECRET, "department", server.url)
    assert len(server.seen) == 3


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
    assert json.loads(out)[0]["url"] == "https://acme.okta.com/"


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


# --- a token that expires during the read ---------------------------------------------------


def expiring_graph(hostile) -> Hostile:
    """Graph whose token expires after the first page: the next request is 401
    InvalidAuthenticationToken, as Graph answers an expired token; the one after succeeds."""

    def answer(server: Hostile, path: str) -> Answer:
        if "skiptoken" not in path:
            return 200, {}, {"value": [graph_user(1)],
                             "@odata.nextLink": f"{server.url}/v1.0/users?$skiptoken=2"}
        if len(server.seen) == 2:
            return 401, {}, {"error": {"code": "InvalidAuthenticationToken",
                                       "message": "Lifetime validation failed, the token is "
                                       "expired."}}
        return 200, {}, {"value": [graph_user(2)]}

    return hostile(answer)


def test_a_token_expiring_mid_read_is_renewed_once(hostile) -> None:
    server = expiring_graph(hostile)
    renewed: list[str] = []
    users, info = read_entra(GRAPH_TOKEN, "department", server.url,
                             renew=lambda: renewed.append("x") or "renewed-token-5e6f")
    assert info.users == 2 and renewed == ["x"]
    assert [auth for _, auth in server.seen][-1] == "Bearer renewed-token-5e6f"


def test_an_unattended_sync_signs_in_again_when_the_token_expires(hostile, login, tmp_path,
                                                                   monkeypatch,
                                                                   capsys) -> None:
    """The client-credentials sign-in is asked again; a ready $GROUPMAP_ENTRA_TOKEN cannot
    be, and stops in one line."""
    from tests.fake_entra_login import CLIENT_ID, TENANT

    idp = login("client-secret-for-test-77")
    server = expiring_graph(hostile)
    monkeypatch.setenv("GROUPMAP_ENTRA_TENANT", TENANT)
    monkeypatch.setenv("GROUPMAP_ENTRA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GROUPMAP_ENTRA_CLIENT_SECRET", "client-secret-for-test-77")
    monkeypatch.delenv("GROUPMAP_ENTRA_TOKEN", raising=False)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales\n", encoding="utf-8")
    preview = ["preview", "--users", "entra:department", "--entra-url", server.url,
               "--entra-login-url", idp.url, "--mapping", str(mapping), "--json"]
    assert main(preview) == 0
    assert json.loads(capsys.readouterr().out)["users"] == 2
    assert sum(f.get("grant_type") == "client_credentials" for f in idp.forms) == 2

    server.seen.clear()
    monkeypatch.setenv("GROUPMAP_ENTRA_TOKEN", GRAPH_TOKEN)
    assert main(preview) == 3
    err = capsys.readouterr().err
    assert err.startswith("groupmap: error: Microsoft Graph refused the token (401 "
                          "InvalidAuthenticationToken") and err.count("\n") == 1


def test_sources_never_lists_what_the_keyring_holds(monkeypatch, capsys) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    from app.scim.config.connections import ConnectionProfile, write_connections

    class Memory(KeyringBackend):
        priority = 10  # type: ignore[assignment]
        held = {"Prod": "scim-keyring-secret-1", "okta:acme.okta.com": "00okta-keyring-2",
                "entra:11111111": "entra-client-secret-3"}

        def get_password(self, service: str, username: str) -> str | None:
            return self.held.get(username)

        def set_password(self, service: str, username: str, password: str) -> None:
            self.held[username] = password

        def delete_password(self, service: str, username: str) -> None:
            self.held.pop(username, None)

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    monkeypatch.delenv("GROUPMAP_NO_KEYRING", raising=False)
    try:
        write_connections([
            ConnectionProfile(name="Prod", url="https://scim.example.com/v2",
                              source="okta:department", source_url="https://acme.okta.com"),
            ConnectionProfile(name="Cloud", url="https://scim.example.com/v2",
                              source="entra:jobTitle"),
        ])
        assert main(["sources", "--json"]) == 0 and main(["sources"]) == 0
    finally:
        keyring.set_keyring(previous)
    out = capsys.readouterr().out
    assert [row["connection"] for row in json.loads(out.splitlines()[0])] == ["Prod", "Cloud"]
    for secret in Memory.held.values():
        assert secret not in out
