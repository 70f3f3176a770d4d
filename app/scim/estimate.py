"""How long a sync will take: the one place for the arithmetic and the wording.

Before writing: the requests the plan needs at the rate known (set by --max-rate or a preset,
or learned from the server while it was read) or assumed. While writing: the time left
follows the limiter's rate, or the pace so far where that is slower.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.scim.execute import planned_requests
from app.scim.pacing import RateLimiter
from app.scim.plan import SyncPlan
from app.scim.settings import SyncSettings

ASSUMED_RATE = 5.0  # requests a second, when neither the admin nor the server said


@dataclass(frozen=True)
class Estimate:
    requests: int
    rate: float  # requests a second
    basis: str  # "set" (--max-rate), "preset", "headers", "learned" or "assumed"

    @property
    def seconds(self) -> float:
        return self.requests / self.rate

    def text(self) -> str:
        """E.g. "about 240 requests, about 4 minutes at 1 request a second"."""
        if not self.requests:
            return "no write requests"
        text = (
            f"about {self.requests:,} request{'' if self.requests == 1 else 's'}, "
            f"{duration_text(self.seconds)} at {rate_text(self.rate)}"
        )
        notes = {
            "preset": " (the preset's rate)",
            "headers": " (the rate the server advertises)",
            "learned": " (the rate the server allowed while it was read)",
            "assumed": " (assumed: the server's limit is not known; the sync follows what the "
            "server allows, and a known rate or provider can be set)",
        }
        return text + notes.get(self.basis, "")

    def to_json(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "rate": round(self.rate, 4),
            "rate_basis": self.basis,
        }


def plan_estimate(
    plan: SyncPlan, settings: SyncSettings, limiter: RateLimiter | None = None
) -> Estimate:
    """The write requests of the plan and their time at the rate known, else assumed."""
    requests = planned_requests(plan, settings.batch_size)
    if limiter is not None and limiter.rate and limiter.source in ("headers", "learned"):
        return Estimate(requests, limiter.rate, limiter.source)
    if settings.max_rate:
        return Estimate(requests, settings.max_rate, "preset" if _from_preset(settings) else "set")
    return Estimate(requests, ASSUMED_RATE, "assumed")


def _from_preset(settings: SyncSettings) -> bool:
    from app.scim.profiles import profile

    return settings.max_rate == profile(settings.profile).max_rate


def rate_text(rate: float) -> str:
    """1 request a second, 2.5 requests a second, 17 requests a minute, 90 requests an hour."""
    for unit, per in (("a second", 1), ("a minute", 60), ("an hour", 3600)):
        count = rate * per
        if count >= 1 or unit == "an hour":
            shown = f"{count:.1f}".rstrip("0").rstrip(".") if count < 10 else f"{count:,.0f}"
            return f"{shown} request{'' if shown == '1' else 's'} {unit}"
    raise AssertionError("unreachable")


def duration_text(seconds: float) -> str:
    """about 40 seconds, about 4 minutes, about 2.5 hours."""
    if seconds < 1.5:
        return "about 1 second"
    if seconds < 90:
        return f"about {round(seconds)} seconds"
    minutes = seconds / 60
    if minutes < 90:
        return f"about {round(minutes)} minutes"
    hours = round(minutes / 60, 1)
    shown = f"{hours:.1f}".rstrip("0").rstrip(".") if hours < 10 else f"{hours:.0f}"
    return f"about {shown} hour{'' if shown == '1' else 's'}"


def seconds_left(
    elapsed: float, done: int, total: int, rate: float | None = None, paused: float = 0.0
) -> float | None:
    """Seconds until the last planned request: at the limiter's rate, or the pace so far
    where that is slower (a server slower than its limit); None before there is a pace."""
    if done <= 0 or total <= done:
        return None
    per_request = elapsed / done if elapsed >= 0.5 else 0.0
    if rate:
        per_request = max(per_request, 1 / rate)
    if not per_request:
        return None
    return paused + per_request * (total - done)


def time_left_text(
    elapsed: float, done: int, total: int, rate: float | None = None, paused: float = 0.0
) -> str:
    """"about 12 s left", "about 4 min left", or "" when there is nothing to say yet."""
    seconds = seconds_left(elapsed, done, total, rate, paused)
    if seconds is None:
        return ""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"
