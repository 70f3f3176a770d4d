"""Bounded HTTP for the identity-provider sources (Graph, Okta): every request has a
deadline, every answer a size cap, the token never appears in an error, throttling waits
as the vendor asks (within a bound), and a walk of pages has an end.

The vendor modules say how their answers page, what a throttled answer asks to wait and
how their error bodies read (`Vendor`); this module does the rest once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from app.scim.http.limit_headers import retry_after_seconds
from app.scim.http.redact import redact, redact_url
from app.scim.http.transport import trusted_context, url_problem
from app.sources.errors import SourceCancelled, SourceError, SourceSpecError

TIMEOUT = 30.0  # seconds for connecting and for each read
REQUEST_DEADLINE = 120.0  # seconds for one whole answer
MAX_RESPONSE_MB = 64.0
MAX_PAGES = 100_000  # 20 million users at Okta's 200 a page: beyond is a server looping
MAX_WAIT = 900.0  # the longest one throttled answer may make us wait (Graph asks up to minutes)
EMPTY_RUN = 100  # pages in a row without a user: a server handing out fresh links to nothing
ATTEMPTS = 6  # tries of one page (throttled or failed on the network)
AGAIN = (429, 500, 502, 503, 504)  # throttled, or a passing failure: the page is asked again


def pause(seconds: float) -> None:
    """How a source waits (through time.sleep at call time, so a test may replace either)."""
    time.sleep(seconds)


def now() -> float:
    return time.time()


class Vendor(Protocol):
    """What differs between identity providers."""

    name: str  # "Microsoft Graph", "Okta"

    def error_text(self, body: object) -> str: ...

    def refused(self, status: int, detail: str) -> str: ...

    def invalid(self, detail: str) -> str: ...

    def wait_after(self, response: httpx.Response, now: float) -> float | None: ...


@dataclass
class Page:
    body: object
    response: httpx.Response


class SourceHttp:
    """GET JSON pages from one identity provider with one token."""

    def __init__(
        self,
        vendor: Vendor,
        base_url: str,
        auth_header: str,
        secret: str,
        *,
        insecure_http: bool = False,
        timeout: float = TIMEOUT,
        max_response_mb: float = MAX_RESPONSE_MB,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        deadline: float | None = None,
        renew: Callable[[], str] | None = None,
    ) -> None:
        self.vendor = vendor
        self.base_url = checked_url(base_url, vendor.name, insecure_http)
        self.origin = httpx.URL(self.base_url).copy_with(path="/", query=None)
        self._secrets = [secret]
        self._scheme = auth_header.partition(" ")[0]
        usable_token(auth_header, vendor.name)
        self._renew = renew  # a new token, for one refused mid-read (expired: Graph's last ~1 h)
        self._headers = {"Authorization": auth_header, "Accept": "application/json"}
        self._max_bytes = int(max_response_mb * 1024 * 1024)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, verify=trusted_context()
        )
        self._sleep = sleep or pause
        self.clock = clock or now
        self.requests = 0
        self.waited = 0.0
        self.deadline = deadline  # seconds of waiting the whole read may spend (--deadline)
        self._ids: set[str] = set()  # the users read so far (`fresh`)
        self._empty = 0  # pages in a row without a user (`fresh`)
        self._pages = 0  # pages read (`fresh`)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SourceHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        return redact(text, *self._secrets)

    def pages(
        self, first: str, params: dict[str, Any] | None, next_of: NextOf,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[Page]:
        """Each page from `first` on, following `next_of(page)` (an absolute URL, as given)
        until it says there is none. A next link to another host, scheme or port is refused:
        the token would go with it (to a plain-http downgrade too). `cancelled` is asked
        before each page."""
        url: str | None = first
        seen: set[str] = set()
        while url is not None:
            if cancelled is not None and cancelled():
                raise SourceCancelled(f"reading {self.vendor.name} was cancelled")
            if len(seen) >= MAX_PAGES or url in seen:
                raise SourceError(
                    f"{self.vendor.name} at {self.base_url} pages without an end ({len(seen)} "
                    "pages, or a page linking back): stopped reading, nothing was written; "
                    "report it to the vendor"
                )
            seen.add(url)
            page = self.get(url, params)
            yield page
            params = None  # a next link carries the query it needs
            url = self._resolved(next_of(page), page)
            if url is not None and not same_origin(httpx.URL(url), self.origin):
                raise SourceError(
                    f"{self.vendor.name} at {self.base_url} sent a next-page link to another "
                    f"host, scheme or port ({_origin(httpx.URL(url))}): not followed, so the "
                    "token stays here; nothing was written"
                )

    def _resolved(self, link: str | None, page: Page) -> str | None:
        """The next link as an absolute URL (one without a host is on the page's own)."""
        if link is None:
            return None
        try:
            return str(page.response.request.url.join(link))
        except httpx.InvalidURL:
            raise SourceError(
                f"{self.vendor.name} at {self.base_url} sent a next-page link that is not a "
                f"URL ({self.redact(ascii(link)[:80])}): stopped reading, nothing was written; "
                "report it to the vendor"
            ) from None

    def fresh(self, records: list[dict[str, Any]]) -> None:
        """Stop a walk whose next links are new but whose pages are not: a page listing only
        users of earlier pages (by id) is a server looping, which MAX_PAGES alone would let
        read the same users 100,000 times; so is a run of EMPTY_RUN pages without users
        (Graph may send an empty page with a next link, not a hundred)."""
        self._pages += 1
        self._empty = 0 if records else self._empty + 1
        if self._empty >= EMPTY_RUN:
            raise SourceError(
                f"{self.vendor.name} at {self.base_url} pages without an end ({self._empty} "
                "pages in a row without a user, each with a next link): stopped reading, "
                "nothing was written; report it to the vendor"
            )
        ids = [str(r.get("id")) for r in records if r.get("id")]
        if ids and self._ids.issuperset(ids):
            raise SourceError(
                f"{self.vendor.name} at {self.base_url} pages without an end (page "
                f"{self._pages} lists only users of earlier pages): stopped reading, nothing "
                "was written; report it to the vendor"
            )
        self._ids.update(ids)

    def get(self, url: str, params: dict[str, Any] | None = None) -> Page:
        """One page, sent again after a throttled (429, 503), failed (500, 502, 504) or lost
        answer, within bounds; the vendor says how long a throttled answer asks to wait. A 401
        after the first page is a token that expired during the read: with `renew`, the page
        is asked once more with a new token."""
        renewed = False
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self._send(url, params)
            except httpx.TransportError as error:
                if attempt == ATTEMPTS:
                    raise SourceError(
                        f"could not reach {self.vendor.name} at {self.base_url}: "
                        f"{self.redact(type(error).__name__ + ': ' + str(error))}. Check the "
                        "URL and the network; nothing was written."
                    ) from None
                self.wait(min(2.0**attempt, 30.0))
                continue
            if (response.status_code == 401 and self._renew is not None and not renewed
                    and self.requests > 1):
                renewed = True
                token = self._renew()
                self._secrets.append(token)
                self._headers["Authorization"] = usable_token(f"{self._scheme} {token}",
                                                              self.vendor.name)
                continue
            if response.status_code in AGAIN and attempt < ATTEMPTS:
                wait = self.vendor.wait_after(response, self.clock())
                self.wait(min(2.0**attempt, 30.0) if wait is None else wait)
                continue
            return Page(self._body(response), response)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def wait(self, seconds: float) -> None:
        """Wait as the vendor asks, within MAX_WAIT at once and the read's deadline in all."""
        if seconds > MAX_WAIT:
            raise SourceError(
                f"{self.vendor.name} at {self.base_url} asks to wait {seconds:,.0f} s before "
                f"the next request (more than {MAX_WAIT:.0f} s): stopped, nothing was written; "
                "run again later"
            )
        if self.deadline is not None and self.waited + seconds > self.deadline:
            raise SourceError(
                f"{self.vendor.name} at {self.base_url} asks to wait {seconds:,.0f} s more, "
                f"past the deadline of {self.deadline:,.0f} s for waiting on its rate limit "
                f"({self.waited:,.0f} s waited): stopped, nothing was written; run again later "
                "or give a longer --deadline"
            )
        seconds = max(seconds, 0.0)
        self.waited += seconds
        self._sleep(seconds)

    def _send(self, url: str, params: dict[str, Any] | None) -> httpx.Response:
        """The answer read within the size cap and the deadline (a server trickling bytes
        keeps each read under the timeout, not the whole answer)."""
        self.requests += 1
        started = time.monotonic()
        request = self._client.build_request("GET", url, params=params, headers=self._headers)
        response = self._client.send(request, stream=True)
        try:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    raise SourceError(
                        f"{self.vendor.name} at {self.base_url} answered more than "
                        f"{self._max_bytes / (1024 * 1024):.3g} MB for one page: stopped reading, "
                        "nothing was written"
                    )
                if time.monotonic() - started > REQUEST_DEADLINE:
                    raise httpx.ReadTimeout(f"no whole answer in {REQUEST_DEADLINE:.0f} s")
                chunks.append(chunk)
        finally:
            response.close()
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length")]  # decoded now
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks),
                              request=request, extensions=response.extensions)

    def _body(self, response: httpx.Response) -> object:
        try:
            body = response.json() if response.content.strip() else None
        except (ValueError, RecursionError):  # RecursionError: JSON nested beyond Python's stack
            body = None
            if response.is_success:
                kind = response.headers.get("Content-Type", "").split(";")[0] or "not JSON"
                raise SourceError(
                    f"{self.vendor.name} at {self.base_url} answered {kind}, not JSON: check "
                    "the URL; nothing was written"
                ) from None
        if response.is_success:
            return body
        text = self.vendor.error_text(body) or response.reason_phrase
        detail = self.redact(" ".join(text.split()))  # one line, whatever the server wrote
        if response.status_code in (401, 403):
            raise SourceError(self.redact(self.vendor.refused(response.status_code, detail)))
        if response.status_code == 400:  # the query, not the server: trying later won't help
            raise SourceError(self.redact(self.vendor.invalid(detail)))
        raise SourceError(
            f"{self.vendor.name} at {self.base_url} answered {response.status_code} "
            f"({detail}); nothing was written. Check the URL and try again later."
        )


