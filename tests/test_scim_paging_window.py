"""How many pages are under way (app/scim/http/paging.py's Window): as many as the server's
answers show help, within --concurrency, never fewer than two."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.scim.http.paging import Window


def serial(window: Window, service: float, pages: int) -> list[int]:
    """A server that answers one page at a time: each waits for those under way before it."""
    sizes = []
    for _ in range(pages):
        window.answered(service * window.size)
        sizes.append(window.size)
    return sizes


def test_a_server_answering_in_parallel_gets_every_page_asked_at_once():
    window = Window(4)
    for _ in range(5):
        window.answered(0.2)
    assert window.size == 4


def test_a_server_answering_one_page_at_a_time_gets_two():
    window = Window(8)
    window.answered(0.3)  # the first page, alone
    assert serial(window, 0.3, 20)[-5:] == [2] * 5


def test_a_server_slowing_down_under_load_gets_fewer():
    window = Window(4)
    for _ in range(3):
        window.answered(0.2)
    assert window.size == 4
    for _ in range(3):
        window.answered(0.2 * 4)  # four under way, each waiting for the others
    assert window.size == 2


def test_concurrency_one_stays_one():
    window = Window(1)
    for seconds in (0.1, 5.0, 0.01, 0.0):
        window.answered(seconds)
        assert window.size == 1


@given(st.integers(1, 64), st.lists(st.floats(0.0, 60.0), max_size=50))
def test_the_window_stays_within_its_bounds(most, answers):
    window = Window(most)
    for seconds in answers:
        window.answered(seconds)
        assert min(2, most) <= window.size <= most
