"""The app's journal, Sync history window, per-user history, undo and source guard (pytest-qt,
offscreen, against the real bundled server)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from app.io.journal import list_runs
from app.ui.server.history_window import open_history
from tests.scim_fixtures import make_mapping
from tests.test_ui_sync_flow import (
    GROUPS,
    WAIT,
    connect,
    export_users,
    open_export,
    refresh,
    run_sync,
)


def synced_window(qtbot, window, scim_server, n=16):
    users = export_users(n)
    server = scim_server(users)
    open_export(window, users, make_mapping(GROUPS, apply_existing=True))
    controller = connect(window, server)
    before = server.dump()["groups"]
    result = run_sync(qtbot, controller, refresh(qtbot, controller), allow=True)
    assert result.ok
    return server, controller, before


def test_app_sync_is_journaled_verified_and_listed(qtbot, window, scim_server):
    server, controller, _ = synced_window(qtbot, window, scim_server)
    (run,) = list_runs(server.url)
    assert run.mode == "sync" and run.status == "done" and run.verify is not None
    assert run.start["export"]["files"] == ["export.csv"]
    assert run.start["mapping"]["options"]["apply_existing"] is True
    action = controller.history_action
    assert action in window.server_menu.actions() and action.isEnabled()
    history = open_history(controller)
    assert history.run_list.topLevelItemCount() == 1
    assert history.heading.text() == f"1 run to {server.url}, newest first."
    history.select_run(run.run_id)
    assert history.details.topLevelItemCount() == len(run.ops)
    assert "Run 1: sync" in history.details_label.text()
    assert history.undo_button.isEnabled()
    history.show_user("user009@ex.com")
    item = history.details.topLevelItem(0)
    assert item.text(1) == "add" and item.text(2) == "Team B" and item.text(4) == "applied"
    assert item.toolTip(0).startswith("added to Team B by run 1, ")
    # The export still says "Team A" for the users the sync moved: this app moved them, so
    # the next refresh shows no drift (issue 16).
    assert refresh(qtbot, controller).drift == []


def test_users_table_context_action_opens_that_users_history(
    qtbot, window, scim_server
):
    _, controller, _ = synced_window(qtbot, window, scim_server)
    users = window.preview.users
    per_user = next(a for a in users.actions() if "history of this user" in a.text())
    users.setCurrentIndex(users.model().index(0, 0))
    per_user.trigger()
    history = controller.history_window
    assert history.isVisible() and history.details_label.text().startswith("user")
    assert "journaled change" in history.details_label.text()


def test_undo_from_history_previews_then_restores_the_server(
    qtbot, window, scim_server
):
    server, controller, before = synced_window(qtbot, window, scim_server)
    history = open_history(controller)
    history.select_run(1)
    history.undo_selected()
    qtbot.waitUntil(lambda: history.undo_flow.dialog is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    flow_dialog = history.undo_flow.dialog
    assert flow_dialog.windowTitle() == "Undo run 1"
    assert flow_dialog.sync_button.text() == "&Undo now"
    assert flow_dialog.summary.text().startswith("Undo of run 1 (")
    assert flow_dialog.plan.removed_count > 0
    # Each removal says why, as a sync's does: the undone run added them.
    reasons = {flow_dialog.tree.topLevelItem(i).child(j).text(3)
               for i in range(flow_dialog.tree.topLevelItemCount())
               for j in range(flow_dialog.tree.topLevelItem(i).childCount())
               if flow_dialog.tree.topLevelItem(i).child(j).text(2) == "remove"}
    assert reasons and all(r.startswith("run 1 (") and r.endswith("added them; undo takes them out")
                           for r in reasons)
    if flow_dialog.plan.mass_removal:
        flow_dialog.allow.setChecked(True)
    confirmed = []  # an undo that removes members asks first, like a sync
    flow_dialog.confirm_removals = lambda n: confirmed.append(n) or True
    with qtbot.waitSignal(controller.synced, timeout=WAIT) as blocker:
        flow_dialog.sync_button.click()
    assert confirmed and confirmed[0] > 0
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    assert blocker.args[0].ok
    # The groups the sync created stay, emptied; every other group is as before the sync.
    after = server.dump()["groups"]
    assert {g: m for g, m in after.items() if g in before} == before
    assert all(not m for g, m in after.items() if g not in before)
    assert [r.mode for r in list_runs(server.url)] == ["sync", "undo of run 1"]
    assert controller.sync_dialog.isVisible()


def test_app_asks_before_syncing_a_much_smaller_export(
    qtbot, window, scim_server, monkeypatch
):
    server, controller, _ = synced_window(qtbot, window, scim_server, n=16)
    window.document.set_users(export_users(4), [Path("half.csv")])
    plan = refresh(qtbot, controller)
    asked = []

    def answer(reply):
        def exec_(box):
            asked.append(box.text())
            return reply

        return exec_

    monkeypatch.setattr(QMessageBox, "exec", answer(QMessageBox.StandardButton.No))
    controller.sync(plan, True)
    assert "This export has 4 users; the last sync to this server used 16" in asked[0]
    assert controller.task is None and len(list_runs(server.url)) == 1
    monkeypatch.setattr(QMessageBox, "exec", answer(QMessageBox.StandardButton.Yes))
    run_sync(qtbot, controller, plan, allow=True)
    assert len(asked) == 2 and len(list_runs(server.url)) == 2


def test_the_newest_run_is_selected_so_undo_works_at_once(qtbot, window, scim_server):
    _, controller, _ = synced_window(qtbot, window, scim_server)
    history = open_history(controller)
    assert history.selected_run() is not None and history.selected_run().run_id == 1
    assert history.undo_button.isEnabled()
