"""The settings of one sync, and the small records passed to progress and log callbacks."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import InputError
from app.scim.http.pacing import DEFAULT_DEADLINE
from app.scim.http.redact import redact_url

MATCH_ATTRIBUTES = {"userName": "userName", "emails": "emails.value", "externalId": "externalId"}
TARGET_GROUPS, TARGET_ATTRIBUTE = "groups", "attribute"
TARGETS = (TARGET_GROUPS, TARGET_ATTRIBUTE)


@dataclass(frozen=True)
class SyncSettings:
    """Where to sync and how; the defaults are safe for every provider in the interop notes."""

    url: str
    token: str | None = None
    match_attribute: str = "userName"
    batch_size: int = 100
    concurrency: int = 4
    target: str = "groups"
    attribute: str | None = None
    max_removal_ratio: float = 0.2
    allow_mass_removal: bool = False
    insecure_http: bool = False
    max_rate: float | None = None  # requests a second; None: learned from the server
    deadline: float = DEFAULT_DEADLINE  # seconds throttled requests are retried for
    page_size: int | None = None  # results per list page, within the server's maxResults
    profile: str = "generic"  # the vendor preset the pacing fields came from
    max_changes_per_hour: float | None = None  # membership changes; None: no budget

    def __post_init__(self) -> None:
        if self.match_attribute not in MATCH_ATTRIBUTES:
            raise InputError(
                f"match attribute {self.match_attribute!r} is not one of "
                f"{', '.join(MATCH_ATTRIBUTES)}: pick one of them"
            )
        if self.target not in TARGETS:
            raise InputError(f"target {self.target!r} is not 'groups' or 'attribute'")
        if self.target == "attribute" and not (self.attribute or "").strip():
            raise InputError(
                "--target attribute needs --attribute PATH, e.g. "
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
            )
        if self.batch_size < 1:
            raise InputError(f"batch size {self.batch_size} must be 1 or more")
        if self.concurrency < 1:
            raise InputError(f"concurrency {self.concurrency} must be 1 or more")
        if self.max_rate is not None and not self.max_rate > 0:
            raise InputError(
                f"max rate {self.max_rate} must be above 0 requests a second (0.5 = one "
                "request every 2 seconds)"
            )
        if self.max_changes_per_hour is not None and not self.max_changes_per_hour > 0:
            raise InputError(
                f"max changes per hour {self.max_changes_per_hour} must be above 0 membership "
                "changes an hour (e.g. 1000)"
            )
        if not self.deadline > 0:
            raise InputError(f"deadline {self.deadline} must be above 0 seconds (e.g. 2h)")
        if self.page_size is not None and self.page_size < 1:
            raise InputError(f"page size {self.page_size} must be 1 or more")
        if not 0 <= self.max_removal_ratio <= 1:
            raise InputError(
                f"max removal ratio {self.max_removal_ratio} must be between 0 and 1 (0.2 = 20%)"
            )

    @property
    def filter_attribute(self) -> str:
        """The SCIM attribute path compared with the export's email."""
        return MATCH_ATTRIBUTES[self.match_attribute]

    def __repr__(self) -> str:
        token = "[redacted]" if self.token else None
        return (
            f"SyncSettings(url={redact_url(self.url)!r}, token={token!r}, target={self.target!r}, "
            f"match_attribute={self.match_attribute!r}, batch_size={self.batch_size})"
        )


@dataclass(frozen=True)
class SyncProgress:
    """Passed to progress callbacks: requests done of the total planned, seconds elapsed."""

    done: int
    total: int
    elapsed: float
    phase: str = "write"  # "read" while the server's state is read
    rate: float | None = None  # the limiter's rate now (requests a second), if one is known
    paused: float = 0.0  # seconds every worker still waits (a Retry-After)
    budget_left: float = 0.0  # seconds the membership-change budget needs for the changes left
    changes_per_hour: float | None = None  # that budget, if one is set
