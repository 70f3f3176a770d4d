"""The SCIM client against a real scim2-server on loopback (faults and quirks via the proxy)."""

from __future__ import annotations

import threading

import httpx
import pytest

from app.core.errors import InputError
from app.scim.http.client import FilterIgnored, ScimClient, escape_filter_value
from app.scim.http.errors import AuthError, ConnectError, ScimError
from app.scim.http.pacing import RateLimiter
from app.scim.http.transport import Transport
from tests.scim_fixtures import TOKEN, fast_client, make_users


def test_features_follow_service_provider_config(scim_server):
    server = scim_server()
    with fast_client(server.url) as client:
        features = client.features()
        assert features.patch and features.filter and features.etag and features.bulk
        assert features.filter_max_results == 1000
        assert features.bulk_max_operations == 1000
        assert features.bulk_max_payload == 1048576
        client.features()
        assert client.request_count == 1


def test_paging_walks_every_page_even_when_capped(scim_server, fault_proxy):
    server = scim_server(make_users(237, ["a"]))
    proxy = fault_proxy(server.url, page_cap=50)
    with fast_client(proxy.url) as client:
        users = client.list_users(["userName"])
        assert len({u["userName"] for u in users}) == 237
        pages = [r for r in proxy.records if r.path == "/Users"]
        assert len(pages) == 5  # 50 + 50 + 50 + 50 + 37, though 1000 were asked for
        assert [int(r.query["startIndex"]) for r in pages] == [1, 51, 101, 151, 201]
        assert all(r.query["count"] == "1000" for r in pages)  # maxResults


def test_groups_listed_without_members(scim_server, fault_proxy):
    users = make_users(3, ["a"], groups=lambda i: "Sales")
    proxy = fault_proxy(scim_server(users).url)
    with fast_client(proxy.url) as client:
        groups = client.list_groups()
    assert [g["displayName"] for g in groups] == ["Sales"]
    assert "members" not in groups[0]
    assert proxy.records[-1].query["excludedAttributes"] == "members"


def test_filter_values_are_escaped(scim_server):
    server = scim_server(make_users(2, ["a"]))
    tricky = 'o"brien\\x@ex.com'
    server.storage.create(
        server.service.get_resource_type("User"),
        server.service.get_model(server.service.get_resource_type("User")).model_validate(
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": tricky}
        ),
    )
    assert escape_filter_value(tricky) == '"o\\"brien\\\\x@ex.com"'
    with fast_client(server.url) as client:
        found = client.find_users("userName", tricky.upper())
        assert [u["userName"] for u in found] == [tricky]
        assert client.find_users("userName", 'nobody" or userName pr or "') == []


def test_filter_ignored_by_server_is_detected(scim_server, fault_proxy):
    server = scim_server(make_users(5, ["a"]))
    proxy = fault_proxy(server.url, quirks=frozenset({"filter_ignored"}))
    with fast_client(proxy.url) as client, pytest.raises(FilterIgnored):
        client.find_users("userName", "user00001@ex.com")


def test_create_group_with_members_and_409_adoption(scim_server):
    server = scim_server(make_users(3, ["a"]))
    with fast_client(server.url) as client:
        ids = [u["id"] for u in client.list_users(["userName"])]
        group, adopted = client.create_group("Sales", ids[:2])
        assert not adopted and len(group["members"]) == 2
        again, adopted = client.create_group("Sales", ids)
        assert adopted and again["id"] == group["id"]
    assert server.dump()["group_counts"] == {"Sales": 1}


def test_patch_accepts_204_and_200(scim_server, fault_proxy):
    server = scim_server(make_users(4, ["a"]))
    for quirks in (frozenset(), frozenset({"patch_200"})):
        proxy = fault_proxy(server.url, quirks=quirks)
        with fast_client(proxy.url) as client:
            users = sorted(client.list_users(["userName"]), key=lambda u: u["userName"])
            ids = [u["id"] for u in users]
            group = client.find_group("G") or client.create_group("G", [])[0]
            answer = client.modify_members(group["id"], ids[:3], [])
            assert (answer is None) == (not quirks)
            if quirks:
                assert len(answer["members"]) == 3
            client.modify_members(group["id"], [], ids[:1])
    assert server.dump()["groups"]["G"] == {"user00001@ex.com", "user00002@ex.com"}


def test_remove_shape_falls_back_and_is_remembered(scim_server, fault_proxy):
    server = scim_server(make_users(4, ["a"], groups=lambda i: "G"))
    proxy = fault_proxy(server.url, quirks=frozenset({"reject_filter_remove"}))
    with fast_client(proxy.url) as client:
        ids = [u["id"] for u in client.list_users(["userName"])]
        group = client.find_group("G")
        client.modify_members(group["id"], [], ids[:1])
        assert client.remove_style == "value"
        proxy.reset_records()
        client.modify_members(group["id"], [], ids[1:2])
        assert proxy.count("PATCH") == 1
    assert len(server.dump()["groups"]["G"]) == 2


