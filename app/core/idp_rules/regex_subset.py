"""Reading a row's pattern into the portable subset, or saying which construct is outside it.

GroupMap's patterns are Python `re` today and RE2 tomorrow; a target reads them as .NET,
Java or RE2. A pattern is translated only when every construct means the same in all of
them: literals, escaped punctuation, \\t \\n \\r \\f \\v \\a, \\xhh, \\uhhhh, \\Uhhhhhhhh,
classes of those (with ranges and ^), `.`, groups `(...)` and `(?:...)`, alternation, and
the quantifiers * + ? {n} {n,} {n,m} (lazy or not). Anything else is refused with its
reason (\\d is any Unicode digit in Python but 0-9 in RE2 and Java, for example).
"""

from __future__ import annotations

from app.core.idp_rules.charsets import NOT_NEWLINE, CharSet
from app.core.idp_rules.regex_ast import EMPTY, Chars, Node, Repeat, alt, seq

REPEAT_LIMIT = 1000  # RE2 refuses larger counted repetitions


class OutsideSubset(ValueError):  # noqa: N818 - a refusal with its reason, not a failure
    """The construct a pattern uses that is not translated, and why."""


_SIMPLE_ESCAPES = {"t": 9, "n": 10, "r": 13, "f": 12, "v": 11, "a": 7}
_CLASS_ESCAPES = {
    "d": "\\d is any Unicode digit in Python but 0-9 in RE2 and Java: write [0-9]",
    "D": "\\D differs between Python (Unicode) and RE2/Java (ASCII): write [^0-9]",
    "w": "\\w means Unicode word characters in Python but [0-9A-Za-z_] in RE2 and Java:"
    " write the class out",
    "W": "\\W differs between Python (Unicode) and RE2/Java (ASCII): write the class out",
    "s": "\\s means Unicode whitespace in Python but ASCII whitespace in RE2 and Java:"
    " write the characters out",
    "S": "\\S differs between Python (Unicode) and RE2/Java (ASCII)",
    "b": "\\b (word boundary) differs between Python and RE2/Java and has no portable form",
    "B": "\\B (not a word boundary) has no portable form",
    "A": "\\A is not needed: a pattern already matches the whole value",
    "Z": "\\Z is not needed: a pattern already matches the whole value",
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.text[i] if i < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def alternation(self) -> Node:
        options = [self.sequence()]
        while self.peek() == "|":
            self.take()
            options.append(self.sequence())
        return alt(*options)

    def sequence(self) -> Node:
        items: list[Node] = []
        while self.peek() and self.peek() not in "|)":
            atom = self.atom()
            items.append(self.quantified(atom))
        return seq(*items) if items else EMPTY

    def atom(self) -> Node:
        char = self.take()
        if char == "(":
            if self.peek() == "?":
                if self.peek(1) != ":":
                    raise OutsideSubset(
                        "(?...) groups (inline flags, lookaround, named groups, comments)"
                        " are not portable"
                    )
                self.pos += 2
            inner = self.alternation()
            if self.take() != ")":
                raise OutsideSubset("an unbalanced parenthesis")
            return inner
        if char == "[":
            return Chars(self.char_class())
        if char == ".":
            return Chars(NOT_NEWLINE)
        if char in "^$":
            raise OutsideSubset(
                f"the anchor {char!r}: a pattern already matches the whole value"
            )
        if char == "\\":
            return Chars(CharSet.of([self.escape()]))
        if char in "*+?{":
            raise OutsideSubset(f"{char!r} with nothing to repeat")
        return Chars(CharSet.of([ord(char)]))

    def quantified(self, atom: Node) -> Node:
        char = self.peek()
        if char == "{" and not self._is_counted():
            raise OutsideSubset("a '{' that is not a repetition count: escape it as \\{")
        if not char or char not in "*+?{":
            return atom
        self.take()
        low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}.get(char, (0, None))
        if char == "{":
            low, high = self._counts()
        if self.peek() == "?":
            self.take()  # lazy: the same set of whole matches
        elif self.peek() == "+":
            raise OutsideSubset("possessive quantifiers (*+, ++, ?+) are not portable")
        if self.peek() and self.peek() in "*+?" or self.peek() == "{" and self._is_counted():
            raise OutsideSubset("a repetition of a repetition")
        return Repeat(atom, low, high)

    def _is_counted(self) -> bool:
        end = self.text.find("}", self.pos)
        if end < 0:
            return False
        body = self.text[self.pos + 1 : end]
        low, _, high = body.partition(",")
        return bool(body) and (low.isdigit() or not low) and (high.isdigit() or not high) and (
            low.isascii() and high.isascii()
        ) and body != ","

    def _counts(self) -> tuple[int, int | None]:
        end = self.text.index("}", self.pos)
        body = self.text[self.pos : end]
        self.pos = end + 1
        low_text, comma, high_text = body.partition(",")
        low = int(low_text) if low_text else 0
        high = (int(high_text) if high_text else None) if comma else low
        if max(low, high or 0) > REPEAT_LIMIT:
            raise OutsideSubset(f"a repetition count over {REPEAT_LIMIT} (RE2's limit)")
        return low, high

    def escape(self) -> int:
        char = self.take()
        if not char:
            raise OutsideSubset("a trailing backslash")
        if char in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[char]
        if char in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[char]
            digits = self.text[self.pos : self.pos + width]
            self.pos += width
            return int(digits, 16)
        if char in _CLASS_ESCAPES:
            raise OutsideSubset(_CLASS_ESCAPES[char])
        if char.isdigit():
            raise OutsideSubset("back-references and octal escapes are not portable")
        if char.isalnum() or char == "_" or not char.isascii():
            raise OutsideSubset(f"the escape \\{char} is not portable")
        return ord(char)

    def char_class(self) -> CharSet:
        negated = self.peek() == "^"
        if negated:
            self.take()
        if self.peek() == "]":
            raise OutsideSubset("a ']' first in a class: escape it as \\]")
        ranges: list[tuple[int, int]] = []
        while self.peek() != "]":
            if not self.peek():
                raise OutsideSubset("an unterminated class")
            if self.peek() == "[" or self.text.startswith(("&&", "--", "||", "~~"), self.pos):
                raise OutsideSubset(
                    "'[', '&&', '--', '||' or '~~' inside a class mean set operations in Java"
                    " or future Python: escape them"
                )
            low = self._class_char()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.take()
                ranges.append((low, self._class_char()))
            else:
                ranges.append((low, low))
        self.take()
        chars = CharSet.span(ranges)
        return chars.complement() if negated else chars

    def _class_char(self) -> int:
        char = self.take()
        if char != "\\":
            return ord(char)
        if self.peek() == "b":
            raise OutsideSubset("\\b in a class (a backspace in Python) is not portable")
        return self.escape()


def parse(pattern: str) -> Node:
    """The stripped pattern as a tree; OutsideSubset names the first construct refused."""
    parser = _Parser(pattern.strip())
    node = parser.alternation()
    if parser.pos < len(parser.text):
        raise OutsideSubset("an unbalanced parenthesis")
    return node
