"""Why a user leaves a group: the reasons the sync preview shows next to every removal."""

from __future__ import annotations

import numpy as np

from app.core.engine import Evaluation


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
