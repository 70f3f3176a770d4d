"""Plan files: a sync plan saved for review, then applied exactly as it was approved.

`groupmap sync --dry-run --plan-out plan.json` writes one; `groupmap apply plan.json` (or
the app's "Apply saved plan…") reads it back. The file holds the server URL (never the
token), the mapping and options, the export's file names with a SHA-256 of their bytes, per
touched group its id, name, the member ids that were read and their fingerprint, and every
operation with user ids and emails. A SHA-256 of all that is stored with it: a file edited by
hand no longer matches and is refused. People see the digest as a short code ("plan
3f9a-c2d1").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from app.core.identity import email_key
from app.core.mapping import Mapping
from app.core.users import UserList
from app.io.atomic import atomic_write_bytes
from app.io.drafts import draft_dict, mapping_from_draft
from app.io.journal import same_server
from app.scim.config.settings import TARGET_GROUPS, SyncSettings
from app.scim.http.redact import redact_url
from app.scim.sync.plan import SyncPlan
from app.scim.sync.state import ServerGroup, ServerState

FORMAT = "groupmap-plan"
VERSION = 1
MAX_PLAN_BYTES = 256 << 20


def fingerprint(members: Iterable[str]) -> str:
    """A digest of a member set, whatever order the server listed it in."""
    return hashlib.sha256("\n".join(sorted(set(members))).encode()).hexdigest()


def files_digest(paths: Iterable[Path]) -> str:
    """A SHA-256 of the export files' bytes, in order: says whether the export changed."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            raise InputError(
                f"{path}: cannot read the export to record its digest in the plan "
                f"({exc.strerror or exc}); open the export again, then save the plan"
            ) from None
    return digest.hexdigest()


def short_code(digest: str) -> str:
    return f"{digest[:4]}-{digest[4:8]}"


def _content_digest(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class SavedPlan:
    """A plan file read back and checked: its content, digest and what it will change."""

    content: dict[str, Any]
    digest: str

    @property
    def code(self) -> str:
        return short_code(self.digest)

    @property
    def url(self) -> str:
        """The server, redacted: a query's API key is never kept in a plan."""
        return redact_url(str(self.content["server"]["url"]))

    @property
    def mapping(self) -> Mapping:
        return mapping_from_draft(self.content["mapping"], Path("the plan's mapping"))

    @property
    def export_files(self) -> list[str]:
        return [str(name) for name in self.content["export"]["files"]]

    def fits_server(self, url: str) -> bool:
        """Ids belong to one server: a plan applies only to the server it was made for."""
        return same_server(url, self.url)

    @property
    def operations(self) -> list[dict[str, Any]]:
        return list(self.content["operations"])

    def counts(self) -> tuple[int, int, int]:
        """(groups to create, memberships added, memberships removed)."""
        ops = [op["op"] for op in self.operations]
        return ops.count("create"), ops.count("add"), ops.count("remove")

    def summary(self) -> str:
        created, added, removed = self.counts()
        return (
            f"plan {self.code} for {self.url}: create {created} group(s), add {added}, "
            f"remove {removed} membership(s); made {self.content['created']}"
        )


def plan_content(
    plan: SyncPlan, mapping: Mapping, export_paths: list[Path], created: str
) -> dict[str, Any]:
    """What a plan file holds (before its digest)."""
    if plan.settings.target != TARGET_GROUPS:
        raise InputError(
            "--plan-out saves group plans only: with --target attribute, run the sync "
            "itself (or its --dry-run to review it)"
        )
    ids = plan.state.user_ids
    # Every managed group, touched or not: `apply` checks the whole scope against the server.
    touched = sorted(
        set(plan.adds) | set(plan.removes) | set(plan.groups_to_create) | set(plan.state.managed)
    )
    groups = {}
    for name in touched:
        group = plan.state.groups.get(name)
        members = sorted(set(group.members)) if group else []
        groups[name] = {
            "id": group.id if group else None,
            "members": members,
            "fingerprint": fingerprint(members),
        }
    operations: list[dict[str, Any]] = [{"op": "create", "group": g} for g in plan.groups_to_create]
    frame = plan.users.frame  # names, so the applied plan's report reads as the sync's
    names = dict(zip(frame["email"], frame["name"], strict=True))
    for op, changes in (("add", plan.adds), ("remove", plan.removes)):
        for name in sorted(changes):
            operations += [
                {"op": op, "group": name, "email": email, "id": ids[email_key(email)],
                 "name": str(names.get(email) or "")}
                for email in changes[name]
            ]
    settings = plan.settings
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": created,
        "server": {"url": redact_url(settings.url), "match_attribute": settings.match_attribute},
        "mapping": draft_dict(mapping),
        "export": {
            "files": [str(p) for p in export_paths],
            "sha256": files_digest(export_paths),
            "users": len(plan.users),
        },
        "guard": {
            "current_memberships": plan.current_memberships,
            "max_removal_ratio": settings.max_removal_ratio,
        },
        "groups": groups,
        "operations": operations,
    }


