"""`groupmap sync` pacing options: presets and overrides, the estimate, Ctrl-C between requests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.cli import main
from app.io import read_mapping, read_users
from tests.scim_fixtures import TOKEN, expected_groups

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    values = ["sales", "eng", "ops", "legal"]
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"User {i},user{i:05d}@ex.com,active,{values[i % 4]}," for i in range(400)]
    (tmp_path / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "Value in Identity Provider,Group\nsales,Sales\neng,Engineering\nops,Ops\nlegal,Legal\n",
        encoding="utf-8",
    )
    return tmp_path / "users.csv", tmp_path / "mapping.csv"


def sync_args(inputs, url: str, *extra: str) -> list[str]:
    users, mapping = inputs
    return ["sync", "--users", str(users), "--mapping", str(mapping), "--url", url, *extra]


def test_dry_run_shows_the_estimate_at_the_presets_rate(scim_server, inputs, monkeypatch, capsys):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    server = scim_server(read_users([inputs[0]]))
    assert main(sync_args(inputs, server.url, "--dry-run", "--profile", "slack")) == 0
    out = capsys.readouterr().out
    # 4 groups of 100: one create each with its first 100 members.
    assert "Writing would take about 4 requests, about 1 second at 3 requests a second" in out
    assert (
        main(
            sync_args(
                inputs,
                server.url,
                "--dry-run",
                "--json",
                "--profile",
                "slack",
                "--batch-size",
                "10",
                "--max-rate",
                "20",
            )
        )
        == 0
    )
    estimate = json.loads(capsys.readouterr().out)["estimate"]
    assert estimate == {
        "requests": 40,
        "seconds": 2.0,
        "rate": 20.0,
        "rate_basis": "set",
        "changes": 400,
        "max_changes_per_hour": None,
        "bound": "requests",
    }
    assert not server.dump()["groups"]


def test_without_a_known_rate_the_estimate_says_it_is_assumed(
    scim_server, inputs, monkeypatch, capsys
):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    server = scim_server(read_users([inputs[0]]))
    assert main(sync_args(inputs, server.url, "--dry-run", "--batch-size", "10")) == 0
    out = capsys.readouterr().out
    assert "about 40 requests, about 8 seconds at 5 requests a second (assumed" in out


@pytest.mark.parametrize(
    "option", [["--max-rate", "0"], ["--deadline", "soon"], ["--profile", "nope"]]
)
def test_bad_pacing_options_exit_2(scim_server, inputs, monkeypatch, capsys, option):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    with pytest.raises(SystemExit) as info:
        code = main(sync_args(inputs, "http://127.0.0.1:9/v2", *option))
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and option[0] in err  # the one line names the option


def test_ctrl_c_stops_between_requests_and_a_rerun_converges(
    scim_server, fault_proxy, inputs, tmp_path
):
    users, mapping = read_users([inputs[0]]), read_mapping(inputs[1])
    server = scim_server(users)
    reached, interrupted = threading.Event(), threading.Event()

    def hold_the_6th_write(record):
        # Ctrl-C arrives while the 6th write is under way; that write then goes through.
        writes = sum(r.method in ("POST", "PATCH") for r in proxy.writes())
        if record.method in ("POST", "PATCH") and writes == 6 and not interrupted.is_set():
            reached.set()
            interrupted.wait(60)
        return None

    proxy = fault_proxy(server.url, refuse=hold_the_6th_write)
    command = [
        sys.executable,
        "-m",
        "app",
        *sync_args(inputs, proxy.url, "--batch-size", "5", "--concurrency", "1", "--json"),
    ]
    env = {**os.environ, "GROUPMAP_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert reached.wait(60), first.stderr.read() if first.poll() is not None else ""
    first.send_signal(signal.SIGINT)
    threading.Timer(0.5, interrupted.set).start()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    assert "Writing: about 80 requests" in err  # the estimate, before the first write
    assert "Stopping after the requests under way" in err
    assert "cancelled (Ctrl-C) between requests" in err and "Traceback" not in err
    assert json.loads(out)["cancelled"] is True
    assert len(proxy.writes()) == 6  # the one under way finished; no other was sent
    partial = sum(len(m) for m in server.dump()["groups"].values())
    assert 0 < partial < 400

    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["added"] == 400 - partial
    assert server.dump()["groups"] == expected_groups(users, mapping)


def test_apply_is_paced_like_sync(scim_server, rate_proxy, tmp_path, monkeypatch, capsys):
    """A saved plan applied at --max-rate below the server's limit is never refused."""
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    values = ["sales", "eng", "ops", "legal"]
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"User {i},user{i:05d}@ex.com,active,{values[i % 4]}," for i in range(80)]
    (tmp_path / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "Value in Identity Provider,Group\nsales,Sales\neng,Engineering\nops,Ops\nlegal,Legal\n",
        encoding="utf-8",
    )
    inputs = (tmp_path / "users.csv", tmp_path / "mapping.csv")
    users, mapping = read_users([inputs[0]]), read_mapping(inputs[1])
    server = scim_server(users)
    proxy = rate_proxy(server.url, rate=40.0, burst=2.0, mode="bare")
    plan = tmp_path / "plan.json"
    assert main(sync_args(inputs, proxy.url, "--dry-run", "--plan-out", str(plan))) == 0
    capsys.readouterr()
    refused_before = proxy.throttled  # the dry run met the limit unknown
    assert main(["apply", str(plan), "--json", "--max-rate", "30", "--deadline", "10m"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["added"] == 80 and summary["failed"] == 0 and not summary["cancelled"]
    assert summary["throttled"] == 0 and proxy.throttled == refused_before
    assert server.dump()["groups"] == expected_groups(users, mapping)


def test_undo_is_paced_like_sync(scim_server, rate_proxy, monkeypatch, capsys):
    from tests.test_undo import sync, users_moving

    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    users = users_moving()
    server = scim_server(users)
    before = server.dump()["groups"]
    proxy = rate_proxy(server.url, rate=40.0, burst=2.0, mode="retry_after")
    run = sync(proxy.url, users)
    refused_before = proxy.throttled
    argv = ["undo", str(run), "--url", proxy.url, "--allow-mass-removal", "--json"]
    assert main([*argv, "--delete-created-groups", "--max-rate", "30"]) == 0
    assert json.loads(capsys.readouterr().out)["undoes"] == run
    assert proxy.throttled == refused_before  # 30 a second stays under the proxy's 40
    assert server.dump()["groups"] == before