NextOf = Callable[[Page], "str | None"]


def only_objects(items: list[Any], what: str) -> list[dict[str, Any]]:
    """The users of a page, each a JSON object; anything else in the list is a broken answer,
    not users to skip without a word."""
    odd = [item for item in items if not isinstance(item, dict)]
    if odd:
        raise SourceError(
            f"{what} lists {len(odd):,} entries that are not users (JSON objects), such as "
            f"{ascii(odd[0])[:40]}: stopped reading, nothing was written; report it to the vendor"
        )
    return items


def usable_token(auth_header: str, name: str) -> str:
    """The Authorization value, if a token can be sent in it: a line break, a space inside,
    a control or a non-ASCII character (a token copied with more than the token) would fail
    in httpx as a network error retried for a minute, or as a traceback."""
    credential = auth_header.partition(" ")[2]
    if not (credential and credential.isascii() and credential.isprintable()
            and not any(c.isspace() for c in credential)):
        raise SourceSpecError(
            f"the token for {name} holds a character no token has (a line break, a space, a "
            "control or non-ASCII character): copy the token again without it; nothing was sent"
        )
    return auth_header


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")


def same_origin(url: httpx.URL, origin: httpx.URL) -> bool:
    return (url.scheme, url.host, url.port) == (origin.scheme, origin.host, origin.port)


