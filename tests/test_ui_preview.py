"""The live preview: users table against the core's report, filters, sorting, summary."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from app.core.engine import evaluate
from app.core.mapping import Mapping, MappingRow, Options
from app.core.report import USER_COLUMNS, user_rows
from app.core.users import UserList
from app.ui.preview.preview_view import PreviewPanel
from app.ui.preview.summary_model import AFTER, BAR, BAR_ROLE, NAME, SummaryModel
from app.ui.preview.users_model import CHANGE, EMAIL, NEW, SOURCE, UsersModel
from app.ui.preview.users_model import NAME as USER_NAME

SOURCES = ["Sales", "Eng", "Ops", "sales", "", "Eng;Ops", "Legal"]


def make_users(n: int = 70) -> UserList:
    return UserList.from_records(
        {"email": f"user{i:03d}@x.org", "name": f"Person {(i * 37) % n:03d}",
         "status": "active" if i % 3 else "pending", "source": SOURCES[i % len(SOURCES)],
         "groups": "Engineering" if i % 5 == 0 else ""}
        for i in range(n)
    )


MAPPING = Mapping(
    (MappingRow("Sales", "Sales Team"), MappingRow("Eng", "Engineering"),
     MappingRow("Ops", "Operations")),
    Options(default_group=""),
)


@pytest.fixture
def evaluation():
    return evaluate(make_users(), MAPPING)


def table(model: UsersModel) -> list[list[str]]:
    return [[model.data(model.index(r, c)) for c in range(model.columnCount())]
            for r in range(model.rowCount())]


def test_users_model_shows_the_report(evaluation, qtmodeltester):
    model = UsersModel()
    model.set_evaluation(evaluation)
    expected = user_rows(evaluation)[USER_COLUMNS].astype(str).values.tolist()
    assert table(model) == expected
    tips = [model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
            for c in range(model.columnCount())]
    assert all(tips) and len(set(tips)) == len(tips)  # every column explains itself
    qtmodeltester.check(model)  # stays attached: checks the resets and changes below
    model.set_filter(quick="changes", text="person")
    model.sort(NEW, Qt.SortOrder.DescendingOrder)
    model.set_evaluation(evaluate(evaluation.users, MAPPING.with_rows(MAPPING.rows[:1])))
    model.set_filter(quick="all", text="")
    assert model.rowCount() == 70


def test_quick_filters_and_text_filter(evaluation):
    model = UsersModel()
    model.set_evaluation(evaluation)
    report = user_rows(evaluation)
    model.set_filter(quick="changes")
    assert {r[CHANGE] for r in table(model)} <= {"assigned", "moved", "removed"}
    assert model.rowCount() == evaluation.changes
    model.set_filter(quick="unmatched")
    assert model.rowCount() == evaluation.unmatched
    assert {r[SOURCE] for r in table(model)} == {"sales", "", "Legal", "Eng;Ops"}
    model.set_filter(quick="new groups")
    new = set(evaluation.new_groups())
    shown = table(model)
    assert shown and all(new & set(r[NEW].split("; ")) for r in shown)
    expected_new = sum(bool(new & set(v.split("; "))) for v in report["new groups"])
    assert len(shown) == expected_new
    model.set_filter(quick="all", text="PERSON 01")
    assert sorted(r[USER_NAME] for r in table(model)) == sorted(
        n for n in report["name"] if "person 01" in n.lower())
    model.set_filter(text="eng;")
    assert {r[SOURCE] for r in table(model)} == {"Eng;Ops"}
    model.set_filter(text="", group="Operations")
    assert all("Operations" in r[NEW] for r in table(model))


def test_sorting_by_any_column_matches_pandas(evaluation):
    model = UsersModel()
    model.set_evaluation(evaluation)
    report = user_rows(evaluation)
    for column, name in ((USER_NAME, "name"), (EMAIL, "email"), (NEW, "new groups"),
                         (SOURCE, "source value")):
        model.sort(column, Qt.SortOrder.DescendingOrder)
        expected = report.sort_values(name, ascending=False, kind="stable")[name].tolist()
        assert [r[column] for r in table(model)] == expected


def test_edit_keeps_filter_and_refreshes_rows(evaluation):
    model = UsersModel()
    model.set_evaluation(evaluation)
    model.set_filter(quick="unmatched")
    before = model.rowCount()
    after = evaluate(evaluation.users, MAPPING.with_rows(
        MAPPING.rows + (MappingRow("Legal", "Legal"),)))
    model.set_evaluation(after)
    assert model.rowCount() == before - 10 == after.unmatched


def test_drift_filter_and_reason(evaluation):
    model = UsersModel()
    model.set_evaluation(evaluation)
    mask = np.zeros(len(evaluation.users), dtype=bool)
    mask[[1, 4]] = True
    model.set_drift(mask)
    model.set_filter(quick="drift")
    assert [r[EMAIL] for r in table(model)] == ["user001@x.org", "user004@x.org"]
    assert "differ from the server" in table(model)[0][-1]


def test_summary_model_bars_and_sorting(evaluation, qtmodeltester):
    model = SummaryModel()
    model.set_evaluation(evaluation)
    qtmodeltester.check(model)
    model.set_evaluation(evaluate(evaluation.users, MAPPING.with_rows(MAPPING.rows[:1])))
    model.set_evaluation(evaluation)
    names = [model.data(model.index(r, NAME)) for r in range(model.rowCount())]
    assert names == sorted(s.name for s in evaluation.group_summaries())
    model.sort(AFTER, Qt.SortOrder.DescendingOrder)
    afters = [int(model.data(model.index(r, AFTER)).replace(",", ""))
              for r in range(model.rowCount())]
    assert afters == sorted(afters, reverse=True)
    before, after, largest = model.data(model.index(0, BAR), BAR_ROLE)
    assert largest == max(max(s.before, s.after) for s in evaluation.group_summaries())


def test_clicking_a_group_shows_its_users(evaluation, qtbot):
    panel = PreviewPanel()
    qtbot.addWidget(panel)
    panel.set_evaluation(evaluation)
    row = panel.summary_model.row_of("Operations")
    qtbot.mouseClick(panel.summary.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.summary.visualRect(panel.summary_model.index(row, 0)).center())
    assert panel.users_model.filter.group == "Operations"
    assert panel.group_chip.isVisibleTo(panel)
    assert panel.count_label.text().startswith("Showing")
    panel.group_chip.click()
    assert panel.users_model.filter.group == "" and panel.users_model.rowCount() == 70
    panel.show()  # the keyboard does the same: Enter lists the current group, again everyone
    qtbot.waitExposed(panel)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    panel.summary.setFocus()
    panel.summary.setCurrentIndex(panel.summary_model.index(row, 0))
    qtbot.keyClick(panel.summary, Qt.Key.Key_Return)
    assert panel.users_model.filter.group == "Operations"
    qtbot.keyClick(panel.summary, Qt.Key.Key_Space)
    assert panel.users_model.filter.group == ""


def test_copy_selected_users_as_tab_separated_text(evaluation, qtbot):
    from PySide6.QtGui import QGuiApplication

    panel = PreviewPanel()
    qtbot.addWidget(panel)
    panel.set_evaluation(evaluation)
    panel.users_model.set_filter(quick="unmatched")
    panel.users.selectRow(0)
    panel.copy_users()
    lines = QGuiApplication.clipboard().text().splitlines()
    report = user_rows(evaluation)
    first_unmatched = report[report["change"] == "unmatched"].iloc[0]
    assert lines[0].split("\t")[:2] == ["Name", "Email"]
    assert lines[1].split("\t") == [str(v) for v in first_unmatched[USER_COLUMNS]]


def _contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        def f(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * f(c.redF()) + 0.7152 * f(c.greenF()) + 0.0722 * f(c.blueF())

    high, low = sorted((lum(a), lum(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_change_colours_are_readable_in_light_and_dark_mode(evaluation, qapp):
    from app.ui.preview.users_model import CHANGE, CHANGE_COLORS

    for light, dark in CHANGE_COLORS.values():
        assert _contrast(QColor(light), QColor("#ffffff")) >= 4.5
        assert _contrast(QColor(dark), QColor("#1e1e1e")) >= 4.5
    model = UsersModel()
    model.set_evaluation(evaluation)
    row = next(r for r in range(model.rowCount())
               if model.data(model.index(r, CHANGE)) in ("assigned", "moved", "removed"))
    index = model.index(row, CHANGE)
    original = qapp.palette()
    try:
        for base, expected in (("#ffffff", 0), ("#1e1e1e", 1)):
            palette = QPalette(original)
            palette.setColor(QPalette.ColorRole.Base, QColor(base))
            qapp.setPalette(palette)
            shown = model.data(index, Qt.ItemDataRole.ForegroundRole)
            assert shown.name() in {pair[expected] for pair in CHANGE_COLORS.values()}
    finally:
        qapp.setPalette(original)


def test_group_names_fill_the_summary_but_never_shrink_to_dots(qtbot, evaluation):
    from app.ui.preview.preview_view import PreviewPanel
    from app.ui.preview.summary_model import NAME

    panel = PreviewPanel()
    qtbot.addWidget(panel)
    panel.set_evaluation(evaluation)
    header = panel.summary.horizontalHeader()
    floor = panel.group_column.minimum

    def others() -> int:
        return sum(header.sectionSize(c) for c in range(header.count()) if c != NAME)

    panel.resize(1200, 500)
    panel.show()
    qtbot.waitUntil(lambda: header.sectionSize(NAME) > floor)
    assert header.sectionSize(NAME) + others() == panel.summary.viewport().width()  # fills
    panel.resize(400, 500)  # narrower than the number columns: scroll, keep the names
    qtbot.waitUntil(lambda: panel.summary.viewport().width() < others())
    assert header.sectionSize(NAME) == floor
    assert panel.summary.horizontalScrollBar().maximum() > 0


def test_current_and_new_groups_are_listed_in_the_same_order(qtbot):
    from app.core.engine import evaluate
    from app.core.mapping import Mapping, MappingRow, Options
    from app.core.users import UserList
    from app.ui.preview.users_model import CURRENT, NEW, UsersModel

    users = UserList.from_records([{"email": "a@x.org", "name": "A", "status": "active",
                                    "source": "Sales", "groups": "Sales; Leadership"}])
    mapping = Mapping((MappingRow("Sales", "Sales"),), Options(apply_existing=True))
    model = UsersModel()
    model.set_evaluation(evaluate(users, mapping))
    current = model.data(model.index(0, CURRENT))
    assert model.data(model.index(0, NEW)) == current == "Sales; Leadership"
