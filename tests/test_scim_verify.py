"""Verified writes: answers checked, changed groups read back, "not kept by the server" reported.

The real scim2-server sits behind a small WSGI wrapper with one misbehaviour per mode:
"drop" silently leaves one user out of every PATCH add and answers 204; "drop_200" does the
same and answers 200 with the group; "error_200" answers PATCH (of a group or a user) with 200
and a SCIM Error body without applying it.
"""

from __future__ import annotations

import io
import json

import pytest

from app.cli import main
from app.io.journal import list_runs
from app.scim.server import LocalScimServer
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.verify import error_in_body
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users

MAPPING = make_mapping({"sales": "Sales"})
DROPPED = "user00003@ex.com"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class Misbehaving:
    """WSGI middleware over the real server's app; `mode` picks the one misbehaviour."""

    def __init__(self, app, server: LocalScimServer, mode: str) -> None:
        self.app, self.server, self.mode = app, server, mode

    def _dropped_id(self) -> str:
        users = self.server.dump()["users"]
        return next(uid for uid, name in users.items() if name == DROPPED)

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        written = "/Groups/" in path or "/Users/" in path
        if environ["REQUEST_METHOD"] != "PATCH" or not written:
            return self.app(environ, start_response)
        if self.mode == "error_200" or "/Users/" in path:
            body = json.dumps(
                {"schemas": [ERROR_SCHEMA], "status": "400", "detail": "group is full"}
            ).encode()
            start_response("200 OK", [("Content-Type", "application/scim+json")])
            return [body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        patch = json.loads(environ["wsgi.input"].read(length))
        dropped = self._dropped_id()
        for op in patch["Operations"]:
            if op["op"] == "add":
                op["value"] = [m for m in op["value"] if m["value"] != dropped]
        data = json.dumps(patch).encode()
        environ = {**environ, "wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data))}
        answer = list(self.app(environ, lambda *a, **k: None))
        if self.mode == "drop":
            start_response("204 No Content", [])
            return [b""]
        get = {**environ, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO(b"")}
        get["CONTENT_LENGTH"] = "0"
        get.pop("HTTP_IF_MATCH", None)  # the PATCH's condition, met: the answer is the group
        del answer
        return self.app(get, start_response)


@pytest.fixture
def misbehaving():
    started: list[LocalScimServer] = []

    def factory(users, mode: str) -> LocalScimServer:
        server = LocalScimServer(users, token=TOKEN, extra_groups={"Sales": []})
        server.app = Misbehaving(server.app, server, mode)
        server.start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


def _sync(url, users, verify=True):
    settings = SyncSettings(url, TOKEN)
    with fast_client(url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        return execute(client, plan, settings, verify=verify)


def test_read_back_finds_what_a_204_did_not_keep(misbehaving):
    users = make_users(6, ["sales"])
    server = misbehaving(users, "drop")
    result = _sync(server.url, users)
    assert DROPPED not in server.dump()["groups"]["Sales"]
    assert [(n.group, n.operation, n.email) for n in result.not_kept] == [
        ("Sales", "add", DROPPED)
    ]
    assert "read back" in result.not_kept[0].reason
    assert result.added == 5 and result.to_json()["not_kept"] == 1 and not result.ok
    report = result.report_frame().set_index("email")
    assert report.loc[DROPPED, "outcome"] == "not kept by the server"
    assert set(report.drop(DROPPED)["outcome"]) == {"changed"}


def test_no_verify_skips_the_read_back(misbehaving):
    users = make_users(6, ["sales"])
    server = misbehaving(users, "drop")
    result = _sync(server.url, users, verify=False)
    assert result.not_kept == [] and result.added == 6
    assert len(server.dump()["groups"]["Sales"]) == 5


def test_answer_listing_members_is_compared_with_what_was_sent(misbehaving):
    users = make_users(6, ["sales"])
    server = misbehaving(users, "drop_200")
    result = _sync(server.url, users, verify=False)
    assert [n.email for n in result.not_kept] == [DROPPED]
    assert "answer" in result.not_kept[0].reason
    assert result.added == 5


def test_error_body_in_a_200_is_a_failure(misbehaving):
    users = make_users(4, ["sales"])
    server = misbehaving(users, "error_200")
    result = _sync(server.url, users)
    assert server.dump()["groups"]["Sales"] == set()
    assert result.added == 0 and result.failed_count == 4
    assert all("group is full" in f.reason for f in result.failed)


def test_attribute_mode_error_body_in_a_200_is_a_failure(misbehaving):
    users = make_users(3, ["sales"])
    server = misbehaving(users, "error_200")
    attribute = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
    # batch size 1: one PATCH per user, not /Bulk
    settings = SyncSettings(
        server.url, TOKEN, target="attribute", attribute=attribute, batch_size=1
    )
    with fast_client(server.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        result = execute(client, plan_sync(users, MAPPING, state, settings), settings)
    assert result.added == 0 and result.failed_count == 3
    assert all("group is full" in f.reason for f in result.failed)


def test_error_in_body_reads_scim_errors_only_and_redacts_them():
    def hide(text: str) -> str:
        return text.replace("s3cret", "[redacted]")

    assert error_in_body(None, hide) is None
    assert error_in_body({"id": "1", "members": []}, hide) is None
    error = error_in_body(
        {"schemas": [ERROR_SCHEMA], "status": "409", "scimType": "uniqueness"}, hide
    )
    assert error is not None and error.status == 409 and error.scim_type == "uniqueness"
    echoed = error_in_body(
        {"schemas": [ERROR_SCHEMA], "scimType": "bad s3cret", "detail": "token s3cret"}, hide
    )
    assert echoed is not None and "s3cret" not in str(echoed)
    assert echoed.scim_type == "bad [redacted]"


def test_cli_counts_not_kept_and_exits_1(misbehaving, tmp_path, monkeypatch, capsys):
    users = make_users(6, ["sales"])
    server = misbehaving(users, "drop")
    export = tmp_path / "users.csv"
    users.frame.rename(columns={"source": "Identity Provider Group"}).to_csv(export, index=False)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nsales,Sales\n")
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    base = ["sync", "--mapping", str(mapping), "--users", str(export), "--url", server.url]
    assert main([*base, "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["not_kept"] == 1
    assert f"{DROPPED}: added to 'Sales' but not kept by the server" in captured.err
    (run,) = list_runs()
    assert (run.summary()["added"], run.summary()["failed"], run.status) == (5, 1, "failed")
    lost = [op for op in run.ops if op["outcome"] == "not kept"]
    assert [m["email"] for op in lost for m in op["members"]] == [DROPPED]
    assert lost[0]["was_applied"] is True
    # Nothing left to add: the second run plans the dropped user again and --no-verify trusts.
    assert main([*base, "--json", "--no-verify"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 1


def test_put_answers_are_compared_without_false_alarms(scim_server, fault_proxy):
    users = make_users(6, ["sales"], groups=lambda i: "Sales" if i == 0 else "")
    server = scim_server(users)
    proxy = fault_proxy(server.url, quirks=frozenset({"no_patch"}))
    result = _sync(proxy.url, users)
    assert proxy.count("PUT") == 1 and result.ok and result.not_kept == []
    assert len(server.dump()["groups"]["Sales"]) == 6


def test_a_group_the_read_back_cannot_read_is_named(scim_server, fault_proxy):
    users = make_users(4, ["sales"])
    server = scim_server(users)
    wrote = []

    def refuse(request):
        if request.method in ("POST", "PATCH"):
            wrote.append(request)
        if wrote and request.method == "GET" and request.path.startswith("/Groups/"):
            return 403, "reading groups is not allowed for this token"
        return None

    proxy = fault_proxy(server.url, refuse=refuse)
    result = _sync(proxy.url, users)
    assert result.added == 4 and result.not_kept == []
    assert len(result.unverified) == 1
    assert "could not read 'Sales' back to verify it" in result.unverified[0]


class HidesMembers:
    """WSGI middleware: after the first write, GET /Groups/{id} answers without `members`, or
    with at most `cap` of them (a server capping member lists)."""

    def __init__(self, app, cap: int | None = None) -> None:
        self.app, self.wrote, self.cap = app, False, cap

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if method in ("POST", "PATCH", "PUT"):
            self.wrote = True
        if not (self.wrote and method == "GET" and "/Groups/" in path):
            return self.app(environ, start_response)
        captured = {}

        def keep(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        body = json.loads(b"".join(self.app(environ, keep)))
        if self.cap is None:
            body.pop("members", None)
        else:
            body["members"] = body.get("members", [])[: self.cap]
        data = json.dumps(body).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(data)))])
        return [data]


@pytest.fixture
def hides_members():
    started: list[LocalScimServer] = []

    def factory(users, cap: int | None = None) -> LocalScimServer:
        server = LocalScimServer(users, token=TOKEN, extra_groups={"Sales": []})
        server.app = HidesMembers(server.app, cap)
        server.start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


def test_members_absent_from_the_read_back_is_unverified_not_lost(hides_members):
    users = make_users(4, ["sales"])
    server = hides_members(users)
    result = _sync(server.url, users)
    assert result.not_kept == [] and result.added == 4
    assert "does not list its members" in result.unverified[0]


def test_a_capped_member_list_is_unverified_not_lost(hides_members):
    users = make_users(8, ["sales"])
    server = hides_members(users, cap=3)
    result = _sync(server.url, users)
    assert result.not_kept == [] and result.added == 8
    assert "member list looks capped (3 listed" in result.unverified[0]
    assert len(server.dump()["groups"]["Sales"]) == 8


def test_undo_never_removes_members_a_server_does_not_list(hides_members):
    from app.io.journal import find_run
    from app.scim.sync.record import RunJournal
    from app.scim.sync.undo import plan_undo

    users = make_users(4, ["sales"])
    server = hides_members(users)
    settings = SyncSettings(server.url, TOKEN)
    with fast_client(server.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        journal = RunJournal.begin(plan, settings, MAPPING, [])
        journal.finish(execute(client, plan, settings, journal=journal))
        undo = plan_undo(client, find_run(journal.run_id), settings)
    # Nothing is removed unseen: the adds the server no longer lists are left as is.
    assert undo.plan.removes == {} and len(undo.left_as_is) == 4
    assert {item.now for item in undo.left_as_is} == {"not listed as a member now"}
