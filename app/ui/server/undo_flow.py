"""Undo a journaled sync from the app: read the server, preview the inverse, apply it.

The inverse is shown in the sync's own preview dialog (app/ui/server/sync_preview.py), with
the CLI's option to delete the groups the run created, then applied through the controller's
sync window, so progress, log, Cancel, result, Retry and the report are the sync's own; the
undo is journaled as a run of its own (app/scim/sync/undo.py).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QBoxLayout, QCheckBox, QTreeWidgetItem, QWidget

from app.core.errors import InputError
from app.io.journal import RunRecord, find_run, list_runs
from app.io.journal_text import when
from app.ui.server.sync_preview import PlanDialog, plural

if TYPE_CHECKING:
    from app.ui.server.server_context import ServerContext


def undo_plan_task(state: Any, profile: Any, token: str, run: RunRecord, settings: Any) -> Any:
    from app.scim.sync.undo import plan_undo

    with profile.client(token) as client:
        later = list_runs(run.url)  # a membership a later run changed is left as is
        return plan_undo(client, run, settings, cancelled=state.is_cancelled, later=later)


def undo_task(
    state: Any, profile: Any, token: str, undo: Any, settings: Any, delete_created: bool = False
) -> Any:
    """Apply the inverse as a journaled run; returns its SyncResult for the sync window.
    `delete_created`: then delete the groups the run created, if empty (as the CLI's
    --delete-created-groups)."""
    from dataclasses import replace

    from app.scim.sync.undo import apply_undo
    from app.ui.server.sync_tasks import _write

    undo.plan = replace(undo.plan, settings=settings)
    return _write(
        state,
        profile,
        token,
        lambda c, p, k, log: apply_undo(
            c, undo, settings, p, k, log, delete_created_groups=delete_created
        )[0],
    )


class UndoFlow:
    """Read the server, preview the inverse, then apply it with the sync window's progress."""

    def __init__(self, controller: ServerContext, parent: QWidget | None = None) -> None:
        self.controller = controller
        self.parent = parent
        self.dialog: PlanDialog | None = None

    def start(self, run_id: int) -> None:
        c = self.controller
        if c.profile is None or c.task is not None:
            return
        try:
            run = find_run(run_id)
        except InputError as error:  # the run's file went away since the list was read
            c.show_error(error)
            return
        c.start_read(
            f"Reading {c.profile.name} to undo run {run_id}…",
            undo_plan_task,
            c.profile,
            c.token,
            run,
            c.sync_settings(),
            on_done=self.show_plan,
        )

    def show_plan(self, undo: Any) -> PlanDialog:
        dialog = PlanDialog(undo.plan, self.parent or self.controller.dialog_parent())
        dialog.setWindowTitle(f"Undo run {undo.run.run_id}")
        dialog.sync_button.setText("&Undo now")
        started = when(str(undo.run.start.get("at", "")))
        text = f"Undo of run {undo.run.run_id} ({started} UTC): {dialog.summary.text()}"
        if undo.left_as_is:
            text += (
                f"\n{len(undo.left_as_is):,} of the run's changes changed since and are left as "
                "is (listed last)."
            )
        dialog.summary.setText(text)
        if undo.left_as_is:
            item = QTreeWidgetItem(
                [f"Changed since, left as is ({len(undo.left_as_is):,})", "", ""]
            )
            item.addChildren([QTreeWidgetItem([x.describe(), "", ""]) for x in undo.left_as_is])
            dialog.tree.addTopLevelItem(item)
        created = sorted(undo.created_groups)
        delete = QCheckBox(
            f"Also &delete the {plural(len(created), 'group')} the run created "
            f"({', '.join(created[:3])}{', …' if len(created) > 3 else ''}), if then empty",
            dialog,
        )
        delete.setToolTip("As 'groupmap undo --delete-created-groups': a group that still has "
                          "members, or an undo with failures, keeps its groups")
        delete.setVisible(bool(created))
        layout = dialog.layout()
        assert isinstance(layout, QBoxLayout)
        layout.insertWidget(layout.indexOf(dialog.buttons), delete)
        self.delete_created = delete
        dialog.accepted.connect(
            lambda: self.apply(undo, dialog.allow_mass_removal, delete.isChecked())
        )
        self.dialog = dialog
        dialog.open()
        return dialog

    def apply(self, undo: Any, allow_mass_removal: bool, delete_created: bool = False) -> None:
        c = self.controller
        if c.profile is None:
            return
        if c.window.tasks.busy:  # the read is finishing: start right after it
            c.window.tasks.then(lambda: self.apply(undo, allow_mass_removal, delete_created))
            return
        c.run_write(f"Undoing run {undo.run.run_id} on {c.profile.name}…",
                     partial(undo_task, delete_created=delete_created), undo,
                     c.sync_settings(allow_mass_removal, undo.plan))
