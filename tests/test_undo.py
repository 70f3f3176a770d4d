"""`groupmap undo` against the real scim2-server: the state before returns, later edits survive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.io.journal import find_run, list_runs
from app.scim.server import LocalScimServer
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.record import RunJournal
from app.scim.sync.undo import apply_undo, plan_undo
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users

GROUPS = ["Sales", "Engineering", "Ops"]
MAPPING = make_mapping({"sales": "Sales", "eng": "Engineering", "ops": "Ops"}, apply_existing=True)


def current(i: int) -> str:
    return ["Sales", "Engineering", ""][i % 3]


def users_moving():
    """Twelve users: Sales and Engineering swap, and a new group Ops is created."""
    return make_users(12, ["eng", "sales", "ops", "ops"], groups=current)


def sync(url, users, mapping=MAPPING, cancelled=None, **options):
    settings_ = SyncSettings(url, TOKEN, allow_mass_removal=True, **options)
    with fast_client(url) as client:
        state = read_server_state(client, users, mapping, settings_)
        plan = plan_sync(users, mapping, state, settings_)
        journal = RunJournal.begin(plan, settings_, mapping, ["users.csv"])
        result = execute(client, plan, settings_, cancelled=cancelled, journal=journal)
        if cancelled is None:
            journal.finish(result)
    return journal.run_id


def undo(url, *extra):
    return main(["undo", *extra, "--url", url, "--allow-mass-removal", "--json"])


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)


def test_sync_then_undo_restores_the_state_before(scim_server, capsys):
    users = users_moving()
    server = scim_server(users)
    before = server.dump()["groups"]
    run = sync(server.url, users)
    assert server.dump()["groups"] != before
    assert undo(server.url, str(run), "--delete-created-groups") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["undoes"] == run and out["left_as_is"] == [] and out["deleted_groups"] == ["Ops"]
    assert server.dump()["groups"] == before
    record = find_run(out["run"])
    assert record.mode == f"undo of run {run}" and record.status == "done"
    assert [op["op"] for op in record.ops].count("delete") == 1


def test_created_group_stays_empty_without_delete_flag(scim_server, capsys, tmp_path):
    users = users_moving()
    server = scim_server(users)
    before = server.dump()["groups"]
    run = sync(server.url, users)
    report = tmp_path / "undo.csv"
    assert undo(server.url, str(run), "--report", str(report)) == 0
    assert server.dump()["groups"] == {**before, "Ops": set()}
    rows = report.read_text("utf-8-sig").splitlines()
    assert rows[0].startswith("email,name,outcome") and len(rows) == 1 + 10  # users changed
    assert sum(",changed," in row for row in rows) == 10


def test_hand_edit_after_the_sync_survives_the_undo(scim_server, capsys):
    users = users_moving()
    server = scim_server(users)
    before = server.dump()["groups"]
    run = sync(server.url, users)
    # By hand: user00000 (added to Engineering by the sync) leaves it again; user00001
    # (removed from Engineering by the sync) is put back in it.
    with fast_client(server.url) as client:
        ids = {name: uid for uid, name in server.dump()["users"].items()}
        engineering = client.find_group("Engineering")["id"]
        client.modify_members(engineering, [ids["user00001@ex.com"]], [ids["user00000@ex.com"]])
    assert undo(server.url, str(run), "--delete-created-groups") == 0
    out = json.loads(capsys.readouterr().out)
    left = {(item["email"], item["group"], item["operation"]) for item in out["left_as_is"]}
    assert left == {
        ("user00000@ex.com", "Engineering", "add"),
        ("user00001@ex.com", "Engineering", "remove"),
    }
    after = server.dump()["groups"]
    assert "user00000@ex.com" not in after["Engineering"]  # the hand edit, kept
    assert "user00001@ex.com" in after["Engineering"]  # the hand edit, kept
    assert after["Sales"] == before["Sales"]
    assert after["Engineering"] - {"user00001@ex.com"} == before["Engineering"] - {
        "user00000@ex.com"
    } - {"user00001@ex.com"}


def test_undo_of_an_interrupted_run_reverts_what_reached_the_server(scim_server, capsys):
    users = make_users(40, ["sales", "eng"])
    server = scim_server(users, extra_groups={"Sales": [], "Engineering": []})
    before = server.dump()["groups"]
    writes = []

    def cancelled() -> bool:
        writes.append(1)
        return len(writes) > 3

    run = sync(server.url, users, batch_size=4, concurrency=1, cancelled=cancelled)
    assert find_run(run).status == "interrupted"
    assert 0 < sum(map(len, server.dump()["groups"].values())) < 40
    assert undo(server.url, str(run), "--delete-created-groups") == 0
    assert server.dump()["groups"] == before


def test_undo_is_journaled_and_can_be_undone(scim_server, capsys):
    users = users_moving()
    server = scim_server(users)
    run = sync(server.url, users)
    synced = server.dump()["groups"]
    assert undo(server.url, str(run)) == 0
    undo_run = json.loads(capsys.readouterr().out)["run"]
    assert undo(server.url, str(undo_run)) == 0
    assert server.dump()["groups"] == synced


def test_undo_dry_run_writes_nothing_and_guard_applies(scim_server, capsys):
    users = users_moving()
    server = scim_server(users)
    run = sync(server.url, users)
    synced = server.dump()["groups"]
    assert main(["undo", str(run), "--url", server.url, "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert f"Undo of run {run}" in shown
    assert "Stopped before writing anything" in shown  # the guard, shown in the dry run
    assert main(["undo", str(run), "--url", server.url]) == 2
    assert "--allow-mass-removal" in capsys.readouterr().err
    assert server.dump()["groups"] == synced
    assert list_runs()[-1].mode == f"undo of run {run}, dry run"


def test_undo_refuses_another_server_and_a_dry_run(scim_server, capsys):
    users = users_moving()
    server = scim_server(users)
    assert main(["undo", "7", "--url", server.url]) == 2
    assert "no run 7" in capsys.readouterr().err
    run = sync(server.url, users)
    assert main(["undo", str(run), "--url", "http://127.0.0.1:9/v2"]) == 2
    assert f"undo it with --url {server.url}" in capsys.readouterr().err
    dry = find_run(run).path.with_name(f"run-{run + 1:04d}.jsonl")
    dry.write_text(json.dumps({"type": "start", "url": server.url, "dry_run": True}) + "\n")
    assert main(["undo", str(run + 1), "--url", server.url]) == 2
    assert "was a dry run" in capsys.readouterr().err


memberships = st.lists(st.sets(st.sampled_from(GROUPS), max_size=2), min_size=3, max_size=8)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    current_groups=memberships,
    sources=st.lists(st.sampled_from(["sales", "eng", "ops", "other"]), min_size=8, max_size=8),
    multiple=st.booleans(),
    apply_existing=st.booleans(),
    stop_after=st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
)
def test_undo_restores_the_state_before_when_nothing_changed_since(
    current_groups, sources, multiple, apply_existing, stop_after
):
    """For any export, options and server state, and a sync run to the end or stopped after
    any number of writes (an interrupted run), undo brings back the state before."""
    n = len(current_groups)
    users = make_users(n, sources[:n], groups=lambda i: ";".join(sorted(current_groups[i])))
    mapping = make_mapping(
        {"sales": "Sales", "eng": "Engineering", "ops": "Ops"},
        multiple_groups=multiple,
        apply_existing=apply_existing,
        default_group="Ops" if multiple else "",
    )
    with LocalScimServer(users, token=TOKEN) as server:
        before = server.dump()["groups"]
        checks = []

        def cancelled() -> bool:
            checks.append(1)
            return len(checks) > stop_after

        run = sync(server.url, users, mapping, None if stop_after is None else cancelled)
        settings_ = SyncSettings(server.url, TOKEN, allow_mass_removal=True)
        with fast_client(server.url) as client:
            plan = plan_undo(client, find_run(run), settings_)
            assert plan.left_as_is == []
            result, _, _ = apply_undo(client, plan, settings_, delete_created_groups=True)
        assert result.ok
        assert server.dump()["groups"] == before


def settled(server) -> dict:
    """The server's groups once two reads 0.3 s apart agree."""
    last = server.dump()["groups"]
    while True:
        time.sleep(0.3)
        now = server.dump()["groups"]
        if now == last:
            return now
        last = now


