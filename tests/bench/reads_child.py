"""One side of a read bench row, run in a child process so that its peak memory and its
interpreter are its own (the bundled server and the proxies stay in the bench's process).

`python -m tests.bench.reads_child sequential|sync URL USERS GROUPS` prints one JSON object:
sequential reads the pages a sync needs one after another (discovery, user pages, the group
list with members); sync runs GroupMap's sync of the bench export (tests/bench/bench_reads.py)
with the read, the plan, the writes and the read-back timed apart.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from app.core.mapping import Mapping, MappingRow, Options
from app.core.users import UserList
from app.scim.http.client import ScimClient
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.verify import read_back

TOKEN = "bench-token"
ATTRIBUTES = ["id", "userName", "emails", "externalId", "groups"]


def bench_inputs(n_users: int, n_groups: int) -> tuple[UserList, Mapping]:
    """n_users export users spread evenly over n_groups values, one mapping row per group."""
    users = UserList.from_records(
        {
            "email": f"user{i:06d}@bench.example",
            "name": f"User {i}",
            "status": "active",
            "source": f"value-{i % n_groups}",
            "groups": "",
        }
        for i in range(n_users)
    )
    rows = tuple(MappingRow(f"value-{g}", f"Group {g}") for g in range(n_groups))
    return users, Mapping(rows, Options())


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: its own, not its parent's)."""
    with open("/proc/self/status") as status:
        return int(status.read().split("VmHWM:")[1].split()[0]) / 1024


def sequential(url: str) -> dict[str, Any]:
    with ScimClient(url, TOKEN) as client:
        started = time.perf_counter()
        client.features()
        client.list_users(ATTRIBUTES)
        users_done = time.perf_counter()
        client.list_groups(members=True)
        done = time.perf_counter()
        return {
            "requests": client.request_count,
            "kinds": client.requests_by_kind(),
            "seconds": done - started,
            "groups_seconds": done - users_done,
        }


def sync(url: str, n_users: int, n_groups: int) -> dict[str, Any]:
    users, mapping = bench_inputs(n_users, n_groups)
    settings = SyncSettings(url, TOKEN)
    with ScimClient(url, TOKEN) as client:
        started = time.perf_counter()
        state = read_server_state(client, users, mapping, settings)
        read = time.perf_counter()
        plan = plan_sync(users, mapping, state, settings)
        planned = time.perf_counter()
        result = execute(client, plan, settings, verify=False)
        written = time.perf_counter()
        read_back(client, result, settings.concurrency)
        done = time.perf_counter()
        return {
            "requests": client.request_count,
            "kinds": client.requests_by_kind(),
            "seconds": done - started,
            "read_seconds": read - started,
            "plan_seconds": planned - read,
            "write_seconds": written - planned,
            "back_seconds": done - written,
            "empty": plan.is_empty,
            "failed": bool(result.failed or result.not_kept or result.unverified),
            "judged": state.groups_judged,
            "peak_mb": peak_mb(),
        }


def main(argv: list[str]) -> int:
    mode, url = argv[0], argv[1]
    answer = sequential(url) if mode == "sequential" else sync(url, int(argv[2]), int(argv[3]))
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
