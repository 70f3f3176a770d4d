"""A hostile identity provider for the attacks on the live sources (issue 26): http.server in
a thread answering each GET (and POST, as a webhook) with what the test's `answer` says,
written from the vendors' documentation (Graph: `value`, `@odata.nextLink`, `Retry-After` on
429/503, errors as `{"error": {"code", "message"}}`; Okta: a JSON array, `Link: <…>;
rel="next"`, `X-Rate-Limit-*`, errors as `{"errorCode", "errorSummary"}`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

GRAPH_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.graph-secret-4b1d.sig"
OKTA_SECRET = "00okta-api-token-9f8e7d6c5b4a"

Answer = tuple[int, dict[str, str], object]


class Hostile:
    """An identity provider answering each GET with `answer(self, path)`: status, headers and
    a JSON body (bytes are sent as they are). Records each path and Authorization header."""

    def __init__(self, answer: Callable[[Hostile, str], Answer]) -> None:
        self.seen: list[tuple[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # each answer leaves at once, not after a delayed ACK

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.seen.append((self.path, self.headers.get("Authorization", "")))
                status, headers, body = answer(owner, self.path)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 (a webhook's answer)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile() -> Iterator[Callable[[Callable[[Hostile, str], Answer]], Hostile]]:
    made: list[Hostile] = []

    def make(answer: Callable[[Hostile, str], Answer]) -> Hostile:
        made.append(Hostile(answer))
        return made[-1]

    yield make
    for server in made:
        server.close()


def graph_user(i: int, department: str = "Sales", **more: Any) -> dict[str, Any]:
    return {"id": f"id-{i}", "mail": f"user{i:05d}@ex.com", "userPrincipalName":
            f"user{i:05d}@ex.onmicrosoft.com", "displayName": f"User {i}",
            "accountEnabled": True, "department": department, **more}


def throttled_once(first: Answer, users: list[dict[str, Any]]) -> Callable[[Hostile, str], Answer]:
    """Answers `first`, then the users."""

    def answer(server: Hostile, path: str) -> Answer:
        return first if len(server.seen) == 1 else (200, {}, {"value": users})

    return answer
