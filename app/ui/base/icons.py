"""SVG icons from resources/icons, drawn in the palette's text colour so they suit light and dark.

Icons draw with stroke="currentColor"; status icons carry their own colours and keep them.
"""

from __future__ import annotations

import re
from functools import cache

from PySide6.QtCore import QByteArray, QObject, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.resources import resources_root

SIZES = (16, 20, 24, 32, 48)
ICON_PROPERTY = "groupmapIcon"


def icon(name: str) -> QIcon:
    """The named icon tinted for the current palette (empty icon if the file is missing).

    In selected rows it is drawn in the highlighted-text colour, so it stays visible.
    """
    palette = QGuiApplication.palette()
    color = palette.color(QPalette.ColorRole.WindowText).name()
    selected = palette.color(QPalette.ColorRole.HighlightedText).name()
    return _icon(name, color, selected)


@cache
def _icon(name: str, color: str, selected: str) -> QIcon:
    path = resources_root() / "icons" / f"{name}.svg"
    if not path.exists():
        return QIcon()
    svg = path.read_text(encoding="utf-8")
    result = QIcon()
    _add_pixmaps(result, svg.replace("currentColor", color), QIcon.Mode.Normal)
    on_highlight = re.sub(r'"#[0-9a-fA-F]{6}"', f'"{selected}"', svg)
    _add_pixmaps(result, on_highlight.replace("currentColor", selected), QIcon.Mode.Selected)
    return result


def _add_pixmaps(result: QIcon, svg: str, mode: QIcon.Mode) -> None:
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    for size in SIZES:
        for ratio in (1, 2):
            pixmap = QPixmap(QSize(size * ratio, size * ratio))
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            renderer.render(painter, QRectF(0, 0, size * ratio, size * ratio))
            painter.end()
            pixmap.setDevicePixelRatio(ratio)
            result.addPixmap(pixmap, mode)


def set_icon(target: QObject, name: str) -> None:
    """Give an action or button a themed icon that `retint` redraws when the palette changes."""
    target.setProperty(ICON_PROPERTY, name)
    target.setIcon(icon(name))


def retint(root: QObject) -> None:
    """Redraw the themed icons under root in the current palette (light/dark switch)."""
    for child in root.findChildren(QObject):
        name = child.property(ICON_PROPERTY)
        if name and hasattr(child, "setIcon"):
            child.setIcon(icon(str(name)))


def app_icon() -> QIcon:
    """The application icon (the packaging helper's groupmap.svg / PNGs), if present."""
    icons = resources_root() / "icons"
    result = QIcon()
    for png in sorted(icons.glob("groupmap-*.png")):
        result.addFile(str(png))
    if result.isNull() and (icons / "groupmap.svg").exists():
        result = QIcon(str(icons / "groupmap.svg"))
    return result
