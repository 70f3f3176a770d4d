"""The membership-change budget: some providers cap membership changes, not requests.

GitHub Enterprise Managed Users asks for at most about 1,000 users added to groups an hour,
so one PATCH of 100 members spends 100 of that, not 1. The budget is a debt-style bucket
(GCRA): a request carrying n changes may go when the balance is not negative; the balance
then drops by n and refills at the budget's rate, up to 0 (nothing is saved up for a burst).
A request is never refused for carrying more changes than a capacity: under 1,000 an hour a
PATCH of 100 goes, and the next one waits about 6 minutes.

One budget is shared by all workers of a sync; its waits end on the sync's cancel flag
(WaitCancelled, like the rate limiter's) and stop at the same deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.scim.http.pacing import DEFAULT_DEADLINE, Stop, deadline_text, sliced_sleep

HOUR = 3600.0
SLACK = 1e-9  # changes: a balance this close to 0 after a wait counts as paid off


class BudgetDeadline(Stop):
    """Waiting for the membership-change budget would run past the sync's deadline."""


class ChangeBudget:
    """Membership changes spent before each request that carries them; thread-safe.

    per_hour None: no budget (spend only counts). clock and sleep are injectable so that
    tests run on a fake clock.
    """

    def __init__(
        self,
        per_hour: float | None = None,
        deadline: float = DEFAULT_DEADLINE,
        *,
        cancelled: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_hour = per_hour
        self.deadline = deadline
        self.cancelled = cancelled
        self.spent = 0  # membership changes carried by the requests let through, less refunds
        self.waited = 0.0  # seconds during which at least one worker waited for the budget
        self._waiters = 0
        self._wait_began = 0.0
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self.started = self._last = clock()
        self._balance = 0.0  # changes that may go now; negative: the debt still to refill

    @property
    def rate(self) -> float | None:
        """Changes a second, or None without a budget."""
        return self.per_hour / HOUR if self.per_hour else None

    def spend(self, changes: int) -> None:
        """Wait until the balance is not negative, then spend the request's changes.

        Raises WaitCancelled when the sync is cancelled during the wait, and BudgetDeadline
        (the request is not sent) when the wait would run past the sync's deadline.
        """
        if changes <= 0:
            return
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                rate = self.rate
                if rate is None or self._balance >= -SLACK:
                    if rate is not None:
                        self._balance -= changes
                    self.spent += changes
                    return
                wait = -self._balance / rate
            if now + wait > self.started + self.deadline:
                raise BudgetDeadline(self._past_deadline())
            self._waiting(+1)
            try:
                sliced_sleep(wait, self.cancelled, self._clock, self._sleep)
            finally:
                self._waiting(-1)

    def refund(self, changes: int) -> None:
        """The server refused a request outright (a 4xx: nothing changed): give its changes
        back, so that the halves of a split batch or a request sent again spend them once."""
        if changes <= 0:
            return
        with self._lock:
            self.spent = max(0, self.spent - changes)
            if self.rate is not None:
                self._refill(self._clock())
                self._balance = min(0.0, self._balance + changes)

    def _waiting(self, step: int) -> None:
        """Count the time at least one worker waits: elapsed time, not a sum over workers."""
        with self._lock:
            now = self._clock()
            if step > 0 and self._waiters == 0:
                self._wait_began = now
            self._waiters += step
            if step < 0 and self._waiters == 0:
                self.waited += now - self._wait_began

    def seconds_for(self, changes: int, last: int = 0) -> float:
        """Seconds until the last request of `changes` more may go, the debt paid first; the
        `last` request's own changes need no wait (it goes when the balance reaches 0)."""
        rate = self.rate
        if rate is None or changes <= 0:
            return 0.0
        with self._lock:
            self._refill(self._clock())
            owed = max(0.0, -self._balance) + changes - min(max(0, last), changes)
            return max(0.0, owed) / rate

    def _refill(self, now: float) -> None:
        rate = self.rate
        if rate is not None and now > self._last:
            self._balance = min(0.0, self._balance + (now - self._last) * rate)
        self._last = max(self._last, now)

    def _past_deadline(self) -> str:
        return (
            f"not sent: waiting for the membership-change budget ({self.per_hour:,g} changes "
            f"an hour) would run past the {deadline_text(self.deadline)} deadline "
            "(--deadline); run the sync again later (it sends only what is still missing), "
            "or allow a longer deadline"
        )
