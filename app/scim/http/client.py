"""A thin SCIM 2.0 client (RFC 7643/7644) on httpx: what GroupMap's sync needs, nothing more.

It reads /ServiceProviderConfig once and follows it (page size, filtering, PATCH or PUT),
pages lists until totalResults, checks filtered answers, creates groups with their first
members, and changes membership by delta in batches (app.scim.http.members). Every answer is read
through app.scim.http.answers, so a wrong JSON type is one clear error naming server and field.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable
from typing import Any

import httpx

from app.scim.http import answers
from app.scim.http.bulk import bulk_patch
from app.scim.http.errors import AuthError, ConnectError, ScimError, UnsafeWrite
from app.scim.http.features import Features
from app.scim.http.members import GroupWrites
from app.scim.http.pacing import RateLimiter
from app.scim.http.paging import PageWalk, walk_pages
from app.scim.http.protocol import (
    PATCH_SCHEMA,
    attribute_values,
    escape_filter_value,
    member_ids,
    resource_path,
    value_matches,
)
from app.scim.http.replace import Witness
from app.scim.http.transport import (
    MAX_RESPONSE_MB,
    REDACTED,
    REQUEST_DEADLINE,
    RequestEvent,
    Transport,
)

__all__ = [
    "AuthError",
    "ConnectError",
    "Features",
    "FilterIgnored",
    "RequestEvent",
    "ScimClient",
    "ScimError",
    "attribute_values",
    "escape_filter_value",
    "member_ids",
    "resource_path",
    "value_matches",
]

MAX_PAGES = 10_000  # a list walk that does not end by then is a server paging forever
CREATE_SETTLE = (1.0, 2.0, 4.0)  # seconds between look-ups after a create of unknown outcome


class FilterIgnored(ScimError):
    """The server answered a filter with resources that do not match it."""

    def __init__(self, detail: str) -> None:
        super().__init__(200, None, detail)


class ScimClient:
    """One connection to a service provider, safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        insecure_http: bool = False,
        timeout: float = 30.0,
        max_attempts: int = 5,
        on_request: Callable[[RequestEvent], None] | None = None,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        request_deadline: float = REQUEST_DEADLINE,
        max_response_mb: float = MAX_RESPONSE_MB,
        create_settle: tuple[float, ...] = CREATE_SETTLE,
        limiter: RateLimiter | None = None,
        page_size: int | None = None,
    ) -> None:
        self._t = Transport(
            base_url,
            token,
            insecure_http=insecure_http,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff=backoff,
            max_backoff=max_backoff,
            limiter=limiter,
            on_request=on_request,
            request_deadline=request_deadline,
            max_response_mb=max_response_mb,
        )
        self._page_size = page_size  # a vendor preset's page size, within the server's cap
        self._features: Features | None = None
        self._lock = threading.Lock()
        self.create_settle = tuple(create_settle)
        self.max_pages = MAX_PAGES
        self._groups = GroupWrites(self)  # create, PATCH/PUT, the removal shape learned

    def __repr__(self) -> str:
        token = REDACTED if self._t._token else None
        return f"ScimClient({self.base_url!r}, token={token!r})"

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._t.close()

    @property
    def base_url(self) -> str:
        return self._t.base_url

    @property
    def transport(self) -> Transport:
        return self._t

    @property
    def remove_style(self) -> str:
        """How members are removed on this server: "filter", "value" or "none" (see members)."""
        return self._groups.remove_style

    def create_group(self, name: str, members: list[str]) -> tuple[dict[str, Any], bool]:
        """(group, adopted): see GroupWrites.create_group."""
        return self._groups.create_group(name, members)

    def modify_members(
        self,
        group_id: str,
        add: list[str],
        remove: list[str],
        known_members: Iterable[str] | None = None,
        witness: Witness | None = None,
    ) -> object:
        """One membership change; see GroupWrites.modify_members."""
        return self._groups.modify_members(group_id, add, remove, known_members, witness)

    @property
    def request_count(self) -> int:
        return self._t.request_count

    def requests_by_kind(self) -> dict[str, int]:
        return self._t.requests_by_kind()

    @property
    def limiter(self) -> RateLimiter:
        return self._t.limiter

    def redact(self, text: str) -> str:
        return self._t.redact(text)

    def request(self, method: str, path: str, **kwargs: Any) -> object:
        """The decoded JSON body of a 2xx answer, or None for an empty one (204); unchecked:
        read it through app.scim.http.answers."""
        return self._body(method, path, self._t.send(method, path, **kwargs))

    def request_versioned(
        self, method: str, path: str, **kwargs: Any
    ) -> tuple[object, str | None]:
        """The decoded answer and the resource's version after it: its ETag, else meta.version."""
        response = self._t.send(method, path, **kwargs)
        body = self._body(method, path, response)
        meta = body.get("meta") if isinstance(body, dict) else None
        version = response.headers.get("ETag") or (
            meta.get("version") if isinstance(meta, dict) else None
        )
        return body, str(version) if version else None

    def where(self, method: str, path: str) -> str:
        """How errors name a request: the server and what was asked."""
        return f"{self.base_url}: {method} {path} answered"

    @staticmethod
    def _body(method: str, path: str, response: httpx.Response) -> object:
        """The JSON of a 2xx answer. A read answered otherwise (a web page at the wrong URL)
        is an error; a write answered so went through, and its answer is not needed."""
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            if method != "GET":
                return None
            kind = response.headers.get("Content-Type", "").split(";")[0] or "something else"
            raise ScimError(
                response.status_code,
                None,
                f"{method} {path} answered {kind}, not SCIM JSON: check that the URL is the "
                "SCIM base URL (e.g. https://example.com/scim/v2)",
            ) from None

    # --- discovery ------------------------------------------------------------------------

    def features(self) -> Features:
        """/ServiceProviderConfig, read once; a server without it gets cautious defaults."""
        with self._lock:
            if self._features is None:
                try:
                    config = self.request("GET", "/ServiceProviderConfig") or {}
                except ScimError as exc:
                    if exc.status not in (404, 501):
                        raise
                    config = {}
                where = self.where("GET", "/ServiceProviderConfig")
                self._features = Features.from_config({} if config is None else config, where)
            return self._features

    def page_size(self, wanted: int | None = None) -> int:
        cap = max(1, self.features().filter_max_results)
        return min(wanted or self._page_size or cap, cap)

    # --- reading --------------------------------------------------------------------------

    def iter_pages(
        self,
        endpoint: str,
        params: dict[str, Any] | None = None,
        page_size: int | None = None,
        expected: int = 0,
        parallel: int = 1,
        kind: str | None = None,
    ) -> Generator[tuple[list[dict[str, Any]], int]]:
        """(resources, totalResults) per page, by startIndex, until totalResults is reached.

        Pages may hold fewer than asked (servers cap them): the next startIndex follows what
        actually came back. An empty page ends the walk (where a server leaves totalResults
        out, the total is reported as what was seen so far). A page that only repeats what
        came before (a server ignoring startIndex), or a walk longer than the pages
        max(totalResults, expected) need twice plus 10, or `max_pages` (a server paging
        forever), is an error: ending quietly would report the users not read as "not found".
        `expected`: how many resources the caller knows of (the export's users), the bound
        where a server does not say its total. `parallel`: pages asked for at once once the
        total is known (app/scim/http/paging.py). `kind`: how the pages are counted.
        """
        where = self.where("GET", endpoint)

        def fetch(query: dict[str, Any]) -> object:
            return self.request("GET", endpoint, params=query, kind=kind)

        walk = PageWalk(fetch, where, params, self.page_size(page_size), expected, self.max_pages)
        return walk_pages(walk, parallel)

    def total_of(self, endpoint: str, params: dict[str, Any] | None = None) -> int | None:
        """How many resources the endpoint holds (totalResults of a one-item page), if said."""
        where = self.where("GET", endpoint)
        body = self.request("GET", endpoint, params=dict(params or {}, count=1)) or {}
        return answers.count(
            answers.as_object(body, where).get("totalResults"), where, "totalResults"
        )

    def list_resources(
        self,
        endpoint: str,
        params: dict[str, Any] | None = None,
        parallel: int = 1,
        kind: str | None = None,
    ) -> list[dict[str, Any]]:
        pages = self.iter_pages(endpoint, params, parallel=parallel, kind=kind)
        return [r for page, _ in pages for r in page]

    def list_users(self, attributes: Iterable[str] | None = None) -> list[dict[str, Any]]:
        params = {"attributes": ",".join(attributes)} if attributes else None
        return self.list_resources("/Users", params)

    def list_groups(
        self,
        members: bool = False,
        parallel: int = 1,
        kind: str | None = None,
        attributes: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every group; `attributes` asks for these by name (members returned on request)."""
        params = None if members else {"excludedAttributes": "members"}
        params = {"attributes": attributes} if attributes else params
        return self.list_resources("/Groups", params, parallel, kind)

    def search(
        self, endpoint: str, attribute: str, value: str, attributes: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Resources whose attribute equals value, as the server's filter answers them.

        The answer is checked: anything that does not match is dropped, and if the server
        returned several non-matching resources it ignored the filter (FilterIgnored).
        """
        params: dict[str, Any] = {
            "filter": f"{attribute} eq {escape_filter_value(value)}",
            "count": self.page_size(),
        }
        if attributes:
            params["attributes"] = ",".join(attributes)
        where = self.where("GET", endpoint)
        body = answers.as_object(self.request("GET", endpoint, params=params) or {}, where)
        resources = answers.objects(body.get("Resources"), where, "Resources")
        for resource in resources:
            answers.resource_id(resource, where, "Resources[].id")
        matching = [r for r in resources if value_matches(r, attribute, value)]
        total = answers.count(body.get("totalResults"), where, "totalResults", 0) or 0
        if len(resources) - len(matching) > 1 or total > max(len(resources), 1):
            raise FilterIgnored(f"{endpoint} answered filter on {attribute} with other resources")
        return matching

    def find_users(
        self, attribute: str, value: str, attributes: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Users whose attribute (userName, emails.value or externalId) equals value."""
        return self.search("/Users", attribute, value, attributes)

    def find_groups(self, display_name: str) -> list[dict[str, Any]]:
        """The groups with this displayName, compared case-insensitively (RFC 7643).

        By filter where the server offers one; a filter ignored or refused (400) is answered
        by listing and comparing here.
        """
        if self.features().filter:
            try:
                return self.search(
                    "/Groups", "displayName", display_name, ["id", "displayName", "meta"]
                )
            except FilterIgnored:
                pass
            except ScimError as exc:
                if exc.status != 400:
                    raise
        return [g for g in self.list_groups() if value_matches(g, "displayName", display_name)]

    def find_group(self, display_name: str) -> dict[str, Any] | None:
        """The one group spelled exactly so; several of them is an error, never a guess."""
        exact = [g for g in self.find_groups(display_name) if g.get("displayName") == display_name]
        if len(exact) > 1:
            ids = ", ".join(str(g.get("id")) for g in exact)
            raise UnsafeWrite(
                f"{self.base_url} has {len(exact)} groups named {display_name!r} (ids {ids}): "
                "GroupMap cannot tell which one the mapping means; delete or rename the extra "
                "ones on the server and run the sync again"
            )
        return exact[0] if exact else None

    def get_group(
        self, group_id: str, kind: str | None = None, attributes: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """The group with its members, and its version (ETag) for If-Match (kind: how the
        read is counted, e.g. "read_back"; attributes: asked by name, for a server that
        returns `members` on request only)."""
        path = resource_path("/Groups", group_id)
        params = {"attributes": attributes} if attributes else None
        response = self._t.send("GET", path, params=params, kind=kind)
        where = self.where("GET", path)
        body = answers.as_object(self._body("GET", path, response) or {}, where)
        meta = body.get("meta")
        meta = answers.as_object(meta, where, "meta") if meta is not None else {}
        version = response.headers.get("ETag") or meta.get("version")
        return body, str(version) if version else None

    # --- writing (group creation and membership: app.scim.http.members) -----------------------

    def bulk_patch(
        self, endpoint: str, patches: list[tuple[str, list[dict[str, Any]]]]
    ) -> list[ScimError | None]:
        """PATCH several resources in one POST /Bulk; see app.scim.http.bulk."""
        return bulk_patch(self, endpoint, patches)

    def patch_user(self, user_id: str, operations: list[dict[str, Any]]) -> object:
        """The server's answer as sent (checked by app.scim.sync.verify.error_in_body)."""
        return self.request(
            "PATCH",
            resource_path("/Users", user_id),
            json={"schemas": [PATCH_SCHEMA], "Operations": operations},
        )

