"""The app's Refresh reads the server with the sync's reader (issue 25): the status bar counts
pages read of pages known through the user pages and the group reads, and Cancel stops the
read within the pages already asked for (a slow fake server, tests/fake_scim.py)."""

from __future__ import annotations

from app.core.users import UserList
from app.scim.config.connections import ConnectionProfile
from app.ui.base.worker import Progress
from tests.scim_fixtures import TOKEN, make_mapping
from tests.test_scim_hostile import seeded
from tests.test_ui_sync_flow import WAIT, open_export

GROUPS = 30


def slow_server(fake_scim, groups: int, lag: float):
    """Every answer `lag` s late; the list shows no members, so each group is read singly."""
    fake = fake_scim("slow", lag=lag, user_groups=False)
    names = [f"user{i:03d}@ex.com" for i in range(8)]
    ids = seeded(fake, names)
    group_ids = [fake.add_group(f"Team {i:02d}", [ids[names[i % 8]]]) for i in range(groups)]
    shown = fake._visible_groups
    fake._visible_groups = lambda query: [  # type: ignore[method-assign]
        {k: v for k, v in g.items() if k != "members"} for g in shown(query)
    ]
    users = UserList.from_records(
        {"email": n, "name": n, "status": "active", "source": f"v{i % groups:02d}", "groups": ""}
        for i, n in enumerate(names)
    )
    mapping = make_mapping({f"v{i:02d}": f"Team {i:02d}" for i in range(groups)},
                           apply_existing=True)
    return fake, users, mapping, group_ids


def connect(window, fake):
    controller = window.sync_controller
    controller.set_connection(ConnectionProfile(name="slow", url=fake.url), TOKEN, persist=False)
    return controller


def single_reads(fake) -> int:
    return sum(1 for r in fake.records if r[0] == "GET" and r[1].startswith("/Groups/"))


def test_refresh_counts_pages_read_of_pages_known_through_the_group_reads(
    qtbot, window, fake_scim
):
    fake, users, mapping, _ = slow_server(fake_scim, GROUPS, 0.05)
    open_export(window, users, mapping)
    controller = connect(window, fake)
    seen: list[Progress] = []
    messages: list[str] = []
    with qtbot.waitSignal(controller.planned, timeout=WAIT):
        controller.refresh()
        controller.task.progress.connect(seen.append)
        window.statusBar().messageChanged.connect(messages.append)
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    texts = [p.text for p in seen if isinstance(p, Progress)]
    assert texts and all(" of " in t and t.endswith("pages read") for t in texts)
    known = [int(t.split(" of ")[1].split()[0].replace(",", "")) for t in texts]
    assert known == sorted(known)  # the pages known only grow
    assert max(known) == 1 + 1 + GROUPS  # a user page, a group page, a read per group
    assert any(3 <= int(t.split()[0]) < max(known) for t in texts)  # during the group reads
    assert any("pages read" in m and m.startswith("Reading slow") for m in messages)
    assert single_reads(fake) == GROUPS
    assert len(controller.server_state.groups) == GROUPS
    assert sorted(window.document.server_groups) == [f"Team {i:02d}" for i in range(GROUPS)]


def test_cancel_stops_the_group_reads_within_the_pages_asked_for(qtbot, window, fake_scim):
    fake, users, mapping, _ = slow_server(fake_scim, 120, 0.1)
    open_export(window, users, mapping)
    controller = connect(window, fake)
    reads_at_cancel: list[int] = []

    def cancel_in_the_group_reads(value):
        if isinstance(value, Progress) and int(value.text.split()[0]) >= 4 and not reads_at_cancel:
            reads_at_cancel.append(single_reads(fake))
            window.status.cancel_button.click()

    cancelled = []
    controller.refresh()
    task = controller.task
    task.progress.connect(cancel_in_the_group_reads)
    task.cancelled.connect(lambda: cancelled.append(True))
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    assert cancelled and reads_at_cancel
    concurrency = controller.sync_settings().concurrency
    assert single_reads(fake) <= reads_at_cancel[0] + concurrency  # those in flight, no more
    assert single_reads(fake) < 120
    assert controller.server_state is None and not fake.writes()
    assert window.statusBar().currentMessage() == "Cancelled."
