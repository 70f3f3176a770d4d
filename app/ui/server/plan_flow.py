"""Plans for approval in the app: "Save plan for approval…" and "Apply saved plan…".

A plan is saved from the Preview changes dialog (app/scim/sync/planfile.py writes the same file as
`groupmap sync --dry-run --plan-out`). Server ▸ Apply saved plan… reads one, checks it
against the connected server in the background (digest, server, touched groups unchanged),
shows it with its code and any staleness in the sync's own preview dialog, and applies
exactly its operations through the sync window, journaled like `groupmap apply`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QMessageBox, QWidget

from app.core.errors import InputError
from app.scim.http.redact import redact_url
from app.ui.base.file_names import remember, start_path
from app.ui.server.sync_preview import PlanDialog, plural

if TYPE_CHECKING:
    from app.ui.server.server_context import ServerContext


def stale_task(state: Any, profile: Any, token: str, saved: Any) -> list[str]:
    """What changed on the server since the plan (the write gate's check, app/scim/sync/gate.py;
    the gate checks again when Apply plan is pressed)."""
    from app.scim.sync.gate import plan_changes
    from app.scim.sync.planfile import saved_settings, sync_plan

    settings = saved_settings(saved, profile.sync_settings(token))
    with profile.client(token) as client:
        changes, _ = plan_changes(client, sync_plan(saved, settings), settings,
                                  state.is_cancelled)
        return changes


def add_save_button(dialog: PlanDialog, controller: ServerContext) -> None:
    """The Preview changes dialog's "Save plan for approval…" (group plans only)."""
    button = dialog.buttons.addButton(
        "Save plan for a&pproval…", QDialogButtonBox.ButtonRole.ActionRole
    )
    button.setToolTip(
        "Save this plan as a file another admin can review; it is applied exactly as saved "
        "(Server ▸ Apply saved plan…, or groupmap apply)"
    )
    button.setEnabled(dialog.has_changes and dialog.plan.settings.target == "groups")
    button.clicked.connect(lambda: save_plan_file(dialog, controller))
    dialog.save_plan_button = button


def save_plan_file(dialog: PlanDialog, controller: ServerContext) -> Path | None:
    from app.scim.sync.guards import plan_guards, plan_stops
    from app.scim.sync.planfile import save_plan

    server = controller.profile.name if controller.profile is not None else ""
    name, _ = QFileDialog.getSaveFileName(
        dialog, "Save plan for approval", start_path("plan", "plan", server, ".json"),
        "GroupMap plan (*.json)"
    )
    if not name:
        return None
    remember("plan", name)
    path = Path(name) if Path(name).suffix else Path(name).with_suffix(".json")
    document = controller.document
    try:
        stops = plan_stops(dialog.plan, document.mapping)  # what stops `sync --plan-out`
        if stops:
            raise InputError("\n\n".join(stops))
        guards = plan_guards(dialog.plan, ignore_expectations=False, allow_source_change=False)
        saved = save_plan(path, dialog.plan, document.mapping, document.export_paths, guards)
    except InputError as error:
        _message(dialog, QMessageBox.Icon.Warning, str(error))
        return None
    dialog.saved_code = saved.code  # the exported plan's Summary names it
    _message(
        dialog,
        QMessageBox.Icon.Information,
        f"Saved plan {saved.code} to {path}.\n\nThe approver compares this code, then applies "
        "the file with Server ▸ Apply saved plan… or 'groupmap apply'. It is refused if the "
        "server's groups change before then.",
    )
    return path


class SavedPlanFlow:
    """Read a plan file, check it against the connected server, preview it, apply it."""

    def __init__(self, controller: ServerContext) -> None:
        self.controller = controller
        self.dialog: PlanDialog | None = None

    def choose(self) -> None:
        c = self.controller
        if c.profile is None or c.task is not None:
            return
        name, _ = QFileDialog.getOpenFileName(
            c.dialog_parent(), "Apply saved plan", "", "GroupMap plan (*.json);;All files (*)"
        )
        if name:
            self.open(Path(name))

    def open(self, path: Path) -> None:
        from app.scim.sync.planfile import read_plan

        c = self.controller
        profile = c.profile
        if profile is None:
            return
        try:
            saved = read_plan(path)
        except InputError as error:
            c.show_error(error)
            return
        if not saved.fits_server(profile.url):
            c.show_error(
                InputError(
                    f"plan {saved.code} was made for {saved.url}, not {redact_url(profile.url)} "
                    f"({profile.name}): user and group ids differ between servers, so "
                    "connect to the plan's server, or make a new plan"
                )
            )
            return
        c.start_read(
            f"Checking plan {saved.code} against {profile.name}…",
            stale_task,
            profile,
            c.token,
            saved,
            on_done=lambda stale: self.show(saved, stale),
        )

    def show(self, saved: Any, stale: list[str]) -> PlanDialog:
        from app.scim.sync.guards import overridden
        from app.scim.sync.planfile import saved_settings, sync_plan

        c = self.controller
        settings = saved_settings(saved, c.sync_settings())
        plan = sync_plan(saved, settings)
        dialog = PlanDialog(plan, c.dialog_parent(), can_sync=not stale)
        dialog.setWindowTitle(f"Apply saved plan {saved.code}")
        dialog.sync_button.setText("&Apply plan")
        made = saved.content.get("created_by") or "someone"
        text = f"Plan {saved.code}, made {saved.content['created']} by {made}: "
        text += dialog.summary.text()
        for line in overridden(saved.content["guard"].get("overrides") or {}):
            text += f"\nNote: {line}."
        if stale:
            text += (
                f"\n\nThis plan no longer fits the server ({plural(len(stale), 'change')} "
                "since it was made), so it cannot be applied: make a new plan and "
                "have it approved.\n" + "\n".join(f"  • {line}" for line in stale)
            )
        dialog.summary.setText(text)
        dialog.accepted.connect(lambda: self.apply(saved, plan, dialog.allow_mass_removal))
        self.dialog = dialog
        dialog.open()
        return dialog

    def apply(self, saved: Any, plan: Any, allow_mass_removal: bool) -> None:
        from app.scim.sync.estimate import watched_settings
        from app.scim.sync.planfile import saved_settings
        from app.scim.sync.record import RunJournal
        from app.ui.server.sync_tasks import sync_task

        c = self.controller
        if c.profile is None:
            return
        if c.window.tasks.busy:  # the check is finishing: start right after it
            c.window.tasks.then(lambda: self.apply(saved, plan, allow_mass_removal))
            return
        connection = c.sync_settings(allow_mass_removal)
        settings = watched_settings(plan, saved_settings(saved, connection))
        try:
            journal = RunJournal.begin(
                plan, settings, saved.mapping, saved.export_files, counted=False,
                applies=saved.code,
            )
        except InputError as error:  # the journal folder cannot be written: do not apply
            c.show_error(error)
            return
        c.run_write(f"Applying plan {saved.code} to {c.profile.name}…",
                     partial(sync_task, journal=journal), plan, settings)


def _message(parent: QWidget, icon: QMessageBox.Icon, text: str) -> None:
    box = QMessageBox(icon, "GroupMap", "", parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    box.exec()
