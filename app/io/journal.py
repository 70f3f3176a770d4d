"""The journal of every sync: one JSON-lines file per run, appended and flushed as it goes.

A run's file starts with a "start" record (who, when, which server, the mapping, the export's
counts), then a "plan" record, then one "op" record per operation as it completes, an
optional "verify" record and, when the run ends normally, an "end" record. A killed run
leaves every record written before the kill: its operations are what reached the server.
Tokens are never written. The folder is the user data folder, or $GROUPMAP_JOURNAL_DIR.
"""

from __future__ import annotations

import getpass
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from app.io.limits import MB, read_limited

JOURNAL_ENV = "GROUPMAP_JOURNAL_DIR"
FORMAT_VERSION = 1
PREFIX, SUFFIX = "run-", ".jsonl"
MAX_RUN_BYTES = 1024 * MB  # one run's journal: a million users' sync writes well under this


def journal_dir() -> Path:
    """Where journals live: $GROUPMAP_JOURNAL_DIR, else <user data folder>/journal."""
    given = os.environ.get(JOURNAL_ENV)
    if given:
        return Path(given)
    from platformdirs import user_data_dir

    return Path(user_data_dir("GroupMap", appauthor=False)) / "journal"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def same_server(a: str, b: str) -> bool:
    return a.rstrip("/").casefold() == b.rstrip("/").casefold()


class Journal:
    """One run's file; `write` is thread-safe and appends each record, flushed and closed.

    Opening per record keeps no handle between operations (a killed process loses nothing
    written) and lets a retry after the end record append to the same run.
    """

    def __init__(self, run_id: int, path: Path) -> None:
        self.run_id = run_id
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def create(cls, folder: Path | None = None) -> Journal:
        """A new run with the next free number (safe when two runs start at once)."""
        folder = folder or journal_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            number = max((run for run, _ in _run_files(folder)), default=0) + 1
            while True:
                path = folder / f"{PREFIX}{number:04d}{SUFFIX}"
                try:
                    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                except FileExistsError:
                    number += 1
                    continue
                return cls(number, path)
        except OSError as error:
            raise InputError(
                f"cannot write the sync journal in {folder}: {error.strerror}. Free some space "
                f"or set {JOURNAL_ENV} to a folder you can write; nothing was written."
            ) from None

    def write(self, kind: str, **data: Any) -> None:
        record = {"type": kind, "at": now_iso(), **data}
        line = json.dumps(record, ensure_ascii=False, default=str)
        with self._lock, self.path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")


