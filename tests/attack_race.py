"""Helpers of the If-Match race attacks (tests/test_attack_race*.py): the admin's hand edits
made straight to the server, refuse hooks that make them at a chosen write, proxies that
spell or honour versions wrongly, a journaled sync, its undo, and the journal's outcomes."""

from __future__ import annotations

import json

import httpx

from app.cli import main
from app.io.journal import list_runs, read_run
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.record import RunJournal
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users
from tests.scim_proxy import FaultProxy, Recorded

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAPPING = make_mapping({"s": "Sales"}, apply_existing=True)


class Admin:
    """Hand edits straight to the server, by userName."""

    def __init__(self, server) -> None:
        self.server = server
        self.http = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"})

    def uid(self, email: str) -> str:
        return next(i for i, n in self.server.dump()["users"].items() if n == email)

    def gid(self, name: str) -> str:
        answer = self.http.get(f"{self.server.url}/Groups").json()
        return next(g["id"] for g in answer["Resources"] if g["displayName"] == name)

    def patch(self, group_id: str, operations: list[dict]) -> None:
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        answer = self.http.patch(f"{self.server.url}/Groups/{group_id}", json=body)
        assert answer.status_code in (200, 204), answer.text

    def add(self, group_id: str, email: str) -> None:
        self.patch(group_id, [{"op": "add", "path": "members",
                               "value": [{"value": self.uid(email)}]}])

    def remove(self, group_id: str, email: str) -> None:
        self.patch(group_id, [{"op": "remove",
                               "path": f'members[value eq "{self.uid(email)}"]'}])

    def rename(self, group_id: str, name: str) -> None:
        self.patch(group_id, [{"op": "replace", "path": "externalId", "value": name}])


def on_patch(edits: dict[int, object]):
    """A refuse hook running edits[n]() right before the n-th group PATCH (1-based) is
    forwarded; an edit may return a refusal (status, detail) to answer instead."""
    seen = {"n": 0}

    def hook(record: Recorded):
        if record.method not in ("PATCH", "PUT") or not record.path.startswith("/Groups/"):
            return None
        seen["n"] += 1
        edit = edits.get(seen["n"])
        return edit(record) if callable(edit) else None

    return hook


def per_group(n: int, edit):
    """A refuse hook running edit(group_id) right before each group's n-th PATCH."""
    seen: dict[str, int] = {}

    def hook(record: Recorded):
        if record.method != "PATCH" or not record.path.startswith("/Groups/"):
            return None
        group_id = record.path.rsplit("/", 1)[1]
        seen[group_id] = seen.get(group_id, 0) + 1
        if seen[group_id] == n:
            edit(group_id)
        return None

    return hook


def on_put(edit):
    seen = {"n": 0}

    def hook(record: Recorded):
        if record.method == "PUT" and record.path.startswith("/Groups/"):
            seen["n"] += 1
            if seen["n"] == 1:
                edit(record)
        return None

    return hook


def sync(url, users, batch_size=2, mapping=MAPPING, **options):
    settings = SyncSettings(url, TOKEN, allow_mass_removal=True, batch_size=batch_size,
                            **options)
    with fast_client(url) as client:
        state = read_server_state(client, users, mapping, settings)
        plan = plan_sync(users, mapping, state, settings)
        journal = RunJournal.begin(plan, settings, mapping, ["users.csv"])
        result = execute(client, plan, settings, journal=journal)
        journal.finish(result)
    return result, journal.run_id


def undo(url, capsys, run_id: int, *extra):
    capsys.readouterr()
    code = main(["undo", str(run_id), *extra, "--url", url, "--allow-mass-removal", "--json"])
    captured = capsys.readouterr()
    return code, {**json.loads(captured.out or "{}"), "stderr": captured.err}


def outcomes(run_id: int, op: str = "add") -> dict[str, set[str]]:
    """outcome -> emails, for the run's `op` records."""
    run = next(r for r in list_runs() if r.run_id == run_id)
    found: dict[str, set[str]] = {}
    for record in read_run(run.path).ops:
        if record.get("op") == op:
            found.setdefault(str(record["outcome"]), set()).update(
                m["email"] for m in record.get("members") or [])
    return found


def sales_users(n: int, in_sales: int = 0):
    """n users mapped to Sales; the first `in_sales` already in it."""
    return make_users(n, ["s"], groups=lambda i: "Sales" if i < in_sales else "")


def email(i: int) -> str:
    return f"user{i:05d}@ex.com"


class StrongETagProxy(FaultProxy):
    """Its PATCH answers spell the version as a strong ETag ("5"), its reads as the server
    does (W/"5"): a version that differs between GET and PATCH answers."""

    def _quirk_response(self, h, path, response):
        status, content, headers = super()._quirk_response(h, path, response)
        if h.command == "PATCH" and headers.get("ETag", "").startswith("W/"):
            headers["ETag"] = headers["ETag"][2:]
        return status, content, headers


class IgnoringProxy(FaultProxy):
    """Forwards no If-Match: a server that advertises ETags and ignores them on writes."""

    def _handle(self, h):
        if "If-Match" in h.headers:
            del h.headers["If-Match"]
        return super()._handle(h)


class HeaderETagProxy(FaultProxy):
    """Versions only in the ETag header of single answers, never in `meta.version`: the
    group list carries none."""

    def _quirk_response(self, h, path, response):
        status, content, headers = super()._quirk_response(h, path, response)
        if content and headers.get("Content-Type", "").endswith("json"):
            body = json.loads(content)
            for resource in [body, *(body.get("Resources") or [])]:
                if isinstance(resource, dict) and isinstance(resource.get("meta"), dict):
                    resource["meta"].pop("version", None)
            content = json.dumps(body).encode()
        return status, content, headers
