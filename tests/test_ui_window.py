"""The main window end to end: open, import errors, source column, drafts, fixes (autosave:
test_ui_autosave.py)."""

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from app.core.mapping import MappingRow
from app.io import load_draft
from app.resources import resource_path
from app.ui.files import file_controller, file_dialogs
from app.ui.mapping.mapping_model import STATUS, USERS
from app.ui.shell.main_window import MainWindow

SAMPLE_USERS = resource_path("sample", "users.csv")
SAMPLE_MAPPING = resource_path("sample", "mapping.csv")
pytestmark = pytest.mark.usefixtures("discard_on_close")  # from tests/ui_fixtures.py


def open_and_wait(qtbot, window, *paths):
    window.files.open_paths(list(paths))
    qtbot.waitUntil(lambda: window.tasks.current is None, timeout=20_000)


def test_open_export_shows_preview_and_status(qtbot, window):
    assert window.right.currentIndex() == 0  # empty state
    assert not window.actions_by_name["export_preview"].isEnabled()
    window.files.open_mapping(SAMPLE_MAPPING)
    open_and_wait(qtbot, window, SAMPLE_USERS)
    evaluation = window.document.evaluation
    assert evaluation is not None and window.right.currentIndex() == 1
    assert window.actions_by_name["export_preview"].isEnabled()
    assert window.status.users_label.text() == f"{evaluation.user_count:,} users"
    assert window.status.unmatched_label.text() == f"{evaluation.unmatched:,} unmatched"
    assert window.preview.users_model.rowCount() == evaluation.user_count
    assert window.mapping_panel.model.data(window.mapping_panel.model.index(1, USERS)) == "50"
    assert "Sales" in window.mapping_panel.group_delegate.groups
    assert window.settings.value("recentFiles")[0] == str(Path(SAMPLE_USERS).resolve())


def test_import_error_names_the_file_and_keeps_the_draft(qtbot, window, tmp_path):
    window.files.open_mapping(SAMPLE_MAPPING)
    rows = window.document.mapping.rows
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"this is not a workbook")
    open_and_wait(qtbot, window, bad)
    box = window.files.error_box
    assert box.isVisible() and "broken.xlsx" in box.informativeText()
    assert "Your draft was not changed" in box.informativeText()
    assert box.sizeHint().width() >= file_dialogs.ERROR_WIDTH  # the path is not squeezed
    assert window.document.mapping.rows == rows and window.document.users is None
    box.close()


def test_missing_source_column_lets_the_admin_pick_one(qtbot, window, tmp_path, monkeypatch):
    export = tmp_path / "export.csv"
    text = Path(SAMPLE_USERS).read_text().replace("Identity Provider Group", "Department", 1)
    export.write_text(text)
    asked = []

    def pick(parent, title, label, items, current, editable):
        asked.append(list(items))
        assert items[current] == "Department"  # preselected: not a name, email, status
        return "Department", True

    monkeypatch.setattr(file_controller.QInputDialog, "getItem", pick)
    open_and_wait(qtbot, window, export)
    qtbot.waitUntil(lambda: window.document.users is not None, timeout=20_000)
    assert "Department" in asked[0]
    assert window.document.mapping.options.source_column == "Department"
    assert window.document.users.source_column == "Department"
    assert window.options_panel.source.findText("Department") >= 0


def test_the_picker_preselects_a_column_named_like_the_source_column():
    columns = ["Email", "Name", "Department", "identity provider grp", "Status"]
    assert file_dialogs.likely_source(columns, "Identity Provider Group") == 3
    assert file_dialogs.likely_source(columns, "Cost Center") == 2  # not a name, email…
    assert file_dialogs.likely_source(["Email", "Name"], "") == 0


def test_save_and_open_round_trip(qtbot, window, tmp_path, monkeypatch):
    window.files.open_mapping(SAMPLE_MAPPING)
    window.editor.set_option("separator", ";", "sep")
    target = tmp_path / "drafts" / "team.json"
    target.parent.mkdir()
    monkeypatch.setattr(file_controller.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target.with_suffix("")), ""))
    assert window.document.dirty and window.windowTitle().startswith("Untitled")
    assert window.files.save()
    assert not window.document.dirty and window.document.draft_path == target
    assert "team.json" in window.windowTitle() and "unsaved" not in window.status.draft_label.text()
    saved = load_draft(target)
    assert saved == window.document.mapping
    window.editor.set_cell(0, "group", "Changed")
    assert window.isWindowModified() and "unsaved" in window.status.draft_label.text()
    window.files.new_draft()
    assert window.document.mapping.rows == ()
    window.files.open_paths([target])
    assert window.document.mapping == saved and not window.document.dirty


