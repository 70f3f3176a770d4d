"""Expectations: tests for the mapping, by email or export value, checked on every evaluation."""

from __future__ import annotations

from app.core.engine import evaluate
from app.core.expectations import check_expectations, expect_user, failures
from app.core.mapping import Expectation
from app.core.warnings import find_warnings
from tests.test_core_engine import mapping_of, users_of


def team():
    users = users_of(("Sales - EMEA", "Old"), ("Marketing", ""), ("HR", ""), ("Eng;Sales", ""))
    mapping = mapping_of(
        ("Sales", "Sales", "starts with"), ("Marketing", "Marketing"), ("Eng", "Eng"),
        separator=";",
    )
    return users, mapping


def test_passing_and_failing_expectations_by_email():
    users, mapping = team()
    mapping = mapping.with_expectations([
        Expectation("U0@example.com", ("Sales",)),  # emails compare without case
        Expectation("u1@example.com", ("Sales",)),
        Expectation("u2@example.com", ()),
        Expectation("u3@example.com", ("Eng",)),
    ])
    outcomes = check_expectations(evaluate(users, mapping))
    assert [o.passed for o in outcomes] == [True, False, True, False]
    assert outcomes[1].message == (
        "u1@example.com is expected in Sales but lands in Marketing (row 2).")
    assert outcomes[3].message == "u3@example.com is expected in Eng but lands in Sales (row 1)."
    assert outcomes[2].message == "u2@example.com is expected in no group and lands there" \
        " (no row matches)."


def test_expectations_check_the_mappings_decision_not_kept_memberships():
    users, mapping = team()  # u0 is in Old and apply_existing is off: Sales is still the target
    mapping = mapping.with_expectations([Expectation("u0@example.com", ("Sales",))])
    assert failures(evaluate(users, mapping)) == []


def test_expectations_on_export_values_need_no_user_holding_them():
    users, mapping = team()
    mapping = mapping.with_options(multiple_groups=True, default_group="Everyone")
    mapping = mapping.with_expectations([
        Expectation("Sales - AMER", ("Sales",)),
        Expectation("Eng;Sales", ("Eng", "Sales")),  # split by the separator, any order
        Expectation("Legal", ()),
    ])
    outcomes = check_expectations(evaluate(users, mapping))
    assert [o.passed for o in outcomes] == [True, True, False]
    assert outcomes[2].message == (
        "The value 'Legal' is expected in no group but lands in Everyone (default group).")


def test_an_email_missing_from_the_export_fails():
    users, mapping = team()
    mapping = mapping.with_expectations([Expectation("nobody@example.com", ("Sales",))])
    [outcome] = failures(evaluate(users, mapping))
    assert outcome.message == "nobody@example.com is expected in Sales but is not in the export."


def test_failures_are_problems_pointing_at_the_deciding_row():
    users, mapping = team()
    mapping = mapping.with_expectations([Expectation("u1@example.com", ("Sales",))])
    found = [w for w in find_warnings(evaluate(users, mapping)) if w.code == "expectation_failed"]
    assert [(w.row, w.value) for w in found] == [(2, "u1@example.com")]
    assert found[0].message == "u1@example.com is expected in Sales but lands in Marketing (row 2)."


def test_expect_this_takes_the_users_current_outcome():
    users, mapping = team()
    evaluation = evaluate(users, mapping.with_options(multiple_groups=True))
    assert expect_user(evaluation, 3) == Expectation("u3@example.com", ("Sales", "Eng"))
    assert expect_user(evaluation, 2) == Expectation("u2@example.com", ())
    with_it = evaluation.mapping.with_expectations([expect_user(evaluation, i) for i in range(4)])
    assert failures(evaluate(users, with_it)) == []


def test_duplicate_emails_in_the_export_use_the_first_user():
    users = users_of(("Sales", ""), ("HR", ""))
    users.frame.loc[1, "email"] = "u0@example.com"
    mapping = mapping_of(("Sales", "S")).with_expectations([Expectation("u0@example.com", ("S",))])
    assert failures(evaluate(users, mapping)) == []
