"""Preview changes explains every removal: who, from which group, why; Sync asks first."""


from types import SimpleNamespace

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.core.engine import evaluate
from app.core.mapping import Mapping, MappingRow, Options
from app.core.users import UserList
from app.ui.server.sync_preview import PlanDialog, add_color, alert_color
from tests.plans import dialog_plan


def explained_plan():
    users = UserList.from_records([
        {"email": f"u{i}@ex.com", "name": f"Person {i}", "status": "active",
         "source": "Support", "groups": "Customer Support"} for i in range(3)])
    mapping = Mapping((MappingRow("Support", "Marketing"), MappingRow("X", "Customer Support")),
                      Options(apply_existing=True))
    evaluation = evaluate(users, mapping)
    emails = users.frame["email"].to_numpy()
    changes = evaluation.changes_by_group()
    adds = {g: list(emails[a]) for g, (a, _) in changes.items() if len(a)}
    removes = {g: list(emails[r]) for g, (_, r) in changes.items() if len(r)}
    return dialog_plan(adds, removes, removal_ratio=0.1, users=users, evaluation=evaluation)


def test_removals_name_the_user_the_group_and_why_in_red(qtbot):
    dialog = PlanDialog(explained_plan())
    qtbot.addWidget(dialog)
    groups = {dialog.tree.topLevelItem(i).text(0): dialog.tree.topLevelItem(i)
              for i in range(dialog.tree.topLevelItemCount())}
    removed = groups["Customer Support"].child(0)
    assert removed.text(0) == "Person 0 <u0@ex.com>" and removed.text(2) == "remove"
    assert removed.text(3) == (
        "moved by row 1: Support -> Marketing; apply changes to existing users is on")
    added = groups["Marketing"].child(0)
    assert added.text(0) == "Person 0 <u0@ex.com>" and added.text(1) == "add"
    palette = dialog.palette()
    assert removed.foreground(0).color() == QColor(alert_color(palette))
    assert added.foreground(0).color() == QColor(add_color(palette))
    dark = QPalette(palette)
    dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    assert add_color(dark) != add_color(palette) and alert_color(dark) != alert_color(palette)


def test_sync_now_asks_first_naming_how_many_move_or_leave_a_group(qtbot):
    dialog = PlanDialog(explained_plan())
    qtbot.addWidget(dialog)
    dialog.show()
    seen = []

    def answer(button: str) -> None:
        box = QApplication.activeModalWidget()
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == button).click()

    QTimer.singleShot(0, lambda: answer("&Cancel"))
    with qtbot.assertNotEmitted(dialog.accepted):
        dialog.sync_button.click()
    assert seen == ["3 users will move to another group. Sync now?"]
    QTimer.singleShot(0, lambda: answer("&Yes, sync now"))  # Alt+Y: not Alt+S of Sync now
    with qtbot.waitSignal(dialog.accepted):
        dialog.sync_button.click()


def test_the_sync_summary_counts_in_matching_units_and_the_log_names_groups():
    from app.ui.server.sync_dialog import result_summary
    from app.ui.server.sync_tasks import named_path

    result = SimpleNamespace(cancelled=False, created_groups=["New"], added=3, removed=8,
                             unchanged=290, not_found=[], failed=[], requests=12)
    text = result_summary(result, planned=9)
    assert "8 memberships removed, 290 users already as planned." in text
    assert "12 requests sent for 9 planned" in text
    assert "12 requests sent, as planned." in result_summary(result, planned=12)
    assert named_path("/Groups/g-17", {"g-17": "Sales"}) == "/Groups/g-17 (Sales)"
    assert named_path("/Users?filter=x", {"g-17": "Sales"}) == "/Users?filter=x"


def test_the_removal_question_says_move_for_users_who_change_groups():
    from app.ui.server.sync_preview import removal_question

    plan = SimpleNamespace(adds={"Sales": ["a@x.com"]},
                           removes={"Support": ["A@x.com", "b@x.com"], "Ops": ["b@x.com"]})
    assert removal_question(plan, 2) == (
        "2 users will leave a group (1 of them move to another group).")
    plan.adds = {}
    assert removal_question(plan, 2) == "2 users will leave a group."
