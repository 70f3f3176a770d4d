"""Issue 26 attacked, reading: hostile Microsoft Graph and Okta servers (tests/hostile_idp.py)
each breaking one promise of README's Live sources about throttling, pages and tokens; the
admin must see one line, never a traceback or a token."""

from __future__ import annotations

import email.utils
import json
import math

import pytest

from app.cli import main
from app.sources.entra import read_entra
from app.sources.errors import SourceError
from app.sources.okta import read_okta
from tests.hostile_idp import GRAPH_TOKEN, OKTA_SECRET, Answer, Hostile, graph_user, throttled_once

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


def test_an_okta_profile_that_is_not_an_object_is_no_attribute(hostile) -> None:
    """The app's attribute choice iterated `profile: 5` and raised TypeError."""
    from app.sources.attributes import sample_okta

    good = {"id": "00u1", "status": "ACTIVE",
            "profile": {"email": "a@ex.com", "department": "Sales"}}
    server = hostile(lambda s, p: (200, {}, [good, {"id": "00u2", "profile": 5}]))
    sampled, found = sample_okta(OKTA_SECRET, server.url)
    assert sampled == 2 and [c.path for c in found] == ["profile.department"]


def test_an_attribute_graph_cannot_select_says_so(hostile) -> None:
    """Graph's 400 for `$select=depertment` said "check the URL and try again later"."""
    server = hostile(lambda s, p: (400, {}, {"error": {
        "code": "Request_BadRequest", "message": "Could not find a property named "
        "'depertment' on type 'microsoft.graph.user'."}}))
    with pytest.raises(SourceError) as raised:
        read_entra(GRAPH_TOKEN, "depertment", server.url)
    assert str(raised.value).startswith(
        "Microsoft Graph refused the query for the users (400 Request_BadRequest: Could not "
        "find a property named 'depertment'")
    assert "check the attribute" in str(raised.value) and "try again later" not in str(raised.value)
    assert len(server.seen) == 1


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
    # the Graph the token must be for is the one read (a national cloud's), not the global one
    assert f"or not for {server.url})" in err and "graph.microsoft.com" not in err


def test_okta_without_rate_limit_headers_reads_at_once_and_days_to_reset_stop(hostile) -> None:
    """Held: no X-Rate-Limit-* headers is no pacing; a 429 whose reset is days away stops in
    one line instead of waiting."""

    def answer(server: Hostile, path: str) -> Answer:
        n = len(server.seen)
        user = {"id": f"00u{n}", "status": "ACTIVE",
                "profile": {"email": f"u{n}@ex.com", "department": "S"}}
        link = {"Link": f'<{server.url}/api/v1/users?after={n}>; rel="next"'} if n < 3 else {}
        return 200, link, [user]

    waits: list[float] = []
    users, info = read_okta(OKTA_SECRET, "department", hostile(answer).url, sleep=waits.append)
    assert info.users == 3 and waits == []

    days = hostile(lambda s, p: (429, {"X-Rate-Limit-Reset": str(1_900_000_000 + 3 * 86_400),
                                       "X-Rate-Limit-Remaining": "0"},
                                 {"errorCode": "E0000047", "errorSummary": "API call exceeded"}))
    with pytest.raises(SourceError, match=r"Okta at .* asks to wait 259,201 s"):
        read_okta(OKTA_SECRET, "department", days.url, clock=lambda: 1_900_000_000.0)
