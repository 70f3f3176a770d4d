"""run_app: the application names, the window, files from the command line."""

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, QTimer
from PySide6.QtWidgets import QMessageBox

from app.resources import resource_path
from app.ui.files import file_controller
from app.ui.shell import app as app_module


def test_run_app_opens_files_and_runs_setup(qtbot, tmp_path, monkeypatch):
    # The window run_app makes uses the default QSettings and data directory: keep both here.
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(file_controller.QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    seen = {}

    def setup(window):
        seen["window"] = window

        def check():
            if window.tasks.current is not None:
                QTimer.singleShot(50, check)
                return
            seen["users"] = len(window.document.users)
            seen["rows"] = len(window.document.mapping.rows)
            seen["source"] = window.document.export_paths
            window.close()

        check()

    users = resource_path("sample", "users.csv")
    status = app_module.run_app([str(users)], mapping_path=resource_path("sample", "mapping.csv"),
                                setup=setup)
    assert status == 0
    assert QCoreApplication.organizationName() == "GroupMap"
    assert QCoreApplication.applicationName() == "GroupMap"
    assert seen["users"] == 298 and seen["rows"] == 10
    assert seen["source"] == [Path(users)]
    assert not seen["window"].windowIcon().isNull()
    assert (tmp_path / "config" / "GroupMap" / "GroupMap.conf").exists()  # layout was saved
