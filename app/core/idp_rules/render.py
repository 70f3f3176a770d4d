"""Writing a regex tree for a target engine: .NET (Entra), Java (Okta) or RE2 (Google).

Characters that are not plain printable text are written as escapes (quotes too), so a
rule survives every target's string quoting. .NET matches UTF-16 code units, so a class
there is written to take a character beyond U+FFFF as its surrogate pair, whole.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from app.core.idp_rules.charsets import ANY, MAX_CP, WHITESPACE, CharSet
from app.core.idp_rules.regex_ast import Alt, Chars, Look, Node, Repeat, Seq


class Flavour(StrEnum):
    DOTNET = ".NET"
    JAVA = "Java"
    RE2 = "RE2"
    PYTHON = "Python"  # GroupMap's own check of what a rule does, for --approximate


class CannotRender(ValueError):  # noqa: N818 - a refusal with its reason
    """The tree needs something this engine lacks."""


_META = set(".^$*+?()[]{}|\\/-")
_CLASS_META = set("]\\^-[")
_BMP = CharSet.span([(0, 0xFFFF)])
_ASTRAL = CharSet.span([(0x10000, MAX_CP)])
_PAIR = "[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]"


def _plain(cp: int) -> bool:
    """Printable and harmless in every target's string literal."""
    char = chr(cp)
    if char in "\"'`" or (cp < 128 and not char.isprintable()):
        return False
    if cp < 128:
        return True
    return unicodedata.category(char)[0] in "LNPS" and cp <= 0xFFFF


def _escape(cp: int, flavour: Flavour) -> str:
    if flavour is Flavour.DOTNET:
        if cp > 0xFFFF:
            high, low = divmod(cp - 0x10000, 0x400)
            return f"\\u{0xD800 + high:04X}\\u{0xDC00 + low:04X}"
        return f"\\x{cp:02X}" if cp < 0x100 else f"\\u{cp:04X}"
    if flavour is Flavour.PYTHON:
        return f"\\U{cp:08X}"
    return f"\\x{{{cp:X}}}"


def _char(cp: int, flavour: Flavour, in_class: bool) -> str:
    char = chr(cp)
    if char in (_CLASS_META if in_class else _META):
        return "\\" + char
    return char if _plain(cp) else _escape(cp, flavour)


def _class_body(chars: CharSet, flavour: Flavour) -> str:
    parts = []
    for lo, hi in chars.ranges:
        parts.append(_char(lo, flavour, True))
        if hi > lo:
            parts.append(("-" if hi > lo + 1 else "") + _char(hi, flavour, True))
    return "".join(parts)


def render_chars(chars: CharSet, flavour: Flavour) -> str:
    """One character of the set, as the engine reads it."""
    if chars.empty:
        return "[^" + _escape(0, flavour) + "-" + _escape(
            0xFFFF if flavour is Flavour.DOTNET else MAX_CP, flavour) + "]"
    if len(chars.ranges) == 1 and chars.ranges[0][0] == chars.ranges[0][1]:
        return _char(chars.ranges[0][0], flavour, False)
    if flavour is not Flavour.DOTNET:
        return _set_text(chars, flavour)
    if chars == WHITESPACE:
        return "[\\s\\x1C-\\x1F]"  # .NET's \s is [\f\n\r\t\v\x85\p{Z}]
    astral = chars.minus(_BMP)
    bmp = chars.minus(_ASTRAL)
    if astral.empty:
        return _set_text(bmp, flavour)
    if astral == _ASTRAL:
        pieces = [_PAIR] + ([_set_text(bmp, flavour)] if not bmp.empty else [])
        return "(?:" + "|".join(pieces) + ")"
    if astral.size() > 16:
        raise CannotRender(
            "a class holding some characters beyond U+FFFF (.NET matches UTF-16 units)"
        )
    pieces = [_escape(cp, flavour) for cp in astral.points()]
    if not bmp.empty:
        pieces.append(_set_text(bmp, flavour))
    return "(?:" + "|".join(pieces) + ")"


def _unit_class(chars: CharSet) -> str:
    """One UTF-16 unit for a lookaround: a set holding every character beyond U+FFFF takes
    either half of a surrogate pair (no half of one is whitespace or a separator)."""
    if not chars.minus(_BMP) == _ASTRAL:
        raise CannotRender("a lookaround on some characters beyond U+FFFF")
    outside = ANY.minus(chars).minus(_ASTRAL)
    if outside == WHITESPACE:
        return "[^\\s\\x1C-\\x1F]"
    return f"[^{_class_body(outside, Flavour.DOTNET)}]" if not outside.empty else "[\\s\\S]"


def _set_text(chars: CharSet, flavour: Flavour) -> str:
    outside = ANY.minus(chars)
    if flavour is Flavour.DOTNET:
        outside = outside.minus(_ASTRAL)
    if len(outside.ranges) < len(chars.ranges) or (
        outside.size() < chars.size() and len(outside.ranges) <= len(chars.ranges)
    ):
        if outside.empty:
            return "[\\s\\S]"
        if flavour is Flavour.DOTNET:
            return f"[^{_class_body(outside, flavour)}\\uD800-\\uDFFF]"
        return f"[^{_class_body(outside, flavour)}]"
    return f"[{_class_body(chars, flavour)}]"


def render(node: Node, flavour: Flavour) -> str:
    """The tree as a pattern; CannotRender when the engine lacks a construct it needs."""
    match node:
        case Chars(chars):
            return render_chars(chars, flavour)
        case Look(chars, behind):
            if flavour is Flavour.RE2:
                raise CannotRender("lookaround, which RE2 lacks")
            if flavour is Flavour.DOTNET:
                return f"(?{'<=' if behind else '='}{_unit_class(chars)})"
            return f"(?{'<=' if behind else '='}{render_chars(chars, flavour)})"
        case Seq(items):
            return "".join(_grouped(i, flavour, in_seq=True) for i in items)
        case Alt(options):
            return "|".join(render(o, flavour) for o in options)
        case Repeat(inner, low, high):
            body = _grouped(inner, flavour, in_seq=False)
            if (low, high) == (0, None):
                return body + "*"
            if (low, high) == (1, None):
                return body + "+"
            if (low, high) == (0, 1):
                return body + "?"
            if high == low:
                return f"{body}{{{low}}}"
            return f"{body}{{{low},{'' if high is None else high}}}"
    raise TypeError(node)


def _grouped(node: Node, flavour: Flavour, in_seq: bool) -> str:
    text = render(node, flavour)
    atomic = isinstance(node, Chars | Look) or (in_seq and isinstance(node, Repeat))
    return text if atomic else f"(?:{text})"