def test_close_with_unsaved_changes_asks(qtbot, window, monkeypatch):
    window.editor.set_cell(0, "value", "Sales")
    asked = []

    def answer(*args, **kwargs):
        asked.append(args[2])
        return QMessageBox.StandardButton.Cancel if len(asked) == 1 else (
            QMessageBox.StandardButton.Discard)

    monkeypatch.setattr(file_controller.QMessageBox, "question", answer)
    assert not window.close() and window.isVisible()
    assert asked == ["The draft Untitled has unsaved changes. Save them before closing?"]
    assert window.close() and not window.isVisible()


def test_problem_click_selects_and_quick_fix_applies(qtbot, window):
    window.files.open_mapping(SAMPLE_MAPPING)
    open_and_wait(qtbot, window, SAMPLE_USERS)
    problems = window.problems
    near = next(i for i, w in enumerate(problems.warnings) if w.code == "near_miss")
    warning = problems.warnings[near]
    problems.list.setCurrentRow(near)
    assert window.mapping_panel.selected_rows() == [warning.row - 1]
    assert window.preview.users_model.filter.value == warning.value  # a chip, not the text
    assert window.preview.users_model.filter.text == ""
    assert problems.fix_button.isEnabled()
    count = len(window.document.mapping.rows)
    problems.fix_button.click()
    rows = window.document.mapping.rows
    assert len(rows) == count + 1 and rows[warning.row] == MappingRow(
        warning.value, rows[warning.row - 1].group)
    assert all(w.value != warning.value or w.code != "near_miss" for w in problems.warnings)
    window.editor.stack.undo()
    assert len(window.document.mapping.rows) == count


def test_files_dropped_on_the_window_open(qtbot, window, tmp_path):
    export = tmp_path / "users.csv"
    shutil.copy(SAMPLE_USERS, export)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(export)), QUrl.fromLocalFile(str(tmp_path / "notes.pdf"))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.document.users is not None, timeout=20_000)
    assert window.document.export_paths == [export]


def test_known_groups_and_drift_from_the_server(qtbot, window):
    open_and_wait(qtbot, window, SAMPLE_USERS)
    window.set_known_groups("server", ["Zeta Servers"])
    assert "Zeta Servers" in window.mapping_panel.group_delegate.existing
    window.editor.set_cell(0, "value", "Sales-EMEA")
    window.editor.set_cell(0, "group", "Zeta Servers")
    model = window.mapping_panel.model
    assert model.data(model.index(0, STATUS)) != "new group"
    email = window.document.users.frame["email"].iloc[3]
    window.set_drift([email.upper()])
    window.preview.set_quick("drift")
    assert window.preview.users_model.rowCount() == 1
    assert window.preview.quick_buttons["drift"].isVisibleTo(window)
    window.document.set_current_groups_from_server({email: ["Zeta Servers"]})
    summary = {s.name: s for s in window.document.evaluation.group_summaries()}
    assert summary["Zeta Servers"].before == 1


def test_export_preview_and_mapping_tables(qtbot, window, tmp_path, monkeypatch):
    import pandas as pd

    window.files.open_mapping(SAMPLE_MAPPING)
    open_and_wait(qtbot, window, SAMPLE_USERS)
    target = tmp_path / "preview.xlsx"
    task = window.files.export_preview(target)
    assert task is not None and window.status.progress.isVisible()
    qtbot.waitUntil(lambda: window.tasks.current is None, timeout=30_000)
    sheets = pd.read_excel(target, sheet_name=None, engine="openpyxl")
    assert list(sheets) == ["Summary", "Groups", "Users", "Problems", "Mapping", "Options"]
    about = dict(sheets["Summary"].itertuples(index=False))
    assert about["Export files"].endswith("users.csv")
    assert about["Before (current groups)"] == "the export users.csv"
    assert len(sheets["Users"]) == window.document.evaluation.user_count
    table = tmp_path / "mapping.csv"
    monkeypatch.setattr(file_controller.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(table), ""))
    window.files.export_mapping_dialog()
    rows = window.document.mapping.rows
    window.editor.reset(window.document.mapping.with_rows(()))
    monkeypatch.setattr(file_controller.QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(table), ""))
    window.files.import_mapping_dialog()
    assert window.document.mapping.rows == rows
    window.editor.stack.undo()
    assert window.document.mapping.rows == ()


def test_cancelled_import_changes_nothing(qtbot, window):
    window.files.open_paths([SAMPLE_USERS])
    assert window.status.cancel_button.isVisibleTo(window)
    window.status.cancel()
    qtbot.waitUntil(lambda: window.tasks.current is None, timeout=20_000)
    assert window.document.users is None
    assert window.statusBar().currentMessage() == "Cancelled."


def test_layout_and_recent_files_persist(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    first = MainWindow(settings, tmp_path / "data")
    qtbot.addWidget(first)
    first.show()
    first.resize(1100, 700)
    first.splitter.setSizes([300, 800])
    first.files.recent.add(Path(SAMPLE_MAPPING))
    sizes = first.splitter.sizes()
    assert first.close()
    second = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                        tmp_path / "data")
    qtbot.addWidget(second)
    second.show()
    # The offscreen screen is narrow and clamps the width; the height and left pane persist.
    assert second.height() == 700 and second.splitter.sizes()[0] == sizes[0]
    second.files.recent.fill_menu()
    titles = [a.text() for a in second.recent_menu.actions()]
    assert titles[0] == "&1 mapping.csv"  # Alt+F, R, 1 opens it
    assert second.recent_menu.actions()[0].toolTip().endswith("mapping.csv")


