"""HTTP transport for SCIM: the bearer token, retries with backoff, and SCIM Error bodies.

Every request first takes a token from the client's RateLimiter (app/scim/http/pacing.py), which
learns from every answer; 429 and 503 are retried until its deadline, not a fixed count.

The token lives only in the Authorization header of the httpx client; nothing here formats
headers into text, and any server text echoing the token is redacted before it is shown.
Every request is bounded: a total deadline from sending to the last byte of the answer (not
only per read, so a server dripping bytes cannot hold a sync), and a cap on the answer's size,
read as a stream so an oversized body is refused before it fills the memory. Retries do not
multiply the deadline: a request is sent again only while its failures took less than one
deadline in all, or once after a first attempt that ran into it (`may_retry`).
"""

from __future__ import annotations

import functools
import logging
import os
import random
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx

from app.scim.http.errors import AuthError, BadAnswer, ConnectError, ScimError, TooLarge
from app.scim.http.pacing import THROTTLE_STATUSES, RateDeadline, RateLimiter
from app.scim.http.redact import REDACTED, redact, redact_url, url_secrets
from app.scim.http.urls import checked_base_url, checked_token, url_problem

log = logging.getLogger("app.scim")

SCIM_JSON = "application/scim+json"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REQUEST_DEADLINE = 120.0  # seconds from sending a request to the last byte of its answer
MAX_RESPONSE_MB = 64  # a 1,000-user page with groups is a few MB; a 100,000-member group ~10 MB
KEPT_EXTENSIONS = ("http_version", "reason_phrase")
__all__ = [
    "REDACTED",
    "RequestEvent",
    "Transport",
    "checked_base_url",
    "checked_token",
    "trusted_context",
    "url_problem",
]


@functools.lru_cache(maxsize=8)
def _trust(cafile: str, capath: str) -> ssl.SSLContext:
    """httpx's context for verify=True (it reads the same two variables), made once per
    setting: loading the CA bundle costs ~20 ms of CPU, and every connection test, refresh,
    sync and undo makes a client. One context serves any number of connections."""
    return httpx.create_ssl_context(verify=True)


def trusted_context() -> ssl.SSLContext:
    """The certificate authorities $SSL_CERT_FILE or $SSL_CERT_DIR name now (else certifi's)."""
    return _trust(os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))


@dataclass(frozen=True)
class RequestEvent:
    """One HTTP exchange, for logs and progress views: never carries headers."""

    method: str
    path: str
    status: int | None
    elapsed: float
    attempt: int
    error: str = ""


def request_kind(method: str, path: str, params: dict[str, Any] | None) -> str:
    """How a request is counted: user_pages, user_lookups, group_pages, group_lookups,
    single_reads, writes or discovery (the read-back is named by its caller)."""
    if method != "GET":
        return "writes"
    filtered = bool(params and "filter" in params)
    if path == "/Users":
        return "user_lookups" if filtered else "user_pages"
    if path == "/Groups":
        return "group_lookups" if filtered else "group_pages"
    if path.startswith(("/Groups/", "/Users/")):
        return "single_reads"
    return "discovery"


