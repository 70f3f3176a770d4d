"""Attacks on the reads at scale: the group list's first page read ahead of the user pages'
end (app/scim/sync/groups_ahead.py), the pages under way following the answers (Window in
app/scim/http/paging.py), and both under a rate limit. Each test asserts what must hold:
requests in flight (counted by the proxy), the group list read once, the error text, no
thread left running and no request sent after the read ended, the server's final state."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

from app.core.errors import InputError
from app.scim.http.errors import AuthError, BadAnswer, ScimError, SyncCancelled
from app.scim.http.pacing import RateLimiter
from app.scim.http.paging import Window
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.group_reads import read_groups
from tests.scim_fixtures import TOKEN, expected_groups, fast_client, make_mapping, make_users
from tests.scim_proxy import FaultProxy
from tests.scim_rate_proxy import RateLimitProxy

VALUES = ["sales", "eng", "ops"]
MAPPING = make_mapping({"sales": "Sales", "eng": "Engineering", "ops": "Ops"})


@dataclass
class CountingProxy(FaultProxy):
    """Counts the requests in flight (received, not yet answered) and the most at once;
    holds the group list's answers `group_delay` seconds, so a request sent meanwhile
    overlaps it; `hook` sees every request as it arrives."""

    group_delay: float = 0.0
    most: int = 0
    after_stop: int = 0  # requests received after `stopped` was set
    stopped: bool = False
    hook: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._flight = threading.Lock()
        self._now = 0

    def _handle(self, h: Any) -> None:
        with self._flight:
            self._now += 1
            self.most = max(self.most, self._now)
            if self.stopped:
                self.after_stop += 1
        try:
            if self.hook is not None:
                self.hook(h.path)
            if self.group_delay and h.command == "GET" and h.path.split("?")[0].endswith("/Groups"):
                time.sleep(self.group_delay)
            super()._handle(h)
        finally:
            with self._flight:
                self._now -= 1

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
    on_server = make_users(n, VALUES)
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
    assert len(proxy.group_lists()) == 1  # the group list read once
    assert _page_threads() == []
