"""The three regex engines the targets use, emulated with Python's `re` from their
documentation: .NET (UTF-16 code units, \\s = [\\f\\n\\r\\t\\v\\x85\\p{Z}], $ also before a final
newline), Java (\\x{h...}, whole-string String.matches), RE2 (\\x{h...}, $ only at the end)."""

from __future__ import annotations

import re

_DOTNET_SPACE = (  # .NET's \s: [\f\n\r\t\v\x85\p{Z}]
    "\\t\\n\\x0b\\x0c\\r\\x85 \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)


def utf16_units(text: str) -> str:
    """The string as .NET sees it: one char per UTF-16 code unit."""
    data = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(int.from_bytes(data[i : i + 2], "little")) for i in range(0, len(data), 2))


def from_units(units: str) -> str:
    data = b"".join(ord(u).to_bytes(2, "little") for u in units)
    return data.decode("utf-16-le", "surrogatepass")


def _pieces(pattern: str) -> list[tuple[str, bool]]:
    """The pattern as atoms (an escape such as `\\\\` or `\\x{1F600}` is one) with whether
    each lies inside a character class, so a translation never reads an escaped backslash
    and the letter after it as an escape of its own."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        if pattern[i] == "\\":
            braced = re.match(r"\\x\{[0-9A-Fa-f]+\}", pattern[i:])
            piece = braced.group() if braced else pattern[i : i + 2]
        else:
            piece = pattern[i]
            if piece == "[" and not in_class:
                in_class = True
                out.append((piece, False))
                i += 1
                if pattern[i : i + 1] == "^":
                    out.append(("^", True))
                    i += 1
                continue
            if piece == "]" and in_class:
                in_class = False
        out.append((piece, in_class and piece != "]"))
        i += len(piece)
    return out


def _braced_hex(piece: str) -> str:
    if piece.startswith("\\x{"):
        return f"\\U{int(piece[3:-1], 16):08x}"
    return piece


def dotnet(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    pieces, parts = _pieces(pattern), []
    for i, (piece, in_class) in enumerate(pieces):
        if piece == "\\S" and [p for p, _ in pieces[i - 2 : i + 2]] == ["[", "\\s", "\\S", "]"]:
            parts[-1] = "\\x00-\\uffff"  # [\s\S]: any UTF-16 unit
            continue
        if piece.startswith("\\x{") or piece == "\\U" or piece == "\\S":
            raise ValueError(f".NET has no {piece} here (or the evaluator does not read it)")
        if piece == "\\s":
            piece = _DOTNET_SPACE if in_class else f"[{_DOTNET_SPACE}]"
        parts.append(piece)
    return re.compile("".join(parts), re.IGNORECASE if ignore_case else 0)


def dotnet_search(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return dotnet(pattern, ignore_case).search(utf16_units(value)) is not None


def dotnet_replace(pattern: str, value: str, replacement: str) -> str:
    assert "$" not in replacement
    return from_units(dotnet(pattern).sub(replacement, utf16_units(value)))


def java_matches(pattern: str, value: str) -> bool:
    if any(p in ("\\u", "\\U") for p, _ in _pieces(pattern)):
        raise ValueError("not emitted for Java")
    return re.fullmatch("".join(_braced_hex(p) for p, _ in _pieces(pattern)), value) is not None


def re2_search(pattern: str, value: str) -> bool:
    if "(?=" in pattern or "(?<" in pattern:
        raise ValueError("RE2 has no lookaround")
    translated = "".join(
        "\\Z" if p == "$" and not in_class else _braced_hex(p) for p, in_class in _pieces(pattern)
    )
    return re.search(translated, value) is not None
