"""Near-misses: export values no row matches that a row would match but for case or spacing.

Every match kind counts: an equals row is compared through a hash of loose keys (no
whitespace, case folded); starts with, ends with and contains compare the loose keys the
same way; a pattern is tried again ignoring case. Each row is evaluated once over the
vocabulary's loose keys and cached per (kind, text) on the user list, like the matching
itself, so an edit evaluates only the edited row again.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from app.core.engine import Evaluation
from app.core.mapping import MappingRow, MatchKind, compile_pattern, encode_value, loose_key
from app.core.matching import text_mask

CACHE_LIMIT = 4096  # cached near-match evaluations per user list; the oldest go first


def near_rows(evaluation: Evaluation, codes: np.ndarray) -> np.ndarray:
    """Per vocabulary code of `codes` (unmatched values), the first row in mapping order it
    almost matches (0-based), or -1."""
    rows = evaluation.mapping.rows
    none = len(rows)  # "no row", larger than any row
    if not len(codes) or not rows:
        return np.full(len(codes), -1, dtype=np.int64)
    loose = _loose_vocab(evaluation)
    equals: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row.is_usable and row.kind == MatchKind.EQUALS:
            equals.setdefault(loose_key(row.value), i)
    first = np.full(len(loose), none, dtype=np.int64)  # per vocabulary value
    for i, row in enumerate(rows):
        if row.is_usable and row.kind != MatchKind.EQUALS:
            hit = _near_codes(evaluation, row, loose)
            first[hit[first[hit] == none]] = i  # rows in order: an earlier row keeps its hit
    by_equals = np.fromiter((equals.get(loose[c], none) for c in codes), np.int64, len(codes))
    found = np.minimum(first[codes], by_equals)
    return np.where(found == none, -1, found)


def case_only(spelled: str, row: MappingRow) -> bool:
    """Whether ignoring case alone (spacing as written) makes the row match the value."""
    value, text = spelled.strip().casefold(), row.value.strip().casefold()
    if row.kind == MatchKind.PATTERN:
        return compile_pattern(row.value, True).fullmatch(encode_value(spelled.strip())) is not None
    if row.kind == MatchKind.STARTS_WITH:
        return value.startswith(text)
    if row.kind == MatchKind.ENDS_WITH:
        return value.endswith(text)
    if row.kind == MatchKind.CONTAINS:
        return text in value
    return value == text


def _loose_vocab(evaluation: Evaluation) -> np.ndarray:
    """loose_key of every vocabulary value as first spelled (cached per vocabulary)."""
    options = evaluation.mapping.options
    key = ("loose", options.separator, options.ignore_case)
    cache = evaluation.users.engine_cache
    if key not in cache:
        spelled = pd.Series(evaluation.tokens.spelling, dtype=object).astype(str)
        loose = spelled.str.replace(r"\s+", "", regex=True).str.casefold()
        cache[key] = loose.to_numpy(dtype=object)
    return cast(np.ndarray, cache[key])


def _near_codes(evaluation: Evaluation, row: MappingRow, loose: np.ndarray) -> np.ndarray:
    """The vocabulary codes a non-equals row matches loosely (cached per kind and text)."""
    options = evaluation.mapping.options
    cache = evaluation.users.engine_cache.setdefault(
        ("near", options.separator, options.ignore_case), {}
    )
    text = row.value.strip() if row.kind == MatchKind.PATTERN else loose_key(row.value)
    key = (row.kind.value, text)
    if key not in cache:
        while len(cache) >= CACHE_LIMIT:
            cache.pop(next(iter(cache)))
        cache[key] = np.flatnonzero(_near_mask(evaluation, row, loose, text))
    return cast(np.ndarray, cache[key])


def _near_mask(evaluation: Evaluation, row: MappingRow, loose: np.ndarray, text: str) -> np.ndarray:
    if row.kind == MatchKind.PATTERN:
        spelled = pd.Series(evaluation.tokens.spelling, dtype=object).astype(str)
        compiled = compile_pattern(row.value, True)  # RE2: linear time, like the engine's
        return np.fromiter((compiled.fullmatch(encode_value(v)) is not None for v in spelled),
                           dtype=bool, count=len(spelled))
    values = pd.Series(loose, dtype=object).astype(str)
    if not text:
        return np.zeros(len(values), dtype=bool)
    return text_mask(values, row.kind, text)
