"""Why users leave groups, and the note when 'apply changes to existing users' keeps them."""

from __future__ import annotations

import numpy as np

from app.core.engine import evaluate
from app.core.explain import removal_reasons
from app.core.warnings import find_warnings
from tests.test_core_engine import mapping_of, users_of


def test_a_removal_names_the_row_that_moves_the_user():
    users = users_of(("Support", "Customer Support"), ("Support", "Customer Support"), ("X", "Old"))
    mapping = mapping_of(("Support", "Marketing"), ("X", "Customer Support"),
                         ("Y", "Old"), apply_existing=True)
    evaluation = evaluate(users, mapping)
    _, removed = evaluation.changes_by_group()["Customer Support"]
    assert list(removed) == [0, 1]
    assert removal_reasons(evaluation, removed, "Customer Support") == [
        "moved by row 1: Support -> Marketing; apply changes to existing users is on"] * 2
    _, removed = evaluation.changes_by_group()["Old"]
    assert removal_reasons(evaluation, removed, "Old") == [
        "moved by row 2: X -> Customer Support; apply changes to existing users is on"]
    assert removal_reasons(evaluation, np.array([], dtype=np.int64), "Old") == []


def test_users_kept_by_apply_existing_off_are_counted_per_row():
    users = users_of(*[("Support", "Customer Support")] * 7, ("Support", ""), ("Sales", "Sales"))
    mapping = mapping_of(("Sales", "Sales"), ("Support", "Marketing"))
    notes = [w for w in find_warnings(evaluate(users, mapping))
             if w.code == "kept_by_apply_existing"]
    assert [(w.row, w.count) for w in notes] == [(2, 7)]
    assert notes[0].message == ("7 users of row 2 keep their current groups because"
                                " 'apply changes to existing users' is off.")
    on = find_warnings(evaluate(users, mapping.with_options(apply_existing=True)))
    assert not [w for w in on if w.code == "kept_by_apply_existing"]
