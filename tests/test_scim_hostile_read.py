"""Hostile SCIM servers while reading: ambiguity is refused or reported, users are found.

Each test uses the fake server (tests/fake_scim.py) in one mode, or plain data a real
directory may hold (twins, duplicates), and asserts what the server holds afterwards.
"""

from __future__ import annotations

import unicodedata

import pytest

from app.core.errors import InputError
from app.scim.http.errors import ScimError
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from tests.scim_fixtures import TOKEN, fast_client, make_mapping
from tests.test_scim_hostile import MAPPING, export, sync


def read(url, users, mapping=MAPPING, **options):
    settings = SyncSettings(url, TOKEN, **options)
    with fast_client(url) as client:
        return read_server_state(client, users, mapping, settings)


def test_two_server_groups_with_a_managed_name_stop_before_writing(fake_scim):
    fake = fake_scim()
    a = fake.add_user("a@x")
    first, second = fake.add_group("Sales", [a]), fake.add_group("Sales", [])
    with pytest.raises(InputError, match="2 groups named 'Sales'") as caught:
        sync(fake.url, export(("a@x", "eng")))
    assert first in str(caught.value) and second in str(caught.value)
    assert "Delete or rename the extra ones" in str(caught.value)
    assert not fake.writes() and fake.members(first) == {"a@x"}


@pytest.mark.parametrize(
    "on_server", [" Sales", "sales", unicodedata.normalize("NFD", "Ventes Café")]
)
def test_a_near_spelling_of_a_managed_group_stops_before_writing(fake_scim, on_server):
    fake = fake_scim()
    a = fake.add_user("a@x")
    group = fake.add_group(on_server, [a])
    mapping = make_mapping({"sales": "Sales", "cafe": "Ventes Café"}, apply_existing=True)
    with pytest.raises(InputError, match="only .* GroupMap will not pick one") as caught:
        sync(fake.url, export(("a@x", "eng")), mapping)
    assert repr(on_server) in str(caught.value) and "spelled exactly" in str(caught.value)
    assert not fake.writes() and fake.members(group) == {"a@x"}


def test_users_differing_only_in_case_prefer_the_exact_spelling_else_are_ambiguous(fake_scim):
    fake = fake_scim()
    ann, ann_upper = fake.add_user("ann@x"), fake.add_user("ANN@x")
    bob, bob_title = fake.add_user("bob@X"), fake.add_user("Bob@x")
    sales = fake.add_group("Sales", [])
    plan, result = sync(fake.url, export(("ann@x", "sales"), ("bob@x", "sales")))
    assert fake.groups[sales]["members"] == [ann]  # the exact spelling; bob guessed never
    assert ann_upper not in fake.groups[sales]["members"]
    assert {bob, bob_title}.isdisjoint(fake.groups[sales]["members"])
    assert "2 server accounts match" in plan.conflicts["bob@x"]
    report = result.report_frame().set_index("email")
    assert report.loc["bob@x", "outcome"] == "left unchanged"


def test_one_account_matching_two_export_emails_changes_neither(fake_scim):
    fake = fake_scim()
    shared = fake.add_user("shared", emails=["a@x", "b@x"])
    fake.add_user("c", emails=["c@x"])
    sales, eng = fake.add_group("Sales", [shared]), fake.add_group("Eng", [])
    users = export(("a@x", "sales"), ("b@x", "eng"), ("c@x", "eng"))
    for _ in range(2):  # no flip-flop between runs
        plan, _ = sync(fake.url, users, match_attribute="emails")
        assert fake.groups[sales]["members"] == [shared]
        assert shared not in fake.groups[eng]["members"]
    assert "a@x" in plan.conflicts["b@x"] and "b@x" in plan.conflicts["a@x"]


def test_a_server_ignoring_start_index_is_an_error_not_missing_users(fake_scim):
    fake = fake_scim("ignore_start_index")
    for i in range(150):
        fake.add_user(f"u{i:03d}@x")
    users = export(*((f"u{i:03d}@x", "sales") for i in range(0, 150, 10)))
    with pytest.raises(ScimError, match="same resources again at startIndex 101"):
        read(fake.url, users)
    assert not fake.writes()


def test_a_server_paging_forever_is_stopped(fake_scim):
    fake = fake_scim("endless_pages")
    fake.add_user("a@x")
    settings = SyncSettings(fake.url, TOKEN)
    with fast_client(fake.url) as client:
        client.max_pages = 20  # the export's bound comes first: 1 user, 1 a page, 2 x 1 + 10
        with pytest.raises(ScimError, match="12 pages .* without an end"):
            read_server_state(client, export(("nobody@x", "sales")), MAPPING, settings)
    assert not fake.writes()


def test_nobody_found_stops_before_creating_and_suggests_the_other_attributes(fake_scim):
    fake = fake_scim()
    fake.add_user("jdoe", emails=["jane@x"])  # userName is not the email
    fake.add_user("rroe", emails=["rick@x"])
    users = export(("jane@x", "sales"), ("rick@x", "eng"))
    with pytest.raises(InputError, match="by userName.*emails or externalId"):
        sync(fake.url, users)
    assert not fake.writes()
    _, result = sync(fake.url, users, match_attribute="emails")
    assert not result.failed and fake.members(fake.groups_named("Sales")[0]) == {"jdoe"}


@pytest.mark.parametrize(
    ("mode", "attribute"), [("case_exact_filter", "userName"), ("filter_400", "emails")]
)
def test_users_filters_miss_are_found_by_listing(fake_scim, mode, attribute):
    """250 users: one filter is cheaper than 3 pages, but the filter misses or fails."""
    fake = fake_scim(mode)
    for i in range(249):
        fake.add_user(f"u{i:03d}@x")
    target = fake.add_user("Ann.Smith@X.com")  # on the last page
    sales = fake.add_group("Sales", [])
    _, result = sync(fake.url, export(("ann.smith@x.com", "sales")), match_attribute=attribute)
    assert not result.failed and not result.not_found
    assert fake.groups[sales]["members"] == [target]
    assert any("filter" in r[2] for r in fake.records)  # the filter was tried first


def test_wrong_json_types_in_a_groups_entry_is_one_clear_error(fake_scim):
    for mode in ("groups_string", "groups_entry_string"):
        fake = fake_scim(mode)
        a = fake.add_user("a@x")
        fake.add_group("Sales", [a])
        with pytest.raises(ScimError, match=f"{fake.url}.*`Resources\\[\\].groups"):
            read(fake.url, export(("a@x", "sales")))


def test_execute_after_reading_a_hostile_state_writes_nothing_for_ambiguous_users(fake_scim):
    fake = fake_scim()
    one, two = fake.add_user("Kim@x"), fake.add_user("KIM@x")
    eng = fake.add_group("Eng", [one, two])
    settings = SyncSettings(fake.url, TOKEN, max_removal_ratio=1.0)
    users = export(("kim@x", "sales"))
    with fast_client(fake.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        assert not state.user_ids and "kim@x" in state.ambiguous and not state.not_found
        plan = plan_sync(users, MAPPING, state, settings)
        execute(client, plan, settings)
    assert fake.members(eng) == {"Kim@x", "KIM@x"}
