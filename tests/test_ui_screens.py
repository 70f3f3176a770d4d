"""Small and large screens: first window fits, compact toolbar, Change and Reason first,
columns sized to content, busy cursor while sorting."""

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QGuiApplication

from app.resources import resource_path
from app.ui.base.screen_fit import (
    COLUMN_LIMIT,
    FRAME_ALLOWANCE,
    first_geometry,
    fit_columns_to_content,
    shown_columns,
)
from app.ui.preview.users_model import CHANGE, CURRENT, EMAIL, NAME, NEW, REASON, SOURCE, STATUS
from app.ui.shell.main_window import MainWindow


@pytest.fixture
def window(qtbot, window):
    qtbot.waitExposed(window)
    window.files.open_paths([resource_path("sample", "users.csv")])
    qtbot.waitUntil(lambda: window.tasks.current is None, timeout=20_000)
    return window


@pytest.mark.parametrize("width, height", [(1366, 768), (1024, 640), (1920, 1080)])
def test_the_first_window_fits_the_available_screen_with_its_frame(width, height):
    available = QRect(0, 0, width, height - 30)  # a panel takes 30 px
    rect = first_geometry(available)
    assert rect.width() + FRAME_ALLOWANCE.width() <= available.width()
    assert rect.height() + FRAME_ALLOWANCE.height() <= available.height()
    assert available.contains(rect)
    if width >= 1920:  # a large screen: a large first window, room for every users column
        assert rect.width() >= 1600


def test_a_narrow_window_keeps_preview_and_sync_on_the_toolbar(qtbot, window):
    controller = window.sync_controller
    window.resize(780, 600)  # the offscreen screen's 800 px: narrower than the toolbar
    qtbot.waitUntil(lambda: window.compact_toolbar.compact)
    for action in (controller.connect_action, controller.refresh_action,
                   controller.preview_action):
        assert window.toolbar.widgetForAction(action).isVisible()
    window.resize(1900, 900)
    qtbot.waitUntil(lambda: not window.compact_toolbar.compact)


def test_change_and_reason_come_first_when_the_users_table_is_narrow(qtbot, window):
    users = window.preview.users
    window.resize(1000, 600)
    qtbot.waitUntil(lambda: shown_columns(users)[:3] == [NAME, CHANGE, REASON])
    header = users.horizontalHeader()
    for column in (STATUS, SOURCE, CURRENT, NEW):  # the header's column chooser hides them
        header.setSectionHidden(column, True)
    for column in (NAME, EMAIL, CHANGE, REASON):
        header.resizeSection(column, 40)  # now everything fits the narrow preview side
    qtbot.waitUntil(lambda: shown_columns(users) == [NAME, EMAIL, CHANGE, REASON])


def test_columns_take_their_contents_width_up_to_a_limit(qtbot, window):
    users = window.preview.users
    header = users.horizontalHeader()
    header.resizeSection(EMAIL, 40)
    fit_columns_to_content(users)
    assert header.sectionSize(EMAIL) == min(users.sizeHintForColumn(EMAIL), COLUMN_LIMIT)
    assert header.sectionSize(EMAIL) > 100  # no "kira.lop…" on a wide screen


def test_sorting_shows_a_busy_cursor(qtbot, window, monkeypatch):
    seen = []
    model = window.preview.users_model
    original = model.sort
    monkeypatch.setattr(model, "sort", lambda c, o: (
        seen.append(QGuiApplication.overrideCursor().shape()), original(c, o)))
    window.preview.users.horizontalHeader().setSortIndicator(EMAIL, Qt.SortOrder.AscendingOrder)
    assert seen == [Qt.CursorShape.BusyCursor]
    assert QGuiApplication.overrideCursor() is None


def test_the_export_columns_are_ranked_in_the_background(qtbot, window):
    model = window.preview.users_model
    qtbot.waitUntil(lambda: all(model.has_sort_key(c) for c in (NAME, EMAIL, SOURCE, CURRENT)),
                    timeout=20_000)
    window.preview.users.horizontalHeader().setSortIndicator(EMAIL, Qt.SortOrder.AscendingOrder)
    emails = [model.data(model.index(r, EMAIL)) for r in range(5)]
    assert emails == sorted(emails)


def test_the_first_split_shows_the_grids_status_column(qtbot, tmp_path):
    from app.ui.mapping.mapping_model import STATUS

    settings = QSettings(str(tmp_path / "first.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings, tmp_path / "first")
    qtbot.addWidget(win)
    win.resize(1000, 600)
    win.show()
    qtbot.waitExposed(win)
    win.files.open_paths([resource_path("sample", "users.csv")])
    qtbot.waitUntil(lambda: win.tasks.current is None, timeout=20_000)
    table = win.mapping_panel.table
    header = table.horizontalHeader()
    qtbot.waitUntil(lambda: header.sectionViewportPosition(STATUS) + header.sectionSize(STATUS)
                    <= table.viewport().width())


def test_a_narrow_connection_label_keeps_its_state(qtbot):
    from app.ui.base.screen_fit import ElidingLabel

    label = ElidingLabel()
    qtbot.addWidget(label)
    label.setText("Server: Demo server (local) · connected")
    assert label.shown_text(10_000) == "Server: Demo server (local) · connected"
    width = label.fontMetrics().horizontalAdvance("Demo… · connected") + 4
    shown = label.shown_text(width)
    assert shown.endswith(" · connected") and not shown.startswith("Server:")
    assert "…" in shown
