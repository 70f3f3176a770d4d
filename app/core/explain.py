"""Why: the reasons the sync preview shows next to every removal, and the values a mapping row
matches (the grid's tooltip)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.core.engine import Evaluation
from app.core.mapping import normalize_value


def removal_reasons(evaluation: Evaluation, users: np.ndarray, group: str) -> list[str]:
    """Per user index (into evaluation.users) leaving `group`, why; one text per profile."""
    users = np.asarray(users, dtype=np.int64)
    if not len(users):
        return []
    profiles = evaluation.users.profiles.of_user[users]
    unique, inverse = np.unique(profiles, return_inverse=True)
    texts = [_removal_reason(evaluation, int(p), group) for p in unique]
    return [texts[i] for i in inverse.ravel()]


def _removal_reason(evaluation: Evaluation, profile: int, group: str) -> str:
    why = evaluation.profile_reason(profile)
    after = [g for g in evaluation.profile_after(profile)
             if evaluation.managed[evaluation.group_names.index(g)]]
    if not after:
        text = f"no longer matches a row ({why})"
    elif group in after:
        text = why
    else:
        text = f"moved by {why}"
    if evaluation.mapping.options.apply_existing:
        text += "; apply changes to existing users is on"
    return text


def cells_with_value(evaluation: Evaluation, value: str) -> np.ndarray:
    """Per distinct source cell, whether one of its values is exactly `value` (after the
    separator split and the case rule): the users a problem about that value is about."""
    tokens = evaluation.tokens
    mask = np.zeros(len(evaluation.users.cells), dtype=bool)
    if not value.strip():  # the blank-value problem: cells with no value at all
        mask[:] = True
        mask[tokens.pair_cell] = False
        return mask
    key = normalize_value(value, evaluation.mapping.options.ignore_case)
    code = tokens.vocab.get_indexer(pd.Index([key]))
    if code[0] >= 0:
        mask[tokens.pair_cell[tokens.pair_value == code[0]]] = True
    return mask


def row_values(
    evaluation: Evaluation, row: int, limit: int = 20
) -> tuple[list[tuple[str, int]], int]:
    """The export values a row matches (as first spelled) with their users, most users first,
    at most `limit`; and how many values it matches in all."""
    positions = np.flatnonzero(evaluation.value_rows == row)
    codes = np.searchsorted(evaluation.value_rows_ptr, positions, side="right") - 1
    counts = evaluation.value_user_counts()[codes]
    order = np.argsort(-counts, kind="stable")[:limit]
    spelling = evaluation.tokens.spelling
    return [(str(spelling[codes[i]]), int(counts[i])) for i in order], len(codes)
