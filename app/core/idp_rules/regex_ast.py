"""A small regular-expression tree: what a row becomes before it is written for a target.

Every character is an explicit set (CharSet), so the trees mean the same thing in every
engine; the renderers (render.py) spell them for .NET, Java or RE2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.core.idp_rules.charsets import ANY, CharSet


@dataclass(frozen=True)
class Chars:
    """One character out of a set."""

    chars: CharSet


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Repeat:
    node: Node
    low: int
    high: int | None


@dataclass(frozen=True)
class Look:
    """A one-character lookahead (or lookbehind) assertion: the next (previous) character
    is in the set. Only .NET and Java have them."""

    chars: CharSet
    behind: bool


Node = Chars | Seq | Alt | Repeat | Look
EMPTY = Seq(())


def seq(*items: Node) -> Node:
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, Seq) else (item,))
    return flat[0] if len(flat) == 1 else Seq(tuple(flat))


def alt(*options: Node) -> Node:
    unique = list(dict.fromkeys(options))
    return unique[0] if len(unique) == 1 else Alt(tuple(unique))


def star(chars: CharSet) -> Node:
    return Repeat(Chars(chars), 0, None)


def literal(text: str) -> Node:
    return seq(*(Chars(CharSet.of([ord(c)])) for c in text))


def anything_but(excluded: CharSet) -> Node:
    """Any run of characters outside `excluded` (`[\\s\\S]*` when nothing is excluded)."""
    return star(ANY.minus(excluded))


def map_chars(node: Node, change: Callable[[CharSet], CharSet]) -> Node:
    """The same tree with every character set (and lookaround set) changed."""
    match node:
        case Chars(chars):
            return Chars(change(chars))
        case Look(chars, behind):
            return Look(change(chars), behind)
        case Seq(items):
            return Seq(tuple(map_chars(i, change) for i in items))
        case Alt(options):
            return Alt(tuple(map_chars(o, change) for o in options))
        case Repeat(inner, low, high):
            return Repeat(map_chars(inner, change), low, high)
    raise TypeError(node)


def char_sets(node: Node) -> list[CharSet]:
    """Every set the tree holds, lookarounds included."""
    match node:
        case Chars(chars) | Look(chars, _):
            return [chars]
        case Seq(items) | Alt(items):
            return [s for i in items for s in char_sets(i)]
        case Repeat(inner, _, _):
            return char_sets(inner)
    raise TypeError(node)


def nullable(node: Node) -> bool:
    match node:
        case Chars():
            return False
        case Look():
            return True
        case Seq(items):
            return all(nullable(i) for i in items)
        case Alt(options):
            return any(nullable(o) for o in options)
        case Repeat(inner, low, _):
            return low == 0 or nullable(inner)
    raise TypeError(node)


def first_chars(node: Node) -> CharSet:
    """The characters a non-empty match can start with."""
    match node:
        case Chars(chars):
            return chars
        case Look():
            return CharSet()
        case Seq(items):
            result = CharSet()
            for item in items:
                result = result.union(first_chars(item))
                if not nullable(item):
                    break
            return result
        case Alt(options):
            result = CharSet()
            for option in options:
                result = result.union(first_chars(option))
            return result
        case Repeat(inner, _, high):
            return first_chars(inner) if high != 0 else CharSet()
    raise TypeError(node)


def last_chars(node: Node) -> CharSet:
    """The characters a non-empty match can end with."""
    match node:
        case Seq(items):
            return first_chars(Seq(tuple(reversed(items))))
        case Alt(options):
            result = CharSet()
            for option in options:
                result = result.union(last_chars(option))
            return result
        case Repeat(inner, _, high):
            return last_chars(inner) if high != 0 else CharSet()
    return first_chars(node)


def adjacent(node: Node, left: CharSet, right: CharSet) -> bool:
    """Whether a match can hold a character of `left` right before one of `right`
    (an over-approximation: never False where it can)."""
    match node:
        case Chars() | Look():
            return False
        case Seq(items):
            for i, item in enumerate(items):
                if adjacent(item, left, right):
                    return True
                if not last_chars(item).intersects(left):
                    continue
                for following in items[i + 1 :]:
                    if first_chars(following).intersects(right):
                        return True
                    if not nullable(following):
                        break
            return False
        case Alt(options):
            return any(adjacent(o, left, right) for o in options)
        case Repeat(inner, _, high):
            twice = high is None or high >= 2
            return adjacent(inner, left, right) or (
                twice and last_chars(inner).intersects(left)
                and first_chars(inner).intersects(right)
            )
    raise TypeError(node)


def backtracking_risk(node: Node) -> str | None:
    """Why a backtracking engine (.NET for Entra, Java for Okta) could take exponential time
    on a value that almost matches, or None: a repetition of a part that can be split into
    passes in many ways, because an inner repetition can also take where one pass ends and
    the next begins (`(a+)+`, `(.*a)+`), or because two options of a choice begin alike
    (`(a|ab)*`). RE2 (Google) is immune; GroupMap's own patterns run on RE2 too."""
    match node:
        case Repeat(inner, _, high) if high is None or high >= 2:
            edges = first_chars(inner), last_chars(inner)
            for inside in _variable_repeats(inner):
                taken = _union(char_sets(inside.node))
                if taken.intersects(edges[0]) and taken.intersects(edges[1]):
                    return "nested"
            if any(_alike(options) for options in _choices(inner)):
                return "choice"
            return backtracking_risk(inner)
        case Repeat(inner, _, _):
            return backtracking_risk(inner)
        case Seq(items) | Alt(items):
            return next((risk for i in items if (risk := backtracking_risk(i))), None)
    return None


def _union(sets: list[CharSet]) -> CharSet:
    result = CharSet()
    for chars in sets:
        result = result.union(chars)
    return result


def _variable_repeats(node: Node) -> list[Repeat]:
    """The repetitions inside `node` whose count varies (`+`, `*`, `{1,3}`, not `{2}`)."""
    match node:
        case Repeat(inner, low, high):
            own = [node] if high is None or high > low else []
            return own + _variable_repeats(inner)
        case Seq(items) | Alt(items):
            return [r for i in items for r in _variable_repeats(i)]
    return []


def _choices(node: Node) -> list[tuple[Node, ...]]:
    """The options of every choice inside `node`."""
    match node:
        case Alt(options):
            return [options] + [c for o in options for c in _choices(o)]
        case Seq(items):
            return [c for i in items for c in _choices(i)]
        case Repeat(inner, _, _):
            return _choices(inner)
    return []


def _alike(options: tuple[Node, ...]) -> bool:
    """Two options that can begin with the same character (or both match nothing)."""
    starts = [first_chars(o) for o in options]
    empty = [nullable(o) for o in options]
    return any(
        starts[i].intersects(starts[j]) or (empty[i] and empty[j])
        for i in range(len(options)) for j in range(i + 1, len(options))
    )
