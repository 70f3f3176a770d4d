"""Which export values each mapping row matches: one evaluation per row over the vocabulary.

Equals rows go through a hash index of the vocabulary (the distinct normalized values).
Every other kind is evaluated once over the vocabulary with pandas string methods or a
compiled pattern, never over users, and the matching value codes are cached on the user list
per (separator, case, kind, text): after an edit only the edited row is evaluated again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from app.core.mapping import MappingRow, MatchKind, compile_pattern, normalize_value

CACHE_LIMIT = 4096  # cached row evaluations per user list; the oldest go first
RowCache = dict[tuple[str, str, bool], np.ndarray]


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
    for i in usable:
        if rows[i].kind != MatchKind.EQUALS:
            matched = _matching_codes(vocab, rows[i], ignore_case, cache)
            codes.append(matched)
            owners.append(np.full(len(matched), i, dtype=np.int64))
    return np.concatenate(codes), np.concatenate(owners)


def _matching_codes(
    vocab: pd.Index, row: MappingRow, ignore_case: bool, cache: RowCache
) -> np.ndarray:
    """The vocabulary codes a non-equals row matches, from the cache when (kind, text, case)
    was evaluated before."""
    text = row.value.strip() if row.kind == MatchKind.PATTERN else row.value
    key = (row.kind.value, normalize_value(text, ignore_case and row.kind != MatchKind.PATTERN),
           ignore_case)
    if key not in cache:
        while len(cache) >= CACHE_LIMIT:
            cache.pop(next(iter(cache)))
        cache[key] = np.flatnonzero(_vocab_mask(vocab, row, ignore_case))
    return cache[key]


def _vocab_mask(vocab: pd.Index, row: MappingRow, ignore_case: bool) -> np.ndarray:
    if not len(vocab):
        return np.zeros(0, dtype=bool)
    values = pd.Series(vocab, dtype=object)
    mask: Any
    if row.kind == MatchKind.PATTERN:
        mask = values.str.fullmatch(compile_pattern(row.value, ignore_case))
        return np.asarray(mask.to_numpy(dtype=bool))
    text = normalize_value(row.value, ignore_case)
    if row.kind == MatchKind.STARTS_WITH:
        mask = values.str.startswith(text)
    elif row.kind == MatchKind.ENDS_WITH:
        mask = values.str.endswith(text)
    else:
        mask = values.str.contains(text, regex=False)
    return np.asarray(mask.to_numpy(dtype=bool))
