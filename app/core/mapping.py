"""The mapping table and its options: what the admin edits, saves as a draft and syncs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any, Protocol, cast

import re2

from app.core.users import DEFAULT_SOURCE_COLUMN

GROUP_NAME_LIMIT = 50  # Calendly caps group names at 50 characters.


class MatchKind(StrEnum):
    """How a row's text is compared with a (stripped, case-folded if asked) export value."""

    EQUALS = "equals"
    STARTS_WITH = "starts with"
    ENDS_WITH = "ends with"
    CONTAINS = "contains"
    PATTERN = "pattern"  # an RE2 regular expression that must match the whole value


@dataclass(frozen=True)
class MappingRow:
    """One line of the table: users whose source value matches `value` land in `group`."""

    value: str
    group: str
    kind: MatchKind = MatchKind.EQUALS

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", MatchKind(self.kind))  # "starts with" is accepted too

    @property
    def is_complete(self) -> bool:
        return bool(self.value.strip()) and bool(self.group.strip())

    @property
    def is_usable(self) -> bool:
        """Complete, and for a pattern, one that compiles: the rows the engine applies."""
        return self.is_complete and (
            self.kind != MatchKind.PATTERN or pattern_error(self.value) is None
        )

    def describe(self) -> str:
        """The row's condition as the reasons show it: "Sales", or "starts with 'Sales'"."""
        if self.kind == MatchKind.EQUALS:
            return self.value.strip()
        return f"{self.kind} '{self.value.strip()}'"  # as typed: no doubled backslashes


def match_kind(text: str) -> MatchKind | None:
    """The kind a file or the command line names ("starts with", "regex", ...); None if unknown."""
    key = " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()
    if not key:
        return MatchKind.EQUALS
    return _KIND_ALIASES.get(key)


_KIND_ALIASES = {kind.value: kind for kind in MatchKind} | {
    "equal": MatchKind.EQUALS,
    "is": MatchKind.EQUALS,
    "exact": MatchKind.EQUALS,
    "startswith": MatchKind.STARTS_WITH,
    "begins with": MatchKind.STARTS_WITH,
    "endswith": MatchKind.ENDS_WITH,
    "regex": MatchKind.PATTERN,
    "regex match": MatchKind.PATTERN,
    "regular expression": MatchKind.PATTERN,
}


class CompiledPattern(Protocol):
    """A compiled RE2 pattern: matching takes time linear in the value, whatever the pattern."""

    def fullmatch(self, text: bytes) -> object | None: ...


