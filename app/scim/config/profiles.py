"""Vendor presets (`--profile NAME`): rate, batch size and page size from public documentation.

A preset only fills in what the admin did not give: an explicit --max-rate, --batch-size,
--page-size, --concurrency or --max-changes-per-hour wins. Where a vendor publishes no rate,
the preset leaves it to the limiter to learn from the server's answers (headers, Retry-After,
429s); only a vendor that publishes a cap on membership changes (GitHub) has a change budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from app.core.errors import InputError


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    max_rate: float | None  # requests a second; None: learned from the server
    batch_size: int  # membership changes per request
    page_size: int | None  # results per list page; None: the server's maxResults
    concurrency: int
    source: str  # where the figures come from
    max_changes_per_hour: float | None = None  # membership changes; None: none published


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "generic",
            "Generic SCIM 2.0 server",
            None,
            100,
            None,
            4,
            "RFC 7644; the rate is learned from the server's answers",
        ),
        Profile(
            "slack",
            "Slack",
            3.0,  # group PATCH and POST: 180 a minute (writes 600, reads 1,000 a minute)
            100,
            1000,  # count is capped at 1,000 a page
            4,
            "https://docs.slack.dev/reference/scim-api/rate-limits",
        ),
        Profile(
            "zoom",
            "Zoom",
            1.0,  # each SCIM2 endpoint: 1 request a second per account
            100,
            100,
            1,
            "https://marketplace.zoom.us/docs/api-reference/scim-api/",
        ),
        Profile(
            "github",
            "GitHub Enterprise Managed Users",
            1000 / 3600,  # at most about 1,000 provisioning requests an hour
            100,
            100,
            1,
            "https://docs.github.com/en/enterprise-cloud@latest/admin/managing-iam/"
            "provisioning-user-accounts-with-scim/"
            "provisioning-users-and-groups-with-scim-using-the-rest-api",
            max_changes_per_hour=1000,  # at most about 1,000 users added to groups an hour
        ),
        Profile(
            "aws",
            "AWS IAM Identity Center",
            None,  # 429 ThrottlingException, no published rate
            100,  # at most 100 membership changes per PatchGroup / CreateGroup
            50,  # ListUsers and ListGroups return at most 50
            4,
            "https://docs.aws.amazon.com/singlesignon/latest/developerguide/patchgroup.html",
        ),
        Profile(
            "okta",
            "Okta",
            None,  # per-minute limits by plan, advertised in X-Rate-Limit-* headers
            100,
            200,  # the Users API pages at most 200
            4,  # concurrent-request limits; bulk loads rarely need more than 10
            "https://developer.okta.com/docs/reference/rl-additional-limits/",
        ),
        Profile(
            "atlassian",
            "Atlassian (user provisioning API)",
            None,  # 429 until the rate counter resets; no published SCIM rate
            100,
            100,
            2,
            "https://developer.atlassian.com/cloud/admin/user-provisioning/rest/intro/",
        ),
        Profile(
            "miro",
            "Miro",
            5 / 30,  # group PATCH over 500 bytes: 5 per 30 seconds
            8000,  # at most 8,000 members per PATCH
            100,
            1,
            "https://developers.miro.com/reference/rate-limits",
        ),
    )
}


class PacingOptions(TypedDict):
    """The SyncSettings fields a preset fills in (passed on as keyword arguments)."""

    profile: str
    max_rate: float | None
    batch_size: int
    page_size: int | None
    concurrency: int
    max_changes_per_hour: float | None


def profile(name: str | None) -> Profile:
    """The preset of that name ("generic" when none is given)."""
    key = (name or "generic").strip().lower()
    if key not in PROFILES:
        raise InputError(
            f"--profile {name!r} is not a known preset: use one of {', '.join(PROFILES)} "
            "(or generic, and --max-rate for a rate you know)"
        )
    return PROFILES[key]


def pacing_options(
    name: str | None,
    *,
    max_rate: float | None = None,
    batch_size: int | None = None,
    page_size: int | None = None,
    concurrency: int | None = None,
    max_changes_per_hour: float | None = None,
) -> PacingOptions:
    """SyncSettings fields from a preset, each explicit option (not None) winning over it."""
    preset = profile(name)
    return {
        "profile": preset.name,
        "max_rate": max_rate if max_rate is not None else preset.max_rate,
        "batch_size": batch_size if batch_size is not None else preset.batch_size,
        "page_size": page_size if page_size is not None else preset.page_size,
        "concurrency": concurrency if concurrency is not None else preset.concurrency,
        "max_changes_per_hour": max_changes_per_hour
        if max_changes_per_hour is not None
        else preset.max_changes_per_hour,
    }
