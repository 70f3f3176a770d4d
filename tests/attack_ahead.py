"""What the attacks on the reads read ahead share (tests/test_attack_reads_ahead.py,
tests/test_attack_reads_window.py): users in the managed groups, a client whose requests
overlap from the first, the threads the reads leave, the requests sent after a read ended."""

from __future__ import annotations

import threading
import time
from typing import Any

from app.core.users import UserList
from app.scim.http.client import ScimClient
from app.scim.http.pacing import RateLimiter
from tests.scim_counting_proxy import CountingProxy
from tests.scim_fixtures import fast_client, make_mapping, make_users

VALUES = ["sales", "eng", "ops"]
GROUPS = ["Sales", "Engineering", "Ops"]


def in_groups(n: int, domain: str = "ex.com") -> UserList:
    """n users, each in the managed group of its source value (the server's groups)."""
    return make_users(n, VALUES, groups=lambda i: GROUPS[i % 3], domain=domain)


MAPPING = make_mapping({"sales": "Sales", "eng": "Engineering", "ops": "Ops"})


def ahead_client(url: str, **kwargs: Any) -> ScimClient:
    """A fast client whose limiter knows a high rate: requests overlap from the first one
    (an unknown server's first second would hold them one at a time, hiding the overlap)."""
    return fast_client(url, limiter=RateLimiter(max_rate=1000.0), **kwargs)


def page_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("groupmap-")]


def users_with_one_missing(n: int) -> tuple[UserList, UserList]:
    """n users on the server, and an export naming them all plus one not there: every user
    page is read to its end (nobody found early)."""
    on_server = in_groups(n)
    export = make_users(n + 1, VALUES)
    return on_server, export


def stopped_after(proxy: CountingProxy) -> int:
    """Requests the proxy receives after the read ended (none may come)."""
    proxy.stopped = True
    time.sleep(0.3)
    return proxy.after_stop
