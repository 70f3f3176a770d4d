"""Autosave of the working draft to the user data directory, and recovery after a crash.

The draft is written (atomically, by app/io) every 30 s when it changed and right after each
structural change (rows added, removed, moved, options). It holds the live source its users
were read from, as a saved draft does (kind, URL, attribute; the separator is an option; never
a token), so a restore reads the source again. A small JSON beside it remembers the draft's
own path and the open exports. A clean close deletes both.

Each window autosaves into files of its own (`autosave-<session>.json`), guarded by a lock
file (QLockFile: the owner's pid and host) taken before the first write and held while the
window lives. At start a window offers only a session whose lock it can take: one whose
process is gone (a crash) or that has no lock (an autosave from before sessions). A live
window's draft, in this process or another, is never offered, so never deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal

from app.core.errors import InputError
from app.core.mapping import Mapping
from app.ui.base.document import Document

INTERVAL_MS = 30_000
PREFIX, DRAFT_SUFFIX, META_SUFFIX, LOCK_SUFFIX = "autosave", ".json", "-meta.json", ".lock"


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("GroupMap", appauthor=False))


class Session:
    """One window's autosave files, `autosave-<id>.json` and its meta, and the lock that says
    the window is alive. The id "" is the single file of GroupMap before sessions."""

    def __init__(self, folder: Path, session_id: str) -> None:
        self.folder, self.id = folder, session_id
        stem = f"{PREFIX}-{session_id}" if session_id else PREFIX
        self.draft_file = folder / f"{stem}{DRAFT_SUFFIX}"
        self.meta_file = folder / f"{stem}{META_SUFFIX}"
        self.lock = QLockFile(str(folder / f"{stem}{LOCK_SUFFIX}"))
        self.lock.setStaleLockTime(0)  # stale only when its process is gone, never by age

    @classmethod
    def new(cls, folder: Path) -> Session:
        return cls(folder, f"{os.getpid()}-{uuid.uuid4().hex[:8]}")

    def take(self) -> bool:
        """Lock it: False while the window that owns it lives (here or in another process)."""
        return self.lock.isLocked() or self.lock.tryLock(0)

    def write(
        self, mapping: Mapping, document: Document, source: dict[str, str] | None = None
    ) -> None:
        from app.io import atomic_write_bytes, save_draft

        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.take():
            raise OSError(f"cannot lock {self.lock.fileName()} ({self.lock.error().name})")
        save_draft(self.draft_file, mapping, source)
        meta = {
            "draft_path": str(document.draft_path) if document.draft_path else None,
            "export_paths": [str(p) for p in document.export_paths],
            "saved_at": time.time(),
        }
        atomic_write_bytes(self.meta_file, json.dumps(meta, indent=2).encode("utf-8"))

    def delete(self) -> None:
        """Remove the files, then the lock (last: until then no other window may take them)."""
        for path in (self.draft_file, self.meta_file):
            with contextlib.suppress(OSError):  # a folder that could never be written
                path.unlink(missing_ok=True)
        self.lock.unlock()

    def others(self) -> list[Session]:
        """The other sessions with a draft in the folder, newest first."""
        found = []
        for path in self.folder.glob(f"{PREFIX}*{DRAFT_SUFFIX}"):
            name = path.name.removesuffix(DRAFT_SUFFIX)
            if name.endswith(META_SUFFIX.removesuffix(DRAFT_SUFFIX)):
                continue
            session_id = name.removeprefix(PREFIX).removeprefix("-")
            with contextlib.suppress(OSError):  # gone meanwhile: its window closed
                if session_id != self.id:
                    found.append((path.stat().st_mtime, Session(self.folder, session_id)))
        return [session for _, session in sorted(found, key=lambda f: f[0], reverse=True)]


@dataclass
class Recovered:
    mapping: Mapping
    draft_path: Path | None
    export_paths: list[Path]
    saved_at: float
    session: Session  # locked by the window offering it, until it is restored or dropped
    source: dict[str, str] | None = None  # the live source its users came from (no token)


class Autosaver(QObject):
    failed = Signal(str)  # a save failed (full disk, read-only folder): the one-line reason

    def __init__(
        self, document: Document, folder: Path, parent: QObject | None = None,
        source: Callable[[], dict[str, str] | None] = lambda: None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.source = source  # the live source of the open users, saved with the draft
        self.folder = Path(folder)
        self.session = Session.new(self.folder)
        self._saved: Mapping | None = None
        self._shape: tuple | None = None
        self.timer = QTimer(self, interval=INTERVAL_MS)
        self.timer.timeout.connect(self.save_if_changed)
        self.timer.start()

    @property
    def draft_file(self) -> Path:
        return self.session.draft_file

    def mapping_changed(self) -> None:
        """Save at once on a structural change; cell edits wait for the timer."""
        mapping = self.document.mapping
        shape = (len(mapping.rows), mapping.options)
        if shape != self._shape:
            self.save_if_changed()

    def exports_changed(self) -> None:
        """Other users are open (an export, a live source): an unsaved session's restore must
        reopen or read them again."""
        if self.document.dirty:
            self.save()

    def save_if_changed(self) -> None:
        mapping = self.document.mapping
        if mapping == self._saved or not self.document.dirty:
            return
        self.save()

    def save(self) -> None:
        """Save now; a failure is reported by `failed` and retried at the next change or tick."""
        try:
            self._write()
        except (OSError, InputError) as exc:
            self.failed.emit(str(exc) if isinstance(exc, InputError) else
                             f"{exc.filename or self.folder}: {exc.strerror or exc}")

    def _write(self) -> None:
        mapping = self.document.mapping
        self.session.write(mapping, self.document, self.source())
        self._saved = mapping
        self._shape = (len(mapping.rows), mapping.options)

    def discard(self) -> None:
        """The window ended cleanly (or the draft was saved and closed): nothing to recover."""
        self.session.delete()
        self._saved = None

    def recover(self) -> Recovered | None:
        """The newest draft autosaved by a window that is gone (its lock taken now), if any is
        readable; drafts of windows still open are left alone."""
        if not self.folder.is_dir():
            return None
        for session in self.session.others():
            if session.take():
                found = _read(session)
                if found is not None:
                    return found
                session.lock.unlock()
        return None


def _read(session: Session) -> Recovered | None:
    from app.io import load_draft
    from app.io.drafts import load_draft_source

    try:
        mapping = load_draft(session.draft_file)
        meta_file = session.meta_file
        meta = json.loads(meta_file.read_text("utf-8")) if meta_file.exists() else {}
        saved_at = float(meta.get("saved_at", session.draft_file.stat().st_mtime))
    except (OSError, ValueError, InputError):
        return None
    draft = meta.get("draft_path")
    return Recovered(
        mapping=mapping,
        draft_path=Path(draft) if draft else None,
        export_paths=[Path(p) for p in meta.get("export_paths", [])],
        saved_at=saved_at,
        session=session,
        source=load_draft_source(session.draft_file),
    )
