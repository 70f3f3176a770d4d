"""The shared rate limiter with several requests under way, on a fake clock: answers come
`latency` seconds after each send, delivered while the limiter waits (as worker threads'
answers arrive while others wait for a token)."""

from __future__ import annotations

import heapq
import math

import pytest

from app.scim.http.pacing import RateLimiter
from tests.test_scim_pacing import BucketServer, FakeClock

REFUSED = 0.005  # seconds to a 429: a refusal costs the server nothing


class RetryAfterServer(BucketServer):
    """The bench's proxy: a 429 says Retry-After in whole seconds, rounded up."""

    def __call__(self, sent: float):
        status, headers = super().__call__(sent)
        if status == 429:
            self.refused_at = [*getattr(self, "refused_at", []), sent]
            headers = {"Retry-After": str(max(1, math.ceil((1 - self.tokens) / self.rate)))}
        return status, headers


class Pipeline:
    """Up to `workers` requests under way through one limiter; each answered after `latency`
    (a 429 at once)."""

    def __init__(self, server: BucketServer, workers: int, latency: float) -> None:
        self.clock, self.server = server.clock, server
        self.workers, self.latency = workers, latency
        self.limiter = RateLimiter(clock=self.clock, sleep=self.sleep)
        self.pending: list[tuple[float, float, int, dict[str, str]]] = []
        self.admitted: list[float] = []
        self.answered_at: list[float] = []

    def sleep(self, seconds: float) -> None:
        end = self.clock.now + seconds
        while self.pending and self.pending[0][0] <= end:
            due, sent, status, headers = heapq.heappop(self.pending)
            self.clock.now = max(self.clock.now, due)
            self.limiter.observe(status, headers, sent)
            if status < 300:
                self.admitted.append(sent)
                self.answered_at.append(due)
        self.clock.now = max(self.clock.now, end)

    def run(self, n: int) -> float:
        """Seconds from the first send to the n-th admitted answer."""
        started = self.clock.now
        while len(self.admitted) < n:
            if len(self.pending) < self.workers and len(self.admitted) + len(self.pending) < n:
                sent = self.limiter.acquire()
                status, headers = self.server(sent)
                took = self.latency if status < 300 else min(self.latency, REFUSED)
                heapq.heappush(self.pending, (sent + took, sent, status, headers))
            else:
                self.sleep(self.pending[0][0] - self.clock.now)
        return max(self.answered_at) - started


@pytest.mark.parametrize("latency", [0.3, 0.6, 1.0])
def test_a_first_429_among_pages_under_way_does_not_collapse_the_rate(latency):
    """Four pages read ahead when the first 429 comes: the requests still unanswered were
    admitted, and count once their answers come. Counting only the answers already in put
    the rate at a third of the limit, and the sync crawled back to it over ten seconds."""
    server = BucketServer(FakeClock(), rate=3.0, burst=3.0)
    pipe = Pipeline(server, workers=4, latency=latency)
    seconds = pipe.run(113)
    assert server.refused <= 0.1 * 113
    assert seconds <= 1.1 * (113 - 3) / 3.0 + latency
    assert 0.9 * 3.0 <= pipe.limiter.rate <= 1.1 * 3.0


@pytest.mark.parametrize("latency", [0.05, 0.3, 0.6])
def test_retry_after_in_whole_seconds_at_a_slow_answer(latency):
    """The bench's proxy: Retry-After rounded up to whole seconds, four workers."""
    server = RetryAfterServer(FakeClock(), rate=3.0, burst=3.0)
    pipe = Pipeline(server, workers=4, latency=latency)
    seconds = pipe.run(113)
    assert server.refused <= 0.1 * 113
    assert seconds <= 1.1 * (113 - 3) / 3.0 + latency


@pytest.mark.parametrize("latency", [0.15, 0.2, 0.25, 0.3])
def test_pages_read_ahead_meet_an_unknown_limit_one_at_a_time(latency):
    """Four workers free at once when nothing is known yet: their requests are spaced, so the
    first 429 (answered at once) stops the others before they go. Sent together, all but the
    first met the empty bucket: three 429s of a no-op sync's 25 requests."""
    server = RetryAfterServer(FakeClock(), rate=3.0, burst=3.0)
    Pipeline(server, workers=4, latency=latency).run(25)
    first = server.refused_at[0]
    assert [t for t in server.refused_at if t < first + 1.0] == [first]


def test_one_request_at_a_time_is_never_held_while_nothing_is_known():
    server = BucketServer(FakeClock(), rate=1000.0, burst=1000.0)
    pipe = Pipeline(server, workers=1, latency=0.01)
    assert pipe.run(200) == pytest.approx(200 * 0.01)
