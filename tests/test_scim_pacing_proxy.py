"""Syncs through a token-bucket rate limit in front of the real scim2-server, one header style
per test: the sync completes exactly and few requests are refused. Outcomes and counts only,
no timing (speed is `make bench`)."""

from __future__ import annotations

import threading

import pytest

from app.scim.http.client import ScimClient
from app.scim.http.pacing import RateLimiter
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from tests.scim_fixtures import TOKEN, expected_groups, make_mapping, make_users
from tests.scim_rate_proxy import MODES

VALUES = [f"team-{i}" for i in range(8)]
MAPPING = make_mapping({v: f"Team {i}" for i, v in enumerate(VALUES)})


def paced_sync(url: str, users, limiter: RateLimiter, batch_size: int = 10):
    settings = SyncSettings(url, TOKEN, batch_size=batch_size, concurrency=4)
    with ScimClient(url, TOKEN, timeout=5.0, limiter=limiter) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        return execute(client, plan, settings)


@pytest.mark.parametrize("mode", MODES)
def test_a_rate_limited_sync_completes_exactly_with_few_429s(scim_server, rate_proxy, mode):
    users = make_users(240, VALUES)
    server = scim_server(users)
    # Headers in whole seconds describe a bucket of a second's worth well; 429s need less.
    burst = 50.0 if mode in ("x_ratelimit", "ietf") else 10.0
    proxy = rate_proxy(server.url, rate=50.0, burst=burst, mode=mode)
    limiter = RateLimiter()
    result = paced_sync(proxy.url, users, limiter, batch_size=5)

    assert not result.failed and not result.cancelled
    assert server.dump()["groups"] == expected_groups(users, MAPPING)
    assert limiter.throttled == proxy.throttled
    assert proxy.admitted >= 51  # 3 reads, 8 creates, 40 PATCH batches
    # The first refusals meet up to 4 requests already under way; then the rate is known.
    assert proxy.throttled <= 4 + 0.1 * proxy.admitted
    if mode in ("x_ratelimit", "ietf"):
        assert limiter.source == "headers"
    elif proxy.throttled:  # a client slower than the limit (a loaded machine) learns nothing
        assert limiter.source == "learned"


def test_a_set_rate_below_the_limit_is_never_refused(scim_server, rate_proxy):
    users = make_users(200, VALUES)
    server = scim_server(users)
    proxy = rate_proxy(server.url, rate=100.0, burst=2.0, mode="bare")
    # Half the limit: on a loaded machine (the suite runs on every core) a thread woken late
    # sends two requests close together, and at 80% of a 2-request bucket that was a 429.
    limiter = RateLimiter(max_rate=50.0)
    result = paced_sync(proxy.url, users, limiter)
    assert not result.failed
    assert server.dump()["groups"] == expected_groups(users, MAPPING)
    assert proxy.throttled == 0 and limiter.source == "set"


def test_bare_429s_at_a_low_limit_no_longer_fail_the_sync(scim_server, rate_proxy):
    """The reported failure: creates failed after five attempts at 1 request a second."""
    users = make_users(80, VALUES)
    server = scim_server(users)
    proxy = rate_proxy(server.url, rate=20.0, burst=2.0, mode="bare")
    result = paced_sync(proxy.url, users, RateLimiter(), batch_size=5)
    assert not result.failed
    assert server.dump()["groups"] == expected_groups(users, MAPPING)
    assert proxy.throttled >= 1


def test_cancel_during_a_long_retry_after_stops_at_once_and_fails_nothing(
    scim_server, fault_proxy
):
    """The server asks for 10 minutes; Cancel ends the wait, and nothing is listed as failed."""
    users = make_users(40, VALUES)
    server = scim_server(users)
    cancel = threading.Event()

    def throttle_writes(record):
        if record.method == "POST":
            cancel.set()  # the admin presses Cancel while the sync waits
            return 429, "slow down", {"Retry-After": "600"}
        return None

    proxy = fault_proxy(server.url, refuse=throttle_writes)
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    limiter = RateLimiter(cancelled=cancel.is_set)
    with ScimClient(proxy.url, TOKEN, timeout=5.0, limiter=limiter) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        result = execute(client, plan, settings, cancelled=cancel.is_set)
    assert result.cancelled and not result.failed
    assert not server.dump()["groups"]
    assert proxy.count("POST") <= 4  # at most the creates already under way


def test_cancel_while_a_worker_waits_outside_a_request_handler_is_a_clean_cancel(
    scim_server, fault_proxy
):
    """The app writes with a new client: a worker's first ServiceProviderConfig read may be
    the request that waits when Cancel comes; the sync still ends cancelled, not in error."""
    users = make_users(40, VALUES)
    server = scim_server(users)
    settings = SyncSettings(server.url, TOKEN, batch_size=2, concurrency=1)
    with ScimClient(server.url, TOKEN) as reader:
        state = read_server_state(reader, users, MAPPING, settings)
    plan = plan_sync(users, MAPPING, state, settings)
    cancel = threading.Event()

    def throttle_config(record):
        if record.path == "/ServiceProviderConfig":
            cancel.set()
            return 429, "slow down", {"Retry-After": "600"}
        return None

    proxy = fault_proxy(server.url, refuse=throttle_config)
    writer = ScimClient(proxy.url, TOKEN, limiter=RateLimiter(cancelled=cancel.is_set))
    with writer:
        result = execute(writer, plan, settings, cancelled=cancel.is_set)
    assert result.cancelled and not result.failed
    assert proxy.count("POST") == 1  # the first create went through; nothing after the cancel
