"""`groupmap demo`: the seeded local server, the app connected to it, and the headless run."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QSettings

from app.ui.shell.demo import DEMO_CONNECTION, connect_window, demo_inputs, start_demo_server
from app.ui.shell.main_window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
WAIT = 15_000


@pytest.fixture
def demo_server():
    users, _mapping, extra = demo_inputs()
    server = start_demo_server(users, extra, "demo-token-for-tests")
    yield server
    server.stop()


def test_demo_server_is_seeded_from_the_sample(demo_server):
    from app.io import read_users

    users, _mapping, extra = demo_inputs()
    state = demo_server.dump()
    export = read_users([users])
    assert len(state["users"]) == len(export)
    assert demo_server.url.startswith("http://127.0.0.1:")
    assert set(extra) <= set(state["groups"])  # the extra groups exist, e.g. "All Staff"
    export_groups = {g for cell in export.frame["groups"] for g in cell.split("; ") if g}
    assert export_groups <= set(state["groups"])


def test_demo_opens_the_app_connected_and_refreshed(qtbot, tmp_path, monkeypatch, demo_server):
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    users, mapping, extra = demo_inputs()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, data_dir=tmp_path / "data")
    qtbot.addWidget(window)
    window.show()
    window.files.open_mapping(mapping)
    window.files.open_paths([users])
    controller = connect_window(window, demo_server.url, "demo-token-for-tests")
    assert controller.profile.name == DEMO_CONNECTION
    with qtbot.waitSignal(controller.planned, timeout=WAIT) as blocker:
        pass  # the refresh starts by itself once the export has loaded
    plan = blocker.args[0]
    assert window.document.users is not None and len(window.document.users) > 100
    assert plan.groups_to_create and plan.added_count > 0
    # demo_groups.json puts two Sales users into Marketing on the server: drift.
    assert {d.email for d in plan.drift} == set(extra["Marketing"])
    assert "All Staff" in window._known["server"]
    # The demo connection lives for the session only: nothing in the settings file.
    settings.sync()
    assert DEMO_CONNECTION not in (tmp_path / "settings.ini").read_text("utf-8")
    assert controller.store.get(DEMO_CONNECTION) is not None
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    window.document.dirty = False
    window.close()


def test_the_server_stops_when_the_app_returns(monkeypatch):
    import app.ui.shell.app
    from app.ui.shell.demo import run_demo

    seen = {}

    def fake_run_app(paths, *, mapping_path=None, setup=None):
        """Stands in for the event loop: the server answers while the "app" runs."""
        urls = re.findall(r"http://127\.0\.0\.1:\d+/v2", seen["out"].getvalue())
        seen["url"] = urls[-1]
        seen["status"] = httpx.get(f"{urls[-1]}/Users", timeout=5).status_code
        seen["paths"] = [Path(p).name for p in paths]
        return 7

    seen["out"] = io.StringIO()
    monkeypatch.setattr(sys, "stdout", seen["out"])
    monkeypatch.setattr(app.ui.shell.app, "run_app", fake_run_app)
    assert run_demo() == 7
    assert seen["status"] == 401  # up, and asking for the session's token
    assert seen["paths"] == ["users.csv"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{seen['url']}/ServiceProviderConfig", timeout=2)


def test_groupmap_demo_headless_runs_the_whole_path(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="", DISPLAY="", WAYLAND_DISPLAY="")
    env["HOME"] = str(tmp_path)  # settings and autosave of this run stay in tmp_path
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env.pop("GROUPMAP_JOURNAL_DIR", None)  # where an admin's runs are journaled by default
    run = subprocess.run(
        [sys.executable, "-m", "app", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    assert "No display found" in run.stdout
    assert "Refreshed from the demo server." in run.stdout
    assert "Preview:" in run.stdout and "to create" in run.stdout
    assert "Sync finished." in run.stdout and "failed" not in run.stdout
    assert not (tmp_path / "data" / "GroupMap" / "journal").exists()  # not the admin's history
