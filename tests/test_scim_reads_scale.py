"""Reading the server at scale (issue 25): what the bench rows showed over target, fixed; the
server's final state asserted against the real scim2-server and a fake capping lists."""

from __future__ import annotations

from tests.scim_fixtures import expected_groups, make_mapping, make_users
from tests.scim_latency_proxy import LatencyProxy
from tests.test_scim_hostile import export, seeded, sync

VALUES = [f"v{i}" for i in range(8)]
MAPPING = make_mapping({v: f"Group {v}" for v in VALUES}, apply_existing=True)


def test_a_first_sync_reads_back_through_the_group_list(scim_server, fault_proxy):
    """No managed group existed, so nothing judged the list: it is read back anyway, and each
    created group it shows with every member added is verified without a read of its own."""
    users = make_users(80, VALUES)
    server = scim_server(users)
    proxy = fault_proxy(server.url)
    plan, result = sync(proxy.url, users, MAPPING)
    assert len(plan.groups_to_create) == 8
    assert not result.failed and not result.not_kept and not result.unverified
    assert result.verified
    assert result.requests_by_kind["read_back"] == 1  # one list page, not 8 single reads
    assert not [r for r in proxy.records if r.method == "GET" and r.path.startswith("/Groups/")]
    assert server.dump()["groups"] == expected_groups(users, MAPPING)


def test_a_first_sync_on_a_server_capping_its_list_reads_capped_groups_singly(fake_scim):
    """The list shows at most 2 members: the groups it shows whole are verified from it, the
    ones it caps are read on their own, and nothing is reported lost or unverified."""
    fake = fake_scim("list_capped", cap=2)
    names = [f"u{i}@x" for i in range(9)]
    seeded(fake, names)
    sources = ["sales"] * 5 + ["eng"] * 3 + ["ops"]
    users = export(*zip(names, sources, strict=True))
    mapping = make_mapping({"sales": "Sales", "eng": "Eng", "ops": "Ops"}, apply_existing=True)
    _, result = sync(fake.url, users, mapping)
    assert not result.failed and not result.not_kept and not result.unverified
    single = [r[1] for r in fake.records if r[0] == "GET" and r[1].startswith("/Groups/")]
    assert len(single) == 2 and result.requests_by_kind["read_back"] == 3
    assert {g: fake.members(fake.groups_named(g)[0]) for g in ("Sales", "Eng", "Ops")} == {
        "Sales": set(names[:5]),
        "Eng": set(names[5:8]),
        "Ops": {names[8]},
    }


def test_the_group_list_is_built_while_the_users_are_resolved(scim_server, monkeypatch):
    """groups_ahead: the group list's first page is asked for as the user pages end, before
    the export's users are resolved (the server builds it meanwhile), never beside a user
    page, and read once; the resync changes nothing."""
    import time

    from app.scim.sync import state

    users = make_users(60, VALUES)
    server = scim_server(users)
    sync(server.url, users, MAPPING)
    asked_before_resolving = []
    resolve = state.resolve_users

    def resolving(*args, **kwargs):
        until = time.monotonic() + 5
        while not [r for r in proxy.records if r.path == "/Groups"] and time.monotonic() < until:
            time.sleep(0.01)
        asked_before_resolving.append(bool([r for r in proxy.records if r.path == "/Groups"]))
        return resolve(*args, **kwargs)

    monkeypatch.setattr(state, "resolve_users", resolving)
    with LatencyProxy(server.url, delay=0.1, page_cap=10) as proxy:
        plan, result = sync(proxy.url, users, MAPPING, concurrency=2)
    assert plan.is_empty and not result.failed
    assert asked_before_resolving == [True]
    assert proxy.most_held <= 2
    assert [r.path for r in proxy.records if r.path == "/Groups"] == ["/Groups"]  # read once
    assert server.dump()["groups"] == expected_groups(users, MAPPING)
