"""A token-bucket rate-limiting proxy in front of a real SCIM server, for tests and the bench.

Every request takes a token (`rate` a second, at most `burst` saved up); without one it is
answered 429 and not forwarded. One mode per way servers tell the client about the limit:
"retry_after" (429 with Retry-After, whole seconds), "x_ratelimit" (every answer carries
X-RateLimit-Limit/-Remaining/-Reset, Calendly and GitHub style), "ietf" (RateLimit and
RateLimit-Policy of draft-ietf-httpapi-ratelimit-headers) and "bare" (a 429 and nothing else).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.scim_proxy import FaultProxy, Recorded

MODES = ("retry_after", "x_ratelimit", "ietf", "bare")


@dataclass
class RateLimitProxy(FaultProxy):
    rate: float = 50.0
    burst: float = 5.0
    mode: str = "bare"
    admitted: int = 0
    throttled: int = 0
    first_at: float | None = None
    last_at: float | None = None
    _bucket: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}: one of {', '.join(MODES)}")
        super().__post_init__()
        self._bucket_lock = threading.Lock()
        self._bucket.update(tokens=self.burst, at=time.monotonic())

    def least_seconds(self) -> float:
        """The least time the limit allows for the requests admitted (the burst is free)."""
        return max(0.0, self.admitted - self.burst) / self.rate

    def _take(self) -> tuple[bool, float, float]:
        """(admitted, tokens left, seconds until the next token)."""
        with self._bucket_lock:
            now = time.monotonic()
            saved = self._bucket["tokens"] + (now - self._bucket["at"]) * self.rate
            tokens = min(self.burst, saved)
            ok = tokens >= 1
            if ok:
                tokens -= 1
                self.admitted += 1
            else:
                self.throttled += 1
            self._bucket.update(tokens=tokens, at=now)
            self.first_at = self.first_at if self.first_at is not None else now
            self.last_at = now
            return ok, tokens, max(0.0, (1 - tokens) / self.rate)

    def _advertised(self, tokens: float) -> dict[str, str]:
        remaining = math.floor(tokens)
        reset = math.ceil((self.burst - tokens) / self.rate)  # whole seconds until full
        if self.mode == "x_ratelimit":
            return {
                "X-RateLimit-Limit": f"{self.burst:g}",
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(reset),
            }
        if self.mode == "ietf":
            window = self.burst / self.rate
            return {
                "RateLimit-Policy": f'"default";q={self.burst:g};w={max(1, round(window))}',
                "RateLimit": f'"default";r={remaining};t={reset}',
            }
        return {}

    def _handle(self, h: Any) -> None:
        ok, tokens, next_token = self._take()
        h.rate_headers = self._advertised(tokens)
        if ok:
            return super()._handle(h)
        with self._lock:
            self.records.append(Recorded(h.command, h.path, {}, None, "429"))
        h.rfile.read(int(h.headers.get("Content-Length") or 0))
        headers = dict(h.rate_headers)
        if self.mode == "retry_after":
            headers["Retry-After"] = str(max(1, math.ceil(next_token)))
        self._error(h, 429, "rate limit exceeded", headers=headers)

    def _quirk_response(self, h, path, response):
        status, content, headers = super()._quirk_response(h, path, response)
        return status, content, {**headers, **getattr(h, "rate_headers", {})}
