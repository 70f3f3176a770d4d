"""A proxy in front of a real SCIM server counting the requests in flight, for the attacks
on the reads read ahead (tests/test_attack_reads_ahead.py)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.scim_proxy import FaultProxy
from tests.scim_rate_proxy import RateLimitProxy


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
        members = self.pad_groups and "excludedAttributes" not in query
        if status == 200 and h.command == "GET" and path == "/Groups" and members:
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


@dataclass
class CountingRateProxy(CountingProxy, RateLimitProxy):
    """The token-bucket proxy (tests/scim_rate_proxy.py), counting requests in flight."""
