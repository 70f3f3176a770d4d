"""One identity rule (app/core/identity.py): the same user, the same group name, and the
warnings that use it; plus the quieter warnings of issue 24."""

from __future__ import annotations

import unicodedata

import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.core.engine import evaluate
from app.core.identity import email_key, email_keys, group_key, how_names_differ
from app.core.mapping import Expectation, Mapping, MappingRow, MatchKind, Options
from app.core.mapping_warnings import mapping_warnings
from app.core.users import UserList
from app.core.warnings import find_warnings
from tests.core_reference import reference_matches, reference_usable
from tests.test_core_engine import mapping_of, users_of

NFD_CAFE = unicodedata.normalize("NFD", "Café")
ZWSP = "\u200b"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def warnings_of(users, mapping, code):
    return [w for w in find_warnings(evaluate(users, mapping)) if w.code == code]


# --- the keys' laws ----------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(st.text())
def test_keys_are_idempotent_and_ignore_nfc_or_nfd(text):
    assert email_key(email_key(text)) == email_key(text)
    assert group_key(group_key(text)) == group_key(text)
    for form in ("NFC", "NFD"):
        assert email_key(unicodedata.normalize(form, text)) == email_key(text)
        assert group_key(unicodedata.normalize(form, text)) == group_key(text)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_group_keys_ignore_case_spacing_and_invisible_characters(text):
    assert group_key(text.lower()) == group_key(text)
    assume(text.upper().lower() == text.lower())  # "ß".upper() is "SS": another name
    assert group_key(text.upper()) == group_key(text)
    assert group_key(f"  {ZWSP}{text}\u00ad ") == group_key(text)
    assert group_key(text.replace(" ", "   ")) == group_key(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=20))
def test_the_vectorised_email_keys_agree_with_email_key(emails):
    assert email_keys(pd.Series(emails, dtype=object)).tolist() == [email_key(e) for e in emails]


def test_sharp_s_is_not_ss_and_case_and_nfd_are_the_same_user():
    assert email_key("straße@x.com") != email_key("strasse@x.com")
    assert group_key("Straße") != group_key("Strasse")
    assert email_key(" Ann@Example.COM ") == "ann@example.com"
    assert email_key(nfd("josé@x.com")) == email_key("JOSÉ@x.com")
    assert group_key("Legal") == group_key(" legal ") == group_key(f"Le{ZWSP}gal")
    assert group_key("Sales  Team") == group_key("sales team")
    assert group_key("Ｓａｌｅｓ") == group_key("Sales")  # full-width forms (NFKC)


def test_how_names_differ_names_the_difference():
    assert how_names_differ("legal", "Legal") == "case"
    assert how_names_differ(f"Sales{ZWSP}", "Sales") == "an invisible character"
    assert how_names_differ(NFD_CAFE, "Café") == "Unicode form (NFC/NFD)"
    assert how_names_differ("Sales  Team", "sales team") == "spacing and case"


# --- the same user across the core ---------------------------------------------------

def test_server_groups_attach_to_the_nfd_spelling_of_an_email_but_not_to_ss():
    users = UserList.from_records([
        {"email": nfd("José@x.com"), "name": "", "status": "", "source": "", "groups": ""},
        {"email": "straße@x.com", "name": "", "status": "", "source": "", "groups": ""},
    ])
    moved = users.with_current_groups({"josé@x.com": ["Sales"], "strasse@x.com": ["Legal"]})
    assert moved.frame["groups"].tolist() == ["Sales", ""]


def test_an_expectation_finds_its_user_by_nfc_or_nfd_email_never_by_ss():
    users = UserList.from_records([
        {"email": nfd("José@x.com"), "name": "", "status": "", "source": "Sales", "groups": ""},
        {"email": "straße@x.com", "name": "", "status": "", "source": "Sales", "groups": ""},
    ])
    mapping = mapping_of(("Sales", "Sales")).with_expectations(
        [Expectation("JOSÉ@x.com", ("Sales",)), Expectation("strasse@x.com", ("Sales",))])
    failed = warnings_of(users, mapping, "expectation_failed")
    assert [w.value for w in failed] == ["strasse@x.com"]
    assert "is not in the export" in failed[0].message


# --- near-duplicate group names in the mapping -------------------------------------------

def _near_duplicates(mapping: Mapping):
    return [w for w in mapping_warnings(mapping) if w.code == "near_duplicate_group"]


def test_group_names_of_one_key_are_flagged_with_the_difference():
    mapping = mapping_of(("A", "Legal"), ("B", "legal"), ("C", "Sales"), ("D", f"Sales{ZWSP}"),
                         ("E", "Café"), ("F", NFD_CAFE), ("G", "Legal"), ("H", "Strasse"),
                         ("I", "Straße"))
    found = _near_duplicates(mapping)
    assert [(w.row, w.value, w.suggestion) for w in found] == [
        (2, "legal", "Legal"), (4, f"Sales{ZWSP}", "Sales"), (6, NFD_CAFE, "Café")]
    assert "differ only by case" in found[0].message
    assert "an invisible character" in found[1].message
    assert "Unicode form (NFC/NFD)" in found[2].message
    assert all(w.severity == "warning" for w in found)


