"""How long a sync will take: the one place for the arithmetic and the wording.

Before writing: the requests the plan needs at the rate known (set by --max-rate or a preset,
or learned from the server while it was read) or assumed, or, where a membership-change
budget is set (--max-changes-per-hour, the github preset) and slower, the changes the
requests carry at that budget. While writing: the time left follows the limiter's rate, or
the pace so far where that is slower, or the budget where that is slower still.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.scim.config.settings import TARGET_GROUPS, SyncSettings
from app.scim.http.budget import HOUR
from app.scim.http.pacing import RateLimiter, deadline_text
from app.scim.sync.executor import planned_requests
from app.scim.sync.plan import SyncPlan

ASSUMED_RATE = 5.0  # requests a second, when neither the admin nor the server said


@dataclass(frozen=True)
class Estimate:
    requests: int
    rate: float  # requests a second
    basis: str  # "set" (--max-rate), "preset", "headers", "learned" or "assumed"
    changes: int = 0  # membership changes the requests carry
    changes_per_hour: float | None = None  # the change budget; None: none
    budget_basis: str = "set"  # "set" (--max-changes-per-hour) or "preset"
    deadline: float | None = None  # seconds the sync may take where the budget waits

    @property
    def request_seconds(self) -> float:
        return self.requests / self.rate

    @property
    def budget_seconds(self) -> float:
        return self.changes * HOUR / self.changes_per_hour if self.changes_per_hour else 0.0

    @property
    def bound(self) -> str:
        """What decides the time: "changes" (the budget) or "requests" (the rate)."""
        return "changes" if self.budget_seconds > self.request_seconds else "requests"

    @property
    def seconds(self) -> float:
        return max(self.request_seconds, self.budget_seconds)

    def text(self) -> str:
        """E.g. "about 240 requests, about 4 minutes at 1 request a second", or where the
        budget binds "about 50 requests (5,000 membership changes), about 5 hours at 1,000
        membership changes an hour"."""
        if not self.requests:
            return "no write requests"
        requests = f"about {self.requests:,} request{'' if self.requests == 1 else 's'}"
        if self.bound == "changes" and self.changes_per_hour:
            text = (
                f"{requests} ({self.changes:,} membership change"
                f"{'' if self.changes == 1 else 's'}), {duration_text(self.seconds)} at "
                f"{changes_rate_text(self.changes_per_hour)}"
            )
            if self.budget_basis == "preset":
                text += " (the preset's budget)"
            if self.deadline and self.seconds > self.deadline:
                text += (
                    f"; that runs past the {deadline_text(self.deadline)} deadline, when "
                    "the sync stops (a later run sends the rest, or allow a longer --deadline)"
                )
            return text
        text = f"{requests}, {duration_text(self.seconds)} at {rate_text(self.rate)}"
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
            "changes": self.changes,
            "max_changes_per_hour": self.changes_per_hour,
            "bound": self.bound,
        }


def plan_estimate(
    plan: SyncPlan, settings: SyncSettings, limiter: RateLimiter | None = None
) -> Estimate:
    """The write requests of the plan and their time at the rate known, else assumed, or at
    the change budget where that is slower (attribute writes spend none of it)."""
    from app.scim.config.profiles import profile

    preset = profile(settings.profile)
    requests = planned_requests(plan, settings.batch_size)
    changes = plan.added_count + plan.removed_count if settings.target == TARGET_GROUPS else 0
    if limiter is not None and limiter.rate and limiter.source in ("headers", "learned"):
        rate, basis = limiter.rate, limiter.source
    elif settings.max_rate:
        rate, basis = settings.max_rate, "preset" if settings.max_rate == preset.max_rate else "set"
    else:
        rate, basis = ASSUMED_RATE, "assumed"
    per_hour = settings.max_changes_per_hour
    budget_basis = "preset" if per_hour == preset.max_changes_per_hour else "set"
    return Estimate(requests, rate, basis, changes, per_hour, budget_basis, settings.deadline)


def watched_settings(plan: SyncPlan, settings: SyncSettings) -> SyncSettings:
    """The settings of a sync the admin watches (the app: time left and Cancel on screen): its
    deadline leaves room for the time the change budget plans, then the usual deadline for
    throttling, so a paced sync is not stopped half-way for being as slow as planned."""
    from dataclasses import replace

    planned = plan_estimate(plan, settings).budget_seconds
    return replace(settings, deadline=max(settings.deadline, planned + settings.deadline))


def rate_text(rate: float) -> str:
    """1 request a second, 2.5 requests a second, 17 requests a minute, 90 requests an hour."""
    for unit, per in (("a second", 1), ("a minute", 60), ("an hour", 3600)):
        count = rate * per
        if count >= 1 or unit == "an hour":
            shown = f"{count:.1f}".rstrip("0").rstrip(".") if count < 10 else f"{count:,.0f}"
            return f"{shown} request{'' if shown == '1' else 's'} {unit}"
    raise AssertionError("unreachable")


def changes_rate_text(per_hour: float) -> str:
    """1,000 membership changes an hour, 2.5 membership changes an hour."""
    shown = f"{per_hour:.1f}".rstrip("0").rstrip(".") if per_hour < 10 else f"{per_hour:,.0f}"
    return f"{shown} membership change{'' if shown == '1' else 's'} an hour"


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
    elapsed: float,
    done: int,
    total: int,
    rate: float | None = None,
    paused: float = 0.0,
    budget: float = 0.0,
) -> float | None:
    """Seconds until the last planned request: at the limiter's rate, or the pace so far
    where that is slower (a server slower than its limit), or what the change budget still
    needs (budget, seconds) where that is slower still; None before there is a pace."""
    if done <= 0 or total <= done:
        return None
    per_request = elapsed / done if elapsed >= 0.5 else 0.0
    if rate:
        per_request = max(per_request, 1 / rate)
    if not per_request:
        return budget or None
    return max(paused + per_request * (total - done), budget)


def time_left_text(
    elapsed: float,
    done: int,
    total: int,
    rate: float | None = None,
    paused: float = 0.0,
    budget: float = 0.0,
) -> str:
    """"about 12 s left", "about 4 min left", or "" when there is nothing to say yet."""
    seconds = seconds_left(elapsed, done, total, rate, paused, budget)
    if seconds is None:
        return ""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"
