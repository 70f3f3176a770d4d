"""Readable colours: WCAG contrast ratios, and a palette whose text pairs all reach 4.5:1.

A palette from the system or a style may not (Fusion's white on its selection blue is
3.6:1, a dark theme's selection blue on dark grey was the hard-to-see "after" bar), so every
palette the window uses goes through `readable_palette`.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QColor, QPalette

TEXT_CONTRAST = 4.5  # WCAG 2.x AA for normal text
Role = QPalette.ColorRole
# (foreground, background) pairs a palette's text is drawn with; the first is adjusted.
TEXT_PAIRS = (
    (Role.Text, Role.Base), (Role.Text, Role.AlternateBase),
    (Role.WindowText, Role.Window), (Role.ButtonText, Role.Button),
    (Role.PlaceholderText, Role.Base), (Role.PlaceholderText, Role.AlternateBase),
    (Role.ToolTipText, Role.ToolTipBase), (Role.Link, Role.Base),
)


def luminance(color: QColor) -> float:
    """WCAG relative luminance of an sRGB colour."""
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def over(color: QColor, ground: QColor) -> QColor:
    """A translucent colour as drawn on `ground` (Fusion's placeholder text is half black)."""
    alpha = color.alphaF()
    if alpha >= 1:
        return QColor(color)
    return QColor.fromRgbF(*(alpha * c + (1 - alpha) * g for c, g in zip(
        (color.redF(), color.greenF(), color.blueF()),
        (ground.redF(), ground.greenF(), ground.blueF()), strict=True)))


def contrast(first: QColor, second: QColor) -> float:
    """WCAG contrast ratio, 1 to 21 (`first` drawn on `second`)."""
    a, b = sorted((luminance(over(first, second)), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def is_dark(color: QColor) -> bool:
    return luminance(color) < 0.18


def readable(color: QColor, backgrounds: Iterable[QColor],
             minimum: float = TEXT_CONTRAST) -> QColor:
    """`color`, darkened on light backgrounds or lightened on dark ones until it reaches
    `minimum` against each (its hue kept as far as it goes)."""
    grounds = list(backgrounds)
    if all(contrast(color, g) >= minimum for g in grounds):
        return QColor(color)
    toward_white = is_dark(grounds[0])
    hue, saturation, lightness, _ = over(color, grounds[0]).getHslF()
    step = 0.02 if toward_white else -0.02
    candidate = QColor(color)
    for _ in range(60):
        lightness = min(max(lightness + step, 0.0), 1.0)
        candidate = QColor.fromHslF(max(hue, 0.0), saturation, lightness)
        if all(contrast(candidate, g) >= minimum for g in grounds):
            return candidate.toRgb()
    return QColor("#ffffff" if toward_white else "#000000")


def readable_background(background: QColor, text: QColor,
                        minimum: float = TEXT_CONTRAST) -> QColor:
    """A selection colour deep (or pale) enough for its text: white on Fusion's blue."""
    return readable(background, [text], minimum)


def readable_palette(palette: QPalette) -> QPalette:
    """A copy of `palette` whose text pairs (active and inactive) reach 4.5:1."""
    fixed = QPalette(palette)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        highlight = readable_background(fixed.color(group, Role.Highlight),
                                        fixed.color(group, Role.HighlightedText))
        fixed.setColor(group, Role.Highlight, highlight)
        for foreground in dict.fromkeys(f for f, _ in TEXT_PAIRS):
            grounds = [fixed.color(group, b) for f, b in TEXT_PAIRS if f == foreground]
            fixed.setColor(group, foreground, readable(fixed.color(group, foreground), grounds))
    return fixed


def failing_pairs(palette: QPalette) -> list[str]:
    """The text pairs below 4.5:1 (for tests): "Text on AlternateBase 3.2"."""
    failing = []
    pairs = (*TEXT_PAIRS, (Role.HighlightedText, Role.Highlight))
    for foreground, background in pairs:
        ratio = contrast(palette.color(foreground), palette.color(background))
        if ratio < TEXT_CONTRAST:
            failing.append(f"{foreground.name} on {background.name} {ratio:.1f}")
    return failing
