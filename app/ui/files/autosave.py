"""Autosave of the working draft to the user data directory, and recovery after a crash.

The draft is written (atomically, by app/io) every 30 s when it changed and right after each
structural change (rows added, removed, moved, options). A small JSON beside it remembers the
draft's own path and the open exports. A clean close deletes both; finding them at start means
the last session ended without closing, so the window offers to restore the draft.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.core.errors import InputError
from app.core.mapping import Mapping
from app.ui.base.document import Document

INTERVAL_MS = 30_000
DRAFT_NAME = "autosave.json"
META_NAME = "autosave-meta.json"


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("GroupMap", appauthor=False))


@dataclass
class Recovered:
    mapping: Mapping
    draft_path: Path | None
    export_paths: list[Path]
    saved_at: float


class Autosaver(QObject):
    failed = Signal(str)  # a save failed (full disk, read-only folder): the one-line reason

    def __init__(self, document: Document, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.folder = Path(folder)
        self._saved: Mapping | None = None
        self._shape: tuple | None = None
        self.timer = QTimer(self, interval=INTERVAL_MS)
        self.timer.timeout.connect(self.save_if_changed)
        self.timer.start()

    @property
    def draft_file(self) -> Path:
        return self.folder / DRAFT_NAME

    @property
    def meta_file(self) -> Path:
        return self.folder / META_NAME

    def mapping_changed(self) -> None:
        """Save at once on a structural change; cell edits wait for the timer."""
        mapping = self.document.mapping
        shape = (len(mapping.rows), mapping.options)
        if shape != self._shape:
            self.save_if_changed()

    def exports_changed(self) -> None:
        """Another export is open: an unsaved session's restore must reopen this one."""
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
        from app.io import atomic_write_bytes, save_draft

        mapping = self.document.mapping
        self.folder.mkdir(parents=True, exist_ok=True)
        save_draft(self.draft_file, mapping)
        meta = {
            "draft_path": str(self.document.draft_path) if self.document.draft_path else None,
            "export_paths": [str(p) for p in self.document.export_paths],
            "saved_at": time.time(),
        }
        atomic_write_bytes(self.meta_file, json.dumps(meta, indent=2).encode("utf-8"))
        self._saved = mapping
        self._shape = (len(mapping.rows), mapping.options)

    def discard(self) -> None:
        """The session ended cleanly (or the draft was saved and closed): nothing to recover."""
        for path in (self.draft_file, self.meta_file):
            with contextlib.suppress(OSError):  # a folder that could never be written
                path.unlink(missing_ok=True)
        self._saved = None

    def recover(self) -> Recovered | None:
        """The autosaved draft left by a session that did not close, if any and readable."""
        if not self.draft_file.exists():
            return None
        from app.io import load_draft

        try:
            mapping = load_draft(self.draft_file)
            meta = json.loads(self.meta_file.read_text("utf-8")) if self.meta_file.exists() else {}
        except (OSError, ValueError, InputError):
            return None
        draft = meta.get("draft_path")
        return Recovered(
            mapping=mapping,
            draft_path=Path(draft) if draft else None,
            export_paths=[Path(p) for p in meta.get("export_paths", [])],
            saved_at=float(meta.get("saved_at", self.draft_file.stat().st_mtime)),
        )
