"""How a sync's waits end: a cancel, or a wait the server asks for that ends past the deadline.

Below the rate limiter (app/scim/http/pacing.py) and the change budget (budget.py), which
both wait in slices so that a cancel is seen promptly.
"""

from __future__ import annotations

from collections.abc import Callable

from app.scim.http.errors import ScimError

SLICE = 0.2  # seconds: waits are cut in slices so that a cancel is seen promptly


def deadline_text(seconds: float) -> str:
    """2 h, 45 min: how a --deadline is named in messages."""
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{round(seconds / 60, 1):g} min"


class Stop(Exception):
    """Raised inside a worker when the sync is cancelled or must stop."""


class WaitCancelled(ScimError, Stop):
    """The admin cancelled while a request waited for the rate limit: it was not sent.

    A ScimError where a request's failure is handled, a Stop where the worker's work is.
    """

    def __init__(self) -> None:
        super().__init__(0, None, "not sent: cancelled while waiting for the server's rate limit")


class RateDeadline(ScimError, Stop):
    """The server asked for a wait (Retry-After, a spent budget's reset) that ends past the
    sync's deadline: the request is not sent, and no other after it (a Stop for the worker)."""

    def __init__(self, asked: float, deadline: float, status: int = 429) -> None:
        why = (
            f"the server asked to wait {wait_text(asked)} before more requests (Retry-After)"
            if asked >= min(deadline, 60.0)
            else "the server still limits the rate"  # short waits, until the deadline ran out
        )
        super().__init__(
            status,
            None,
            f"not sent: {why}, past the {deadline_text(deadline)} deadline (--deadline); run "
            "the sync again later, it sends only what is still missing",
        )


def wait_text(seconds: float) -> str:
    """A server's asked-for wait in words: 27.8 h (100,000 s), 12 min (720 s), 40 s."""
    if seconds < 120:
        return f"{seconds:,.0f} s"
    shown = f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"
    return f"{shown} ({seconds:,.0f} s)"


def sliced_sleep(
    seconds: float,
    cancelled: Callable[[], bool] | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Sleep in short slices; raises WaitCancelled when the sync is cancelled meanwhile."""
    end = clock() + max(0.0, seconds)
    while True:
        if cancelled is not None and cancelled():
            raise WaitCancelled()
        left = end - clock()
        if left <= 0:
            return
        sleep(min(left, SLICE))
