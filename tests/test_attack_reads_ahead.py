"""Attacks on the reads at scale: the group list's first page read ahead of the user pages'
end (app/scim/sync/groups_ahead.py), the pages under way following the answers (Window in
app/scim/http/paging.py), and both under a rate limit. Each test asserts what must hold:
requests in flight (counted by the proxy), the group list read once, the error text, no
thread left running and no request sent after the read ended, the server's final state."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.core.errors import InputError
from app.core.users import UserList
from app.scim.http.errors import AuthError, BadAnswer, ScimError, SyncCancelled
from app.scim.http.pacing import RateLimiter
from app.scim.http.paging import Window
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.gate import plan_changes
from app.scim.sync.group_reads import read_groups
from tests.scim_fixtures import TOKEN, expected_groups, fast_client, make_mapping, make_users
from tests.scim_proxy import FaultProxy
from tests.scim_rate_proxy import RateLimitProxy

VALUES = ["sales", "eng", "ops"]
GROUPS = ["Sales", "Engineering", "Ops"]


def _in_groups(n: int, domain: str = "ex.com"):
    """n users, each in the managed group of its source value (the server's groups)."""
    return make_users(n, VALUES, groups=lambda i: GROUPS[i % 3], domain=domain)
MAPPING = make_mapping({"sales": "Sales", "eng": "Engineering", "ops": "Ops"})


@dataclass
class CountingProxy(FaultProxy):
    """Counts the requests in flight (received, not yet answered) and the most at once;
    holds every answer `delay` seconds and the group list's `group_delay`, so requests sent
    meanwhile overlap them; `hook(path, query)` sees every request as it arrives, `mangle`
    may rewrite a page's JSON (path, query, body) -> body; pad_groups: bytes added to the
    group list's pages asked with their members (a page too large for a small limit)."""

    delay: float = 0.0
    group_delay: float = 0.0
    pad_groups: int = 0
    most: int = 0
    after_stop: int = 0  # requests received after `stopped` was set
    stopped: bool = False
    hook: Any = None
    mangle: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._flight = threading.Lock()
        self._now = 0

    def _handle(self, h: Any) -> None:
        split = urlsplit(h.path)
        path, query = split.path[len(self._prefix):], dict(parse_qsl(split.query))
        with self._flight:
            self._now += 1
            self.most = max(self.most, self._now)
            if self.stopped:
                self.after_stop += 1
        try:
            if self.hook is not None:
                self.hook(path, query)
            time.sleep(self.delay + (self.group_delay if path == "/Groups" else 0.0))
            h.attack_query = query
            super()._handle(h)
        finally:
            with self._flight:
                self._now -= 1

    def _quirk_response(self, h: Any, path: str, response: Any) -> tuple[int, bytes, dict]:
        status, content, headers = super()._quirk_response(h, path, response)
        query = getattr(h, "attack_query", {})
        if status == 200 and h.command == "GET" and path == "/Groups":
            if self.pad_groups and "excludedAttributes" not in query:
                body = json.loads(content)
                body["padding"] = "x" * self.pad_groups
                content = json.dumps(body).encode()
        if status == 200 and self.mangle is not None:
            content = json.dumps(self.mangle(path, query, json.loads(content))).encode()
        return status, content, headers

    def group_lists(self) -> list[dict[str, str]]:
        """The queries of the group list's pages asked for (GET /Groups, not /Groups/{id})."""
        with self._lock:
            return [r.query for r in self.records if r.method == "GET" and r.path == "/Groups"]


@pytest.fixture
def counting_proxy():
    started: list[CountingProxy] = []

    def make(*args: Any, **kwargs: Any) -> CountingProxy:
        proxy = CountingProxy(*args, **kwargs)
        proxy.start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()


def _client(url: str, **kwargs: Any):
    """A fast client whose limiter knows a high rate: requests overlap from the first one
    (an unknown server's first second would hold them one at a time, hiding the overlap)."""
    return fast_client(url, limiter=RateLimiter(max_rate=1000.0), **kwargs)


def _page_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("groupmap-")]


def _users_with_one_missing(n: int):
    """n users on the server, and an export naming them all plus one not there: every user
    page is read to its end (nobody found early)."""
    on_server = _in_groups(n)
    export = make_users(n + 1, VALUES)
    return on_server, export


