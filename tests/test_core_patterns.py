"""Patterns run in linear time (RE2), and mappings of thousands of non-equals rows stay cached
and are evaluated together, with the same results as one row at a time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.core import matching
from app.core.mapping import MappingRow, MatchKind, pattern_error
from tests.test_core_engine import afters, mapping_of, users_of


def test_a_catastrophic_pattern_does_not_hang_the_preview():
    users = users_of(("a" * 40 + "!", ""), ("a" * 40, ""))
    assert afters(users, mapping_of(("(a+)+", "A", "pattern"))) == [(), ("A",)]
    assert afters(users, mapping_of(("(a|aa)*b", "A", "pattern"))) == [(), ()]


def test_patterns_keep_whole_value_matching_case_options_and_stripping():
    users = users_of(("  Eng-42 ", ""), ("Eng-42b", ""), ("eng-7", ""))
    assert afters(users, mapping_of(("  Eng-\\d+  ", "E", "pattern"))) == [("E",), (), ()]
    assert afters(users, mapping_of(("(?i)eng-\\d+", "E", "pattern"))) == [("E",), (), ("E",)]
    ignore = mapping_of(("ENG-\\d+", "E", "pattern"), ignore_case=True)
    assert afters(users, ignore) == [("E",), (), ("E",)]


def test_syntax_re2_lacks_is_a_bad_pattern_with_its_position():
    for text, where in [("(a)\\1", 3), ("Sales(?=x)", 5), ("a++", 1), ("x\\Z", 1)]:
        error = pattern_error(text)
        assert error is not None and error.pos == where, text
    assert pattern_error("Sales(").msg == "missing )"
    assert pattern_error("bad \ud800").msg.startswith("it holds a character")
    assert pattern_error("(?P<team>Sales|Eng)-\\p{L}+") is None


def test_values_that_are_not_valid_text_do_not_crash_the_matching():
    users = users_of(("Sales \ud800", ""), ("Sales", ""))
    for kind in ("pattern", "contains"):
        text = "Sales.*" if kind == "pattern" else "Sales"
        assert afters(users, mapping_of((text, "S", kind))) == [("S",), ("S",)], kind


def _one_by_one(vocab, rows, ignore_case):
    """What each row matches evaluated alone (the few-rows path), as sets of codes."""
    return [
        set(matching.row_value_pairs(vocab, (row,), ignore_case, {})[0]) for row in rows
    ]


def test_many_rows_together_match_exactly_what_each_row_matches_alone():
    vocab = pd.Index(
        ["sales - emea", "Sales - EMEA", "eng-42", "Eng-42", "field sales", "marketing emea",
         "Sales EMEA (contractor)", "é équipe", "", "x" * 300]
    )
    texts = ["sales", "EMEA", "eng", "42", "é", "(contractor)", "x" * 50, "s - e", "z"]
    rows = [MappingRow(t, "G", kind) for t in texts for kind in
            (MatchKind.CONTAINS, MatchKind.STARTS_WITH, MatchKind.ENDS_WITH)]
    rows += [MappingRow(p, "G", MatchKind.PATTERN) for p in
             ["(?i)sales.*", "Eng-\\d+", ".*emea", "\\d+", ".*", "é.*", "x{300}", "[a-z ]+"]]
    for ignore_case in (False, True):
        pairs = matching.row_value_pairs(vocab, tuple(rows), ignore_case, {})
        together = [set(pairs[0][pairs[1] == i]) for i in range(len(rows))]
        assert together == _one_by_one(vocab, rows, ignore_case), ignore_case


def test_a_value_the_set_could_not_finish_is_compared_row_by_row():
    keys = [("contains", "b", False), ("contains", "z", False)]
    found = matching._collect(
        pd.Series(["abc", "xyz"]), keys, sentinel=2, candidates=lambda value: None,
        matches=lambda value, i: "bz"[i] in value, verify=False,
    )
    assert [list(found[key]) for key in keys] == [[0], [1]]


def test_a_mapping_of_thousands_of_rows_is_evaluated_once(monkeypatch):
    users = users_of(*[(f"Team {i} - Field", "") for i in range(50)])
    rows = [(f"Team {i} -", f"G{i}", "starts with") for i in range(5000)]
    rows += [(f"Team {i} - .*", f"P{i}", "pattern") for i in range(20)]
    mapping = mapping_of(*rows)
    first = afters(users, mapping)
    assert first[7] == ("G7",)
    evaluated = []
    original = matching._evaluate
    monkeypatch.setattr(matching, "_evaluate", lambda vocab, todo, case: evaluated.extend(
        todo) or original(vocab, todo, case))
    edited = list(mapping.rows)
    edited[3] = MappingRow("Team 3 - F", "G3", MatchKind.STARTS_WITH)
    assert afters(users, mapping.with_rows(edited)) == first
    assert evaluated == [("starts with", "Team 3 - F", False)]
    assert afters(users, mapping) == first  # undo: the old row is still cached
    assert len(evaluated) == 1


def test_the_cache_drops_the_least_recently_used_rows_beyond_its_size(monkeypatch):
    monkeypatch.setattr(matching, "CACHE_MIN", 3)
    vocab = pd.Index(["a", "b"])
    cache: matching.RowCache = {}
    row = lambda text: MappingRow(text, "G", MatchKind.CONTAINS)  # noqa: E731
    for text in ("a", "b", "c", "a", "d"):
        matching.row_value_pairs(vocab, (row(text),), False, cache)
    assert [key[1] for key in cache] == ["c", "a", "d"]
    assert np.array_equal(cache[("contains", "a", False)], [0])


def test_one_byte_escape_and_a_group_name_given_twice_are_bad_patterns_re2_would_accept():
    cut = pattern_error("Caf\\C\\C")
    assert cut is not None and cut.pos == 3 and cut.msg.startswith("\\C matches one byte")
    twice = pattern_error("(?P<team>Sales)-(?<team>Eng)")
    assert twice is not None and twice.pos == 16
    assert twice.msg.startswith("the group name 'team' is given twice")
    for fine in ("Caf\\\\C", "\\Q\\C\\E", "[(?P<x>](?P<x>a)", "(?P<x>a)(?P<xy>b)", "[[:alpha:]]C"):
        assert pattern_error(fine) is None, fine
    users = users_of(("Caf\u00e9", ""), ("Sales-Eng", ""))
    mapping = mapping_of(("Caf\\C\\C", "A", "pattern"), ("(?P<t>Sales)-(?P<t>Eng)", "B", "pattern"))
    assert afters(users, mapping) == [(), ()]  # ignored rows, as every bad_pattern
