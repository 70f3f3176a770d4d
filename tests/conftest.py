import os
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Settings (QSettings) and autosaves (platformdirs) of every app made by a test go to a
# throw-away home, never to the developer's ~/.config or ~/.local/share.
_home = tempfile.mkdtemp(prefix="groupmap-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_home, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_home, "data")

pytest_plugins = [
    "tests.scim_fixtures",
    "tests.ui_fixtures",
    "tests.fake_idp",
    "tests.fake_entra_login",
    "tests.webhook_receiver",
    "tests.hostile_idp",
]


@pytest.fixture(autouse=True)
def _own_config_folder(tmp_path_factory, monkeypatch):
    """Each test saves connections in a folder of its own (platformdirs reads the variable)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(autouse=True)
def journal_folder(tmp_path, monkeypatch):
    """Every test journals its syncs into its own folder (app/io/journal.py reads the env)."""
    folder = tmp_path / "journal"
    monkeypatch.setenv("GROUPMAP_JOURNAL_DIR", str(folder))
    return folder


MODAL_PATIENCE = 20.0  # seconds a modal dialog may wait for the answer its test gives


@pytest.fixture(autouse=True)
def _modal_watchdog(request):
    """A modal dialog that no test answers would block the suite in its nested event loop,
    where pytest-timeout's signal cannot reach: after MODAL_PATIENCE seconds it is closed and
    the test fails with the stack that opened it (pytest-qt reports errors raised in Qt
    callbacks as the test's failure)."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    import time
    import traceback

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    request.getfixturevalue("qapp")
    opened: dict[int, float] = {}

    def check() -> None:
        widget = QApplication.activeModalWidget()
        if widget is None:
            opened.clear()
            return
        first = opened.setdefault(id(widget), time.monotonic())
        if time.monotonic() - first < MODAL_PATIENCE:
            return
        opened.clear()
        text = widget.text() if hasattr(widget, "text") else ""
        widget.close()
        raise AssertionError(
            f"a modal dialog {widget.windowTitle()!r} ({text!r}) waited {MODAL_PATIENCE:.0f} s "
            "for an answer the test never gave; it was closed. Opened from:\n"
            + "".join(traceback.format_stack())
        )

    timer = QTimer()
    timer.setInterval(1000)
    timer.timeout.connect(check)
    timer.start()
    yield
    timer.stop()
