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


def _braced_hex(pattern: str) -> str:
    return re.sub(r"\\x\{([0-9A-Fa-f]+)\}", lambda m: f"\\U{int(m.group(1), 16):08x}", pattern)


def dotnet(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    translated = pattern.replace("[\\s\\S]", "[\\x00-\\uffff]").replace("\\s", _DOTNET_SPACE)
    if "\\x{" in pattern or "\\U" in pattern:
        raise ValueError(".NET has no \\x{...} or \\U escapes")
    return re.compile(translated, re.IGNORECASE if ignore_case else 0)


def dotnet_search(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return dotnet(pattern, ignore_case).search(utf16_units(value)) is not None


def dotnet_replace(pattern: str, value: str, replacement: str) -> str:
    assert "$" not in replacement
    return from_units(dotnet(pattern).sub(replacement, utf16_units(value)))


def java_matches(pattern: str, value: str) -> bool:
    if re.search(r"\\[uU]", pattern):
        raise ValueError("not emitted for Java")
    return re.fullmatch(_braced_hex(pattern), value) is not None


def re2_search(pattern: str, value: str) -> bool:
    if "(?=" in pattern or "(?<" in pattern:
        raise ValueError("RE2 has no lookaround")
    translated = re.sub(r"(?<!\\)\$", r"\\Z", _braced_hex(pattern))
    return re.search(translated, value) is not None