def checked_url(url: str, name: str, insecure_http: bool) -> str:
    """The URL without a trailing slash; https only, unless this machine or allowed."""
    problem = url_problem(url, insecure_http)
    if problem is not None:
        reason = {
            "plain http": "uses plain http, which would send the token unencrypted: use https, "
            "or pass --insecure-http for a test server you trust",
            "credentials": "carries a user name or password: remove them from the URL",
        }.get(problem, "is not an http(s) URL")
        raise SourceSpecError(f"the {name} URL {redact_url(url)!r} {reason}")
    parsed = httpx.URL(url.strip())
    if parsed.query or parsed.fragment:  # a query is where a pasted token hides
        raise SourceSpecError(
            f"the {name} URL for {parsed.host} carries a query or fragment ('?…', '#…'): "
            "give the base URL alone (https://HOST), a token goes in the environment or keyring"
        )
    return str(parsed).rstrip("/")


def seconds_or_none(text: str | None) -> float | None:
    """A header's number; None when absent or not a finite number ("nan", "inf", garbage
    would otherwise reach time.sleep)."""
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def retry_after(response: httpx.Response, now: float) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date (RFC 9110 10.2.3); None
    when absent or unreadable (the caller backs off)."""
    value = retry_after_seconds(response.headers.get("Retry-After"), now)
    return value if value is not None and math.isfinite(value) else None
