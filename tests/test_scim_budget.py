"""The membership-change budget on a fake clock: spacing, threads, cancel, deadline, presets."""

from __future__ import annotations

import threading

import pytest

from app.core.errors import InputError
from app.scim.config.connections import ConnectionProfile, read_connections, write_connections
from app.scim.config.profiles import PROFILES, pacing_options
from app.scim.config.settings import SyncSettings
from app.scim.http.budget import BudgetDeadline, ChangeBudget
from app.scim.http.pacing import WaitCancelled


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def budget(clock: FakeClock, per_hour: float | None, **kwargs) -> ChangeBudget:
    return ChangeBudget(per_hour, clock=clock, sleep=clock.sleep, **kwargs)


def spend_times(b: ChangeBudget, clock: FakeClock, sizes: list[int]) -> list[float]:
    times = []
    for n in sizes:
        b.spend(n)
        times.append(clock.now)
    return times


def test_a_batch_of_100_under_1000_an_hour_is_followed_by_a_6_minute_wait():
    clock = FakeClock()
    b = budget(clock, 1000)
    times = spend_times(b, clock, [100, 100, 100, 1])
    assert times[0] == 1000.0  # the first request goes at once, never refused
    assert [t - times[0] for t in times] == pytest.approx([0, 360, 720, 1080])
    assert b.spent == 301 and b.waited == pytest.approx(1080)


def test_a_request_larger_than_the_hourly_budget_still_goes_and_the_next_pays_for_it():
    clock = FakeClock()
    b = budget(clock, 1000, deadline=24 * 3600)
    times = spend_times(b, clock, [5000, 10])
    assert times[1] - times[0] == pytest.approx(5 * 3600)


def test_idle_time_refills_the_debt_but_saves_up_no_burst():
    clock = FakeClock()
    b = budget(clock, 3600)  # one change a second
    b.spend(10)
    clock.now += 100  # long idle: the debt is paid, no credit beyond it
    start = clock.now
    times = spend_times(b, clock, [10, 10])
    assert times[0] == start and times[1] - start == pytest.approx(10)


def test_small_requests_are_spaced_by_their_own_size():
    clock = FakeClock()
    b = budget(clock, 3600)
    times = spend_times(b, clock, [1, 2, 3, 1])
    assert [t - times[0] for t in times] == pytest.approx([0, 1, 3, 6])


def test_the_seconds_the_budget_still_needs_count_the_debt_first():
    clock = FakeClock()
    b = budget(clock, 3600)
    assert b.seconds_for(50) == pytest.approx(50)
    b.spend(20)
    assert b.seconds_for(30) == pytest.approx(50)
    clock.now += 5
    assert b.seconds_for(30) == pytest.approx(45)
    assert budget(clock, None).seconds_for(1000) == 0.0


def test_no_budget_never_waits_and_counts_what_was_spent():
    clock = FakeClock()
    b = budget(clock, None)
    assert spend_times(b, clock, [100] * 50) == [1000.0] * 50
    assert b.spent == 5000 and b.waited == 0


def test_workers_share_one_budget():
    """Four threads spending 10 each, 5 times, at 3,600 an hour: the 20 requests go one by one,
    10 seconds apart on the fake clock, and the balance is never overspent."""
    clock = FakeClock()
    b = budget(clock, 3600)
    sent: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            b.spend(10)
            with lock:
                sent.append(clock.now)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert b.spent == 200 and len(sent) == 20
    # Never more than the budget allows: the k-th request not before (k - 1) * 10 seconds.
    for k, at in enumerate(sorted(sent)):
        assert at - 1000.0 >= 10 * k - 1e-6


def test_cancel_ends_a_budget_wait_at_once():
    clock = FakeClock()
    cancelled = threading.Event()
    b = budget(clock, 1000, cancelled=cancelled.is_set)
    b.spend(100)  # the next one waits 6 minutes

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        cancelled.set()  # Ctrl-C, or the app's Cancel, during the wait

    b._sleep = sleep
    with pytest.raises(WaitCancelled):
        b.spend(100)
    assert clock.now - 1000.0 < 1.0 and b.spent == 100