def test_icons_follow_a_palette_switch(qtbot, window):
    from PySide6.QtGui import QColor, QGuiApplication, QPalette

    action = window.actions_by_name["open"]
    light = action.icon().pixmap(24, 24).toImage()
    app = QGuiApplication.instance()
    original = app.palette()
    dark = QPalette(original)
    dark.setColor(QPalette.ColorRole.WindowText, QColor("#f0f0f0"))
    dark.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    try:
        app.setPalette(dark)
        qtbot.waitUntil(lambda: action.icon().pixmap(24, 24).toImage() != light, timeout=2000)
    finally:
        app.setPalette(original)


def test_changing_the_source_column_reads_the_export_again(qtbot, window, tmp_path):
    import pandas as pd

    frame = pd.read_csv(SAMPLE_USERS, dtype=str, keep_default_na=False)
    frame["Department"] = "Dept-" + frame["Status"]
    export = tmp_path / "two-sources.csv"
    frame.to_csv(export, index=False)
    open_and_wait(qtbot, window, export)
    assert window.document.users.source_column == "Identity Provider Group"
    window.options_panel.source.setCurrentText("Department")
    window.options_panel.source.lineEdit().editingFinished.emit()
    qtbot.waitUntil(lambda: window.document.users.source_column == "Department", timeout=20_000)
    assert set(window.document.users.frame["source"]) == {"Dept-active", "Dept-pending"}
    window.editor.stack.undo()
    qtbot.waitUntil(lambda: window.document.users.source_column == "Identity Provider Group",
                    timeout=20_000)
    assert window.options_panel.source.currentText() == "Identity Provider Group"


def test_every_menu_item_has_an_access_key_and_help_is_under_help(qtbot, window):
    from PySide6.QtGui import QKeySequence

    dock_toggle = window.problems_dock.toggleViewAction()
    missing = [
        f"{menu.title()} ▸ {action.text()}"
        for menu in (m.menu() for m in window.menuBar().actions())
        for action in menu.actions()
        if not action.isSeparator() and action is not dock_toggle and "&" not in action.text()
    ]
    assert missing == []
    help_texts = [a.text() for a in window.help_menu.actions()]
    assert help_texts == ["Setup &help…", "&About GroupMap"]
    refresh = window.sync_controller.refresh_action
    assert refresh.shortcut() == QKeySequence(QKeySequence.StandardKey.Refresh)


def test_options_and_apply_fix_have_access_keys(qtbot, window):
    from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel

    panel = window.options_panel
    form = panel.layout()
    buddies = [form.itemAt(r, QFormLayout.ItemRole.LabelRole) for r in range(form.rowCount())]
    labels = [i.widget() for i in buddies if i is not None and isinstance(i.widget(), QLabel)]
    assert [label.buddy() for label in labels] == [panel.source, panel.default_group,
                                                   panel.separator]
    texts = [label.text() for label in labels]
    texts += [box.text() for box in panel.findChildren(QCheckBox)]
    texts.append(window.problems.fix_button.text())
    assert all("&" in text for text in texts), texts
    keys = [text[text.index("&") + 1].lower() for text in texts]
    menu_keys = [a.text()[a.text().index("&") + 1].lower() for a in window.menuBar().actions()]
    assert len(set(keys)) == len(keys) and not set(keys) & set(menu_keys)


def test_the_restore_question_names_the_draft_and_its_exports():
    from types import SimpleNamespace

    found = SimpleNamespace(draft_path=Path("/drafts/team.json"),
                            mapping=SimpleNamespace(rows=(1, 2, 3)),
                            export_paths=[Path("/x/users.csv"), Path("/x/pending.xlsx")],
                            source=None)
    text = file_dialogs.restore_question(found, "2026-11-28 22:30")
    assert text.startswith("GroupMap did not close properly last time. Restore team.json "
                           "(3 rows, with users.csv, pending.xlsx), autosaved at 2026-11-28 22:30?")


def test_tab_goes_from_the_options_to_the_start_page_then_to_problems(qtbot, window):
    from PySide6.QtCore import Qt

    window.show()
    qtbot.waitExposed(window)

    def tab_stops_after(widget, count):
        stops = []
        while len(stops) < count:
            widget = widget.nextInFocusChain()
            if widget.isVisible() and widget.isEnabled() and (
                    widget.focusPolicy() & Qt.FocusPolicy.TabFocus):
                stops.append(widget)
        return stops

    window.dock_fold.set_folded(False)
    start = tab_stops_after(window.options_panel.apply_existing, 3)
    assert start == [window.empty_state.button, window.sync_controller.empty_help_button,
                     window.problems.list]
