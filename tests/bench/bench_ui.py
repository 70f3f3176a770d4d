"""The desktop app: time from a mapping cell edit to the repainted window.

One edit goes through the undo stack, the evaluation, the Problems list, the mapping grid's
counts and statuses, the summary and the users table, then the visible window repaints
(offscreen). Also: filtering and sorting the users table.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.bench.data import bench_mapping, export_users

RUNS = 9


def _window(n_users: int):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    from app.ui.shell.app import make_application
    from app.ui.shell.main_window import MainWindow

    app = make_application()
    folder = Path(tempfile.mkdtemp(prefix="groupmap-bench-"))
    window = MainWindow(QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat),
                        folder / "data")
    window.resize(1280, 800)
    window.show()
    users = export_users(n_users)
    window.editor.reset(bench_mapping())
    started = time.perf_counter()
    window.document.set_users(users)
    opened = time.perf_counter() - started
    app.processEvents()
    return app, window, opened


def _repaint(app, window) -> None:
    app.processEvents()
    for view in (window.mapping_panel.table, window.preview.summary, window.preview.users):
        view.viewport().repaint()
    window.repaint()


def _median_ms(app, window, action) -> float:
    times = []
    for i in range(RUNS):
        started = time.perf_counter()
        action(i)
        _repaint(app, window)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _measure(n_users: int) -> list[tuple[str, str, str]]:
    app, window, opened = _window(n_users)
    editor, preview = window.editor, window.preview
    target_edit = "<= 50 ms" if n_users <= 100_000 else "<= 100 ms"
    edit = _median_ms(app, window, lambda i: editor.set_cell(i, "group", f"Edited {i}"))
    preview.set_quick("changes")
    edit_filtered = _median_ms(app, window, lambda i: editor.set_cell(i, "group", f"Again {i}"))
    preview.set_quick("all")
    search = _median_ms(app, window, lambda i: preview.set_search(f"user{i}"))
    preview.set_search("")
    from app.ui.preview.users_model import EMAIL, NEW

    model = preview.users_model
    started = time.perf_counter()
    model.sort(EMAIL, 0)  # ranks the column once per export
    _repaint(app, window)
    first_sort = (time.perf_counter() - started) * 1000
    sort_email = _median_ms(app, window, lambda i: model.sort(EMAIL, i % 2))
    sort_new = _median_ms(app, window, lambda i: model.sort(NEW, i % 2))
    window.document.dirty = False
    window.close()
    label = f"{n_users:,} users"
    return [
        (f"edit -> repaint, {label}", f"{edit:.0f} ms", target_edit),
        (f"edit -> repaint, 'changes' filter on, {label}", f"{edit_filtered:.0f} ms", target_edit),
        (f"filter users by text, {label}", f"{search:.0f} ms", "-"),
        (f"first sort of the users by email, {label}", f"{first_sort:.0f} ms", "-"),
        (f"sort users by email again, {label}", f"{sort_email:.0f} ms", "-"),
        (f"sort users by new groups, {label}", f"{sort_new:.0f} ms", "-"),
        (f"show export in the window (first evaluation), {label}", f"{opened:.2f} s", "-"),
    ]


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    sizes = (10_000,) if quick else (100_000, 1_000_000)
    rows: list[tuple[str, str, str]] = []
    for n in sizes:
        rows += _measure(n)
    return rows