def test_strict_server_refuses_entra_remove_so_rfc_shape_is_default(scim_server, fault_proxy):
    server = scim_server(make_users(2, ["a"], groups=lambda i: "G"))
    proxy = fault_proxy(server.url)
    with fast_client(proxy.url) as client:
        ids = [u["id"] for u in client.list_users(["userName"])]
        client.modify_members(client.find_group("G")["id"], [], ids[:1])
        assert client.remove_style == "filter"
    patch = proxy.writes()[-1].body
    assert patch["Operations"][0]["path"].startswith("members[value eq ")
    assert len(server.dump()["groups"]["G"]) == 1


def test_put_with_if_match_when_patch_unsupported(scim_server, fault_proxy):
    server = scim_server(make_users(4, ["a"], groups=lambda i: "G" if i < 2 else ""))
    proxy = fault_proxy(server.url, quirks=frozenset({"no_patch"}))
    with fast_client(proxy.url) as client:
        ids = {u["userName"]: u["id"] for u in client.list_users(["userName"])}
        group = client.find_group("G")
        listed = {ids["user00000@ex.com"], ids["user00001@ex.com"]}  # the second witness
        client.modify_members(
            group["id"], [ids["user00002@ex.com"]], [ids["user00000@ex.com"]], listed
        )
    puts = [r for r in proxy.writes() if r.method == "PUT"]
    assert len(puts) == 1 and not any(r.method == "PATCH" for r in proxy.writes())
    assert puts[0].body["displayName"] == "G" and "meta" not in puts[0].body
    assert server.dump()["groups"]["G"] == {"user00001@ex.com", "user00002@ex.com"}


def test_put_fallback_carries_the_attributes_the_client_does_not_manage(scim_server, fault_proxy):
    server = scim_server(make_users(2, ["a"]))
    proxy = fault_proxy(server.url, quirks=frozenset({"no_patch"}))
    with fast_client(proxy.url) as client:
        ids = [u["id"] for u in client.list_users(["userName"])]
        created, _ = client.create_group("G", [ids[0]])
        client.request(
            "PUT",
            f"/Groups/{created['id']}",
            json={
                "schemas": created["schemas"],
                "displayName": "G",
                "externalId": "okta-42",
                "members": [{"value": ids[0]}],
            },
        )
        client.modify_members(created["id"], [ids[1]], [], {ids[0]})
        group, _ = client.get_group(created["id"])
    assert group["externalId"] == "okta-42"
    assert len(group["members"]) == 2


@pytest.mark.parametrize("status", [429, 503])
def test_throttled_is_retried_past_max_attempts(scim_server, fault_proxy, status):
    """A throttled request is never a failure: retried beyond the attempts other errors get."""
    server = scim_server()
    refused: list[object] = []

    def throttle_seven(record):
        if len(refused) < 7:
            refused.append(record)
            return status, "slow down", {"Retry-After": "0"}
        return None

    proxy = fault_proxy(server.url, refuse=throttle_seven)
    with fast_client(proxy.url, max_attempts=3) as client:
        assert client.features().patch
        assert client.limiter.throttled == 7
    assert proxy.count() == 8


def test_5xx_and_dropped_connections_retried_then_bounded(scim_server, fault_proxy):
    server = scim_server()
    for fault in ("500", "reset", "truncate", "hang"):
        proxy = fault_proxy(server.url, fault_rate=1.0, faults=(fault,), hang_seconds=0.6)
        with fast_client(proxy.url, max_attempts=2, timeout=0.3) as client:
            with pytest.raises(ScimError) as info:
                client.list_groups()
            assert client.request_count == 2
        assert isinstance(info.value, ConnectError) == (fault != "500")


def test_transient_faults_recovered(scim_server, fault_proxy):
    server = scim_server(make_users(120, ["a"]))
    proxy = fault_proxy(server.url, fault_rate=0.3, page_cap=50, seed=3, hang_seconds=1.5)
    with fast_client(proxy.url, max_attempts=8, timeout=1.0) as client:
        assert len(client.list_users(["userName"])) == 120
    assert any(r.fault for r in proxy.records)


def test_auth_error_never_shows_the_token(scim_server):
    server = scim_server()
    wrong = "wrong-" + TOKEN
    with fast_client(server.url, token=wrong) as client:
        with pytest.raises(AuthError) as info:
            client.list_users()
        text = f"{info.value} {info.value!r} {client!r}"
    assert info.value.status == 401
    assert wrong not in text and TOKEN not in text


def test_plain_http_refused_except_loopback():
    with pytest.raises(InputError, match="https"):
        ScimClient("http://scim.example.com/v2", "t")
    ScimClient("http://scim.example.com/v2", "t", insecure_http=True).close()
    ScimClient("http://127.0.0.1:9/v2").close()
    ScimClient("http://[::1]:9/v2").close()
    ScimClient("https://scim.example.com/v2").close()


def test_unreachable_server_is_a_connect_error():
    client = fast_client("http://127.0.0.1:9/v2", max_attempts=2)
    with client, pytest.raises(ConnectError, match="could not connect"):
        client.features()


