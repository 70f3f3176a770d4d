"""A thin SCIM 2.0 client (RFC 7643/7644) on httpx: what GroupMap's sync needs, nothing more.

It reads /ServiceProviderConfig once and follows it (page size, filtering, PATCH or PUT),
pages lists until totalResults, checks filtered answers, creates groups with their first
members, and changes membership by delta in batches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from app.scim.errors import AuthError, ConnectError, ScimError
from app.scim.pacing import RateLimiter
from app.scim.transport import REDACTED, RequestEvent, Transport

__all__ = [
    "AuthError",
    "ConnectError",
    "Features",
    "FilterIgnored",
    "RequestEvent",
    "ScimClient",
    "ScimError",
    "escape_filter_value",
]

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
DEFAULT_PAGE = 100


@dataclass(frozen=True)
class Features:
    """What the service provider advertises in /ServiceProviderConfig."""

    patch: bool = True
    bulk: bool = False
    bulk_max_operations: int = 0
    bulk_max_payload: int = 0
    filter: bool = True
    filter_max_results: int = DEFAULT_PAGE
    etag: bool = False
    sort: bool = False

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Features:
        def section(name: str) -> dict[str, Any]:
            value = config.get(name)
            return value if isinstance(value, dict) else {}

        bulk, flt = section("bulk"), section("filter")
        return cls(
            patch=bool(section("patch").get("supported", True)),
            bulk=bool(bulk.get("supported", False)),
            bulk_max_operations=int(bulk.get("maxOperations") or 0),
            bulk_max_payload=int(bulk.get("maxPayloadSize") or 0),
            filter=bool(flt.get("supported", False)),
            filter_max_results=int(flt.get("maxResults") or DEFAULT_PAGE),
            etag=bool(section("etag").get("supported", False)),
            sort=bool(section("sort").get("supported", False)),
        )


class FilterIgnored(ScimError):
    """The server answered a filter with resources that do not match it."""

    def __init__(self, detail: str) -> None:
        super().__init__(200, None, detail)


def escape_filter_value(value: str) -> str:
    """A filter string literal (RFC 7644 3.4.2.2 uses JSON strings): quotes and backslashes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def member_ids(group: dict[str, Any]) -> list[str]:
    members = group.get("members") or []
    return [str(m["value"]) for m in members if isinstance(m, dict) and m.get("value")]


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
        )
        self._page_size = page_size  # a vendor preset's page size, within the server's cap
        self._features: Features | None = None
        self._lock = threading.Lock()
        self.remove_style = "filter"  # or "value" (Entra style), learned from the server
        self._remove_style_known = False

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
    def request_count(self) -> int:
        return self._t.request_count

    @property
    def limiter(self) -> RateLimiter:
        return self._t.limiter

    def redact(self, text: str) -> str:
        return self._t.redact(text)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON body of a 2xx answer, or None for an empty one (204)."""
        return self._body(method, path, self._t.send(method, path, **kwargs))

    @staticmethod
    def _body(method: str, path: str, response: Any) -> Any:
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
                self._features = Features.from_config(config)
            return self._features

    def page_size(self, wanted: int | None = None) -> int:
        cap = max(1, self.features().filter_max_results)
        return min(wanted or self._page_size or cap, cap)

    # --- reading --------------------------------------------------------------------------

    def iter_pages(
        self, endpoint: str, params: dict[str, Any] | None = None, page_size: int | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], int]]:
        """(resources, totalResults) per page, by startIndex, until totalResults is reached.

        Pages may hold fewer than asked (servers cap them): the next startIndex follows what
        actually came back. A page with nothing new ends the walk, and so does an empty page
        where a server leaves totalResults out (reported then as what was seen so far).
        """
        count = self.page_size(page_size)
        start, seen = 1, set()
        while True:
            query = dict(params or {}, startIndex=start, count=count)
            body = self.request("GET", endpoint, params=query) or {}
            resources = [r for r in body.get("Resources") or [] if isinstance(r, dict)]
            fresh = [r for r in resources if r.get("id") not in seen]
            seen.update(r.get("id") for r in fresh)
            given = body.get("totalResults")
            total = int(given) if isinstance(given, int | str) and str(given).isdigit() else None
            yield fresh, total if total is not None else len(seen) + (count if fresh else 0)
            start += len(resources)
            if not fresh or (total is not None and len(seen) >= total):
                return

    def list_resources(
        self, endpoint: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return [r for page, _ in self.iter_pages(endpoint, params) for r in page]

    def list_users(self, attributes: Iterable[str] | None = None) -> list[dict[str, Any]]:
        params = {"attributes": ",".join(attributes)} if attributes else None
        return self.list_resources("/Users", params)

    def list_groups(self, members: bool = False) -> list[dict[str, Any]]:
        return self.list_resources(
            "/Groups", None if members else {"excludedAttributes": "members"}
        )

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
        body = self.request("GET", endpoint, params=params) or {}
        resources = [r for r in body.get("Resources") or [] if isinstance(r, dict)]
        matching = [r for r in resources if value_matches(r, attribute, value)]
        if len(resources) - len(matching) > 1 or int(body.get("totalResults") or 0) > max(
            len(resources), 1
        ):
            raise FilterIgnored(f"{endpoint} answered filter on {attribute} with other resources")
        return matching

    def find_users(self, attribute: str, value: str, attributes: Iterable[str] | None = None):
        """Users whose attribute (userName, emails.value or externalId) equals value."""
        return self.search("/Users", attribute, value, attributes)

    def find_group(self, display_name: str) -> dict[str, Any] | None:
        """The group with this displayName (exact spelling first, else case-insensitively)."""
        if self.features().filter:
            try:
                found = self.search(
                    "/Groups", "displayName", display_name, ["id", "displayName", "meta"]
                )
            except FilterIgnored:
                found = [
                    g for g in self.list_groups() if value_matches(g, "displayName", display_name)
                ]
        else:
            found = [g for g in self.list_groups() if value_matches(g, "displayName", display_name)]
        exact = [g for g in found if g.get("displayName") == display_name]
        return (exact or found or [None])[0]

    def get_group(self, group_id: str) -> tuple[dict[str, Any], str | None]:
        """The group with its members, and its version (ETag) for If-Match."""
        response = self._t.send("GET", f"/Groups/{group_id}")
        body = self._body("GET", f"/Groups/{group_id}", response) or {}
        version = response.headers.get("ETag") or (body.get("meta") or {}).get("version")
        return body, version

    # --- writing --------------------------------------------------------------------------

    def create_group(self, name: str, members: list[str]) -> tuple[dict[str, Any], bool]:
        """(group, adopted): POST /Groups with its first members.

        A 409 means the group exists (often: an earlier attempt went through): it is adopted.
        After an ambiguous failure (timeout, dropped connection, 5xx) the group is looked up
        before the create is repeated, so a retry never makes a duplicate.
        """
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in members],
        }
        attempt = 0
        while True:
            attempt += 1
            try:
                created = self.request("POST", "/Groups", json=body, retry_ambiguous=False)
            except ScimError as exc:
                ambiguous = (isinstance(exc, ConnectError) and exc.ambiguous) or exc.status >= 500
                if exc.status != 409 and not ambiguous:
                    raise
                existing = self.find_group(name)
                if existing is not None:
                    return existing, True
                if exc.status == 409 or attempt >= self._t.max_attempts:
                    raise
                self._t.wait_before_retry(attempt)
                continue
            if not created or "id" not in created:
                found = self.find_group(name)
                if found is None:
                    raise ScimError(201, None, f"created group {name!r} but cannot find it")
                return found, False
            return created, False

    def modify_members(
        self, group_id: str, add: list[str], remove: list[str]
    ) -> dict[str, Any] | None:
        """One PATCH adding and removing members (200 with a body or 204 without).

        Without PATCH support, the whole group is replaced with PUT and If-Match. A removal
        refused in one shape (RFC filter path, or Entra's value array) is tried in the other,
        and the shape that works is kept for this server.
        """
        if not self.features().patch:
            return self._replace_members(group_id, add, remove)
        style = self.remove_style
        try:
            return self._patch_members(group_id, add, remove, style)
        except ScimError as exc:
            if not remove or exc.status not in (400, 501):
                raise
            if exc.scim_type == "noTarget":
                # A member is already gone (a retried PATCH whose first answer was lost): the
                # shape works. Never switch shapes here: a literal server reads Entra's value
                # array as "remove every member".
                group, _ = self.get_group(group_id)
                still_there = [m for m in remove if m in set(member_ids(group))]
                if not add and not still_there:
                    return None
                return self._patch_members(group_id, add, still_there, style)
            # Another thread may have learned the server's shape while this PATCH was out.
            if self._remove_style_known and self.remove_style == style:
                raise
            other = "value" if style == "filter" else "filter"
            try:
                result = self._patch_members(group_id, add, remove, other)
            except ScimError:
                raise exc from None
            self.remove_style = other
            self._remove_style_known = True
            return result

    def _patch_members(
        self, group_id: str, add: list[str], remove: list[str], style: str
    ) -> dict[str, Any] | None:
        operations: list[dict[str, Any]] = []
        if add:
            operations.append(
                {"op": "add", "path": "members", "value": [{"value": m} for m in add]}
            )
        if remove and style == "filter":
            operations += [
                {"op": "remove", "path": f"members[value eq {escape_filter_value(m)}]"}
                for m in remove
            ]
        elif remove:
            operations.append(
                {"op": "remove", "path": "members", "value": [{"value": m} for m in remove]}
            )
        result = self.request(
            "PATCH",
            f"/Groups/{group_id}",
            json={"schemas": [PATCH_SCHEMA], "Operations": operations},
        )
        if remove:
            self._remove_style_known = True
        return result

    def _replace_members(self, group_id: str, add: list[str], remove: list[str]) -> dict[str, Any]:
        gone = set(remove)
        for attempt in range(1, self._t.max_attempts + 1):
            group, version = self.get_group(group_id)
            members = [m for m in member_ids(group) if m not in gone]
            members += [m for m in add if m not in set(members)]
            # Everything the server sent back except meta: a PUT replaces the whole resource,
            # so attributes this client does not know (extensions) must travel with it.
            body = {key: value for key, value in group.items() if key != "meta"}
            body.setdefault("schemas", [GROUP_SCHEMA])
            body["id"] = group_id
            body["members"] = [{"value": m} for m in members]
            headers = {"If-Match": version} if version else None
            try:
                return self.request("PUT", f"/Groups/{group_id}", json=body, headers=headers)
            except ScimError as exc:
                if exc.status != 412 or attempt >= self._t.max_attempts:
                    raise
        raise AssertionError("unreachable")

    def bulk_patch(
        self, endpoint: str, patches: list[tuple[str, list[dict[str, Any]]]]
    ) -> list[ScimError | None]:
        """PATCH several resources in one POST /Bulk; per patch, None or the server's error."""
        operations = [
            {
                "method": "PATCH",
                "bulkId": f"p{i}",
                "path": f"{endpoint}/{resource_id}",
                "data": {"schemas": [PATCH_SCHEMA], "Operations": ops},
            }
            for i, (resource_id, ops) in enumerate(patches)
        ]
        body = self.request(
            "POST", "/Bulk", json={"schemas": [BULK_SCHEMA], "Operations": operations}
        )
        answers = [a for a in (body or {}).get("Operations") or [] if isinstance(a, dict)]
        by_id = {a.get("bulkId"): a for a in answers if a.get("bulkId")}
        outcomes: list[ScimError | None] = []
        for i, operation in enumerate(operations):
            answer = by_id.get(operation["bulkId"]) or (answers[i] if i < len(answers) else None)
            if answer is None:
                outcomes.append(ScimError(0, None, "the bulk answer has no result for this user"))
                continue
            try:
                status = int(str(answer.get("status", "0")).split()[0])
            except ValueError:
                status = 0
            if 200 <= status < 300:
                outcomes.append(None)
                continue
            error = answer.get("response") if isinstance(answer.get("response"), dict) else {}
            detail = self.redact(str(error.get("detail") or ""))
            outcomes.append(ScimError(status, error.get("scimType"), detail))
        return outcomes

    def patch_user(self, user_id: str, operations: list[dict[str, Any]]) -> dict[str, Any] | None:
        return self.request(
            "PATCH", f"/Users/{user_id}", json={"schemas": [PATCH_SCHEMA], "Operations": operations}
        )


def attribute_values(resource: dict[str, Any], attribute: str) -> list[str]:
    """The values of userName, externalId, displayName or emails(.value) on a resource."""
    if attribute in ("emails", "emails.value"):
        return [
            str(e.get("value"))
            for e in resource.get("emails") or []
            if isinstance(e, dict) and e.get("value")
        ]
    value = resource.get(attribute)
    return [str(value)] if value not in (None, "") else []


def value_matches(resource: dict[str, Any], attribute: str, value: str) -> bool:
    """RFC 7643: userName, emails and displayName compare case-insensitively; externalId exactly."""
    values = attribute_values(resource, attribute)
    if attribute == "externalId":
        return value in values
    folded = value.casefold()
    return any(v.casefold() == folded for v in values)
