"""The shared rate limiter on a fake clock: header styles, Retry-After, AIMD, cancel, deadline."""

from __future__ import annotations

import email.utils
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.scim.http.limit_headers import header_limit, retry_after_seconds
from app.scim.http.pacing import RateLimiter, WaitCancelled


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(clock: FakeClock, **kwargs) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep, **kwargs)


def send_times(lim: RateLimiter, n: int, answer=lambda t: (200, {})) -> list[float]:
    """n requests, each answered by answer(send_time); the send times of the admitted ones."""
    times = []
    while len(times) < n:
        sent = lim.acquire()
        status, headers = answer(sent)
        lim.observe(status, headers, sent)
        if status < 300:
            times.append(sent)
    return times


def test_a_set_rate_spaces_requests_evenly():
    clock = FakeClock()
    lim = limiter(clock, max_rate=4.0)
    times = send_times(lim, 9)
    assert times[-1] - times[0] == pytest.approx(2.0)
    assert lim.throttled == 0 and lim.source == "set"


def test_no_known_limit_sends_at_once():
    clock = FakeClock()
    times = send_times(limiter(clock), 50)
    assert times[-1] == times[0]


def test_x_ratelimit_remaining_is_spent_evenly_until_the_reset():
    clock = FakeClock()
    lim = limiter(clock)
    left = {"n": 20}

    def answer(sent):
        left["n"] -= 1
        return 200, {"X-RateLimit-Remaining": str(left["n"]), "X-RateLimit-Reset": "10"}

    lim.observe(200, {"X-RateLimit-Remaining": "20", "X-RateLimit-Reset": "10"}, clock.now)
    assert lim.rate == pytest.approx(2.0) and lim.source == "headers"
    send_times(lim, 5, answer)
    assert lim.rate < 2.0  # 15 left for a reset that did not move: slower


def test_ietf_headers_of_every_draft_are_read():
    assert header_limit({"RateLimit": '"default";r=50;t=30'}).rate == pytest.approx(50 / 30)
    assert header_limit({"RateLimit": "limit=100, remaining=5, reset=10"}).rate == 0.5
    old = {"RateLimit-Limit": "10", "RateLimit-Remaining": "4", "RateLimit-Reset": "2"}
    assert header_limit(old).rate == 2.0
    policy = header_limit({"RateLimit-Policy": '"burst";q=100;w=60, "day";q=1000;w=86400'})
    assert policy.rate == pytest.approx(1000 / 86400)
    two = header_limit({"RateLimit": '"a";r=10;t=1, "b";r=3;t=3'})
    assert two.rate == 1.0
    okta = {"X-Rate-Limit-Remaining": "599", "X-Rate-Limit-Reset": "60"}
    assert header_limit(okta).remaining == 599
    assert header_limit({"Content-Type": "application/scim+json"}) is None


def test_a_spent_budget_pauses_until_the_reset():
    clock = FakeClock()
    lim = limiter(clock)
    lim.observe(200, {"RateLimit": '"default";r=0;t=7'}, clock.now)
    start = clock.now
    lim.acquire()
    assert clock.now - start == pytest.approx(7.0)


def test_retry_after_pauses_every_worker():
    clock = FakeClock()
    lim = limiter(clock, max_rate=100.0)
    sent = lim.acquire()
    assert lim.observe(429, {"Retry-After": "5"}, sent) == 5.0
    start = clock.now
    lim.acquire()
    assert clock.now - start >= 5.0
    assert lim.throttled == 1


def test_retry_after_parses_seconds_and_http_dates():
    now = time.time()
    assert retry_after_seconds("7") == 7.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= retry_after_seconds(date, now=now) <= 31
    assert retry_after_seconds("garbage") is None
    assert retry_after_seconds(None) is None


class BucketServer:
    """A token-bucket server on the fake clock: rate per second, capacity burst."""

    def __init__(self, clock: FakeClock, rate: float, burst: float) -> None:
        self.clock, self.rate, self.burst = clock, rate, burst
        self.tokens, self.last = burst, clock.now
        self.refused = 0

    def __call__(self, sent: float):
        self.tokens = min(self.burst, self.tokens + (sent - self.last) * self.rate)
        self.last = sent
        if self.tokens >= 1:
            self.tokens -= 1
            return 200, {}
        self.refused += 1
        return 429, {}


