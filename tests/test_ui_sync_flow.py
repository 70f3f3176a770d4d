"""The desktop app's whole SCIM path against the real bundled server (pytest-qt, offscreen):
connect, refresh, preview, sync, cancel midway, retry failed, and the server's final state.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox

from app.core.users import UserList
from app.ui.server.connection import ConnectionProfile
from app.ui.shell.main_window import MainWindow
from tests.plans import dialog_plan
from tests.scim_fixtures import TOKEN, make_mapping

VALUES = ["A", "B", "C", "D", "E", "F", "G", "H"]
GROUPS = {v: f"Team {v}" for v in VALUES}
WAIT = 15_000  # ms: an upper bound for liveness, never a timing assertion


def export_users(n: int = 48) -> UserList:
    """n users; the first 8 are in "Team A" in the export, everyone else in no group."""
    return UserList.from_records(
        {
            "email": f"user{i:03d}@ex.com",
            "name": f"User {i}",
            "status": "active",
            "source": VALUES[i % len(VALUES)],
            "groups": "Team A" if i < 8 else "",
        }
        for i in range(n)
    )



def open_export(win: MainWindow, users: UserList, mapping) -> None:
    win.document.set_users(users, [Path("export.csv")])
    win.editor.reset(mapping)


def connect(win: MainWindow, server, token: str = TOKEN):
    controller = win.sync_controller
    profile = ConnectionProfile(name="test", url=server.url)
    controller.set_connection(profile, token, persist=False)
    return controller


def refresh(qtbot, controller):
    with qtbot.waitSignal(controller.planned, timeout=WAIT) as blocker:
        controller.refresh()
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    return blocker.args[0]


def run_sync(qtbot, controller, plan, allow: bool = False):
    with qtbot.waitSignal(controller.synced, timeout=WAIT) as blocker:
        controller.sync(plan, allow)
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    return blocker.args[0]


def test_connect_refresh_preview_sync_and_final_state(
    qtbot, window, scim_server, tmp_path, monkeypatch
):
    users = export_users()
    # The server: the export's users; user002 (value C) is also in "Team B" there (drift),
    # and a hand-made group "Keep" the mapping does not name.
    server = scim_server(
        users, extra_groups={"Team B": ["user002@ex.com"], "Keep": ["user003@ex.com"]}
    )
    open_export(window, users, make_mapping(GROUPS, apply_existing=True))
    controller = connect(window, server)
    assert controller.refresh_action.isEnabled()

    plan = refresh(qtbot, controller)
    # "before" comes from the server: user002 now shows Team B as well.
    frame = window.document.users.frame.set_index("email")
    assert set(frame.loc["user002@ex.com", "groups"].split("; ")) == {"Team A", "Team B"}
    assert [d.email for d in plan.drift] == ["user002@ex.com"]
    assert "Keep" in window._known["server"]

    controller.preview()
    qtbot.waitUntil(lambda: controller.plan_dialog is not None, timeout=WAIT)
    dialog = controller.plan_dialog
    groups_to_create = {f"Team {v}" for v in VALUES} - {"Team A", "Team B"}
    assert set(dialog.plan.groups_to_create) == groups_to_create
    assert "6 groups to create" in dialog.summary.text()
    # Team A loses 7 of its 8 members: above the 20% guard, so Sync waits for consent.
    assert dialog.plan.removes == {
        "Team A": [f"user{i:03d}@ex.com" for i in range(1, 8)],
        "Team B": ["user002@ex.com"],
    }
    assert dialog.warning.isVisible() and "Mass removal" in dialog.warning.text()
    assert not dialog.sync_button.isEnabled()
    dialog.allow.setChecked(True)
    assert dialog.sync_button.isEnabled()
    out = tmp_path / "plan.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "CSV"))
    assert dialog.export() == out
    assert "Create group,Team" in out.read_text("utf-8-sig")  # the Changes sheet, in words

    confirmed = []  # anything removed: Sync now asks first, naming the users who lose a group
    monkeypatch.setattr(dialog, "confirm_removals", lambda n: confirmed.append(n) or True)
    with qtbot.waitSignal(controller.synced, timeout=WAIT) as blocker:
        dialog.sync_button.click()
    assert confirmed == [7]
    result = blocker.args[0]
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    assert not result.failed and not result.cancelled
    assert controller.sync_dialog.close_button.isVisible()
    assert "Sync finished." in controller.sync_dialog.summary.text()
    planned = controller.sync_dialog.bar.maximum()
    summary = controller.sync_dialog.summary.text()  # one request count, in the summary
    assert controller.sync_dialog.counts.text() == ""
    assert f"{planned} requests sent, as planned." in summary or (
        f"for {planned} planned" in summary)
    assert "1 user already as planned." in summary
    assert controller.sync_dialog.log.toPlainText().count("POST /Groups") == 6

    groups = server.dump()["groups"]
    for i, email in enumerate(users.frame["email"]):
        assert email in groups[f"Team {VALUES[i % len(VALUES)]}"]
    assert "user002@ex.com" not in groups["Team B"]  # moved to its mapped group
    assert groups["Keep"] == {"user003@ex.com"}  # never touched

    # A second preview finds nothing left to do.
    again = refresh(qtbot, controller)
    assert again.is_empty


def test_cancel_midway_then_sync_the_rest(qtbot, window, scim_server, fault_proxy):
    users = export_users()
    server = scim_server(users)
    entered, gate = threading.Event(), threading.Event()

    def hold_writes(record):
        if record.method in ("POST", "PATCH"):
            entered.set()
            gate.wait(WAIT / 1000)
        return None

    proxy = fault_proxy(server.url, refuse=hold_writes)
    open_export(window, users, make_mapping(GROUPS, apply_existing=True))
    controller = window.sync_controller
    controller.set_connection(ConnectionProfile("proxied", proxy.url), TOKEN, persist=False)
    gate.set()
    plan = refresh(qtbot, controller)
    assert len(plan.groups_to_create) == 7
    gate.clear()

    with qtbot.waitSignal(controller.synced, timeout=WAIT) as blocker:
        controller.sync(plan, True)
        qtbot.waitUntil(entered.is_set, timeout=WAIT)
        assert window.isEnabled()  # the window stays responsive while requests hang
        controller.sync_dialog.cancel_button.click()
        gate.set()
    result = blocker.args[0]
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    assert result.cancelled
    created = set(result.created_groups)
    assert 0 < len(created) < 7  # stopped between requests, with work left
    assert "Sync cancelled" in controller.sync_dialog.summary.text()
    assert "Preview changes again" in controller.sync_dialog.counts.text()
    on_server = set(server.dump()["groups"])
    assert created <= on_server and not (set(plan.groups_to_create) - created) <= on_server

    rest = refresh(qtbot, controller)
    assert set(rest.groups_to_create) == set(plan.groups_to_create) - created
    final = run_sync(qtbot, controller, rest, allow=True)
    assert final.ok
    groups = server.dump()["groups"]
    assert all(len(groups[name]) == 6 for name in GROUPS.values())


def test_failed_operation_shown_as_plain_text_then_retried(
    qtbot, window, scim_server, fault_proxy
):
    users = export_users(16)
    server = scim_server(users)
    refusing = {"on": True}
    reason = "<b>Seats are full</b> for this plan"

    def refuse_team_c(record):
        body = record.body or {}
        if refusing["on"] and record.method == "POST" and body.get("displayName") == "Team C":
            return 400, reason
        return None

    proxy = fault_proxy(server.url, refuse=refuse_team_c)
    open_export(window, users, make_mapping(GROUPS, apply_existing=True))
    controller = window.sync_controller
    controller.set_connection(ConnectionProfile("proxied", proxy.url), TOKEN, persist=False)
    plan = refresh(qtbot, controller)
    result = run_sync(qtbot, controller, plan, allow=True)

    assert [(f.group, f.operation) for f in result.failed] == [("Team C", "create")]
    dialog = controller.sync_dialog
    assert dialog.failed.isVisible() and dialog.retry_button.isVisible()
    reasons = [dialog.failed.item(0, c).text() for c in range(dialog.failed.columnCount())]
    assert any("<b>Seats are full</b>" in text for text in reasons)
    for label in dialog.findChildren(QLabel):
        if "<b>" in label.text():
            assert label.textFormat() == Qt.TextFormat.PlainText
    assert "Team C" not in server.dump()["groups"]

    refusing["on"] = False
    with qtbot.waitSignal(controller.synced, timeout=WAIT) as blocker:
        dialog.retry_button.click()
    retried = blocker.args[0]
    qtbot.waitUntil(lambda: controller.task is None, timeout=WAIT)
    assert not retried.failed
    assert server.dump()["groups"]["Team C"] == {"user002@ex.com", "user010@ex.com"}
    assert not dialog.retry_button.isVisible()


def test_wrong_token_is_explained_in_plain_text(qtbot, window, scim_server):
    users = export_users(8)
    server = scim_server(users)
    open_export(window, users, make_mapping(GROUPS))
    controller = connect(window, server, token="not-the-token-<b>x</b>")
    with qtbot.waitSignal(controller.failed, timeout=WAIT) as blocker:
        controller.refresh()
    text = blocker.args[0]
    assert "refused the token" in text and "not-the-token" not in text
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and boxes[-1].textFormat() == Qt.TextFormat.PlainText
    assert controller.server_state is None


def test_token_never_written_logged_or_shown(
    qtbot, window, scim_server, tmp_path, caplog, monkeypatch
):
    users = export_users(24)
    server = scim_server(users)
    caplog.set_level(logging.DEBUG)
    open_export(window, users, make_mapping(GROUPS, apply_existing=True))
    controller = window.sync_controller
    store = controller.store
    # The admin's path: a saved profile (QSettings) and its token (session only here).
    profile = ConnectionProfile(name="production", url=server.url)
    store.save(profile)
    store.tokens.set("production", TOKEN)
    store.last_used = "production"
    controller.set_connection(profile, TOKEN)
    plan = refresh(qtbot, controller)
    run_sync(qtbot, controller, plan, allow=True)

    report, plan_file = tmp_path / "report.xlsx", tmp_path / "plan.csv"
    answers = iter([(str(report), ""), (str(plan_file), "")])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: next(answers))
    assert controller.export_report() == report
    sheets = pd.read_excel(report, sheet_name=None, engine="openpyxl", dtype=str)
    assert list(sheets) == ["Sync report", "Summary"]  # named sheet, then server and totals
    summary = dict(sheets["Summary"].itertuples(index=False))
    assert summary["Server"] == f"production ({server.url})" and summary["Outcome"] == "finished"
    assert int(summary["Requests sent"]) > 0
    assert controller.show_plan(plan).export() == plan_file
    window.files.autosaver.save()
    window.settings.sync()
    assert window.files.save_to(tmp_path / "draft.json")

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {report, plan_file, tmp_path / "draft.json", tmp_path / "settings.ini"} <= set(written)
    assert "production" in (tmp_path / "settings.ini").read_text("utf-8")
    for path in written:
        assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in caplog.text
    assert TOKEN not in controller.sync_dialog.log.toPlainText()
    assert TOKEN not in window.windowTitle()
    assert all(TOKEN not in w.windowTitle() for w in window.findChildren(QMessageBox))


def test_attribute_target_writes_one_value_per_user(qtbot, window, scim_server):
    path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
    users = export_users(16)
    server = scim_server(users)
    open_export(window, users, make_mapping(GROUPS))
    controller = window.sync_controller
    profile = ConnectionProfile("calendly-like", server.url, target="attribute", attribute=path)
    controller.set_connection(profile, TOKEN, persist=False)
    plan = refresh(qtbot, controller)
    assert not plan.groups_to_create  # no /Groups in this mode
    result = run_sync(qtbot, controller, plan)
    assert not result.failed
    extension = path.rpartition(":")[0]
    departments = {
        email: (data.get(extension) or {}).get("department")
        for email, data in server.dump()["attributes"].items()
    }
    # "Before" is the server's attribute (empty for everyone). Rule 6: the users the export
    # lists in "Team A" are existing users and keep what they have, as the preview says;
    # everyone else gets a value.
    assert departments == {
        f"user{i:03d}@ex.com": None if i < 8 else GROUPS[VALUES[i % 8]] for i in range(16)
    }
    assert not refresh(qtbot, controller).adds  # read back: nothing left to do


def test_a_huge_plan_lists_a_bounded_sample_per_group(qtbot):

    from app.ui.server.sync_preview import SHOWN_PER_GROUP, PlanDialog

    emails = [f"u{i}@ex.com" for i in range(20_000)]
    plan = dialog_plan(adds={"Big": emails}, removes={}, groups_to_create=["Big"])
    dialog = PlanDialog(plan)
    qtbot.addWidget(dialog)
    group = dialog.tree.topLevelItem(0)
    assert group.text(1) == "+20,000"
    assert group.childCount() == SHOWN_PER_GROUP + 1
    assert "19,500 more" in group.child(SHOWN_PER_GROUP).text(0)


def test_plan_cells_leave_zeros_blank_and_enter_does_not_sync(qtbot):

    from app.ui.server.sync_preview import PlanDialog

    plan = dialog_plan(
        adds={"Big": ["a@ex.com", "b@ex.com"]}, removes={"Old": ["c@ex.com"]},
        groups_to_create=["Empty"], removal_ratio=0.1,
    )
    dialog = PlanDialog(plan)
    qtbot.addWidget(dialog)
    cells = {
        dialog.tree.topLevelItem(i).text(0): (
            dialog.tree.topLevelItem(i).text(1), dialog.tree.topLevelItem(i).text(2))
        for i in range(dialog.tree.topLevelItemCount())
    }
    assert cells == {"Big": ("+2", ""), "Empty  (new group)": ("", ""), "Old": ("", "−1")}
    assert dialog.sync_button.isEnabled() and not dialog.sync_button.isDefault()
    dialog.show()
    with qtbot.assertNotEmitted(dialog.accepted), qtbot.waitSignal(dialog.rejected):
        qtbot.keyClick(dialog.tree, Qt.Key.Key_Return)  # Enter closes the preview
    assert not dialog.isVisible()


def test_the_mass_removal_warning_reads_in_light_and_dark_mode(qtbot):

    from PySide6.QtGui import QColor, QPalette

    from app.ui.server.sync_preview import PlanDialog

    plan = dialog_plan(adds={}, removes={"Old": ["a@ex.com", "b@ex.com"]}, removal_ratio=1.0)
    assert plan.mass_removal
    dialog = PlanDialog(plan)
    qtbot.addWidget(dialog)

    def contrast(window: QColor) -> float:
        palette = dialog.palette()
        palette.setColor(QPalette.ColorRole.Window, window)
        dialog.setPalette(palette)  # what a switch of the system's colour scheme does
        text = QColor(dialog.warning.styleSheet().split("color: ")[1].split(";")[0])

        def lum(c: QColor) -> float:
            def f(v: float) -> float:
                return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
            return 0.2126 * f(c.redF()) + 0.7152 * f(c.greenF()) + 0.0722 * f(c.blueF())

        high, low = sorted((lum(text), lum(window)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    assert contrast(QColor("#efefef")) >= 4.5
    assert contrast(QColor("#2b2b2b")) >= 4.5


def test_the_sync_window_summary_reads_well_and_enter_closes(qtbot):
    from types import SimpleNamespace

    from app.ui.server.sync_dialog import SyncDialog, result_summary

    failure = SimpleNamespace(group="Eng", operation="add members", emails=["a@ex.com"],
                              status=409, reason="conflict")
    result = SimpleNamespace(cancelled=False, created_groups=[], added=2, removed=0,
                             unchanged=1, not_found=["z@ex.com"], failed=[failure], requests=3)
    assert "1 user not on the server was skipped." in result_summary(result)
    dialog = SyncDialog()
    qtbot.addWidget(dialog)
    dialog.show_result(result)
    dialog.show()
    assert dialog.retry_button.isVisible() and dialog.close_button.isDefault()
    with qtbot.assertNotEmitted(dialog.retryRequested), qtbot.waitSignal(dialog.accepted):
        qtbot.keyClick(dialog.log, Qt.Key.Key_Return)
