"""Sync rules against a real scim2-server on loopback (quirks and failures via the proxy)."""

from __future__ import annotations

import pandas as pd
import pytest

from app.core.engine import evaluate
from app.core.errors import InputError
from app.core.users import UserList
from app.scim.sync import (
    MassRemovalError,
    SyncCancelled,
    SyncSettings,
    execute,
    plan_sync,
    read_server_state,
    retry_failed,
)
from tests.scim_fixtures import (
    TOKEN,
    expected_groups,
    fast_client,
    make_mapping,
    make_users,
)

VALUES = ["sales", "eng", "ops"]
MAPPING = make_mapping({"sales": "Sales", "eng": "Engineering", "ops": "Operations"})


def sync(url, users, mapping, **options):
    """Read, plan and execute with a fast client; returns (plan, result, client requests)."""
    settings = SyncSettings(url, TOKEN, **options)
    with fast_client(url) as client:
        state = read_server_state(client, users, mapping, settings)
        plan = plan_sync(users, mapping, state, settings)
        result = execute(client, plan, settings)
    return plan, result


def test_sync_creates_groups_and_places_everyone(scim_server):
    users = make_users(30, VALUES)
    server = scim_server(users)
    plan, result = sync(server.url, users, MAPPING)
    assert sorted(plan.groups_to_create) == ["Engineering", "Operations", "Sales"]
    assert sorted(result.created_groups) == ["Engineering", "Operations", "Sales"]
    assert server.dump()["groups"] == expected_groups(users, MAPPING)
    assert result.to_json() == {
        "created_groups": result.to_json()["created_groups"],
        "added": 30,
        "removed": 0,
        "unchanged": 0,
        "not_found": 0,
        "failed": 0,
        "not_kept": 0,
        "requests": result.requests,
        "drift": 0,
        "left_alone": 0,
        "requests_by_kind": result.requests_by_kind,
        "groups_read": {"list": 0, "single": 0},  # every group new: nothing to read
    }
    report = result.report_frame()
    assert list(report["outcome"].unique()) == ["changed"]


def test_paging_over_capped_pages(scim_server, fault_proxy):
    users = make_users(230, VALUES)
    server = scim_server(users)
    proxy = fault_proxy(server.url, page_cap=50)
    sync(proxy.url, users, MAPPING)
    assert proxy.count("GET", "/Users") == 5
    assert server.dump()["groups"] == expected_groups(users, MAPPING)


def test_batches_and_request_economy(scim_server, fault_proxy):
    users = make_users(250, ["sales"])
    server = scim_server(users)
    proxy = fault_proxy(server.url)
    _, result = sync(proxy.url, users, MAPPING, batch_size=100)
    posts = [r for r in proxy.writes() if r.method == "POST"]
    patches = [r for r in proxy.writes() if r.method == "PATCH"]
    # Sales: one create with the first 100, then 2 PATCHes (100 + 50); the two empty groups.
    assert len(posts) == 3
    assert sorted(len(p.body.get("members", [])) for p in posts) == [0, 0, 100]
    assert sorted(len(p.body["Operations"][0]["value"]) for p in patches) == [50, 100]
    assert result.requests == proxy.count()
    # SPC, 1 page of users, 1 page of groups, 3 creates, 2 patches, 1 read-back of Sales
    assert proxy.count() == 9
    assert len(server.dump()["groups"]["Sales"]) == 250


def test_moves_and_removals_batched_into_one_patch(scim_server, fault_proxy):
    users = make_users(10, ["eng"], groups=lambda i: "Sales")
    server = scim_server(users)
    proxy = fault_proxy(server.url)
    plan, result = sync(
        proxy.url, users, MAPPING.with_options(apply_existing=True), max_removal_ratio=1.0
    )
    assert result.added == 10 and result.removed == 10
    patches = [r for r in proxy.writes() if r.method == "PATCH"]
    assert len(patches) == 1  # Sales loses 10 in one request
    assert server.dump()["groups"] == {
        "Engineering": {u for u in users.frame["email"]},
        "Sales": set(),
        "Operations": set(),
    }