# --- 1. the group list's first page read ahead ------------------------------------------------


@pytest.mark.parametrize("quirk", ["no_total", "short_page"])
def test_concurrency_one_never_has_two_requests_in_flight(scim_server, counting_proxy, quirk):
    """--concurrency 1: the user walk may take more pages than its first page implies (no
    totalResults, or a page shorter than the first): the group list must not be asked for
    while a user page is still to come."""
    on_server, export = _users_with_one_missing(40)
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
    with _client(proxy.url, page_size=10) as client:
        state = read_server_state(client, export, MAPPING, settings)
    assert proxy.most == 1
    assert len(state.user_ids) == 40 and state.not_found == ["user00040@ex.com"]
    assert [q["startIndex"] for q in proxy.group_lists()][:1] == ["1"]  # the list read once
    assert sum(q["startIndex"] == "1" for q in proxy.group_lists()) == 1
    assert _page_threads() == []


@pytest.mark.parametrize("concurrency", [2, 3, 4])
def test_requests_in_flight_never_exceed_concurrency(scim_server, counting_proxy, concurrency):
    """A server answering in parallel (every answer held 50 ms): the user pages' window
    grows to --concurrency, and the group list's first page joins only in a free slot."""
    on_server, export = _users_with_one_missing(60)
    server = scim_server(on_server)
    proxy = counting_proxy(server.url, delay=0.05, group_delay=0.1)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=concurrency)
    with _client(proxy.url, page_size=5) as client:
        state = read_server_state(client, export, MAPPING, settings)
    assert proxy.most <= concurrency
    assert len(proxy.group_lists()) == 1
    dump = server.dump()
    by_id = state.email_of_id()
    read = {name: {by_id[m] for m in group.members} for name, group in state.groups.items()}
    assert read == dump["groups"] and len(read) == 3
    assert _page_threads() == []


def test_prefetched_page_too_large_falls_back_to_listing_without_members(
    scim_server, counting_proxy
):
    """The group list's first page, asked for ahead, is above --max-response-mb: the groups
    are listed without members and read one by one, as without the read ahead."""
    users = _in_groups(30)
    server = scim_server(users)
    proxy = counting_proxy(server.url, pad_groups=120_000)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with _client(proxy.url, page_size=5, max_response_mb=0.1) as client:
        state = read_server_state(client, users, MAPPING, settings)
    lists = proxy.group_lists()
    assert "excludedAttributes" not in lists[0]
    assert all(q.get("excludedAttributes") == "members" for q in lists[1:]) and len(lists) == 2
    by_id = state.email_of_id()
    read = {n: {by_id[m] for m in g.members} for n, g in state.groups.items()}
    assert read == server.dump()["groups"]
    assert set(state.groups_read_by.values()) == {"single"}
    assert _page_threads() == []


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
    with _client(proxy.url, page_size=5, max_attempts=2) as client:
        with pytest.raises(ScimError) as ahead:
            read_server_state(client, users, MAPPING, settings)
        assert _page_threads() == []
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
    with _client(proxy.url, page_size=5, max_attempts=2, timeout=0.3) as client:
        with pytest.raises(ScimError) as ahead:
            read_server_state(client, users, MAPPING, settings)
        assert _page_threads() == []
        with pytest.raises(ScimError) as direct:
            read_groups(client, ["Sales"], 4)
    assert type(ahead.value) is type(direct.value)
    assert str(ahead.value) == str(direct.value)
    assert "timed out" in str(ahead.value)


def _stopped_after(proxy: CountingProxy) -> int:
    """Requests the proxy receives after the read ended (none may come)."""
    proxy.stopped = True
    time.sleep(0.3)
    return proxy.after_stop


def test_cancel_while_the_group_page_is_under_way(scim_server, counting_proxy):
    """Cancel pressed as the group list's first page is asked for: the read stops, no other
    page is asked for, no thread is left."""
    on_server, export = _users_with_one_missing(60)
    server = scim_server(on_server)
    cancel = threading.Event()

    def hook(path: str, query: dict[str, str]) -> None:
        if path == "/Groups":
            cancel.set()

    proxy = counting_proxy(server.url, delay=0.05, group_delay=0.2, hook=hook)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with _client(proxy.url, page_size=5) as client:
        with pytest.raises(SyncCancelled):
            read_server_state(client, export, MAPPING, settings, cancelled=cancel.is_set)
    assert _page_threads() == []
    assert _stopped_after(proxy) == 0
    assert len(proxy.group_lists()) == 1