def test_bare_429s_teach_the_rate_aimd():
    clock = FakeClock()
    lim = limiter(clock)
    server = BucketServer(clock, rate=3.0, burst=3.0)
    times = send_times(lim, 300, server)
    assert server.refused <= 0.1 * 300
    assert lim.source == "learned"
    least = (300 - 3) / 3.0
    assert times[-1] - times[0] <= 1.1 * least


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(0.5, 10.0), burst_seconds=st.floats(1.0, 3.0))
@example(rate=0.5, burst_seconds=1.015625)  # a limit overestimated by probes: 32 refused
@example(rate=0.65625, burst_seconds=1.0)  # the same, and each probe cut the rate to 0.7x
def test_bare_429s_are_few_and_the_pace_is_near_the_limit(rate, burst_seconds):
    """Any token-bucket server whose burst is at least a second's worth: few 429s, and a pace
    within a few percent of its limit once learned (the learning included, at most 1.2x)."""
    clock = FakeClock()
    lim = limiter(clock)
    burst = max(1.0, rate) * burst_seconds
    server = BucketServer(clock, rate=rate, burst=burst)
    times = send_times(lim, 300, server)
    assert server.refused <= 0.1 * 300
    assert times[-1] - times[0] <= 1.2 * (300 - burst) / rate


def test_a_measured_limit_is_held_with_rare_probes():
    """Once two episodes measured the limit, the client stays just under it: a probe above it
    after a quiet spell of 30 s costs a 429 or two, so 429s are rare, not one every few seconds."""
    clock = FakeClock()
    lim = limiter(clock)
    server = BucketServer(clock, rate=3.0, burst=3.0)
    send_times(lim, 200, server)
    refused_before, started = server.refused, clock.now
    times = send_times(lim, 900, server)  # five minutes at the limit
    probes = server.refused - refused_before
    assert probes <= (clock.now - started) / 15.0
    assert probes <= 0.02 * 900
    assert 0.9 * 3.0 <= lim.rate <= 1.1 * 3.0
    assert times[-1] - times[0] <= 1.05 * 900 / 3.0


@pytest.mark.parametrize("rate", [0.5, 1.0])
def test_a_slow_limit_is_probed_seldom_and_never_overestimated(rate):
    """At one request every second or two, a probe every 30 s would be a 429 every 15-30
    requests; and a probe refused one whole request late must not raise the limit held."""
    clock = FakeClock()
    lim = limiter(clock)
    server = BucketServer(clock, rate=rate, burst=1.0)
    send_times(lim, 200, server)
    refused_before = server.refused
    times = send_times(lim, 900, server)
    assert server.refused - refused_before <= 0.02 * 900
    assert times[-1] - times[0] <= 1.1 * 900 / rate


def test_aimd_never_exceeds_a_set_rate_and_recovers_to_it():
    clock = FakeClock()
    lim = limiter(clock, max_rate=2.0)
    sent = lim.acquire()
    lim.observe(429, {}, sent)
    assert lim.rate < 2.0
    send_times(lim, 2000)
    assert lim.rate == 2.0


def test_answers_to_requests_sent_before_a_decrease_count_once():
    clock = FakeClock()
    lim = limiter(clock, max_rate=10.0)
    sent = [lim.acquire() for _ in range(4)]
    for t in sent:
        lim.observe(429, {}, t)
    assert lim.throttled == 4
    assert lim.rate == pytest.approx(10.0 * 0.5)  # one decrease, not four


def test_cancel_ends_a_wait_at_once():
    clock = FakeClock()
    cancelled = {"now": False}
    lim = limiter(clock, cancelled=lambda: cancelled["now"])
    lim.observe(429, {"Retry-After": "600"}, clock.now)
    real_sleep = clock.sleep

    def sleep(seconds):
        real_sleep(seconds)
        cancelled["now"] = True

    lim._sleep = sleep
    with pytest.raises(WaitCancelled):
        lim.acquire()
    assert clock.now - 1000.0 < 1.0


def test_deadline():
    clock = FakeClock()
    lim = limiter(clock, deadline=60.0)
    assert not lim.past_deadline(59.0)
    clock.now += 30
    assert lim.past_deadline(31.0)
