"""`--users okta:ATTRIBUTE`: the users of an Okta org.

GET {org}/api/v1/users?limit=200, following the `Link: <…>; rel="next"` header as given
(a list ending on a page boundary ends with an empty page). Every answer carries
X-Rate-Limit-Limit, X-Rate-Limit-Remaining and X-Rate-Limit-Reset (epoch seconds) of a
per-minute limit the whole org shares (developer.okta.com, "Rate limits"): while more than a
tenth of the window is left the pages follow at once; below, the requests left are spread
evenly over the time to the reset (other integrations of the org keep some); with none left
the next request waits for the reset, and so does a 429 (Okta sends no Retry-After). The time
to the reset is counted from the answer's Date (Okta's clock, which the reset is on), so a local
clock minutes off neither stops a throttled read nor waits too little. Every wait counts
against the read's deadline.
The attribute is a path such as `profile.department` (a bare name means `profile.NAME`).
Email: `profile.email`, else `profile.login`; status: `status` (ACTIVE, SUSPENDED, ...).

The token ($GROUPMAP_OKTA_TOKEN, else the keyring): an API token is sent as `SSWS`, an OAuth
access token (a JWT: three dot-separated parts) as `Bearer`, with the scope okta.users.read;
a token written with its scheme ("Bearer …") is sent so.
"""

from __future__ import annotations

import email.utils
import math
import os
from collections.abc import Callable
from datetime import UTC
from typing import Any

import httpx

from app.core.users import UserList
from app.scim.config.tokens import OKTA_TOKEN_NAME
from app.sources.errors import SourceError, SourceSpecError
from app.sources.http import Page, SourceHttp, only_objects, retry_after, seconds_or_none
from app.sources.scim import values_at
from app.sources.users import SourceInfo, SourceUser, first_text, user_list

PAGE_SIZE = 200
SCOPE = "okta.users.read"
TOKEN_ENV = "GROUPMAP_OKTA_TOKEN"
KEYRING_NAME = OKTA_TOKEN_NAME  # the token's name in the token store


class Okta:
    """How Okta answers: errors `{"errorCode", "errorSummary"}`, rate-limit headers."""

    name = "Okta"

    def error_text(self, body: object) -> str:
        if not isinstance(body, dict):
            return ""
        return ": ".join(str(body[k]) for k in ("errorCode", "errorSummary") if body.get(k))

    def refused(self, status: int, detail: str) -> str:
        if status == 401:
            return (
                f"Okta refused the token ({status} {detail}): check $GROUPMAP_OKTA_TOKEN (an API "
                f"token, or an OAuth token with the scope {SCOPE}); nothing was written"
            )
        return (
            f"Okta refused to list the users ({status} {detail}): use an API token of an admin "
            f"who may read users, or an OAuth token with the scope {SCOPE}; nothing was written"
        )

    def invalid(self, detail: str) -> str:
        return (
            f"Okta refused the query for the users (400 {detail}): check that --okta-url is "
            "the org URL (https://YOUR-ORG.okta.com); nothing was written"
        )

    def wait_after(self, response: httpx.Response, now: float) -> float | None:
        now = server_now(response.headers, now)
        reset = seconds_or_none(response.headers.get("X-Rate-Limit-Reset"))
        if reset is None:
            return retry_after(response, now)
        return max(reset - now, 0.0) + 1.0  # the reset is in whole seconds


def auth_header(token: str) -> str:
    """`SSWS` for an API token, `Bearer` for an OAuth access token (a JWT); a token given
    with its scheme ("SSWS …", "Bearer …") is sent as given."""
    scheme, _, rest = token.partition(" ")
    if rest and scheme.lower() in ("ssws", "bearer"):
        return f"{'SSWS' if scheme.lower() == 'ssws' else 'Bearer'} {rest.strip()}"
    if token.count(".") == 2 and token.startswith("ey"):
        return f"Bearer {token}"
    return f"SSWS {token}"