def test_cancel_mid_user_walk_asks_for_nothing_more(scim_server, counting_proxy):
    """Cancel pressed while user pages are under way: "nothing more is asked for" (README):
    no request reaches the server after the cancel."""
    on_server, export = _users_with_one_missing(60)
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
    with _client(proxy.url, page_size=5) as client:
        with pytest.raises(SyncCancelled):
            read_server_state(client, export, MAPPING, settings, cancelled=cancel.is_set)
    assert late == []
    assert _page_threads() == []
    assert proxy.group_lists() == []


def _late_first(pages: dict[str, float]):
    """A hook holding the user pages at these startIndexes: the pages after them arrive
    first (answers out of order)."""

    def hook(path: str, query: dict[str, str]) -> None:
        if path == "/Users":
            time.sleep(pages.get(query.get("startIndex", ""), 0.0))

    return hook


def _duplicate(path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    if path == "/Users" and query.get("startIndex") == "46":
        body["Resources"] = body["Resources"][:-1] + body["Resources"][:1]
    return body


def _repeat(path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    if path == "/Users" and query.get("startIndex") == "46":
        body["Resources"] = [dict(r) for r in _repeat.first]  # page 1 again
    elif path == "/Users" and query.get("startIndex") == "1":
        _repeat.first = body["Resources"]
    return body


def _empty(path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    if path == "/Users" and query.get("startIndex") == "46":
        body["Resources"] = []
    return body


def _endless(path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Fresh made-up users on every page, and a total always one page further."""
    start = int(query.get("startIndex", "1"))
    if path == "/Users" and start > 1:
        body["Resources"] = [
            {"id": f"made-{start + i}", "userName": f"made{start + i}@ex.com"} for i in range(5)
        ]
        body["totalResults"] = start + 10
    return body


@pytest.mark.parametrize(
    ("mangle", "words"),
    [
        (_duplicate, "twice in one page"),
        (_repeat, "the same resources again at startIndex 46"),
        (_empty, "then an empty page, where totalResults said 60"),
        (_endless, "page after page"),
    ],
)
def test_hostile_pages_out_of_order_still_fail_safe(scim_server, counting_proxy, mangle, words):
    """A hostile user page among pages answered out of order (the ones before it held back,
    so it and those after arrive first), with the group list's first page asked for ahead:
    the same error as read one by one; no thread left, nothing asked for after it."""
    on_server, export = _users_with_one_missing(60)
    server = scim_server(on_server)
    proxy = counting_proxy(server.url, mangle=mangle,
                           hook=_late_first({"36": 0.15, "41": 0.1}))
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with _client(proxy.url, page_size=5) as client:
        with pytest.raises(BadAnswer, match=words):
            read_server_state(client, export, MAPPING, settings)
    assert _page_threads() == []
    assert _stopped_after(proxy) == 0
    assert proxy.most <= 4
    assert sum(q["startIndex"] == "1" for q in proxy.group_lists()) <= 1
    with _client(proxy.url, page_size=5) as client:  # read one page after another
        with pytest.raises(BadAnswer, match=words):
            read_server_state(client, export, MAPPING,
                              SyncSettings(proxy.url, TOKEN, concurrency=1))


def test_nobody_found_sends_no_group_request_after_the_error(scim_server, counting_proxy):
    """Not one export user on the server: the error says so; the group list, if asked for
    near the end of the user pages, is answered before the error, never after it."""
    server = scim_server(_in_groups(60))
    export = make_users(5, VALUES, domain="elsewhere.org")
    proxy = counting_proxy(server.url, delay=0.02, group_delay=0.2)
    for concurrency in (1, 4):
        settings = SyncSettings(proxy.url, TOKEN, concurrency=concurrency)
        with _client(proxy.url, page_size=5) as client:
            with pytest.raises(InputError, match="none of the export's 5 users was found"):
                read_server_state(client, export, MAPPING, settings)
        assert _page_threads() == []
        assert _stopped_after(proxy) == 0
        proxy.stopped = False
    assert sum(q["startIndex"] == "1" for q in proxy.group_lists()) <= 1  # only at 4


def test_ambiguous_users_read_ahead_completes(scim_server, counting_proxy):
    """Two accounts for one export user (one by userName, one by a second email): left
    alone, the rest read as usual, the group list read once, no thread left."""
    users = _in_groups(40)
    server = scim_server(users)
    twin = dict(server.dump()["attributes"]["user00007@ex.com"])
    with _client(server.url) as client:
        client.request("POST", "/Users", json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "twin-of-7", "emails": [{"value": twin["userName"]}],
        })
    proxy = counting_proxy(server.url, delay=0.02)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4, match_attribute="emails")
    with _client(proxy.url, page_size=5) as client:
        state = read_server_state(client, users, MAPPING, settings)
    assert set(state.ambiguous) == {"user00007@ex.com"}
    assert len(state.user_ids) == 39 and not state.not_found
    assert sum(q["startIndex"] == "1" for q in proxy.group_lists()) == 1
    assert proxy.most <= 4 and _page_threads() == []


def test_a_walk_stopped_early_asked_for_fewer_than_concurrency_pages_it_did_not_need(
    scim_server, counting_proxy
):
    """Every export user on the second page of twelve: the walk stops there, having asked
    for fewer than --concurrency pages past it."""
    server = scim_server(_in_groups(60))
    with _client(server.url, page_size=5) as client:
        second = client.list_resources("/Users")[5:10]  # the second page of five
    export = UserList.of_emails([second[1]["userName"], second[3]["userName"]])
    proxy = counting_proxy(server.url, delay=0.05, quirks=frozenset({"no_filter"}))
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with _client(proxy.url, page_size=5) as client:
        state = read_server_state(client, export, MAPPING, settings)
    assert set(state.user_ids) == {second[1]["userName"], second[3]["userName"]}
    with proxy._lock:
        records = list(proxy.records)
    walk = records[:[r.path for r in records].index("/Groups")]  # the user walk's pages
    starts = [int(r.query["startIndex"]) for r in walk if r.path == "/Users"]
    assert 6 in starts and len([s for s in starts if s > 6]) < 4
    assert _page_threads() == []


# --- 2. the window of pages under way ---------------------------------------------------------


@pytest.mark.parametrize("first", [0.0, -1.0])
def test_window_ignores_zero_or_negative_durations(first):
    """A clock too coarse to time a fast answer (0 s; Windows' 15.6 ms tick) or running
    back must not pin the window at two for the walk: a server answering every page in
    the same time, in parallel, gets --concurrency pages under way."""
    window = Window(4)
    window.answered(first)
    for _ in range(5):
        window.answered(0.1)
    assert window.size == 4
    assert window.base == 0.1


@pytest.mark.parametrize("most", [1, 2, 3, 4, 8])
def test_window_stays_within_its_bounds_whatever_the_answers(most):
    """Answers taking wildly varying times (a microsecond to a minute, zero, negative, a
    huge first one): the window never goes below min(2, --concurrency), nor above it."""
    window = Window(most)
    times = [60.0, 1e-6, 0.0, -5.0, 30.0, 1e-9, 0.5, 120.0, 1e-3, 0.0, 7.0] * 5
    for seconds in times:
        window.answered(seconds)
        assert min(2, most) <= window.size <= most


# --- 3. with the rate limiter, and through the write gate ---------------------------------------


@dataclass
class CountingRateProxy(CountingProxy, RateLimitProxy):
    """The token-bucket proxy (tests/scim_rate_proxy.py), counting requests in flight."""


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
    assert _page_threads() == []


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
    with _client(proxy.url, page_size=10) as client:
        plan = plan_sync(users, mapping, read_server_state(client, users, mapping, settings),
                         settings)
        proxy.reset_records()
        changes, fresh = plan_changes(client, plan, settings)
    assert changes == []
    assert proxy.most == 1
    assert sum(q["startIndex"] == "1" for q in proxy.group_lists()) == 1
    assert _page_threads() == []
