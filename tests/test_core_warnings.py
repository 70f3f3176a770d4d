"""Each warning the preview gives, from the mapping and the export."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.engine import evaluate
from app.core.mapping import MatchKind
from app.core.warnings import find_warnings
from tests.core_reference import reference_matches, reference_usable
from tests.test_core_engine import mapping_of, users_of


def warnings_of(users, mapping, code):
    return [w for w in find_warnings(evaluate(users, mapping)) if w.code == code]


def test_unmatched_values_are_listed_with_counts_most_common_first():
    users = users_of(("Ops", ""), ("HR", ""), ("HR", ""), ("Sales", ""))
    found = warnings_of(users, mapping_of(("Sales", "S")), "unmatched_value")
    assert [(w.value, w.count) for w in found] == [("HR", 2), ("Ops", 1)]
    assert "2 users have the value 'HR'" in found[0].message


def test_near_miss_of_case_or_whitespace_suggests_the_row():
    users = users_of(("sales-emea", ""), ("Sales - EMEA", ""))
    found = warnings_of(users, mapping_of(("Sales-EMEA", "S")), "near_miss")
    assert {(w.value, w.suggestion, w.row) for w in found} == {
        ("sales-emea", "Sales-EMEA", 1),
        ("Sales - EMEA", "Sales-EMEA", 1),
    }


def test_rows_matching_no_user():
    found = warnings_of(
        users_of(("Sales", "")), mapping_of(("Sales", "S"), ("HR", "H")), "row_matches_no_user"
    )
    assert [(w.row, w.value) for w in found] == [(2, "HR")]


def test_duplicate_row_values():
    mapping = mapping_of(("Sales", "S"), (" Sales", "T"))
    found = warnings_of(users_of(("Sales", "")), mapping, "duplicate_value")
    assert [(w.row, w.value) for w in found] == [(2, "Sales")]


def test_duplicate_row_values_respect_ignore_case():
    mapping = mapping_of(("Sales", "S"), ("sales", "T"))
    assert warnings_of(users_of(("Sales", "")), mapping, "duplicate_value") == []
    mapping = mapping_of(("Sales", "S"), ("sales", "T"), ignore_case=True)
    assert len(warnings_of(users_of(("Sales", "")), mapping, "duplicate_value")) == 1


def test_users_matching_several_rows_in_one_group_mode():
    users = users_of(("Eng;Sales", ""), ("Eng", ""))
    mapping = mapping_of(("Sales", "S"), ("Eng", "E"), separator=";")
    assert [w.count for w in warnings_of(users, mapping, "several_rows_match")] == [1]
    multi = mapping_of(("Sales", "S"), ("Eng", "E"), separator=";", multiple_groups=True)
    assert warnings_of(users, multi, "several_rows_match") == []


def test_group_names_over_fifty_characters():
    long_name = "G" * 51
    found = warnings_of(
        users_of(("Sales", "")),
        mapping_of(("Sales", long_name), default_group="D" * 60),
        "group_name_too_long",
    )
    assert [w.value for w in found] == [long_name, "D" * 60]
    assert (
        warnings_of(users_of(("Sales", "")), mapping_of(("Sales", "G" * 50)), "group_name_too_long")
        == []
    )


def test_cells_that_look_multi_valued_without_separator():
    users = users_of(("Eng;Sales", ""), ("Eng, Ops", ""), ("Eng", ""))
    found = warnings_of(users, mapping_of(("Eng", "E")), "looks_multi_valued")
    assert [w.count for w in found] == [2]
    assert warnings_of(users, mapping_of(("Eng", "E"), separator=";"), "looks_multi_valued") == []


def test_blank_values_and_incomplete_rows():
    users = users_of(("", ""), ("  ", ""), ("Sales", ""))
    mapping = mapping_of(("Sales", "S"), ("HR", ""))
    assert [w.count for w in warnings_of(users, mapping, "blank_value")] == [2]
    assert [w.row for w in warnings_of(users, mapping, "incomplete_row")] == [2]


def test_import_notes_are_passed_on():
    users = users_of(("Sales", ""))
    users.notes.append({"code": "duplicate_email", "message": "a@x twice", "count": 2})
    assert [w.message for w in warnings_of(users, mapping_of(), "duplicate_email")] == ["a@x twice"]


def test_many_unmatched_values_are_summed_up_after_the_first_fifty():
    users = users_of(*[(f"V{i}", "") for i in range(60)])
    mapping = mapping_of(("Sales", "S"))
    assert len(warnings_of(users, mapping, "unmatched_value")) == 50
    assert [w.count for w in warnings_of(users, mapping, "unmatched_values_more")] == [10]


def test_warning_dicts_leave_out_empty_fields():
    found = warnings_of(users_of(("HR", "")), mapping_of(("Sales", "S")), "unmatched_value")
    assert found[0].to_dict() == {
        "code": "unmatched_value",
        "message": "1 user has the value 'HR', which matches no row.",
        "value": "HR",
        "count": 1,
        "severity": "warning",
    }


def test_a_pattern_that_does_not_compile_names_the_error_and_its_position():
    mapping = mapping_of(("Sales(", "S", "pattern"), ("Sales", "S"))
    found = warnings_of(users_of(("Sales", "")), mapping, "bad_pattern")
    assert [(w.row, w.value) for w in found] == [(1, "Sales(")]
    assert "(RE2: missing ))" in found[0].message
    assert "the row is ignored" in found[0].message
    lookbehind = mapping_of(("Eng-(?<=x)1", "S", "pattern"))
    found = warnings_of(users_of(("Sales", "")), lookbehind, "bad_pattern")
    assert "(RE2: invalid perl operator: (?<= at position 4)" in found[0].message
    assert warnings_of(users_of(("Sales", "")), mapping, "row_matches_no_user") == []


def test_rows_shadowed_by_earlier_rows_in_one_group_mode():
    users = users_of(("Sales - EMEA", ""), ("Sales - AMER", ""), ("Eng", ""))
    mapping = mapping_of(
        ("EMEA", "E", "contains"),
        ("AMER", "A", "ends with"),
        ("Sales", "S", "starts with"),
        ("Sales - EMEA", "X"),
        ("Eng", "Eng"),
    )
    found = warnings_of(users, mapping, "shadowed_row")
    assert [w.row for w in found] == [3, 4]
    assert found[0].message.startswith(
        "Row 3 (starts with 'Sales') is shadowed by rows 1 and 2:"
    )
    assert found[1].message.startswith("Row 4 (Sales - EMEA) is shadowed by row 1:")
    multi = mapping.with_options(multiple_groups=True)
    assert warnings_of(users, multi, "shadowed_row") == []


def test_a_row_deciding_some_of_its_users_is_not_shadowed_and_duplicates_are_not_repeated():
    users = users_of(("Sales - EMEA", ""), ("Sales", ""))
    mapping = mapping_of(("EMEA", "E", "contains"), ("Sales", "S", "starts with"))
    assert warnings_of(users, mapping, "shadowed_row") == []
    twice = mapping_of(("Sales", "S"), ("Sales", "T"))
    assert warnings_of(users, twice, "shadowed_row") == []
    assert [w.row for w in warnings_of(users, twice, "duplicate_value")] == [2]


def test_non_equals_rows_matching_more_than_half_of_the_users_are_too_broad():
    users = users_of(("Sales", ""), ("Support", ""), ("Eng", ""))
    found = warnings_of(users, mapping_of(("S", "S", "starts with")), "row_too_broad")
    assert [(w.row, w.count) for w in found] == [(1, 2)]
    assert "matches 2 of 3 users (67%): likely too broad" in found[0].message
    assert warnings_of(users, mapping_of(("Su", "S", "starts with")), "row_too_broad") == []
    everyone = users_of(("Sales", ""), ("Sales", ""))
    assert warnings_of(everyone, mapping_of(("Sales", "S")), "row_too_broad") == []


def test_near_misses_are_suggested_for_every_match_kind():
    users = users_of(("sales-emea", ""),)
    for kind in ("equals", "contains", "starts with", "ends with"):
        found = warnings_of(users, mapping_of(("Sales-EMEA", "S", kind)), "near_miss")
        assert [w.row for w in found] == [1], kind


def test_non_equals_rows_matching_nobody_and_repeated_conditions():
    users = users_of(("Sales", ""),)
    mapping = mapping_of(("HR", "H", "starts with"), ("HR", "I", "starts with"), ("HR", "J"))
    found = warnings_of(users, mapping, "row_matches_no_user")
    assert [w.row for w in found] == [1, 2, 3]
    assert "Row 1 (starts with 'HR') matches no user" in found[0].message
    dupes = warnings_of(users, mapping, "duplicate_value")
    assert [w.row for w in dupes] == [2]
    assert "repeats the condition starts with 'HR' of row 1" in dupes[0].message


@settings(max_examples=100, deadline=None)
@given(
    sources=st.lists(st.sampled_from(["Sales - EMEA", "Sales", "EMEA Ops", "Eng", "eng;Sales"]),
                     min_size=1, max_size=12),
    rows=st.lists(
        st.tuples(st.sampled_from(["Sales", "EMEA", "Eng", "S.*", "[", "Ops"]),
                  st.sampled_from(["A", "B"]), st.sampled_from(list(MatchKind))),
        max_size=5,
    ),
    separator=st.sampled_from(["", ";"]),
    ignore_case=st.booleans(),
)
def test_shadowed_and_broad_rows_agree_with_a_per_user_reference(
    sources, rows, separator, ignore_case
):
    users = users_of(*[(s, "") for s in sources])
    mapping = mapping_of(*rows, separator=separator, ignore_case=ignore_case)
    found = find_warnings(evaluate(users, mapping))
    matched_by: dict[int, list[int]] = {}  # row -> users it matches
    decided: set[int] = set()
    for user, source in enumerate(sources):
        values = [v for v in (source.split(separator) if separator else [source]) if v.strip()]
        hits = [i for i, row in enumerate(mapping.rows) if reference_usable(row)
                and any(reference_matches(row, v, ignore_case) for v in values)]
        for i in hits:
            matched_by.setdefault(i, []).append(user)
        decided.update(hits[:1])
    duplicates = {w.row for w in found if w.code == "duplicate_value"}
    shadowed = {i + 1 for i in matched_by if i not in decided} - duplicates
    assert {w.row for w in found if w.code == "shadowed_row"} == shadowed
    broad = {i + 1 for i, hit in matched_by.items()
             if mapping.rows[i].kind != MatchKind.EQUALS and len(hit) > len(sources) / 2}
    assert {w.row for w in found if w.code == "row_too_broad"} == broad


def test_a_bad_pattern_is_shown_as_the_admin_typed_it():
    mapping = mapping_of(("Eng-\\d+(", "E", "pattern"), ("Ops\\\\\tx(", "O", "pattern"))
    found = warnings_of(users_of(("Sales", "")), mapping, "bad_pattern")
    assert found[0].message.startswith("Row 1: the pattern 'Eng-\\d+(' does not compile")
    assert found[1].message.startswith("Row 2: the pattern 'Ops\\\\\\tx(' does not compile")
    assert "\t" not in found[1].message and found[0].value == "Eng-\\d+("
