"""The main window's file side: open, save, import, export, autosave.

A mixin of MainWindow, kept apart so the window module stays about layout and wiring.
Reading an export and writing a preview run in the background (app/ui/worker.py) with the
status bar's progress bar and Cancel; any error leaves the current draft untouched.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QSizePolicy,
    QSpacerItem,
)

from app.core.errors import InputError, SourceColumnMissing
from app.core.mapping import Mapping
from app.ui.autosave import Autosaver, default_data_dir
from app.ui.worker import Task, TaskRunner

EXPORT_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".tsv", ".txt")
DRAFT_SUFFIXES = (".json",)
EXPORT_FILTER = "User exports (*.xlsx *.xlsm *.csv *.tsv *.txt)"
DRAFT_FILTER = "GroupMap drafts (*.json)"
TABLE_FILTER = "Excel workbook (*.xlsx);;CSV (*.csv)"


ERROR_WIDTH = 480  # px: the error dialog's minimum width
OTHER_ROLES = {  # headers that hold something else than the value to map
    "name", "full name", "first name", "last name", "given name", "surname", "family name",
    "email", "e-mail", "email address", "e-mail address", "username", "status", "group",
    "groups", "current group", "current groups",
}


def _likely_source(columns: list[str], wanted: str = "") -> int:
    """The column to preselect: one named like `wanted` ("Identity Provider Grp" for
    "Identity Provider Group"), else the first that is not a name, email, status or group."""
    folded = [c.strip().casefold() for c in columns]
    close = difflib.get_close_matches(wanted.strip().casefold(), folded, n=1, cutoff=0.75)
    if close:
        return folded.index(close[0])
    return next((i for i, c in enumerate(folded) if c not in OTHER_ROLES), 0)


def restore_question(found, when: str) -> str:
    """What the restore prompt asks: which draft, how big, with which exports; No discards it."""
    name = found.draft_path.name if found.draft_path else "the unsaved draft"
    rows = len(found.mapping.rows)
    what = f"{name} ({rows:,} {'row' if rows == 1 else 'rows'}"
    exports = ", ".join(p.name for p in found.export_paths)
    what += f", with {exports})" if exports else ")"
    return (f"GroupMap did not close properly last time. Restore {what}, autosaved at {when}?"
            "\n\nNo deletes the autosaved copy.")


def _table_path(name: str, chosen_filter: str) -> Path:
    """The name typed in a save dialog, given the chosen type's extension if it has none
    (GroupMap writes only .xlsx and .csv and refuses other extensions)."""
    path = Path(name)
    if path.suffix:
        return path
    return path.with_suffix(".csv" if chosen_filter.startswith("CSV") else ".xlsx")


def _read_users_task(state, paths: list[Path], source_column: str):
    from app.io import read_users

    return read_users(paths, source_column=source_column, progress=state.set_progress,
                      cancelled=state.is_cancelled)


def _write_preview_task(state, path: Path, evaluation, warnings) -> Path:
    from app.io import write_preview

    write_preview(path, evaluation, warnings, progress=state.set_progress)
    return path


class FileActions:
    """Mixin: expects document, editor, settings, progress, cancel_button, statusBar()."""

    def init_files(self, data_dir: Path | None) -> None:
        self.autosaver = Autosaver(self.document, data_dir or default_data_dir(), self)
        self.autosaver.failed.connect(
            lambda reason: self.statusBar().showMessage(f"Autosave failed: {reason}", 15000))
        self.tasks = TaskRunner(self)  # every background task of the window, the sync's too
        self.task: Task | None = None
        self.cancel_button.clicked.connect(self.cancel_task)

    # --- background tasks ----------------------------------------------------------------

    def run_in_background(
        self, label: str, fn: Callable[..., Any], *args: Any,
        on_done: Callable[[Any], None], on_error: Callable[[BaseException], None],
    ) -> Task:
        """Run fn(state, *args) off the UI thread with the status bar's progress and Cancel."""
        self.statusBar().showMessage(label)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        task = self.tasks.start(fn, *args)
        self.task = task
        task.progress.connect(self._task_progress)

        def then(callback: Callable[..., None]) -> Callable[..., None]:
            def run(*result: Any) -> None:
                self._task_finished()  # the callback may start the next task
                callback(*result)

            return run

        task.done.connect(then(on_done))
        task.error.connect(then(on_error))
        task.cancelled.connect(then(lambda: self.statusBar().showMessage("Cancelled.", 5000)))
        return task

    def _task_progress(self, value: Any) -> None:
        if isinstance(value, float | int):
            self.progress.setValue(int(max(0.0, min(1.0, float(value))) * 1000))

    def _task_finished(self) -> None:
        self.task = None
        self.statusBar().clearMessage()
        self.progress.hide()
        self.cancel_button.hide()

    def cancel_task(self) -> None:
        if self.task is not None:
            self.cancel_button.setEnabled(False)
            self.statusBar().showMessage("Cancelling…")
            self.task.cancel()

    def show_error(self, title: str, path: Path | None, problem: str) -> None:
        """A dialog naming the file and the problem; nothing was changed."""
        box = QMessageBox(QMessageBox.Icon.Critical, title, title, QMessageBox.StandardButton.Ok,
                          self)
        where = f"File: {path}\n\n" if path else ""
        box.setInformativeText(f"{where}{problem}\n\nYour draft was not changed.")
        box.setObjectName("error-dialog")
        grid = box.layout()  # wide enough that a path and its problem read as lines, not a column
        grid.addItem(QSpacerItem(ERROR_WIDTH, 0, QSizePolicy.Policy.Minimum,
                                 QSizePolicy.Policy.Fixed), grid.rowCount(), 0, 1,
                     grid.columnCount())
        box.open()
        self.error_box = box

    # --- opening -------------------------------------------------------------------------

    def droppable(self, urls: list[QUrl]) -> list[Path]:
        paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
        return [p for p in paths if p.suffix.lower() in EXPORT_SUFFIXES + DRAFT_SUFFIXES]

    def open_paths(self, paths: list[str | Path]) -> None:
        """Open drafts (.json) and exports (.xlsx, .xlsm, .csv; several are combined)."""
        paths = [Path(p) for p in paths]
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
        start = str(self.settings.value("lastDir", str(Path.home())))
        names, _ = QFileDialog.getOpenFileNames(
            self, "Open", start, f"{DRAFT_FILTER};;{EXPORT_FILTER};;All files (*)")
        if names:
            self.settings.setValue("lastDir", str(Path(names[0]).parent))
            self.open_paths(names)

    def open_export_dialog(self) -> None:
        start = str(self.settings.value("lastDir", str(Path.home())))
        names, _ = QFileDialog.getOpenFileNames(self, "Open Export", start, EXPORT_FILTER)
        if names:
            self.settings.setValue("lastDir", str(Path(names[0]).parent))
            self.import_users([Path(n) for n in names])

    def add_export_dialog(self) -> None:
        """Combine another export with the open one (active + pending users, as the CLI)."""
        start = str(self.settings.value("lastDir", str(Path.home())))
        names, _ = QFileDialog.getOpenFileNames(self, "Add Export", start, EXPORT_FILTER)
        if names:
            self.settings.setValue("lastDir", str(Path(names[0]).parent))
            self.add_exports([Path(n) for n in names])

    def add_exports(self, paths: list[Path]) -> None:
        current = list(self.document.export_paths)
        self.import_users(current + [p for p in paths if p not in current])

    def import_users(self, paths: list[Path], source_column: str | None = None) -> None:
        """Read exports in the background; the result replaces the users, errors change nothing."""
        if self.task is not None:
            self.statusBar().showMessage("Wait for the running task, or cancel it.", 5000)
            return
        column = (source_column or self.document.mapping.options.source_column).strip()
        self._source_attempt = column
        names = ", ".join(p.name for p in paths)

        def done(users) -> None:
            self.document.set_users(users, paths)
            self.statusBar().showMessage(f"Opened {names}: {len(users):,} users.", 8000)
            for p in paths:
                self.add_recent(p)
            self.reimport_if_source_changed()  # the option changed (undo) while reading

        def failed(exc: BaseException) -> None:
            if isinstance(exc, SourceColumnMissing):
                self.pick_source_column(paths, exc)
            elif isinstance(exc, InputError):
                self.show_error("Can't open the export", paths[0] if len(paths) == 1 else None,
                                str(exc))
            elif isinstance(exc, OSError):
                self.show_error("Can't open the export", Path(exc.filename or paths[0]),
                                exc.strerror or str(exc))
            else:
                self.show_error("Can't open the export", paths[0],
                                f"Unexpected error: {exc!r}. Check that the file is a user export.")

        self.run_in_background(f"Reading {names}…", _read_users_task, paths, column,
                               on_done=done, on_error=failed)

    def pick_source_column(self, paths: list[Path], error: SourceColumnMissing) -> None:
        """Match your source field: the admin picks the column that holds the value."""
        column, ok = QInputDialog.getItem(
            self, "Pick the source column",
            f"{paths[0].name} has no column "
            f"{self.document.mapping.options.source_column!r}.\n"
            "Which column holds the value your mapping matches?",
            error.columns,
            _likely_source(error.columns, self.document.mapping.options.source_column), False)
        if ok and column:
            self.options_panel.set_columns(error.columns)
            self.editor.set_option("source_column", column, f"Source column {column!r}")
            if self.document.users is None or self.document.export_paths != paths:
                self.import_users(paths, column)

    def reimport_if_source_changed(self) -> None:
        """The source column option changed (edit, undo, draft): read the export again."""
        users = self.document.users
        column = self.document.mapping.options.source_column.strip()
        attempted = getattr(self, "_source_attempt", None)
        if (users is not None and self.document.export_paths
                and column not in (users.source_column, attempted)):
            self.import_users(self.document.export_paths, column)

    # --- drafts --------------------------------------------------------------------------

    def confirm_discard(self, doing: str) -> bool:
        """Ask before losing unsaved changes; True to go on."""
        if not self.document.dirty:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes",
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

        try:
            mapping = load_draft(path)
        except InputError as exc:
            self.show_error("Can't open the draft", path, str(exc))
            return False
        self.editor.reset(mapping)
        self.document.draft_path = path
        self.add_recent(path)
        self.reimport_if_source_changed()
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
        return self._save_to(self.document.draft_path)

    def save_as(self) -> bool:
        start = self.document.draft_path or Path(
            str(self.settings.value("lastDir", str(Path.home())))) / "mapping.json"
        name, _ = QFileDialog.getSaveFileName(self, "Save Draft As", str(start), DRAFT_FILTER)
        if not name:
            return False
        path = Path(name)
        if path.suffix.lower() != ".json":
            path = path.with_suffix(".json")
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        from app.io import save_draft

        try:
            save_draft(path, self.document.mapping)
        except (OSError, InputError) as exc:
            self.show_error("Can't save the draft", path, str(exc))
            return False
        self.document.draft_path = path
        self.editor.mark_saved()
        self.add_recent(path)
        self.autosaver.discard()
        self.statusBar().showMessage(f"Saved {path.name}.", 5000)
        return True

    # --- mapping tables and preview export -----------------------------------------------

    def import_mapping_dialog(self) -> None:
        from app.io import read_mapping

        start = str(self.settings.value("lastDir", str(Path.home())))
        name, _ = QFileDialog.getOpenFileName(
            self, "Import Mapping", start, "Mapping tables (*.xlsx *.csv *.json)")
        if not name:
            return
        try:
            imported = read_mapping(Path(name))
        except (OSError, InputError) as exc:
            self.show_error("Can't import the mapping", Path(name), str(exc))
            return
        mapping = imported if name.lower().endswith(".json") else (
            self.document.mapping.with_rows(imported.rows))
        self.editor.push(mapping, f"Import mapping from {Path(name).name}",
                         list(range(len(mapping.rows))))

    def export_mapping_dialog(self) -> None:
        from app.io import write_mapping

        name, chosen = QFileDialog.getSaveFileName(
            self, "Export Mapping", str(self._export_start("mapping.xlsx")), TABLE_FILTER)
        if not name:
            return
        path = _table_path(name, chosen)
        try:
            write_mapping(path, self.document.mapping)
        except (OSError, InputError) as exc:
            self.show_error("Can't export the mapping", path, str(exc))
            return
        self.statusBar().showMessage(f"Exported the mapping to {path.name}.", 5000)

    def export_preview_dialog(self) -> None:
        evaluation = self.document.evaluation
        if evaluation is None:
            self.statusBar().showMessage("Open an export first: the preview needs users.", 5000)
            return
        name, chosen = QFileDialog.getSaveFileName(
            self, "Export Preview", str(self._export_start("preview.xlsx")), TABLE_FILTER)
        if name:
            self.export_preview(_table_path(name, chosen))

    def export_preview(self, path: Path) -> Task | None:
        if self.task is not None:
            self.statusBar().showMessage("Wait for the running task, or cancel it.", 5000)
            return None
        return self.run_in_background(
            f"Writing {path.name}…", _write_preview_task, path, self.document.evaluation,
            list(self.document.warnings),
            on_done=lambda p: self.statusBar().showMessage(f"Exported the preview to {p}.", 8000),
            on_error=lambda exc: self.show_error("Can't export the preview", path, str(exc)))

    def _export_start(self, default: str) -> Path:
        folder = Path(str(self.settings.value("lastDir", str(Path.home()))))
        if self.document.draft_path is not None:
            return folder / f"{self.document.draft_path.stem}-{default}"
        return folder / default

    # --- autosave ------------------------------------------------------------------------

    def schedule_autosave(self) -> None:
        self.autosaver.mapping_changed()
        self.reimport_if_source_changed()

    def finish_autosave(self) -> None:
        self.autosaver.discard()

    def offer_restore(self) -> bool:
        """After a crash: offer the autosaved draft; True if it was restored."""
        found = self.autosaver.recover()
        if found is None:
            return False
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.saved_at))
        answer = QMessageBox.question(
            self, "Restore draft?", restore_question(found, when),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            self.autosaver.discard()
            return False
        self.editor.reset(found.mapping)
        self.document.draft_path = found.draft_path
        self.document.dirty = True
        exports = [p for p in found.export_paths if p.exists()]
        if exports:
            self.import_users(exports)
        return True