def test_sigkilled_sync_journal_is_what_reached_the_server_and_undo_reverts_it(
    scim_server, tmp_path, journal_folder, capsys
):
    users = make_users(120, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    export = tmp_path / "users.csv"
    users.frame.rename(columns={"source": "Identity Provider Group"}).to_csv(export, index=False)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nsales,Sales\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    argv = ["sync", "--users", str(export), "--mapping", str(mapping), "--url", server.url]
    process = subprocess.Popen(
        [sys.executable, "-m", "app", *argv, "--batch-size", "1", "--concurrency", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = journal_folder / "run-0001.jsonl"

    def applied() -> int:
        text = journal.read_text() if journal.exists() else ""
        return text.count('"outcome": "applied"')

    try:
        deadline = time.monotonic() + 60
        while applied() < 5 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    run = find_run(1)
    journaled = {m["email"] for op in run.ops if op["outcome"] == "applied" for m in op["members"]}
    on_server = settled(server)["Sales"]  # a request in flight may still land after the kill
    assert run.status == "interrupted" and 5 <= len(journaled) < 120
    # Every journaled change reached the server; at most the one request in flight is missing.
    assert journaled <= on_server and len(on_server - journaled) <= 1
    # The request in flight has an intent and no answer: undo reads the group and reverts it too.
    assert len(run.unresolved()) <= 1
    assert undo(server.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == set()


def test_a_group_the_sync_adopted_is_never_deleted_by_undo(scim_server, capsys):
    users = make_users(4, ["ops"])
    server = scim_server(users)
    settings_ = SyncSettings(server.url, TOKEN)
    with fast_client(server.url) as client:
        state = read_server_state(client, users, MAPPING, settings_)
        plan = plan_sync(users, MAPPING, state, settings_)
        client.create_group("Ops", [])  # by hand, between the read and the write
        journal = RunJournal.begin(plan, settings_, MAPPING, ["users.csv"])
        journal.finish(execute(client, plan, settings_, journal=journal))
    (create,) = [op for op in find_run(1).ops if op["op"] == "create" and op["group"] == "Ops"]
    assert create["outcome"] == "adopted"
    assert undo(server.url, "1", "--delete-created-groups") == 0
    out = json.loads(capsys.readouterr().out)
    assert "Ops" not in out["deleted_groups"] and server.dump()["groups"]["Ops"] == set()


def test_ctrl_c_stops_an_undo_between_requests_and_a_rerun_finishes(
    scim_server, capsys, monkeypatch
):
    import contextlib
    import threading

    import app.cli.history as history
    import app.scim.sync.undo as undo_module

    users = users_moving()
    server = scim_server(users)
    before = server.dump()["groups"]
    run = sync(server.url, users)
    synced = server.dump()["groups"]
    pressed = threading.Event()

    @contextlib.contextmanager
    def ctrl_c(out):
        yield pressed

    real_plan_undo, real_ctrl_c = undo_module.plan_undo, history.ctrl_c_cancels

    def plan_then_press(*args, **kwargs):  # Ctrl-C right after the server was read
        planned = real_plan_undo(*args, **kwargs)
        pressed.set()
        return planned

    monkeypatch.setattr(history, "ctrl_c_cancels", ctrl_c)
    monkeypatch.setattr(undo_module, "plan_undo", plan_then_press)
    assert undo(server.url, str(run)) == 130
    assert "Run 'groupmap undo" in capsys.readouterr().err
    assert server.dump()["groups"] == synced  # stopped before its first write

    monkeypatch.setattr(history, "ctrl_c_cancels", real_ctrl_c)
    monkeypatch.setattr(undo_module, "plan_undo", real_plan_undo)
    assert undo(server.url, str(run)) == 0
    capsys.readouterr()
    assert {g: m for g, m in server.dump()["groups"].items() if m} == {
        g: m for g, m in before.items() if m
    }
