"""Fixtures for the SCIM tests: a fresh real server per test, the fault proxy, the fake
server of one misbehaviour, fast clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.core.engine import evaluate
from app.core.mapping import Mapping, MappingRow, Options
from app.core.users import UserList
from app.scim.http.client import ScimClient
from app.scim.http.pacing import RateLimiter
from app.scim.server import LocalScimServer
from tests.fake_scim import FakeScim
from tests.scim_counting_proxy import CountingProxy
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


def _started(make: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """A fixture's factory: each call makes a server or proxy, starts it, and it is stopped
    after the test."""
    started: list[Any] = []

    def factory(*args: Any, **kwargs: Any) -> Any:
        thing = make(*args, **kwargs)
        thing.start()
        started.append(thing)
        return thing

    yield factory
    for thing in started:
        thing.stop()


@pytest.fixture
def scim_server() -> Iterator[Callable[..., LocalScimServer]]:
    """Factory: a started LocalScimServer (token TOKEN by default), stopped after the test."""

    def make(
        users: UserList | None = None,
        token: str | None = TOKEN,
        extra_groups: dict[str, list[str]] | None = None,
    ) -> LocalScimServer:
        return LocalScimServer(users, token=token, extra_groups=extra_groups)

    yield from _started(make)


@pytest.fixture
def fault_proxy() -> Iterator[Callable[..., FaultProxy]]:
    """Factory: a started FaultProxy in front of an upstream base URL."""
    yield from _started(FaultProxy)


@pytest.fixture
def rate_proxy() -> Iterator[Callable[..., RateLimitProxy]]:
    """Factory: a started token-bucket RateLimitProxy in front of an upstream base URL."""
    yield from _started(RateLimitProxy)


@pytest.fixture
def fake_scim() -> Iterator[Callable[..., FakeScim]]:
    """Factory: a started FakeScim (tests/fake_scim.py) misbehaving in one mode, token TOKEN."""

    def make(mode: str = "", **kwargs: Any) -> FakeScim:
        return FakeScim(mode, token=kwargs.pop("token", TOKEN), **kwargs)

    yield from _started(make)


@pytest.fixture
def counting_proxy() -> Iterator[Callable[..., CountingProxy]]:
    """Factory: a started CountingProxy (requests in flight counted) in front of a base URL."""
    yield from _started(CountingProxy)
