"""SCIM sync economy: 10,000 users placed into 50 groups on the local scim2-server.

GroupMap's sync (create with first members, PATCH batches of 100, 4 groups at once) beside a
baseline that creates the groups empty and sends one PATCH per membership change (also 4 at
once). Each side runs on a fresh server; figures are medians.

Paced: the sample and a 10,000-user sync through a token-bucket proxy at 3 requests a second
(burst 3), once answering 429 with Retry-After and once with bare 429s, the limit unknown to
GroupMap. 429s are a share of the requests admitted; wall time is a ratio to the least time
the limit allows for them, (admitted - burst) / rate.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.core.mapping import Mapping
from app.core.users import UserList
from app.scim.http.client import ScimClient
from app.scim.http.pacing import RateLimiter
from app.scim.server import LocalScimServer
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.verify import read_back
from tests.bench.reads_child import TOKEN, bench_inputs
from tests.scim_fixtures import expected_groups
from tests.scim_rate_proxy import RateLimitProxy


def _groupmap(users: UserList, mapping: Mapping) -> tuple[int, float, int]:
    with LocalScimServer(users, token=TOKEN) as server:
        started = time.perf_counter()
        settings = SyncSettings(server.url, TOKEN)
        with ScimClient(server.url, TOKEN) as client:
            state = read_server_state(client, users, mapping, settings)
            plan = plan_sync(users, mapping, state, settings)
            result = execute(client, plan, settings)
            elapsed = time.perf_counter() - started
        placed = sum(len(m) for m in server.dump()["groups"].values())
    return result.requests, elapsed, placed


def _baseline(users: UserList, mapping: Mapping) -> tuple[int, float, int]:
    """One PATCH per membership change, after listing users and creating empty groups."""
    with LocalScimServer(users, token=TOKEN) as server:
        started = time.perf_counter()
        with ScimClient(server.url, TOKEN) as client:
            ids = {u["userName"]: u["id"] for u in client.list_users(["userName"])}
            groups = {
                name: client.create_group(name, [])[0]["id"] for name in mapping.managed_groups()
            }
            target = {f"value-{g}": f"Group {g}" for g in range(len(groups))}
            changes = [
                (groups[target[source]], ids[email])
                for email, source in zip(users.frame["email"], users.frame["source"], strict=True)
            ]
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda c: client.modify_members(c[0], [c[1]], []), changes))
            elapsed = time.perf_counter() - started
            requests = client.request_count
        placed = sum(len(m) for m in server.dump()["groups"].values())
    return requests, elapsed, placed


PACED_RATE, PACED_BURST = 3.0, 3.0
SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample"


def _paced(users: UserList, mapping: Mapping, mode: str) -> tuple[float, float, bool]:
    """(429s per request admitted, wall / least time, exact) through the rate-limit proxy."""
    with LocalScimServer(users, token=TOKEN) as server:
        proxy = RateLimitProxy(server.url, rate=PACED_RATE, burst=PACED_BURST, mode=mode)
        proxy.start()
        try:
            settings = SyncSettings(proxy.url, TOKEN)
            started = time.perf_counter()
            with ScimClient(proxy.url, TOKEN, limiter=RateLimiter()) as client:
                state = read_server_state(client, users, mapping, settings)
                plan = plan_sync(users, mapping, state, settings)
                result = execute(client, plan, settings)
            elapsed = time.perf_counter() - started
        finally:
            proxy.stop()
        held = server.dump()["groups"]
    wanted = expected_groups(users, mapping)
    exact = not result.failed and all(
        held.get(g, set()) == wanted.get(g, set()) for g in mapping.managed_groups()
    )
    return proxy.throttled / proxy.admitted, elapsed / proxy.least_seconds(), exact


def paced_rows(quick: bool = False) -> list[tuple[str, str, str]]:
    from app.io import read_mapping, read_users

    sample_mapping = read_mapping(SAMPLE / "mapping.csv")
    sample = read_users(
        [SAMPLE / "users.csv"], source_column=sample_mapping.options.source_column
    )
    sizes = [("the sample (298 users)", sample, sample_mapping)]
    if not quick:
        sizes.append(("10,000 users, 50 groups", *bench_inputs(10_000, 50)))
    rows = []
    for label, users, mapping in sizes:
        for mode, name in (("retry_after", "Retry-After"), ("bare", "bare 429")):
            share, ratio, exact = _paced(users, mapping, mode)
            measure = f"paced sync of {label} at 3 req/s, {name}"
            rows.append(
                (
                    measure,
                    f"{'exact' if exact else 'NOT EXACT'}; 429s {share:.1%}; wall {ratio:.2f}x",
                    "exact; <= 10%; <= 1.1x",
                )
            )
    return rows


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    n_users, n_groups = (2_000, 10) if quick else (10_000, 50)
    users, mapping = bench_inputs(n_users, n_groups)
    ours = [_groupmap(users, mapping) for _ in range(3)]
    base = [_baseline(users, mapping) for _ in range(1 if not quick else 2)]
    assert all(placed == n_users for *_, placed in ours + base)
    our_requests = statistics.median(r for r, _, _ in ours)
    our_time = statistics.median(t for _, t, _ in ours)
    base_requests = statistics.median(r for r, _, _ in base)
    base_time = statistics.median(t for _, t, _ in base)
    label = f"sync {n_users:,} users into {n_groups} groups"
    return [
        (f"{label}: requests", f"{our_requests:,.0f} (baseline {base_requests:,.0f})", ""),
        (f"{label}: wall time", f"{our_time:.2f} s (baseline {base_time:.1f} s)", ""),
        (
            f"{label}: fewer requests than 1 PATCH/change",
            f"{base_requests / our_requests:.0f}x",
            ">= 10x",
        ),
        (f"{label}: less wall time than 1 PATCH/change", f"{base_time / our_time:.1f}x", ">= 5x"),
    ] + read_back_rows(users, mapping) + paced_rows(quick)


def _read_back(users: UserList, mapping: Mapping) -> tuple[int, float, float, int]:
    """A sync without verification, then the read-back alone: (requests, s, sync s, groups)."""
    with LocalScimServer(users, token=TOKEN) as server:
        settings = SyncSettings(server.url, TOKEN)
        with ScimClient(server.url, TOKEN) as client:
            started = time.perf_counter()
            state = read_server_state(client, users, mapping, settings)
            plan = plan_sync(users, mapping, state, settings)
            result = execute(client, plan, settings, verify=False)
            synced = time.perf_counter() - started
            before = client.request_count
            started = time.perf_counter()
            read_back(client, result, settings.concurrency)
            elapsed = time.perf_counter() - started
            assert not result.not_kept
            changed = sum(1 for members in result.done.values() if members)
            return client.request_count - before, elapsed, synced, changed


def read_back_rows(users: UserList, mapping: Mapping) -> list[tuple[str, str, str]]:
    """Verified writes' cost: one GET per changed group after the writes
    (app/scim/sync/verify.py)."""
    runs = [_read_back(users, mapping) for _ in range(3)]
    requests = statistics.median(r for r, _, _, _ in runs)
    elapsed = statistics.median(t for _, t, _, _ in runs)
    synced = statistics.median(s for _, _, s, _ in runs)
    groups = runs[0][3]
    label = f"read-back of {len(users):,} users in {groups} changed groups"
    return [
        (f"{label}: extra requests", f"{requests:,.0f}", f"<= {groups} (1 per changed group)"),
        (
            f"{label}: extra wall time",
            f"{elapsed:.2f} s ({elapsed / synced:.0%} of the sync's {synced:.2f} s)",
            "",
        ),
    ]