def _run_files(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for path in folder.glob(f"{PREFIX}*{SUFFIX}"):
        number = path.name[len(PREFIX) : -len(SUFFIX)]
        if number.isdigit():
            found.append((int(number), path))
    return sorted(found)


@dataclass
class RunRecord:
    """One run as read back from its journal (a run killed halfway has no end)."""

    run_id: int
    path: Path
    start: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    ops: list[dict[str, Any]] = field(default_factory=list)
    verify: dict[str, Any] | None = None
    end: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        return str(self.start.get("url", ""))

    @property
    def mode(self) -> str:
        """"sync", "dry run", "undo of run N" or "undo of run N, dry run"."""
        dry = bool(self.start.get("dry_run"))
        if self.start.get("undoes"):
            return f"undo of run {self.start['undoes']}" + (", dry run" if dry else "")
        return "dry run" if dry else "sync"

    @property
    def status(self) -> str:
        if self.end is None:
            return "interrupted"
        return str(self.end.get("status", "done"))

    @property
    def successful(self) -> bool:
        """Ended normally, wrote what it planned, nothing failed or went unkept."""
        return self.end is not None and self.end.get("status") == "done"

    def count(self, op: str) -> int:
        """Memberships this run changed and the server kept."""
        done = sum(len(o.get("members", [])) for o in self.ops if o["op"] == op and _ok(o))
        lost = sum(
            len(o.get("members", []))
            for o in self.ops
            if o["op"] == op and o.get("outcome") == "not kept" and o.get("was_applied")
        )
        return done - lost

    @property
    def failed(self) -> int:
        """Memberships that failed or that the server did not keep (a failed create counts 1)."""
        return sum(
            len(o.get("members", [])) or 1
            for o in self.ops
            if o.get("outcome") in ("failed", "not kept")
        )

    def summary(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "started": self.start.get("at", ""),
            "ended": (self.end or {}).get("at", ""),
            "server": self.url,
            "mode": self.mode,
            "status": self.status,
            "added": self.count("add"),
            "removed": self.count("remove"),
            "failed": self.failed,
            "user": self.start.get("os_user", ""),
        }


def _ok(op: dict[str, Any]) -> bool:
    return op.get("outcome") == "applied"


def read_run(path: Path) -> RunRecord:
    """A run's records; a torn last line (the run was killed mid-write) is ignored."""
    number = path.name[len(PREFIX) : -len(SUFFIX)]
    record = RunRecord(int(number) if number.isdigit() else 0, path)
    try:  # a named pipe or a device in its place is refused, never read (it would block)
        data = read_limited(path, MAX_RUN_BYTES)
    except InputError as error:
        raise InputError(
            f"the sync journal: {error} Move it out of {path.parent}; the other runs stay."
        ) from None
    lines = data.decode("utf-8", errors="replace").splitlines()
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type")
        if kind == "start":
            record.start = entry
        elif kind == "plan":
            record.plan = entry
        elif kind == "op":
            record.ops.append(entry)
        elif kind == "verify":
            record.verify = entry
        elif kind == "end":
            record.end = entry
    return record


def list_runs(url: str | None = None, folder: Path | None = None) -> list[RunRecord]:
    """Every journaled run, oldest first; only those to `url` when given."""
    folder = folder or journal_dir()
    if not folder.is_dir():
        return []
    runs = [read_run(path) for _, path in _run_files(folder)]
    runs = [r for r in runs if r.start]
    if url:
        runs = [r for r in runs if same_server(r.url, url)]
    return runs


def find_run(run_id: int, folder: Path | None = None) -> RunRecord:
    folder = folder or journal_dir()
    path = folder / f"{PREFIX}{run_id:04d}{SUFFIX}"
    if not path.is_file():
        raise InputError(
            f"no run {run_id} in the journal folder {folder}: `groupmap history` lists the runs"
        )
    return read_run(path)


def user_placements(runs: list[RunRecord], email: str) -> list[dict[str, Any]]:
    """One user's journaled changes across runs, oldest first."""
    wanted = email.strip().lower()
    found = []
    for run in runs:
        for op in run.ops:
            for member in op.get("members") or []:
                if str(member.get("email", "")).lower() == wanted:
                    found.append(
                        {
                            "run": run.run_id,
                            "at": op.get("at", ""),
                            "mode": run.mode,
                            "op": op.get("op"),
                            "group": op.get("group"),
                            "outcome": op.get("outcome"),
                        }
                    )
    return found


def when(stamp: str) -> str:
    """A journal time stamp as "2026-12-01 09:12" (UTC)."""
    return stamp.replace("T", " ")[:16]


def describe_placement(placement: dict[str, Any]) -> str:
    """"added to Sales by run 14, 2026-12-01 09:12" (with the outcome if it did not apply)."""
    p = placement
    verb = {"add": "added to", "remove": "removed from"}.get(p["op"], p["op"])
    outcome = "" if p["outcome"] == "applied" else f" ({p['outcome']})"
    mode = "" if p["mode"] == "sync" else f", {p['mode']}"
    return f"{verb} {p['group']} by run {p['run']}, {when(p['at'])}{mode}{outcome}"


def describe_op(op: dict[str, Any]) -> str:
    """One operation as a line: time, operation, group, members, outcome, HTTP status."""
    members = op.get("members") or []
    sign = {"add": "+", "remove": "-"}.get(op.get("op", ""), "")
    who = ", ".join(str(m.get("email", "")) for m in members[:5])
    if len(members) > 5:
        who += f", … {len(members) - 5} more"
    line = f"{when(op.get('at', ''))}  {op.get('op')} {op.get('group')}"
    if members:
        line += f" {sign}{len(members)} ({who})"
    line += f": {op.get('outcome')}"
    if op.get("status"):
        line += f", HTTP {op['status']}"
    if op.get("reason"):
        line += f": {op['reason']}"
    return line


def last_successful_sync(url: str, folder: Path | None = None) -> RunRecord | None:
    """The latest sync (not a dry run, not an undo) to this server that ended without failure
    and counted its export's users."""
    runs = [
        r
        for r in list_runs(url, folder)
        if r.mode == "sync" and r.successful and (r.start.get("export") or {}).get("users")
    ]
    return runs[-1] if runs else None
