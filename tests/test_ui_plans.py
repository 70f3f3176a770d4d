"""Plans for approval in the app: "Save plan for approval…" in Preview changes, and
Server ▸ Apply saved plan… (pytest-qt, against the real bundled server)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.io.journal import list_runs
from app.scim.sync.planfile import read_plan
from tests.scim_fixtures import expected_groups, fast_client, make_mapping
from tests.test_ui_sync_flow import (
    GROUPS,
    WAIT,
    connect,
    export_users,
    open_export,
    refresh,
)


def saved_plan(qtbot, window, scim_server, tmp_path, monkeypatch):
    users = export_users(16)
    server = scim_server(users)
    mapping = make_mapping(GROUPS)
    export = tmp_path / "export.csv"
    export.write_text("the export's bytes, digested into the plan\n", encoding="utf-8")
    open_export(window, users, mapping)
    window.document.export_paths = [export]
    controller = connect(window, server)
    plan = refresh(qtbot, controller)
    dialog = controller.show_plan(plan)
    path = tmp_path / "plan.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()) or 0)
    assert dialog.save_plan_button.isEnabled()
    dialog.save_plan_button.click()
    dialog.reject()
    saved = read_plan(path)
    assert shown and f"Saved plan {saved.code}" in shown[0]
    assert server.dump()["groups"] == {"Team A": {f"user{i:03d}@ex.com" for i in range(8)}}
    return server, controller, users, mapping, path, saved


def open_saved(qtbot, controller, path: Path):
    controller.saved_plans.open(path)
    qtbot.waitUntil(lambda: controller.saved_plans.dialog is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    return controller.saved_plans.dialog


def test_a_plan_saved_in_the_preview_is_applied_exactly_from_the_server_menu(
    qtbot, window, scim_server, tmp_path, monkeypatch
):
    server, controller, users, mapping, path, saved = saved_plan(
        qtbot, window, scim_server, tmp_path, monkeypatch
    )
    assert controller.apply_plan_action in window.server_menu.actions()
    assert controller.apply_plan_action.isEnabled()
    dialog = open_saved(qtbot, controller, path)
    assert dialog.windowTitle() == f"Apply saved plan {saved.code}"
    assert dialog.summary.text().startswith(f"Plan {saved.code}, made ")
    assert dialog.sync_button.isEnabled() and dialog.sync_button.text() == "&Apply plan"
    lines = [dialog.tree.topLevelItem(i).child(j) for i in range(dialog.tree.topLevelItemCount())
             for j in range(dialog.tree.topLevelItem(i).childCount())]
    assert lines and all(line.text(3).startswith(f"in plan {saved.code}, made ")
                         for line in lines if line.text(1) == "add" or line.text(2) == "remove")

    monkeypatch.setattr(dialog, "confirm_removals", lambda n: True)  # any removal asks first
    with qtbot.waitSignal(controller.synced, timeout=WAIT) as blocker:
        dialog.accept()
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    assert blocker.args[0].ok
    assert server.dump()["groups"] == expected_groups(users, mapping)
    (run,) = list_runs(server.url)
    assert run.status == "done" and run.start["export"]["users"] is None  # never a guard base


def test_a_stale_plan_is_shown_with_why_and_cannot_be_applied(
    qtbot, window, scim_server, tmp_path, monkeypatch
):
    server, controller, *_, path, saved = saved_plan(
        qtbot, window, scim_server, tmp_path, monkeypatch
    )
    with fast_client(server.url) as client:  # by hand, after the plan was saved
        team_a, _ = client.get_group(str(client.find_group("Team A")["id"]))
        client.modify_members(str(team_a["id"]), [], [team_a["members"][0]["value"]])
    before = server.dump()["groups"]
    dialog = open_saved(qtbot, controller, path)
    assert not dialog.sync_button.isEnabled()
    assert "Team A changed since the plan: 1 member differs" in dialog.summary.text()
    assert "make a new plan" in dialog.summary.text()
    assert server.dump()["groups"] == before


def test_a_plan_for_another_server_is_refused_before_reading(
    qtbot, window, scim_server, tmp_path, monkeypatch
):
    _, controller, users, *_, path, saved = saved_plan(
        qtbot, window, scim_server, tmp_path, monkeypatch
    )
    other = scim_server(users)
    connect(window, other)
    with qtbot.waitSignal(controller.failed, timeout=WAIT) as blocker:
        controller.saved_plans.open(path)
    assert f"plan {saved.code} was made for" in blocker.args[0]
    assert controller.saved_plans.dialog is None and controller.task is None