def test_a_wait_past_the_deadline_stops_before_sending():
    clock = FakeClock()
    b = budget(clock, 1000, deadline=600.0)
    b.spend(100)  # free
    b.spend(100)  # after 360 s
    with pytest.raises(BudgetDeadline) as info:
        b.spend(100)  # would go at 720 s, past 600
    assert clock.now - 1000.0 == pytest.approx(360)
    assert b.spent == 200
    message = str(info.value)
    assert "membership-change budget" in message and "10 min deadline" in message
    assert message.startswith("not sent:") and "run the sync again later" in message


def test_the_github_preset_sets_1000_an_hour_and_an_explicit_option_wins():
    assert PROFILES["github"].max_changes_per_hour == 1000
    assert [p.name for p in PROFILES.values() if p.max_changes_per_hour] == ["github"]
    assert pacing_options("github")["max_changes_per_hour"] == 1000
    assert pacing_options("github", max_changes_per_hour=250)["max_changes_per_hour"] == 250
    assert pacing_options("slack")["max_changes_per_hour"] is None
    assert pacing_options(None, max_changes_per_hour=50)["max_changes_per_hour"] == 50


@pytest.mark.parametrize("value", [0, -5.0])
def test_settings_refuse_a_budget_not_above_zero(value):
    with pytest.raises(InputError, match="max changes per hour"):
        SyncSettings(url="https://x.example/scim", max_changes_per_hour=value)


def test_saved_connections_keep_the_budget_and_old_files_still_load(tmp_path):
    path = tmp_path / "connections.json"
    write_connections([ConnectionProfile("gh", "https://x", vendor="github")], path)
    assert read_connections(path)[0].sync_settings("t").max_changes_per_hour == 1000
    write_connections(
        [ConnectionProfile("gh", "https://x", vendor="github", max_changes_per_hour=400.0)], path
    )
    saved = read_connections(path)[0]
    assert saved.max_changes_per_hour == 400.0
    assert saved.sync_settings("t").max_changes_per_hour == 400.0  # wins over the preset
    # A file written before the budget existed, and one with a nonsense value.
    path.write_text(
        '{"format": "groupmap-connections", "version": 1, "connections": ['
        '{"name": "old", "url": "https://x", "vendor": "github", "max_rate": 0.5},'
        '{"name": "odd", "url": "https://y", "max_changes_per_hour": "lots"}]}',
        encoding="utf-8",
    )
    old, odd = read_connections(path)
    assert old.max_changes_per_hour == 0.0 and old.max_rate == 0.5
    assert old.sync_settings("t").max_changes_per_hour == 1000  # the preset's
    assert odd.max_changes_per_hour == 0.0 and odd.sync_settings("t").max_changes_per_hour is None


def test_a_refused_request_gives_its_changes_back():
    """A 4xx changed nothing: the halves of a split batch spend its changes once, not again."""
    clock = FakeClock()
    b = budget(clock, 3600)
    b.spend(100)  # refused whole, then split
    b.refund(100)
    times = spend_times(b, clock, [50, 50])
    assert [t - 1000.0 for t in times] == pytest.approx([0, 50])
    assert b.spent == 100


def test_waited_is_elapsed_time_not_a_sum_over_workers():
    """Four workers blocked together for the same minute waited a minute, not four."""
    clock = FakeClock()
    b = budget(clock, 3600)
    b.spend(60)
    b._waiting(+1)
    for _ in range(3):
        b._waiting(+1)
    clock.now += 60
    for _ in range(4):
        b._waiting(-1)
    assert b.waited == pytest.approx(60)


def test_the_last_request_needs_no_wait_of_its_own():
    """During the last batch the time left is 0, not one more batch's refill."""
    clock = FakeClock()
    b = budget(clock, 1000)
    b.spend(100)
    assert b.seconds_for(100, last=100) == pytest.approx(360)  # the debt of the batch sent
    b.spend(100)
    clock.now += 360
    assert b.seconds_for(0, last=100) == 0.0
    assert b.seconds_for(100, last=100) == pytest.approx(0)

