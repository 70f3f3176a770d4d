"""`--users entra:ATTRIBUTE` and `--users okta:ATTRIBUTE` against fake Microsoft Graph and
Okta servers written from the vendors' documentation (tests/fake_idp.py): paging,
`$select`, throttling, error bodies, token errors, and a sync to the real SCIM server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.io.journal import list_runs
from app.sources.entra import read_entra
from app.sources.errors import SourceError
from app.sources.okta import read_okta
from tests.fake_idp import (
    GRAPH_TOKEN,
    OKTA_TOKEN,
    FakeGraph,
    FakeOkta,
    graph_user,
    okta_user,
    started,
)
from tests.scim_fixtures import TOKEN, make_users


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.csv"
    path.write_text("Value in Identity Provider,Group\nSales,Sales Team\nEngineering,Engineers\n",
                    encoding="utf-8")
    return path


def departments(n: int) -> list[str]:
    return ["Sales" if i % 2 == 0 else "Engineering" for i in range(n)]


# --- Microsoft Graph -----------------------------------------------------------------------


def test_entra_reads_every_page_with_select_and_mail_else_upn(clock, servers):
    users = [graph_user(i, department=d) for i, d in enumerate(departments(2500))]
    users[3]["mail"] = None  # a user without mail: the userPrincipalName
    users[4]["accountEnabled"] = False
    graph = started(servers, FakeGraph(users, GRAPH_TOKEN, clock))
    listed, info = read_entra(GRAPH_TOKEN, "department", graph.url)
    assert len(listed) == 2500 and info.users == 2500
    frame = listed.frame.set_index("email")
    assert frame.loc["user3@contoso.onmicrosoft.com", "source"] == "Engineering"
    assert frame.loc["user4@contoso.com", "status"] == "Disabled"
    assert frame.loc["user0@contoso.com", "source"] == "Sales"
    first = graph.requests[0]["query"]
    assert set(first["$select"].split(",")) >= {"mail", "userPrincipalName", "displayName",
                                                "accountEnabled", "department"}
    assert len(graph.requests) == 3  # 999 + 999 + 502, following @odata.nextLink


def test_entra_extension_attribute_and_directory_extension(clock, servers):
    users = [graph_user(0), graph_user(1)]
    users[0]["onPremisesExtensionAttributes"]["extensionAttribute7"] = "Sales"
    users[1]["extension_0123456789abcdef_costCenter"] = "CC-9"
    graph = started(servers, FakeGraph(users, GRAPH_TOKEN, clock))
    listed, _ = read_entra(GRAPH_TOKEN, "onPremisesExtensionAttributes/extensionAttribute7",
                           graph.url)
    assert list(listed.frame["source"]) == ["Sales", ""]
    assert graph.requests[-1]["query"]["$select"].endswith(",onPremisesExtensionAttributes")
    listed, _ = read_entra(GRAPH_TOKEN, "extension_0123456789abcdef_costCenter", graph.url)
    assert list(listed.frame["source"]) == ["", "CC-9"]


def test_entra_waits_as_retry_after_asks(clock, servers):
    users = [graph_user(i, department="Sales") for i in range(5)]
    graph = started(servers, FakeGraph(users, GRAPH_TOKEN, clock, throttle=2, retry_after=7))
    listed, _ = read_entra(GRAPH_TOKEN, "department", graph.url)
    assert len(listed) == 5
    assert clock.slept == [7.0, 7.0]


def test_entra_missing_permission_is_one_line_naming_user_read_all(clock, servers, mapping,
                                                                    monkeypatch, capsys):
    graph = started(servers, FakeGraph([graph_user(0)], GRAPH_TOKEN, clock, refuse="permission"))
    monkeypatch.setenv("GROUPMAP_ENTRA_TOKEN", GRAPH_TOKEN)
    assert main(["preview", "--users", "entra:department", "--mapping", str(mapping),
                 "--entra-url", graph.url]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "User.Read.All" in err and "Authorization_RequestDenied" in err
    assert GRAPH_TOKEN not in err


def test_entra_bad_token_is_refused_without_showing_it(clock, servers):
    graph = started(servers, FakeGraph([graph_user(0)], GRAPH_TOKEN, clock))
    with pytest.raises(SourceError) as caught:
        read_entra("eyJ.wrong-token-abcdef.sig", "department", graph.url)
    assert "401 InvalidAuthenticationToken" in str(caught.value)
    assert "User.Read.All" in str(caught.value)
    assert "wrong-token-abcdef" not in str(caught.value)


def test_entra_next_link_to_another_host_is_not_followed(clock, servers):
    users = [graph_user(i) for i in range(3)]
    graph = started(servers, FakeGraph(users, GRAPH_TOKEN, clock, page_cap=2))
    other = graph.url.replace("127.0.0.1", "localhost")
    with pytest.raises(SourceError, match="another host"):
        read_entra(GRAPH_TOKEN, "department", other)


def test_sync_from_entra_to_the_scim_server(clock, servers, scim_server, mapping,
                                            monkeypatch, capsys):
    users = [graph_user(i, department=d) for i, d in enumerate(departments(6))]
    graph = started(servers, FakeGraph(users, GRAPH_TOKEN, clock))
    seeded = make_users(6, [""], domain="contoso.com")
    seeded.frame["email"] = [f"user{i}@contoso.com" for i in range(6)]
    url = scim_server(seeded).url
    monkeypatch.setenv("GROUPMAP_ENTRA_TOKEN", GRAPH_TOKEN)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    assert main(["sync", "--users", "entra:department", "--mapping", str(mapping), "--url", url,
                 "--entra-url", graph.url, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["added"] == 6 and result["drift"] == 0
    groups = httpx.get(f"{url}/Groups", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    sizes = {g["displayName"]: len(g.get("members", [])) for g in groups["Resources"]}
    assert sizes == {"Sales Team": 3, "Engineers": 3}
    start = list_runs(url)[-1].start
    assert start["source"] == {"kind": "entra", "url": graph.url, "attribute": "department",
                               "users": 6}
    assert GRAPH_TOKEN not in json.dumps(start)


# --- Okta ----------------------------------------------------------------------------------


def test_okta_follows_link_next_to_the_empty_last_page(clock, servers):
    users = [okta_user(i, department=d) for i, d in enumerate(departments(400))]
    users.append(okta_user(999, status="DEPROVISIONED", department="Sales"))
    users[5]["profile"]["email"] = None  # the login, then
    users[5]["profile"]["login"] = "login5@example.com"
    users[6]["status"] = "SUSPENDED"
    okta = started(servers, FakeOkta(users, OKTA_TOKEN, clock))
    listed, info = read_okta(OKTA_TOKEN, "profile.department", okta.url)
    assert len(listed) == 400 and info.attribute == "profile.department"
    frame = listed.frame.set_index("email")
    assert frame.loc["login5@example.com", "source"] == "Engineering"
    assert frame.loc["user6@example.com", "status"] == "SUSPENDED"
    assert "user999@example.com" not in frame.index
    assert len(okta.requests) == 3  # 200, 200, then the empty page that ends the list
    assert okta.requests[0]["auth"] == f"SSWS {OKTA_TOKEN}"
    assert okta.requests[1]["query"]["after"] == users[199]["id"]


def test_okta_waits_for_the_rate_limit_reset(clock, servers):
    users = [okta_user(i, department="Sales") for i in range(450)]
    okta = started(servers, FakeOkta(users, OKTA_TOKEN, clock, rate_limit=2))
    listed, _ = read_okta(OKTA_TOKEN, "department", okta.url)
    assert len(listed) == 450
    assert clock.slept and all(0 < s <= 61 for s in clock.slept)
    assert all(r["path"] == "/api/v1/users" for r in okta.requests)


def test_okta_multi_valued_profile_attribute(clock, servers, mapping, monkeypatch, capsys):
    users = [okta_user(0, teams=["Sales", "Engineering"]), okta_user(1, teams=["Sales"])]
    okta = started(servers, FakeOkta(users, OKTA_TOKEN, clock))
    monkeypatch.setenv("GROUPMAP_OKTA_TOKEN", OKTA_TOKEN)
    assert main(["preview", "--users", "okta:profile.teams", "--mapping", str(mapping),
                 "--okta-url", okta.url, "--multiple-groups", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {g["name"]: g["after"] for g in report["groups"]} == {"Sales Team": 2, "Engineers": 1}


def test_okta_errors_name_the_scope_and_hide_the_token(clock, servers, mapping, monkeypatch,
                                                        capsys):
    okta = started(servers, FakeOkta([okta_user(0)], OKTA_TOKEN, clock, refuse="permission"))
    monkeypatch.setenv("GROUPMAP_OKTA_TOKEN", OKTA_TOKEN)
    assert main(["preview", "--users", "okta:department", "--mapping", str(mapping),
                 "--okta-url", okta.url]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "okta.users.read" in err and "E0000006" in err
    monkeypatch.setenv("GROUPMAP_OKTA_TOKEN", "00wrong-token-zzzzzz")
    assert main(["preview", "--users", "okta:department", "--mapping", str(mapping),
                 "--okta-url", okta.url]) == 3
    err = capsys.readouterr().err
    assert "E0000011" in err and "okta.users.read" in err and "00wrong-token-zzzzzz" not in err


def test_okta_oauth_token_is_sent_as_bearer(clock, servers):
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzY3AiOlsib2t0YS51c2Vycy5yZWFkIl19.c2lnbmF0dXJl"
    okta = started(servers, FakeOkta([okta_user(0)], jwt, clock))
    read_okta(jwt, "department", okta.url)
    assert okta.requests[0]["auth"] == f"Bearer {jwt}"
    opaque = started(servers, FakeOkta([okta_user(0)], "opaque-access-token", clock))
    read_okta("Bearer opaque-access-token", "department", opaque.url)  # its scheme as given
    assert opaque.requests[0]["auth"] == "Bearer opaque-access-token"


def test_a_page_over_the_size_cap_stops_reading(clock, servers):
    users = [okta_user(i, department="x" * 2000) for i in range(100)]
    okta = started(servers, FakeOkta(users, OKTA_TOKEN, clock))
    with pytest.raises(SourceError, match="more than 0.1 MB"):
        read_okta(OKTA_TOKEN, "department", okta.url, max_response_mb=0.1)


def test_the_source_guard_stops_an_entra_source_that_lists_half_its_users(
    clock, servers, scim_server, mapping, monkeypatch, capsys
):
    users = [graph_user(i, department=d) for i, d in enumerate(departments(10))]
    graph = started(servers, FakeGraph(users, GRAPH_TOKEN, clock))
    seeded = make_users(10, [""], domain="contoso.com")
    seeded.frame["email"] = [f"user{i}@contoso.com" for i in range(10)]
    url = scim_server(seeded).url
    monkeypatch.setenv("GROUPMAP_ENTRA_TOKEN", GRAPH_TOKEN)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    args = ["sync", "--users", "entra:department", "--mapping", str(mapping), "--url", url,
            "--entra-url", f"{graph.url}/v1.0", "--apply-existing", "--allow-mass-removal"]
    assert main(args) == 0
    graph.users = users[:5]
    for user in graph.users:  # and everyone left moves: a removal the guard must prevent
        user["department"] = "Engineering"
    capsys.readouterr()
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert f"Read 5 users from {graph.url} (entra:department)." in out
    assert "has 5 users; the last sync to this server used 10 (50% fewer)" in err
    groups = httpx.get(f"{url}/Groups", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    sizes = {g["displayName"]: len(g.get("members", [])) for g in groups["Resources"]}
    assert sizes == {"Sales Team": 5, "Engineers": 5}  # as the first run left them


def test_a_compressed_answer_is_read(clock):
    """Graph and Okta answer gzip when asked (httpx asks): the size cap counts what is read."""
    import gzip
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = gzip.compress(json.dumps([okta_user(1, department="Sales")]).encode())
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        users, _ = read_okta(OKTA_TOKEN, "department", f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
    assert list(users.frame["source"]) == ["Sales"]


def test_a_passing_server_failure_is_asked_again(clock, servers):
    users = [graph_user(i, department="Sales") for i in range(3)]
    graph = started(servers, FakeGraph(users, GRAPH_TOKEN, clock))
    answer = graph.answer
    failures = iter([(502, {}, {"error": {"code": "BadGateway", "message": "try later"}})])
    graph.answer = lambda *args: next(failures, None) or answer(*args)
    listed, _ = read_entra(GRAPH_TOKEN, "department", graph.url)
    assert len(listed) == 3 and len(graph.requests) == 2 and clock.slept == [2.0]


def test_ctrl_c_while_reading_a_source_exits_130_writing_nothing(mapping, monkeypatch, capsys):
    import app.sources.entra as entra

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setenv("GROUPMAP_ENTRA_TOKEN", GRAPH_TOKEN)
    monkeypatch.setattr(entra, "read_entra", interrupted)
    with pytest.raises(SystemExit) as stopped:
        main(["sync", "--users", "entra:department", "--mapping", str(mapping),
              "--url", "http://127.0.0.1:9/v2"])
    assert stopped.value.code == 130
    assert "cancelled (Ctrl-C) while reading Microsoft Entra ID" in capsys.readouterr().err
