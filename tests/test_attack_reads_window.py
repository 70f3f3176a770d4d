"""Attacks on the pages under way (Window and _ahead in app/scim/http/paging.py): hostile
pages arriving out of order, a walk stopped early, answer times a window could be driven
astray by. Each test asserts what must hold: the error, no thread left, no request after the
read ended, the pages asked for that were not needed, the window's bounds."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.core.users import UserList
from app.scim.http.errors import BadAnswer
from app.scim.http.paging import Window
from app.scim.sync import SyncSettings, read_server_state
from tests.attack_ahead import (
    MAPPING,
    ahead_client,
    in_groups,
    page_threads,
    stopped_after,
    users_with_one_missing,
)
from tests.scim_fixtures import TOKEN


def _late_first(pages: dict[str, float]):
    """A hook holding the user pages at these startIndexes: the pages after them arrive
    first (answers out of order)."""

    def hook(path: str, query: dict[str, str]) -> None:
        if path == "/Users":
            time.sleep(pages.get(query.get("startIndex", ""), 0.0))

    return hook


def _duplicate(path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    if path == "/Users" and query.get("startIndex") == "21":
        body["Resources"] = body["Resources"][:-1] + body["Resources"][:1]
    return body


def _repeat(path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    if path == "/Users" and query.get("startIndex") == "21":
        body["Resources"] = [dict(r) for r in _repeat.first]  # page 1 again
    elif path == "/Users" and query.get("startIndex") == "1":
        _repeat.first = body["Resources"]
    return body


def _empty(path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    if path == "/Users" and query.get("startIndex") == "21":
        body["Resources"] = []
    return body


def _endless(path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """Fresh made-up users on every page, and a total always one page further."""
    start = int(query.get("startIndex", "1"))
    if path == "/Users" and start > 1:
        body["Resources"] = [
            {"id": f"made-{start + i}", "userName": f"made{start + i}@ex.com"} for i in range(5)
        ]
        body["totalResults"] = start + 10
    return body


@pytest.mark.parametrize(
    ("mangle", "words"),
    [
        (_duplicate, "twice in one page"),
        (_repeat, "the same resources again at startIndex 21"),
        (_empty, "then an empty page, where totalResults said 30"),
        (_endless, "page after page"),
    ],
)
def test_hostile_pages_out_of_order_still_fail_safe(scim_server, counting_proxy, mangle, words):
    """A hostile user page among pages answered out of order (the ones before it held back,
    so it and those after arrive first), with the group list's first page asked for ahead:
    the same error as read one by one; no thread left, nothing asked for after it."""
    on_server, export = users_with_one_missing(30)
    server = scim_server(on_server)
    proxy = counting_proxy(server.url, mangle=mangle,
                           hook=_late_first({"11": 0.15, "16": 0.1}))
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with ahead_client(proxy.url, page_size=5) as client, pytest.raises(BadAnswer, match=words):
        read_server_state(client, export, MAPPING, settings)
    assert page_threads() == []
    assert stopped_after(proxy) == 0
    assert proxy.most <= 4
    assert sum(q["startIndex"] == "1" for q in proxy.group_lists()) <= 1
    one_by_one = SyncSettings(proxy.url, TOKEN, concurrency=1)
    with ahead_client(proxy.url, page_size=5) as client, pytest.raises(BadAnswer, match=words):
        read_server_state(client, export, MAPPING, one_by_one)


def test_a_walk_stopped_early_asked_for_fewer_than_concurrency_pages_it_did_not_need(
    scim_server, counting_proxy
):
    """Every export user on the second page of twelve: the walk stops there, having asked
    for fewer than --concurrency pages past it."""
    server = scim_server(in_groups(60))
    with ahead_client(server.url, page_size=5) as client:
        second = client.list_resources("/Users")[5:10]  # the second page of five
    export = UserList.of_emails([second[1]["userName"], second[3]["userName"]])
    proxy = counting_proxy(server.url, delay=0.05, quirks=frozenset({"no_filter"}))
    settings = SyncSettings(proxy.url, TOKEN, concurrency=4)
    with ahead_client(proxy.url, page_size=5) as client:
        state = read_server_state(client, export, MAPPING, settings)
    assert set(state.user_ids) == {second[1]["userName"], second[3]["userName"]}
    with proxy._lock:
        records = list(proxy.records)
    walk = records[:[r.path for r in records].index("/Groups")]  # the user walk's pages
    starts = [int(r.query["startIndex"]) for r in walk if r.path == "/Users"]
    assert 6 in starts and len([s for s in starts if s > 6]) < 4
    assert page_threads() == []


# --- the window of pages under way ---------------------------------------------------------


@pytest.mark.parametrize("first", [0.0, -1.0])
def test_window_ignores_zero_or_negative_durations(first):
    """A clock too coarse to time a fast answer (0 s; Windows' 15.6 ms tick) or running
    back must not pin the window at two for the walk: a server answering every page in
    the same time, in parallel, gets --concurrency pages under way."""
    window = Window(4)
    window.answered(first)
    for _ in range(5):
        window.answered(0.1)
    assert window.size == 4
    assert window.base == 0.1


@pytest.mark.parametrize("most", [1, 2, 3, 4, 8])
def test_window_stays_within_its_bounds_whatever_the_answers(most):
    """Answers taking wildly varying times (a microsecond to a minute, zero, negative, a
    huge first one): the window never goes below min(2, --concurrency), nor above it."""
    window = Window(most)
    times = [60.0, 1e-6, 0.0, -5.0, 30.0, 1e-9, 0.5, 120.0, 1e-3, 0.0, 7.0] * 5
    for seconds in times:
        window.answered(seconds)
        assert min(2, most) <= window.size <= most


