"""Reading the server at scale (issue 25): a resync that changes nothing.

The bundled server is seeded with every user already in its group. GroupMap's read (user
pages, the group list with members where trusted, a sample of single reads) is compared in
the same run with a sequential reader of the same pages (user pages, then group pages with
members: the least a no-op resync needs there) and with one read per managed group after
the group list without members (how GroupMap read groups before).
"""

from __future__ import annotations

import time

from app.core.mapping import Mapping, MappingRow, Options
from app.core.users import UserList
from app.scim.http.client import ScimClient
from app.scim.server import LocalScimServer
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state

TOKEN = "bench-token"
ATTRIBUTES = "id,userName,emails,externalId,groups"


def _placed(n_users: int, n_groups: int) -> tuple[UserList, Mapping]:
    users = UserList.from_records(
        {
            "email": f"user{i:06d}@bench.example",
            "name": f"User {i}",
            "status": "active",
            "source": f"value-{i % n_groups}",
            "groups": f"Group {i % n_groups}",
        }
        for i in range(n_users)
    )
    rows = tuple(MappingRow(f"value-{g}", f"Group {g}") for g in range(n_groups))
    return users, Mapping(rows, Options())


def _resync(url: str, users: UserList, mapping: Mapping) -> tuple[int, float, dict[str, int]]:
    settings = SyncSettings(url, TOKEN)
    started = time.perf_counter()
    with ScimClient(url, TOKEN) as client:
        state = read_server_state(client, users, mapping, settings)
        plan = plan_sync(users, mapping, state, settings)
        assert plan.is_empty, "the seeded server should need no change"
        result = execute(client, plan, settings)
    return result.requests, time.perf_counter() - started, result.requests_by_kind


def _sequential(url: str, members: bool) -> tuple[int, float]:
    """The same pages read one after another; without members, then one GET per group."""
    started = time.perf_counter()
    with ScimClient(url, TOKEN) as client:
        client.list_users(ATTRIBUTES.split(","))
        groups = client.list_groups(members=members)
        if not members:
            for group in groups:
                client.get_group(str(group["id"]))
        return client.request_count, time.perf_counter() - started


def resync_rows(quick: bool = False) -> list[tuple[str, str, str]]:
    sizes = [(2_000, 20)] if quick else [(20_000, 100), (100_000, 1_000)]
    rows = []
    for n_users, n_groups in sizes:
        users, mapping = _placed(n_users, n_groups)
        with LocalScimServer(users, token=TOKEN) as server:
            least, least_s = _sequential(server.url, members=True)
            single, single_s = _sequential(server.url, members=False)
            ours, ours_s, kinds = _resync(server.url, users, mapping)
        label = f"no-op resync of {n_users:,} users in {n_groups:,} groups"
        shown = ", ".join(f"{k} {v}" for k, v in kinds.items())
        rows += [
            (
                f"{label}: requests",
                f"{ours:,} ({shown}); least {least:,}; one read per group {single:,}",
                "<= 1.1x least",
            ),
            (
                f"{label}: wall time",
                f"{ours_s:.1f} s; sequential reader {least_s:.1f} s; one read per group "
                f"{single_s:.1f} s",
                "<= sequential",
            ),
        ]
    return rows
