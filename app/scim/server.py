"""A real SCIM 2.0 server on loopback (scim2-server, in memory) to rehearse a sync safely.

Seeded from an export: each user becomes a SCIM user (userName and externalId = email,
displayName = name, active from the status) and each current group a SCIM group. Group
displayNames are unique, as most service providers make them, so a duplicate create is a 409.
"""

from __future__ import annotations

import gc
import secrets
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from scim2_models import ScimProvider, Uniqueness
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from app.core.identity import email_key
from app.core.users import UserList
from app.scim.server_listing import ListingService, ListingStorage

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
INACTIVE = ("inactive", "deactivated", "disabled", "suspended", "deleted", "false")


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the server runs inside tests, the app and `groupmap serve`.
    TCP_NODELAY: wsgiref writes the headers and the body apart, and without it the body
    waits for the client's delayed ACK (a sync through it ran twice as long)."""

    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return


def is_active(status: str) -> bool:
    return not any(word in status.strip().lower() for word in INACTIVE)


class LocalScimServer:
    """scim2-server in a thread on 127.0.0.1; `start()` returns the base URL (…/v2)."""

    def __init__(
        self,
        users: UserList | None = None,
        token: str | None = None,
        port: int = 0,
        extra_groups: dict[str, list[str]] | None = None,
        storage: InMemoryStorage | None = None,
        service_class: type[ScimService] = ListingService,
    ) -> None:
        self.token = token
        self.port = port
        self.url = ""
        self._users = users
        self._extra_groups = extra_groups or {}
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._frozen = False
        # the tests compare the Listing classes' answers with the stock ones'
        self.storage = storage if storage is not None else ListingStorage()
        schemas = load_default_schemas()
        for attribute in schemas[GROUP_URN].attributes or []:
            if attribute.name == "displayName":
                attribute.uniqueness = Uniqueness.server
        config = load_default_service_provider_config()
        if token:
            config.authentication_schemes = [
                *(config.authentication_schemes or []),
                BEARER_TOKEN_SCHEME,
            ]
        provider = ScimProvider.from_discovery(
            schemas.values(), load_default_resource_types().values(), config=config
        )
        self.service = service_class(provider, secret=secrets.token_urlsafe(32))
        self.app = BearerTokenApplication(
            self.storage, provider, service=self.service, bearer_tokens=[token] if token else []
        )
        self._seed()

    def _seed(self) -> None:
        user_type = self.service.get_resource_type("User")
        group_type = self.service.get_resource_type("Group")
        user_model = self.service.get_model(user_type)
        group_model = self.service.get_model(group_type)
        ids: dict[str, str] = {}
        members: dict[str, list[str]] = {}
        if self._users is not None:
            frame = self._users.frame
            for email, name, status, groups in zip(
                frame["email"], frame["name"], frame["status"], frame["groups"], strict=True
            ):
                key = email_key(email)
                if not key or key in ids:
                    continue
                record: dict[str, Any] = {
                    "schemas": [USER_URN],
                    "userName": email.strip(),
                    "externalId": email.strip(),
                    "active": is_active(status),
                    "emails": [{"value": email.strip(), "primary": True}],
                }
                if name.strip():
                    record["displayName"] = name.strip()
                user = self.storage.create(user_type, user_model.model_validate(record))
                ids[key] = str(user.id)
                for group in (g.strip() for g in groups.split(";")):
                    if group:
                        members.setdefault(group, []).append(ids[key])
        for group, emails in self._extra_groups.items():
            found = [ids[email_key(e)] for e in emails if email_key(e) in ids]
            members.setdefault(group, []).extend(found)
        for group, member_ids in members.items():
            record = {
                "schemas": [GROUP_URN],
                "displayName": group,
                "members": [{"value": m} for m in dict.fromkeys(member_ids)],
            }
            self.storage.create(group_type, group_model.model_validate(record))

    def start(self) -> str:
        if self._server is None:
            self._server = make_server(
                "127.0.0.1",
                self.port,
                self.app,
                server_class=ThreadingWSGIServer,
                handler_class=_QuietHandler,
            )
            self.url = f"http://127.0.0.1:{self._server.server_port}/v2"
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # stop() returns quickly
                name="scim-server",
                daemon=True,
            )
            self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        """Serve in the calling thread (for `groupmap serve`) until KeyboardInterrupt."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def freeze_seed(self) -> None:
        """Move the seeded directory out of the garbage collector's way (gc.freeze): it lives
        as long as the server, and every full collection during a request would otherwise
        walk all of it (seconds at 100,000 users, more often as requests overlap). For a
        process the server has to itself (`groupmap serve`, the bench): the freeze is the
        process's; stop() lifts it."""
        gc.collect()
        gc.freeze()
        self._frozen = True

    def stop(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> LocalScimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- inspection, for tests and the demo -------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Storage as plain data: users {id: userName}, groups {displayName: {member userNames}},
        group_counts {displayName: how many groups carry it}, attributes {userName: user dict}."""
        users: dict[str, str] = {}
        groups: dict[str, set[str]] = {}
        counts: dict[str, int] = {}
        attributes: dict[str, dict[str, Any]] = {}
        resources = self.storage.resources
        for resource in resources:
            data = resource.model_dump()
            if "userName" in data:
                users[str(data["id"])] = data["userName"]
                attributes[data["userName"]] = data
        for resource in resources:
            data = resource.model_dump()
            if "userName" not in data:
                names = {users.get(m["value"], m["value"]) for m in data.get("members") or []}
                groups.setdefault(data["displayName"], set()).update(names)
                counts[data["displayName"]] = counts.get(data["displayName"], 0) + 1
        return {"users": users, "groups": groups, "group_counts": counts, "attributes": attributes}
