"""A fake Microsoft identity platform for the Entra sign-in tests, written from Microsoft's
documentation (learn.microsoft.com: "OpenID Connect on the Microsoft identity platform",
"OAuth 2.0 client credentials flow", "OAuth 2.0 device authorization grant", "Microsoft
Entra authentication and authorization error codes") and RFC 8628, not from GroupMap's client:

- https only (a test CA made with trustme; the tests trust it through $SSL_CERT_FILE).
- GET /{tenant}/v2.0/.well-known/openid-configuration: the endpoints; an unknown tenant is
  400 AADSTS90002.
- POST /{tenant}/oauth2/v2.0/devicecode (client_id, scope): device_code, user_code,
  verification_uri, expires_in, interval, message; an unknown app is 400 AADSTS700016.
- POST /{tenant}/oauth2/v2.0/token:
  - client_credentials: the secret in the body (or HTTP Basic); a wrong one is 401
    invalid_client AADSTS7000215; the scope must be a resource's `/.default`.
  - urn:ietf:params:oauth:grant-type:device_code: `answers` says what each poll gets
    (authorization_pending, slow_down, authorization_declined, expired_token) until the admin
    signed in; a device code never issued is bad_verification_code; a poll sooner than the
    interval after the code was issued or the last poll is slow_down (RFC 8628 3.5), the
    interval then 5 s longer;
    an app without public client flows is 401 invalid_client AADSTS7000218.
  Errors are `{"error", "error_description", "error_codes", "timestamp", "trace_id",
  "correlation_id"}`.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
import trustme

TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
MINTED = "minted-graph-token"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DESCRIPTIONS = {
    "authorization_pending": "AADSTS70016: OAuth 2.0 device flow error. Authorization is "
    "pending. Continue polling.",
    "slow_down": "AADSTS70016: OAuth 2.0 device flow error. Slow down.",
    "authorization_declined": "AADSTS70000: The user declined the sign-in.",
    "expired_token": "AADSTS70019: Verification code expired.",
    "bad_verification_code": "AADSTS70000: The provided value for the 'device_code' is not "
    "valid.",
}


class FakeLogin:
    def __init__(self, ca: trustme.CA, secret: str = "", *,
                 answers: tuple[str, ...] = ("authorization_pending",) * 2,
                 public_flows: bool = True, clock: Any = None) -> None:
        self.secret = secret
        self.answers = list(answers)
        self.public_flows = public_flows
        self.clock = clock  # when given: polls sooner than the interval are slow_down
        self.interval = 5
        self.forms: list[dict[str, str]] = []
        self.gets: list[str] = []
        self._devices: set[str] = set()
        self._last_poll: float | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # each answer leaves at once, not after a delayed ACK

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.gets.append(self.path)
                self._send(*owner.discovery(urlsplit(self.path).path))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers["Content-Length"])
                form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                basic = self.headers.get("Authorization", "")
                if basic.startswith("Basic "):  # RFC 6749 2.3.1: both parts form-encoded
                    user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
                    form.setdefault("client_id", unquote_plus(user))
                    form.setdefault("client_secret", unquote_plus(password))
                owner.forms.append({"path": self.path, **form})
                self._send(*owner.answer(self.path, form))

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._httpd.server_port}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def polls(self) -> list[dict[str, str]]:
        return [f for f in self.forms if f.get("grant_type") == DEVICE_GRANT]

    @staticmethod
    def error(status: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
        code = int(description.split(":")[0].removeprefix("AADSTS"))
        return status, {"error": error, "error_description": description, "error_codes": [code],
                        "timestamp": "2026-12-07 10:00:00Z", "trace_id": str(uuid.uuid4()),
                        "correlation_id": str(uuid.uuid4())}

    def discovery(self, path: str) -> tuple[int, dict[str, Any]]:
        tenant = path.split("/")[1]
        if path != f"/{tenant}/v2.0/.well-known/openid-configuration":
            return self.error(404, "invalid_request", "AADSTS900561: The endpoint only accepts "
                              "POST requests.")
        if tenant != TENANT:
            return self.error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not "
                              "found. Check to make sure you have the correct tenant ID.")
        oauth = f"{self.url}/{tenant}/oauth2/v2.0"
        return 200, {
            "token_endpoint": f"{oauth}/token",
            "authorization_endpoint": f"{oauth}/authorize",
            "device_authorization_endpoint": f"{oauth}/devicecode",
            "issuer": f"{self.url}/{uuid.UUID(int=7)}/v2.0",
            "jwks_uri": f"{self.url}/{tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                      "private_key_jwt", "client_secret_basic"],
        }

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != CLIENT_ID:
            return self.error(400, "unauthorized_client", f"AADSTS700016: Application with "
                              f"identifier '{form.get('client_id')}' was not found in the "
                              f"directory '{TENANT}'.")
        if path == f"/{TENANT}/oauth2/v2.0/devicecode":
            device = "dc-" + uuid.uuid4().hex
            self._devices.add(device)
            self._last_poll = self.clock.time() if self.clock is not None else None
            return 200, {"user_code": "FGH7QK9XW", "device_code": device,
                         "verification_uri": "https://microsoft.com/devicelogin",
                         "expires_in": 900, "interval": self.interval,
                         "message": "To sign in, use a web browser to open the page "
                         "https://microsoft.com/devicelogin and enter the code FGH7QK9XW to "
                         "authenticate."}
        if path != f"/{TENANT}/oauth2/v2.0/token":
            return self.error(404, "invalid_request", "AADSTS90056: The resource is disabled "
                              "or does not exist.")
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if not form.get("scope", "").endswith("/.default"):
                return self.error(400, "invalid_scope", "AADSTS1002012: The provided value "
                                  "for scope is not valid. Client credential flows must have "
                                  "a scope value with /.default suffixed to the resource "
                                  "identifier.")
            if form.get("client_secret") != self.secret:
                return self.error(401, "invalid_client", "AADSTS7000215: Invalid client "
                                  "secret provided. Ensure the secret being sent in the "
                                  "request is the client secret value, not the client secret "
                                  f"ID, for a secret added to app '{CLIENT_ID}'.")
            return 200, self.token()
        if grant == DEVICE_GRANT:
            return self.poll(form)
        return self.error(400, "unsupported_grant_type", "AADSTS70003: The app requested an "
                          "unsupported grant type.")

    def poll(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if not self.public_flows:
            return self.error(401, "invalid_client", "AADSTS7000218: The request body must "
                              "contain the following parameter: 'client_assertion' or "
                              "'client_secret'.")
        if form.get("device_code") not in self._devices:
            return self.error(400, "bad_verification_code",
                              DESCRIPTIONS["bad_verification_code"])
        if self.clock is not None:
            now = self.clock.time()
            too_soon = self._last_poll is not None and now - self._last_poll < self.interval
            self._last_poll = now
            if too_soon:
                self.interval += 5
                return self.error(400, "slow_down", DESCRIPTIONS["slow_down"])
        try:  # a test may clear the answers meanwhile (the admin signing in)
            error = self.answers.pop(0)
        except IndexError:
            error = None
        if error is not None:
            if error == "slow_down":
                self.interval += 5
            return self.error(400, error, DESCRIPTIONS[error])
        return 200, self.token()

    @staticmethod
    def token() -> dict[str, Any]:
        return {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                "access_token": MINTED}


@pytest.fixture
def login(monkeypatch, tmp_path: Path) -> Iterator[Callable[..., FakeLogin]]:
    """Factory: a started FakeLogin whose test CA this process trusts ($SSL_CERT_FILE, which
    httpx reads), stopped after the test."""
    ca = trustme.CA()
    bundle = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    made: list[FakeLogin] = []

    def make(*args: Any, **kwargs: Any) -> FakeLogin:
        server = FakeLogin(ca, *args, **kwargs)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()
