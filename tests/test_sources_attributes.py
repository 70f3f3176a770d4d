"""What a source holds, sampled from its first page: each attribute with a value, its number
of distinct values and the commonest ones (the app's attribute choice); and a read cancelled
between pages."""

from __future__ import annotations

import pytest

from app.scim.http.client import ScimClient
from app.sources.attributes import sample_entra, sample_okta, sample_scim
from app.sources.errors import SourceCancelled
from app.sources.okta import read_okta
from tests.fake_idp import (
    GRAPH_TOKEN,
    OKTA_TOKEN,
    FakeGraph,
    FakeOkta,
    graph_user,
    okta_user,
    started,
)
from tests.scim_fixtures import TOKEN
from tests.test_sources_scim import DEPARTMENT, add_user


def test_scim_sample_lists_the_attributes_users_carry(scim_server):
    url = scim_server().url
    for i, department in enumerate(["Sales", "Sales", "Engineering"]):
        add_user(url, f"u{i}@ex.com", department, title=f"T{i % 2}")
    with ScimClient(url, TOKEN) as client:
        sampled, found = sample_scim(client)
    assert sampled == 3
    by_path = {c.path: c for c in found}
    department = by_path[DEPARTMENT]
    assert (department.users, department.distinct, department.sample) == (
        3, 2, ("Sales", "Engineering"))
    assert by_path["title"].distinct == 2
    assert "userName" not in by_path and "id" not in by_path
    assert department.describe(3) == "2 distinct values in 3 of 3 users: 'Sales', 'Engineering'"


def test_entra_sample_selects_the_candidates_and_extension_attributes(clock, servers):
    users = [graph_user(i, department=["Sales", "Ops"][i % 2], jobTitle="Rep") for i in range(4)]
    users[0]["onPremisesExtensionAttributes"]["extensionAttribute3"] = "EMEA"
    graph = started(servers, FakeGraph(users, GRAPH_TOKEN, clock))
    sampled, found = sample_entra(GRAPH_TOKEN, graph.url)
    by_path = {c.path: c for c in found}
    assert sampled == 4 and by_path["department"].distinct == 2
    assert by_path["onPremisesExtensionAttributes/extensionAttribute3"].users == 1
    assert "companyName" not in by_path  # no user has one
    assert "department" in graph.requests[0]["query"]["$select"]


def test_okta_sample_lists_profile_properties(clock, servers):
    users = [okta_user(i, department="Sales", costCenter=f"CC{i}") for i in range(3)]
    okta = started(servers, FakeOkta(users, OKTA_TOKEN, clock))
    _, found = sample_okta(OKTA_TOKEN, okta.url)
    by_path = {c.path: c for c in found}
    assert by_path["profile.department"].distinct == 1
    assert by_path["profile.costCenter"].distinct == 3
    assert "profile.email" not in by_path


def test_a_read_is_cancelled_between_pages(clock, servers):
    okta = started(servers, FakeOkta([okta_user(i) for i in range(450)], OKTA_TOKEN, clock))
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 1

    with pytest.raises(SourceCancelled):
        read_okta(OKTA_TOKEN, "department", okta.url, cancelled=cancelled)
    assert len(okta.requests) == 1
