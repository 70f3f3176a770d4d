"""A newer request supersedes a running one in the window: a second export opened while the
first is read, a Preview changes asked for while a Refresh reads the server."""

from __future__ import annotations

import shutil
import threading

from app.resources import resource_path
from app.ui.files import file_controller
from tests.scim_fixtures import make_mapping
from tests.test_ui_sync_flow import GROUPS, WAIT, connect, export_users, open_export

SAMPLE_USERS = resource_path("sample", "users.csv")


def test_a_second_export_opened_while_the_first_is_read_replaces_it(
    qtbot, window, tmp_path, monkeypatch
):
    first = tmp_path / "first.csv"
    shutil.copy(SAMPLE_USERS, first)
    reading_first = threading.Event()
    first_stopped = []
    read = file_controller._read_users_task

    def read_slowly(state, paths, column):
        if paths == [first]:  # stands for a big export: reads until told to stop
            reading_first.set()
            while not state.is_cancelled():
                threading.Event().wait(0.005)
            first_stopped.append(True)
        return read(state, paths, column)

    monkeypatch.setattr(file_controller, "_read_users_task", read_slowly)
    window.files.open_paths([first])
    qtbot.waitUntil(reading_first.is_set, timeout=WAIT)
    window.files.open_paths([SAMPLE_USERS])  # no "wait for the running task"
    assert window.statusBar().currentMessage() == "Reading users.csv…"
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT)
    assert first_stopped == [True]
    assert window.document.export_paths == [SAMPLE_USERS]
    assert len(window.document.users) == 298
    assert window.statusBar().currentMessage() == "Opened users.csv: 298 users."
    assert not any(p.endswith("first.csv") for p in window.files.recent.paths())


def test_preview_asked_for_during_a_refresh_supersedes_it(qtbot, window, scim_server):
    users = export_users(16)
    server = scim_server(users)
    open_export(window, users, make_mapping(GROUPS, apply_existing=True))
    controller = connect(window, server)
    refreshed = []
    controller.refreshed.connect(refreshed.append)
    controller.refresh()
    reading = controller.task
    controller.preview()  # the admin wants the plan now: the refresh's read is dropped
    assert reading is not None and reading.superseded and controller.task is not reading
    qtbot.waitUntil(lambda: controller.plan_dialog is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: not window.tasks.busy and controller.task is None, timeout=WAIT)
    assert len(refreshed) == 1  # the preview's read, not the refresh's as well
    assert controller.plan_dialog.plan is controller.plan
    controller.plan_dialog.reject()
