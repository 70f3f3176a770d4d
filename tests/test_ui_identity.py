"""The app's Problems panel on the identity rule and issue 24: near-duplicate group names
are warnings (with a fix), what the admin chose is info, shown after the warnings."""

import unicodedata

import pytest
from PySide6.QtCore import Qt

from app.core.mapping import Mapping, MappingRow, MatchKind, Options
from app.core.users import UserList
from app.ui.base.icons import icon

CAFE_NFD = unicodedata.normalize("NFD", "Café")
pytestmark = pytest.mark.usefixtures("discard_on_close")  # from tests/ui_fixtures.py


def users() -> UserList:
    sources = [("A", "Old"), ("B", ""), ("C", ""), ("", ""), ("sales - emea", "")]
    return UserList.from_records(
        {"email": f"u{i}@x.org", "name": f"U{i}", "status": "active", "source": s, "groups": g}
        for i, (s, g) in enumerate(sources)
    )


MAPPING = Mapping(
    (MappingRow("A", "Legal"), MappingRow("B", "legal"), MappingRow("C", "Sales"),
     MappingRow("D", "Sales\u200b"), MappingRow("E", "Café"), MappingRow("F", CAFE_NFD),
     MappingRow("Sales - EMEA", "EMEA", MatchKind.STARTS_WITH)),
    Options(default_group="Everyone"),
)


def test_near_duplicate_groups_are_warnings_and_info_comes_last_with_its_icon(window):
    window.document.set_users(users())
    window.editor.reset(MAPPING)
    problems = window.problems
    near = [w for w in problems.warnings if w.code == "near_duplicate_group"]
    assert [(w.row, w.value) for w in near] == [(2, "legal"), (4, "Sales\u200b"), (6, CAFE_NFD)]
    assert [w.row for w in problems.warnings if w.code == "near_miss"] == [7]
    severities = [w.severity for w in problems.warnings]
    info = [w.code for w in problems.warnings if w.severity == "info"]
    assert {"blank_value", "kept_by_apply_existing"} <= set(info)
    assert severities == sorted(severities, key=lambda s: s == "info")
    last = problems.list.item(problems.list.count() - 1)
    assert last.data(Qt.ItemDataRole.AccessibleDescriptionRole) == "info"
    assert last.icon().pixmap(16).toImage() == icon("status-info").pixmap(16).toImage()
    first = problems.list.item(0)
    assert first.icon().pixmap(16).toImage() != icon("status-info").pixmap(16).toImage()
    shown = [problems.list.item(i).text() for i in range(problems.list.count())]
    assert shown == [w.message for w in problems.warnings]
    assert problems.summary() == f"Problems ({len(severities) - len(info)})"


def test_the_fix_spells_the_group_one_way(window):
    window.document.set_users(users())
    window.editor.reset(MAPPING)
    problems = window.problems
    row = next(i for i, w in enumerate(problems.warnings) if w.value == "legal")
    problems.list.setCurrentRow(row)
    assert problems.fix_label.text() == "Fix: Spell the group 'Legal' everywhere"
    problems.apply_fix()
    assert [r.group for r in window.document.mapping.rows[:2]] == ["Legal", "Legal"]
    assert not [w for w in problems.warnings if w.value == "legal"]
    window.editor.stack.undo()
    assert window.document.mapping.rows[1].group == "legal"
    window.editor.mark_saved()


def test_the_grid_status_of_a_near_duplicate_group_row(window):
    from app.ui.mapping.mapping_model import STATUS

    window.document.set_users(users())
    window.editor.reset(MAPPING)
    model = window.mapping_panel.model
    assert model.data(model.index(1, STATUS)) == "same group as another row"
    assert "differ only by case" in model.data(model.index(1, STATUS), Qt.ItemDataRole.ToolTipRole)
    window.editor.mark_saved()
