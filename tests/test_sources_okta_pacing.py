"""Okta's rate limit when reading `--users okta:ATTRIBUTE` (the fake Okta of
tests/fake_idp.py, its per-minute window on the test's clock): the last tenth of the window
is spread to the reset, a 429 waits for X-Rate-Limit-Reset, and no wait passes the deadline."""

from __future__ import annotations

import pytest

from app.sources.errors import SourceError
from app.sources.okta import pace, read_okta
from tests.fake_idp import OKTA_TOKEN, FakeOkta, okta_user, started


def test_the_last_tenth_of_the_window_is_spread_to_the_reset(clock, servers):
    users = [okta_user(i, department="Sales") for i in range(24 * 200)]
    okta = started(servers, FakeOkta(users, OKTA_TOKEN, clock, rate_limit=20))
    start = clock.time()
    listed, _ = read_okta(OKTA_TOKEN, "department", okta.url)
    assert len(listed) == 4800 and len(okta.answered) == 25  # 24 pages, then the empty one
    assert {status for _, status in okta.answered} == {200}  # never over the limit
    # 18 at once; with 2 left of 20, one every 30 s until the window resets at +60 s
    assert clock.slept == [30.0, 30.0]
    times = [t - start for t, _ in okta.answered]
    assert times[17:20] == [0.0, 30.0, 60.0] and times[-1] == 60.0


def test_a_429_waits_for_the_reset_then_goes_on(clock, servers):
    users = [okta_user(i, department="Sales") for i in range(3)]
    okta = started(servers, FakeOkta(users, OKTA_TOKEN, clock, used_elsewhere=600))
    start = clock.time()
    listed, _ = read_okta(OKTA_TOKEN, "department", okta.url)
    assert len(listed) == 3
    assert [status for _, status in okta.answered] == [429, 200]
    assert clock.slept == [61.0]  # to X-Rate-Limit-Reset (+60 s), a second more for rounding
    assert okta.answered[1][0] - start >= 60


def test_no_wait_goes_past_the_deadline(clock, servers):
    users = [okta_user(i, department="Sales") for i in range(3)]
    okta = started(servers, FakeOkta(users, OKTA_TOKEN, clock, used_elsewhere=600))
    with pytest.raises(SourceError) as caught:
        read_okta(OKTA_TOKEN, "department", okta.url, deadline=30)
    message = str(caught.value)
    assert "past the deadline of 30 s" in message and "--deadline" in message
    assert OKTA_TOKEN not in message and len(message.splitlines()) == 1
    assert len(okta.answered) == 1 and clock.slept == []


@pytest.mark.parametrize("offset", [20 * 60.0, -20 * 60.0])
def test_the_wait_is_counted_on_oktas_clock_from_its_date(clock, servers, offset):
    """Okta's clock 20 minutes ahead (the local one behind) would ask 1,261 s, past the
    longest wait, and stop the read; 20 minutes behind, 1 s, and hit the limit again."""
    users = [okta_user(i, department="Sales") for i in range(3)]
    okta = started(servers, FakeOkta(users, OKTA_TOKEN, clock, used_elsewhere=600,
                                     date_offset=offset))
    listed, _ = read_okta(OKTA_TOKEN, "department", okta.url)
    assert len(listed) == 3
    assert [status for _, status in okta.answered] == [429, 200]
    assert clock.slept == [61.0]  # to the reset by Okta's Date, a second more for rounding


@pytest.mark.parametrize("date", [None, "not a date", "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_without_a_sane_date_the_local_clock_counts(date):
    import httpx

    headers = httpx.Headers({"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1800000030"})
    if date is not None:
        headers["Date"] = date
    assert pace(headers, 1_800_000_000.0) == 31.0


@pytest.mark.parametrize(("remaining", "limit", "wait"), [
    ("600", "600", 0.0),  # a fresh window
    ("61", "600", 0.0),  # just above a tenth
    ("60", "600", 0.5),  # a tenth left: 60 requests over the 30 s to the reset
    ("1", "600", 30.0),
    ("0", "600", 31.0),  # none left: the reset, and a second for its rounding
    ("1", None, 30.0),  # no limit given: only the last request is spaced
    ("2", None, 0.0),
])
def test_pace_spreads_what_is_left(remaining, limit, wait):
    import httpx

    headers = httpx.Headers({"X-Rate-Limit-Remaining": remaining,
                             "X-Rate-Limit-Reset": "1800000030"})
    if limit is not None:
        headers["X-Rate-Limit-Limit"] = limit
    assert pace(headers, 1_800_000_000.0) == wait
    assert pace(httpx.Headers({}), 1_800_000_000.0) == 0.0
