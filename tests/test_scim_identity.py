"""One identity rule against the real scim2-server: "straße" is not "strasse", NFC and NFD
spell one user, and a sync never creates two groups of one group_key."""

from __future__ import annotations

import unicodedata

import pytest

from app.core.errors import InputError
from app.core.mapping import Mapping, MappingRow, Options
from app.core.users import UserList
from app.scim.http.protocol import value_matches
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from tests.scim_fixtures import TOKEN, fast_client


def users(*rows: tuple[str, str, str]) -> UserList:
    """Users from (email, source value, current groups)."""
    return UserList.from_records(
        {"email": e, "name": "", "status": "active", "source": s, "groups": g} for e, s, g in rows
    )


def sync(url: str, export: UserList, mapping: Mapping, **options):
    settings = SyncSettings(url, TOKEN, **options)
    with fast_client(url) as client:
        state = read_server_state(client, export, mapping, settings)
        plan = plan_sync(export, mapping, state, settings)
        result = execute(client, plan, settings)
    return plan, result


MAPPING = Mapping(
    (MappingRow("Sales", "Sales"), MappingRow("Legal", "Legal")), Options(apply_existing=True)
)


@pytest.mark.parametrize("attribute", ["userName", "emails"])
def test_strasse_is_never_changed_for_an_export_holding_only_strasse_with_sharp_s(
    scim_server, attribute
):
    server = scim_server(users(("strasse@x.com", "", "Legal"), ("straße@x.com", "", "")))
    export = users(("straße@x.com", "Sales", ""))
    plan, result = sync(server.url, export, MAPPING, match_attribute=attribute)
    groups = server.dump()["groups"]
    assert groups["Legal"] == {"strasse@x.com"}  # the other account keeps its membership
    assert groups["Sales"] == {"straße@x.com"}
    assert (result.failed, plan.not_found, plan.conflicts) == ([], [], {})


def test_an_export_user_only_the_ss_spelling_matches_is_not_found(scim_server):
    server = scim_server(users(("strasse@x.com", "", "Legal"), ("ann@x.com", "", "")))
    export = users(("straße@x.com", "Sales", ""), ("ann@x.com", "Sales", ""))
    plan, _ = sync(server.url, export, MAPPING)
    assert plan.not_found == ["straße@x.com"]
    assert server.dump()["groups"] == {"Legal": {"strasse@x.com"}, "Sales": {"ann@x.com"}}


def test_an_nfd_email_in_the_export_is_the_nfc_user_on_the_server(scim_server):
    nfc = "josé@x.com"
    server = scim_server(users((nfc, "", "Legal")))
    export = users((unicodedata.normalize("NFD", "JOSÉ@x.com"), "Sales", ""))
    plan, result = sync(server.url, export, MAPPING, allow_mass_removal=True)
    assert plan.not_found == [] and result.failed == []
    assert server.dump()["groups"] == {"Legal": set(), "Sales": {nfc}}


@pytest.mark.parametrize("other", ["legal", "Legal\u200b", " Legal  "])
def test_a_mapping_naming_one_group_two_ways_stops_before_writing(scim_server, other):
    server = scim_server(users(("ann@x.com", "", "")))
    mapping = Mapping((MappingRow("A", "Legal"), MappingRow("B", other)))
    export = users(("ann@x.com", "A", ""))
    if other.strip() == "Legal":  # spaces around a name are not a second spelling
        sync(server.url, export, mapping)
        assert server.dump()["group_counts"] == {"Legal": 1}
        return
    with pytest.raises(InputError, match="will not create both"):
        sync(server.url, export, mapping)
    assert server.dump()["groups"] == {}


def test_a_server_group_of_the_same_key_is_an_ambiguity(scim_server):
    cafe_nfd = unicodedata.normalize("NFD", "Café")
    server = scim_server(users(("ann@x.com", "", "Sales\u200b")), extra_groups={cafe_nfd: []})
    export = users(("ann@x.com", "A", ""))
    for name in ("Sales", "Café"):
        with pytest.raises(InputError, match="no group spelled exactly"):
            sync(server.url, export, Mapping((MappingRow("A", name),)))
    assert server.dump()["groups"] == {"Sales\u200b": {"ann@x.com"}, cafe_nfd: set()}


def test_a_filtered_answer_is_checked_by_the_same_keys():
    nfd = unicodedata.normalize("NFD", "José@x.com")
    assert value_matches({"userName": nfd}, "userName", "josé@x.com")
    assert not value_matches({"userName": "strasse@x.com"}, "userName", "straße@x.com")
    assert value_matches({"displayName": "Sales\u200b"}, "displayName", "sales")
    assert not value_matches({"externalId": "Ann"}, "externalId", "ann")
