"""Expectations: tests for the mapping, checked against every evaluation.

An expectation names a user (by email) or an export value (a whole source cell, as the
export would hold it) and the groups the mapping must give it: its target from the rows or
the default group, in any order, or no group at all. Membership the mapping leaves alone
(rule 6) is not the mapping's decision, so it is not what an expectation checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from app.core.engine import Evaluation, evaluate
from app.core.identity import email_key, email_keys, group_key
from app.core.mapping import Expectation
from app.core.users import UserList, split_groups

NO_GROUP = ("no group", "(no group)", "none", "-")  # or blank: the mapping gives no group


def parse_groups(text: str) -> tuple[str, ...]:
    """Expected groups as typed: "Sales; Europe", or "no group" (or blank) for none."""
    text = text.strip()
    return () if text.casefold() in NO_GROUP else split_groups(text)


@dataclass(frozen=True)
class Outcome:
    """What the mapping does for one expectation's subject."""

    expectation: Expectation
    index: int  # position in mapping.expectations
    groups: tuple[str, ...]  # the target groups, in row order
    rows: tuple[int, ...]  # 0-based rows that decide them (none: default group or unmatched)
    found: bool  # False for an email that is not in the export

    @property
    def passed(self) -> bool:
        expected = {group_key(g) for g in self.expectation.groups if g.strip()}
        return self.found and expected == {group_key(g) for g in self.groups}

    @property
    def why(self) -> str:
        if self.rows:
            label = "row" if len(self.rows) == 1 else "rows"
            return f"{label} {', '.join(str(r + 1) for r in self.rows)}"
        return "default group" if self.groups else "no row matches"

    @property
    def message(self) -> str:
        subject = self.expectation.subject.strip()
        who = subject if self.expectation.is_email else f"The value {subject!r}"
        expected = f"in {self.expectation.expected_text()}"
        if not self.found:
            return f"{who} is expected {expected} but is not in the export."
        lands = ", ".join(self.groups) if self.groups else "no group"
        verdict = "and lands there" if self.passed else f"but lands in {lands}"
        return f"{who} is expected {expected} {verdict} ({self.why})."


def check_expectations(evaluation: Evaluation) -> list[Outcome]:
    """The outcome of every expectation of the evaluation's mapping (but blank ones), in order."""
    expectations = evaluation.mapping.expectations
    if not expectations:
        return []
    emails = [email_key(e.subject) for e in expectations if e.is_email]
    users = _user_of_emails(evaluation.users, emails) if emails else np.empty(0, np.int64)
    values = tuple(dict.fromkeys(e.subject for e in expectations if not e.is_email))
    by_value = _value_evaluation(evaluation, values) if values else evaluation
    outcomes, next_email = [], 0
    for index, expectation in enumerate(expectations):
        if not expectation.subject.strip():
            continue  # a line being typed in the app: nothing to check yet
        if expectation.is_email:
            user = int(users[next_email])
            next_email += 1
            if user < 0:
                outcomes.append(Outcome(expectation, index, (), (), False))
                continue
            source, cell = evaluation, int(evaluation.users.cell_codes[user])
        else:
            source, cell = by_value, values.index(expectation.subject)
        outcomes.append(
            Outcome(expectation, index, cell_targets(source, cell),
                    tuple(source.deciding_rows(cell)), True)
        )
    return outcomes


def failures(evaluation: Evaluation) -> list[Outcome]:
    return [outcome for outcome in check_expectations(evaluation) if not outcome.passed]


def cell_targets(evaluation: Evaluation, cell: int) -> tuple[str, ...]:
    """The groups the mapping gives a source cell: its rows' groups, or the default group."""
    lo, hi = evaluation.cell_target_ptr[cell], evaluation.cell_target_ptr[cell + 1]
    return tuple(evaluation.group_names[g] for g in evaluation.cell_target[lo:hi])


def expect_user(evaluation: Evaluation, user: int) -> Expectation:
    """'Expect this': the user's current outcome under the mapping, as an expectation."""
    cell = int(evaluation.users.cell_codes[user])
    email = str(evaluation.users.frame["email"].iat[user]).strip()
    return Expectation(email, cell_targets(evaluation, cell))


def _user_of_emails(users: UserList, emails: list[str]) -> np.ndarray:
    """Per email_key, its first user in the export, or -1 (index built once per list)."""
    cache = users.engine_cache
    if "emails" not in cache:
        keys = email_keys(users.frame["email"])
        first = ~keys.duplicated().to_numpy()
        cache["emails"] = (pd.Index(keys[first]), np.flatnonzero(first))
    index, positions = cache["emails"]
    found = index.get_indexer(emails)
    return np.where(found >= 0, positions[found], -1)


def _value_evaluation(evaluation: Evaluation, values: tuple[str, ...]) -> Evaluation:
    """The mapping applied to the expected values as if they were the cells of an export."""
    cache = evaluation.users.engine_cache
    if cache.get("expected values", (None,))[0] != values:  # only the latest set is kept
        cache["expected values"] = (values, UserList.from_records(
            {"email": "", "name": "", "status": "", "source": v, "groups": ""} for v in values
        ))
    return evaluate(cache["expected values"][1], evaluation.mapping.with_expectations(()))