class PatternError(ValueError):
    """A pattern RE2 cannot compile: RE2's message, and where in the pattern when it says."""

    def __init__(self, msg: str, pos: int | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


def pattern_options(ignore_case: bool) -> Any:
    """RE2's options for a row: UTF-8, case as asked, errors raised rather than logged."""
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not ignore_case
    return options


MAX_PATTERN_CHARS = 1000  # bounds a match's time: RE2 takes O(pattern x value)


@lru_cache(maxsize=4096)
def compile_pattern(text: str, ignore_case: bool) -> CompiledPattern:
    """A row's pattern, stripped like every row value, compiled by RE2, never Python's `re`:
    RE2 runs in time linear in the value, so no pattern (`(a+)+`) can hang a preview or the
    GUI thread. Match values encoded with `encode_value`. PatternError if it does not compile.
    """
    pattern = text.strip()
    if len(pattern) > MAX_PATTERN_CHARS:  # RE2's time is linear in the value, times the pattern
        raise PatternError(
            f"it is {len(pattern):,} characters long, more than the {MAX_PATTERN_CHARS:,} a "
            "pattern may have; split it into several rows"
        )
    try:
        compiled = re2.compile(pattern.encode(), pattern_options(ignore_case))
    except UnicodeEncodeError as error:
        raise PatternError("it holds a character that is not valid text", error.start) from None
    except re2.error as error:
        raise _pattern_error(pattern, error) from None
    refused = _refused_syntax(pattern)
    if refused is not None:
        raise refused
    return cast(CompiledPattern, compiled)


def _refused_syntax(pattern: str) -> PatternError | None:
    """What RE2 compiles but the admin must be told of (Python's `re` refuses both): `\\C`,
    one byte, which can split a character and match half of it; a group name given twice,
    of which RE2 silently keeps the first. The pattern has compiled, so its syntax is sound:
    this walks escapes, `\\Q...\\E` and character classes only to skip them."""
    names: set[str] = set()
    at, in_class = 0, False
    while at < len(pattern):
        char = pattern[at]
        if pattern.startswith("\\Q", at):
            end = pattern.find("\\E", at + 2)
            at = len(pattern) if end < 0 else end + 2
        elif char == "\\":
            if pattern.startswith("C", at + 1):
                return PatternError("\\C matches one byte, which can split a character in two; "
                                    "write . for any character", at)
            at += 2
        elif in_class:
            posix = pattern.find(":]", at + 2) if pattern.startswith("[:", at) else -1
            in_class = char != "]"
            at = posix + 2 if posix >= 0 else at + 1
        elif char == "[":
            in_class = True
            at += 1
            at += pattern.startswith("^", at)
            at += pattern.startswith("]", at)  # a ] first in a class is literal
        else:
            opening = next((o for o in ("(?P<", "(?<") if pattern.startswith(o, at)), "")
            name = pattern[at + len(opening):pattern.find(">", at)] if opening else ""
            if name and name in names:
                return PatternError(f"the group name '{name}' is given twice, and RE2 would "
                                    "keep only the first; give each group its own name", at)
            names.add(name)
            at += 1
    return None


def _pattern_error(pattern: str, error: Exception) -> PatternError:
    """RE2 says what is wrong, then the part at fault ("invalid escape sequence: \\1"): the
    position is where that part starts; a part that is the whole pattern adds nothing."""
    raw = error.args[0] if error.args else b""
    message = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    what, _, part = message.partition(": ")
    if part == pattern:
        return PatternError(what)
    return PatternError(message, pattern.find(part) if part and part in pattern else None)


def as_typed(text: str) -> str:
    """Text quoted for a one-line message as the admin typed it: `'Eng-\\d+'`, not repr's
    doubled backslashes; only what a line cannot show (a line break, a control character, a
    lone surrogate) is escaped as repr escapes it."""
    return "'" + "".join(c if c.isprintable() else repr(c)[1:-1] for c in text) + "'"


def encode_value(value: str) -> bytes:
    """A value as the patterns read it: UTF-8, a stray surrogate kept rather than failing."""
    return value.encode("utf-8", "surrogatepass")


@lru_cache(maxsize=1 << 18)
def pattern_error(text: str) -> PatternError | None:
    """Why a pattern does not compile (message and position), or None. Cached apart from the
    compiled patterns and far more widely: every evaluation asks it of every pattern row, and
    a mapping may hold tens of thousands."""
    try:
        compile_pattern(text, False)
    except PatternError as error:
        return error
    return None


@dataclass(frozen=True)
class Expectation:
    """What the mapping must do for one user (by email) or one export value.

    `groups` are the expected target groups in any order; empty means "no group". A subject
    with an "@" is an email; anything else is an export value (a whole source cell).
    """

    subject: str
    groups: tuple[str, ...] = ()

    @property
    def is_email(self) -> bool:
        return "@" in self.subject

    def expected_text(self) -> str:
        return ", ".join(self.groups) if self.groups else "no group"


@dataclass(frozen=True)
class Options:
    """How values are compared and how targets apply; the defaults are Calendly's behaviour."""

    source_column: str = DEFAULT_SOURCE_COLUMN
    default_group: str = ""
    ignore_case: bool = False
    separator: str = ""
    multiple_groups: bool = False
    apply_existing: bool = False


@dataclass(frozen=True)
class Mapping:
    """The rows, in priority order, the options, and the expectations the rows must meet."""

    rows: tuple[MappingRow, ...] = ()
    options: Options = field(default_factory=Options)
    expectations: tuple[Expectation, ...] = ()

    def with_rows(self, rows: list[MappingRow] | tuple[MappingRow, ...]) -> Mapping:
        return replace(self, rows=tuple(rows))

    def with_options(self, **changes: Any) -> Mapping:
        return replace(self, options=replace(self.options, **changes))

    def with_expectations(self, expectations: Sequence[Expectation]) -> Mapping:
        return replace(self, expectations=tuple(expectations))

    @property
    def default_group(self) -> str:
        return self.options.default_group.strip()

    def managed_groups(self) -> list[str]:
        """The groups this mapping may change: those its rows name, plus the default group.

        Memberships of any other group are never touched.
        """
        return list(self._managed)

    @cached_property
    def _managed(self) -> tuple[str, ...]:
        """Computed once per mapping: an evaluation asks several times, over every row."""
        names: dict[str, None] = {}
        for row in self.rows:
            if row.is_usable:
                names.setdefault(row.group.strip(), None)
        if self.default_group:
            names.setdefault(self.default_group, None)
        return tuple(names)

    def new_groups(self, existing: Iterable[str]) -> list[str]:
        """The managed groups that do not exist yet, given the groups known to exist.

        The one definition of a "new group": what exists is whatever is known, the export's
        current groups, the server's groups once read (a sync knows only the server's).
        """
        known = set(existing)
        return [name for name in self.managed_groups() if name not in known]


def normalize_value(value: str, ignore_case: bool) -> str:
    """The one comparison rule for source values and row values: strip, then fold case if asked."""
    value = value.strip()
    return value.casefold() if ignore_case else value


def loose_key(value: str) -> str:
    """A key that ignores case and all whitespace: used only to suggest near-misses."""
    return "".join(value.split()).casefold()