def test_put_on_a_stale_etag_rereads_and_keeps_the_other_writer(scim_server, fault_proxy):
    server = scim_server(make_users(4, ["a"], groups=lambda i: "G" if i < 2 else ""))
    with fast_client(server.url) as direct:
        ids = {u["userName"]: u["id"] for u in direct.list_users(["userName"])}
        group_id = direct.find_group("G")["id"]
        raced: list[str] = []

        def other_writer(record):  # another admin changes G between our GET and our PUT
            if record.method == "PUT" and not raced:
                raced.append(record.path)
                direct.modify_members(group_id, [ids["user00003@ex.com"]], [])
            return None

        proxy = fault_proxy(server.url, quirks=frozenset({"no_patch"}), refuse=other_writer)
        with fast_client(proxy.url) as client:
            listed = {ids["user00000@ex.com"], ids["user00001@ex.com"]}
            client.modify_members(
                group_id, [ids["user00002@ex.com"]], [ids["user00000@ex.com"]], listed
            )
    puts = [r for r in proxy.writes() if r.method == "PUT"]
    assert len(puts) == 2 and proxy.count("GET", "/Groups/") == 2
    assert server.dump()["groups"]["G"] == {
        "user00001@ex.com",
        "user00002@ex.com",
        "user00003@ex.com",
    }


def test_remove_shape_learned_by_another_thread_is_used_on_retry(scim_server, fault_proxy):
    """B's remove goes out in the RFC shape; A learns the server wants Entra's shape meanwhile."""
    users = make_users(4, ["a"], groups=lambda i: "A" if i < 2 else "B")
    server = scim_server(users)
    b_sent, learned = threading.Event(), threading.Event()

    def hold_b(record):
        if record.method == "PATCH" and record.path == b_path and not b_sent.is_set():
            b_sent.set()
            learned.wait(10)
        return None

    proxy = fault_proxy(server.url, quirks=frozenset({"reject_filter_remove"}), refuse=hold_b)
    with fast_client(proxy.url) as client:
        ids = {u["userName"]: u["id"] for u in client.list_users(["userName"])}
        a_id, b_id = client.find_group("A")["id"], client.find_group("B")["id"]
        b_path = f"/Groups/{b_id}"
        errors: list[Exception] = []

        def remove_from_b():
            try:
                client.modify_members(b_id, [], [ids["user00002@ex.com"]])
            except ScimError as exc:
                errors.append(exc)

        thread = threading.Thread(target=remove_from_b)
        thread.start()
        assert b_sent.wait(10)
        client.modify_members(a_id, [], [ids["user00000@ex.com"]])
        assert client.remove_style == "value"
        learned.set()
        thread.join(10)
    assert not errors
    groups = server.dump()["groups"]
    assert groups["A"] == {"user00001@ex.com"} and groups["B"] == {"user00003@ex.com"}


def test_a_long_error_page_echoing_the_token_is_cut_after_redaction():
    transport = Transport("http://127.0.0.1:9/v2", TOKEN)
    page = "x" * 270 + f" Bearer {TOKEN} and more"  # the 300-character cut falls inside
    error = transport.error_of(httpx.Response(502, text=page))
    transport.close()
    assert "[redacted]" in str(error) and TOKEN[:10] not in str(error)


def test_a_retry_after_beyond_the_deadline_fails_at_once(scim_server, fault_proxy):
    """Hours of Retry-After: no early retry (refused again), no hang; the deadline is named."""
    server = scim_server()
    proxy = fault_proxy(server.url, fault_rate=1.0, faults=("429",), retry_after="3600")
    client = fast_client(proxy.url, limiter=RateLimiter(deadline=60))
    with client, pytest.raises(ScimError, match="--deadline") as info:
        client.features()
    assert info.value.status == 429 and proxy.count() == 1


def test_a_remove_answered_no_target_keeps_the_rfc_shape(scim_server, fault_proxy):
    """noTarget means a member is already gone, not that the shape is wrong: switching to
    Entra's value array there could make a literal server remove every member."""
    server = scim_server(make_users(3, ["a"], groups=lambda i: "G"))
    refused: list[object] = []

    def refuse_first_patch(record):
        if record.method == "PATCH" and not refused:
            refused.append(record)
            return 400, "no such member", None, "noTarget"
        return None

    proxy = fault_proxy(server.url, refuse=refuse_first_patch)
    with fast_client(proxy.url) as client:
        ids = {u["userName"]: u["id"] for u in client.list_users(["userName"])}
        group = client.find_group("G")
        gone = [ids["user00000@ex.com"], ids["user00001@ex.com"]]
        client.modify_members(group["id"], [], gone)
        assert client.remove_style == "filter"
    patches = [r for r in proxy.records if r.method == "PATCH"]
    assert len(patches) == 2
    assert all("[" in op["path"] for p in patches for op in p.body["Operations"])
    assert server.dump()["groups"]["G"] == {"user00002@ex.com"}
