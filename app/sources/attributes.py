"""Which attributes a source actually holds: from its first page of users, each attribute
with a value, how many distinct values it has there and the commonest ones, so the admin
picks the attribute by what it holds (File ▸ Open from in the app)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from app.scim.http.client import ScimClient
from app.sources.entra import ALWAYS, GRAPH_URL, Graph, base_of, selection
from app.sources.entra import page_users as graph_users
from app.sources.http import SourceHttp
from app.sources.okta import PAGE_SIZE, Okta, auth_header
from app.sources.okta import page_users as okta_users
from app.sources.scim import values_at

SAMPLE = 3  # commonest values shown
SCIM_SKIP = {"id", "meta", "schemas", "password", "groups", "userName", "externalId", "emails",
             "phoneNumbers", "photos", "x509Certificates", "ims", "addresses"}
ENTRA_CANDIDATES = ("department", "jobTitle", "companyName", "officeLocation", "employeeType",
                    "userType", "usageLocation", "city", "country", "state")
OKTA_SKIP = {"profile.email", "profile.login", "profile.firstName", "profile.lastName",
             "profile.secondEmail", "profile.mobilePhone"}


@dataclass(frozen=True)
class AttributeChoice:
    path: str
    users: int  # users of the sample with a value
    distinct: int
    sample: tuple[str, ...]  # commonest first

    def describe(self, of: int) -> str:
        values = ", ".join(repr(v) for v in self.sample)
        return f"{self.distinct:,} distinct values in {self.users:,} of {of:,} users: {values}"


def choices(records: list[dict[str, Any]], paths: list[str],
            read: Callable[[dict[str, Any], str], list[str]]) -> list[AttributeChoice]:
    """Each path that has a value for some user, most users first."""
    found = []
    for path in paths:
        counts: Counter[str] = Counter()
        users = 0
        for record in records:
            values = read(record, path)
            users += bool(values)
            counts.update(values)
        if users:
            sample = tuple(v for v, _ in counts.most_common(SAMPLE))
            found.append(AttributeChoice(path, users, len(counts), sample))
    return sorted(found, key=lambda c: (-c.users, c.path))


def scim_paths(resource: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """The attribute paths of a SCIM resource: `title`, `name.familyName`, `roles.value`,
    `urn:...:enterprise:2.0:User:department`."""
    for key, value in resource.items():
        if not prefix and key in SCIM_SKIP:
            continue
        if not prefix and key.lower().startswith("urn:") and isinstance(value, dict):
            yield from scim_paths(value, f"{key}:")
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from (f"{path}.{sub}" for sub in value if not isinstance(value[sub], dict))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            yield from (f"{path}.{sub}" for sub in value[0] if sub in ("value", "display"))
        else:
            yield path


def sample_scim(client: ScimClient) -> tuple[int, list[AttributeChoice]]:
    """(users sampled, choices) from the first page of /Users, every attribute asked for."""
    page, _ = next(client.iter_pages("/Users"), ([], 0))
    paths = list(dict.fromkeys(p for resource in page for p in scim_paths(resource)))
    return len(page), choices(page, paths, values_at)


def sample_entra(token: str, graph_url: str = GRAPH_URL,
                 **http: Any) -> tuple[int, list[AttributeChoice]]:
    fields = ",".join((*ALWAYS, *ENTRA_CANDIDATES, "onPremisesExtensionAttributes"))
    base = base_of(graph_url)
    with SourceHttp(Graph(base), base, f"Bearer {token}", token, **http) as graph:
        page = graph.get(f"{graph.base_url}/v1.0/users", {"$select": fields, "$top": "999"})
        records = graph_users(page, graph.base_url)  # one page is the sample
    extensions = [f"onPremisesExtensionAttributes/extensionAttribute{n}" for n in range(1, 16)]
    paths = [*ENTRA_CANDIDATES, *extensions]
    return len(records), choices(records, paths, lambda r, p: selection(p)[1](r))


def sample_okta(token: str, org_url: str, **http: Any) -> tuple[int, list[AttributeChoice]]:
    with SourceHttp(Okta(), org_url, auth_header(token), token, **http) as okta:
        page = okta.get(f"{okta.base_url}/api/v1/users", {"limit": PAGE_SIZE})
        records = okta_users(page, okta.base_url)
    paths = list(dict.fromkeys(
        f"profile.{key}" for r in records for key in _profile(r)
        if f"profile.{key}" not in OKTA_SKIP
    ))
    return len(records), choices(records, paths, values_at)


def _profile(user: dict[str, Any]) -> dict[str, Any]:
    """An Okta user's profile; anything but an object (a hostile or broken answer) is none."""
    profile = user.get("profile")
    return profile if isinstance(profile, dict) else {}
