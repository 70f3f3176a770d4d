"""A fault-injecting HTTP proxy in front of a real SCIM server, for tests.

At a set rate it answers 429 (with Retry-After), 500 or 503 without forwarding, or forwards
and then hangs past the client's timeout, resets the connection, or cuts the body short
(the write went through, the answer is lost). Quirk modes mimic service providers:
PATCH answered 200 with the resource, lists without totalResults, filters ignored, the RFC
remove path refused (only Entra's value array accepted), pages capped, POST /Groups ignoring
members, no PATCH, no bulk, no ETags, no filtering, `eq` filters compared case-sensitively, a web
page answering 200 to everything (a URL that is not the SCIM base). Every request is recorded
(method, path, query, body).
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

FAULTS = ("429", "500", "503", "hang", "reset", "truncate")
QUIRKS = frozenset(
    {
        "patch_200",
        "filter_ignored",
        "reject_filter_remove",
        "post_ignores_members",
        "no_patch",
        "no_filter",
        "no_bulk",
        "no_etag",
        "no_total",
        "case_exact_filter",
        "web_page",
    }
)
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    fault: str = ""
    if_match: str = ""  # the request's If-Match header


@dataclass
class FaultProxy:
    upstream: str  # the real server's base URL, e.g. http://127.0.0.1:1234/v2
    fault_rate: float = 0.0
    faults: tuple[str, ...] = FAULTS
    fault_methods: tuple[str, ...] = ("GET", "POST", "PATCH", "PUT", "DELETE")
    quirks: frozenset[str] = frozenset()
    page_cap: int | None = None
    retry_after: str = "0"
    hang_seconds: float = 1.5
    seed: int = 1
    refuse: Callable[[Recorded], tuple | None] | None = None  # (status, detail[, hdrs, scimType])
    records: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = set(self.quirks) - QUIRKS
        if unknown:
            raise ValueError(f"unknown quirks {unknown}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=60)
        self._server: ThreadingHTTPServer | None = None
        self.url = ""
        self._prefix = urlsplit(self.upstream).path.rstrip("/")

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> str:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # each answer leaves at once, not after a delayed ACK

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                proxy._handle(self)

            do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # clients that time out and go away are part of the game

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}{self._prefix}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._http.close()

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- inspection ----------------------------------------------------------------------

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        with self._lock:
            return sum(
                1
                for r in self.records
                if (method is None or r.method == method) and r.path.startswith(path_prefix)
            )

    def writes(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.records if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    def reset_records(self) -> None:
        with self._lock:
            self.records.clear()

    # --- handling ------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        path = (
            split.path[len(self._prefix) :] if split.path.startswith(self._prefix) else split.path
        )
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        body = json.loads(raw) if raw else None
        with self._lock:
            fault = ""
            if h.command in self.fault_methods and self._rng.random() < self.fault_rate:
                fault = self._rng.choice(self.faults)
            record = Recorded(
                h.command, path, dict(query), body, fault, h.headers.get("If-Match", "")
            )
            self.records.append(record)
        if fault in ("429", "500", "503"):
            headers = {"Retry-After": self.retry_after} if fault != "500" else {}
            return self._error(h, int(fault), "injected fault", headers=headers)
        if self.refuse is not None and (refused := self.refuse(record)) is not None:
            return self._error(h, *refused)
        if "web_page" in self.quirks:
            page = b"<!doctype html><html><body>Welcome! Please sign in.</body></html>"
            return self._send(h, 200, page, {"Content-Type": "text/html; charset=utf-8"})
        quirk_answer = self._quirk_request(h, path, query, body)
        if quirk_answer is not None:
            return self._error(h, *quirk_answer)
        path, query, body = self._rewrite(h.command, path, query, body)
        headers = {
            k: v
            for k, v in h.headers.items()
            if k.lower() in ("authorization", "if-match", "accept")
        }
        url = f"{self.upstream}{path}" + (f"?{urlencode(query)}" if query else "")
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/scim+json"
        response = self._http.request(h.command, url, headers=headers, content=content)
        status, content, out_headers = self._quirk_response(h, path, response)
        if "case_exact_filter" in self.quirks and "filter" in query and status == 200:
            content = self._case_exact(query["filter"], content)
        if fault == "hang":
            time.sleep(self.hang_seconds)
            return self._drop(h, reset=False)
        if fault == "reset":
            return self._drop(h, reset=True)
        self._send(h, status, content, out_headers, truncate=fault == "truncate")

    def _quirk_request(self, h, path, query, body) -> tuple[int, str] | None:
        q = self.quirks
        if h.command == "PATCH" and "no_patch" in q:
            return 501, "PATCH is not supported"
        if "no_filter" in q and "filter" in query:
            return 400, "filtering is not supported"
        if h.command == "PATCH" and "reject_filter_remove" in q and isinstance(body, dict):
            for op in body.get("Operations") or []:
                if str(op.get("op")).lower() == "remove" and "[" in str(op.get("path", "")):
                    return 400, "remove must carry a value array"
        return None

    def _rewrite(self, method, path, query, body):
        q = self.quirks
        if "filter_ignored" in q:
            query.pop("filter", None)
        if self.page_cap and "count" in query:
            query["count"] = str(min(int(query["count"]), self.page_cap))
        if method == "POST" and path == "/Groups" and "post_ignores_members" in q:
            body = {k: v for k, v in body.items() if k != "members"}
        if method == "PATCH" and "reject_filter_remove" in q and isinstance(body, dict):
            operations = []
            for op in body.get("Operations") or []:
                if str(op.get("op")).lower() == "remove" and isinstance(op.get("value"), list):
                    operations += [
                        {"op": "remove", "path": f'members[value eq "{v["value"]}"]'}
                        for v in op["value"]
                    ]
                else:
                    operations.append(op)
            body = {**body, "Operations": operations}
        return path, query, body

    def _quirk_response(self, h, path, response: httpx.Response):
        status, content = response.status_code, response.content
        headers = {"Content-Type": response.headers.get("Content-Type", "application/scim+json")}
        if response.headers.get("ETag"):
            headers["ETag"] = response.headers["ETag"]
        q = self.quirks
        if (
            path == "/ServiceProviderConfig"
            and status == 200
            and q
            & {
                "no_patch",
                "no_filter",
                "no_bulk",
                "no_etag",
            }
        ):
            config = response.json()
            if "no_patch" in q:
                config["patch"] = {"supported": False}
            if "no_filter" in q:
                config["filter"] = {"supported": False, "maxResults": 0}
            if "no_bulk" in q:
                config["bulk"] = {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}
            if "no_etag" in q:
                config["etag"] = {"supported": False}
            content = json.dumps(config).encode()
        if h.command == "GET" and status == 200 and "no_total" in q:
            listing = json.loads(content)
            if "Resources" in listing or "totalResults" in listing:
                listing.pop("totalResults", None)
                content = json.dumps(listing).encode()
        if h.command == "PATCH" and status == 204 and "patch_200" in q:
            auth = (
                {"Authorization": h.headers["Authorization"]}
                if h.headers.get("Authorization")
                else {}
            )
            fresh = self._http.get(f"{self.upstream}{path}", headers=auth)
            status, content = 200, fresh.content
        return status, content, headers

    @staticmethod
    def _case_exact(filter_text: str, content: bytes) -> bytes:
        """Keep only resources whose attribute equals the `attr eq "value"` filter exactly."""
        attribute, _, literal = filter_text.partition(" eq ")
        wanted = json.loads(literal)
        listing = json.loads(content)

        def values(resource: dict[str, Any]) -> list[Any]:
            if attribute == "emails.value":
                return [e.get("value") for e in resource.get("emails") or []]
            return [resource.get(attribute)]

        kept = [r for r in listing.get("Resources") or [] if wanted in values(r)]
        return json.dumps({**listing, "Resources": kept, "totalResults": len(kept)}).encode()

    def _error(
        self,
        h,
        status: int,
        detail: str,
        headers: dict[str, str] | None = None,
        scim_type: str | None = None,
    ) -> None:
        error = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
        if scim_type:
            error["scimType"] = scim_type
        body = json.dumps(error)
        self._send(
            h, status, body.encode(), {"Content-Type": "application/scim+json", **(headers or {})}
        )

    @staticmethod
    def _send(
        h, status: int, content: bytes, headers: dict[str, str], truncate: bool = False
    ) -> None:
        h.send_response_only(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(content) + (64 if truncate else 0)))
        h.end_headers()
        h.wfile.write(content[: len(content) // 2] if truncate else content)
        h.wfile.flush()
        if truncate:
            FaultProxy._drop(h, reset=False)

    @staticmethod
    def _drop(h, reset: bool) -> None:
        h.close_connection = True
        sock: socket.socket = h.connection
        try:
            if reset:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
