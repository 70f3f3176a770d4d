"""The main window's status bar: users, unmatched users, the draft, and the current task.

The current task is the one the window's TaskRunner (app/ui/base/worker.py) started with a label
(reading an export, writing a preview, reading the server): its label, a progress bar and
Cancel show while it runs; a newer task with a label takes its place.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar, QPushButton

from app.core.engine import Evaluation
from app.ui.base.document import Document
from app.ui.base.icons import set_icon
from app.ui.base.worker import Progress, Task, TaskRunner


class WindowStatus(QObject):
    """Builds the window's status bar and shows the runner's current task in it."""

    def __init__(self, window: QMainWindow, tasks: TaskRunner) -> None:
        super().__init__(window)
        self.bar = window.statusBar()
        self.tasks = tasks
        self.task: Task[Any] | None = None  # the task shown, until its outcome
        self.users_label = QLabel(window)
        self.unmatched_label = QLabel(window)
        self.draft_label = QLabel(window)
        for label, name in ((self.users_label, "User count"),
                            (self.unmatched_label, "Unmatched users"),
                            (self.draft_label, "Draft")):
            label.setAccessibleName(name)
        self.progress = QProgressBar(window)
        self.progress.setMaximumWidth(180)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName("Progress")
        self.cancel_button = QPushButton("Cancel", window)
        set_icon(self.cancel_button, "cancel")
        self.cancel_button.setToolTip("Stop the running task")
        self.progress.hide()
        self.cancel_button.hide()
        for widget in (self.progress, self.cancel_button, self.users_label,
                       self.unmatched_label, self.draft_label):
            self.bar.addPermanentWidget(widget)
        self.cancel_button.clicked.connect(self.cancel)
        tasks.started.connect(self._show)

    def show_counts(self, evaluation: Evaluation | None) -> None:
        """Users and unmatched users of the open export."""
        if evaluation is None:
            self.users_label.setText("No export open")
            self.unmatched_label.setText("")
        else:
            self.users_label.setText(f"{evaluation.user_count:,} users")
            self.unmatched_label.setText(f"{evaluation.unmatched:,} unmatched")

    def show_draft(self, document: Document) -> None:
        """The draft's name, "unsaved" while it is, its path in the tooltip."""
        unsaved = " • unsaved" if document.dirty else ""
        self.draft_label.setText(f"{document.draft_name}{unsaved}")
        self.draft_label.setToolTip(str(document.draft_path or "Not saved yet"))

    def cancel(self) -> None:
        """Cancel: stop the task shown; its `cancelled` then says so."""
        if self.task is not None:
            self.cancel_button.setEnabled(False)
            self.bar.showMessage("Cancelling…")
            self.tasks.cancel(self.task)

    def _show(self, task: Task[Any]) -> None:
        self.task = task
        self.bar.showMessage(task.label)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        task.progress.connect(self._progress)  # bound methods: dropped if the window goes first
        task.outcome.connect(self._over)

    def _progress(self, value: object) -> None:
        if self.sender() is not self.task or self.task is None:
            return
        if isinstance(value, Progress):  # words too: the label says how far, the bar shows it
            self.bar.showMessage(f"{self.task.label} {value.text}")
            self.progress.setAccessibleDescription(value.text)
            value = value.fraction
        if isinstance(value, float | int):
            self.progress.setValue(int(max(0.0, min(1.0, float(value))) * 1000))

    def _over(self, task: Task[Any], kind: str) -> None:
        """Before the task's own slots run, so their message (Opened…, Read…) stays."""
        if task is not self.task:
            return
        self.task = None
        self.bar.clearMessage()
        self.progress.hide()
        self.cancel_button.hide()
        if kind == "cancelled":
            self.bar.showMessage("Cancelled.", 5000)
