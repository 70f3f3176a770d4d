"""The bundled server's list pages at the cost of a page: scim2-server's InMemoryStorage and
ScimService with two shortcuts that change no answer.

The stock storage sorts every resource of the searched types and deep-copies the page on each
search (reading 100,000 users page by page sorted all of them 100 times); the stock service
deep-copies each listed resource again and looks up the model's reference attributes for each.
ListingStorage keeps the sorted order of an unfiltered search until the next write and hands
the page's stored resources to the service without a copy; ListingService publishes a resource
that holds no reference to rewrite (a user without groups or manager, a group whose members
have no $ref) as a shallow copy with its location. tests/test_scim_server_listing.py compares
every answer with the stock classes' byte for byte.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, cast, get_args

from scim2_models import Path, Reference, Resource, ResourceType, SearchRequest
from scim2_server.memory import InMemoryStorage, _bounds, _position, _sort_key, utcnow
from scim2_server.service import ScimService
from scim2_server.storage import SearchPage
from scim2_server.utils import parametrize

# (request model, searched types, sortBy, sortOrder): the requests that order resources alike.
OrderKey = tuple[type, tuple[str | None, ...], str | None, Any]
# Sort keys and resources, in the order a search with that OrderKey returns them.
Order = tuple[list[Any], list[Resource[Any]]]

MAX_ORDERS = 8  # sortBy/sortOrder/type combinations kept; each 8 to 15 MB at 100k users
# What reads, in a resource, an attribute whose entries hold references the service rewrites,
# and the name of the sub-attribute holding the reference in each entry.
Holder = tuple[Callable[[Resource[Any]], Any], str]


class ListingStorage(InMemoryStorage):
    """InMemoryStorage whose unfiltered searches reuse the sorted order until a write.

    Every write goes through `_store` or `_remove` (create, update, delete, the `resources`
    setter), which forget the orders. A search's page holds the stored resources themselves:
    the stock storage copies them so that a caller cannot change what is stored, but the only
    caller is scim2-server's handler, which passes the page to `ScimService.search_response`,
    whose `publish` copies each resource before changing anything (its location, and its
    references on a deep copy; see ListingService), and the storage never changes a stored
    resource in place (a write stores a new object), so a page read outside the lock stays
    what was searched. Filtered searches and `get` are the stock ones.
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



class ListingService(ScimService):
    """ScimService whose `publish` skips the deep copy when nothing in the resource changes.

    The stock `publish` deep-copies the resource, sets the copy's meta (a new object), then
    rewrites its relative references (`groups[].$ref`, `members[].$ref`, the enterprise
    `manager.$ref`) in place. A resource without any such reference is left as it is by that
    rewrite (a missing one is set to None again), so a shallow copy with the new meta is the
    same resource; every caller of `publish` only dumps it. The only write a dump makes is
    scim2-models marking each complex sub-attribute with its URN (`_attribute_urn`), a value
    fixed by the model and set before it is read on every dump, so the stored sub-attributes
    the copy shares are left as any dump would leave them. Any other resource, or a model
    with a reference attribute this does not know how to read, takes the stock path.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._holders: dict[type, list[Holder] | None] = {}

    def publish(self, base_url: str, resource: Resource[Any]) -> Resource[Any]:
        holders = self._holders_of(type(resource))
        if holders is None or any(_refers(read(resource), sub) for read, sub in holders):
            return super().publish(base_url, resource)
        assert resource.meta is not None
        assert resource.id is not None
        update: dict[str, Any] = {
            "location": self.resource_location(
                base_url, self.get_resource_type_of(resource), resource.id
            )
        }
        if not self.etag_supported:
            update["version"] = None
        published = resource.model_copy()
        published.meta = resource.meta.model_copy(update=update)
        return published

    def _holders_of(self, model: type[Resource[Any]]) -> list[Holder] | None:
        """The readers of the attributes holding references `_publish_references` rewrites,
        found as it finds them; None when one is not a sub-attribute of a core or extension
        attribute (publish then always takes the stock path)."""
        if model not in self._holders:
            holders: list[Holder] = []
            for path in parametrize(Path, model).iter_paths(target_type=[Reference]):
                binding = path.resolve()
                assert binding is not None
                target_type = cast(type[Reference[Any]], binding.target_type)
                reference_types = set(target_type.__reference_types__)
                if not reference_types or reference_types & {"external", "uri"}:
                    continue
                read = _reader(model, binding.model, binding.field_name)
                if binding.sub_field_name is None or read is None:
                    break
                holders.append((read, binding.sub_field_name))
            else:
                self._holders[model] = holders
                return holders
            self._holders[model] = None
        return self._holders[model]


def _refers(value: Any, sub: str) -> bool:
    """Whether an attribute's value (an entry, a list of them, or None) holds a reference in
    `sub`: `_publish_references` rewrites those, and sets the missing ones to None again."""
    entries = value if isinstance(value, list) else [value]
    return any(entry is not None and getattr(entry, sub, None) is not None for entry in entries)


def _reader(
    model: type[Resource[Any]], owner: type, field: str
) -> Callable[[Resource[Any]], Any] | None:
    """What reads `field` of a resource of `model`: the resource's own attribute, or its
    extension's (an extension is a field of the resource whose type is the extension)."""
    if owner is model or (issubclass(model, owner) and field in model.model_fields):
        return lambda resource: getattr(resource, field)
    for name, info in model.model_fields.items():
        if owner in (info.annotation, *get_args(info.annotation)):
            return lambda resource: getattr(getattr(resource, name), field, None)
    return None
