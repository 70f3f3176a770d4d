"""Fake identity providers for the live-source tests, written from the vendors' published
API documentation (not from GroupMap's client):

- Microsoft Graph `GET /v1.0/users` (learn.microsoft.com: "List users", "Paging Microsoft
  Graph data", "Use query parameters", "Throttling", "Error responses"): only the default
  properties without `$select`; `$top` 1..999 (default 100); `$skip` refused; an absolute
  `@odata.nextLink` carrying `$skiptoken` and the original parameters; 429 with Retry-After
  in seconds, and a request before the wait is over refused again; errors as
  `{"error": {"code", "message", "innerError"}}`; 401 InvalidAuthenticationToken,
  403 Authorization_RequestDenied.
- Okta `GET /api/v1/users` (developer.okta.com: Users API listUsers, Pagination, Rate
  limits, Error codes): `SSWS` or `Bearer` tokens; DEPROVISIONED users left out; `limit`
  at most 200; `Link` headers rel="self" and, on a full page, rel="next" with an `after`
  cursor (so a list ending on a page boundary ends with an empty page); X-Rate-Limit-*
  headers on every answer, 429 E0000047 without Retry-After past the limit; errors as
  `{"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}`.
"""

from __future__ import annotations

import email.utils
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

import app.sources.http as source_http
from app.scim.http.transport import Transport

GRAPH_TOKEN = "eyJ0eXAiOiJKV1QiLCJub25jZSI6Im.graph-secret-9f8e7d6c.sig"
OKTA_TOKEN = "00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcd"
GRAPH_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail",
                 "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                 "userPrincipalName", "id")


class Clock:
    """Time that passes only when a test's client waits."""

    def __init__(self) -> None:
        self.t = 1_800_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 answering with `self.answer(handler)`."""

    def __init__(self, clock: Clock, date_offset: float = 0.0) -> None:
        self.clock = clock
        self.date_offset = date_offset  # how far the server's clock is ahead of the test's
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # each answer leaves at once, not after a delayed ACK

            def date_time_string(self, timestamp: float | None = None) -> str:
                """The Date header, by the server's clock (the test's, offset)."""
                return email.utils.formatdate(owner.now(), usegmt=True)

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                owner.requests.append({"path": parts.path, "query": query,
                                       "auth": self.headers.get("Authorization", "")})
                status, headers, body = owner.answer(parts.path, query,
                                                     self.headers.get("Authorization", ""))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    for one in value if isinstance(value, list) else [value]:
                        self.send_header(name, one)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def now(self) -> float:
        return self.clock.time() + self.date_offset

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, path: str, query: dict[str, str], auth: str) -> tuple[int, dict, object]:
        raise NotImplementedError


class FakeGraph(_Server):
    def __init__(self, users: list[dict[str, Any]], token: str, clock: Clock, *,
                 throttle: int = 0, retry_after: int = 3, refuse: str = "",
                 page_cap: int = 999) -> None:
        super().__init__(clock)
        self.users = users
        self.token = token
        self.throttle = throttle  # answer this many requests 429 first
        self.retry_after = retry_after
        self.refuse = refuse  # "permission": 403 Authorization_RequestDenied
        self.page_cap = page_cap  # server-side paging: fewer than $top a page
        self._blocked_until = 0.0
        self._cursors: dict[str, int] = {}

    @staticmethod
    def error(status: int, code: str, message: str,
              headers: dict[str, str] | None = None) -> tuple[int, dict, object]:
        inner = {"date": "2026-12-07T10:00:00", "request-id": str(uuid.uuid4()),
                 "client-request-id": str(uuid.uuid4())}
        return status, headers or {}, {"error": {"code": code, "message": message,
                                                 "innerError": inner}}

    def answer(self, path: str, query: dict[str, str], auth: str) -> tuple[int, dict, object]:
        if auth != f"Bearer {self.token}":
            return self.error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if self.refuse == "permission":
            return self.error(403, "Authorization_RequestDenied",
                              "Insufficient privileges to complete the operation.")
        if path != "/v1.0/users":
            return self.error(404, "Request_ResourceNotFound", f"Resource '{path}' does not exist")
        if self.throttle or self.clock.time() < self._blocked_until:
            self.throttle = max(self.throttle - 1, 0)
            self._blocked_until = self.clock.time() + self.retry_after
            return self.error(429, "TooManyRequests", "Too many requests.",
                              {"Retry-After": str(self.retry_after)})
        if "$skip" in query:
            return self.error(400, "Request_BadRequest",
                              "'$skip' is not supported by the service.")
        top = int(query.get("$top", "100"))
        if not 1 <= top <= 999:
            return self.error(400, "Request_BadRequest",
                              f"Invalid page size specified: '{top}'. Must be between 1 and "
                              "999 inclusive.")
        top = min(top, self.page_cap)
        start = self._cursors.get(query.get("$skiptoken", ""), 0)
        if query.get("$skiptoken") and query["$skiptoken"] not in self._cursors:
            return self.error(400, "Directory_ExpiredPageToken",
                              "The specified page token value has expired.")
        selected = query["$select"].split(",") if "$select" in query else list(GRAPH_DEFAULT)
        page = [{k: u.get(k) for k in selected} for u in self.users[start:start + top]]
        body: dict[str, Any] = {
            "@odata.context": f"{self.url}/v1.0/$metadata#users",
            "value": page,
        }
        if start + top < len(self.users):
            token = uuid.uuid4().hex
            self._cursors[token] = start + top
            rest = {k: v for k, v in query.items() if k != "$skiptoken"}
            body["@odata.nextLink"] = (
                f"{self.url}/v1.0/users?{urlencode({**rest, '$skiptoken': token})}"
            )
        return 200, {}, body


def graph_user(i: int, **extra: Any) -> dict[str, Any]:
    """A user as Graph's user resource documents it; extension attributes all present."""
    user: dict[str, Any] = {
        "id": str(uuid.UUID(int=i)),
        "displayName": f"User {i}",
        "mail": f"user{i}@contoso.com",
        "userPrincipalName": f"user{i}@contoso.onmicrosoft.com",
        "accountEnabled": True,
        "department": None,
        "jobTitle": None,
        "onPremisesExtensionAttributes": {f"extensionAttribute{n}": None for n in range(1, 16)},
    }
    user.update(extra)
    return user


