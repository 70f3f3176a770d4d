"""The app's side of the sync journal: the source guard's question, then the run's journal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.core.errors import InputError

if TYPE_CHECKING:
    from app.ui.server.server_context import ServerContext


def begin_sync_journal(
    controller: ServerContext, plan: Any, settings: Any, expectations_ignored: bool = False
) -> Any:
    """Ask about a suspicious export, then open the run's journal, with what the admin chose
    to override (as the CLI's flags are journaled); None: do not sync."""
    from app.scim.sync.guards import plan_guards
    from app.scim.sync.record import RunJournal, source_change_since_last

    document = controller.document
    change = source_change_since_last(settings.url, plan.users)
    if change:
        what = "source" if document.source is not None else "export"
        box = QMessageBox(
            QMessageBox.Icon.Warning, f"This {what} looks different", "",
            parent=controller.dialog_parent(),
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(
            f"{change[0].upper()}{change[1:]}.\n\n"
            + ("A source that answered in part or a wrong attribute looks like this."
               if document.source is not None else
               "A half export, a wrong sheet or a wrong source column looks like this.")
            + f" Sync with this {what} anyway?"
        )
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        if box.exec() != QMessageBox.StandardButton.Yes:
            return None
    try:
        guards = plan_guards(plan, ignore_expectations=expectations_ignored,
                             allow_source_change=bool(change))
        return RunJournal.begin(
            plan, settings, document.mapping, [str(p) for p in document.export_paths],
            guards=guards, requests=plan.state.requests_by_kind, source=document.source,
        )
    except InputError as exc:  # the folder cannot be written: say so, do not sync unrecorded
        controller.show_error(exc)
        return None
