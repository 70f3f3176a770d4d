"""An evaluator of the Okta Expression Language subset the rules use (SpEL-based): user.x
attributes, 'strings' ('' for a quote, no backslash escapes), null, true, ==, !=, the
conditional ? :, AND, OR, !, and SpEL's `matches` (Java's whole-string String.matches;
an error on a null string)."""

from __future__ import annotations

import re

from tests.idp_evaluators.regexes import java_matches

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:''|[^'])*')|(?P<op>==|!=|[()?:!])"
                    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))")


class _Parser:
    def __init__(self, text: str, user: dict[str, str | None]) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                if not text[pos:].strip():
                    break
                raise SyntaxError(text[pos : pos + 20])
            self.tokens.append((m.lastgroup or "", m.group(m.lastgroup or "")))
            pos = m.end()
        self.pos, self.user = 0, user

    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self) -> tuple[str, str]:
        self.pos += 1
        return self.tokens[self.pos - 1]

    # Each level returns a thunk, so AND/OR and ?: evaluate lazily, as SpEL does.
    def ternary(self):  # type: ignore[no-untyped-def]
        cond = self.disjunction()
        if self.peek() != "?":
            return cond
        self.take()
        yes = self.ternary()
        assert self.take()[1] == ":"
        no = self.ternary()
        return lambda: yes() if _bool(cond()) else no()

    def disjunction(self):  # type: ignore[no-untyped-def]
        parts = [self.conjunction()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda: any(_bool(p()) for p in parts)

    def conjunction(self):  # type: ignore[no-untyped-def]
        parts = [self.negation()]
        while self.peek() == "AND":
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else lambda: all(_bool(p()) for p in parts)

    def negation(self):  # type: ignore[no-untyped-def]
        if self.peek() == "!":
            self.take()
            inner = self.negation()
            return lambda: not _bool(inner())
        return self.comparison()

    def comparison(self):  # type: ignore[no-untyped-def]
        left = self.primary()
        op = self.peek()
        if op in ("==", "!=", "matches"):
            self.take()
            right = self.primary()
            if op == "==":
                return lambda: left() == right()
            if op == "!=":
                return lambda: left() != right()
            return lambda: _matches(left(), right())
        return left

    def primary(self):  # type: ignore[no-untyped-def]
        kind, text = self.take()
        if text == "(":
            inner = self.ternary()
            assert self.take()[1] == ")"
            return inner
        if kind == "str":
            value = text[1:-1].replace("''", "'")
            return lambda: value
        if text in ("null", "true", "false"):
            constant = {"null": None, "true": True, "false": False}[text]
            return lambda: constant
        if kind == "word" and text.startswith("user."):
            return lambda: self.user.get(text[5:])
        raise SyntaxError(text)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"not a boolean: {value!r}")
    return value


def _matches(value: object, pattern: object) -> bool:
    if not isinstance(value, str) or not isinstance(pattern, str):
        raise TypeError("matches needs two strings (SpEL fails on null)")
    return java_matches(pattern, value)


def evaluate(expression: str, user: dict[str, str | None]) -> object:
    parser = _Parser(expression, user)
    thunk = parser.ternary()
    assert parser.pos == len(parser.tokens), "trailing input"
    return thunk()