class Transport:
    """Sends requests with bounded retries; counts every request sent."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        insecure_http: bool = False,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        limiter: RateLimiter | None = None,
        on_request: Callable[[RequestEvent], None] | None = None,
        request_deadline: float = REQUEST_DEADLINE,
        max_response_mb: float = MAX_RESPONSE_MB,
    ) -> None:
        real = checked_base_url(base_url, insecure_http)
        self.base_url = redact_url(real)  # what messages show; requests use the real one
        self._root, _, query = real.partition("?")
        self._query = dict(parse_qsl(query, keep_blank_values=True))  # some servers' API key
        self._hidden = url_secrets(real)
        self._token = checked_token(token)
        headers = {"Accept": f"{SCIM_JSON}, application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        self._http = httpx.Client(
            headers=headers, timeout=timeout, verify=trusted_context(), follow_redirects=False
        )
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.limiter = limiter if limiter is not None else RateLimiter()
        self.on_request = on_request
        self.request_deadline = request_deadline
        self.max_response_bytes = int(max_response_mb * 1024 * 1024)
        self._lock = threading.Lock()
        self._count = 0
        self._kinds: Counter[str] = Counter()  # requests by kind, for --json

    @property
    def request_count(self) -> int:
        return self._count

    def requests_by_kind(self) -> dict[str, int]:
        """Requests sent so far by kind (user_pages, group_pages, single_reads, writes, ...)."""
        with self._lock:
            return dict(sorted(self._kinds.items()))

    def close(self) -> None:
        self._http.close()

    def redact(self, text: str) -> str:
        """The text without the token, nor the base URL's query values (an echoed URL)."""
        return redact(text, self._token, *self._hidden)

    def wait_before_retry(self, attempt: int, delay: float | None = None) -> None:
        """Back off (or wait `delay` seconds); a cancel of the sync ends the wait."""
        if delay is None:
            ceiling = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
            delay = random.uniform(ceiling / 2, ceiling)  # "equal jitter"
        self.limiter.sleep(delay)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        retry_ambiguous: bool = True,
        kind: str | None = None,
    ) -> httpx.Response:
        """A 2xx response, after retrying what may be retried; a ScimError otherwise.

        retry_ambiguous=False: a failure after the request may have reached the server
        (timeout, dropped connection, 5xx other than 503) is raised at once as an ambiguous
        ConnectError, so the caller can check what happened before repeating a create.
        kind: how the request is counted in requests_by_kind (else from method and path).
        """
        kind = kind or request_kind(method, path, params)
        url = f"{self._root}{path}"
        if self._query:  # httpx replaces a URL's query by the params: the base's go in them
            params = {**self._query, **(params or {})}
        send_headers = dict(headers or {})
        if json is not None:
            send_headers["Content-Type"] = SCIM_JSON
        attempt = throttled = 0
        begun, paced = time.monotonic(), 0.0  # paced: rate-limit waits, bounded by --deadline
        while True:
            attempt += 1
            asked = time.monotonic()
            sent_at = self.limiter.acquire()
            paced += time.monotonic() - asked
            with self._lock:
                self._count += 1
                self._kinds[kind] += 1
            started = time.monotonic()
            try:
                response = self._exchange(method, path, url, params, json, send_headers)
            except httpx.TransportError as exc:
                self.limiter.observe(None, {}, sent_at)
                ambiguous = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                reason = self._describe(exc)
                self._event(method, path, None, started, attempt, reason)
                tries, spent = attempt - throttled, time.monotonic() - begun - paced
                if not self.may_retry(tries, spent) or (ambiguous and not retry_ambiguous):
                    raise ConnectError(
                        f"{method} {path}: {reason} (after {attempt} attempt(s))", ambiguous
                    ) from None
                self.wait_before_retry(tries)
                continue
            status = response.status_code
            wait = self.limiter.observe(status, response.headers, sent_at)
            self._event(method, path, status, started, attempt)
            if status < 300:
                return response
            error = self.error_of(response)
            if status in THROTTLE_STATUSES:
                self._throttled(error, wait or 0.0)
                throttled += 1
                paced += time.monotonic() - started
                continue  # the limiter paces the retry (and pauses every worker if asked)
            spent = time.monotonic() - begun - paced
            if status not in RETRY_STATUSES or not self.may_retry(attempt - throttled, spent):
                raise error
            if not retry_ambiguous:
                raise error
            self.wait_before_retry(attempt - throttled)

    def may_retry(self, tries: int, spent: float) -> bool:
        """Whether a failed request (not a throttled one) is sent again: at most max_attempts
        times, and only while its failures have taken less than one request deadline in all,
        or once after a first attempt that ran into it. So one request waits at most twice
        the request deadline plus one backoff, however slowly a server drips its answers."""
        if tries >= self.max_attempts:
            return False
        return spent < self.request_deadline or tries == 1

    def _throttled(self, error: ScimError, wait: float) -> None:
        """A 429/503 is retried until the deadline; a wait beyond it fails now, not later."""
        if self.limiter.past_deadline(wait):
            raise RateDeadline(wait, self.limiter.deadline, error.status)

    def _send_within(self, request: httpx.Request, deadline: float) -> httpx.Response:
        """Send and wait for the answer's status and headers until the deadline, however
        slowly a server drips them (httpx bounds each read, not the whole).

        The send runs on a helper thread; past the deadline the caller gets a timeout and the
        helper closes whatever answer arrives later (closing the client ends a stuck read).
        """
        outcome: dict[str, Any] = {}
        finished = threading.Event()
        abandoned = threading.Event()

        def send() -> None:
            try:
                outcome["response"] = self._http.send(request, stream=True)
            except BaseException as exc:  # handed to the waiting caller
                outcome["error"] = exc
            finally:
                finished.set()
                if abandoned.is_set() and "response" in outcome:
                    outcome["response"].close()

        threading.Thread(target=send, name="groupmap-request", daemon=True).start()
        if not finished.wait(max(0.0, deadline - time.monotonic())):
            abandoned.set()
            if finished.is_set() and "response" in outcome:  # it arrived just now
                outcome["response"].close()
            raise httpx.ReadTimeout(
                f"no answer within the {self.request_deadline:g} s request deadline",
                request=request,
            )
        if "error" in outcome:
            raise outcome["error"]
        response: httpx.Response = outcome["response"]
        return response

    def _exchange(
        self,
        method: str,
        path: str,
        url: str,
        params: dict[str, Any] | None,
        json: Any,
        headers: dict[str, str],
    ) -> httpx.Response:
        """One request, its answer read as a stream within the deadline and the size cap."""
        deadline = time.monotonic() + self.request_deadline
        request = self._http.build_request(method, url, params=params, json=json, headers=headers)
        response = self._send_within(request, deadline)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_response_bytes:
                raise self._too_large(method, path, response.status_code)
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise self._too_large(method, path, response.status_code)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(
                        f"no complete answer within the {self.request_deadline:g} s request "
                        "deadline"
                    )
                chunks.append(chunk)
        except httpx.DecodingError:
            raise BadAnswer(
                f"{self.base_url}: {method} {path} answered a body that cannot be decoded "
                f"(Content-Encoding {response.headers.get('Content-Encoding', '')!r}): report "
                "it to the vendor",
                response.status_code,
            ) from None
        finally:
            response.close()
        headers_read = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code,
            headers=headers_read,
            content=b"".join(chunks),
            request=request,
            extensions={k: v for k, v in response.extensions.items() if k in KEPT_EXTENSIONS},
        )

    def _too_large(self, method: str, path: str, status: int) -> TooLarge:
        limit = self.max_response_bytes / 1024 / 1024
        return TooLarge(
            f"{self.base_url}: {method} {path} answered more than {limit:g} MB, the response "
            "size limit: raise it (--max-response-mb) if this server's answers are that "
            "large, or ask for smaller pages",
            status,
        )

    def _describe(self, exc: httpx.TransportError) -> str:
        if isinstance(exc, httpx.TimeoutException):
            kind = "timed out"
        elif isinstance(exc, httpx.ConnectError):
            kind = "could not connect"
        else:
            kind = "connection dropped"
        detail = self.redact(str(exc))
        return f"{kind} ({detail})" if detail else kind

    def _event(
        self,
        method: str,
        path: str,
        status: int | None,
        started: float,
        attempt: int,
        error: str = "",
    ) -> None:
        elapsed = time.monotonic() - started
        log.debug("%s %s -> %s in %.3fs (attempt %d)", method, path, status, elapsed, attempt)
        if self.on_request is not None:
            self.on_request(RequestEvent(method, path, status, elapsed, attempt, error))

    def error_of(self, response: httpx.Response) -> ScimError:
        """A SCIM Error body (RFC 7644 3.12) as an exception; any other body summarized."""
        status = response.status_code
        scim_type, detail = None, ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            scim_type = self.redact(str(body.get("scimType") or "")) or None
            detail = str(body.get("detail") or "")
        if not detail:
            detail = (response.text or response.reason_phrase or "").strip()
        # Redacted whole before ScimError cuts it short, or a cut token would show.
        detail = self.redact(detail)
        if status in (401, 403):
            return AuthError(status, scim_type, detail or "authentication refused")
        return ScimError(status, scim_type, detail)
