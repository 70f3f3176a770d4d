"""The bundled server's storage: scim2-server's InMemoryStorage with list pages that cost a page.

The stock storage sorts every resource of the searched types and deep-copies the page on each
search: reading 100,000 users page by page sorted all of them 100 times. This one keeps the
sorted order of an unfiltered search until the next write, and hands the page's stored
resources to the service without a copy. The answers stay the same byte for byte
(tests/test_scim_server_storage.py compares them with the stock storage's).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from scim2_models import Resource, ResourceType, SearchRequest
from scim2_server.memory import InMemoryStorage, _bounds, _position, _sort_key, utcnow
from scim2_server.storage import SearchPage

# (request model, searched types, sortBy, sortOrder): the requests that order resources alike.
OrderKey = tuple[type, tuple[str | None, ...], str | None, Any]
# Sort keys and resources, in the order a search with that OrderKey returns them.
Order = tuple[list[Any], list[Resource[Any]]]

MAX_ORDERS = 8  # distinct sortBy/sortOrder/type combinations kept; 100k users ~ 2 MB each


class ListingStorage(InMemoryStorage):
    """InMemoryStorage whose unfiltered searches reuse the sorted order until a write.

    Every write goes through `_store` or `_remove` (create, update, delete, the `resources`
    setter), which forget the orders. A search's page holds the stored resources themselves:
    the stock storage copies them so that a caller cannot change what is stored, but the only
    caller is scim2-server's handler, which passes the page to `ScimService.search_response`,
    whose `publish` deep-copies each resource before changing anything (its location and
    references), and the storage never changes a stored resource in place (a write stores a
    new object), so a page read outside the lock stays what was searched. Filtered searches
    and `get` are the stock ones.
    """

    def __init__(self, clock: Callable[[], datetime.datetime] = utcnow) -> None:
        super().__init__(clock)
        self._orders: dict[OrderKey, Order] = {}

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        if search_request.filter is not None:
            return super().search(resource_types, search_request, position=position)
        with self.lock:
            names = tuple(dict.fromkeys(rt.name for rt in resource_types))
            keys, found = self._order(names, search_request)
            return _page_of(search_request, position, keys, found)

    def _order(self, names: tuple[str | None, ...], search_request: SearchRequest[Any]) -> Order:
        """The sorted order of every resource of the types, as the stock `_page` sorts them."""
        sort_by = None if search_request.sort_by is None else str(search_request.sort_by)
        key: OrderKey = (type(search_request), names, sort_by, search_request.sort_order)
        order = self._orders.pop(key, None)  # back in last: the least recently read goes first
        if order is None:
            descending = (
                search_request.sort_by is not None
                and search_request.sort_order == SearchRequest.SortOrder.descending
            )
            pairs = sorted(
                (
                    (_sort_key(search_request, resource), resource)
                    for name in names
                    for resource in self._resources.get(name, {}).values()
                ),
                key=lambda pair: pair[0],
                reverse=descending,
            )
            order = ([k for k, _ in pairs], [resource for _, resource in pairs])
            if len(self._orders) >= MAX_ORDERS:
                del self._orders[next(iter(self._orders))]
        self._orders[key] = order
        return order

    def _store(self, resource: Resource[Any], values: dict[str, Any]) -> None:
        self._orders = {}
        super()._store(resource, values)

    def _remove(self, key: tuple[str | None, str]) -> None:
        self._orders = {}
        super()._remove(key)


def _page_of(
    search_request: SearchRequest[Any], position: Any, keys: list[Any], found: list[Any]
) -> SearchPage:
    """The page of a sorted order that the search asks for: scim2-server's `_page` after its
    sort, the same slices and cursor positions."""
    if search_request.cursor is None:
        start = search_request.start_index_0 or 0
        stop = None if search_request.count is None else start + search_request.count
        return SearchPage(len(found), found[start:stop])
    if search_request.count == 0:
        return SearchPage(len(found), [])
    descending = (
        search_request.sort_by is not None
        and search_request.sort_order == SearchRequest.SortOrder.descending
    )
    start, stop = _bounds(keys, position, search_request.count, descending)
    page = SearchPage(len(found), found[start:stop])
    if page.resources and stop < len(found):
        page.next = _position("next", keys[stop - 1])
    if page.resources and start > 0:
        page.previous = _position("previous", keys[start])
    return page