def okta_token(org_url: str, store_get: Callable[[str], str] | None = None) -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token and store_get is not None:
        token = store_get(KEYRING_NAME.format(host=httpx.URL(org_url).host))
    if not token:
        raise SourceSpecError(
            f"no Okta token: set ${TOKEN_ENV} to an API token (Security ▸ API ▸ Tokens) or "
            f"an OAuth access token with the scope {SCOPE}"
        )
    return token


def read_okta(
    token: str,
    attribute: str,
    org_url: str,
    separator: str = "",
    insecure_http: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    **http: Any,
) -> tuple[UserList, SourceInfo]:
    """Every user Okta lists by default (not the deprovisioned)."""
    path = attribute if "." in attribute else f"profile.{attribute}"
    users: list[SourceUser] = []
    with SourceHttp(Okta(), org_url, auth_header(token), token,
                    insecure_http=insecure_http, **http) as okta:
        pacing = Pacing(okta)
        for page in okta.pages(f"{okta.base_url}/api/v1/users", {"limit": PAGE_SIZE},
                               pacing.next_link, cancelled):
            records = page_users(page, okta.base_url)
            okta.fresh(records)
            for user in records:
                found = user.get("profile")
                profile: dict[str, Any] = found if isinstance(found, dict) else {}
                email = first_text(profile.get("email"), profile.get("login"))
                name = " ".join(str(profile.get(k) or "") for k in ("firstName", "lastName"))
                users.append(SourceUser(
                    email=email,
                    name=name.strip(),
                    status=str(user.get("status") or ""),
                    values=values_at(user, path),
                ))
            if progress is not None:
                progress(len(users), 0)
        return user_list(users, "okta", okta.base_url, path, separator)


LOW_SHARE = 0.1  # below this share of the window left, the requests are spread to the reset
MAX_SKEW = 86_400.0  # a Date further than a day from the local clock is not believed


class Pacing:
    """The next page's link, after the wait the rate-limit headers ask for (`pace`)."""

    def __init__(self, okta: SourceHttp) -> None:
        self.okta = okta

    def next_link(self, page: Page) -> str | None:
        link = page.response.links.get("next", {}).get("url")
        if not link:
            return None
        wait = pace(page.response.headers, self.okta.clock())
        if wait > 0:
            self.okta.wait(wait)
        return str(link)


def pace(headers: httpx.Headers, now: float) -> float:
    """Seconds to wait before the next request: none while the window has room; the time to
    the reset divided by the requests left once they are few (at most a tenth of the limit,
    or 1 where no limit is given); to the reset (whole seconds, so 1 s more) when none are."""
    remaining = seconds_or_none(headers.get("X-Rate-Limit-Remaining"))
    reset = seconds_or_none(headers.get("X-Rate-Limit-Reset"))
    if remaining is None or reset is None:
        return 0.0
    to_reset = max(reset - server_now(headers, now), 0.0)
    if remaining <= 0:
        return to_reset + 1.0
    limit = seconds_or_none(headers.get("X-Rate-Limit-Limit")) or 0.0
    if remaining > max(limit * LOW_SHARE, 1.0):
        return 0.0
    return to_reset / remaining


def server_now(headers: httpx.Headers, local: float) -> float:
    """Now by Okta's clock: the answer's Date, which X-Rate-Limit-Reset counts from; the local
    clock `local` when Date is absent, unreadable or more than MAX_SKEW off (a broken header,
    not a skewed clock)."""
    try:
        sent = email.utils.parsedate_to_datetime(headers.get("Date", ""))
        stamp = (sent if sent.tzinfo else sent.replace(tzinfo=UTC)).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return local
    return stamp if math.isfinite(stamp) and abs(stamp - local) <= MAX_SKEW else local


def page_users(page: Page, where: str) -> list[dict[str, Any]]:
    if not isinstance(page.body, list):
        raise SourceError(
            f"Okta at {where} answered /api/v1/users without a list of users: check that "
            "--okta-url is the org URL (https://example.okta.com); nothing was written"
        )
    return only_objects(page.body, f"Okta at {where} answered /api/v1/users but")
