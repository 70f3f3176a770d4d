"""A small fake SCIM server (WSGI, in memory) that misbehaves in exactly one way per mode.

The real scim2-server (tests/scim_fixtures.py) is the reference for correct behaviour; this
one exists to be wrong on purpose, as real vendors are. Mode "" behaves correctly, so every
hostile test can also be run against a fake that does not misbehave. Every request is
recorded (method, raw path, query, body); `groups_of()` and `members()` show the final state.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl, quote, unquote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

MODES = {
    "": "a correct server",
    "value_remove_empties": "refuses members[value eq] (400 invalidPath) and reads the value "
    "array removal as 'remove every member'",
    "put_only_no_members": "no PATCH; GET /Groups/{id} leaves `members` out",
    "put_only_capped": "no PATCH; GET /Groups/{id} lists at most `cap` members",
    "list_capped": "GET /Groups (the list) shows at most `cap` members per group",
    "single_capped": "GET /Groups/{id} shows at most `cap` members (the list all of them)",
    "members_on_request": "`members` only where `attributes` names it (list and single "
    "reads), as its /Schemas says (returned: request)",
    "members_never": "/Schemas says `members` is returned never, list and single reads leave "
    "it out, and users carry no `groups`: nothing witnesses who is in a group",
    "members_never_user_groups": "as members_never, but users carry `groups` (every "
    "membership is seen from the users' side)",
    "slow": "every answer comes `lag` seconds late",
    "ref_members": "members carry only `$ref` (.../Users/<id>), no `value`",
    "out_of_order": "list pages after the first two answer `lag` seconds late (arrive last)",
    "short_page": "the list page at the second start holds half of what was asked",
    "slow_index": "POST /Groups creates the group but answers 500; new groups show in "
    "GET /Groups only `lag` seconds later",
    "case_exact_filter": "filters compare userName and emails case-exactly",
    "filter_400": "a filter on emails.value is answered 400",
    "ignore_start_index": "every page is the first page",
    "endless_pages": "no totalResults; every page holds new users, forever",
    "endless_groups": "no totalResults; every group page holds new groups, forever",
    "no_total": "list answers leave totalResults out (pages otherwise right)",
    "drip": "answers dripped one byte every `drip` seconds",
    "huge": "GET /Users answers `huge` bytes, without Content-Length",
    "long_error": "every write is answered 400 with a 2 MB detail",
    "echo_token": "every write is answered 400 echoing the token (detail, scimType, reason)",
    "echo_token_text": "every write is answered 400 with a text body echoing the token",
    "echo_token_reason": "every write is answered 400, no body, the token in the reason phrase",
    "echo_token_success": "every PATCH is answered 200 with a SCIM Error echoing the token",
    "total_as_digits": 'totalResults written as a string of digits ("3")',
    "created_members_string": "POST /Groups answers `members` as a string",
    "bad_encoding": "answers claim Content-Encoding gzip but are plain",
    "spc_list": "/ServiceProviderConfig is a list",
    "max_results_text": "filter.maxResults is text",
    "resources_object": "`Resources` is an object",
    "id_missing": "users have no `id`",
    "groups_string": "a user's `groups` is a string",
    "groups_entry_string": "a user's `groups` holds strings, not objects",
}
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients that give up (deadline, size cap) are part of the game


class _Handler(WSGIRequestHandler):
    disable_nagle_algorithm = True  # each answer leaves at once, not after a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        return

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["RAW_PATH"] = self.path.split("?", 1)[0]  # PATH_INFO is already decoded
        return environ


@dataclass
class FakeScim:
    mode: str = ""
    token: str | None = None
    cap: int = 2
    lag: float = 0.5
    drip: float = 0.2
    huge: int = 3 * 1024 * 1024
    user_groups: bool = True  # False: users carry no `groups` attribute
    retry_after: str = ""  # set: every write is answered 429 with this Retry-After
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}")
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self.url = ""

    # --- seeding and inspection ----------------------------------------------------------

    def add_user(self, user_name: str, emails: list[str] | None = None, id: str = "") -> str:
        user_id = id or uuid.uuid4().hex[:12]
        emails = [user_name] if emails is None else emails
        self.users[user_id] = {
            "id": user_id,
            "userName": user_name,
            "externalId": user_name,
            "emails": [{"value": e} for e in emails],
        }
        return user_id

    def add_group(self, name: str, members: list[str] | tuple[str, ...] = (), id: str = "") -> str:
        group_id = id or uuid.uuid4().hex[:12]
        self.groups[group_id] = {"id": group_id, "displayName": name, "members": list(members)}
        self.groups[group_id]["created"] = 0.0
        return group_id

    def members(self, group_id: str) -> set[str]:
        """The userNames in a group (its final state, for assertions)."""
        return {self.users[m]["userName"] for m in self.groups[group_id]["members"]}

    def groups_named(self, name: str) -> list[str]:
        return [g["id"] for g in self.groups.values() if g["displayName"] == name]

    def writes(self) -> list[tuple[str, str, dict[str, str], Any]]:
        return [r for r in self.records if r[0] != "GET"]

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> str:
        self._server = make_server(
            "127.0.0.1", 0, self, server_class=_Server, handler_class=_Handler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}/v2"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        method = environ["REQUEST_METHOD"]
        raw = environ["RAW_PATH"].removeprefix("/v2")
        segments = [unquote(s) for s in raw.split("/") if s]
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length)) if length else None
        with self._lock:
            self.records.append((method, raw, query, body))
            if self.token and environ.get("HTTP_AUTHORIZATION") != f"Bearer {self.token}":
                status, answer = 401, _error(401, "no or wrong token")
            else:
                status, answer = self._route(method, segments, query, body)
        if self.mode == "out_of_order" and 1 < int(query.get("startIndex", 1)) <= 201:
            time.sleep(self.lag)  # outside the lock: the later pages overtake these
        if self.mode == "slow":
            time.sleep(self.lag)
        return self._send(start_response, status, answer)

    def _send(self, start_response: Any, status: int, answer: Any) -> Iterator[bytes]:
        reason = {200: "OK", 201: "Created", 204: "No Content"}.get(status, "Error")
        if self.mode in ("echo_token", "echo_token_reason") and status == 400:
            reason = f"Bad token {self.token} ({quote(self.token or '', safe='')})"
        if isinstance(answer, bytes):
            content, kind = answer, "text/plain"
        else:
            content = b"" if answer is None else json.dumps(answer).encode()
            kind = "application/scim+json"
        headers = [("Content-Type", kind)]
        if status == 429:
            headers.append(("Retry-After", self.retry_after))
        if self.mode == "bad_encoding":
            headers.append(("Content-Encoding", "gzip"))
        if self.mode != "huge":
            headers.append(("Content-Length", str(len(content))))
        start_response(f"{status} {reason}", headers)
        if self.mode == "drip":
            return self._dripped(content)
        return iter([content])

    def _dripped(self, content: bytes) -> Iterator[bytes]:
        for i in range(len(content)):
            time.sleep(self.drip)
            yield content[i : i + 1]

    def _route(self, method: str, segments: list[str], query: dict, body: Any) -> tuple[int, Any]:
        mode = self.mode
        if segments == ["ServiceProviderConfig"]:
            return 200, self._config()
        if segments[:1] == ["Schemas"]:
            return self._schema(segments)
        if self.retry_after and method != "GET":
            return 429, _error(429, "too many requests")
        if mode == "echo_token_success" and method == "PATCH":
            return 200, self._write_error()
        if mode.startswith(("long_error", "echo_token")) and mode != "echo_token_success" and (
            method != "GET"
        ):
            return 400, self._write_error()
        if segments == ["Users"] and method == "GET":
            if mode == "huge":
                return 200, {"padding": "x" * self.huge}
            return self._list([self._user(u) for u in self.users.values()], query)
        if segments == ["Groups"] and method == "GET":
            return self._list(self._visible_groups(query), query, "Groups")
        if segments == ["Groups"] and method == "POST":
            group_id = self.add_group(body["displayName"], [m["value"] for m in body["members"]])
            self.groups[group_id]["created"] = time.monotonic()
            if mode == "slow_index":
                return 500, _error(500, "internal error")
            if mode == "created_members_string":
                return 201, {**self._group(self.groups[group_id]), "members": "a@x, b@x"}
            return 201, self._group(self.groups[group_id])
        if len(segments) != 2 or segments[0] != "Groups" or segments[1] not in self.groups:
            return 404, _error(404, f"no resource at /{'/'.join(segments)}")
        group = self.groups[segments[1]]
        if method == "GET":
            return 200, self._asked(self._group(group, for_get=True), query)
        if method == "PATCH":
            if mode.startswith("put_only"):
                return 501, _error(501, "PATCH is not supported")
            return self._patch(group, body["Operations"])
        if method == "PUT":
            group["members"] = [m["value"] for m in body.get("members") or []]
            return 200, self._group(group)
        return 405, _error(405, "method not allowed")

    def _config(self) -> Any:
        if self.mode == "spc_list":
            return [{"patch": {"supported": True}}]
        max_results: Any = "a hundred" if self.mode == "max_results_text" else 100
        return {
            "patch": {"supported": not self.mode.startswith("put_only")},
            "bulk": {"supported": False},
            "filter": {"supported": True, "maxResults": max_results},
            "etag": {"supported": False},
        }

    def _user(self, user: dict[str, Any]) -> dict[str, Any]:
        groups: Any = [
            {"value": g["id"], "display": g["displayName"]}
            for g in self.groups.values()
            if user["id"] in g["members"]
        ]
        if self.mode == "groups_string":
            groups = ", ".join(g["display"] for g in groups)
        elif self.mode == "groups_entry_string":
            groups = [g["display"] for g in groups]
        carried = self.user_groups and self.mode != "members_never"
        answer = {**user, "groups": groups} if carried else dict(user)
        if self.mode == "id_missing":
            del answer["id"]
        return answer

    def _group(self, group: dict[str, Any], for_get: bool = False) -> dict[str, Any]:
        members = [{"value": m} for m in group["members"]]
        if self.mode == "ref_members":
            members = [{"$ref": f"{self.url}/Users/{quote(m, safe='')}"} for m in group["members"]]
        answer = {"id": group["id"], "displayName": group["displayName"], "members": members}
        if for_get and self.mode == "put_only_no_members":
            del answer["members"]
        if for_get and self.mode in ("put_only_capped", "single_capped"):
            answer["members"] = members[: self.cap]
        return answer

    def _asked(self, group: dict[str, Any], query: dict) -> dict[str, Any]:
        """A group as a read shows it. members_on_request: `members` only where the request
        names it in `attributes`; members_never*: never."""
        hidden = self.mode.startswith("members_never") or (
            self.mode == "members_on_request" and "members" not in query.get("attributes", "")
        )
        return {k: v for k, v in group.items() if k != "members"} if hidden else group

    def _schema(self, segments: list[str]) -> tuple[int, Any]:
        returned = {"members_on_request": "request", "members_never": "never",
                    "members_never_user_groups": "never"}.get(self.mode, "default")
        schema = {
            "id": GROUP_SCHEMA,
            "name": "Group",
            "attributes": [
                {"name": "displayName", "type": "string", "returned": "default"},
                {"name": "members", "type": "complex", "returned": returned},
            ],
        }
        if segments == ["Schemas", GROUP_SCHEMA]:
            return 200, schema
        if segments == ["Schemas"]:
            return 200, {"schemas": [LIST], "totalResults": 1, "Resources": [schema]}
        return 404, _error(404, f"no schema {'/'.join(segments[1:])}")

    def _visible_groups(self, query: dict) -> list[dict[str, Any]]:
        now = time.monotonic()
        shown = [
            g
            for g in self.groups.values()
            if not (self.mode == "slow_index" and g["created"] and now - g["created"] < self.lag)
        ]
        answers = [self._asked(self._group(g), query) for g in shown]
        if self.mode == "list_capped":
            answers = [{**g, "members": g["members"][: self.cap]} for g in answers]
        if "members" in query.get("excludedAttributes", ""):
            answers = [{k: v for k, v in g.items() if k != "members"} for g in answers]
        return answers

    def _list(
        self, resources: list[dict[str, Any]], query: dict, endpoint: str = "Users"
    ) -> tuple[int, Any]:
        if "filter" in query:
            attribute, _, literal = query["filter"].partition(" eq ")
            if self.mode == "filter_400" and attribute == "emails.value":
                return 400, _error(400, "filter on emails.value failed: a user has no emails")
            wanted = json.loads(literal)
            resources = [r for r in resources if self._matches(r, attribute, wanted)]
        start = 1 if self.mode == "ignore_start_index" else int(query.get("startIndex", 1))
        count = int(query.get("count", 100))
        if self.mode == "endless_pages":
            page = [self._user({"id": uuid.uuid4().hex, "userName": f"{uuid.uuid4().hex}@x"})]
            return 200, {"schemas": [LIST], "Resources": page}
        if self.mode == "endless_groups" and endpoint == "Groups":
            new = [uuid.uuid4().hex for _ in range(2)]
            page = [{"id": n, "displayName": f"G {n}", "members": []} for n in new]
            return 200, {"schemas": [LIST], "Resources": page}
        page = resources[start - 1 : start - 1 + count]
        if self.mode == "short_page" and start == 1 + count:
            page = page[: count // 2]
        if self.mode == "resources_object":
            return 200, {"schemas": [LIST], "totalResults": 1, "Resources": {"id": "x"}}
        total: Any = str(len(resources)) if self.mode == "total_as_digits" else len(resources)
        if self.mode == "no_total":
            return 200, {"schemas": [LIST], "Resources": page}
        return 200, {"schemas": [LIST], "totalResults": total, "Resources": page}

    def _matches(self, resource: dict[str, Any], attribute: str, wanted: str) -> bool:
        if attribute == "emails.value":
            values = [e["value"] for e in resource.get("emails") or []]
        else:
            values = [resource.get(attribute)]
        if self.mode == "case_exact_filter" or attribute == "externalId":
            return wanted in values
        return wanted.casefold() in {str(v).casefold() for v in values}

    def _patch(self, group: dict[str, Any], operations: list[dict[str, Any]]) -> tuple[int, Any]:
        members = list(group["members"])
        for op in operations:
            path, value = str(op.get("path", "")), op.get("value")
            if op["op"] == "add":
                members += [m["value"] for m in value if m["value"] not in members]
            elif path.startswith("members["):
                if self.mode == "value_remove_empties":
                    return 400, _error(400, "unsupported path", "invalidPath")
                gone = json.loads(path.removeprefix("members[value eq ").removesuffix("]"))
                members = [m for m in members if m != gone]
            elif path == "members" and self.mode == "value_remove_empties":
                members = []  # read literally: "remove the members attribute"
            elif path == "members":
                gone_all = {m["value"] for m in value or []}
                members = [m for m in members if m not in gone_all]
        group["members"] = members
        return 204, None

    def _write_error(self) -> Any:
        if self.mode == "long_error":
            return _error(400, "stack trace: " + "at frame 0x0 " * 150_000)
        token = self.token or ""
        escaped = json.dumps(token)[1:-1].replace("/", "\\/")  # JSON with \/ and \"
        encoded = quote(token, safe="")
        if self.mode == "echo_token_reason":
            return b""
        if self.mode == "echo_token_text":
            return f"Unauthorized: token {token} ({encoded}, {escaped})".encode()
        detail = f'request {{"auth": "Bearer {escaped}"}} refused; token={encoded}; raw {token}'
        return {"schemas": [ERROR], "status": "400", "scimType": f"bad {token}", "detail": detail}


def _error(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    error = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        error["scimType"] = scim_type
    return error
