"""The sync window: progress (counts, time left), live log, Cancel; then the result.

The dialog only displays; the controller runs the work and feeds it. Every server text
(log lines, failure reasons) goes into plain-text widgets: QPlainTextEdit, table items and
PlainText labels, never rich text.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.scim.sync.estimate import changes_rate_text, rate_text, seconds_left, time_left_text
from app.ui.server.connection_dialog import plain_label
from app.ui.server.sync_preview import plural

FAILED_COLUMNS = ("Group", "Operation", "Users", "Status", "Server's reason")


def short_list(emails: list[str], shown: int = 2) -> str:
    if len(emails) <= shown:
        return ", ".join(emails)
    return ", ".join(emails[:shown]) + f" and {len(emails) - shown:,} more"


def result_summary(result, planned: int | None = None) -> str:
    """What a finished (or cancelled) sync did, in a few plain lines; `planned`: the requests
    the plan needed, explained when the count sent differs (retries, re-reads)."""
    head = (
        "Sync cancelled between two requests. Done until then:"
        if result.cancelled
        else "Sync finished."
    )
    lines = [
        head,
        f"{plural(len(result.created_groups), 'group')} created, "
        f"{plural(result.added, 'membership')} added, "
        f"{plural(result.removed, 'membership')} removed, "
        f"{plural(result.unchanged, 'user')} already as planned.",
    ]
    if result.not_found:
        verb = "was" if len(result.not_found) == 1 else "were"
        lines.append(f"{plural(len(result.not_found), 'user')} not on the server {verb} skipped.")
    if result.failed:
        lines.append(
            f"{plural(len(result.failed), 'operation')} failed (listed below): "
            "fix the cause, then Retry failed."
        )
    if getattr(result, "not_kept", None):  # verified writes (app/scim/sync/verify.py)
        lines.append(
            f"{plural(len(result.not_kept), 'change')} not kept by the server, though it "
            "answered success: " + short_list([n.email for n in result.not_kept]) + " (Export "
            "report lists them)."
        )
    lines += [f"Not verified: {line}." for line in getattr(result, "unverified", [])]
    sent = plural(result.requests, "request")
    if planned is None or planned == result.requests:
        lines.append(f"{sent} sent, as planned." if planned else f"{sent} sent.")
    else:
        lines.append(f"{sent} sent for {planned:,} planned (retries, re-reads and checks count"
                     " too).")
    return "\n".join(lines)


class SyncDialog(QDialog):
    """Progress and log while running; summary, failures, Retry and Export when done."""

    cancelRequested = Signal()
    retryRequested = Signal()
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None, title: str = "Sync") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(800, 620)
        self._started = time.monotonic()
        self.running = False
        self.result = None

        layout = QVBoxLayout(self)
        self.headline = plain_label("Preparing…", self)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)
        self.counts = plain_label("", self)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setAccessibleName("Sync log")
        self.log.setMaximumBlockCount(5000)
        self.log.setPlaceholderText("Requests and their answers appear here.")
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.summary = plain_label("", self)
        self.failed_label = QLabel("Failed operations:", self)
        self.failed = QTableWidget(0, len(FAILED_COLUMNS), self)
        self.failed.setHorizontalHeaderLabels(FAILED_COLUMNS)
        self.failed.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.failed.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.failed.verticalHeader().setVisible(False)
        self.failed.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.failed.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.failed.setColumnWidth(2, 200)
        self.failed.setWordWrap(True)
        for widget in (self.summary, self.failed_label, self.failed):
            widget.setVisible(False)

        self.buttons = QDialogButtonBox(self)
        self.cancel_button = self.buttons.addButton(
            "&Cancel", QDialogButtonBox.ButtonRole.RejectRole
        )
        self.retry_button = self.buttons.addButton(
            "&Retry failed", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.export_button = self.buttons.addButton(
            "&Export report…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        for button in (self.cancel_button, self.retry_button, self.export_button):
            button.setAutoDefault(False)  # Enter closes; writing again takes a deliberate click
        self.close_button.setDefault(True)
        self.cancel_button.clicked.connect(self._cancel)
        self.retry_button.clicked.connect(self.retryRequested.emit)
        self.export_button.clicked.connect(self.exportRequested.emit)
        self.close_button.clicked.connect(self.accept)
        for widget in (self.headline, self.bar, self.counts):
            layout.addWidget(widget)
        layout.addWidget(self.log, 2)
        layout.addWidget(self.summary)
        layout.addWidget(self.failed_label)
        layout.addWidget(self.failed, 1)
        layout.addWidget(self.buttons)
        self.set_running(True, "Preparing…")

    # --- while running -------------------------------------------------------------------

    def set_running(self, running: bool, headline: str = "") -> None:
        self.running = running
        if headline:
            self.headline.setText(headline)
        if running:
            self._started = time.monotonic()
            self.bar.setRange(0, 0)
            self.counts.setText("")
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.close_button.setVisible(not running)
        has_failures = bool(self.result is not None and self.result.failed)
        self.retry_button.setVisible(not running and has_failures)
        self.export_button.setVisible(not running and self.result is not None)

    def set_progress(
        self,
        done: int,
        total: int,
        elapsed: float | None = None,
        rate: float | None = None,
        paused: float = 0.0,
        budget: float = 0.0,
        changes_per_hour: float | None = None,
    ) -> None:
        """Counts and the time left, which follows the rate limit (rate, paused: the limiter's)
        or the membership-change budget where that binds (budget: the seconds it needs)."""
        if total <= 0:
            return
        self.bar.setRange(0, total)
        self.bar.setValue(min(done, total))
        if elapsed is None:
            elapsed = time.monotonic() - self._started
        parts = [f"{done:,} of {plural(total, 'request')} done"]
        if left := time_left_text(elapsed, done, total, rate, paused, budget):
            parts.append(left)
        by_requests = seconds_left(elapsed, done, total, rate, paused) or 0.0
        if paused >= 1:
            parts.append(f"the server asked to wait {round(paused)} s")
        elif changes_per_hour and budget > by_requests:
            parts.append(f"paced at {changes_rate_text(changes_per_hour)}")
        elif rate:
            parts.append(f"paced at {rate_text(rate)}")
        self.counts.setText(" · ".join(parts))

    def append_log(self, line: str) -> None:
        self.log.appendPlainText(line)

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.headline.setText("Cancelling after the current request…")
        self.cancelRequested.emit()

    def clear_result(self) -> None:
        """A new write starts: the previous run's result is not shown while it runs."""
        self.result = None
        self.summary.setText("")
        self.summary.setVisible(False)
        self.failed.setRowCount(0)
        self.failed_label.setVisible(False)
        self.failed.setVisible(False)
        self.bar.setValue(0)

    # --- when done -----------------------------------------------------------------------

    def show_result(self, result) -> None:
        self.result = result
        planned = self.bar.maximum() if not result.cancelled and self.bar.maximum() > 1 else None
        text = result_summary(result, planned)
        journal_error = getattr(result, "journal_error", "")
        if journal_error:  # the run stopped sending: say why first
            text = f"{journal_error}\n\n{text}"
        self.summary.setText(text)
        self.summary.setVisible(True)
        if self.bar.maximum() == 0:
            self.bar.setRange(0, 1)
        if result.cancelled:
            self.counts.setText("Stopped. Preview changes again to see what is left to do.")
        else:  # the last progress signals may have been throttled away
            self.bar.setValue(self.bar.maximum())
            self.counts.setText("")  # the summary gives the one request count
        self.failed.setRowCount(len(result.failed))
        for row, failure in enumerate(result.failed):
            cells = (
                failure.group,
                failure.operation,
                short_list(failure.emails),
                str(failure.status or "no answer"),
                failure.reason,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)  # table items never interpret markup
                self.failed.setItem(row, column, item)
        self.failed_label.setVisible(bool(result.failed))
        self.failed.setVisible(bool(result.failed))
        headline = "Cancelled." if result.cancelled else (
            "Done, with failures." if result.failed else "Done."
        )
        self.set_running(False, headline)

    def show_error(self, text: str) -> None:
        self.summary.setText(text)
        self.summary.setVisible(True)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.set_running(False, "The sync stopped.")

    def reject(self) -> None:
        """Escape or the window's close button: cancel a running sync instead of hiding."""
        if self.running:
            self._cancel()
            return
        super().reject()
