"""The source guard: an export much smaller, or much blanker, than the last one synced.

A half export, a wrong sheet or a wrong source column is the usual cause of mass damage;
each shows as fewer users or more users without a source value than last time.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.users import UserList

MAX_USER_DROP = 0.20  # stop at 20% fewer users or more
MAX_BLANK_RISE = 0.20  # stop when the blank share rises by more than 20 points


@dataclass(frozen=True)
class SourceStats:
    users: int
    blank: int  # users whose source value is blank

    @property
    def blank_share(self) -> float:
        return self.blank / self.users if self.users else 0.0

    def to_dict(self) -> dict[str, int]:
        return {"users": self.users, "blank_source": self.blank}


def source_stats(users: UserList) -> SourceStats:
    blank = int((users.frame["source"].str.strip() == "").sum())
    return SourceStats(len(users), blank)


def source_change(before: SourceStats, now: SourceStats) -> str:
    """Why this export looks wrong next to the last one synced, or "" when it does not."""
    reasons = []
    if before.users and now.users <= before.users * (1 - MAX_USER_DROP):
        drop = 1 - now.users / before.users
        reasons.append(
            f"this export has {now.users:,} users; the last sync to this server used "
            f"{before.users:,} ({drop:.0%} fewer)"
        )
    rise = now.blank_share - before.blank_share
    if rise > MAX_BLANK_RISE:
        reasons.append(
            f"{now.blank_share:.0%} of its users have a blank source value; the last sync's "
            f"export had {before.blank_share:.0%}"
        )
    return "; ".join(reasons)
