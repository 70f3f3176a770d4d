"""The journal of every sync: one JSON-lines file per run, a write-ahead log of its writes.

A run's file starts with a "start" record (who, when, which server, the mapping, the export's
counts, or the plan or run it applies or undoes), then a "plan" record, then per write an
"intent" record, flushed to disk before the request is sent, carrying the witnessed
before-state of every membership it touches, and after the answer an "op" record with the
outcome; an optional "verify" record and, when the run ends normally, an "end" record. A killed
run leaves every intent it sent: an intent without an outcome is resolved by reading the server.
When an intent cannot be written (disk full, read-only, gone), nothing more is sent.
Tokens are never written. The folder is the user data folder, or $GROUPMAP_JOURNAL_DIR.
Format 2 (intents, witnesses); format 1 files (no intents) still read.
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
from app.core.identity import email_key
from app.io.limits import check_regular_file
from app.scim.http.redact import redact_url

JOURNAL_ENV = "GROUPMAP_JOURNAL_DIR"
FORMAT_VERSION = 2
PREFIX, SUFFIX = "run-", ".jsonl"


class JournalUnwritable(InputError):
    """A journal record could not be written: the run sends nothing more."""

    def __init__(self, path: Path, error: OSError) -> None:
        reason = error.strerror or str(error)
        if isinstance(error, FileNotFoundError):
            reason = "the file or its folder was removed during the run"
        super().__init__(
            f"cannot write the sync journal {path}: {reason}. Nothing more was sent; free some "
            f"space or set {JOURNAL_ENV} to a folder you can write, then run again."
        )
        self.path = path


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
    """Whether two URLs name one server, as recorded: redacted (a query's API key is never
    journaled, so a run's URL matches the real one only redacted)."""
    return redact_url(a).rstrip("/").casefold() == redact_url(b).rstrip("/").casefold()


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
            raise JournalUnwritable(folder, error) from None

    def write(self, kind: str, **data: Any) -> None:
        """Append one record and force it to disk; JournalUnwritable when that fails."""
        record = {"type": kind, "at": now_iso(), **data}
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            try:  # never O_CREAT: a run file removed mid-run is not silently begun again
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND)
                with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                    file.write(line)
                    file.flush()
                    os.fsync(file.fileno())
            except OSError as error:
                raise JournalUnwritable(self.path, error) from None


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
    intents: list[dict[str, Any]] = field(default_factory=list)
    written: list[dict[str, Any]] = field(default_factory=list)  # intents and ops, in order
    verify: dict[str, Any] | None = None
    reads: dict[str, Any] | None = None  # how the server was read (runs since issue 25)
    end: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)  # malformed records, skipped

    @property
    def url(self) -> str:
        """The server, redacted (a journal written before URLs were redacted may hold a key)."""
        return redact_url(str(self.start.get("url", "")))

    @property
    def format(self) -> int:
        value = self.start.get("format")
        return value if isinstance(value, int) else 1

    @property
    def kind(self) -> str:
        """"sync", "undo", "apply" or "dry run"."""
        if self.start.get("undoes"):
            return "undo"
        if self.start.get("applies"):
            return "apply"
        return "dry run" if self.start.get("dry_run") else "sync"

    @property
    def mode(self) -> str:
        """"sync", "dry run", "undo of run N", "apply of plan CODE", with ", dry run"."""
        dry = ", dry run" if self.start.get("dry_run") else ""
        if self.start.get("undoes"):
            return f"undo of run {self.start['undoes']}{dry}"
        if self.start.get("applies"):
            return f"apply of plan {self.start['applies']}{dry}"
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

    @property
    def export_users(self) -> int | None:
        """The export's user count, for a sync from an export (None for undo and apply)."""
        export = self.start.get("export")
        users = export.get("users") if isinstance(export, dict) else None
        return users if isinstance(users, int) and not isinstance(users, bool) else None

    def source_text(self) -> str:
        """What the run started from: the export or live source, the plan it applied or the
        run it undid."""
        if self.kind == "undo":
            return f"undoes run {self.start.get('undoes')}"
        if self.kind == "apply":
            return f"applies plan {self.start.get('applies')}"
        source = self.start.get("source")
        if isinstance(source, dict):  # a live source (app/sources), not a file
            return (f"source {source.get('kind')}:{source.get('attribute')} from "
                    f"{redact_url(str(source.get('url')))} ({source.get('users')} users)")
        export = self.start.get("export") or {}
        files = ", ".join(str(f) for f in export.get("files") or []) or "no export file"
        users = self.export_users
        return f"export {files}" + (f" ({users:,} users)" if users is not None else "")

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

    def unresolved(self) -> list[tuple[str, str, str]]:
        """(operation, group, email) of intents sent without any outcome (the run was killed
        between request and answer, or its request failed without an answer: a timeout after
        the server may have applied it): only reading the server tells whether they happened.
        A create or delete is one operation on its group (email ""). An outcome answers only
        the intents written before it: a write refused (412) and sent again under a new
        intent is unresolved again until that one is answered."""
        left: dict[tuple[str, str, str], None] = {}
        for entry in self.written:
            if entry.get("type") == "intent":
                left.update(dict.fromkeys(_keys(entry)))
            elif not _no_answer(entry):
                for key in _keys(entry):
                    left.pop(key, None)
        return list(left)

    def summary(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "started": self.start.get("at", ""),
            "ended": (self.end or {}).get("at", ""),
            "server": self.url,
            "mode": self.mode,
            "kind": self.kind,
            "status": self.status,
            "added": self.count("add"),
            "removed": self.count("remove"),
            "failed": self.failed,
            "unresolved": len(self.unresolved()),
            "user": self.start.get("os_user", ""),
        }


