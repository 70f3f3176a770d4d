"""One mapping row as a regex tree over the raw attribute value, meaning exactly what the
engine means: the value stripped (Python's whitespace), split at the separator, case-folded
with --ignore-case, then compared by the row's kind. The tree must match the whole value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.core.idp_rules.charsets import (
    ANY,
    WHITESPACE,
    CharSet,
    folding_to,
    ignorecase_closure,
    multi_folds,
    raw_for_folded,
)
from app.core.idp_rules.regex_ast import (
    EMPTY,
    Chars,
    Look,
    Node,
    Repeat,
    adjacent,
    alt,
    anything_but,
    first_chars,
    last_chars,
    map_chars,
    nullable,
    seq,
    star,
)
from app.core.idp_rules.regex_subset import OutsideSubset, parse
from app.core.mapping import MappingRow, MatchKind, normalize_value


class Unexpressible(ValueError):  # noqa: N818 - a refusal with its reason
    """Why a row has no exact regex."""


@dataclass(frozen=True)
class Matching:
    """The options that decide how a row reads a value."""

    ignore_case: bool = False
    separator: str = ""
    lookaround: bool = True  # the target has one-character lookahead and lookbehind
    strict: bool = True  # False: the closest tree where no exact one exists (--approximate)


def row_tree(row: MappingRow, matching: Matching) -> Node:
    """The regex (to match the whole attribute value) that is true where the row matches."""
    excluded = CharSet.of([ord(matching.separator)]) if matching.separator else CharSet()
    if row.kind == MatchKind.PATTERN:
        part = _pattern_part(row.value, matching, excluded)
    else:
        part = _text_part(row, matching, excluded)
    if not matching.separator:
        return part
    sep = Chars(excluded)
    return seq(
        Repeat(seq(star(ANY), sep), 0, 1), part, Repeat(seq(sep, star(ANY)), 0, 1)
    )


def _text_part(row: MappingRow, matching: Matching, excluded: CharSet) -> Node:
    text = normalize_value(row.value, matching.ignore_case)
    blank = star(WHITESPACE.minus(excluded))
    rest = anything_but(excluded)
    kind = row.kind
    loose_start = kind in (MatchKind.ENDS_WITH, MatchKind.CONTAINS)
    loose_end = kind in (MatchKind.STARTS_WITH, MatchKind.CONTAINS)
    if matching.ignore_case:
        core = folded_text(text, excluded, loose_start, loose_end)
    else:
        core = seq(*(Chars(CharSet.of([ord(c)]).minus(excluded)) for c in text))
    before = rest if loose_start else blank
    after = rest if loose_end else blank
    return seq(before, core, after)


def _pattern_part(pattern: str, matching: Matching, excluded: CharSet) -> Node:
    try:
        tree = parse(pattern)
    except OutsideSubset as error:
        raise Unexpressible(str(error)) from error
    if matching.ignore_case:
        folded = map_chars(tree, ignorecase_closure)
        for text in multi_folds() if matching.strict else ():
            pairs = zip(text, text[1:], strict=False)
            if all(adjacent(folded, _one(a), _one(b)) for a, b in pairs):
                raise Unexpressible(
                    f"with --ignore-case GroupMap matches the case-folded value, where one"
                    f" character reads as several ({_example(text)}), and this pattern can"
                    f" match such a spelling: no target can carry that exactly"
                )
        tree = map_chars(folded, raw_for_folded)
    tree = map_chars(tree, lambda chars: chars.minus(excluded))
    blank = star(WHITESPACE.minus(excluded))
    if not nullable(tree) and not (
        first_chars(tree).intersects(WHITESPACE) or last_chars(tree).intersects(WHITESPACE)
    ):
        return seq(blank, tree, blank)
    if not matching.strict:
        return seq(blank, tree, blank)
    if not matching.lookaround:
        raise Unexpressible(
            "the pattern can match an empty value or one with surrounding whitespace, which"
            " GroupMap strips; saying so needs lookaround, which RE2 lacks"
        )
    solid = ANY.minus(WHITESPACE).minus(excluded)
    return seq(blank, Look(solid, behind=False), tree, Look(solid, behind=True), blank)


def _one(char: str) -> CharSet:
    return CharSet.of([ord(char)])


def _example(folded: str) -> str:
    chars = multi_folds()[folded]
    return f"'{chr(next(iter(chars.points())))}' reads '{folded}'"


def folded_text(text: str, excluded: CharSet, loose_start: bool, loose_end: bool) -> Node:
    """The raw spellings whose case fold is `text` (or holds it at a loose end: a value
    "Straße" folds to "strasse", so it starts with "stras")."""
    n = len(text)

    def ending_with(head: str) -> Callable[[str], bool]:
        return lambda folded: folded.endswith(head) and len(folded) > len(head)

    def starting_with(tail: str) -> Callable[[str], bool]:
        return lambda folded: folded.startswith(tail) and len(folded) > len(tail)

    heads = {k: _partials(ending_with(text[:k])).minus(excluded)
             for k in range(1, n + 1)} if loose_start else {}
    tails = {i: _partials(starting_with(text[i:])).minus(excluded)
             for i in range(n)} if loose_end else {}
    heads = {k: chars for k, chars in heads.items() if not chars.empty}
    tails = {i: chars for i, chars in tails.items() if not chars.empty}
    cuts = _cuts(text, excluded, max(heads, default=0), min(tails, default=n))
    segments = [
        _segment(text, lo, hi, excluded, heads if lo == 0 else {}, tails if hi == n else {})
        for lo, hi in zip(cuts, cuts[1:], strict=False)
    ]
    whole = seq(*segments)
    if loose_start and loose_end:
        inside = _partials(lambda w: text in w[1:-1]).minus(excluded)
        if not inside.empty:
            whole = alt(whole, Chars(inside))
    return whole


def _partials(keep: Callable[[str], bool]) -> CharSet:
    result = CharSet()
    for folded, chars in multi_folds().items():
        if keep(folded):
            result = result.union(chars)
    return result


def _pieces(text: str, excluded: CharSet, at: int) -> dict[int, CharSet]:
    """Per length, the characters whose fold is text[at:at+length]."""
    found = {}
    for length in (1, 2, 3):
        if at + length <= len(text):
            chars = folding_to(text[at : at + length]).minus(excluded)
            if not chars.empty or length == 1:
                found[length] = chars
    return found


def _cuts(text: str, excluded: CharSet, head_end: int, tail_start: int) -> list[int]:
    """Positions no multi-character fold spans: the text splits there into segments."""
    n = len(text)
    blocked = set(range(1, head_end)) | set(range(tail_start + 1, n))
    for at in range(n):
        for length in _pieces(text, excluded, at):
            blocked.update(range(at + 1, at + length))
    return [0] + [p for p in range(1, n) if p not in blocked] + [n]


def _segment(
    text: str,
    lo: int,
    hi: int,
    excluded: CharSet,
    heads: dict[int, CharSet],
    tails: dict[int, CharSet],
) -> Node:
    memo: dict[int, Node] = {}

    def spell(at: int) -> Node:
        if at == hi:
            return EMPTY
        if at not in memo:
            options = [
                seq(Chars(chars), spell(at + length))
                for length, chars in _pieces(text, excluded, at).items()
                if at + length <= hi and not chars.empty
            ]
            if at in tails:
                options.append(Chars(tails[at]))
            memo[at] = alt(*options) if options else Chars(CharSet())
        return memo[at]

    options = [spell(lo)]
    options += [seq(Chars(chars), spell(k)) for k, chars in heads.items() if k <= hi]
    return alt(*options)
