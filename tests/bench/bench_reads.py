"""Reading the server at scale (issue 25): a first sync and a no-op resync on the bundled
server, paced at 3 requests a second, and behind 200 ms of latency.

Each side runs in a child process (tests/bench/reads_child.py): GroupMap's sync, and a
sequential reader of the same pages (discovery, user pages, the group list with members),
the least requests the server allows for the reads. Peak RSS is the sync child's own.
Rows: first sync (group creation, reads, read-back), then the no-op resync on the same
server; the paced rows put tests/scim_rate_proxy.py in front (3 req/s, burst 3, Retry-After);
the latency rows tests/scim_latency_proxy.py (200 ms on every answer, pages of 100 users so
that the delay is not hidden under the bundled server's own time per page).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.scim.server import LocalScimServer
from tests.bench.reads_child import TOKEN, bench_inputs
from tests.scim_fixtures import expected_groups
from tests.scim_latency_proxy import LatencyProxy
from tests.scim_rate_proxy import RateLimitProxy

ROOT = Path(__file__).resolve().parents[2]
Row = tuple[str, str, str]


def child(mode: str, url: str, n_users: int = 0, n_groups: int = 0) -> dict[str, Any]:
    command = [sys.executable, "-m", "tests.bench.reads_child", mode, url]
    command += [str(n_users), str(n_groups)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"tests.bench.reads_child {mode} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def _kinds(side: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in side["kinds"].items())


def _exact(server: LocalScimServer, n_users: int, n_groups: int) -> str:
    users, mapping = bench_inputs(n_users, n_groups)
    held, wanted = server.dump()["groups"], expected_groups(users, mapping)
    same = all(held.get(g, set()) == wanted.get(g, set()) for g in mapping.managed_groups())
    return "exact" if same else "NOT EXACT"


def scale_rows(n_users: int, n_groups: int, rounds: int) -> tuple[list[Row], dict[str, float]]:
    """First sync and no-op resync rows (the resync and its sequential reader interleaved,
    `rounds` times: the machine's load moves between runs); the syncs' wall times."""
    users, _ = bench_inputs(n_users, n_groups)
    afters, agains = [], []
    with LocalScimServer(users, token=TOKEN) as server:
        server.freeze_seed()  # as `groupmap serve` does: its GC pauses are not the client's
        before = child("sequential", server.url)
        first = child("sync", server.url, n_users, n_groups)
        exact = _exact(server, n_users, n_groups)
        for _ in range(rounds):
            afters.append(child("sequential", server.url))
            agains.append(child("sync", server.url, n_users, n_groups))
    after, again = afters[0], agains[0]
    assert all(a["empty"] for a in agains), "the resync after the first sync changes nothing"
    ours = [a["seconds"] for a in agains]
    theirs = [a["seconds"] for a in afters]
    writes = first["kinds"].get("writes", 0)
    least_first = before["requests"] + writes + after["kinds"].get("group_pages", 0)
    seq_first = before["seconds"] + after["groups_seconds"]
    label = f"{n_users:,} users in {n_groups:,} groups"
    rows = [
        (
            f"first sync of {label}: requests",
            f"{first['requests']:,} ({_kinds(first)}); least {least_first:,} "
            f"({least_first - writes:,} reads + the same {writes:,} writes); "
            f"{first['requests'] / least_first:.2f}x",
            "<= 1.1x least",
        ),
        (
            f"first sync of {label}: wall time",
            f"{first['seconds']:.1f} s ({exact}{', failures' if first['failed'] else ''}): "
            f"reads and read-back {first['read_seconds'] + first['back_seconds']:.1f} s "
            f"(sequential reader of the same pages {seq_first:.1f} s), "
            f"plan {first['plan_seconds']:.1f} s, writes {first['write_seconds']:.1f} s",
            "reads <= sequential",
        ),
        (f"first sync of {label}: peak RSS", f"{first['peak_mb']:.0f} MB", ""),
        (
            f"no-op resync of {label}: requests",
            f"{again['requests']:,} ({_kinds(again)}); least {after['requests']:,}; "
            f"{again['requests'] / after['requests']:.2f}x",
            "<= 1.1x least",
        ),
        (
            f"no-op resync of {label}: wall time",
            f"{' / '.join(f'{t:.1f}' for t in ours)} s (of which the read "
            f"{' / '.join(f'{a["read_seconds"]:.1f}' for a in agains)} s); sequential reader "
            f"{' / '.join(f'{t:.1f}' for t in theirs)} s"
            + (" (runs interleaved)" if rounds > 1 else "")
            + f"; the read {sum(a['read_seconds'] for a in agains) / sum(theirs):.2f}x, the "
            f"whole resync {sum(ours) / sum(theirs):.2f}x",
            "<= sequential",
        ),
        (f"no-op resync of {label}: peak RSS", f"{max(a['peak_mb'] for a in agains):.0f} MB", ""),
    ]
    return rows, {"first": first["read_seconds"], "no-op": min(a["read_seconds"] for a in agains)}


def paced_rows(n_users: int, n_groups: int, unpaced: dict[str, float]) -> list[Row]:
    """The same syncs through a 3 req/s token bucket GroupMap is not told about. The least
    time for the requests a sync needs: its reads at the limit or as fast as the server
    answers them (the unpaced run's read, `unpaced`), whichever is slower, then its writes
    and read-back at the limit (the burst free); never below the limit's time for all."""
    users, _ = bench_inputs(n_users, n_groups)
    rows = []
    with LocalScimServer(users, token=TOKEN) as server:
        server.freeze_seed()  # as `groupmap serve` does: its GC pauses are not the client's
        for what in ("first", "no-op"):
            with RateLimitProxy(server.url, rate=3.0, burst=3.0, mode="retry_after") as proxy:
                side = child("sync", proxy.url, n_users, n_groups)
            exact = _exact(server, n_users, n_groups)
            if side["failed"]:
                exact += ", failures"
            kinds = side["kinds"]
            after_reads = kinds.get("writes", 0) + kinds.get("read_back", 0)
            reads = max(unpaced[what], (side["requests"] - after_reads) / 3.0)
            least = max(reads + max(0.0, after_reads - 3.0) / 3.0, proxy.least_seconds())
            rows.append(
                (
                    f"paced {what} sync of {n_users:,} users in {n_groups:,} groups at 3 req/s",
                    f"{exact}; {side['requests']:,} requests; 429s "
                    f"{proxy.throttled / proxy.admitted:.1%}; wall {side['seconds']:.1f} s, "
                    f"{side['seconds'] / least:.2f}x the least {least:.1f} s (reads unpaced "
                    f"{unpaced[what]:.1f} s, {after_reads:,} writes and read-back at the "
                    f"limit); the limit alone {proxy.least_seconds():.1f} s",
                    "exact; <= 10%; <= 1.1x",
                )
            )
    return rows


def latency_rows(n_users: int, n_groups: int) -> list[Row]:
    """GroupMap's no-op resync against a sequential reader, 200 ms added to every answer."""
    users, _ = bench_inputs(n_users, n_groups)
    with LocalScimServer(users, token=TOKEN) as server:
        server.freeze_seed()  # as `groupmap serve` does: its GC pauses are not the client's
        child("sync", server.url, n_users, n_groups)  # place everyone first, unproxied
        with LatencyProxy(server.url, delay=0.2, page_cap=100) as proxy:
            sequential = child("sequential", proxy.url)
            ours = child("sync", proxy.url, n_users, n_groups)
    assert ours["empty"], "the resync after the first sync should need no change"
    return [
        (
            f"no-op resync of {n_users:,} users in {n_groups:,} groups, 200 ms per answer, "
            "pages of 100",
            f"{ours['seconds']:.1f} s ({ours['requests']:,} requests); sequential reader "
            f"{sequential['seconds']:.1f} s ({sequential['requests']:,}); "
            f"{ours['seconds'] / sequential['seconds']:.2f}x",
            "<= 0.5x",
        )
    ]


def run(quick: bool = False) -> list[Row]:
    sizes = [(2_000, 20)] if quick else [(20_000, 100), (100_000, 1_000)]
    rows: list[Row] = []
    unpaced: dict[str, float] = {}
    for n_users, n_groups in sizes:
        scaled, times = scale_rows(n_users, n_groups, 1 if quick else 2)
        rows += scaled
        unpaced = unpaced or times
    rows += paced_rows(*sizes[0], unpaced)
    rows += latency_rows(*((1_000, 10) if quick else (10_000, 50)))
    return rows
