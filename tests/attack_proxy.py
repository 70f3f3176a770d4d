"""A hostile proxy for the read attacks (tests/test_attack_reads.py): it forwards every
request to a real SCIM server and lets one `twist` rewrite the JSON answers of reads.

A twist sees each GET answer (method, path, query, the upstream's JSON body, and the proxy
for shared state) and returns the body to send, or (status, body) to answer otherwise. It is
called from several threads at once (the proxy serves requests concurrently), so twists keep
their own state under `proxy.lock`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from tests.scim_proxy import FaultProxy

Twist = Callable[["AttackProxy", str, dict[str, str], Any], Any]


@dataclass
class AttackProxy:
    upstream: str
    twist: Twist | None = None
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._http = httpx.Client(timeout=60)
        self._prefix = urlsplit(self.upstream).path.rstrip("/")
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

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

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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

    def forward(self, method: str, path: str, query: dict[str, str], auth: str) -> Any:
        """The upstream's JSON answer to a GET (for twists that need another page)."""
        url = f"{self.upstream}{path}" + (f"?{urlencode(query)}" if query else "")
        return self._http.request(method, url, headers={"Authorization": auth}).json()

    def count(self, method: str, prefix: str) -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.requests if m == method and p.startswith(prefix))

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        path = split.path[len(self._prefix):] if split.path.startswith(self._prefix) else split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        with self.lock:
            self.requests.append((h.command, path, query))
        self._answer(h, path, query, raw)

    def _answer(self, h: BaseHTTPRequestHandler, path: str, query: dict[str, str],
                raw: bytes) -> None:
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() in ("authorization", "if-match", "accept", "content-type")}
        self.state["auth"] = h.headers.get("Authorization", "")
        url = f"{self.upstream}{path}" + (f"?{urlencode(query)}" if query else "")
        response = self._http.request(h.command, url, headers=headers, content=raw or None)
        status, content = response.status_code, response.content
        out = {"Content-Type": response.headers.get("Content-Type", "application/scim+json")}
        if response.headers.get("ETag"):
            out["ETag"] = response.headers["ETag"]
        if h.command == "GET" and status == 200 and self.twist is not None:
            answer = self.twist(self, path, query, response.json())
            if isinstance(answer, tuple):
                status, answer = answer
                out.update(answer.pop("_headers", {}) if isinstance(answer, dict) else {})
            content = json.dumps(answer).encode()
        FaultProxy._send(h, status, content, out)
