"""The matching rules, one by one, and the engine against a plain reference implementation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.engine import Change, evaluate
from app.core.mapping import Mapping, MappingRow, MatchKind, Options
from app.core.users import UserList
from tests.core_reference import reference_after


def users_of(*rows: tuple[str, str]) -> UserList:
    """Users from (source value, current groups) pairs."""
    return UserList.from_records(
        {
            "email": f"u{i}@example.com",
            "name": f"U{i}",
            "status": "active",
            "source": s,
            "groups": g,
        }
        for i, (s, g) in enumerate(rows)
    )


def mapping_of(*rows: tuple[str, ...], **options: object) -> Mapping:
    """A mapping from (value, group) or (value, group, match kind) rows."""
    return Mapping(tuple(MappingRow(*row) for row in rows), Options(**options))


def afters(users: UserList, mapping: Mapping) -> list[tuple[str, ...]]:
    evaluation = evaluate(users, mapping)
    return [evaluation.user_after(i) for i in range(len(users))]


def test_values_compare_after_stripping_and_case_sensitively_by_default():
    users = users_of(("  Sales ", ""), ("sales", ""))
    assert afters(users, mapping_of(("Sales", "S"))) == [("S",), ()]


def test_ignore_case_matches_case_variants():
    users = users_of(("SALES", ""), ("sales", ""))
    assert afters(users, mapping_of((" Sales", "S"), ignore_case=True)) == [("S",), ("S",)]


def test_a_cell_is_one_value_without_separator_and_split_with_one():
    users = users_of(
        ("Eng;Sales", ""),
    )
    assert afters(users, mapping_of(("Sales", "S"))) == [()]
    assert afters(users, mapping_of(("Sales", "S"), separator=";")) == [("S",)]


def test_empty_parts_of_a_split_cell_are_ignored():
    users = users_of(
        (" ; ;Sales; ", ""),
    )
    assert afters(users, mapping_of(("Sales", "S"), separator=";")) == [("S",)]


def test_first_row_in_mapping_order_decides_in_one_group_mode():
    users = users_of(
        ("Eng;Sales", ""),
    )
    mapping = mapping_of(("Sales", "S"), ("Eng", "E"), separator=";")
    evaluation = evaluate(users, mapping)
    assert evaluation.user_after(0) == ("S",)
    assert evaluation.user_reason(0) == "row 1: Sales -> S"


def test_multiple_groups_gives_every_matching_row_in_row_order_without_repeats():
    users = users_of(
        ("Eng;Sales;Ops", ""),
    )
    mapping = mapping_of(
        ("Ops", "B"), ("Sales", "A"), ("Eng", "B"), separator=";", multiple_groups=True
    )
    assert afters(users, mapping) == [("B", "A")]


def test_unmatched_and_blank_users_get_the_default_group_or_nothing():
    users = users_of(("Nope", ""), ("", ""))
    plain = evaluate(users, mapping_of(("Sales", "S")))
    assert [plain.user_after(i) for i in range(2)] == [(), ()]
    assert plain.unmatched == 2
    assert list(plain.user_change) == [Change.UNMATCHED, Change.UNMATCHED]
    defaulted = evaluate(users, mapping_of(("Sales", "S"), default_group="Everyone"))
    assert [defaulted.user_after(i) for i in range(2)] == [("Everyone",), ("Everyone",)]
    assert defaulted.unmatched == 2
    assert defaulted.user_reason(1) == "default group"


def test_unmanaged_groups_are_never_changed():
    users = users_of(
        ("Sales", "Hand-made; Old"),
    )
    mapping = mapping_of(("Sales", "S"), ("X", "Old"), apply_existing=True)
    assert afters(users, mapping) == [("Hand-made", "S")]


def test_without_apply_existing_users_in_any_group_keep_their_groups():
    users = users_of(("Sales", "Hand-made"), ("Sales", ""))
    evaluation = evaluate(users, mapping_of(("Sales", "S")))
    assert [evaluation.user_after(i) for i in range(2)] == [("Hand-made",), ("S",)]
    assert "apply to existing is off" in evaluation.user_reason(0)
    assert list(evaluation.user_change) == [Change.UNCHANGED, Change.ASSIGNED]


def test_with_apply_existing_users_move_into_their_target():
    users = users_of(("Sales", "Eng"), ("Sales", "S"), ("Nope", "Eng"))
    mapping = mapping_of(("Sales", "S"), ("Eng", "Eng"), apply_existing=True)
    evaluation = evaluate(users, mapping)
    assert [evaluation.user_after(i) for i in range(3)] == [("S",), ("S",), ("Eng",)]
    assert list(evaluation.user_change) == [Change.MOVED, Change.UNCHANGED, Change.UNMATCHED]
    assert evaluation.changes == 1


def test_group_summaries_count_before_after_added_removed_and_new():
    users = users_of(("Sales", "Eng"), ("Sales", ""), ("Eng", "Eng"))
    mapping = mapping_of(("Sales", "S"), ("Eng", "Eng"), apply_existing=True)
    summary = {s.name: s for s in evaluate(users, mapping).group_summaries()}
    assert (summary["S"].before, summary["S"].after, summary["S"].added) == (0, 2, 2)
    assert summary["S"].new
    assert (summary["Eng"].before, summary["Eng"].after, summary["Eng"].removed) == (2, 1, 1)
    assert not summary["Eng"].new
    assert list(summary) == sorted(summary)


def test_changes_by_group_lists_users_to_add_and_remove():
    users = users_of(("Sales", "Eng"), ("Sales", ""), ("Eng", "Eng"))
    mapping = mapping_of(("Sales", "S"), ("Eng", "Eng"), apply_existing=True)
    changes = evaluate(users, mapping).changes_by_group()
    assert changes["S"][0].tolist() == [0, 1]
    assert changes["Eng"][1].tolist() == [0]
    assert changes["Eng"][0].tolist() == []


def test_incomplete_rows_are_ignored():
    users = users_of(
        ("Sales", ""),
    )
    assert afters(users, mapping_of(("Sales", ""), ("", "X"), ("Sales", "S"))) == [("S",)]


def test_server_state_replaces_the_exports_current_groups():
    users = users_of(
        ("Sales", "Old"),
    )
    on_server = users.with_current_groups({"U0@EXAMPLE.COM": ["S"]})
    assert on_server.frame["groups"].tolist() == ["S"]
    evaluation = evaluate(on_server, mapping_of(("Sales", "S"), apply_existing=True))
    assert evaluation.changes == 0


def test_empty_user_list_evaluates_to_nothing():
    evaluation = evaluate(users_of(), mapping_of(("Sales", "S")))
    assert (evaluation.user_count, evaluation.unmatched, evaluation.changes) == (0, 0, 0)
    assert evaluation.group_summaries() == []


VALUES = [
    "Sales",
    "sales",
    " Sales ",
    "Eng",
    "ENG",
    "Ops",
    "",
    "Eng;Sales",
    "Ops; eng",
    "x",
    "Sales;Sales",
    "Sales - EMEA",
    "EMEA Sales (contractor)",
    "egg",
]
GROUPS = ["", "S", "E", "Hand", "S; Hand", "E; S"]


@settings(max_examples=150, deadline=None)
@given(
    user_rows=st.lists(st.tuples(st.sampled_from(VALUES), st.sampled_from(GROUPS)), max_size=30),
    map_rows=st.lists(
        st.tuples(
            st.sampled_from(["Sales", "eng", "Eng", "Ops", " ops", "", "s", "S", "x", "ales"]),
            st.sampled_from(["S", "E", "O", "", "Hand"]),
            st.sampled_from([kind.value for kind in MatchKind]),
        )
        | st.tuples(
            st.sampled_from(["S.*", "(?i)eng", "e.g", "[", "Sales|Ops", ".*s.*", " ops ", "x?"]),
            st.sampled_from(["S", "E", "O", "Hand"]),
            st.just(MatchKind.PATTERN),
        ),
        max_size=6,
    ),
    default_group=st.sampled_from(["", "S", "Default"]),
    ignore_case=st.booleans(),
    separator=st.sampled_from(["", ";"]),
    multiple_groups=st.booleans(),
    apply_existing=st.booleans(),
)
def test_engine_agrees_with_the_reference(
    user_rows, map_rows, default_group, ignore_case, separator, multiple_groups, apply_existing
):
    users = users_of(*user_rows)
    mapping = mapping_of(
        *map_rows,
        default_group=default_group,
        ignore_case=ignore_case,
        separator=separator,
        multiple_groups=multiple_groups,
        apply_existing=apply_existing,
    )
    evaluation = evaluate(users, mapping)
    expected = reference_after(users, mapping)
    assert [set(evaluation.user_after(i)) for i in range(len(users))] == [a for _, a, _ in expected]
    assert evaluation.unmatched == sum(not matched for _, _, matched in expected)
    assert evaluation.changes == sum(before != after for before, after, _ in expected)
    counts = {s.name: (s.before, s.after, s.added, s.removed) for s in evaluation.group_summaries()}
    names = {g for b, a, _ in expected for g in b | a}
    assert set(counts) == names
    for name in names:
        assert counts[name] == (
            sum(name in b for b, _, _ in expected),
            sum(name in a for _, a, _ in expected),
            sum(name in a and name not in b for b, a, _ in expected),
            sum(name in b and name not in a for b, a, _ in expected),
        )
    changes = evaluation.changes_by_group()
    for name, (adds, removes) in changes.items():
        assert set(adds.tolist()) == {
            i for i, (b, a, _) in enumerate(expected) if name in a and name not in b
        }
        assert set(removes.tolist()) == {
            i for i, (b, a, _) in enumerate(expected) if name in b and name not in a
        }
    assert np.all(np.isin(evaluation.user_change, [c.value for c in Change]))


def test_row_user_counts_count_the_users_each_row_decides():
    users = users_of(("Sales", ""), ("Sales;Eng", ""), ("Eng", ""), ("HR", ""))
    one = evaluate(users, mapping_of(("Sales", "S"), ("Eng", "E"), ("X", "X"), separator=";"))
    assert one.row_user_counts().tolist() == [2, 1, 0]
    multi = evaluate(
        users, mapping_of(("Sales", "S"), ("Eng", "E"), separator=";", multiple_groups=True)
    )
    assert multi.row_user_counts().tolist() == [2, 2]


def test_unmatched_values_most_users_first_as_spelled():
    users = users_of(("hr ", ""), ("Ops", ""), ("hr", ""), ("Sales", ""))
    evaluation = evaluate(users, mapping_of(("Sales", "S")))
    assert evaluation.unmatched_values() == [("hr", 2), ("Ops", 1)]


def test_profile_queries_answer_what_the_users_table_filters_on():
    users = users_of(("Sales", ""), ("Eng", "Old"), ("HR", ""), ("Sales", "S"))
    evaluation = evaluate(users, mapping_of(("Sales", "S"), ("Eng", "E"), apply_existing=True))
    of_user = users.profiles.of_user

    def who(mask):
        return [i for i in range(len(users)) if mask[of_user[i]]]

    assert who(evaluation.changed_profiles) == [0, 1]
    assert who(evaluation.unmatched_profiles) == [2]
    assert who(evaluation.profiles_landing_in(["S"])) == [0, 3]
    assert who(evaluation.profiles_in_group("Old")) == [1]  # before counts: the summary's users
    assert who(evaluation.profiles_in_group("Nobody")) == []
    assert evaluation.new_groups() == ["E"]
    assert who(evaluation.profiles_in_new_groups()) == [1]
