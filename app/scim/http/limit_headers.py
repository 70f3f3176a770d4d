"""Rate-limit headers: what an answer says of the limit, in any of the styles servers use.

Read by the rate limiter (pacing.py) after every answer; Retry-After also by the live user
sources' HTTP client.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class HeaderLimit:
    """What an answer's rate-limit headers say: requests left, seconds to the reset."""

    remaining: float | None = None
    reset: float | None = None
    quota: float | None = None
    window: float | None = None

    @property
    def rate(self) -> float | None:
        """The remaining budget spread evenly until the reset, else the policy's rate."""
        if self.remaining is not None and self.reset:
            return self.remaining / self.reset
        if self.quota and self.window:
            return self.quota / self.window
        return None


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _number(value: str | None) -> float | None:
    try:
        return float(str(value).strip().strip('"'))
    except (TypeError, ValueError):
        return None


def _reset_seconds(value: str | None, now: float | None) -> float | None:
    """X-RateLimit-Reset: seconds from now, or an epoch timestamp (GitHub, Okta)."""
    reset = _number(value)
    if reset is None:
        return None
    if reset > 1e9:
        reset -= time.time() if now is None else now
    return max(0.0, reset)


def _items(value: str) -> list[dict[str, str]]:
    """A structured-field list ("name";r=5;t=3, ...) or dictionary (limit=5, reset=3)."""
    members: list[dict[str, str]] = []
    for member in value.split(","):
        params: dict[str, str] = {}
        for part in member.split(";"):
            key, sep, val = part.strip().partition("=")
            if sep:
                params[key.strip().lower()] = val.strip()
            elif key:
                params["_"] = key.strip()
        members.append(params)
    return members


def header_limit(headers: Mapping[str, str], now: float | None = None) -> HeaderLimit | None:
    """The limit an answer advertises, in any of the styles servers use, or None.

    IETF draft-ietf-httpapi-ratelimit-headers: `RateLimit: "default";r=50;t=30` with
    `RateLimit-Policy: "default";q=100;w=60` (drafts 08 on), `RateLimit: limit=100,
    remaining=50, reset=30` (draft 07), RateLimit-Limit/-Remaining/-Reset (earlier drafts);
    and the older X-RateLimit-Limit/-Remaining/-Reset (Calendly, GitHub), X-Rate-Limit-* (Okta).
    """
    get = headers.get
    remaining = reset = quota = window = None
    field = get("RateLimit")
    if field:
        members = _items(field)
        if not any("r" in m for m in members):  # draft 07: one dictionary, not a list
            members = [{k: v for m in members for k, v in m.items()}]
        found = [m for m in members if {"r", "remaining"} & m.keys()]
        best = None
        for m in found:  # several policies: the one that allows the least
            left = _number(m.get("r", m.get("remaining")))
            when = _number(m.get("t", m.get("reset")))
            if left is None:
                continue
            candidate = HeaderLimit(left, when)
            if best is None or (candidate.rate or 0) < (best.rate or 0):
                best = candidate
        if best is not None:
            remaining, reset = best.remaining, best.reset
        quota = next((_number(m["limit"]) for m in members if "limit" in m), None)
    policy = get("RateLimit-Policy")
    if policy:
        for m in _items(policy):
            q, w = _number(m.get("q", m.get("_"))), _number(m.get("w"))
            if q and w and (quota is None or window is None or q / w < quota / window):
                quota, window = q, w
    for prefix in ("RateLimit-", "X-RateLimit-", "X-Rate-Limit-"):
        if remaining is None and get(prefix + "Remaining") is not None:
            remaining = _number(get(prefix + "Remaining"))
            reset = _reset_seconds(get(prefix + "Reset"), now)
            quota = quota or _number(get(prefix + "Limit"))
    if remaining is None and quota is None:
        return None
    return HeaderLimit(remaining, reset, quota, window)
