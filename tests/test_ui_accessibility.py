"""Assistive technology and contrast: every interactive control has a name a screen reader
announces (walked through QAccessible), text reaches 4.5:1 in light and dark, the preview's
bars too, and View ▸ Appearance switches and remembers System, Light or Dark."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAccessible, QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.resources import resource_path
from app.ui.base.contrast import contrast, failing_pairs, readable_palette
from app.ui.preview.bar_delegate import bar_colors
from app.ui.preview.users_model import CHANGE_COLORS
from app.ui.server.sync_preview import add_color, alert_color
from app.ui.shell.appearance import dark_palette
from app.ui.shell.main_window import MainWindow

R = QAccessible.Role
INTERACTIVE = {R.Button, R.CheckBox, R.RadioButton, R.ComboBox, R.EditableText, R.Table,
               R.List, R.Tree, R.SpinBox, R.ButtonMenu, R.ButtonDropDown, R.PageTab, R.Cell,
               R.ListItem, R.ColumnHeader, R.Slider}
CELLS_READ = 400  # a table's first children (headers and the first rows' cells)


def unnamed(interface, path: str = "") -> list[str]:
    """Interactive, visible accessible objects without a name, as "Role at path"."""
    if interface is None or not interface.isValid():
        return []
    role = interface.role()
    where = f"{path}/{role.name}"
    found = []
    if (role in INTERACTIVE and not interface.state().invisible
            and not interface.text(QAccessible.Text.Name).strip()):
        found.append(f"{where} ({type(interface.object()).__name__})")
    count = interface.childCount()
    if role in (R.Table, R.List, R.Tree):
        count = min(count, CELLS_READ)
    for i in range(count):
        found += unnamed(interface.child(i), where)
    return found


@pytest.fixture
def palette_kept():
    app = QApplication.instance()
    original = QPalette(app.palette())
    yield
    app.setPalette(original)


@pytest.fixture
def loaded(qtbot, window, palette_kept, discard_on_close):
    window.files.open_mapping(resource_path("sample", "mapping.csv"))
    window.files.open_paths([resource_path("sample", "users.csv")])
    qtbot.waitUntil(lambda: window.tasks.current is None, timeout=20_000)
    window.options_box.set_unfolded(True)
    return window


@pytest.mark.parametrize("dock", ["problems", "expectations"])
def test_every_interactive_control_has_an_accessible_name(qtbot, loaded, dock):
    window = loaded
    window.reveal_pane(window.problems.list if dock == "problems" else window.expectations.table)
    if dock == "expectations":
        window.expectations.add()  # a line: its cells too
    assert unnamed(QAccessible.queryAccessibleInterface(window)) == []


def test_blank_cells_are_announced_as_empty(loaded):
    model = loaded.mapping_panel.model
    placeholder = model.index(model.rowCount() - 1, 3)  # the "New row…" line's Group
    assert model.data(placeholder, Qt.ItemDataRole.AccessibleTextRole) == "empty"
    summary = loaded.preview.summary_model
    bar = summary.index(0, summary.columnCount() - 1)
    assert "→" in summary.data(bar, Qt.ItemDataRole.AccessibleTextRole)


def test_the_contrast_ratio_follows_wcag():
    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21)
    assert contrast(QColor("#767676"), QColor("#ffffff")) == pytest.approx(4.54, abs=0.01)
    half_black = QColor(0, 0, 0, 128)  # Fusion's placeholder text, drawn on white
    assert contrast(half_black, QColor("#ffffff")) == pytest.approx(4.0, abs=0.05)


def light_palette() -> QPalette:
    return QApplication.instance().style().standardPalette()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_reaches_4_5_to_1_in_light_and_dark(qapp, theme):
    source = light_palette() if theme == "light" else dark_palette()
    palette = readable_palette(source)
    assert failing_pairs(palette) == []
    grounds = [palette.color(QPalette.ColorRole.Base),
               palette.color(QPalette.ColorRole.AlternateBase)]
    dark = theme == "dark"
    texts = [QColor(c[dark]) for c in CHANGE_COLORS.values()]
    texts += [QColor(add_color(palette)), QColor(alert_color(palette))]
    for shrinking in (False, True):
        texts += bar_colors(palette, shrinking)  # the preview's before and after bars
    for text in texts:
        for ground in grounds:
            assert contrast(text, ground) >= 4.5, (text.name(), ground.name())


def test_fusions_own_light_palette_is_fixed(qapp):
    assert failing_pairs(light_palette())  # white on its selection blue is 3.7:1
    assert failing_pairs(readable_palette(light_palette())) == []


def test_appearance_switches_and_is_remembered(qtbot, tmp_path, palette_kept, monkeypatch):
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    path = str(tmp_path / "settings.ini")
    first = MainWindow(QSettings(path, QSettings.Format.IniFormat), tmp_path / "data")
    qtbot.addWidget(first)
    menu = first.appearance.menu
    assert [a.text() for a in menu.actions()] == ["&System", "&Light", "&Dark"]
    first.appearance.actions["dark"].trigger()
    app = QApplication.instance()
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
    first.close()
    again = MainWindow(QSettings(path, QSettings.Format.IniFormat), tmp_path / "data")
    qtbot.addWidget(again)
    assert again.appearance.actions["dark"].isChecked()
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
    again.appearance.actions["light"].trigger()
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 200
    assert failing_pairs(app.palette()) == []
    again.close()


def test_the_server_dialogs_name_every_control(qtbot, monkeypatch, tmp_path):
    from app.ui.server.connection import ConnectionStore
    from app.ui.server.connection_dialog import ConnectionDialog
    from app.ui.server.sync_dialog import SyncDialog
    from app.ui.server.sync_preview import PlanDialog
    from tests.test_ui_plan_removals import explained_plan

    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    dialogs = [PlanDialog(explained_plan()), ConnectionDialog(ConnectionStore(), None, ""),
               SyncDialog(None)]
    for dialog in dialogs:
        qtbot.addWidget(dialog)
        dialog.show()
        assert unnamed(QAccessible.queryAccessibleInterface(dialog)) == [], type(dialog)