@pytest.mark.parametrize(
    "quirk",
    [
        "patch_200",
        "post_ignores_members",
        "reject_filter_remove",
        "no_patch",
        "filter_ignored",
        "no_filter",
        "no_total",
    ],
)
def test_vendor_quirks_still_converge(scim_server, fault_proxy, quirk):
    users = make_users(40, VALUES, groups=lambda i: "Sales" if i % 2 else "")
    mapping = MAPPING.with_options(apply_existing=True)
    server = scim_server(users)
    proxy = fault_proxy(server.url, quirks=frozenset({quirk}), page_cap=50)
    _, result = sync(proxy.url, users, mapping, max_removal_ratio=1.0, batch_size=7)
    assert not result.failed
    assert server.dump()["groups"] == expected_groups(users, mapping)
    proxy.reset_records()
    plan, again = sync(proxy.url, users, mapping, max_removal_ratio=1.0, batch_size=7)
    assert plan.is_empty and not proxy.writes()


def test_filters_used_when_cheaper_and_checked(scim_server, fault_proxy):
    everyone = make_users(300, VALUES)
    server = scim_server(everyone)
    proxy = fault_proxy(server.url, page_cap=50)
    export = make_users(3, VALUES)
    settings = SyncSettings(proxy.url, TOKEN)
    with fast_client(proxy.url) as client:
        state = read_server_state(client, export, MAPPING, settings)
    assert state.read_by == "filter"
    assert len(state.user_ids) == 3
    filters = [r.query["filter"] for r in proxy.records if "filter" in r.query]
    # the first page (50 of 300), then one filter per export user it did not hold: never 6 pages
    assert proxy.count("GET", "/Users") == 1 + len(filters) <= 4
    assert all(f.startswith('userName eq "user0000') for f in filters)


def test_second_run_sends_no_change_request(scim_server, fault_proxy):
    users = make_users(60, VALUES)
    server = scim_server(users)
    sync(server.url, users, MAPPING)
    proxy = fault_proxy(server.url)
    plan, result = sync(proxy.url, users, MAPPING)
    assert plan.is_empty and not proxy.writes()
    assert result.unchanged == 60 and result.added == result.removed == 0


def test_unmanaged_groups_and_outsiders_untouched(scim_server):
    users = make_users(12, VALUES, groups=lambda i: "Sales")
    outsiders = make_users(3, ["x"], domain="outside.com")
    seed = pd.concat([users.frame, outsiders.frame], ignore_index=True)
    server = scim_server(
        UserList(seed),
        extra_groups={
            "Admins": ["user00001@ex.com", "user00000@outside.com"],
            "Sales": ["user00001@outside.com"],
        },
    )
    mapping = MAPPING.with_options(apply_existing=True)
    sync(server.url, users, mapping, max_removal_ratio=1.0)
    groups = server.dump()["groups"]
    assert groups["Admins"] == {"user00001@ex.com", "user00000@outside.com"}
    assert "user00001@outside.com" in groups["Sales"]
    assert "user00002@outside.com" not in set().union(*groups.values())
    expected = expected_groups(users, mapping)
    assert groups["Sales"] - {"user00001@outside.com"} == expected["Sales"]


def test_not_found_reported_not_created_and_drift(scim_server):
    on_server = make_users(5, VALUES, groups=lambda i: "Sales" if i == 0 else "")
    server = scim_server(on_server)
    export = make_users(7, VALUES)  # users 5 and 6 are not on the server; user 0 drifts
    plan, result = sync(server.url, export, MAPPING)
    assert result.not_found == ["user00005@ex.com", "user00006@ex.com"]
    assert [d.email for d in result.drift] == ["user00000@ex.com"]
    assert len(server.dump()["users"]) == 5
    report = result.report_frame().set_index("email")
    assert report.loc["user00006@ex.com", "outcome"] == "not found"


def test_mass_removal_guard_writes_nothing(scim_server, fault_proxy):
    users = make_users(20, ["unknown"], groups=lambda i: "Sales")  # a wrong source column
    server = scim_server(users)
    proxy = fault_proxy(server.url)
    mapping = MAPPING.with_options(apply_existing=True, default_group="Operations")
    settings = SyncSettings(proxy.url, TOKEN)
    with fast_client(proxy.url) as client:
        state = read_server_state(client, users, mapping, settings)
        plan = plan_sync(users, mapping, state, settings)
        assert plan.mass_removal and plan.removal_ratio == 1.0
        with pytest.raises(MassRemovalError, match="--allow-mass-removal"):
            execute(client, plan, settings)
    assert not proxy.writes()
    _, result = sync(proxy.url, users, mapping, allow_mass_removal=True)
    assert result.removed == 20
    assert server.dump()["groups"]["Sales"] == set()