def test_the_default_group_is_compared_with_the_rows_groups():
    mapping = Mapping((MappingRow("A", "Interns"),), Options(default_group="interns "))
    (found,) = _near_duplicates(mapping)
    assert (found.row, found.value, found.suggestion) == (None, "interns", "Interns")
    assert "(the default group)" in found.message
    users = users_of(("A", ""), ("Z", ""))
    assert [w.value for w in warnings_of(users, mapping, "near_duplicate_group")] == ["interns"]


# --- quieter warnings (issue 24) -----------------------------------------------------------

def test_users_without_a_value_are_info_once_a_default_group_is_set():
    users = users_of(("", ""), ("Sales", ""))
    (without,) = warnings_of(users, mapping_of(("Sales", "S")), "blank_value")
    assert without.severity == "warning"
    (chosen,) = warnings_of(users, mapping_of(("Sales", "S"), default_group="All"), "blank_value")
    assert chosen.severity == "info" and chosen.to_dict()["severity"] == "info"


def test_kept_users_are_one_info_note_after_the_warnings():
    users = users_of(("Support", "Old"), ("Support", "Old"), ("Sales", "Old"), ("HR", ""))
    mapping = mapping_of(("Sales", "Sales"), ("Support", "Marketing"))
    found = find_warnings(evaluate(users, mapping))
    kept = [w for w in found if w.code == "kept_by_apply_existing"]
    assert len(kept) == 1 and kept[0].severity == "info" and kept[0].count == 3
    assert kept[0].message == (
        "3 users keep their current groups because 'apply changes to existing users' is off:"
        " 1 user of row 1 and 2 users of row 2.")
    assert kept[0].row == 1
    severities = [w.severity for w in found]
    assert "warning" in severities
    assert severities == sorted(severities, key=lambda s: s == "info")  # info last


def test_near_miss_covers_starts_with_ends_with_contains_and_patterns():
    users = users_of(("sales - emea", ""), ("Team (Contractor)", ""), ("ENG-42", ""))
    mapping = mapping_of(("Sales - EMEA", "Sales", "starts with"),
                         ("(contractor)", "Contractors", "ends with"),
                         (r"eng-\d+", "Engineering", "pattern"))
    found = {w.value: w for w in warnings_of(users, mapping, "near_miss")}
    assert {v: w.row for v, w in found.items()} == {
        "sales - emea": 1, "Team (Contractor)": 2, "ENG-42": 3}
    assert "close to row 1 (starts with 'Sales - EMEA')" in found["sales - emea"].message
    assert "only if case is ignored" in found["ENG-42"].message
    assert not warnings_of(users, mapping, "unmatched_value")
    spaced = users_of(("Sales-EMEA-Field", ""),)
    (miss,) = warnings_of(spaced, mapping_of(("Sales - EMEA", "S", "starts with")), "near_miss")
    assert "only if spaces are ignored" in miss.message


def test_the_first_row_in_order_is_suggested_whatever_its_kind():
    users = users_of(("sales", ""),)
    mapping = mapping_of(("SAL", "A", "starts with"), ("Sales", "B"))
    (miss,) = warnings_of(users, mapping, "near_miss")
    assert miss.row == 1
    assert warnings_of(users, mapping_of(("Sales", "B"), ("SAL", "A", "starts with")),
                       "near_miss")[0].row == 1


def _reference_near_row(value: str, rows, ignore_case: bool) -> int | None:
    """A per-value reference: the first usable row matching the value with case and (but for
    patterns) all whitespace ignored, when no row matches it as written."""
    if any(reference_usable(r) and reference_matches(r, value, ignore_case) for r in rows):
        return None
    for i, row in enumerate(rows):
        if not reference_usable(row):
            continue
        if row.kind == MatchKind.PATTERN:
            loose_row, loose_value = row, value
        else:
            loose_row = MappingRow("".join(row.value.split()) or " ", row.group, row.kind)
            loose_value = "".join(value.split())
        if reference_matches(loose_row, loose_value, True) and loose_row.value.strip():
            return i
    return None


@settings(max_examples=150, deadline=None)
@given(
    sources=st.lists(st.sampled_from(["sales - emea", "Sales-EMEA x", "x (Contractor)", "ENG-4",
                                      "Ops", "s a l e s"]), min_size=1, max_size=8),
    rows=st.lists(
        st.tuples(st.sampled_from(["Sales - EMEA", "(contractor)", r"eng-\d", "SALES", "ops"]),
                  st.sampled_from(["A", "B"]), st.sampled_from(list(MatchKind))),
        max_size=5,
    ),
    ignore_case=st.booleans(),
)
def test_near_misses_agree_with_a_per_value_reference(sources, rows, ignore_case):
    users = users_of(*[(s, "") for s in sources])
    mapping = mapping_of(*rows, ignore_case=ignore_case)
    found = {w.value: w.row - 1 for w in warnings_of(users, mapping, "near_miss")}
    expected = {}
    for value in dict.fromkeys(sources):
        near = _reference_near_row(value, mapping.rows, ignore_case)
        if near is not None:
            expected[value] = near
    assert found == expected


def test_expected_groups_compare_by_group_key():
    users = users_of(("Sales", ""),)
    mapping = mapping_of(("Sales", "Sales Team")).with_expectations(
        [Expectation("u0@example.com", (f"sales{ZWSP}  team",))])
    assert warnings_of(users, mapping, "expectation_failed") == []
    wrong = mapping.with_expectations([Expectation("u0@example.com", ("Sales",))])
    assert len(warnings_of(users, wrong, "expectation_failed")) == 1
