"""`--max-changes-per-hour` against the real scim2-server: the budget spaces the membership
writes of sync, apply and undo (on a fake clock), Ctrl-C ends its wait, the deadline stops it,
and the dry run's estimate says when the budget binds."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import pytest

import app.scim.http.budget as budget_module
from app.cli import main
from app.io import read_mapping, read_users
from tests.scim_fixtures import TOKEN, expected_groups

GROUPS = {"sales": "Sales", "eng": "Engineering", "ops": "Ops", "legal": "Legal"}


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    """400 users, 100 in each of 4 new groups."""
    values = list(GROUPS)
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"User {i},user{i:05d}@ex.com,active,{values[i % 4]}," for i in range(400)]
    (tmp_path / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = "".join(f"{value},{group}\n" for value, group in GROUPS.items())
    (tmp_path / "mapping.csv").write_text(f"Value in Identity Provider,Group\n{rows}", "utf-8")
    return tmp_path / "users.csv", tmp_path / "mapping.csv"


def sync_args(inputs, url: str, *extra: str) -> list[str]:
    users, mapping = inputs
    return ["sync", "--users", str(users), "--mapping", str(mapping), "--url", url, *extra]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.on_sleep = lambda: None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.on_sleep()


@pytest.fixture
def budgets(monkeypatch) -> tuple[FakeClock, list[budget_module.ChangeBudget]]:
    """Every ChangeBudget the commands make runs on one fake clock, and is kept to inspect."""
    clock, made = FakeClock(), []
    real = budget_module.ChangeBudget

    class OnFakeClock(real):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, clock=clock, sleep=clock.sleep, **kwargs)
            made.append(self)

    monkeypatch.setattr(budget_module, "ChangeBudget", OnFakeClock)
    monkeypatch.setattr("app.scim.sync.executor.ChangeBudget", OnFakeClock)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    return clock, made


def members(server) -> int:
    return sum(len(m) for m in server.dump()["groups"].values())


def test_a_sync_spends_the_budget_change_by_change(scim_server, inputs, budgets, capsys):
    """Batches of 50 under 1,000 changes an hour: 8 requests (a create and a PATCH per group),
    each after the one before has been paid for: 350 changes' worth, 21 minutes, of waiting."""
    clock, made = budgets
    users, mapping = read_users([inputs[0]]), read_mapping(inputs[1])
    server = scim_server(users)
    argv = sync_args(inputs, server.url, "--max-changes-per-hour", "1000", "--batch-size", "50",
                     "--concurrency", "1", "--json")
    assert main(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["added"] == 400 and summary["failed"] == 0
    assert summary["changes_sent"] == 400 and summary["budget_waited"] == pytest.approx(1260)
    (spent,) = made
    assert spent.spent == 400 and clock.now - 1000.0 == pytest.approx(350 * 3.6)
    assert server.dump()["groups"] == expected_groups(users, mapping)
    assert "Writing: about 8 requests (400 membership changes), about 24 minutes at 1,000 " \
        "membership changes an hour." in captured.err


def test_ctrl_c_during_a_budget_wait_stops_between_requests(scim_server, inputs, budgets,
                                                             capsys):
    clock, made = budgets
    server = scim_server(read_users([inputs[0]]))
    clock.on_sleep = lambda: signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # Ctrl-C
    argv = sync_args(inputs, server.url, "--max-changes-per-hour", "1000", "--batch-size", "50",
                     "--concurrency", "1", "--json")
    assert main(argv) == 130
    captured = capsys.readouterr()
    assert json.loads(captured.out)["cancelled"] is True
    assert "cancelled (Ctrl-C) between requests" in captured.err
    assert "Traceback" not in captured.err and "failed:" not in captured.err
    assert made[0].spent == 50 and clock.now - 1000.0 < 1.0  # the wait ended at once
    assert members(server) == 50  # the first create; nothing sent after the cancel


def test_a_budget_wait_past_the_deadline_fails_what_is_left_and_says_why(
    scim_server, inputs, budgets, capsys
):
    """Under 1,000 an hour with a 10 minute deadline: the requests at 0, 3, 6 and 9 minutes
    go, the rest would wait past it and are listed as failed, for a later run."""
    clock, _ = budgets
    server = scim_server(read_users([inputs[0]]))
    argv = sync_args(inputs, server.url, "--max-changes-per-hour", "1000", "--batch-size", "50",
                     "--concurrency", "1", "--deadline", "10m")
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "runs past the 10 min deadline, when the sync stops" in captured.out  # the estimate
    assert "would run past the 10 min deadline" in captured.err
    assert "Traceback" not in captured.err
    assert members(server) == 200
    assert clock.now - 1000.0 < 600


def test_the_dry_run_with_the_github_preset_shows_the_change_bound_estimate(
    scim_server, inputs, budgets, capsys
):
    server = scim_server(read_users([inputs[0]]))
    fast = ("--max-rate", "50")  # reads at GitHub's request rate would take a minute here
    assert main(sync_args(inputs, server.url, "--dry-run", "--profile", "github", *fast)) == 0
    out = capsys.readouterr().out
    assert (
        "Writing would take about 4 requests (400 membership changes), about 24 minutes at "
        "1,000 membership changes an hour (the preset's budget)." in out
    )
    assert main(sync_args(inputs, server.url, "--dry-run", "--json", "--profile", "github",
                          *fast, "--max-changes-per-hour", "100000000")) == 0
    estimate = json.loads(capsys.readouterr().out)["estimate"]
    assert estimate["max_changes_per_hour"] == 1e8 and estimate["bound"] == "requests"
    assert server.dump()["groups"] == {}


def test_apply_and_undo_spend_the_budget_too(scim_server, inputs, budgets, tmp_path, capsys):
    from app.io.journal import list_runs

    clock, made = budgets
    users, mapping = read_users([inputs[0]]), read_mapping(inputs[1])
    server = scim_server(users)
    plan = tmp_path / "plan.json"
    assert main(sync_args(inputs, server.url, "--dry-run", "--plan-out", str(plan))) == 0
    capsys.readouterr()
    assert main(["apply", str(plan), "--json", "--max-changes-per-hour", "2000"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["changes_sent"] == 400 and summary["budget_waited"] == pytest.approx(540)
    assert server.dump()["groups"] == expected_groups(users, mapping)

    run = list_runs()[-1].run_id  # the apply
    argv = ["undo", str(run), "--url", server.url, "--allow-mass-removal", "--json"]
    assert main([*argv, "--max-changes-per-hour", "3600"]) == 0
    capsys.readouterr()
    assert made[-1].per_hour == 3600 and made[-1].spent == 400
    assert members(server) == 0


@pytest.mark.parametrize("command", ["sync", "apply", "undo"])
def test_a_budget_not_above_zero_exits_2(command, inputs, capsys):
    argv = {
        "sync": sync_args(inputs, "http://127.0.0.1:9/v2"),
        "apply": ["apply", "plan.json"],
        "undo": ["undo", "1", "--url", "http://127.0.0.1:9/v2"],
    }[command]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--max-changes-per-hour", "0"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "is not a number of changes above 0" in err and "Traceback" not in err


def test_workers_of_one_sync_share_the_budget(scim_server, inputs, budgets, capsys):
    """Four workers, one budget: the 4 creates of 100 are spaced as if sent one by one."""
    clock, made = budgets
    lock = threading.Lock()
    sent: list[float] = []
    real_spend = budget_module.ChangeBudget.spend

    def spend(self, changes: int) -> None:
        real_spend(self, changes)
        with lock:
            sent.append(clock.now)

    server = scim_server(read_users([inputs[0]]))
    argv = sync_args(inputs, server.url, "--max-changes-per-hour", "3600", "--json")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(budget_module.ChangeBudget, "spend", spend)
        assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["changes_sent"] == 400
    assert made[0].spent == 400 and len(sent) == 4
    for k, at in enumerate(sorted(sent)):  # each 100 paid for before the next went
        assert at - 1000.0 >= 100 * k - 1e-6
