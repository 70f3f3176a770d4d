"""Match kinds per row: each kind, priority across kinds, reasons, and the per-row cache."""

from __future__ import annotations

from app.core import matching
from app.core.engine import evaluate
from app.core.mapping import Mapping, MatchKind, match_kind
from tests.test_core_engine import afters, mapping_of, users_of

MESSY = ("Sales - EMEA - Field", "Sales EMEA (contractor)", "Field Sales", "Eng", "")


def messy_users():
    return users_of(*[(value, "") for value in MESSY])


def test_each_kind_matches_its_values():
    users = messy_users()
    cases = {
        MatchKind.EQUALS: ("Eng", [(), (), (), ("X",), ()]),
        MatchKind.STARTS_WITH: ("Sales", [("X",), ("X",), (), (), ()]),
        MatchKind.ENDS_WITH: (" Sales ", [(), (), ("X",), (), ()]),
        MatchKind.CONTAINS: ("EMEA", [("X",), ("X",), (), (), ()]),
        MatchKind.PATTERN: (r"Sales .*\(contractor\)", [(), ("X",), (), (), ()]),
    }
    for kind, (text, expected) in cases.items():
        assert afters(users, mapping_of((text, "X", kind))) == expected, kind


def test_a_pattern_must_match_the_whole_value():
    users = users_of(("Sales - EMEA", ""), ("Sales", ""))
    assert afters(users, mapping_of(("Sales", "S", "pattern"))) == [(), ("S",)]
    assert afters(users, mapping_of(("Sales.*", "S", "pattern"))) == [("S",), ("S",)]


def test_ignore_case_applies_to_every_kind():
    users = users_of(("SALES - emea", ""),)
    for kind, text in [("starts with", "sales"), ("ends with", "EMEA"), ("contains", "S - E"),
                       ("pattern", "sales.*")]:
        assert afters(users, mapping_of((text, "S", kind))) == [()], kind
        assert afters(users, mapping_of((text, "S", kind), ignore_case=True)) == [("S",)], kind


def test_a_pattern_that_does_not_compile_is_ignored_and_its_group_not_managed():
    users = users_of(("Sales", "Old"),)
    mapping = mapping_of(("[Sales", "Old", "pattern"), ("Sales", "S"), apply_existing=True)
    assert afters(users, mapping) == [("Old", "S")]
    assert mapping.managed_groups() == ["S"]


def test_row_order_is_priority_across_kinds():
    users = users_of(("Sales - EMEA", ""), ("Sales", ""))
    mapping = mapping_of(("EMEA", "E", "contains"), ("Sales", "S", "starts with"))
    assert afters(users, mapping) == [("E",), ("S",)]
    multi = mapping_of(
        ("EMEA", "E", "contains"), ("Sales", "S", "starts with"), ("Sales - EMEA", "E"),
        multiple_groups=True,
    )
    assert afters(users, multi) == [("E", "S"), ("S",)]


def test_reasons_name_the_kind():
    users = users_of(("Sales - EMEA", ""),)
    rows = [("x", "X"), ("x", "X"), ("x", "X"), ("Sales", "Sales", "starts with")]
    evaluation = evaluate(users, mapping_of(*rows))
    assert evaluation.user_reason(0) == "row 4: starts with 'Sales' -> Sales"
    multi = evaluate(
        users,
        mapping_of(("EMEA", "E", "contains"), ("S.*A", "S", "pattern"), multiple_groups=True),
    )
    assert multi.user_reason(0) == "rows 1, 2: contains 'EMEA' -> E; pattern 'S.*A' -> S"


def test_an_edit_evaluates_only_the_edited_row(monkeypatch):
    users = messy_users()
    rows = [(f"S{i}", "S", "starts with") for i in range(5)] + [("Eng", "E")]
    mapping = mapping_of(*rows)
    evaluate(users, mapping)
    calls = []
    original = matching._evaluate
    monkeypatch.setattr(
        matching, "_evaluate", lambda vocab, rows, case: calls.extend(
            row.value for row in rows.values()) or original(vocab, rows, case)
    )
    edited = list(mapping.rows)
    edited[2] = edited[2].__class__("Sales", "S", MatchKind.STARTS_WITH)
    evaluate(users, Mapping(tuple(edited), mapping.options))
    assert calls == ["Sales"]
    evaluate(users, mapping.with_options(multiple_groups=True))  # same rows, same case
    assert calls == ["Sales"]


def test_match_kind_names_and_aliases():
    assert match_kind("Starts With") == MatchKind.STARTS_WITH
    assert match_kind("begins_with") == MatchKind.STARTS_WITH
    assert match_kind("regex") == MatchKind.PATTERN
    assert match_kind("") == MatchKind.EQUALS
    assert match_kind("like") is None
