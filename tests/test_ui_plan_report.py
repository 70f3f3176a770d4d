"""The exported plan a manager reads: Summary and Changes sheets, names, reasons for adds and
removals, plain headers, numbers stored as numbers."""

from __future__ import annotations

import openpyxl

from app.ui.server import sync_preview
from app.ui.server.sync_preview import PlanDialog, report_summary
from tests.test_ui_plan_removals import explained_plan


def test_the_exported_plan_is_a_workbook_a_manager_reads(qtbot, tmp_path, monkeypatch):
    dialog = PlanDialog(explained_plan())
    qtbot.addWidget(dialog)
    dialog.server_name, dialog.saved_code = "staging", "K7Q-2MX"
    target = tmp_path / "plan.xlsx"
    offered = []
    monkeypatch.setattr(sync_preview.QFileDialog, "getSaveFileName",
                        lambda parent, title, start, filters: (offered.append(start),
                                                               (str(target), ""))[1])
    assert dialog.export() == target
    assert offered[0].rsplit("/", 1)[-1].startswith("sync-plan-staging-")
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["Changes", "Summary"]
    changes = [[c.value for c in row] for row in book["Changes"].iter_rows()]
    assert changes[0] == ["Change", "Group", "Name", "Email", "Reason"]
    add = next(r for r in changes if r[0] == "Add")
    remove = next(r for r in changes if r[0] == "Remove")
    assert add[1:4] == ["Marketing", "Person 0", "u0@ex.com"] and "row 1" in add[4]
    assert remove[1] == "Customer Support" and remove[2] == "Person 0"
    assert remove[4].startswith("moved by row 1: Support -> Marketing")
    summary = {row[0].value: row[1] for row in book["Summary"].iter_rows(min_row=2)}
    assert summary["Server"].value == "staging" and summary["Plan code"].value == "K7Q-2MX"
    assert summary["Memberships to remove"].value == 3
    assert summary["Memberships to remove"].data_type == "n"  # a number, not text


def test_the_sync_reports_summary_keeps_numbers_as_numbers(tmp_path):
    from types import SimpleNamespace

    from app.io import write_workbook

    result = SimpleNamespace(cancelled=False, created_groups=["New"], added=3, removed=8,
                             unchanged=290, not_found=[], failed=[], requests=12)
    target = tmp_path / "report.xlsx"
    write_workbook(target, {"Summary": report_summary(result, None)})
    cells = {row[0].value: row[1] for row in openpyxl.load_workbook(target)["Summary"]
             .iter_rows(min_row=2)}
    assert cells["Memberships added"].value == 3 and cells["Memberships added"].data_type == "n"
    assert cells["Outcome"].value == "finished"


def test_the_plan_window_explains_additions_and_filters_to_removals(qtbot):
    dialog = PlanDialog(explained_plan())
    qtbot.addWidget(dialog)

    def lines():
        tree = dialog.tree
        return [(tree.topLevelItem(i).text(0), [tree.topLevelItem(i).child(j).text(3)
                                                for j in range(tree.topLevelItem(i).childCount())])
                for i in range(tree.topLevelItemCount())]

    groups = dict(lines())
    assert all(reason.startswith("row 1") for reason in groups["Marketing"])  # adds say why
    dialog.removals_only.setChecked(True)
    assert [name for name, _ in lines()] == ["Customer Support"]
    assert all(r.startswith("moved by row 1") for r in dict(lines())["Customer Support"])
    dialog.removals_only.setChecked(False)
    assert "Marketing" in dict(lines())
