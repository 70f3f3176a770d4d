""""Preview changes": the sync plan before anything is written, with export and the Sync button.

Shows groups to create, per group the users to add and to remove, totals, users the server
does not have, and the mass-removal warning with an explicit "allow" checkbox.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.explain import removal_reasons
from app.core.identity import email_key, email_keys
from app.scim.http.redact import redact_url
from app.ui.base.file_names import folder, proposed_name, remember
from app.ui.server.connection_dialog import plain_label

EXPORT_FILTER = "Excel workbook (*.xlsx);;CSV (*.csv)"
SHOWN_PER_GROUP = 500  # users listed per group; the export has every one (100k-user plans)
NUMBER_ALIGNMENT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def signed(count: int, sign: str) -> str:
    """A plan cell: "+27" or "−3"; blank for 0, so the columns show only what changes."""
    return f"{sign}{count:,}" if count else ""


def alert_color(palette: QPalette) -> str:
    """A red that reads on the window's background: dark red on light, light red on dark."""
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    return "#ff7b72" if dark else "#b00020"


def add_color(palette: QPalette) -> str:
    """A green that reads on the window's background, for memberships added."""
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    return "#7ee787" if dark else "#1a7f37"


def losing_users(plan) -> int:
    """Users who lose at least one group: the count the Sync confirmation names."""
    return len({email_key(e) for emails in plan.removes.values() for e in emails})


def removal_question(plan, losing: int) -> str:
    """Who leaves a group: users who change groups "move", the others "leave a group"."""
    added = {e.lower() for emails in plan.adds.values() for e in emails}
    leaving = {e.lower() for emails in plan.removes.values() for e in emails}
    moving = len(leaving & added)
    if moving == losing:
        return f"{plural(losing, 'user')} will move to another group."
    if not moving:
        return f"{plural(losing, 'user')} will leave a group."
    return (f"{plural(losing, 'user')} will leave a group ({moving:,} of them move to another"
            " group).")


def plan_summary(plan) -> str:
    adds, removes = plan.added_count, plan.removed_count
    groups = set(plan.adds) | set(plan.removes) | set(plan.groups_to_create)
    if not adds and not removes and not plan.groups_to_create:
        text = "Nothing to change: the server already matches the mapping."
    else:
        parts = [
            plural(len(plan.groups_to_create), "group") + " to create",
            plural(adds, "membership") + " to add",
            plural(removes, "membership") + " to remove",
        ]
        text = ", ".join(parts) + f", across {plural(len(groups), 'group')}."
    if plan.drift:
        text += (
            f"\n{plural(len(plan.drift), 'user')} in the export "
            f"{'has' if len(plan.drift) == 1 else 'have'} other groups on the server (drift): "
            "the plan starts from the server's groups."
        )
    if plan.not_found:
        text += (
            f"\n{plural(len(plan.not_found), 'user')} of the export "
            f"{'is' if len(plan.not_found) == 1 else 'are'} not on the server and will be skipped."
        )
    for why in plan.unseen_groups():  # refused at the write: say so before it
        text += f"\nNot to be written: {why}."
    return text


def estimate_text(plan) -> str:
    """"Writing takes about 240 requests, about 4 minutes at 1 request a second."."""
    from app.scim.sync.estimate import plan_estimate, watched_settings

    return f"Writing takes {plan_estimate(plan, watched_settings(plan, plan.settings)).text()}."


def mass_removal_text(plan) -> str:
    return (
        f"Mass removal: this sync would remove {plan.removal_ratio:.0%} of the current "
        "memberships of the managed groups. An empty or wrong export can cause this. "
        "Check the preview; tick the box below only if the removals are intended."
    )


def save_frame(parent: QWidget, frame: pd.DataFrame | dict[str, pd.DataFrame], suggested: str,
               title: str) -> Path | None:
    """Ask for a file (in the reports' folder) and write the frame with app/io
    (formula-safe); None if cancelled. Several named frames become the sheets of an .xlsx
    (a .csv gets the first one)."""
    from app.io import write_table, write_workbook

    start = str(folder("report") / suggested)
    path, chosen = QFileDialog.getSaveFileName(parent, title, start, EXPORT_FILTER)
    if not path:
        return None
    remember("report", path)
    target = Path(path)
    if not target.suffix:
        target = target.with_suffix(".csv" if "csv" in chosen.lower() else ".xlsx")
    try:
        if isinstance(frame, dict) and target.suffix.lower() == ".xlsx":
            write_workbook(target, frame)
        else:
            write_table(target, next(iter(frame.values())) if isinstance(frame, dict) else frame)
    except Exception as exc:  # shown to the admin, who can pick another place
        box = QMessageBox(QMessageBox.Icon.Warning, title, "", parent=parent)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"Could not write {target}: {exc}\nChoose another folder or file name.")
        box.exec()
        return None
    return target


