"""Import Mapping: replace the grid's rows with a mapping table's or append them (asked when
the grid has rows), and File ▸ Open on a mapping table offering to import it."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.errors import InputError
from app.ui.base.document import Document
from app.ui.files.file_dialogs import ask_replace_or_append
from app.ui.mapping.commands import MappingEditor


class FileController(Protocol):
    """What the import needs of app/ui/files/file_controller.py's FileController."""

    parent_widget: QWidget
    document: Document
    editor: MappingEditor

    def show_error(self, title: str, path: Path | None, problem: str) -> None: ...


def offer_mapping(files: FileController, path: Path) -> bool:
    """A file that is no user export but reads as a mapping table: ask to import it (True:
    the admin was asked, there is no error to show)."""
    from app.io import read_mapping

    try:
        rows = len(read_mapping(path).rows)
    except (OSError, InputError):
        return False
    answer = QMessageBox.question(
        files.parent_widget, "Import Mapping",
        f"{path.name} is a mapping table ({rows:,} row{'' if rows == 1 else 's'}), not a user"
        " export. Import it as the"
        " mapping?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Yes)
    if answer == QMessageBox.StandardButton.Yes:
        import_mapping(files, path)
    return True


def import_mapping(files: FileController, path: Path) -> None:
    """The table's rows replace the grid's or go below them (a draft's options come along
    on replace); one undo step either way."""
    from app.io import read_mapping

    try:
        imported = read_mapping(path)
    except (OSError, InputError) as exc:
        files.show_error("Can't import the mapping", path, str(exc))
        return
    current = files.document.mapping
    how = ask_replace_or_append(files.parent_widget, path.name, len(current.rows),
                                len(imported.rows))
    if how is None:
        return
    if how == "append":  # the rows go below the current ones; the options stay
        mapping = current.with_rows(current.rows + imported.rows)
        select = list(range(len(current.rows), len(mapping.rows)))
    else:
        mapping = imported if path.suffix.lower() == ".json" else (
            current.with_rows(imported.rows))
        select = list(range(len(mapping.rows)))
    files.editor.push(mapping, f"Import mapping from {path.name}", select)
