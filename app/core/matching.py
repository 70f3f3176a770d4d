"""Which export values each mapping row matches: one evaluation per row over the vocabulary.

Equals rows go through a hash index of the vocabulary (the distinct normalized values).
Every other kind is evaluated over the vocabulary, never over users, and the matching value
codes are cached on the user list per (separator, case, kind, text): after an edit only the
edited row is evaluated again. The cache is a least-recently-used one sized to the mapping,
so a mapping of any size is evaluated once, not on every edit.

Rows not in the cache are evaluated together: a few literal rows with pandas string methods;
many of them in one pass over the vocabulary with an RE2 set (all the texts at once, as
Aho-Corasick would); pattern rows through an RE2 prefilter, which names for each value the
few patterns that can match it, so 20,000 rows cost about as much as a few hundred.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import re2

from app.core.mapping import (
    MappingRow,
    MatchKind,
    compile_pattern,
    encode_value,
    normalize_value,
    pattern_options,
)

CACHE_MIN = 4096  # cached row evaluations kept at least, whatever the mapping's size
FEW_ROWS = 16  # up to this many literal rows, pandas' string methods are quicker than a set
SET_MEMORY = 256 << 20  # RE2's budget for the set of many literal rows
SENTINEL = b"\x00groupmap\x00"  # appended to each value: its match proves the prefilter ran
RowKey = tuple[str, str, bool]
RowCache = dict[RowKey, np.ndarray]


def row_value_pairs(
    vocab: pd.Index, rows: tuple[MappingRow, ...], ignore_case: bool, cache: RowCache
) -> tuple[np.ndarray, np.ndarray]:
    """The (value code, row) pairs of every usable row's matches, rows in mapping order."""
    usable = [i for i, row in enumerate(rows) if row.is_usable]
    equals = [i for i in usable if rows[i].kind == MatchKind.EQUALS]
    keys = [normalize_value(rows[i].value, ignore_case) for i in equals]
    positions = vocab.get_indexer(pd.Index(keys)) if keys else np.empty(0, dtype=np.int64)
    found = positions >= 0
    codes = [positions[found].astype(np.int64)]
    owners = [np.asarray(equals, dtype=np.int64)[found]]
    others = {i: row_key(rows[i], ignore_case) for i in usable if rows[i].kind != MatchKind.EQUALS}
    _fill(cache, vocab, {key: rows[i] for i, key in others.items()}, ignore_case)
    matched = [cache[key] for key in others.values()]
    sizes = np.fromiter((len(found) for found in matched), dtype=np.int64, count=len(matched))
    codes += matched
    owners.append(np.repeat(np.fromiter(others, dtype=np.int64, count=len(others)), sizes))
    return np.concatenate(codes), np.concatenate(owners)


def row_key(row: MappingRow, ignore_case: bool) -> RowKey:
    """What a non-equals row's matches depend on: kind, text (folded unless a pattern), case."""
    text = row.value.strip() if row.kind == MatchKind.PATTERN else row.value
    folded = normalize_value(text, ignore_case and row.kind != MatchKind.PATTERN)
    return (row.kind.value, folded, ignore_case)


def _fill(cache: RowCache, vocab: pd.Index, needed: dict[RowKey, MappingRow],
          ignore_case: bool) -> None:
    """Evaluate the needed rows the cache lacks, mark every needed one as just used, and drop
    the least recently used beyond twice the mapping's own rows (room for undo and redo)."""
    missing = {key: row for key, row in needed.items() if key not in cache}
    cache.update(_evaluate(vocab, missing, ignore_case))
    for key in needed:
        cache[key] = cache.pop(key)
    for key in list(cache)[: max(0, len(cache) - max(CACHE_MIN, 2 * len(needed)))]:
        del cache[key]


def _evaluate(vocab: pd.Index, rows: dict[RowKey, MappingRow],
              ignore_case: bool) -> dict[RowKey, np.ndarray]:
    if not rows:
        return {}
    if not len(vocab):
        return {key: np.empty(0, dtype=np.int64) for key in rows}
    values = pd.Series(vocab, dtype=object)
    literal = {k: r for k, r in rows.items() if r.kind != MatchKind.PATTERN}
    in_set = {k: r for k, r in literal.items() if _settable(r.value)}
    if len(in_set) <= FEW_ROWS:
        in_set = {}
    found = _literal_set(values, in_set, ignore_case) if in_set else {}
    for key, row in literal.items():
        if key not in in_set:
            found[key] = np.flatnonzero(_literal_mask(values, row, ignore_case))
    patterns = {k: r for k, r in rows.items() if r.kind == MatchKind.PATTERN}
    if patterns:
        found |= _pattern_filter(values, patterns, ignore_case)
    return found


