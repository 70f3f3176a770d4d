"""An evaluator of the CEL subset Google's dynamic group queries use here:
user.organizations.exists(org, org.x.matches(r'...')), !, &&, || and parentheses;
matches() is an RE2 search (CEL's definition); r'' strings keep backslashes."""

from __future__ import annotations

import re

from tests.idp_evaluators.regexes import re2_search

_TOKEN = re.compile(r"\s*(?:(?P<str>r'[^']*')|(?P<op>&&|\|\||!|[(),.])"
                    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")


def evaluate(query: str, organizations: list[dict[str, str]]) -> bool:
    tokens: list[str] = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m:
            if not query[pos:].strip():
                break
            raise SyntaxError(query[pos : pos + 20])
        tokens.append(m.group(m.lastgroup or ""))
        pos = m.end()
    value, end = _or(tokens, 0, organizations)
    assert end == len(tokens), "trailing input"
    return value


def _or(t: list[str], i: int, orgs: list[dict[str, str]]) -> tuple[bool, int]:
    value, i = _and(t, i, orgs)
    while i < len(t) and t[i] == "||":
        right, i = _and(t, i + 1, orgs)
        value = value or right
    return value, i


def _and(t: list[str], i: int, orgs: list[dict[str, str]]) -> tuple[bool, int]:
    value, i = _unary(t, i, orgs)
    while i < len(t) and t[i] == "&&":
        right, i = _unary(t, i + 1, orgs)
        value = value and right
    return value, i


def _unary(t: list[str], i: int, orgs: list[dict[str, str]]) -> tuple[bool, int]:
    if t[i] == "!":
        value, i = _unary(t, i + 1, orgs)
        return not value, i
    if t[i] == "(":
        value, i = _or(t, i + 1, orgs)
        assert t[i] == ")"
        return value, i + 1
    expected = ["user", ".", "organizations", ".", "exists", "("]
    assert t[i : i + 6] == expected, t[i : i + 6]
    var = t[i + 6]
    assert t[i + 7] == "," and t[i + 8] == var and t[i + 9] == "."
    field = t[i + 10]
    assert t[i + 11 : i + 14] == [".", "matches", "("]
    literal = t[i + 14]
    assert literal.startswith("r'") and t[i + 15 : i + 17] == [")", ")"]
    pattern = literal[2:-1]
    return any(re2_search(pattern, org.get(field, "")) for org in orgs), i + 17