def report_summary(result, profile) -> pd.DataFrame:
    """The sync report's Summary sheet: which server, when, and the totals."""
    import time

    rows = [
        ("Server", f"{profile.name} ({redact_url(profile.url)})" if profile is not None else ""),
        ("Exported at", time.strftime("%Y-%m-%d %H:%M:%S %z")),
        ("Outcome", "cancelled" if result.cancelled else "finished"),
        ("Groups created", len(result.created_groups)),
        ("Memberships added", result.added),
        ("Memberships removed", result.removed),
        ("Users already as planned", result.unchanged),
        ("Users not on the server", len(result.not_found)),
        ("Failed operations", len(result.failed)),
        ("Requests sent", result.requests),
    ]
    return pd.DataFrame(rows, columns=["Item", "Value"])  # numbers stay numbers


class PlanDialog(QDialog):
    """The plan, read-only; accept() means "Sync now" (with allow_mass_removal if ticked)."""

    save_plan_button: QPushButton  # "Save plan for approval…", added by app/ui/server/plan_flow.py

    def __init__(self, plan, parent: QWidget | None = None, can_sync: bool = True) -> None:
        super().__init__(parent)
        self.plan = plan
        self.server_name = ""  # names the exported plan's file (the controller sets it)
        self.saved_code = ""  # the plan code once saved for approval (app/ui/server/plan_flow.py)
        self.setWindowTitle("Preview changes")
        screen = self.screen().availableGeometry()  # names, emails and reasons need the width
        self.resize(min(980, screen.width() - 40), min(600, screen.height() - 60))
        layout = QVBoxLayout(self)
        self.summary = plain_label(plan_summary(plan), self)
        layout.addWidget(self.summary)
        self.estimate = plain_label(estimate_text(plan), self)  # requests and time to write
        layout.addWidget(self.estimate)

        self.warning = plain_label(mass_removal_text(plan) if plan.mass_removal else "", self)
        self._style_warning()
        self.warning.setVisible(bool(plan.mass_removal))
        self.allow = QCheckBox("Allow this mass removal", self)
        self.allow.setVisible(bool(plan.mass_removal))
        layout.addWidget(self.warning)
        layout.addWidget(self.allow)

        self.removals_only = QCheckBox("Show &only removals", self)
        self.removals_only.setToolTip("List only the users who leave a group, and why")
        self.removals_only.setVisible(bool(plan.removed_count))
        layout.addWidget(self.removals_only)
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Changes per group")
        self.tree.setHeaderLabels(["Group / user", "Add", "Remove", "Why"])
        self.tree.setUniformRowHeights(True)
        self._details = UserDetails(plan)
        self._fill_tree()
        self.tree.header().setStretchLastSection(True)
        self.tree.setColumnWidth(0, 400)
        self.tree.setColumnWidth(1, 60)
        self.tree.setColumnWidth(2, 70)
        layout.addWidget(self.tree, 1)

        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton(
            "&Export plan…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.export_button.clicked.connect(self.export)
        self.sync_button = self.buttons.addButton(
            "Sync now", QDialogButtonBox.ButtonRole.AcceptRole
        )
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        # Enter closes; writing to the server takes a deliberate click (or Alt+S).
        self.sync_button.setText("&Sync now")
        self.sync_button.setAutoDefault(False)
        close.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        adds, removes = plan.added_count, plan.removed_count
        self.has_changes = bool(adds or removes or plan.groups_to_create)
        self.estimate.setVisible(self.has_changes)
        self.sync_button.setEnabled(can_sync and self.has_changes)
        self.export_button.setEnabled(self.has_changes)
        self.allow.toggled.connect(self._update_sync_button)
        self.removals_only.toggled.connect(lambda _: (self.tree.clear(), self._fill_tree()))
        self._can_sync = can_sync
        self._update_sync_button()

    def _style_warning(self) -> None:
        self.warning.setStyleSheet(f"color: {alert_color(self.palette())}; font-weight: bold;")

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # light and dark mode
            self._style_warning()
        super().changeEvent(event)

    def _update_sync_button(self) -> None:
        blocked = bool(self.plan.mass_removal) and not self.allow.isChecked()
        self.sync_button.setEnabled(self._can_sync and self.has_changes and not blocked)

    @property
    def allow_mass_removal(self) -> bool:
        return self.allow.isChecked()

    def _fill_tree(self) -> None:
        plan = self.plan
        only_removals = self.removals_only.isChecked()
        names = sorted(set(plan.adds) | set(plan.removes) | set(plan.groups_to_create))
        for name in names:
            adds, removes = plan.adds.get(name, []), plan.removes.get(name, [])
            if only_removals:
                adds = []
            if not adds and not removes and (only_removals or name not in plan.groups_to_create):
                continue
            label = f"{name}  (new group)" if name in plan.groups_to_create else name
            item = QTreeWidgetItem([label, signed(len(adds), "+"), signed(len(removes), "−")])
            shown_adds = adds[:SHOWN_PER_GROUP]
            shown_removes = removes[: max(0, SHOWN_PER_GROUP - len(shown_adds))]
            children = self._user_items(name, shown_adds, "add")
            children += self._user_items(name, shown_removes, "remove")
            for row_item in (item, *children):
                for column in (1, 2):
                    row_item.setTextAlignment(column, NUMBER_ALIGNMENT)
            item.addChildren(children)
            hidden = len(adds) + len(removes) - len(children)
            if hidden:
                more = QTreeWidgetItem([f"… and {hidden:,} more: Export plan lists them all"])
                more.setFlags(Qt.ItemFlag.ItemIsEnabled)
                item.addChild(more)
            self.tree.addTopLevelItem(item)
        if plan.not_found and not only_removals:
            item = QTreeWidgetItem([f"Not on the server ({len(plan.not_found):,})", "", ""])
            shown = plan.not_found[:SHOWN_PER_GROUP]
            item.addChildren([QTreeWidgetItem([email, "skipped", ""]) for email in shown])
            if len(plan.not_found) > len(shown):
                hidden = len(plan.not_found) - len(shown)
                item.addChild(QTreeWidgetItem([f"… and {hidden:,} more", "", ""]))
            self.tree.addTopLevelItem(item)
        if self.tree.topLevelItemCount() == 0:
            empty = QTreeWidgetItem(["No changes to make.", "", ""])
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.tree.addTopLevelItem(empty)
        for column in (1, 2):
            self.tree.headerItem().setTextAlignment(column, NUMBER_ALIGNMENT)

    def _user_items(self, group: str, emails: list[str], change: str) -> list[QTreeWidgetItem]:
        """One line per user: name and email, the change, and why as the core explains it
        (the deciding row of an addition, the reason of a removal); removals in red, adds
        in green."""
        details = self._details
        reasons = (details.removal_reasons(group, emails) if change == "remove"
                   else details.addition_reasons(emails))
        color = QColor(alert_color(self.palette()) if change == "remove"
                       else add_color(self.palette()))
        items = []
        for email, reason in zip(emails, reasons, strict=True):
            cells = [details.label(email), "add" if change == "add" else "",
                     "remove" if change == "remove" else "", reason]
            item = QTreeWidgetItem(cells)
            item.setToolTip(3, reason)
            for column in range(4):
                item.setForeground(column, color)
            items.append(item)
        return items

    def accept(self) -> None:
        """Sync now; whenever anything is removed, only after a confirmation naming the count."""
        losing = losing_users(self.plan)
        if losing and not self.confirm_removals(losing):
            return
        super().accept()

    def confirm_removals(self, losing: int) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, self.windowTitle(), "", parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        action = self.sync_button.text().replace("&", "")  # "Sync now", "Undo now"…
        box.setText(f"{removal_question(self.plan, losing)} {action}?")
        box.setInformativeText("This window lists each removal and why.")
        # Alt+Y: not the key of the window's own button, so two presses never remove
        sync = box.addButton(f"&Yes, {action[:1].lower()}{action[1:]}",
                             QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(box.addButton("&Cancel", QMessageBox.ButtonRole.RejectRole))
        box.exec()
        return box.clickedButton() is sync

    def export(self) -> Path | None:
        from app.ui.server.plan_report import plan_sheets

        name = proposed_name("sync-plan", self.server_name)
        sheets = plan_sheets(self.plan, self.server_name, self.saved_code, self._details,
                             losing_users(self.plan))
        return save_frame(self, sheets, name, "Export the sync plan")


class UserDetails:
    """Names and removal reasons for a plan's emails, looked up in the plan's evaluation."""

    def __init__(self, plan) -> None:
        self.evaluation = getattr(plan, "evaluation", None)
        self.replayed = dict(getattr(plan, "replay_reasons", None) or {})
        users = getattr(plan, "users", None)
        if users is None or self.evaluation is None:
            self.index, self.names = None, None
            return
        frame = users.frame
        self.index = pd.Index(email_keys(frame["email"]))
        self.names = frame["name"].to_numpy(dtype=object)

    def _positions(self, emails: list[str]) -> np.ndarray:
        return self.index.get_indexer([email_key(e) for e in emails])

    def label(self, email: str) -> str:
        if self.index is None:
            return email
        position = int(self._positions([email])[0])
        name = str(self.names[position]).strip() if position >= 0 else ""
        return f"{name} <{email}>" if name else email

    def name(self, email: str) -> str:
        if self.index is None or self.names is None:
            return ""
        position = int(self._positions([email])[0])
        return str(self.names[position]).strip() if position >= 0 else ""

    def addition_reasons(self, emails: list[str]) -> list[str]:
        """Why each user joins: the row that decides them, as the preview's Reason says; a
        replayed plan's own reason (an undo, a saved plan)."""
        if "add" in self.replayed:
            return [self.replayed["add"]] * len(emails)
        if self.index is None or self.evaluation is None:
            return [""] * len(emails)
        of_user = self.evaluation.users.profiles.of_user
        return [self.evaluation.profile_reason(int(of_user[p])) if p >= 0 else ""
                for p in self._positions(emails)]

    def removal_reasons(self, group: str, emails: list[str]) -> list[str]:
        if "remove" in self.replayed:
            return [self.replayed["remove"]] * len(emails)
        if self.index is None:
            return [""] * len(emails)
        positions = self._positions(emails)
        found = positions >= 0
        reasons = [""] * len(emails)
        texts = removal_reasons(self.evaluation, positions[found], group)
        for i, text in zip(np.flatnonzero(found), texts, strict=True):
            reasons[i] = text
        return reasons
