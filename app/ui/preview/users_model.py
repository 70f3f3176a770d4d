"""The per-user preview table: a view onto numpy columns, smooth at a million rows.

The model holds `order`, the user indices currently shown (None = every user in export
order). data() reads one cell from a cached numpy array, or, for the columns that depend on
the mapping, a per-profile string built lazily for the visible rows only. Filtering and
sorting build a new `order` with vectorized numpy/pandas; no proxy model, no Python loop
over users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from app.core.engine import Change, Evaluation
from app.core.explain import cells_with_value
from app.core.report import after_in_current_order
from app.core.users import UserList, join_groups
from app.ui.base.table_model import HeaderedTableModel, Index, accessible_text

NAME, EMAIL, STATUS, SOURCE, CURRENT, NEW, CHANGE, REASON = range(8)
HEADERS = (
    "Name", "Email", "Status", "Source value", "Current groups", "New groups", "Change", "Reason",
)
HEADER_TIPS = (
    "The user's name in the export",
    "The user's email address",
    "The user's status in the export (active, pending…)",
    "The export's value in the source column, which the mapping rows match",
    "Groups today: the export's, or the server's after Refresh from server",
    "Groups after a sync of this mapping",
    "What happens to the user: assigned, moved, removed, unchanged or unmatched",
    "Which mapping row decided, and why (hover a cell for the whole text)",
)
FRAME_COLUMN = {NAME: "name", EMAIL: "email", STATUS: "status", SOURCE: "source",
                CURRENT: "groups"}
CHANGE_COLORS = {  # (on a light table, on a dark one): both readable (contrast >= 4.5)
    Change.ASSIGNED: ("#1e7b3a", "#4cc36f"),
    Change.MOVED: ("#1f63c6", "#6ea8fe"),
    Change.REMOVED: ("#b3261e", "#ff7b72"),
    Change.UNMATCHED: ("#8f5b00", "#f0a92a"),
}
DRIFT_NOTE = "the export's current groups differ from the server's"


@dataclass
class Filter:
    text: str = ""
    quick: str = "all"
    group: str = ""  # show only users in this group before or after
    value: str | None = None  # show only users holding exactly this value ("" = no value)


class UsersModel(HeaderedTableModel):
    headers = HEADERS
    header_tips = HEADER_TIPS

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.evaluation: Evaluation | None = None
        self._users: UserList | None = None
        self._columns: dict[int, np.ndarray] = {}
        self._sort_keys: dict[int, np.ndarray] = {}
        self._profile_text: dict[tuple[int, int], str] = {}
        self.order: np.ndarray | None = None
        self.filter = Filter()
        self.sort_column, self.sort_order = -1, Qt.SortOrder.AscendingOrder
        self.drift = np.zeros(0, dtype=bool)
        self._count = 0

    # --- inputs --------------------------------------------------------------------------

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        """A new evaluation: refresh what depends on the mapping, keep what depends on users."""
        users = evaluation.users if evaluation is not None else None
        new_users = users is not self._users
        if new_users:
            self._users = users
            self._columns = {
                col: users.frame[name].to_numpy(dtype=object)
                for col, name in FRAME_COLUMN.items()
            } if users is not None else {}
            self._sort_keys = {}
            self.drift = np.zeros(len(users) if users is not None else 0, dtype=bool)
        self.evaluation = evaluation
        self._profile_text = {}
        self._sort_keys = {k: v for k, v in self._sort_keys.items() if k in FRAME_COLUMN}
        depends_on_mapping = (
            self.filter.quick not in ("all", "drift")
            or bool(self.filter.group)
            or self.filter.value is not None
            or self.sort_column in (NEW, CHANGE, REASON)
        )
        if new_users or depends_on_mapping:
            self._rebuild()
        else:
            self._changed()

    def set_filter(self, text: str | None = None, quick: str | None = None,
                   group: str | None = None) -> None:
        """Text, quick filter and group; the value chip is set by set_value_filter."""
        if text is not None:
            self.filter.text = text.strip()
        if quick is not None:
            self.filter.quick = quick
        if group is not None:
            self.filter.group = group
        self._rebuild()

    def set_value_filter(self, value: str | None) -> None:
        """Only the users holding exactly `value` (a problem's users); None clears it."""
        self.filter.value = value
        self._rebuild()

    def set_drift(self, mask: np.ndarray) -> None:
        self.drift = mask
        self._rebuild()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column, self.sort_order = column, order
        self._rebuild()

    def user_at(self, row: int) -> int:
        return int(self.order[row]) if self.order is not None else row

    # --- order ---------------------------------------------------------------------------

    def _rebuild(self) -> None:
        self.beginResetModel()
        self.order = self._compute_order()
        self._count = len(self.order) if self.order is not None else self._n_users()
        self.endResetModel()

    def _changed(self) -> None:
        if self._count:
            self.dataChanged.emit(self.index(0, 0), self.index(self._count - 1, REASON))

    def _n_users(self) -> int:
        return len(self._users) if self._users is not None else 0

    def _compute_order(self) -> np.ndarray | None:
        if self._users is None:
            return None
        mask = self._mask()
        index = np.flatnonzero(mask) if mask is not None else None
        if self.sort_column >= 0:
            key = self._sort_key(self.sort_column)
            if self.sort_order == Qt.SortOrder.DescendingOrder:
                key = -key
            if index is None:
                index = np.argsort(key, kind="stable")
            else:
                index = index[np.argsort(key[index], kind="stable")]
        return index

    def _mask(self) -> np.ndarray | None:
        users, evaluation, f = self._users, self.evaluation, self.filter
        mask = None

        def both(m: np.ndarray) -> None:
            nonlocal mask
            mask = m if mask is None else mask & m

        if f.text:
            frame = users.frame
            def contains(series: pd.Series) -> np.ndarray:
                return series.str.contains(f.text, case=False, regex=False).to_numpy(bool)

            cells = pd.Series(users.cells, dtype=object).astype(str)
            both(contains(frame["name"]) | contains(frame["email"])
                 | contains(cells)[users.cell_codes])
        if f.quick == "drift":
            both(self.drift)
        elif f.quick != "all" and evaluation is not None:
            both(self._profile_mask(f.quick)[users.profiles.of_user])
        if f.group and evaluation is not None:
            both(self._group_mask(f.group)[users.profiles.of_user])
        if f.value is not None and evaluation is not None:
            both(cells_with_value(evaluation, f.value)[users.cell_codes])
        return mask

    def _profile_mask(self, quick: str) -> np.ndarray:
        evaluation = self.evaluation
        if quick == "changes":
            return evaluation.changed_profiles
        if quick == "unmatched":
            return evaluation.unmatched_profiles
        return evaluation.profiles_in_new_groups()

    def _group_mask(self, group: str) -> np.ndarray:
        return self.evaluation.profiles_in_group(group)

    @property
    def evaluation_users(self) -> UserList | None:
        return self._users

    def has_sort_key(self, column: int) -> bool:
        return column in self._sort_keys

    def add_sort_keys(self, users: UserList, keys: dict[int, np.ndarray]) -> None:
        """Keys ranked in the background (frame_sort_keys) for these users; later sorts by
        those columns take milliseconds."""
        if users is self._users:
            self._sort_keys.update({c: k for c, k in keys.items() if c not in self._sort_keys})

    def _sort_key(self, column: int) -> np.ndarray:
        """An integer rank per user for the column (frame columns cached per user list)."""
        if column in self._sort_keys:
            return self._sort_keys[column]
        users, evaluation = self._users, self.evaluation
        if column in FRAME_COLUMN:
            key = frame_sort_keys(users, [column])[column]
        else:
            if column == CHANGE:
                texts = evaluation.profile_change.astype(np.int64)
            else:
                n = len(users.profiles)
                texts = np.array([self._text(column, p) for p in range(n)], dtype=object)
            key = _ranks(texts)[users.profiles.of_user]
        self._sort_keys[column] = key
        return key

    def rows_text(self, rows: list[int]) -> str:
        """Shown rows as tab-separated lines with a header line, for the clipboard."""
        if self._users is None or not rows:
            return ""
        picked = np.asarray(rows, dtype=np.int64)
        users = self.order[picked] if self.order is not None else picked
        columns = []
        for col in range(len(HEADERS)):
            if col in self._columns:
                columns.append(self._columns[col][users])
            elif self.evaluation is None:
                columns.append(np.full(len(users), "", dtype=object))
            else:
                profiles = self._users.profiles.of_user[users]
                unique, inverse = np.unique(profiles, return_inverse=True)
                texts = np.array([self._text(col, int(p)) for p in unique], dtype=object)
                columns.append(texts[inverse])
        lines = ["\t".join(HEADERS)]
        lines += ["\t".join(str(cell).replace("\t", " ") for cell in row)
                  for row in zip(*columns, strict=True)]
        return "\n".join(lines) + "\n"

    # --- cells ---------------------------------------------------------------------------

    def _text(self, column: int, profile: int) -> str:
        cached = self._profile_text.get((column, profile))
        if cached is None:
            evaluation = self.evaluation
            if column == NEW:  # in the Current column's order: unchanged reads unchanged
                cached = join_groups(after_in_current_order(evaluation, profile))
            elif column == CHANGE:
                cached = Change(int(evaluation.profile_change[profile])).label
            else:
                cached = evaluation.profile_reason(profile)
            self._profile_text[(column, profile)] = cached
        return cached

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self._users is None:
            return None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return accessible_text(self, index)
        col = index.column()
        user = self.user_at(index.row())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if col in self._columns:
                return self._columns[col][user]
            if self.evaluation is None:
                return ""
            profile = int(self._users.profiles.of_user[user])
            text = self._text(col, profile)
            if col == REASON and self.drift[user]:
                text = f"{text}; {DRIFT_NOTE}"
            return text
        if role == Qt.ItemDataRole.ForegroundRole and col == CHANGE and self.evaluation is not None:
            change = Change(int(self.evaluation.user_change[user]))
            colors = CHANGE_COLORS.get(change)
            if colors is None:
                return None
            dark = QGuiApplication.palette().color(QPalette.ColorRole.Base).lightness() < 128
            return QColor(colors[dark])
        return None


def frame_sort_keys(users: UserList, columns: list[int] | tuple[int, ...] = tuple(FRAME_COLUMN)
                    ) -> dict[int, np.ndarray]:
    """Per export column, an integer rank per user: no Qt, so a worker thread can rank a
    million names while the window stays responsive."""
    keys: dict[int, np.ndarray] = {}
    for column in columns:
        if column == SOURCE:
            keys[column] = _ranks(users.cells)[users.cell_codes]
        elif column == CURRENT:
            keys[column] = _ranks(np.array([join_groups(s) for s in users.groupsets],
                                           dtype=object))[users.groupset_codes]
        else:
            keys[column] = _ranks(users.frame[FRAME_COLUMN[column]].to_numpy(dtype=object))
    return keys


def _ranks(values: np.ndarray) -> np.ndarray:
    """Dense integer ranks of values (sorted factorization), the cheap way to argsort text."""
    codes, _ = pd.factorize(pd.Series(values), sort=True)
    return codes.astype(np.int64)
