"""The app's sync from a `scim:` source of its own server (pytest-qt, the real scim2-server
behind a counting proxy): the server's /Users is listed once, by the source, for the source
and the server state alike; the sync's journal says what the read took, by kind."""

from __future__ import annotations

import json

from app.ui.files.live_source_dialog import LiveRequest
from app.ui.server.connection import ConnectionProfile
from tests.scim_fixtures import TOKEN, make_mapping
from tests.test_sources_scim import DEPARTMENT, add_user, members, users_listed
from tests.test_ui_sync_flow import refresh, run_sync

WAIT = 15_000  # ms: an upper bound for liveness, never a timing assertion


def read_source(qtbot, window, url: str) -> None:
    window.files.live.read(LiveRequest("scim", url, TOKEN, DEPARTMENT))
    qtbot.waitUntil(lambda: window.document.users is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT)


def journal_records(folder, kind: str) -> list[dict]:
    lines = [line for path in sorted(folder.rglob("*")) if path.is_file()
             for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [record for record in map(json.loads, lines) if record.get("type") == kind]


def test_the_app_lists_its_own_servers_users_once_and_journals_the_reads(
    qtbot, window, scim_server, fault_proxy, journal_folder
):
    url = scim_server().url
    for i in range(6):
        add_user(url, f"u{i}@ex.com", ["Sales", "Engineering"][i % 2])
    proxy = fault_proxy(url)
    window.editor.reset(make_mapping({"Sales": "Sales Team", "Engineering": "Engineers"}))
    controller = window.sync_controller
    controller.set_connection(ConnectionProfile(name="test", url=proxy.url), TOKEN,
                              persist=False)
    read_source(qtbot, window, proxy.url)
    assert len(users_listed(proxy)) == 1  # the source's listing

    plan = refresh(qtbot, controller)
    assert len(users_listed(proxy)) == 1  # the server state came from the same listing
    assert plan.added_count == 6 and len(plan.state.user_ids) == 6
    read = plan.state.requests_by_kind
    assert read and "user_pages" not in read  # what the state's read took, no user page

    result = run_sync(qtbot, controller, plan)
    assert not result.failed
    assert members(url) == {"Sales Team": {"u0@ex.com", "u2@ex.com", "u4@ex.com"},
                            "Engineers": {"u1@ex.com", "u3@ex.com", "u5@ex.com"}}
    [reads] = journal_records(journal_folder, "reads")
    assert reads["requests_by_kind"] == read  # the read's, not the (new) sync client's
    [start] = journal_records(journal_folder, "start")
    assert start["source"] == {"kind": "scim", "url": proxy.url, "attribute": DEPARTMENT,
                               "users": 6}  # where the values came from, as the CLI journals

    proxy.records.clear()
    refresh(qtbot, controller)  # the listing served one read: the server may have changed
    assert len(users_listed(proxy)) == 1


def test_a_listing_of_another_server_is_not_used(qtbot, window, scim_server, fault_proxy):
    url = scim_server().url
    for i in range(4):
        add_user(url, f"u{i}@ex.com", "Sales")
    source, server = fault_proxy(url), fault_proxy(url)  # two URLs: two servers to the app
    window.editor.reset(make_mapping({"Sales": "Sales Team"}))
    controller = window.sync_controller
    controller.set_connection(ConnectionProfile(name="test", url=server.url), TOKEN,
                              persist=False)
    read_source(qtbot, window, source.url)
    plan = refresh(qtbot, controller)
    assert len(users_listed(source)) == 1 and len(users_listed(server)) == 1
    assert plan.added_count == 4


def test_the_apps_sync_journals_its_reads_by_kind(qtbot, window, scim_server, journal_folder):
    """The app reads with one client and writes with another: the journal's `reads` record
    carries the read's requests by kind, as the command line's does."""
    from pathlib import Path

    from tests.test_ui_sync_flow import export_users

    users = export_users(8)
    server = scim_server(users)
    window.document.set_users(users, [Path("export.csv")])
    window.editor.reset(make_mapping({"A": "Team A", "B": "Team B"}))
    controller = window.sync_controller
    controller.set_connection(ConnectionProfile(name="test", url=server.url), TOKEN,
                              persist=False)
    plan = refresh(qtbot, controller)
    assert not run_sync(qtbot, controller, plan).failed
    [reads] = journal_records(journal_folder, "reads")
    kinds = reads["requests_by_kind"]
    assert kinds == plan.state.requests_by_kind
    assert kinds.get("user_pages", 0) + kinds.get("user_lookups", 0) >= 1
    assert kinds.get("group_pages", 0) >= 1 and "writes" not in kinds
