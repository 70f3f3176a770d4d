"""Save and open dialogs start in the folder of their kind and propose descriptive names."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import QSettings

from app.ui.base.file_names import folder, proposed_name, remember
from app.ui.files import file_controller


def test_names_say_what_and_where():
    day = date(2026, 12, 7)
    assert proposed_name("plan", "Staging (EU)", ".json", day) == "plan-staging-eu-2026-12-07.json"
    assert proposed_name("sync-report", "", today=day) == "sync-report-2026-12-07.xlsx"


def test_each_kind_keeps_its_folder(tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    plans, reports = tmp_path / "plans", tmp_path / "reports"
    plans.mkdir()
    reports.mkdir()
    remember("plan", plans / "plan-x.json", settings)
    remember("report", reports / "preview.xlsx", settings)
    assert folder("plan", settings) == plans and folder("report", settings) == reports
    assert folder("export", settings) == Path.home()  # nothing chosen yet, no last folder


def test_export_preview_proposes_the_exports_name_in_the_reports_folder(
        qtbot, window, tmp_path, monkeypatch):
    from app.resources import resource_path

    window.files.open_paths([resource_path("sample", "users.csv")])
    qtbot.waitUntil(lambda: window.tasks.current is None, timeout=20_000)
    reports = tmp_path / "reports"
    reports.mkdir()
    remember("report", reports / "old.xlsx", window.files.settings)
    offered = []
    monkeypatch.setattr(file_controller.QFileDialog, "getSaveFileName",
                        lambda parent, title, start, filters: (offered.append(start), ("", ""))[1])
    window.files.export_preview_dialog()
    assert offered == [str(reports / proposed_name("preview", "users"))]