class FakeOkta(_Server):
    def __init__(self, users: list[dict[str, Any]], token: str, clock: Clock, *,
                 rate_limit: int = 600, refuse: str = "", used_elsewhere: int = 0,
                 date_offset: float = 0.0) -> None:
        super().__init__(clock, date_offset)
        self.users = users
        self.token = token
        self.rate_limit = rate_limit
        self.refuse = refuse
        self.used_elsewhere = used_elsewhere  # the first window's requests other apps spent
        self.answered: list[tuple[float, int]] = []  # (clock time, status) of each request
        self._window_reset = 0.0
        self._used = 0

    def _rate_headers(self) -> dict[str, str]:
        if self.now() >= self._window_reset:  # the window is on the server's clock
            self._window_reset = int(self.now()) + 60
            self._used, self.used_elsewhere = self.used_elsewhere, 0
        return {"X-Rate-Limit-Limit": str(self.rate_limit),
                "X-Rate-Limit-Remaining": str(max(self.rate_limit - self._used, 0)),
                "X-Rate-Limit-Reset": str(int(self._window_reset))}

    @staticmethod
    def error(status: int, code: str, summary: str,
              headers: dict[str, str]) -> tuple[int, dict, object]:
        return status, headers, {"errorCode": code, "errorSummary": summary,
                                 "errorLink": code, "errorId": uuid.uuid4().hex,
                                 "errorCauses": []}

    def answer(self, path: str, query: dict[str, str], auth: str) -> tuple[int, dict, object]:
        status, headers, body = self._answer(path, query, auth)
        self.answered.append((self.clock.time(), status))
        return status, headers, body

    def _answer(self, path: str, query: dict[str, str], auth: str) -> tuple[int, dict, object]:
        headers = self._rate_headers()
        if self._used >= self.rate_limit:
            return self.error(429, "E0000047", "API call exceeded rate limit due to too many "
                              "requests.", headers)
        self._used += 1
        headers = {**headers, "X-Rate-Limit-Remaining": str(self.rate_limit - self._used)}
        if auth not in (f"SSWS {self.token}", f"Bearer {self.token}"):
            return self.error(401, "E0000011", "Invalid token provided", headers)
        if self.refuse == "permission":
            return self.error(403, "E0000006", "You do not have permission to perform the "
                              "requested action", headers)
        if path != "/api/v1/users":
            return self.error(404, "E0000022", "The endpoint does not support the provided "
                              "HTTP method", headers)
        listed = [u for u in self.users if u["status"] != "DEPROVISIONED"]
        limit = min(int(query.get("limit", "200")), 200)
        after = query.get("after")
        start = next((i + 1 for i, u in enumerate(listed) if u["id"] == after), 0)
        page = listed[start:start + limit]
        base = f"{self.url}/api/v1/users"
        links = [f'<{base}?{urlencode({"limit": limit})}>; rel="self"']
        if len(page) == limit:  # a full page: more may follow
            cursor = urlencode({"after": page[-1]["id"], "limit": limit})
            links.append(f'<{base}?{cursor}>; rel="next"')
        return 200, {**headers, "Link": links}, page  # one Link header per relation


def okta_user(i: int, status: str = "ACTIVE", **profile: Any) -> dict[str, Any]:
    return {
        "id": f"00u{i:017d}",
        "status": status,
        "created": "2026-01-01T00:00:00.000Z",
        "profile": {"firstName": "User", "lastName": str(i), "email": f"user{i}@example.com",
                    "login": f"user{i}@example.com", **profile},
        "_links": {"self": {"href": f"https://example.okta.com/api/v1/users/00u{i:017d}"}},
    }


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The sources wait and tell the time by this clock (no real waiting)."""
    clock = Clock()
    monkeypatch.setattr(source_http, "pause", clock.sleep)
    monkeypatch.setattr(source_http, "now", clock.time)
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)
    return clock


@pytest.fixture
def servers() -> Iterator[list]:
    """The fake servers a test started (with `started`), stopped after it."""
    running: list = []
    yield running
    for server in running:
        server.stop()


def started(servers: list, server: Any) -> Any:
    server.start()
    servers.append(server)
    return server
