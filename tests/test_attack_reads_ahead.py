"""Attacks on the reads at scale: the group list's first page read ahead of the user pages'
end (app/scim/sync/groups_ahead.py), the pages under way following the answers (Window in
app/scim/http/paging.py), and both under a rate limit. Each test asserts what must hold:
requests in flight (counted by the proxy), the group list read once, the error text, no
thread left running and no request sent after the read ended, the server's final state."""

from __future__ import annotations

import threading

import pytest

from app.core.errors import InputError
from app.scim.http.errors import AuthError, ScimError, SyncCancelled
from app.scim.http.pacing import RateLimiter
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.gate import plan_changes
from app.scim.sync.group_reads import read_groups
from tests.attack_ahead import (
    GROUPS,
    MAPPING,
    VALUES,
    ahead_client,
    in_groups,
    page_threads,
    stopped_after,
    users_with_one_missing,
)
from tests.scim_counting_proxy import CountingRateProxy
from tests.scim_fixtures import TOKEN, expected_groups, fast_client, make_mapping, make_users

# --- 1. the group list's first page read ahead ------------------------------------------------


@pytest.mark.parametrize("quirk", ["no_total", "short_page"])
def test_concurrency_one_never_has_two_requests_in_flight(scim_server, counting_proxy, quirk):
    """--concurrency 1: the user walk may take more pages than its first page implies (no
    totalResults, or a page shorter than the first): the group list must not be asked for
    while a user page is still to come."""
    on_server, export = users_with_one_missing(40)
    server = scim_server(on_server)
    proxy = counting_proxy(server.url, group_delay=0.3,
                           quirks=frozenset({"no_total"}) if quirk == "no_total" else frozenset())
    if quirk == "short_page":
        original = proxy._rewrite

        def rewrite(method, path, query, body):  # the page at startIndex 11 holds 5, not 10
            path, query, body = original(method, path, query, body)
            if path == "/Users" and query.get("startIndex") == "11":
                query["count"] = "5"
            return path, query, body

        proxy._rewrite = rewrite
    settings = SyncSettings(proxy.url, TOKEN, concurrency=1)
    with ahead_client(proxy.url, page_size=10) as client:
        state = read_server_state(client, export, MAPPING, settings)
    assert proxy.most == 1
    assert len(state.user_ids) == 40 and state.not_found == ["user00040@ex.com"]
    assert [q["startIndex"] for q in proxy.group_lists()][:1] == ["1"]  # the list read once
    assert sum(q["startIndex"] == "1" for q in proxy.group_lists()) == 1
    assert page_threads() == []


@pytest.mark.parametrize("concurrency", [2, 3, 4])
def test_requests_in_flight_never_exceed_concurrency(scim_server, counting_proxy, concurrency):
    """A server answering in parallel (every answer held 50 ms): the user pages' window
    grows to --concurrency, and the group list's first page joins only in a free slot."""
    on_server, export = users_with_one_missing(60)
    server = scim_server(on_server)
    proxy = counting_proxy(server.url, delay=0.05, group_delay=0.1)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=concurrency)
    with ahead_client(proxy.url, page_size=5) as client:
        state = read_server_state(client, export, MAPPING, settings)
    assert proxy.most <= concurrency
    assert len(proxy.group_lists()) == 1
    dump = server.dump()
    by_id = state.email_of_id()
    read = {name: {by_id[m] for m in group.members} for name, group in state.groups.items()}
    assert read == dump["groups"] and len(read) == 3
    assert page_threads() == []


def test_prefetched_page_too_large_falls_back_to_listing_without_members(
    scim_server, counting_proxy
):
    """The group list's first page, asked for ahead, is above --max-response-mb: the groups
    are listed without members and read one by one, as without the read ahead."""
    users = in_groups(30)
    server = scim_server(users)
    proxy = counting_proxy(server.url, pad_groups=120_000)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with ahead_client(proxy.url, page_size=5, max_response_mb=0.1) as client:
        state = read_server_state(client, users, MAPPING, settings)
    lists = proxy.group_lists()
    assert "excludedAttributes" not in lists[0]
    assert all(q.get("excludedAttributes") == "members" for q in lists[1:]) and len(lists) == 2
    by_id = state.email_of_id()
    read = {n: {by_id[m] for m in g.members} for n, g in state.groups.items()}
    assert read == server.dump()["groups"]
    assert set(state.groups_read_by.values()) == {"single"}
    assert page_threads() == []


