"""Pacing: one token bucket shared by every worker of a sync, at the rate the server allows.

The rate comes from, in this order: the RateLimit / X-RateLimit headers of the last answer
(the remaining budget spent evenly until the reset), a rate the admin set (`--max-rate`, or a
vendor preset), and otherwise what 429 answers teach. At every throttled episode the server's
bucket was empty, so what it admitted between two episodes is its rate, exactly: once two
episodes a few seconds apart have measured it, the client holds just under that rate and
probes above it only after a long quiet spell, in seconds and in requests (a limit shared
with other clients may have grown). Before that, each episode sets the rate to what was
admitted lately (multiplicative decrease), and while workers wait for tokens it grows again
(additive increase; doubling after a quiet spell, up to the least rate refused). What was
admitted is counted by send time up to the refused request, so pages still being answered
at a 429 count when their answers come. Retry-After pauses every worker, not only the one
that was told. Workers acquire a token before each request, so concurrency follows the
rate: idle workers simply wait; while nothing is known, requests that overlap are spaced so
that the pace at most doubles each second.

A throttled request (429, 503) is never a failure: it is retried until the sync's deadline.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.scim.http.limit_headers import HeaderLimit, header_limit, retry_after_seconds
from app.scim.http.stops import RateDeadline as RateDeadline
from app.scim.http.stops import Stop as Stop
from app.scim.http.stops import WaitCancelled as WaitCancelled
from app.scim.http.stops import deadline_text as deadline_text
from app.scim.http.stops import sliced_sleep as sliced_sleep

DEFAULT_DEADLINE = 2 * 3600.0  # seconds a sync may keep retrying throttled requests
THROTTLE_STATUSES = frozenset({429, 503})
DECREASE = 0.95  # the rate after a throttled episode, as a share of the rate measured
CURRENT_SHARE = 0.75  # the least share of the rate that was just refused kept as the guess
FALLBACK_DECREASE = 0.5  # when nothing was measured (two episodes in quick succession)
INCREASE = 0.01  # growth a second while saturated, as a share of the rate after a decrease
PAUSE_CREDIT = 0.9  # share of a Retry-After pause the server is assumed to have refilled
WARMUP = 1.0  # seconds: while no limit is known, one request at a time at first
QUIET = 8.0  # seconds without a 429 after which the rate grows by doubling, not additively
DOUBLING = 2.0  # seconds to double the rate then
MEASURE_SPAN = 3.0  # seconds between two episodes for what was admitted between to be the limit
MEASURE_COUNT = 5  # and requests admitted between them, for whole requests to count finely enough
HOLD = 0.97  # share of a measured limit the client sends at
PROBE_QUIET = 30.0  # seconds at a measured limit without a 429 before probing above it
PROBE_COUNT = 60  # and requests' worth of them, so that a slow limit is seldom probed
PROBE = 0.02  # growth a second while probing, compounded
RISEN = 1.2  # a rate refused this far above the limit (or what was admitted) raises it
HISTORY = 60.0  # seconds of send times and episodes kept for measuring, or more (_history)
RAMP = 2.0  # while no limit is known, requests under way at once go at most this much faster
# than the most sent in a second so far
MIN_RATE = 0.01  # requests a second: one every 100 s, the floor a 429 storm can push to


class RateLimiter:
    """A token bucket shared by the threads of one client; thread-safe.

    `acquire()` before each request, `observe()` after each answer (or its failure). While no
    limit is known there is no bucket, but in the first second only one request is under way,
    so that the workers of a new sync do not meet an unknown limit all at once. clock and sleep are
    injectable so that tests run on a fake clock.
    """

    def __init__(
        self,
        max_rate: float | None = None,
        deadline: float = DEFAULT_DEADLINE,
        *,
        min_rate: float = MIN_RATE,
        cancelled: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling = max_rate
        self.rate = max_rate  # requests a second; None while no limit is known
        self.source = "set" if max_rate else "unknown"  # then "headers" or "learned"
        self.min_rate = min(min_rate, max_rate) if max_rate else min_rate
        self.deadline = deadline
        self.cancelled = cancelled
        self.admitted = 0  # answers that were not throttled
        self.throttled = 0  # 429 and 503 answers
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        now = clock()
        self.started = now
        self._tokens, self._last = 1.0, now
        self._paused_until = now
        self.asked = 0.0  # the longest wait a server asked for (Retry-After, a budget's reset)
        self._credit = 0.0
        self._episode: float | None = None  # when the rate was last decreased
        self._episodes: deque[float] = deque()  # send times of the requests each episode
        # refused (the server's moment, whatever the answers' latency), _history()
        self._base = max_rate or 0.0  # the rate right after the last decrease
        self._limit: float | None = None  # the server's rate, measured between two episodes
        self._lower = 0.0  # what the last measurement admitted: the limit is seldom below
        self._recent: deque[float] = deque()  # send times of admitted requests, _history()
        self._in_flight = 0
        self._paced: float | None = None  # the rate the latest request granted was spaced at
        self._last_measure: _Measure | None = None  # the latest decrease, for late answers
        self._sends: deque[float] = deque()  # send times of the last second (_ramp)
        self._peak = 1  # the most requests sent in one second so far
        self._ceiling_seen: float | None = None  # the least rate refused before a measurement:
        # doubling stops there (otherwise it overshoots the limit, and the measurement with it)

    # --- before and after each request -----------------------------------------------------

    def acquire(self) -> float:
        """Wait for a token (and for any pause); returns the send time, for observe()."""
        waited = False
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                wait = self._paused_until - now
                if self.rate is None and self._in_flight and now - self.started < WARMUP:
                    wait = max(wait, WARMUP / 20)  # an unknown server's first second
                elif self.rate is None and self._in_flight and self._ramp(now) > 0:
                    wait = max(wait, self._ramp(now))
                elif wait <= 0 and (self.rate is None or self._tokens >= 1 - 1e-9):
                    self._in_flight += 1
                    self._sends.append(now)
                    while self._sends[0] <= now - 1.0:
                        self._sends.popleft()
                    if self.rate is not None:
                        self._tokens -= 1
                        self._paced = self.rate
                        if waited and self.source == "learned":
                            self._grow(now)
                    return now
                if wait <= 0 and self.rate is not None:  # no token left at a known rate
                    wait = max((1 - self._tokens) / self.rate, 1e-6)
                if self._paused_until > self.started + self.deadline:
                    raise RateDeadline(self.asked, self.deadline)  # asked of an earlier request
            waited = True
            self.sleep(wait)

    def observe(
        self, status: int | None, headers: Mapping[str, str], sent_at: float
    ) -> float | None:
        """Learn from an answer (None: none came); for 429/503, the seconds to wait (or 0)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if status is None:
                return None
            now = self._clock()
            advertised = header_limit(headers)
            if advertised is not None:
                self._follow(advertised, now)
            if status not in THROTTLE_STATUSES:
                self.admitted += 1
                self._recent.append(sent_at)
                while self._recent and self._recent[0] < now - self._history():
                    self._recent.popleft()
                self._late(sent_at)
                return None
            self.throttled += 1
            wait = retry_after_seconds(headers.get("Retry-After"))
            if wait is None and advertised is not None and advertised.remaining == 0:
                wait = advertised.reset
            if self._episode is None or sent_at > self._episode:
                self._decrease(now, sent_at)  # answers to requests sent before it add nothing
            self._tokens = min(self._tokens, 0.0)
            if wait:
                self.asked = max(self.asked, wait)
                until = now + wait
                if until > self._paused_until:
                    self._paused_until = until
                    self._credit = (self.rate or 0.0) * wait * PAUSE_CREDIT
            return wait or 0.0

    def sleep(self, seconds: float) -> None:
        """Sleep in short slices; raises WaitCancelled when the sync is cancelled meanwhile."""
        sliced_sleep(seconds, self.cancelled, self._clock, self._sleep)

    def past_deadline(self, wait: float) -> bool:
        """True when waiting that long would run past the sync's deadline."""
        return self._clock() + wait > self.started + self.deadline

    @property
    def paused(self) -> float:
        """Seconds every worker still waits (a Retry-After, or a spent budget's reset)."""
        return max(0.0, self._paused_until - self._clock())

    # --- inside the lock --------------------------------------------------------------------

    def _ramp(self, now: float) -> float:
        """Seconds to wait before a request that overlaps others while no limit is known.

        Requests under way at once are spaced at twice the most sent in a second so far, so
        that the pace at most doubles each second: pages read ahead do not all meet an unknown
        limit at once, and the first 429 comes back before the next request goes. One request
        at a time is never held."""
        while self._sends and self._sends[0] <= now - 1.0:
            self._sends.popleft()
        self._peak = max(self._peak, len(self._sends))
        if not self._sends:
            return 0.0
        return self._sends[-1] + 1.0 / (RAMP * self._peak) - now

    def _refill(self, now: float) -> None:
        start = max(self._last, self._paused_until)
        if self._credit and now >= self._paused_until:
            self._tokens = max(self._tokens, self._credit)  # the server refilled meanwhile
            self._credit = 0.0
        if self.rate is not None and now > start:
            self._tokens = min(max(1.0, self._tokens), self._tokens + (now - start) * self.rate)
        self._last = max(self._last, now)

    def _follow(self, advertised: HeaderLimit, now: float) -> None:
        if advertised.remaining is not None and advertised.remaining <= 0 and advertised.reset:
            self._paused_until = max(self._paused_until, now + advertised.reset)
            self.asked = max(self.asked, advertised.reset)
            return
        rate = advertised.rate
        if rate is None or rate <= 0:
            return
        self.rate = max(self.min_rate, min(rate, self.ceiling or rate))
        self.source = "headers"

    def _measured(self, now: float, refused: float) -> _Measure:
        """What the server admitted since the latest episode, and whether that is a
        measurement of its limit (an episode at each end, far enough apart).

        At every throttled episode the server's bucket was empty, so what it admitted between
        two of them is its rate, Retry-After pauses included. Before there are two, the last
        second is the window (the server's burst included: an overestimate, corrected soon).
        The window ends when the refused request was sent; requests sent before it and still
        unanswered are counted when their answers come (_late).
        """
        while self._episodes and self._episodes[0] < now - self._history():
            self._episodes.popleft()
        episode = self._episodes[-1] if self._episodes else None
        since = refused - 1.0 if episode is None else min(episode, refused - 1e-3)
        admitted = sum(1 for t in self._recent if since < t <= refused)
        before = (self.rate, self._limit, self._lower, self._paced)
        return _Measure(
            since,
            refused,
            admitted,
            episode is not None and refused - episode >= MEASURE_SPAN,
            before,
        )

    def _late(self, sent_at: float) -> None:
        """An answer admitted after the latest decrease to a request sent inside the window it
        measured: the measurement missed it (slow answers, pages read ahead), so it is made
        again with it, from the state before that decrease. Without this, a first 429 while
        several pages are under way measures a fraction of the rate the server admits."""
        measure = self._last_measure
        if measure is None or not measure.since < sent_at <= measure.at:
            return
        grown = (self.rate or 0.0) - (self._base or 0.0)
        measure.admitted += 1
        self.rate, self._limit, self._lower, self._paced = measure.before
        self._decrease(self._episode or measure.at, measure.at, measure)
        self.rate = (self.rate or 0.0) + max(0.0, grown)

    def _decrease(self, now: float, sent_at: float, measure: _Measure | None = None) -> None:
        again = measure is not None
        measure = measure or self._measured(now, sent_at)
        self._last_measure = measure
        measured, exact = measure.rate, measure.exact
        if exact and measured is not None:
            self._limit, self._lower = self._new_limit(measured), measured
            rate = HOLD * self._limit
            self._ceiling_seen = None
        elif self._limit is not None and self.rate:
            # Refused again too soon to measure, at the limit held: the limit lies between what
            # was measured and the rate refused (a generic decrease would fall far below it).
            over = self._refused()
            lower = min(max(self._lower, measured or 0.0), HOLD * over)
            self._limit = min(self._limit, (lower + over) / 2)
            rate = HOLD * self._limit
        elif measured is not None and self.rate:
            self._ceiling_seen = min(self._ceiling_seen or self.rate, self._refused())
            # The server admitted `measured` while this client sent at `rate`, which was
            # above the limit: the limit lies between them. Below the limit for part of the
            # window, `measured` underestimates it: 3/4 of the refused rate is a better guess.
            rate = max(measured, CURRENT_SHARE * self.rate) if measured < self.rate else self.rate
            rate *= DECREASE
        elif measured is not None:
            rate = measured * DECREASE
        else:
            rate = (self.rate or 1.0) * FALLBACK_DECREASE
        if not self._limit and not self.rate:  # nothing known: refused at the pace it sent at
            sent = sum(1 for t in self._sends if t > sent_at - 1.0)
            self._ceiling_seen = min(self._ceiling_seen or sent, sent) or None
        self.rate = max(self.min_rate, min(rate, self.ceiling or rate))
        if self.source != "headers":
            self.source = "learned"
        self._base = self.rate
        if not again:
            self._episode = now
            self._episodes.append(sent_at)

    def _new_limit(self, measured: float) -> float:
        """The limit after an episode that measured `measured`.

        While the client sent below the limit the server's bucket may have overflowed, so
        `measured` can fall short: a refused probe puts the limit between the one held and
        the rate refused, and a rate refused far above what was admitted puts it between the
        two. An overestimate costs one more 429, which measures again.
        """
        refused = self._refused() or measured
        held = HOLD * self._limit if self._limit is not None else None
        if held is not None and refused > held * 1.001:  # a probe, from the rate held
            return max(measured, (held + refused) / 2)
        return (measured + refused) / 2 if refused > RISEN * measured else measured

    def _history(self) -> float:
        """Seconds of send times and episodes kept: twice a probe's quiet spell, so that the
        episode before a probe is still there to measure from at a slow rate."""
        return max(HISTORY, 2 * PROBE_COUNT / self.rate) if self.rate else HISTORY

    def _refused(self) -> float:
        """The rate a refused request was sent at: the rate before its own grant raised it
        (at a slow rate, one grant of a probe is several percent)."""
        rate = self.rate or 0.0
        return min(rate, self._paced) if self._paced else rate

    def _grow(self, now: float) -> None:
        """One token granted to a waiting worker. At a measured limit: hold just under it, and
        probe slowly above it after a long quiet spell. Otherwise additive increase, doubling
        once quiet."""
        rate = self.rate or self.min_rate
        quiet = float("inf") if self._episode is None else now - self._episode
        if self._limit is not None:
            hold = HOLD * self._limit
            if rate < hold:
                grown = min(hold, rate + INCREASE * self._base / rate)
            elif quiet > max(PROBE_QUIET, PROBE_COUNT / rate):
                grown = rate * (1 + PROBE) ** (1 / rate)
            else:
                return
        elif quiet > max(QUIET, 2 * MEASURE_COUNT / rate):  # long enough to measure next time
            grown = rate * 2 ** (1 / (rate * DOUBLING))
            if self._ceiling_seen and grown > self._ceiling_seen:  # refused there: slowly
                grown = max(rate + INCREASE * self._base / rate, min(grown, self._ceiling_seen))
        else:
            grown = rate + INCREASE * self._base / rate
        self.rate = min(grown, self.ceiling) if self.ceiling else grown


@dataclass
class _Measure:
    """One decrease's measurement: requests admitted in the window (since, at], and the
    limiter's state before it (rate, limit, lower, paced), to measure again from."""

    since: float
    at: float
    admitted: int
    spanned: bool  # an episode began the window, far enough back to measure the limit
    before: tuple[float | None, float | None, float, float | None]

    @property
    def rate(self) -> float | None:
        return self.admitted / (self.at - self.since) if self.admitted else None

    @property
    def exact(self) -> bool:
        return self.spanned and self.admitted >= MEASURE_COUNT
