"""The bundled server (ListingStorage, ListingService) answers exactly as scim2-server's
stock classes (it is the tests' reference for SCIM semantics), while sorting once between
writes and publishing list pages without deep copies."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from scim2_models import EnterpriseUser, SearchRequest
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.utils import parametrize

from app.scim import server_listing
from app.scim.server import USER_URN, LocalScimServer
from app.scim.server_listing import ListingService, ListingStorage
from tests.scim_fixtures import TOKEN, make_users

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
TITLES = ["Sales", "sales", "Marketing", "", "Support-EMEA", "Sales", "zeta", "Alpha"]


def _ticking() -> Callable[[], datetime.datetime]:
    """A clock a second later at each write: both storages date their writes alike."""
    ticks = itertools.count()
    return lambda: START + datetime.timedelta(seconds=next(ticks))


class StockIds(InMemoryStorage):
    """The stock storage with counted identifiers, so that both servers hold the same ids."""

    def __init__(self) -> None:
        super().__init__(_ticking())
        self.ids = itertools.count(1)

    def generate_id(self, resource_type: Any, resource: Any) -> str:
        return f"{next(self.ids):08d}"


class ListingIds(ListingStorage):
    def __init__(self) -> None:
        super().__init__(_ticking())
        self.ids = itertools.count(1)

    def generate_id(self, resource_type: Any, resource: Any) -> str:
        return f"{next(self.ids):08d}"


def _server(storage: InMemoryStorage) -> LocalScimServer:
    """40 users in groups by their index (some in none), through the app's own seeding; the
    stock service beside the stock storage."""
    groups = ["Sales;Ops", "Marketing", "", "Ops"]
    service = ListingService if isinstance(storage, ListingStorage) else ScimService
    return LocalScimServer(make_users(40, ["x"], lambda i: groups[i % 4]), token=TOKEN,
                           storage=storage, service_class=service)


def _client(server: LocalScimServer) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=server.app), base_url="http://t/v2",
                        headers={"Authorization": f"Bearer {TOKEN}"})


READS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/Users", {}),
    ("GET", "/Users", {"count": 7, "startIndex": 1}),
    ("GET", "/Users", {"count": 7, "startIndex": 8}),
    ("GET", "/Users", {"count": 7, "startIndex": 1000}),
    ("GET", "/Users", {"count": 0}),
    ("GET", "/Users", {"startIndex": 40}),
    ("GET", "/Users", {"sortBy": "userName", "sortOrder": "descending", "count": 10}),
    ("GET", "/Users", {"sortBy": "title", "count": 15, "startIndex": 3}),
    ("GET", "/Users", {"sortBy": "title", "sortOrder": "descending"}),
    ("GET", "/Users", {"sortBy": "title", "sortOrder": "ascending", "count": 12}),
    ("GET", "/Users", {"sortBy": "emails", "count": 9, "startIndex": 30}),
    ("GET", "/Users", {"sortBy": "meta.lastModified", "sortOrder": "descending", "count": 5}),
    ("GET", "/Users", {"sortBy": "nosuchattribute", "count": 5}),
    ("GET", "/Users", {"attributes": "userName,title", "count": 5, "startIndex": 2}),
    ("GET", "/Users", {"attributes": "userName", "startIndex": 38}),
    ("GET", "/Users", {"excludedAttributes": ENTERPRISE_URN, "startIndex": 38}),
    ("GET", "/Users", {"attributes": "id,userName,emails,externalId,displayName,active,"
                                     "groups,title", "count": 20, "startIndex": 21}),
    ("GET", "/Users", {"excludedAttributes": "emails,groups", "startIndex": 4, "count": 6}),
    ("GET", "/Users", {"filter": 'title eq "Sales"'}),
    ("GET", "/Users", {"filter": 'title co "a"', "sortBy": "userName", "count": 4}),
    ("GET", "/Users", {"filter": 'userName eq "USER00003@ex.com"'}),
    ("GET", "/Groups", {}),
    ("GET", "/Groups", {"attributes": "displayName", "sortBy": "displayName"}),
    ("GET", "/Groups", {"excludedAttributes": "members", "count": 2, "startIndex": 2}),
    ("GET", "/Users/00000003", {}),
    ("POST", "/Users/.search", {"startIndex": 2, "count": 5, "sortBy": "displayName",
                                "attributes": ["userName", "title"]}),
    ("POST", "/.search", {"count": 30, "sortBy": "displayName"}),
    ("POST", "/.search", {"startIndex": 35, "count": 20}),
]


def _titles() -> list[tuple[str, str, dict[str, Any]]]:
    """Titles for most users (some left without): sortBy=title has case variants, ties and
    missing values to order."""
    return [("PATCH", f"/Users/{i:08d}", _patch("replace", "title", TITLES[i % len(TITLES)]))
            for i in range(1, 41) if TITLES[i % len(TITLES)]]


def _patch(op: str, path: str, value: Any) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": op, "path": path, "value": value}]}


def _writes() -> list[tuple[str, str, dict[str, Any]]]:
    """Writes between the reads: each changes what a sorted or paged list holds."""
    replace_title = _patch("replace", "title", "aardvark")
    put_user = {"schemas": [USER_URN], "id": "00000005", "userName": "user00004@ex.com",
                "displayName": "Renamed", "title": "Zulu", "active": False}
    new_user = {"schemas": [USER_URN], "userName": "new@ex.com", "title": "Sales"}
    managed = {"schemas": [USER_URN, ENTERPRISE_URN], "userName": "managed@ex.com",
               ENTERPRISE_URN: {"manager": {"value": "00000001", "$ref": "Users/00000001"},
                                "department": "Ops"}}
    return [
        ("PATCH", "/Users/00000007", replace_title),
        ("PUT", "/Users/00000005", put_user),
        ("POST", "/Users", new_user),
        ("POST", "/Users", new_user),  # 409: userName taken, nothing changes
        ("DELETE", "/Users/00000009", {}),
        ("PATCH", "/Groups/00000041", _patch("add", "members", [{"value": "00000003"}])),
        ("POST", "/Users", managed),  # a reference the service rewrites to its URL
        # an extension without references: a dump without it drops its URN from "schemas"
        ("POST", "/Users", {"schemas": [USER_URN, ENTERPRISE_URN], "userName": "ops@ex.com",
                            ENTERPRISE_URN: {"department": "Ops"}}),
        ("PATCH", "/Groups/00000042", _patch("add", "members", [
            {"value": "00000006", "$ref": "Users/00000006"}])),
        ("PATCH", "/Users/00000002", replace_title),
    ]


def _send(client: httpx.Client, method: str, path: str, data: dict[str, Any]) -> httpx.Response:
    if method == "GET":
        return client.get(path, params=data)
    if method == "DELETE":
        return client.delete(path)
    return client.request(method, path, json=data,
                          headers={"Content-Type": "application/scim+json"})


def test_every_answer_is_the_stock_servers_byte_for_byte_across_writes(monkeypatch):
    # every order READS sorts by is still kept at the next write, so the reads after it
    # would show a kept order that the write did not forget
    monkeypatch.setattr(server_listing, "MAX_ORDERS", 100)
    stock, listing = _server(StockIds()), _server(ListingIds())
    assert isinstance(listing.storage, ListingStorage)
    steps = [*_titles(), *READS, *(step for write in _writes() for step in (write, *READS))]
    with _client(stock) as expected_client, _client(listing) as actual_client:
        for method, path, data in steps:
            expected = _send(expected_client, method, path, data)
            actual = _send(actual_client, method, path, data)
            where = f"{method} {path} {data}"
            assert actual.status_code == expected.status_code, where
            assert actual.headers == expected.headers, where
            assert actual.content == expected.content, where
    # the sequence did read and write what it claims to
    titles = {a.get("title") for a in listing.dump()["attributes"].values()}
    assert {"aardvark", "Zulu", "Sales", "sales"} <= titles
    assert "user00008@ex.com" not in listing.dump()["users"].values()
    assert "new@ex.com" in listing.dump()["users"].values()
    assert "user00002@ex.com" in listing.dump()["groups"]["Sales"]
    with _client(listing) as client:
        managed = client.get("/Users", params={"filter": 'userName eq "managed@ex.com"'})
        ops = client.get("/Groups", params={"filter": 'displayName eq "Ops"'})
    manager = managed.json()["Resources"][0][ENTERPRISE_URN]["manager"]
    assert manager["$ref"] == "http://t/v2/Users/00000001"
    refs = {m.get("$ref") for m in ops.json()["Resources"][0]["members"]}
    assert "http://t/v2/Users/00000006" in refs


def _cursor_walk(storage: InMemoryStorage, server: LocalScimServer, sort: dict[str, Any],
                 write: Callable[[], None]) -> list[Any]:
    """Pages by cursor, forward then back, with a write halfway: ids and positions."""
    user_type = server.service.get_resource_type("User")
    model = parametrize(SearchRequest, server.service.get_model(user_type))
    request = model.model_validate({"cursor": "", "count": 6, **sort})
    seen: list[Any] = []
    position = None
    for step in range(20):
        page = storage.search([user_type], request, position=position)
        seen.append(([r.id for r in page.resources], page.total, page.next, page.previous))
        if step == 3:
            write()
        if page.next is None:
            break
        position = page.next
    position = seen[-1][3]
    while position is not None:
        page = storage.search([user_type], request, position=position)
        seen.append(([r.id for r in page.resources], page.total, page.next, page.previous))
        position = page.previous
    return seen


@pytest.mark.parametrize("sort", [{}, {"sort_by": "title"},
                                  {"sort_by": "title", "sort_order": "descending"}])
def test_cursor_pages_are_the_stock_storages(sort):
    walks = []
    for storage in (StockIds(), ListingIds()):
        server = _server(storage)
        with _client(server) as client:
            for method, path, data in _titles():
                _send(client, method, path, data)

            def write(client: httpx.Client = client) -> None:
                for method, path, data in _writes():
                    _send(client, method, path, data)

            walks.append(_cursor_walk(storage, server, sort, write))
    assert walks[0] == walks[1]
    assert len(walks[1]) > 10 and any(page[2] for page in walks[1])


def test_pages_sort_the_users_once_until_a_write(monkeypatch):
    server = _server(ListingIds())
    calls = []
    sort_value = SearchRequest.sort_value
    monkeypatch.setattr(SearchRequest, "sort_value",
                        lambda self, resource: calls.append(1) or sort_value(self, resource))
    with _client(server) as client:
        for start in (1, 11, 21, 31):
            assert client.get("/Users", params={"count": 10, "startIndex": start,
                                                "sortBy": "userName"}).status_code == 200
        assert len(calls) == 40  # the stock storage sorts the 40 users for each page: 160
        assert client.patch("/Users/00000004", json=_writes()[-1][2]).status_code == 204
        page = client.get("/Users", params={"count": 10, "sortBy": "title"}).json()
        assert len(calls) == 80
        assert page["Resources"][0]["title"] == "aardvark"


def test_a_page_hands_the_stored_users_to_the_service_without_a_copy():
    server = _server(ListingIds())
    user_type = server.service.get_resource_type("User")
    model = parametrize(SearchRequest, server.service.get_model(user_type))
    page = server.storage.search([user_type], model.model_validate({"count": 5}))
    stored = {id(resource) for resource in server.storage.resources}
    assert len(page.resources) == 5 and all(id(r) in stored for r in page.resources)
    # a filtered search and a single read still copy, as the stock storage does
    filtered = server.storage.search(
        [user_type], model.model_validate({"filter": 'userName eq "user00001@ex.com"'}))
    assert filtered.resources and id(filtered.resources[0]) not in stored


def test_orders_kept_are_bounded_and_the_least_recently_read_goes_first():
    server = _server(ListingIds())
    sorts = ["userName", "title", "displayName", "emails", "externalId", "active",
             "meta.created", "meta.lastModified", "nickName", "userType"]
    assert len(sorts) > server_listing.MAX_ORDERS
    with _client(server) as client:
        for sort_by in ["userName", *sorts, "userName"]:
            client.get("/Users", params={"sortBy": sort_by, "count": 1})
    kept = [key[2] for key in server.storage._orders]
    assert len(kept) == server_listing.MAX_ORDERS
    assert kept[-1] == "userName" and "title" not in kept  # read again: kept, last


def test_a_resource_without_references_is_published_without_a_deep_copy():
    server = _server(ListingIds())
    with _client(server) as client:
        for method, path, data in _writes():
            _send(client, method, path, data)
    stored = {r.user_name: r for r in server.storage.resources if hasattr(r, "user_name")}
    plain = server.service.publish("http://t/v2", stored["user00001@ex.com"])
    assert plain.meta.location == "http://t/v2/Users/00000002"
    assert plain.emails is stored["user00001@ex.com"].emails  # shared, never changed
    managed = stored["managed@ex.com"]
    published = server.service.publish("http://t/v2", managed)
    assert published[EnterpriseUser].manager.ref == "http://t/v2/Users/00000001"
    assert managed[EnterpriseUser].manager.ref == "Users/00000001"  # the stored one kept
    assert published.emails is not managed.emails or managed.emails is None
    groups = {g.display_name: g for g in server.storage.resources if hasattr(g, "members")}
    marketing = server.service.publish("http://t/v2", groups["Marketing"])
    assert marketing.members and marketing.members is groups["Marketing"].members  # no $ref
    ops = server.service.publish("http://t/v2", groups["Ops"])
    assert "http://t/v2/Users/00000006" in {m.ref for m in ops.members}
    assert "Users/00000006" in {m.ref for m in groups["Ops"].members}


def test_a_frozen_seed_is_out_of_the_collectors_way_until_the_server_stops():
    """freeze_seed (groupmap serve, the bench): the seeded directory is frozen (gc.freeze),
    the server answers as before, and stop() lifts the freeze."""
    import gc

    import httpx

    from app.scim.server import LocalScimServer
    from tests.scim_fixtures import make_users

    with LocalScimServer(make_users(5, ["a"]), token="t") as server:
        server.freeze_seed()
        assert gc.get_freeze_count() > 0
        answer = httpx.get(f"{server.url}/Users", headers={"Authorization": "Bearer t"})
        assert answer.json()["totalResults"] == 5
    assert gc.get_freeze_count() == 0
