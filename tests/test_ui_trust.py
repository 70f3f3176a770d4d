"""Issue 22 in the app: Save plan refuses what `sync --plan-out` refuses, in the same words;
Apply plan checks the server again at the click; undo offers to delete the groups the run
created; the sync window never shows the previous run's result while a new one writes."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.core.mapping import Expectation
from app.io.journal import list_runs
from app.scim.sync.guards import expectations_stop
from tests.scim_fixtures import expected_groups, fast_client, make_mapping
from tests.test_ui_plans import open_saved, saved_plan
from tests.test_ui_sync_flow import GROUPS, WAIT, connect, export_users, open_export, refresh


def test_save_plan_refuses_a_failing_expectation_in_the_cli_s_words(
    qtbot, window, scim_server, tmp_path, monkeypatch
):
    users = export_users(16)
    server = scim_server(users)
    mapping = make_mapping(GROUPS).with_expectations([Expectation("user000@ex.com", ("Nowhere",))])
    open_export(window, users, mapping)
    controller = connect(window, server)
    dialog = controller.show_plan(refresh(qtbot, controller))
    path = tmp_path / "plan.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()) or 0)
    dialog.save_plan_button.click()
    dialog.reject()
    assert not path.exists()
    assert shown == [expectations_stop(window.document.export_users, mapping)]
    assert "expectation(s) of the mapping fail" in shown[0]


def test_apply_plan_checks_the_server_again_at_the_click(
    qtbot, window, scim_server, tmp_path, monkeypatch
):
    server, controller, *_, path, saved = saved_plan(
        qtbot, window, scim_server, tmp_path, monkeypatch
    )
    dialog = open_saved(qtbot, controller, path)
    assert dialog.sync_button.isEnabled()
    with fast_client(server.url) as client:  # by hand, while the dialog is open
        ids = {name: uid for uid, name in server.dump()["users"].items()}
        client.modify_members(str(client.find_group("Team A")["id"]), [ids["user012@ex.com"]], [])
    before = server.dump()["groups"]
    monkeypatch.setattr(dialog, "confirm_removals", lambda n: True)
    with qtbot.waitSignal(controller.failed, timeout=WAIT) as blocker:
        dialog.accept()
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    assert "no longer fits" in blocker.args[0]
    assert "Team A changed since the plan" in blocker.args[0]
    assert server.dump()["groups"] == before


def test_undo_in_the_app_can_delete_the_groups_the_run_created(
    qtbot, window, scim_server, monkeypatch
):
    from app.ui.server.history_window import open_history

    users = export_users(16)
    server = scim_server(users)
    mapping = make_mapping(GROUPS)
    open_export(window, users, mapping)
    controller = connect(window, server)
    plan = refresh(qtbot, controller)
    with qtbot.waitSignal(controller.synced, timeout=WAIT):
        controller.sync(plan, allow_mass_removal=True)
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    created = set(server.dump()["groups"]) - {"Team A"}
    assert created
    history = open_history(controller)
    history.select_run(list_runs(server.url)[0].run_id)
    history.undo_selected()
    qtbot.waitUntil(lambda: history.undo_flow.dialog is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    flow = history.undo_flow
    assert flow.delete_created.isVisibleTo(flow.dialog) and "delete" in flow.delete_created.text()
    flow.delete_created.setChecked(True)
    monkeypatch.setattr(flow.dialog, "confirm_removals", lambda n: True)
    flow.dialog.allow.setChecked(True)
    with qtbot.waitSignal(controller.synced, timeout=WAIT):
        flow.dialog.accept()
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    groups = server.dump()["groups"]
    assert not created & set(groups)
    assert groups["Team A"] == {f"user{i:03d}@ex.com" for i in range(8)}
    assert [r.kind for r in list_runs(server.url)] == ["sync", "undo"]


def test_the_sync_window_clears_the_last_result_when_a_new_write_starts(
    qtbot, window, scim_server
):
    users = export_users(16)
    server = scim_server(users)
    mapping = make_mapping(GROUPS)
    open_export(window, users, mapping)
    controller = connect(window, server)
    with qtbot.waitSignal(controller.synced, timeout=WAIT):
        controller.sync(refresh(qtbot, controller), allow_mass_removal=True)
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    dialog = controller.sync_dialog
    assert dialog.result is not None and dialog.summary.text()
    seen: list[tuple[object, str]] = []
    dialog.set_running = (  # what the window shows at the moment the new write starts
        lambda running, headline="", real=dialog.set_running: (
            seen.append((dialog.result, dialog.summary.text())), real(running, headline)
        )
    )
    with qtbot.waitSignal(controller.synced, timeout=WAIT):
        controller.sync(refresh(qtbot, controller), allow_mass_removal=True)
    assert seen[0] == (None, "")
    assert server.dump()["groups"] == expected_groups(users, mapping)


def test_the_history_window_shows_undo_runs_and_names_a_malformed_record(
    qtbot, window, scim_server, journal_folder
):
    import json

    from app.ui.server.history_window import open_history

    users = export_users(16)
    server = scim_server(users)
    open_export(window, users, make_mapping(GROUPS))
    controller = connect(window, server)
    with qtbot.waitSignal(controller.synced, timeout=WAIT):
        controller.sync(refresh(qtbot, controller), allow_mass_removal=True)
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    history = open_history(controller)
    history.undo_selected()  # the newest run is selected when the window opens
    qtbot.waitUntil(lambda: history.undo_flow.dialog is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    history.undo_flow.dialog.allow.setChecked(True)
    history.undo_flow.dialog.confirm_removals = lambda n: True
    with qtbot.waitSignal(controller.synced, timeout=WAIT):
        history.undo_flow.dialog.accept()
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    with (journal_folder / "run-0001.jsonl").open("a", encoding="utf-8") as file:
        file.write(json.dumps({"type": "op", "op": "add", "group": None}) + "\n")
    history.reload()
    assert [r.run_id for r in history.runs] == [2, 1]
    assert history.selected_run().run_id == 1  # the selection survives a reload
    assert history.details_label.text().startswith("Run 1: sync")  # shown is selected
    history.select_run(2)
    assert "undo of run 1" in history.details_label.text()
    assert "undoes run 1" in history.details_label.text()
    assert "run-0001.jsonl, line" in history.heading.text()
    assert history.undo_button.isEnabled()