def _refusing(status: int):
    def refuse(record):
        if record.method == "GET" and record.path == "/Groups":
            return status, f"injected {status}"
        return None

    return refuse


@pytest.mark.parametrize("status", [401, 403, 500])
def test_prefetched_page_refused_gives_the_same_error(scim_server, counting_proxy, status):
    """A 401/403/500 on the group list's first page, asked for ahead: the same error, same
    words, as where the group list is read without the read ahead."""
    users = make_users(30, VALUES)
    server = scim_server(users)
    proxy = counting_proxy(server.url, refuse=_refusing(status))
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with ahead_client(proxy.url, page_size=5, max_attempts=2) as client:
        with pytest.raises(ScimError) as ahead:
            read_server_state(client, users, MAPPING, settings)
        assert page_threads() == []
        with pytest.raises(ScimError) as direct:
            read_groups(client, ["Sales"], 4)
    assert type(ahead.value) is type(direct.value)
    assert str(ahead.value) == str(direct.value)
    if status in (401, 403):
        assert isinstance(ahead.value, AuthError)


def test_prefetched_page_timing_out_gives_the_same_error(scim_server, counting_proxy):
    """The group list's first page never answers within the timeout: the same error as
    without the read ahead, and no thread is left waiting."""
    users = make_users(30, VALUES)
    server = scim_server(users)
    proxy = counting_proxy(server.url, group_delay=0.6)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with ahead_client(proxy.url, page_size=5, max_attempts=2, timeout=0.3) as client:
        with pytest.raises(ScimError) as ahead:
            read_server_state(client, users, MAPPING, settings)
        assert page_threads() == []
        with pytest.raises(ScimError) as direct:
            read_groups(client, ["Sales"], 4)
    assert type(ahead.value) is type(direct.value)
    assert str(ahead.value) == str(direct.value)
    assert "timed out" in str(ahead.value)


def test_cancel_while_the_group_page_is_under_way(scim_server, counting_proxy):
    """Cancel pressed as the group list's first page is asked for: the read stops, no other
    page is asked for, no thread is left."""
    on_server, export = users_with_one_missing(60)
    server = scim_server(on_server)
    cancel = threading.Event()

    def hook(path: str, query: dict[str, str]) -> None:
        if path == "/Groups":
            cancel.set()

    proxy = counting_proxy(server.url, delay=0.05, group_delay=0.2, hook=hook)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with ahead_client(proxy.url, page_size=5) as client, pytest.raises(SyncCancelled):
        read_server_state(client, export, MAPPING, settings, cancelled=cancel.is_set)
    assert page_threads() == []
    assert stopped_after(proxy) == 0
    assert len(proxy.group_lists()) == 1


def test_cancel_mid_user_walk_asks_for_nothing_more(scim_server, counting_proxy):
    """Cancel pressed while user pages are under way: "nothing more is asked for" (README):
    no request reaches the server after the cancel."""
    on_server, export = users_with_one_missing(60)
    server = scim_server(on_server)
    cancel = threading.Event()
    late: list[str] = []

    asked: set[str] = set()

    def hook(path: str, query: dict[str, str]) -> None:
        if cancel.is_set():
            late.append(f"{path} {query.get('startIndex')}")
        asked.add(f"{path} {query.get('startIndex')}")
        if {"/Users 6", "/Users 11"} <= asked:  # both pages of the first window asked for
            cancel.set()

    proxy = counting_proxy(server.url, delay=0.15, hook=hook)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with ahead_client(proxy.url, page_size=5) as client, pytest.raises(SyncCancelled):
        read_server_state(client, export, MAPPING, settings, cancelled=cancel.is_set)
    assert late == []
    assert page_threads() == []
    assert proxy.group_lists() == []


def test_nobody_found_sends_no_group_request_after_the_error(scim_server, counting_proxy):
    """Not one export user on the server: the error says so; the group list, if asked for
    near the end of the user pages, is answered before the error, never after it."""
    server = scim_server(in_groups(30))
    export = make_users(5, VALUES, domain="elsewhere.org")
    proxy = counting_proxy(server.url, delay=0.02, group_delay=0.2)
    for concurrency in (1, 4):
        settings = SyncSettings(proxy.url, TOKEN, concurrency=concurrency)
        nobody = pytest.raises(InputError, match="none of the export's 5 users was found")
        with ahead_client(proxy.url, page_size=5) as client, nobody:
            read_server_state(client, export, MAPPING, settings)
        assert page_threads() == []
        assert stopped_after(proxy) == 0
        proxy.stopped = False
    assert sum(q["startIndex"] == "1" for q in proxy.group_lists()) <= 1  # only at 4


