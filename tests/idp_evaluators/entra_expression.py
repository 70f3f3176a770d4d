"""An evaluator of the documented subset of Entra's attribute-mapping expressions that the
rules use: attributes [name], "string" constants (\\\\ and \\" escapes), Switch (a
case-sensitive comparison; "" matches an empty or absent source) and Replace (oldValue, or
a .NET regexPattern with a replacementValue)."""

from __future__ import annotations

import re

from tests.idp_evaluators.regexes import dotnet_replace

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:\\.|[^"\\])*")|(?P<attr>\[[^\]]+\])|(?P<name>[A-Za-z]+)'
                    r"|(?P<punct>[(),]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            raise SyntaxError(f"at {pos}: {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def evaluate(expression: str, attributes: dict[str, str | None]) -> str | None:
    tokens = _tokens(expression)
    node, pos = _parse(tokens, 0)
    assert pos == len(tokens), "trailing input"
    return _eval(node, attributes)


def _parse(tokens: list[tuple[str, str]], pos: int) -> tuple[object, int]:
    kind, text = tokens[pos]
    if kind == "str":
        return ("str", re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.S)), pos + 1
    if kind == "attr":
        return ("attr", text[1:-1]), pos + 1
    if kind != "name" or tokens[pos + 1] != ("punct", "("):
        raise SyntaxError(text)
    pos += 2
    args: list[object] = []
    while True:
        if tokens[pos] in (("punct", ","), ("punct", ")")):
            args.append(None)  # an omitted optional argument
        else:
            arg, pos = _parse(tokens, pos)
            args.append(arg)
        sep = tokens[pos][1]
        pos += 1
        if sep == ")":
            return ("call", text, args), pos
        assert sep == ","


def _eval(node: object, attributes: dict[str, str | None]) -> str | None:
    if node is None:
        return None
    tag = node[0]  # type: ignore[index]
    if tag == "str":
        return node[1]  # type: ignore[index,no-any-return]
    if tag == "attr":
        return attributes.get(node[1])  # type: ignore[index]
    _, name, args = node  # type: ignore[misc]
    if name == "Switch":
        source = _eval(args[0], attributes)
        for key, value in zip(args[2::2], args[3::2], strict=True):
            if _eval(key, attributes) == (source or ""):
                return _eval(value, attributes)
        return _eval(args[1], attributes)
    if name == "Replace":
        source = _eval(args[0], attributes)
        if source is None:
            return None
        old, pattern, group, replacement = (_eval(a, attributes) for a in args[1:5])
        assert group is None and replacement is not None
        if pattern is not None:
            return dotnet_replace(pattern, source, replacement)
        return source.replace(old or "", replacement)
    raise SyntaxError(f"undocumented or unused function {name}")
