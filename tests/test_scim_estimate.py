"""The estimate's arithmetic and wording, in one place for the CLI and the app."""

from __future__ import annotations

import pytest

from app.scim.estimate import (
    Estimate,
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
