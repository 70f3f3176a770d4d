"""The estimate's arithmetic and wording, in one place for the CLI and the app."""

from __future__ import annotations

import pytest

from app.scim.sync.estimate import (
    Estimate,
    changes_rate_text,
    duration_text,
    rate_text,
    seconds_left,
    time_left_text,
)


def test_the_issue_example_reads_as_asked():
    text = Estimate(240, 1.0, "set").text()
    assert text == "about 240 requests, about 4 minutes at 1 request a second"


@pytest.mark.parametrize(
    "rate, text",
    [
        (1.0, "1 request a second"),
        (2.5, "2.5 requests a second"),
        (12.0, "12 requests a second"),
        (1000 / 3600, "17 requests a minute"),
        (5 / 30, "10 requests a minute"),
        (1 / 120, "30 requests an hour"),
    ],
)
def test_rates(rate, text):
    assert rate_text(rate) == text


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0.2, "about 1 second"),
        (40, "about 40 seconds"),
        (240, "about 4 minutes"),
        (3672, "about 61 minutes"),
        (7200, "about 2 hours"),
        (9000, "about 2.5 hours"),
        (3600 * 30, "about 30 hours"),
    ],
)
def test_durations(seconds, text):
    assert duration_text(seconds) == text


def test_an_assumed_rate_says_so_and_nothing_to_write_says_that():
    assert "(assumed:" in Estimate(10, 5.0, "assumed").text()
    assert Estimate(0, 5.0, "assumed").text() == "no write requests"


def test_time_left_takes_the_slower_of_the_limit_and_the_pace_so_far():
    assert seconds_left(10.0, 10, 20) == 10.0  # 1 s a request so far
    assert seconds_left(10.0, 10, 20, rate=0.5) == 20.0  # the limit is slower
    assert seconds_left(10.0, 10, 20, rate=100.0) == 10.0  # the server is slower
    assert seconds_left(0.1, 1, 20) is None  # too early to tell, no rate known
    assert time_left_text(1.0, 1, 3, rate=0.01, paused=5.0) == "about 3 min left"
    assert time_left_text(1.0, 5, 5) == ""


def test_a_change_budget_that_binds_says_so():
    """50 PATCH requests of 100 members under GitHub's 1,000 changes an hour: 5 hours, not
    the 3 minutes the request rate alone would take."""
    estimate = Estimate(50, 1000 / 3600, "set", changes=5000, changes_per_hour=1000)
    assert estimate.request_seconds == pytest.approx(180)
    assert estimate.seconds == pytest.approx(5 * 3600)
    assert estimate.bound == "changes"
    assert estimate.text() == (
        "about 50 requests (5,000 membership changes), about 5 hours at 1,000 membership "
        "changes an hour"
    )
    preset = Estimate(
        50, 1000 / 3600, "preset", changes=5000, changes_per_hour=1000, budget_basis="preset"
    )
    assert preset.text().endswith("an hour (the preset's budget)")
    assert preset.to_json() == {
        "requests": 50,
        "seconds": 18000.0,
        "rate": 0.2778,
        "rate_basis": "preset",
        "changes": 5000,
        "max_changes_per_hour": 1000,
        "bound": "changes",
    }


def test_a_budget_that_does_not_bind_leaves_the_request_wording():
    estimate = Estimate(240, 1.0, "set", changes=240, changes_per_hour=100_000)
    assert estimate.bound == "requests"
    assert estimate.seconds == pytest.approx(240)
    assert estimate.text() == "about 240 requests, about 4 minutes at 1 request a second"


def test_a_budget_past_the_deadline_warns_that_the_sync_stops_then():
    text = Estimate(50, 1.0, "set", changes=5000, changes_per_hour=1000, deadline=7200).text()
    assert text.startswith("about 50 requests (5,000 membership changes), about 5 hours")
    assert "runs past the 2 h deadline, when the sync stops" in text
    assert "deadline" not in Estimate(
        50, 1.0, "set", changes=500, changes_per_hour=1000, deadline=7200
    ).text()


@pytest.mark.parametrize(
    "per_hour, text",
    [
        (1000, "1,000 membership changes an hour"),
        (1, "1 membership change an hour"),
        (2.5, "2.5 membership changes an hour"),
    ],
)
def test_budget_rates(per_hour, text):
    assert changes_rate_text(per_hour) == text


def test_time_left_follows_the_budget_where_it_binds():
    assert seconds_left(10.0, 10, 20, rate=1.0, budget=3600.0) == 3600.0
    assert seconds_left(10.0, 10, 20, rate=1.0, budget=5.0) == 10.0  # the rate binds
    assert seconds_left(0.1, 1, 20, budget=120.0) == 120.0  # no pace yet, but a budget
    assert time_left_text(10.0, 10, 20, rate=1.0, budget=4 * 3600) == "about 4.0 h left"
