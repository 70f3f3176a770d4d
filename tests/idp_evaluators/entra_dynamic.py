"""An evaluator of the Entra dynamic membership rule subset the rules use: user.x -match
"regex" (a .NET search that ignores case, as the page says), -and, -or, -not, parentheses;
"strings" with `" for a double quote. A null attribute matches nothing."""

from __future__ import annotations

import re

from tests.idp_evaluators.regexes import dotnet_search

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:`.|[^"`])*")|(?P<op>-match|-and|-or|-not)'
                    r"|(?P<paren>[()])|(?P<prop>user\.[A-Za-z_][A-Za-z0-9_]*))", re.S)


def evaluate(rule: str, user: dict[str, str | None]) -> bool:
    tokens: list[str] = []
    pos = 0
    while pos < len(rule):
        m = _TOKEN.match(rule, pos)
        if not m:
            if not rule[pos:].strip():
                break
            raise SyntaxError(rule[pos : pos + 20])
        tokens.append(m.group(m.lastgroup or ""))
        pos = m.end()
    value, end = _or(tokens, 0, user)
    assert end == len(tokens), "trailing input"
    return value


def _or(t: list[str], i: int, user: dict[str, str | None]) -> tuple[bool, int]:
    value, i = _and(t, i, user)
    while i < len(t) and t[i] == "-or":
        right, i = _and(t, i + 1, user)
        value = value or right
    return value, i


def _and(t: list[str], i: int, user: dict[str, str | None]) -> tuple[bool, int]:
    value, i = _not(t, i, user)
    while i < len(t) and t[i] == "-and":
        right, i = _not(t, i + 1, user)
        value = value and right
    return value, i


def _not(t: list[str], i: int, user: dict[str, str | None]) -> tuple[bool, int]:
    if t[i] == "-not":
        value, i = _not(t, i + 1, user)
        return not value, i
    if t[i] == "(":
        value, i = _or(t, i + 1, user)
        assert t[i] == ")"
        return value, i + 1
    prop, op, literal = t[i : i + 3]
    assert prop.startswith("user.") and op == "-match" and literal.startswith('"')
    pattern = re.sub(r"`(.)", r"\1", literal[1:-1], flags=re.S)
    actual = user.get(prop[5:])
    return actual is not None and dotnet_search(pattern, actual, ignore_case=True), i + 3
