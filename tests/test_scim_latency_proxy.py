"""The latency proxy (tests/scim_latency_proxy.py) adds its delay to every answer, in
parallel or one at a time, and forwards everything else unchanged."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.scim_fixtures import fast_client, make_users
from tests.scim_latency_proxy import LatencyProxy


@pytest.mark.parametrize("mode", ["answer", "serial"])
def test_every_answer_is_held_and_overlaps_only_in_answer_mode(scim_server, mode):
    server = scim_server(make_users(3, ["a"]))
    with (
        LatencyProxy(server.url, delay=0.5, mode=mode) as proxy,
        fast_client(proxy.url, timeout=10.0) as c,
        ThreadPoolExecutor(max_workers=4) as pool,
    ):
        found = list(pool.map(lambda _: len(c.list_users(["userName"])), range(4)))
    assert found == [3, 3, 3, 3]
    assert proxy.count("GET", "/Users") == 4
    if mode == "serial":
        assert proxy.most_held == 1
    else:  # four requests sent at once, each answer held half a second: they overlap
        assert proxy.most_held >= 2


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown mode 'jitter'"):
        LatencyProxy("http://127.0.0.1:1/v2", mode="jitter")
