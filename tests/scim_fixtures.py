"""Fixtures for the SCIM tests: a fresh real server per test, the fault proxy, the fake
server of one misbehaviour, fast clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.core.engine import evaluate
from app.core.mapping import Mapping, MappingRow, Options
from app.core.users import UserList
from app.scim.client import ScimClient
from app.scim.pacing import RateLimiter
from app.scim.server import LocalScimServer
from tests.fake_scim import FakeScim
from tests.scim_proxy import FaultProxy
from tests.scim_rate_proxy import RateLimitProxy

TOKEN = "tok-7f3a9c1e5b2d4e6f8a0b1c2d3e4f5a6b"


def make_users(
    n: int, values: list[str], groups: Callable[[int], str] | None = None, domain: str = "ex.com"
) -> UserList:
    """n users; user i has source values[i % len(values)] and current groups groups(i)."""
    return UserList.from_records(
        {
            "email": f"user{i:05d}@{domain}",
            "name": f"User {i}",
            "status": "Active",
            "source": values[i % len(values)],
            "groups": groups(i) if groups else "",
        }
        for i in range(n)
    )


def make_mapping(pairs: dict[str, str], **options: Any) -> Mapping:
    return Mapping(tuple(MappingRow(v, g) for v, g in pairs.items()), Options(**options))


def expected_groups(users, mapping) -> dict[str, set[str]]:
    """The preview's targets, from the core: what the server must hold for export users."""
    evaluation = evaluate(users, mapping)
    groups: dict[str, set[str]] = {}
    for i, email in enumerate(users.frame["email"]):
        for group in evaluation.user_after(i):
            groups.setdefault(group, set()).add(email)
    return groups


def fast_client(url: str, token: str | None = TOKEN, **kwargs: Any) -> ScimClient:
    """A client with test-sized timeouts and backoff.

    Its limiter never paces below 100 requests a second: the fault proxy's random 429s are
    not a rate limit, and the rate-limit tests bring their own limiter.
    """
    settings: dict[str, Any] = {
        "timeout": 1.0,
        "backoff": 0.01,
        "max_backoff": 0.05,
        "limiter": RateLimiter(min_rate=100.0),
        "create_settle": (0.05, 0.1),
    }
    settings.update(kwargs)
    return ScimClient(url, token, **settings)


@pytest.fixture
def scim_server() -> Iterator[Callable[..., LocalScimServer]]:
    """Factory: a started LocalScimServer (token TOKEN by default), stopped after the test."""
    started: list[LocalScimServer] = []

    def factory(
        users: UserList | None = None,
        token: str | None = TOKEN,
        extra_groups: dict[str, list[str]] | None = None,
    ) -> LocalScimServer:
        server = LocalScimServer(users, token=token, extra_groups=extra_groups)
        server.start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def fault_proxy() -> Iterator[Callable[..., FaultProxy]]:
    """Factory: a started FaultProxy in front of an upstream base URL."""
    started: list[FaultProxy] = []

    def factory(upstream: str, **kwargs: Any) -> FaultProxy:
        proxy = FaultProxy(upstream, **kwargs)
        proxy.start()
        started.append(proxy)
        return proxy

    yield factory
    for proxy in started:
        proxy.stop()


@pytest.fixture
def rate_proxy() -> Iterator[Callable[..., RateLimitProxy]]:
    """Factory: a started token-bucket RateLimitProxy in front of an upstream base URL."""
    started: list[RateLimitProxy] = []

    def factory(upstream: str, **kwargs: Any) -> RateLimitProxy:
        proxy = RateLimitProxy(upstream, **kwargs)
        proxy.start()
        started.append(proxy)
        return proxy

    yield factory
    for proxy in started:
        proxy.stop()


@pytest.fixture
def fake_scim() -> Iterator[Callable[..., FakeScim]]:
    """Factory: a started FakeScim (tests/fake_scim.py) misbehaving in one mode, token TOKEN."""
    started: list[FakeScim] = []

    def factory(mode: str = "", **kwargs: Any) -> FakeScim:
        fake = FakeScim(mode, token=kwargs.pop("token", TOKEN), **kwargs)
        fake.start()
        started.append(fake)
        return fake

    yield factory
    for fake in started:
        fake.stop()