def test_409_on_create_adopts_the_group(scim_server):
    users = make_users(6, ["sales"])
    server = scim_server(users)
    settings = SyncSettings(server.url, TOKEN)
    with fast_client(server.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        ids = list(state.user_ids.values())
        client.create_group("Sales", ids[:2])  # another writer gets there first
        result = execute(client, plan, settings)
    assert "Sales" in result.created_groups and not result.failed
    assert server.dump()["group_counts"]["Sales"] == 1
    assert len(server.dump()["groups"]["Sales"]) == 6


def test_failures_listed_with_reason_and_retried(scim_server, fault_proxy):
    users = make_users(30, VALUES)
    server = scim_server(users)
    refusing = {"on": True}

    def refuse(record):
        if refusing["on"] and record.method == "POST" and record.body["displayName"] == "Sales":
            return 400, "seat limit reached for Sales"
        return None

    proxy = fault_proxy(server.url, refuse=refuse)
    settings = SyncSettings(proxy.url, TOKEN)
    with fast_client(proxy.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        result = execute(client, plan, settings)
        assert [(f.group, f.operation, f.status) for f in result.failed] == [
            ("Sales", "create", 400)
        ]
        assert result.failed[0].reason.endswith("seat limit reached for Sales")
        assert result.to_json()["failed"] == 10
        report = result.report_frame()
        failed = report[report["outcome"] == "failed"]
        assert len(failed) == 10 and failed["reason"].str.contains("seat limit").all()
        refusing["on"] = False
    first_requests = proxy.count()
    with fast_client(proxy.url) as retry_client:  # as the app retries: a new client
        again = retry_failed(retry_client, result, settings)
    assert not again.failed and again.added == 30
    # Requests are cumulative like the counts: the first run's and the retry's.
    assert again.requests == result.requests + (proxy.count() - first_requests)
    assert server.dump()["groups"] == expected_groups(users, MAPPING)


def test_cancel_stops_between_requests_and_rerun_converges(scim_server):
    users = make_users(90, VALUES)
    server = scim_server(users)
    settings = SyncSettings(server.url, TOKEN, batch_size=10, concurrency=1)
    seen = []
    with fast_client(server.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        result = execute(
            client, plan, settings, progress=seen.append, cancelled=lambda: len(seen) >= 4
        )
    assert result.cancelled and not result.failed
    assert 0 < result.added < 90
    assert seen[-1].done == 4 and seen[-1].total == 9 and seen[-1].elapsed >= 0
    assert "not done" in set(result.report_frame()["outcome"])
    _, again = sync(server.url, users, MAPPING)
    assert again.added == 90 - result.added
    assert server.dump()["groups"] == expected_groups(users, MAPPING)


@pytest.mark.parametrize("bulk", [True, False])
def test_attribute_target(scim_server, fault_proxy, bulk):
    path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
    users = make_users(9, VALUES)
    server = scim_server(users)
    proxy = fault_proxy(server.url, quirks=frozenset() if bulk else frozenset({"no_bulk"}))
    plan, result = sync(proxy.url, users, MAPPING, target="attribute", attribute=path, batch_size=4)
    assert not any(r.path.startswith("/Groups") for r in proxy.records)
    departments = {
        name: data.get(path.rpartition(":")[0], {}).get("department")
        for name, data in server.dump()["attributes"].items()
    }
    evaluation = evaluate(users, MAPPING)
    assert departments == {
        email: evaluation.user_after(i)[0] for i, email in enumerate(users.frame["email"])
    }
    assert result.added == 9 and not result.failed
    writes = proxy.writes()
    if bulk:
        assert sorted((w.method, w.path, len(w.body["Operations"])) for w in writes) == [
            ("POST", "/Bulk", 1),
            ("POST", "/Bulk", 4),
            ("POST", "/Bulk", 4),
        ]
    else:
        assert [w.method for w in writes] == ["PATCH"] * 9
    proxy.reset_records()
    plan, _ = sync(proxy.url, users, MAPPING, target="attribute", attribute=path)
    assert plan.is_empty and not proxy.writes()
    with pytest.raises(InputError, match="one group per user"):
        sync(
            proxy.url,
            users,
            MAPPING.with_options(multiple_groups=True),
            target="attribute",
            attribute=path,
        )


def test_attribute_bulk_failures_listed_per_user(scim_server, fault_proxy):
    path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
    users = make_users(6, VALUES)
    server = scim_server(make_users(5, VALUES))  # user 5 is not on the server
    settings = SyncSettings(server.url, TOKEN, target="attribute", attribute=path)
    with fast_client(server.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        state.user_ids["user00004@ex.com"] = "gone"  # deleted between read and write
        result = execute(client, plan, settings)
    assert result.not_found == ["user00005@ex.com"]
    assert [(f.group, f.emails, f.status) for f in result.failed] == [
        ("Engineering", ["user00004@ex.com"], 404)
    ]
    assert result.added == 4


def test_refused_member_fails_alone_in_its_batch(scim_server, fault_proxy):
    users = make_users(40, ["sales"])
    server = scim_server(users)
    bad = {}

    def refuse(record):
        if record.method == "PATCH" and bad["id"] in str(record.body):
            return 400, "user is suspended"
        return None

    proxy = fault_proxy(server.url, refuse=refuse)
    settings = SyncSettings(proxy.url, TOKEN, batch_size=16)
    with fast_client(proxy.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        bad["id"] = state.user_ids["user00030@ex.com"]
        result = execute(client, plan_sync(users, MAPPING, state, settings), settings)
    assert [(f.operation, f.emails, f.status, f.reason) for f in result.failed] == [
        ("add", ["user00030@ex.com"], 400, "HTTP 400: user is suspended")
    ]
    assert result.added == 39
    assert len(server.dump()["groups"]["Sales"]) == 39


def test_a_split_batch_spends_the_change_budget_once(scim_server, fault_proxy):
    """The refused batches give their changes back: 40 changes spend 40, not 3x as many."""
    from app.scim.http.budget import ChangeBudget

    users = make_users(40, ["sales"])
    server = scim_server(users)
    bad = {}
    proxy = fault_proxy(server.url, refuse=lambda r: (
        (400, "user is suspended")
        if r.method in ("PATCH", "POST") and bad["id"] in str(r.body) else None))
    settings = SyncSettings(proxy.url, TOKEN, batch_size=16)
    budget = ChangeBudget(None)
    with fast_client(proxy.url) as client:
        state = read_server_state(client, users, MAPPING, settings)
        bad["id"] = state.user_ids["user00030@ex.com"]
        result = execute(client, plan_sync(users, MAPPING, state, settings), settings,
                         budget=budget)
    assert result.added == 39 and len(server.dump()["groups"]["Sales"]) == 39
    assert budget.spent == 40  # 39 that landed and the one refused alone


def test_settings_refuse_bad_values():
    with pytest.raises(InputError, match="--attribute"):
        SyncSettings("https://x", target="attribute")
    with pytest.raises(InputError, match="match attribute"):
        SyncSettings("https://x", match_attribute="mail")
    assert TOKEN not in repr(SyncSettings("https://x", TOKEN))


def test_cancel_while_reading_raises_and_writes_nothing(scim_server, fault_proxy):
    users = make_users(120, VALUES)
    server = scim_server(users)
    proxy = fault_proxy(server.url, page_cap=50)
    settings = SyncSettings(proxy.url, TOKEN)
    seen = []
    with fast_client(proxy.url) as client, pytest.raises(SyncCancelled):
        read_server_state(
            client, users, MAPPING, settings, progress=seen.append, cancelled=lambda: len(seen) >= 1
        )
    assert seen[0].phase == "read" and not proxy.writes()


@pytest.mark.parametrize("attribute", ["userName", "emails", "externalId"])
@pytest.mark.parametrize("listing", [True, False])
def test_match_attributes(scim_server, fault_proxy, attribute, listing):
    on_server = make_users(60, VALUES)
    server = scim_server(on_server)
    proxy = fault_proxy(server.url, page_cap=20)
    export = make_users(60 if listing else 1, VALUES)
    export.frame["email"] = export.frame["email"].str.upper()  # as some IdPs export them
    settings = SyncSettings(proxy.url, TOKEN, match_attribute=attribute)
    with fast_client(proxy.url) as client:
        if attribute == "externalId":  # compared exactly (RFC 7643): upper case finds nobody
            with pytest.raises(InputError, match="by externalId.*userName or emails"):
                read_server_state(client, export, MAPPING, settings)
            assert not proxy.writes()
            return
        state = read_server_state(client, export, MAPPING, settings)
    # 3 pages of 20 for the whole list; for one user, the first page and at most one filter
    assert proxy.count("GET", "/Users") == 3 if listing else proxy.count("GET", "/Users") <= 2
    assert not state.not_found and len(state.user_ids) == len(export)


def off_the_first_page(url: str, n: int) -> list[str]:
    """n userNames the first page of 50 does not hold (the server orders users by random id)."""
    with fast_client(url) as client:
        page = client.request(
            "GET", "/Users", params={"startIndex": 1, "count": 50, "attributes": "userName"}
        )
        first = {u["userName"] for u in page["Resources"]}
        everyone = sorted(u["userName"] for u in client.list_users(["userName"]))
    return [name for name in everyone if name not in first][:n]


@pytest.mark.parametrize(("server_domain", "upper"), [("Ex.com", False), ("ex.com", True)])
def test_filters_find_users_on_a_case_exact_server(scim_server, fault_proxy, server_domain, upper):
    """The filter carries the export's spelling, then a lower-case one: never a folded key."""
    server = scim_server(make_users(300, VALUES, domain=server_domain))
    proxy = fault_proxy(server.url, page_cap=50, quirks=frozenset({"case_exact_filter"}))
    (name,) = off_the_first_page(server.url, 1)
    export_email = name.upper() if upper else name
    export = UserList.from_records(
        [{"email": export_email, "name": "", "status": "", "source": "sales", "groups": ""}]
    )
    settings = SyncSettings(proxy.url, TOKEN)
    with fast_client(proxy.url) as client:
        state = read_server_state(client, export, MAPPING, settings)
    assert state.read_by == "filter"
    assert not state.not_found and list(state.user_ids) == [export_email.lower()]


def test_an_ignored_filter_stops_the_other_filters(scim_server, fault_proxy):
    server = scim_server(make_users(300, VALUES))
    proxy = fault_proxy(server.url, page_cap=50, quirks=frozenset({"filter_ignored"}))
    export = UserList.from_records(
        {"email": name, "name": "", "status": "", "source": "sales", "groups": ""}
        for name in off_the_first_page(server.url, 4)
    )
    settings = SyncSettings(proxy.url, TOKEN, concurrency=1)
    with fast_client(proxy.url) as client:
        state = read_server_state(client, export, MAPPING, settings)
    assert state.read_by == "list" and len(state.user_ids) == 4
    assert sum("filter" in r.query for r in proxy.records if r.path == "/Users") == 1
    assert proxy.count("GET", "/Users") <= 1 + 1 + 5  # first page, one filter, other pages


def test_managed_spellings_differing_from_the_server_group_are_refused(scim_server, fault_proxy):
    """Adopting "Sales" for "SALES" would be a guess: stop, name both, write nothing."""
    users = make_users(6, ["a", "b"], groups=lambda i: "Sales")
    server = scim_server(users)
    proxy = fault_proxy(server.url)
    for mapping, why in (
        # two spellings in one mapping stop before the server is read (app/core/identity.py)
        (make_mapping({"a": "Sales", "b": "sales"}, apply_existing=True),
         "names 'Sales' and 'sales'.*will not create both"),
        (make_mapping({"a": "SALES", "b": "Ops"}, apply_existing=True),
         "spelled exactly 'SALES', only 'Sales'"),
    ):
        with pytest.raises(InputError, match=why):
            sync(proxy.url, users, mapping, max_removal_ratio=1.0)
    assert not proxy.writes()
    assert len(server.dump()["groups"]["Sales"]) == 6
