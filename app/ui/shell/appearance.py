"""View ▸ Appearance: System, Light or Dark, remembered in QSettings.

Light and Dark set the style's own light palette or GroupMap's dark one (and Qt's colour
scheme where the platform follows it); System keeps the palette the platform gave at start.
Every palette goes through `readable_palette`, so text reaches 4.5:1 in each.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMenu

from app.ui.base.contrast import readable_palette

APPEARANCES = (("system", "&System"), ("light", "&Light"), ("dark", "&Dark"))
SETTING = "view/appearance"
DARK = {  # role: colour of GroupMap's dark palette
    "Window": "#2b2b2b", "WindowText": "#e8e8e8", "Base": "#1e1e1e", "AlternateBase": "#262626",
    "ToolTipBase": "#2b2b2b", "ToolTipText": "#e8e8e8", "PlaceholderText": "#a6a6a6",
    "Text": "#e8e8e8", "Button": "#363636", "ButtonText": "#e8e8e8", "BrightText": "#ffffff",
    "Highlight": "#2f6db0", "HighlightedText": "#ffffff", "Link": "#8ab4f8",
    "Light": "#4a4a4a", "Midlight": "#3c3c3c", "Mid": "#303030", "Dark": "#1a1a1a",
    "Shadow": "#000000",
}
DISABLED_TEXT = "#8a8a8a"


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in DARK.items():
        palette.setColor(getattr(QPalette.ColorRole, role), QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DISABLED_TEXT))
    return palette


class Appearance:
    """Applies and remembers the choice; `menu` is the View menu's Appearance submenu."""

    def __init__(self, settings: QSettings, parent_menu: QMenu) -> None:
        self.settings = settings
        app = QApplication.instance()
        stored = app.property("groupmap-system-palette")
        self.system = stored if isinstance(stored, QPalette) else QPalette(app.palette())
        app.setProperty("groupmap-system-palette", self.system)
        self.menu = parent_menu.addMenu("Appea&rance")
        group = QActionGroup(self.menu)
        self.actions: dict[str, QAction] = {}
        for key, text in APPEARANCES:
            action = self.menu.addAction(text)
            action.setCheckable(True)
            action.setActionGroup(group)
            action.triggered.connect(lambda _=False, k=key: self.choose(k))
            self.actions[key] = action
        chosen = str(settings.value(SETTING, "system"))
        self.apply(chosen if chosen in self.actions else "system")

    def choose(self, key: str) -> None:
        self.settings.setValue(SETTING, key)
        self.apply(key)

    def apply(self, key: str) -> None:
        self.actions[key].setChecked(True)
        app = QApplication.instance()
        hints = QGuiApplication.styleHints()
        scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(
            key, Qt.ColorScheme.Unknown)
        if hasattr(hints, "setColorScheme"):  # Qt 6.8+: native dialogs and styles follow
            hints.setColorScheme(scheme)
        palette = {"light": app.style().standardPalette(), "dark": dark_palette()}.get(
            key, self.system)
        app.setPalette(readable_palette(palette))
