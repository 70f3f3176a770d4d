"""An incoming-webhook receiver for `--notify` tests: http.server in a thread that records
each JSON post and answers a status, or hangs until the test ends (a webhook that never
answers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Webhook:
    """Records each JSON post in `posts`; answers `status`, or never when `hang`."""

    def __init__(self, status: int = 200, hang: bool = False) -> None:
        self.posts: list[dict] = []
        self.release = threading.Event()  # a hanging receiver answers once the test ends
        owner = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # each answer leaves at once, not after a delayed ACK

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.posts.append(json.loads(body))
                if hang:
                    owner.release.wait()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook/T000/B000/XXXX"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Callable[..., Webhook]]:
    """Make receivers: webhook(), webhook(status=500), webhook(hang=True)."""
    made: list[Webhook] = []

    def make(status: int = 200, hang: bool = False) -> Webhook:
        made.append(Webhook(status, hang))
        return made[-1]

    yield make
    for hook in made:
        hook.close()