def test_ambiguous_users_read_ahead_completes(scim_server, counting_proxy):
    """Two accounts for one export user (one by userName, one by a second email): left
    alone, the rest read as usual, the group list read once, no thread left."""
    users = in_groups(40)
    server = scim_server(users)
    twin = dict(server.dump()["attributes"]["user00007@ex.com"])
    with ahead_client(server.url) as client:
        client.request("POST", "/Users", json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "twin-of-7", "emails": [{"value": twin["userName"]}],
        })
    proxy = counting_proxy(server.url, delay=0.02)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4, match_attribute="emails")
    with ahead_client(proxy.url, page_size=5) as client:
        state = read_server_state(client, users, MAPPING, settings)
    assert set(state.ambiguous) == {"user00007@ex.com"}
    assert len(state.user_ids) == 39 and not state.not_found
    assert sum(q["startIndex"] == "1" for q in proxy.group_lists()) == 1
    assert proxy.most <= 4 and page_threads() == []


# --- 3. with the rate limiter, and through the write gate ---------------------------------------


def _moved(i: int) -> str:
    """A fifth of the users start in the wrong managed group: the sync adds and removes."""
    return GROUPS[(i + 1) % 3] if i % 5 == 0 else GROUPS[i % 3]


@pytest.mark.parametrize("mode", ["retry_after", "bare"])
def test_sync_under_429s_reads_ahead_and_ends_exact(scim_server, mode):
    """A sync of 30 users in pages of 5 behind a rate limit (429 with Retry-After, or bare),
    pages and the group list's first page read ahead, the write gate reading the scope again:
    the server ends exactly as the preview says, the requests in flight never above 4."""
    users = make_users(30, VALUES, groups=_moved)
    mapping = make_mapping({"sales": "Sales", "eng": "Engineering", "ops": "Ops"},
                           apply_existing=True)
    server = scim_server(users)
    proxy = CountingRateProxy(server.url, rate=20.0, burst=2.0, mode=mode)
    proxy.start()
    try:
        settings = SyncSettings(proxy.url, TOKEN, concurrency=4, max_removal_ratio=1.0)
        limiter = RateLimiter(deadline=30.0)
        with fast_client(proxy.url, page_size=5, limiter=limiter) as client:
            state = read_server_state(client, users, mapping, settings)
            plan = plan_sync(users, mapping, state, settings)
            plan.state.read_at = 0.0  # an old plan: the write gate reads the scope again
            result = execute(client, plan, settings)
    finally:
        proxy.stop()
    assert not result.failed
    dump = server.dump()
    assert all(count == 1 for count in dump["group_counts"].values())
    assert dump["groups"] == expected_groups(users, mapping)
    assert proxy.most <= 4
    assert proxy.throttled > 0  # the limit was met
    assert page_threads() == []


def test_write_gate_reads_within_concurrency(scim_server, counting_proxy):
    """The write gate's read of a plan's scope (app/scim/sync/gate.py, read_scope) at
    --concurrency 1 on a server without totalResults: one request at a time, the group list
    read once, no thread left."""
    users = make_users(40, VALUES, groups=_moved)
    mapping = make_mapping({"sales": "Sales", "eng": "Engineering", "ops": "Ops"},
                           apply_existing=True)
    server = scim_server(users)
    proxy = counting_proxy(server.url, group_delay=0.1, quirks=frozenset({"no_total", "no_filter"}))
    settings = SyncSettings(proxy.url, TOKEN, concurrency=1, max_removal_ratio=1.0)
    with ahead_client(proxy.url, page_size=10) as client:
        plan = plan_sync(users, mapping, read_server_state(client, users, mapping, settings),
                         settings)
        proxy.reset_records()
        changes, fresh = plan_changes(client, plan, settings)
    assert changes == []
    assert proxy.most == 1
    assert sum(q["startIndex"] == "1" for q in proxy.group_lists()) == 1
    assert page_threads() == []