def save_plan(
    path: Path,
    plan: SyncPlan,
    mapping: Mapping,
    export_files: Iterable[str | Path],
    guards: dict[str, Any] | None = None,
) -> SavedPlan:
    """Write a plan file for approval, stamped with when and by whom it was made, with what
    its maker overrode of the guards (app/scim/sync/guards.py)."""
    from datetime import UTC, datetime

    from app.io.journal import os_user

    when = datetime.now(UTC).isoformat(timespec="seconds")
    content = plan_content(plan, mapping, [Path(p) for p in export_files], when)
    content["created_by"] = os_user()
    content["guard"]["overrides"] = guards or {}
    return write_plan(path, content)


def saved_settings(saved: SavedPlan, settings: SyncSettings) -> SyncSettings:
    """The settings to apply a saved plan with: the connection's, under the plan's guard."""
    from dataclasses import replace

    guard = saved.content["guard"]
    return replace(
        settings,
        match_attribute=str(saved.content["server"]["match_attribute"]),
        max_removal_ratio=float(guard["max_removal_ratio"]),
    )


def write_plan(path: Path, content: dict[str, Any]) -> SavedPlan:
    digest = _content_digest(content)
    data = {**content, "sha256": digest}
    atomic_write_bytes(path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode())
    return SavedPlan(content, digest)


def read_plan(path: Path) -> SavedPlan:
    """A plan file, refused unless it is whole and unedited."""
    try:
        if path.exists() and not path.is_file():
            kind = "a folder" if path.is_dir() else "a device or pipe"
            raise InputError(f"{path}: is {kind}, not a plan file; give the plan's .json file")
        if path.stat().st_size > MAX_PLAN_BYTES:
            raise InputError(f"{path}: {path.stat().st_size:,} bytes is too large for a plan file")
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: no such plan file; check the path") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: cannot read the plan ({exc}); make the plan again") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(
            f"{path}: not a GroupMap plan; make one with groupmap sync --dry-run --plan-out"
        )
    if data.get("version") != VERSION:
        raise InputError(
            f"{path}: plan format version {str(data.get('version'))[:20]!r} is not "
            f"{VERSION}; make the plan again with this version of GroupMap"
        )
    stored = data.pop("sha256", None)
    digest = _content_digest(data)
    if stored != digest:
        raise InputError(
            f"{path}: the plan's content does not match its digest (edited after it was made?); "
            "nothing was applied. Make the plan again and have it approved again"
        )
    try:
        _check_shape(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: the plan is incomplete ({exc}); make the plan again") from None
    return SavedPlan(data, digest)


def _check_shape(data: dict[str, Any]) -> None:
    str(data["server"]["url"])
    for name, group in data["groups"].items():
        if not isinstance(group["members"], list):
            raise TypeError(f"members of {name!r} is not a list")
    for op in data["operations"]:
        if op["op"] not in ("create", "add", "remove"):
            raise ValueError(f"unknown operation {op['op']!r}")
        if op["group"] not in data["groups"]:
            raise ValueError(f"operation on {op['group']!r}, a group the plan does not list")
        if op["op"] != "create" and not (isinstance(op["id"], str) and op["id"]):
            raise ValueError(f"{op['op']} in {op['group']!r} has no user id")


def sync_plan(saved: SavedPlan, settings: SyncSettings) -> SyncPlan:
    """The saved operations as a plan the executor runs: nothing recomputed."""
    adds: dict[str, list[str]] = {}
    removes: dict[str, list[str]] = {}
    user_ids: dict[str, str] = {}
    for op in saved.operations:
        if op["op"] == "create":
            continue
        (adds if op["op"] == "add" else removes).setdefault(op["group"], []).append(op["email"])
        user_ids[email_key(str(op["email"]))] = str(op["id"])
    groups = {
        name: ServerGroup(str(g["id"]), name, list(g["members"]))
        for name, g in saved.content["groups"].items()
        if g["id"] is not None
    }
    state = ServerState(user_ids=user_ids, groups=groups, managed=list(saved.content["groups"]))
    emails = dict.fromkeys(e for changes in (adds, removes) for v in changes.values() for e in v)
    names = {str(op["email"]): str(op.get("name") or "") for op in saved.operations
             if op["op"] != "create"}
    users = UserList.of_emails(emails, names)
    return SyncPlan.replayed(
        adds, removes, state, settings, users,
        int(saved.content["guard"]["current_memberships"]),
        groups_to_create=[op["group"] for op in saved.operations if op["op"] == "create"],
        reasons={change: f"in plan {saved.code}, made {saved.content['created']}"
                 for change in ("add", "remove")},
    )
