"""The main window's files: open, save, import, export, autosave, restore, recent files.

`FileController` is owned by the window (`window.files`) and gets what it uses: the document
and its editor, the settings, the window as dialogs' parent, the status bar for messages and
the window's TaskRunner. Reading an export and writing a preview run in the background
(app/ui/base/worker.py) with the status bar's progress bar and Cancel; any error leaves the
current draft untouched.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QUrl, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QStatusBar, QWidget

from app.core.engine import Evaluation
from app.core.errors import InputError, SourceColumnMissing
from app.core.mapping import Mapping
from app.core.users import UserList
from app.core.warnings import Warning
from app.ui.base.document import Document
from app.ui.base.file_names import folder, remember, start_path
from app.ui.base.worker import Task, TaskRunner, TaskState
from app.ui.files.autosave import Autosaver, default_data_dir
from app.ui.files.file_dialogs import (
    DRAFT_FILTER,
    DRAFT_SUFFIXES,
    EXPORT_FILTER,
    EXPORT_SUFFIXES,
    TABLE_FILTER,
    error_dialog,
    likely_source,
    restore_question,
    table_path,
)
from app.ui.files.live_reads import READ_EXPORT, WAIT, LiveReads
from app.ui.files.mapping_import import import_mapping, offer_mapping
from app.ui.files.recent_files import RecentFiles
from app.ui.mapping.commands import MappingEditor

NEEDS_USERS = "Open an export first: the preview needs users."


def _read_users_task(state: TaskState, paths: list[Path], source_column: str) -> UserList:
    from app.io import read_users

    return read_users(paths, source_column=source_column, progress=state.set_progress,
                      cancelled=state.is_cancelled)


def _write_preview_task(state: TaskState, path: Path, evaluation: Evaluation,
                        warnings: list[Warning], about: list[tuple[str, str]]) -> Path:
    from app.io import write_preview

    write_preview(path, evaluation, warnings, progress=state.set_progress, about=about)
    return path


class FileController(QObject):
    """Opening, saving, importing and exporting for one window; autosave and its restore."""

    columnsFound = Signal(list)  # the export's columns, once the admin picked the source one

    def __init__(
        self, document: Document, editor: MappingEditor, settings: QSettings, parent: QWidget,
        status: QStatusBar, tasks: TaskRunner, data_dir: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.editor = editor
        self.settings = settings
        self.parent_widget = parent
        self.status = status
        self.tasks = tasks
        self.error_box: QMessageBox | None = None  # the last error dialog
        self.before_source = ""  # whose groups "Before" shows (the window keeps it current)
        self.live = LiveReads(document, editor, tasks, parent, self._say, self.show_error)
        self._source_attempt: str | None = None  # the source column of the last read
        self.recent = RecentFiles(settings, self.open_paths, parent)
        self.autosaver = Autosaver(document, data_dir or default_data_dir(), self,
                                   source=self.live.source_dict)
        self.autosaver.failed.connect(
            lambda reason: self._say(f"Autosave failed: {reason}", 15000))
        document.mappingChanged.connect(self._mapping_changed)
        document.usersChanged.connect(self.autosaver.exports_changed)  # restore reopens it

    def _say(self, text: str, timeout: int = 5000) -> None:
        self.status.showMessage(text, timeout)

    def _last_dir(self) -> str:
        return str(self.settings.value("lastDir", str(Path.home())))

    def _remember_dir(self, names: list[str]) -> None:
        self.settings.setValue("lastDir", str(Path(names[0]).parent))

    def show_error(self, title: str, path: Path | None, problem: str) -> None:
        """A dialog naming the file and the problem; nothing was changed."""
        self.error_box = error_dialog(self.parent_widget, title, path, problem)

    # --- opening -------------------------------------------------------------------------

    def droppable(self, urls: list[QUrl]) -> list[Path]:
        paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
        return [p for p in paths if p.suffix.lower() in EXPORT_SUFFIXES + DRAFT_SUFFIXES]

    def open_paths(self, names: list[str | Path]) -> None:
        """Open drafts (.json) and exports (.xlsx, .xlsm, .csv; several are combined)."""
        paths = [Path(p) for p in names]
        drafts = [p for p in paths if p.suffix.lower() in DRAFT_SUFFIXES]
        exports = [p for p in paths if p.suffix.lower() in EXPORT_SUFFIXES]
        others = [p for p in paths if p not in drafts and p not in exports]
        if others:
            self.show_error("Can't open this file", others[0],
                            "GroupMap opens exports (.xlsx, .xlsm, .csv) and drafts (.json).")
            return
        if drafts and self.confirm_discard("opening another draft"):
            self.open_draft(drafts[-1])
        if exports:
            self.import_users(exports)

    def open_dialog(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self.parent_widget, "Open", self._last_dir(),
            f"{DRAFT_FILTER};;{EXPORT_FILTER};;All files (*)")
        if names:
            self._remember_dir(names)
            self.open_paths(list(names))

    def open_export_dialog(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self.parent_widget, "Open Export", str(folder("export", self.settings)),
            EXPORT_FILTER)
        if names:
            self._remember_dir(names)
            remember("export", names[0], self.settings)
            self.import_users([Path(n) for n in names])

    def add_export_dialog(self) -> None:
        """Combine another export with the open one (active + pending users, as the CLI)."""
        names, _ = QFileDialog.getOpenFileNames(
            self.parent_widget, "Add Export", str(folder("export", self.settings)),
            EXPORT_FILTER)
        if names:
            self._remember_dir(names)
            remember("export", names[0], self.settings)
            self.add_exports([Path(n) for n in names])

    def add_exports(self, paths: list[Path]) -> None:
        current = list(self.document.export_paths)
        self.import_users(current + [p for p in paths if p not in current])

    def import_users(self, paths: list[Path], source_column: str | None = None) -> None:
        """Read exports in the background; the result replaces the users, errors change nothing.

        A read already running is superseded (the newest export wins); another task (a preview
        being written, the server being read) is waited for.
        """
        current = self.tasks.current
        if current is not None and current.key != READ_EXPORT:
            self._say(WAIT)
            return
        column = (source_column or self.document.mapping.options.source_column).strip()
        self._source_attempt = column
        names = ", ".join(p.name for p in paths)

        def done(users: UserList) -> None:
            self.live.source = None  # the users come from files now (before the autosave)
            self.document.set_users(users, paths)
            self._say(f"Opened {names}: {len(users):,} users.", 8000)
            for p in paths:
                self.recent.add(p)
            self.reimport_if_source_changed()  # the option changed (undo) while reading

        def failed(exc: BaseException) -> None:
            if isinstance(exc, SourceColumnMissing):
                self.pick_source_column(paths, exc)
            elif isinstance(exc, InputError) and len(paths) == 1 and offer_mapping(self, paths[0]):
                return  # a mapping table opened as an export: Import Mapping was offered
            elif isinstance(exc, InputError):
                self.show_error("Can't open the export", paths[0] if len(paths) == 1 else None,
                                str(exc))
            elif isinstance(exc, OSError):
                self.show_error("Can't open the export", Path(exc.filename or paths[0]),
                                exc.strerror or str(exc))
            else:
                self.show_error("Can't open the export", paths[0],
                                f"Unexpected error: {exc!r}. Check that the file is a user export.")

        task = self.tasks.start(_read_users_task, paths, column, label=f"Reading {names}…",
                                key=READ_EXPORT)
        task.done.connect(done)
        task.error.connect(failed)

    def pick_source_column(self, paths: list[Path], error: SourceColumnMissing) -> None:
        """Match your source field: the admin picks the column that holds the value."""
        wanted = self.document.mapping.options.source_column
        column, ok = QInputDialog.getItem(
            self.parent_widget, "Pick the source column",
            f"{paths[0].name} has no column {wanted!r}.\n"
            "Which column holds the value your mapping matches?",
            error.columns, likely_source(error.columns, wanted), False)
        if ok and column:
            self.columnsFound.emit(list(error.columns))
            self.editor.set_option("source_column", column, f"Source column {column!r}")
            if self.document.users is None or self.document.export_paths != paths:
                self.import_users(paths, column)

    def reimport_if_source_changed(self) -> None:
        """The source column option changed (edit, undo, draft): read the export again."""
        users = self.document.users
        column = self.document.mapping.options.source_column.strip()
        if (users is not None and self.document.export_paths
                and column not in (users.source_column, self._source_attempt)):
            self.import_users(self.document.export_paths, column)

    # --- drafts --------------------------------------------------------------------------

    def confirm_discard(self, doing: str) -> bool:
        """Ask before losing unsaved changes; True to go on."""
        if not self.document.dirty:
            return True
        answer = QMessageBox.question(
            self.parent_widget, "Unsaved changes",
            f"The draft {self.document.draft_name} has unsaved changes. Save them before {doing}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_draft(self) -> None:
        if self.confirm_discard("starting a new draft"):
            options = self.document.mapping.options
            self.editor.reset(Mapping().with_options(source_column=options.source_column))
            self.document.draft_path = None
            self.autosaver.discard()

    def open_draft(self, path: Path) -> bool:
        from app.io import load_draft
        from app.io.drafts import load_draft_source

        try:
            mapping = load_draft(path)
        except InputError as exc:
            self.show_error("Can't open the draft", path, str(exc))
            return False
        self.editor.reset(mapping)
        self.document.draft_path = path
        self.recent.add(path)
        self.reimport_if_source_changed()
        self.live.read_saved(load_draft_source(path))  # its live source, read again
        return True

    def open_mapping(self, path: Path) -> bool:
        """Start from a mapping table (.csv, .xlsx) or a draft (.json), as `--mapping` does."""
        if path.suffix.lower() in DRAFT_SUFFIXES:
            return self.open_draft(path)
        from app.io import read_mapping

        try:
            mapping = read_mapping(path)
        except (OSError, InputError) as exc:
            self.show_error("Can't open the mapping", path, str(exc))
            return False
        options = self.document.mapping.options
        self.editor.reset(mapping.with_options(source_column=options.source_column))
        self.document.draft_path = None
        return True

    def save(self) -> bool:
        if self.document.draft_path is None:
            return self.save_as()
        return self.save_to(self.document.draft_path)

    def save_as(self) -> bool:
        start = self.document.draft_path or Path(self._last_dir()) / "mapping.json"
        name, _ = QFileDialog.getSaveFileName(
            self.parent_widget, "Save Draft As", str(start), DRAFT_FILTER)
        if not name:
            return False
        path = Path(name)
        if path.suffix.lower() != ".json":
            path = path.with_suffix(".json")
        return self.save_to(path)

    def save_to(self, path: Path) -> bool:
        from app.io import save_draft

        try:
            save_draft(path, self.document.mapping, self.live.source_dict())
        except (OSError, InputError) as exc:
            self.show_error("Can't save the draft", path, str(exc))
            return False
        self.document.draft_path = path
        self.editor.mark_saved()
        self.recent.add(path)
        self.autosaver.discard()
        self._say(f"Saved {path.name}.")
        return True

    # --- mapping tables and preview export -----------------------------------------------

    def import_mapping_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self.parent_widget, "Import Mapping", str(folder("mapping", self.settings)),
            "Mapping tables (*.xlsx *.csv *.json)")
        if name:
            remember("mapping", name, self.settings)
            import_mapping(self, Path(name))

    def export_mapping_dialog(self) -> None:
        from app.io import write_mapping

        name, chosen = QFileDialog.getSaveFileName(
            self.parent_widget, "Export Mapping",
            start_path("mapping", "mapping", self._draft_stem(), settings=self.settings),
            TABLE_FILTER)
        if not name:
            return
        remember("mapping", name, self.settings)
        path = table_path(name, chosen)
        try:
            write_mapping(path, self.document.mapping)
        except (OSError, InputError) as exc:
            self.show_error("Can't export the mapping", path, str(exc))
            return
        self._say(f"Exported the mapping to {path.name}.")

    def export_preview_dialog(self) -> None:
        if self.document.evaluation is None:
            self._say(NEEDS_USERS)
            return
        name, chosen = QFileDialog.getSaveFileName(
            self.parent_widget, "Export Preview",
            start_path("report", "preview", self._draft_stem(), settings=self.settings),
            TABLE_FILTER)
        if name:
            remember("report", name, self.settings)
            self.export_preview(table_path(name, chosen))

    def export_preview(self, path: Path) -> Task[Path] | None:
        """Write the preview in the background; refused while another task is shown."""
        evaluation = self.document.evaluation
        if evaluation is None or self.tasks.current is not None:
            self._say(NEEDS_USERS if evaluation is None else WAIT)
            return None
        document = self.document
        about = [("Export files", ", ".join(str(p) for p in document.export_paths)),
                 ("Draft", str(document.draft_path or f"{document.draft_name} (not saved)")),
                 ("Before (current groups)", self.before_source or "the export")]
        task = self.tasks.start(_write_preview_task, path, evaluation,
                                list(document.warnings), about, label=f"Writing {path.name}…")
        task.done.connect(lambda p: self._say(f"Exported the preview to {p}.", 8000))
        task.error.connect(
            lambda exc: self.show_error("Can't export the preview", path, str(exc)))
        return task

    def _draft_stem(self) -> str:
        """What a report or table is named after: the draft, else the (first) export."""
        path = self.document.draft_path or next(iter(self.document.export_paths), None)
        return path.stem if path is not None else ""

    # --- autosave ------------------------------------------------------------------------

    def _mapping_changed(self) -> None:
        self.autosaver.mapping_changed()
        self.reimport_if_source_changed()

    def finish_autosave(self) -> None:
        """The window closes cleanly: nothing to restore at the next start."""
        self.autosaver.discard()

    def offer_restore(self) -> bool:
        """After a crash: offer the autosaved draft; True if it was restored."""
        found = self.autosaver.recover()
        if found is None:
            return False
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.saved_at))
        answer = QMessageBox.question(
            self.parent_widget, "Restore draft?", restore_question(found, when),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            found.session.delete()  # the dead window's copy; this window's own is untouched
            return False
        self.editor.reset(found.mapping)
        self.document.draft_path = found.draft_path
        self.document.dirty = True
        exports = [p for p in found.export_paths if p.exists()]
        self.live.read_saved(None if exports else found.source)  # read again, as a draft's
        self.autosaver.save()
        if self.autosaver.draft_file.exists():  # this window's own autosave holds it now
            found.session.delete()
        if exports:
            self.import_users(exports)
        return True

