"""Sets of code points, Python's whitespace, and the case tables GroupMap's matching uses.

GroupMap strips values with `str.strip()` and, with --ignore-case, compares `str.casefold()`
texts; patterns then run with `re.IGNORECASE` over the folded text. The rules handed to an
identity provider never lean on the provider's own case rules: every letter becomes the
explicit set of characters GroupMap would accept there, computed here from Python itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

MAX_CP = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)
CASED_LIMIT = 0x20000
"""No code point from here on has a case mapping or folding (a test checks it)."""

Ranges = tuple[tuple[int, int], ...]


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


@dataclass(frozen=True)
class CharSet:
    """A set of code points as sorted, merged, inclusive ranges (surrogates never members)."""

    ranges: Ranges = ()

    @staticmethod
    def of(points: Iterable[int]) -> CharSet:
        return CharSet.span((p, p) for p in points)

    @staticmethod
    def span(ranges: Iterable[tuple[int, int]]) -> CharSet:
        return CharSet(_merge(ranges)).minus(_SURROGATE_SET)

    def union(self, other: CharSet) -> CharSet:
        return CharSet(_merge(self.ranges + other.ranges))

    def complement(self) -> CharSet:
        gaps, start = [], 0
        for lo, hi in self.ranges:
            if lo > start:
                gaps.append((start, lo - 1))
            start = hi + 1
        if start <= MAX_CP:
            gaps.append((start, MAX_CP))
        return CharSet(tuple(gaps)).minus(_SURROGATE_SET) if gaps else CharSet()

    def minus(self, other: CharSet) -> CharSet:
        if not other.ranges or not self.ranges:
            return self
        result: list[tuple[int, int]] = []
        for lo, hi in self.ranges:
            for olo, ohi in other.ranges:
                if ohi < lo or olo > hi:
                    continue
                if olo > lo:
                    result.append((lo, olo - 1))
                lo = max(lo, ohi + 1)
                if lo > hi:
                    break
            if lo <= hi:
                result.append((lo, hi))
        return CharSet(tuple(result))

    def intersects(self, other: CharSet) -> bool:
        return self.minus(other) != self

    def contains(self, point: int) -> bool:
        return any(lo <= point <= hi for lo, hi in self.ranges)

    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    def points(self) -> Iterable[int]:
        for lo, hi in self.ranges:
            yield from range(lo, hi + 1)

    @property
    def empty(self) -> bool:
        return not self.ranges


_SURROGATE_SET = CharSet((SURROGATES,))
ANY = CharSet.span([(0, MAX_CP)])
WHITESPACE = CharSet.of(cp for cp in range(0x3001) if chr(cp).isspace())
"""What `str.strip()` removes (no code point above U+3000 is whitespace)."""
NOT_NEWLINE = ANY.minus(CharSet.of([0x0A]))
"""Python's `.` without DOTALL."""


@cache
def _fold_index() -> dict[str, tuple[int, ...]]:
    """Per case-folded text, the code points below CASED_LIMIT that fold to it."""
    index: dict[str, list[int]] = {}
    for cp in range(CASED_LIMIT):
        if not SURROGATES[0] <= cp <= SURROGATES[1]:
            index.setdefault(chr(cp).casefold(), []).append(cp)
    return {folded: tuple(points) for folded, points in index.items()}


def folding_to(text: str) -> CharSet:
    """The characters whose case fold is exactly `text` (one character or a few)."""
    points = _fold_index().get(text, ())
    if len(text) == 1 and ord(text) >= CASED_LIMIT:
        points = (ord(text),)
    return CharSet.of(points)


@cache
def multi_folds() -> dict[str, CharSet]:
    """Folds of several characters ("ss" for "ß"), with the characters that fold to them."""
    return {text: CharSet.of(p) for text, p in _fold_index().items() if len(text) > 1}


@cache
def _universe() -> str:
    return "".join(chr(cp) for cp in ANY.points() if cp < CASED_LIMIT)


def python_class(charset: CharSet) -> str:
    """The set as a Python `re` class (for asking Python's own case rules about it)."""
    parts = [f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in
             charset.ranges]
    return f"[{''.join(parts)}]" if parts else "[^\\x00-\\U0010ffff]"


@cache
def ignorecase_closure(charset: CharSet) -> CharSet:
    """Every character `re.IGNORECASE` lets this set match (Python's simple case rules)."""
    if charset.empty:
        return charset
    found = re.compile(python_class(charset), re.IGNORECASE).findall(_universe())
    return CharSet.of(ord(c) for c in found).union(
        charset.minus(CharSet(((0, CASED_LIMIT - 1),)))
    )


@cache
def raw_for_folded(folded: CharSet) -> CharSet:
    """The characters whose fold is one character of `folded`: what a value may hold where
    GroupMap's case-folded text holds one of them."""
    index = _fold_index()
    points: set[int] = set()
    for cp in folded.points():
        if cp >= CASED_LIMIT:
            break
        points.update(index.get(chr(cp), ()))
    high = folded.minus(CharSet(((0, CASED_LIMIT - 1),)))
    return CharSet.of(points).union(high)


@cache
def case_stable(charset: CharSet) -> bool:
    """True when a case-insensitive matcher would accept exactly these characters: the set is
    closed under case equivalence (Python's `re.IGNORECASE` as the model)."""
    return ignorecase_closure(charset) == charset
