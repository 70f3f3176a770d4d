"""Reliability: a sync through 20% injected faults, and a sync killed halfway then run again."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from tests.scim_fixtures import (
    TOKEN,
    expected_groups,
    fast_client,
    make_mapping,
    make_users,
)

ROOT = Path(__file__).resolve().parent.parent


def test_sync_through_20_percent_faults_is_exact(scim_server, fault_proxy):
    values = [f"team-{i}" for i in range(20)]
    # A fifth of the users start in the wrong group, so the sync adds, moves and removes.
    users = make_users(2000, values, groups=lambda i: f"G{(i + 1) % 20}" if i % 5 == 0 else "")
    mapping = make_mapping({v: f"G{i}" for i, v in enumerate(values)}, apply_existing=True)
    server = scim_server(users)
    before = {g: set(m) for g, m in server.dump()["groups"].items()}
    proxy = fault_proxy(
        server.url, fault_rate=0.2, seed=7, hang_seconds=3.5, retry_after="0", page_cap=250
    )
    settings = SyncSettings(proxy.url, TOKEN, batch_size=50, concurrency=4, max_removal_ratio=1.0)
    with fast_client(proxy.url, timeout=3.0, max_attempts=6) as client:
        state = read_server_state(client, users, mapping, settings)
        plan = plan_sync(users, mapping, state, settings)
        result = execute(client, plan, settings)

    kinds = {r.fault for r in proxy.records if r.fault}
    assert kinds == {"429", "500", "503", "hang", "reset", "truncate"}
    dump = server.dump()
    assert all(count == 1 for count in dump["group_counts"].values())  # no duplicate group
    want = expected_groups(users, mapping)
    unknown: set[tuple[str, str]] = set()  # no answer came: applied or not, only a read tells
    for failure in result.failed:  # what it could not do stays as it was, and is listed
        for email in failure.emails:
            if not failure.status:
                unknown.add((failure.group, email))
            elif failure.operation in ("add", "create"):
                want[failure.group].discard(email)
            elif email in before.get(failure.group, set()):
                want[failure.group].add(email)

    def settled(groups):
        kept = {g: {e for e in m if (g, e) not in unknown} for g, m in groups.items()}
        return {g: m for g, m in kept.items() if m}

    assert settled(dump["groups"]) == settled(want)
    assert result.to_json()["failed"] == sum(len(f.emails) or 1 for f in result.failed)
    assert result.requests >= proxy.count()  # a request on a connection the proxy dropped counts


def _write_inputs(
    tmp_path: Path, n: int, values: tuple[str, ...] = ("sales", "eng", "ops", "legal")
) -> tuple[Path, Path]:
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f'User {i},user{i:05d}@ex.com,active,"{values[i % len(values)]}",' for i in range(n)]
    users = tmp_path / "users.csv"
    users.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = tmp_path / "mapping.csv"
    mapping.write_text(
        "Value in Identity Provider,Group\nsales,Sales\neng,Engineering\nops,Ops\nlegal,Legal\n",
        encoding="utf-8",
    )
    return users, mapping


def _sync_command(users: Path, mapping: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "app",
        "sync",
        "--users",
        str(users),
        "--mapping",
        str(mapping),
        "--url",
        url,
        "--batch-size",
        "5",
        "--concurrency",
        "1",
        "--json",
        *extra,
    ]


def _kill_at_the_21st_write_then_rerun(scim_server, fault_proxy, users_file, mapping_file, *extra):
    """Run a sync, SIGKILL it while its 21st write is held, run it again: (partial, rerun
    report, server dump, users, mapping)."""
    from app.cli.common import add_mapping_options, load_inputs

    parser = argparse.ArgumentParser()
    add_mapping_options(parser)
    args = ["--users", str(users_file), "--mapping", str(mapping_file), *extra]
    users, mapping = load_inputs(parser.parse_args(args))
    server = scim_server(users)
    reached, killed = threading.Event(), threading.Event()

    def hold_the_21st_write(record):
        # The first run is killed while its 21st write waits here, whatever the machine's
        # speed; that write is then answered 503 and never reaches the server.
        writes = sum(r.method in ("POST", "PATCH") for r in proxy.writes())
        if record.method in ("POST", "PATCH") and writes > 20 and not killed.is_set():
            reached.set()
            killed.wait(60)
            return 503, "held"
        return None

    proxy = fault_proxy(server.url, refuse=hold_the_21st_write)
    env = {**os.environ, "GROUPMAP_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    command = _sync_command(users_file, mapping_file, proxy.url, *extra)
    first = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert reached.wait(60), first.stderr.read().decode() if first.poll() is not None else ""
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    killed.set()
    assert first.returncode == -signal.SIGKILL
    partial = sum(len(m) for m in server.dump()["groups"].values())

    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    return partial, json.loads(second.stdout), server.dump(), users, mapping


def test_sync_killed_halfway_converges_when_run_again(scim_server, fault_proxy, tmp_path):
    users_file, mapping_file = _write_inputs(tmp_path, 400)
    partial, report, dump, users, mapping = _kill_at_the_21st_write_then_rerun(
        scim_server, fault_proxy, users_file, mapping_file
    )
    assert 0 < partial < 400
    assert report["added"] == 400 - partial and report["failed"] == 0
    assert all(count == 1 for count in dump["group_counts"].values())
    assert dump["groups"] == expected_groups(users, mapping)


def test_multiple_groups_sync_killed_after_some_targets_gives_the_rest_when_run_again(
    scim_server, fault_proxy, tmp_path
):
    # Every user has two or three targets; the first run stops after some users got only
    # their first ones. Rule 6 must not read those users as "already in a group".
    users_file, mapping_file = _write_inputs(
        tmp_path, 120, values=("sales;eng", "eng;ops;legal", "ops;sales")
    )
    partial, report, dump, users, mapping = _kill_at_the_21st_write_then_rerun(
        scim_server, fault_proxy, users_file, mapping_file, "--multiple-groups", "--separator", ";"
    )
    expected = expected_groups(users, mapping)
    total = sum(len(m) for m in expected.values())
    assert 0 < partial < total
    assert report["added"] == total - partial and report["failed"] == 0
    assert all(count == 1 for count in dump["group_counts"].values())
    assert dump["groups"] == expected
