"""`groupmap --smoke-test`: prove a build can open and close its main window, then quit.

Used by `make package-check` on the offscreen platform: opens the main window on the
bundled sample exactly as `groupmap users.csv` would (through run_app), waits for the
preview to be evaluated, checks locale-aware sorting (ICU data), opens the About dialog
(which needs the copied package metadata), closes both and exits 0. Any failure prints
one line naming the missing piece and exits 1.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QCollator, QLocale, QTimer
from PySide6.QtWidgets import QApplication

from app.resources import resource_path

TIME_LIMIT_S = 120.0  # a guard against hanging CI, not a speed target
POLL_MS = 50


def collation_works() -> bool:
    """Locale-aware sorting has its data (the Linux bundle ships a trimmed ICU data library)."""
    swedish, german = QCollator(QLocale("sv_SE")), QCollator(QLocale("de_DE"))
    return swedish.compare("ä", "z") > 0 and german.compare("ä", "b") < 0


def smoke_test(time_limit_s: float = TIME_LIMIT_S) -> int:
    """Open, check and close the main window; 0 if everything showed, 1 otherwise."""
    from app.ui.shell.app import run_app

    users = resource_path("sample", "users.csv")
    mapping = resource_path("sample", "mapping.csv")
    outcome: dict[str, str] = {}
    deadline = time.monotonic() + time_limit_s

    def finish(error: str | None, report: str = "") -> None:
        outcome["error" if error else "report"] = error or report
        app = QApplication.instance()
        for widget in app.topLevelWidgets():
            widget.close()
        QTimer.singleShot(0, lambda: app.exit(1 if error else 0))

    def check(window) -> None:
        evaluation = window.document.evaluation
        if evaluation is None:
            if time.monotonic() > deadline:
                finish(f"the sample {users} was not evaluated within {time_limit_s:.0f} s")
            else:
                QTimer.singleShot(POLL_MS, lambda: check(window))
            return
        if not window.isVisible():
            finish("the main window is not visible")
            return
        if not collation_works():
            finish("locale-aware sorting is broken (ICU collation data missing from the build?)")
            return
        from app.ui.shell.about import show_about

        about = show_about(window)
        packages = about.table.rowCount()
        if not about.isVisible() or packages == 0:
            finish("the About dialog did not list the bundled packages (metadata missing?)")
            return
        # The sample session is throw-away: closing must not stop at "save your changes?".
        window.document.dirty = False
        finish(
            None,
            f"main window {window.width()}x{window.height()} on "
            f"{QApplication.platformName()}; {evaluation.user_count} sample users evaluated; "
            f"collation OK; About lists {packages} packages",
        )

    status = run_app([str(users)], mapping_path=mapping, setup=check)
    if "error" in outcome:
        print(f"groupmap --smoke-test: FAILED: {outcome['error']}.", file=sys.stderr)
        return 1
    if "report" not in outcome:
        print(
            f"groupmap --smoke-test: FAILED: the event loop ended early (status {status}).",
            file=sys.stderr,
        )
        return 1
    print(f"smoke test OK: {outcome['report']}")
    return status