def _settable(text: str) -> bool:
    """Whether a literal row can go in the RE2 set: valid UTF-8 text."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _literal_mask(values: pd.Series, row: MappingRow, ignore_case: bool) -> np.ndarray:
    return text_mask(values, row.kind, normalize_value(row.value, ignore_case))


def text_mask(values: pd.Series, kind: MatchKind, text: str) -> np.ndarray:
    """Which values a starts with / ends with / contains row of this (normalized) text
    matches: the one definition, for the engine and the near-miss search alike."""
    mask: Any
    if kind == MatchKind.STARTS_WITH:
        mask = values.str.startswith(text)
    elif kind == MatchKind.ENDS_WITH:
        mask = values.str.endswith(text)
    else:
        mask = values.str.contains(text, regex=False)
    return np.asarray(mask.to_numpy(dtype=bool))


_ANCHORS = {MatchKind.STARTS_WITH: (b"^", b""), MatchKind.ENDS_WITH: (b"", b"$")}


def _literal_set(values: pd.Series, rows: dict[RowKey, MappingRow],
                 ignore_case: bool) -> dict[RowKey, np.ndarray]:
    """Every literal row in one RE2 set, each value read once. An empty pattern that matches
    every value proves the set finished a value; one it could not (RE2 out of memory) is
    compared row by row instead."""
    options = pattern_options(False)  # values and texts are folded alike already
    options.max_mem = SET_MEMORY
    found = re2.Set.SearchSet(options)
    keys = list(rows)
    texts = [normalize_value(rows[key].value, ignore_case) for key in keys]
    for key, text in zip(keys, texts, strict=True):
        before, after = _ANCHORS.get(rows[key].kind, (b"", b""))
        found.Add(before + re2.escape(text.encode()) + after)
    sentinel = found.Add(b"")
    found.Compile()

    def exact(value: str, i: int) -> bool:
        kind = rows[keys[i]].kind
        if kind == MatchKind.STARTS_WITH:
            return value.startswith(texts[i])
        return value.endswith(texts[i]) if kind == MatchKind.ENDS_WITH else texts[i] in value

    return _collect(values, keys, sentinel,
                    lambda value: found.Match(encode_value(value)), exact, verify=False)


def _pattern_filter(values: pd.Series, rows: dict[RowKey, MappingRow],
                    ignore_case: bool) -> dict[RowKey, np.ndarray]:
    """Pattern rows through RE2's prefilter: per value, the patterns whose required texts it
    holds (or that require none), each then matched in full. A sentinel text appended to the
    value proves the prefilter's own set finished; where it did not, every pattern is tried."""
    keys = list(rows)
    compiled = [compile_pattern(rows[key].value, ignore_case) for key in keys]
    prefilter = re2.Filter()
    for key in keys:
        prefilter.Add(rows[key].value.strip().encode(), pattern_options(ignore_case))
    sentinel = prefilter.Add(re2.escape(SENTINEL), pattern_options(False))
    prefilter.Compile()
    return _collect(
        values, keys, sentinel,
        lambda value: prefilter.Match(encode_value(value) + SENTINEL, potential=True),
        lambda value, i: compiled[i].fullmatch(encode_value(value)) is not None,
        verify=True,
    )


def _collect(values: pd.Series, keys: list[RowKey], sentinel: int,
             candidates: Callable[[str], list[int] | None], matches: Callable[[str, int], bool],
             verify: bool) -> dict[RowKey, np.ndarray]:
    """Per row, the value codes it matches: the candidates each value names (checked with
    `matches` when they are only possible matches), or every row where the sentinel is
    missing."""
    hits: list[list[int]] = [[] for _ in keys]
    for code, value in enumerate(values):
        listed = candidates(value) or []
        certain = not verify and sentinel in listed
        rows = listed if sentinel in listed else range(len(keys))
        for i in rows:
            if i != sentinel and (certain or matches(value, i)):
                hits[i].append(code)
    return {key: np.asarray(hits[i], dtype=np.int64) for i, key in enumerate(keys)}
