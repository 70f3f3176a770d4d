"""Room to work on a laptop: rows fully visible in the grid, the group summary and the users
table on a fresh start and after a restart on a smaller screen; Options and the Problems
docks fold to one line."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import QTableView

from app.resources import resource_path
from app.ui.shell import window_layout
from app.ui.shell.main_window import MainWindow

# screen -> (mapping rows, summary rows, user rows) that must be fully visible
GOALS = {(1024, 640): (8, 5, 8), (1366, 768): (14, 8, 14)}


def visible_rows(table: QTableView) -> int:
    """Rows that fit the viewport whole, from its height and the (fixed) row height."""
    return table.viewport().height() // table.verticalHeader().defaultSectionSize()


def counts(win: MainWindow) -> tuple[int, int, int]:
    return (visible_rows(win.mapping_panel.table), visible_rows(win.preview.summary),
            visible_rows(win.preview.users))


@pytest.fixture
def start(qtbot, tmp_path, monkeypatch):
    """Start the app (same settings file each time) as if on a screen of the given size."""
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    settings_path = str(tmp_path / "settings.ini")

    def run(width: int, height: int) -> MainWindow:
        monkeypatch.setattr(window_layout, "screen_area", lambda w: QRect(0, 0, width, height))
        settings = QSettings(settings_path, QSettings.Format.IniFormat)
        win = MainWindow(settings=settings, data_dir=tmp_path / "data")
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        win.files.open_mapping(resource_path("sample", "mapping.csv"))
        win.files.open_paths([resource_path("sample", "users.csv")])
        qtbot.waitUntil(lambda: win.tasks.current is None, timeout=20_000)
        return win

    return run


def close(win: MainWindow) -> None:
    win.document.dirty = False
    win.close()


@pytest.mark.parametrize("screen", list(GOALS))
def test_a_fresh_start_shows_enough_rows(qtbot, start, screen):
    win = start(*screen)
    goal = GOALS[screen]
    qtbot.waitUntil(lambda: all(n >= g for n, g in zip(counts(win), goal, strict=True)))
    search = win.preview.search  # the filter box reads "Filter by name, email"
    wanted = search.fontMetrics().horizontalAdvance("Filter by name, email")
    qtbot.waitUntil(lambda: search.width() >= wanted)
    close(win)


def test_a_restart_on_a_smaller_screen_fits_it(qtbot, start):
    big = start(1920, 1080)
    assert big.options_box.is_unfolded() and not big.dock_fold.folded  # room for everything
    big.resize(1700, 1000)
    close(big)  # saves the large screen's layout
    small = start(1024, 640)
    assert small.width() <= 1024 and small.height() <= 640
    goal = GOALS[(1024, 640)]
    qtbot.waitUntil(lambda: all(n >= g for n, g in zip(counts(small), goal, strict=True)))
    close(small)


def test_the_same_screen_gets_the_saved_layout_back(qtbot, start):
    win = start(1366, 768)
    win.options_box.set_unfolded(True)
    win.resize(780, 650)  # within the offscreen platform's real 800-px screen
    close(win)
    again = start(1366, 768)
    assert again.options_box.is_unfolded()
    assert (again.width(), again.height()) == (780, 650)
    close(again)


def test_options_fold_to_a_summary_line(qtbot, start):
    win = start(1024, 640)
    box = win.options_box
    assert not box.is_unfolded() and not win.options_panel.isVisible()
    assert box.header.text() == (
        "Options: Identity Provider Group · case-sensitive · one group · no default group")
    win.options_panel.default_group.setCurrentText("Everyone")
    win.options_panel.default_group.lineEdit().editingFinished.emit()
    assert box.header.text().endswith("default Everyone")
    box.header.click()
    assert win.options_panel.isVisible()
    close(win)


def test_problems_fold_to_their_tabs_and_unfold_when_reached(qtbot, start):
    win = start(1024, 640)
    assert win.dock_fold.folded and not win.problems.list.isVisible()
    win.focus_problems()  # Ctrl+Shift+P
    assert not win.dock_fold.folded and win.problems.list.hasFocus()
    win.dock_fold.titles[win.problems_dock].button.click()
    assert win.dock_fold.folded
    close(win)