def _no_answer(op: dict[str, Any]) -> bool:
    """A failure that came without an answer (status 0): the request may have been applied."""
    return op.get("outcome") == "failed" and not op.get("status")


def _keys(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What an intent or an outcome is about: (operation, group, email lower) per member."""
    op, group = str(record["op"]), str(record["group"])
    if op in ("create", "delete"):
        return [(op, group, "")]
    return [(op, group, email_key(str(m.get("email", "")))) for m in record.get("members") or []]


def _ok(op: dict[str, Any]) -> bool:
    return op.get("outcome") == "applied"


OPERATIONS = ("create", "add", "remove", "delete")


def _shape_problem(kind: object, entry: dict[str, Any]) -> str:
    """What is wrong with a record's shape, or "" (a record of another kind is not checked)."""
    if not isinstance(entry.get("at", ""), str):
        return f"a {kind} record whose time is not text"
    if kind == "start":
        for name, types in (("os_user", (str,)), ("dry_run", (bool,)), ("undoes", (int,)),
                            ("applies", (str,)), ("format", (int,))):
            value = entry.get(name)
            if value is not None and (not isinstance(value, types) or (
                    bool not in types and isinstance(value, bool))):
                return f"a start record whose {name} is {type(value).__name__}"
        if not isinstance(entry.get("url"), str):
            return "a start record without a server URL"
        export = entry.get("export")
        if export is not None and not isinstance(export, dict):
            return "a start record whose export is not an object"
        if isinstance(export, dict) and not isinstance(export.get("files", []), list):
            return "a start record whose export files are not a list"
        if entry.get("mapping") is not None and not isinstance(entry.get("mapping"), dict):
            return "a start record whose mapping is not an object"
    elif kind == "plan":
        for name in ("adds", "removes"):
            value = entry.get(name, {})
            if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
                return f"a plan record whose {name} is not an object of lists"
    elif kind in ("op", "intent"):
        if entry.get("op") not in OPERATIONS:
            return f"an {kind} record with the operation {entry.get('op')!r}"
        if not isinstance(entry.get("group"), str):
            return f"an {kind} record without a group name"
        members = entry.get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
            return f"an {kind} record whose members are not a list of objects"
        if kind == "op" and not isinstance(entry.get("outcome"), str):
            return "an op record without an outcome"
    elif kind in ("verify", "end", "reads") and not isinstance(entry, dict):
        return f"a malformed {kind} record"
    return ""


# Records a reader that needs only a run's head (start and end) skips without parsing them:
# the plan, the mapping and the operations are most of a large run's bytes.
HEAVY = tuple(
    f'{{"type": "{kind}"' for kind in ("op", "intent", "plan", "mapping", "verify", "reads")
)


TAIL_BYTES = 64 << 10  # the end of a run's file: where its end record is


def _head_lines(path: Path) -> list[str]:
    """A run's first line (its start) and the lines of its last bytes (its end), with the
    middle left unread: a large run's operations are most of its file. A line that is only
    partly in the tail is blanked (it is never the end record, which is the file's last)."""
    with path.open("rb") as file:
        first = file.readline()
        size = file.seek(0, 2)
        start = max(len(first), size - TAIL_BYTES)
        file.seek(start)
        tail = file.read().split(b"\n")
    if start > len(first) and tail:
        tail[0] = b""  # cut in the middle
    return [line.decode("utf-8", "replace") for line in [first.rstrip(b"\n"), *tail]]


def read_run(path: Path, head_only: bool = False) -> RunRecord:
    """A run's records. A torn last line (the run was killed mid-write) is ignored; a record
    of the wrong shape is skipped and named in `problems` (file and line), never raised.
    `head_only`: the start and end records only (what the source guard needs), fast."""
    number = path.name[len(PREFIX) : -len(SUFFIX)]
    record = RunRecord(int(number) if number.isdigit() else 0, path)
    try:  # a named pipe or a device in its place is refused, never opened (it would block)
        check_regular_file(path)
    except InputError as error:
        raise InputError(
            f"the sync journal: {error} Move it out of {path.parent}; the other runs stay."
        ) from None
    try:
        lines = _head_lines(path) if head_only else path.read_text(
            encoding="utf-8", errors="replace"
        ).splitlines()
    except OSError as error:
        raise InputError(f"cannot read the journal {path}: {error.strerror}") from None
    for line_number, line in enumerate(lines, 1):
        if head_only and (not line or line.startswith(HEAVY)):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            if line_number < len(lines):
                record.problems.append(f"{path}, line {line_number}: not JSON, skipped")
            continue
        if not isinstance(entry, dict):
            record.problems.append(f"{path}, line {line_number}: not a JSON object, skipped")
            continue
        kind = entry.get("type")
        problem = _shape_problem(kind, entry)
        if problem:
            record.problems.append(f"{path}, line {line_number}: {problem}, skipped")
            continue
        if kind == "start":
            record.start = entry
        elif kind == "plan":
            record.plan = entry
        elif kind == "op":
            record.ops.append(entry)
            record.written.append(entry)
        elif kind == "intent":
            record.intents.append(entry)
            record.written.append(entry)
        elif kind == "mapping" and record.start and isinstance(entry.get("mapping"), dict):
            record.start["mapping"] = entry["mapping"]  # format 2 keeps it out of the start
        elif kind == "verify":
            record.verify = entry
        elif kind == "reads":
            record.reads = entry
        elif kind == "end":
            record.end = entry
    return record


def list_runs(
    url: str | None = None, folder: Path | None = None, head_only: bool = False
) -> list[RunRecord]:
    """Every journaled run, oldest first; only those to `url` when given."""
    return read_runs(url, folder, head_only)[0]


def read_runs(
    url: str | None = None, folder: Path | None = None, head_only: bool = False
) -> tuple[list[RunRecord], list[str]]:
    """(runs, problems): every readable run (to `url` when given), and one line per malformed
    record or unreadable file, which is skipped instead of stopping anything."""
    folder = folder or journal_dir()
    if not folder.is_dir():
        return [], []
    runs, problems = [], []
    for _, path in _run_files(folder):
        try:
            run = read_run(path, head_only)
        except InputError as error:
            problems.append(f"{str(error).rstrip('.')}, skipped")
            continue
        problems += run.problems
        if not run.start:
            if run.ops or run.intents:
                problems.append(f"{path}: no readable start record, skipped")
            continue
        if not url or same_server(run.url, url):
            runs.append(run)
    return runs, problems


def find_run(run_id: int, folder: Path | None = None) -> RunRecord:
    folder = folder or journal_dir()
    path = folder / f"{PREFIX}{run_id:04d}{SUFFIX}"
    if not path.is_file():
        raise InputError(
            f"no run {run_id} in the journal folder {folder}: `groupmap history` lists the runs"
        )
    return read_run(path)


def last_successful_sync(url: str, folder: Path | None = None) -> RunRecord | None:
    """The latest sync (not a dry run, not an undo) to this server that ended without failure
    and counted its export's users."""
    runs = [
        r
        for r in list_runs(url, folder, head_only=True)
        if r.mode == "sync" and r.successful and r.export_users
    ]
    return runs[-1] if runs else None
