"""The file side's names and small dialogs: which files open, the error dialog, the restore
question, the source column to preselect, the path a save dialog's answer means."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import cast

from PySide6.QtWidgets import QGridLayout, QMessageBox, QSizePolicy, QSpacerItem, QWidget

from app.scim.http.redact import redact_url
from app.ui.files.autosave import Recovered

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


def likely_source(columns: list[str], wanted: str = "") -> int:
    """The column to preselect: one named like `wanted` ("Identity Provider Grp" for
    "Identity Provider Group"), else the first that is not a name, email, status or group."""
    folded = [c.strip().casefold() for c in columns]
    close = difflib.get_close_matches(wanted.strip().casefold(), folded, n=1, cutoff=0.75)
    if close:
        return folded.index(close[0])
    return next((i for i, c in enumerate(folded) if c not in OTHER_ROLES), 0)


def restore_question(found: Recovered, when: str) -> str:
    """What the restore prompt asks: which draft, how big, with which exports; No discards it."""
    name = found.draft_path.name if found.draft_path else "the unsaved draft"
    rows = len(found.mapping.rows)
    what = f"{name} ({rows:,} {'row' if rows == 1 else 'rows'}"
    exports = ", ".join(p.name for p in found.export_paths)
    source = found.source
    if exports:
        what += f", with {exports})"
    elif source:
        what += (f", with the users of {redact_url(source['url'])} "
                 f"({source['kind']}:{source['attribute']}), read again)")
    else:
        what += ")"
    return (f"GroupMap did not close properly last time. Restore {what}, autosaved at {when}?"
            "\n\nNo deletes the autosaved copy.")


def table_path(name: str, chosen_filter: str) -> Path:
    """The name typed in a save dialog, given the chosen type's extension if it has none
    (GroupMap writes only .xlsx and .csv and refuses other extensions)."""
    path = Path(name)
    if path.suffix:
        return path
    return path.with_suffix(".csv" if chosen_filter.startswith("CSV") else ".xlsx")


def error_dialog(parent: QWidget, title: str, path: Path | None, problem: str) -> QMessageBox:
    """A dialog naming the file and the problem (nothing was changed), opened window-modal."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, title, QMessageBox.StandardButton.Ok,
                      parent)
    where = f"File: {path}\n\n" if path else ""
    box.setInformativeText(f"{where}{problem}\n\nYour draft was not changed.")
    box.setObjectName("error-dialog")
    grid = cast(QGridLayout, box.layout())  # wide enough that a path and its problem read
    grid.addItem(QSpacerItem(ERROR_WIDTH, 0, QSizePolicy.Policy.Minimum,  # as lines, not a column
                             QSizePolicy.Policy.Fixed), grid.rowCount(), 0, 1, grid.columnCount())
    box.open()
    return box


def ask_replace_or_append(parent: QWidget, name: str, current: int, imported: int) -> str | None:
    """Import Mapping onto a grid with rows: "replace", "append" or None (cancelled); an empty
    grid is simply filled."""
    if not current:
        return "replace"
    box = QMessageBox(QMessageBox.Icon.Question, "Import Mapping",
                      f"Replace the {current:,} rows with the {imported:,} rows of {name}, or"
                      " append them below?", QMessageBox.StandardButton.NoButton, parent)
    box.setInformativeText("Append keeps your rows first, so they keep their priority. Either"
                           " way, one Undo brings the rows back.")
    replace = box.addButton("&Replace", QMessageBox.ButtonRole.DestructiveRole)
    append = box.addButton("A&ppend", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(box.addButton("&Cancel", QMessageBox.ButtonRole.RejectRole))
    box.exec()
    clicked = box.clickedButton()
    return "replace" if clicked is replace else "append" if clicked is append else None
