"""Paging that ends (issue 25): lists without totalResults end at their first short page and
are bounded where nothing says how many to expect; pages out of order and capped member
lists still give the right final state on the server (tests/fake_scim.py, one misbehaviour
per mode)."""

from __future__ import annotations

import pytest

from app.scim.http.errors import ScimError
from app.scim.http.paging import UNTOLD_PAGES
from app.scim.sync import SyncSettings, read_server_state
from tests.scim_fixtures import TOKEN, fast_client, make_mapping
from tests.test_scim_hostile import export, seeded, sync

SALES_ENG = make_mapping({"sales": "Sales", "eng": "Eng"}, apply_existing=True)


def starts(fake, path: str) -> list[int]:
    return [int(r[2].get("startIndex", 1)) for r in fake.records if r[1] == path]


def test_a_list_without_totals_ends_at_its_first_short_page(fake_scim):
    fake = fake_scim("no_total")
    names = [f"u{i:03d}@x" for i in range(250)]
    ids = seeded(fake, names)
    sales = fake.add_group("Sales", [ids["u000@x"], ids["u001@x"]])
    rows = [(n, "sales" if i % 2 else "eng") for i, n in enumerate(names) if i % 2 or i > 200]
    plan, result = sync(fake.url, export(*rows), SALES_ENG)
    assert not result.failed and not plan.not_found
    assert starts(fake, "/Users")[:3] == [1, 101, 201]
    assert 251 not in starts(fake, "/Users")  # 201-250 was short: the last page, not asked on
    assert fake.members(sales) == {n for i, n in enumerate(names) if i % 2} | {"u000@x"}
    eng = fake.groups_named("Eng")[0]
    assert fake.members(eng) == {n for i, n in enumerate(names) if i % 2 == 0 and i > 200}


def test_a_group_list_paging_forever_without_totals_is_stopped(fake_scim):
    fake = fake_scim("endless_groups")
    seeded(fake, ["a@x", "b@x"])
    users = export(("a@x", "sales"), ("b@x", "eng"))
    with fast_client(fake.url) as client, pytest.raises(ScimError) as caught:
        read_server_state(client, users, SALES_ENG, SyncSettings(fake.url, TOKEN))
    message = str(caught.value)
    assert "GET /Groups" in message and fake.url in message
    assert "no totalResults (RFC 7644 requires it)" in message and "report it to" in message
    assert "\n" not in message
    assert len(starts(fake, "/Groups")) == UNTOLD_PAGES  # not the 10,000-page ceiling
    assert not fake.writes()


def test_group_pages_out_of_order_adopt_the_groups_on_late_pages(fake_scim):
    """350 groups, read 4 pages at once, the pages after the first two answering late: the
    managed groups on the last pages are found (not made again) and changed exactly."""
    fake = fake_scim("out_of_order", lag=0.3)
    ids = seeded(fake, ["a@x", "b@x", "c@x", "outsider@x"])
    for i in range(346):
        fake.add_group(f"Other {i:03d}")
    sales = fake.add_group("Sales", [ids["c@x"], ids["outsider@x"]])
    eng = fake.add_group("Eng", [ids["outsider@x"]])
    users = export(("a@x", "sales"), ("b@x", "sales"), ("c@x", "eng"))
    plan, result = sync(fake.url, users, SALES_ENG, concurrency=4)
    assert not result.failed and not plan.groups_to_create
    assert sorted(starts(fake, "/Groups"))[:4] == [1, 101, 201, 301]
    assert fake.groups_named("Sales") == [sales] and fake.groups_named("Eng") == [eng]
    assert fake.members(sales) == {"a@x", "b@x", "outsider@x"}
    assert fake.members(eng) == {"c@x", "outsider@x"}


@pytest.mark.parametrize("user_groups", [False, True])
def test_single_reads_capping_members_leave_the_server_right(fake_scim, user_groups):
    """GET /Groups/{id} shows 2 members, the list all of them: read singly, b (4th) would
    stay in Sales; the list is used and b moves."""
    fake = fake_scim("single_capped", cap=2, user_groups=user_groups)
    ids = seeded(fake, ["a@x", "b@x", "c@x", "outsider@x", "other@x"])
    sales = fake.add_group("Sales", [ids[n] for n in ("a@x", "outsider@x", "other@x", "b@x")])
    users = export(("a@x", "sales"), ("b@x", "eng"), ("c@x", "sales"))
    plan, result = sync(fake.url, users, SALES_ENG)
    assert not result.failed and not result.not_kept
    assert plan.state.groups_read_by == {"Sales": "list"}
    assert fake.members(sales) == {"a@x", "c@x", "outsider@x", "other@x"}
    assert fake.members(fake.groups_named("Eng")[0]) == {"b@x"}
