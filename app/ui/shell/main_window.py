"""The main window: mapping grid and options on the left, live preview on the right, Problems below.

The window lays out and wires its parts: `files` (app/ui/files/file_controller.py: open, save,
import, export, autosave, recent files), `tasks` (app/ui/base/worker.py: every background job),
`status` (app/ui/shell/status_bar.py), `window_layout` (app/ui/shell/window_layout.py). It
implements SyncWindow (app/ui/server/sync_window.py), all the sync controller uses of it:
`document`, `set_drift(emails)`, `server_menu`, `toolbar`, `tasks` and a few more listed there.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.identity import email_key, email_keys
from app.core.warnings import Warning
from app.ui.base.document import Document
from app.ui.base.fold import DockFold, FoldingSection
from app.ui.base.icons import app_icon, retint, set_icon
from app.ui.base.worker import TaskRunner
from app.ui.files.file_controller import FileController
from app.ui.mapping.commands import MappingEditor
from app.ui.mapping.expectations_panel import install_expectations
from app.ui.mapping.mapping_view import MappingPanel
from app.ui.mapping.options_panel import OptionsPanel
from app.ui.mapping.problems_panel import ProblemsPanel
from app.ui.preview.preview_view import QUICK, PreviewPanel
from app.ui.server.install import install_sync
from app.ui.server.sync_controller import SyncController
from app.ui.shell.appearance import Appearance
from app.ui.shell.empty_state import EmptyState
from app.ui.shell.keyboard import KeyboardPaths
from app.ui.shell.status_bar import WindowStatus
from app.ui.shell.window_layout import WindowLayout

GROUP_SOURCES = ("export", "server", "mapping")


class MainWindow(KeyboardPaths, QMainWindow):
    sync_controller: SyncController  # set by install_sync
    expectations_dock: QDockWidget  # set by install_expectations

    def __init__(self, settings: QSettings | None = None, data_dir: Path | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.document = Document(self)
        self.editor = MappingEditor(self.document, self)
        self.tasks = TaskRunner(self)  # every background task of the window, the sync's too
        self.files = FileController(self.document, self.editor, self.settings, self,
                                    self.statusBar(), self.tasks, data_dir)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setMinimumSize(760, 520)  # 1024x640 screens, with the window's frame
        self._known: dict[str, list[str]] = {source: [] for source in GROUP_SOURCES}
        self._completion_tokens: object = None  # the tokens the Value editor completes from

        self.mapping_panel = MappingPanel(self.editor, self)
        self.options_panel = OptionsPanel(self.editor, self)
        self.preview = PreviewPanel(self)
        self.problems = ProblemsPanel(self.editor, self)
        self.files.columnsFound.connect(self.options_panel.set_columns)
        self._build_layout()
        self.window_layout = WindowLayout(self, self.settings, self.splitter,
                                          self.preview.splitter, self.mapping_panel.needed_width,
                                          self.preview.summary_height)
        self._build_actions()
        self.status = WindowStatus(self, self.tasks)
        install_expectations(self)  # the Expectations tab beside Problems, "Expect This"
        self.dock_fold = DockFold(self, [self.problems_dock, self.expectations_dock])

        self.document.evaluationChanged.connect(self._evaluation_changed)
        self.document.mappingChanged.connect(
            lambda: self.set_known_groups("mapping", self.document.mapping.managed_groups()))
        self.document.usersChanged.connect(self._users_changed)
        self.document.serverGroupsChanged.connect(
            lambda: self.set_known_groups("server", list(self.document.server_groups))
        )
        self.document.dirtyChanged.connect(lambda _: self._update_title())
        self.document.draftPathChanged.connect(self._update_title)
        self.problems.problemSelected.connect(self.show_problem)
        self.problems.fixNeedsInput.connect(self._fix_needs_input)
        self._users_changed()
        self._evaluation_changed()
        self._update_title()
        install_sync(self)  # the Server menu: connect, refresh, preview, sync
        for signal in (self.document.usersChanged, self.document.exportChanged,
                       self.sync_controller.refreshed,
                       self.sync_controller.connectionChanged):
            signal.connect(self._show_before_source)
        self._order_start_page_tabs()
        self._build_keyboard_paths()
        self.window_layout.restore(self.options_box, self.dock_fold)

    # --- layout --------------------------------------------------------------------------

    def _build_layout(self) -> None:
        self.options_box = FoldingSection("Options", self.options_panel, self)
        self.options_panel.summaryChanged.connect(self.options_box.set_summary)
        self.options_box.set_summary(self.options_panel.summary())
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 3, 4)
        title = QLabel("<b>Mapping</b> — the first matching row decides", left)
        title.setTextFormat(Qt.TextFormat.RichText)
        left_layout.addWidget(title)
        left_layout.addWidget(self.mapping_panel, 1)
        left_layout.addWidget(self.options_box)

        self.empty_state = EmptyState(self)
        self.empty_state.button.clicked.connect(self.files.open_export_dialog)
        self.right = QStackedWidget(self)
        preview_box = QWidget(self)
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.setContentsMargins(3, 6, 6, 4)
        preview_layout.addWidget(self.preview, 1)  # its heading says whose "before" it shows
        self.right.addWidget(self.empty_state)
        self.right.addWidget(preview_box)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setSizes([540, 740])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        self.problems_dock = QDockWidget("Problems", self)
        self.problems_dock.setObjectName("problems")
        self.problems_dock.setWidget(self.problems)
        self.problems_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.problems_dock)
        self.resizeDocks([self.problems_dock], [130], Qt.Orientation.Vertical)

    def _action(self, text: str, slot: Callable[..., object],
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                icon_name: str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon_name:
            set_icon(action, icon_name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if tip:
            action.setToolTip(f"{tip} ({keys})" if keys else tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _show_idp_rules(self) -> None:
        from app.ui.files.idp_rules_dialog import IdpRulesDialog

        IdpRulesDialog(self.document.mapping, self.document.users, self).exec()

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        a = self._action
        files = self.files
        self.actions_by_name = {
            "new": a("&New Draft", files.new_draft, key.New, "document-new",
                     "Start a new mapping"),
            "open": a("&Open…", files.open_dialog, key.Open, "document-open",
                      "Open a draft (.json) or an export (.xlsx, .csv)"),
            "save": a("&Save", files.save, key.Save, "document-save", "Save the draft"),
            "save_as": a("Save &As…", files.save_as, key.SaveAs, None,
                         "Save the draft under a new name"),
            "open_export": a("Open &Export…", files.open_export_dialog, "Ctrl+I", "import-export",
                             "Open your SaaS admin console's user export, e.g. Calendly's"
                             " (.xlsx, .csv)"),
            "open_scim": a("&SCIM Server…", lambda: files.live.open_from("scim"), None, None,
                           "Read the users and a value from a SCIM server's /Users"),
            "open_entra": a("&Entra ID…", lambda: files.live.open_from("entra"), None, None,
                            "Read the users and a value from Microsoft Entra ID (Graph)"),
            "open_okta": a("&Okta…", lambda: files.live.open_from("okta"), None, None,
                           "Read the users and a value from Okta"),
            "read_again": a("&Read the Source Again", files.live.read_again, None, None,
                            "Read the users of the live source again, as it holds them now"),
            "add_export": a("A&dd Export…", files.add_export_dialog, None, None,
                            "Combine another export with the open one (e.g. pending users)"),
            "import_mapping": a("&Import Mapping…", files.import_mapping_dialog, "Ctrl+Shift+I",
                                None, "Replace the rows with a mapping table, or append it"
                                " (.xlsx, .csv)"),
            "export_mapping": a("Export &Mapping…", files.export_mapping_dialog, "Ctrl+Shift+E",
                                None, "Save the rows as a mapping table (.xlsx, .csv)"),
            "export_rules": a("Export Mapping as Identity-Provider R&ules…", self._show_idp_rules,
                              None, None, "The mapping as Entra, Okta or Google rules, to copy"),
            "export_preview": a("Export &Preview…", files.export_preview_dialog, "Ctrl+E",
                                "export-preview",
                                "Save the preview: Summary, Groups, Users, Problems (.xlsx, .csv)"),
            "quit": a("&Quit", self.close, QKeySequence(key.Quit).toString() or "Ctrl+Q", None,
                      "Close GroupMap"),
            "find": a("&Filter Users", self._focus_search, key.Find, None,
                      "Filter the users by name, email or value"),
        }
        undo = self.editor.stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence(key.Undo))
        set_icon(undo, "edit-undo")
        redo = self.editor.stack.createRedoAction(self, "&Redo")
        redo.setShortcuts(list(dict.fromkeys(
            [*QKeySequence.keyBindings(key.Redo), QKeySequence("Ctrl+Shift+Z")])))
        set_icon(redo, "edit-redo")
        self.actions_by_name.update(undo=undo, redo=redo)
        grid = self.mapping_panel.actions
        names = self.actions_by_name

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([names["new"], names["open"]])
        self.recent_menu = files.recent.menu
        file_menu.addMenu(self.recent_menu)
        file_menu.addActions([names["save"], names["save_as"]])
        file_menu.addSeparator()
        file_menu.addAction(names["open_export"])
        open_from = file_menu.addMenu("Open &From")
        open_from.addActions([names["open_scim"], names["open_entra"], names["open_okta"]])
        open_from.addSeparator()
        open_from.addAction(names["read_again"])
        file_menu.addActions([names["add_export"], names["import_mapping"],
                              names["export_mapping"], names["export_rules"],
                              names["export_preview"]])
        file_menu.addSeparator()
        file_menu.addAction(names["quit"])

        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addActions([undo, redo])
        edit_menu.addSeparator()
        edit_menu.addActions([grid["cut"], grid["copy"], grid["paste"], grid["clear"]])
        edit_menu.addSeparator()
        edit_menu.addActions([grid[n] for n in ("add", "delete", "duplicate", "up", "down")])
        edit_menu.addSeparator()
        edit_menu.addAction(grid["unmapped"])

        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(names["find"])
        for n, (k, label, tip) in enumerate(q for q in QUICK if q[0] != "drift"):
            action = a(f"Show &{label.title()}", lambda _=False, q=k: self.preview.set_quick(q),
                       f"Ctrl+{n + 1}", None, tip)
            view_menu.addAction(action)
        view_menu.addSeparator()
        names["problems"] = a("Go to &Problems", self.focus_problems, "Ctrl+Shift+P", None,
                              "Show the Problems panel and move the focus to it")
        view_menu.addAction(names["problems"])
        panel_toggle = self.problems_dock.toggleViewAction()
        panel_toggle.setText("Pr&oblems Panel")
        view_menu.addAction(panel_toggle)
        self.view_menu = view_menu
        view_menu.addSeparator()
        self.appearance = Appearance(self.settings, view_menu)  # System, Light, Dark

        self.server_menu = self.menuBar().addMenu("&Server")
        self.help_menu = self.menuBar().addMenu("&Help")  # the sync side adds Setup help
        self.help_menu.addAction(a("&About GroupMap", self._about))

        self.toolbar = QToolBar("Main", self)
        self.toolbar.setObjectName("main-toolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setIconSize(QSize(20, 20))  # rows for the tables on a laptop screen
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.addActions([names["new"], names["open"], names["save"]])
        self.toolbar.addSeparator()
        self.toolbar.addAction(names["open_export"])
        self.toolbar.addAction(names["export_preview"])
        self.toolbar.addSeparator()
        self.toolbar.addActions([undo, redo])
        self.toolbar.addSeparator()
        for action in self.toolbar.actions():
            button = self.toolbar.widgetForAction(action)
            if isinstance(button, QToolButton) and action in (undo, redo, names["new"]):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(self.toolbar)
        for action in self.actions_by_name.values():
            self.addAction(action)
        for name, action in grid.items():  # clipboard keys only in the grid; row edits anywhere
            scoped = name in ("copy", "cut", "paste", "clear")
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut if scoped
                                      else Qt.ShortcutContext.WindowShortcut)

    # --- document changes ----------------------------------------------------------------

    def _users_changed(self) -> None:
        users = self.document.users
        self.right.setCurrentIndex(0 if users is None else 1)
        # The hidden start page must not keep the preview side wide (the grid's Status).
        self.empty_state.setSizePolicy(
            QSizePolicy.Policy.Preferred if users is None else QSizePolicy.Policy.Ignored,
            QSizePolicy.Policy.Preferred)
        if users is not None:
            self.window_layout.export_opened()
        self.set_known_groups("export", list(users.group_names) if users is not None else [])

    def _update_value_completion(self) -> None:
        """The export's distinct values (as split by the separator) for the Value editor."""
        evaluation = self.document.evaluation
        tokens = evaluation.tokens if evaluation is not None else None
        if tokens is self._completion_tokens:
            return
        self._completion_tokens = tokens
        values = [str(v) for v in tokens.spelling] if tokens is not None else []
        self.mapping_panel.value_delegate.set_values(sorted(values, key=str.casefold))

    def _evaluation_changed(self) -> None:
        evaluation = self.document.evaluation
        self.preview.set_evaluation(evaluation)
        self._update_value_completion()
        self.actions_by_name["export_preview"].setEnabled(evaluation is not None)
        self.actions_by_name["add_export"].setEnabled(evaluation is not None)
        self.status.show_counts(evaluation)
        self.problems_dock.setWindowTitle(self.problems.summary())
        self.mapping_panel._selection_changed()

    def _show_before_source(self, *_: object) -> None:
        """The preview's heading says whose groups "Before" shows: the server's or the
        export's."""
        controller, paths = self.sync_controller, self.document.export_paths
        if controller.server_state is not None and controller.profile is not None:
            source = f"server {controller.profile.name}"
        else:
            source = f"the export {', '.join(p.name for p in paths)}" if paths else ""
        self.preview.set_before_source(source)
        self.files.before_source = source  # the exported preview's Summary says it too

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.draft_name}[*] — GroupMap")
        self.setWindowModified(self.document.dirty)
        self.status.show_draft(self.document)

    def _order_start_page_tabs(self) -> None:
        """Tab goes left to right on the start page too: options, Open Export, help, Problems."""
        chain = [self.options_panel.apply_existing, self.empty_state.button]
        if self.sync_controller.empty_help_button is not None:
            chain.append(self.sync_controller.empty_help_button)
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    # --- contract with the sync helper ---------------------------------------------------

    def set_known_groups(self, source: str, names: list[str]) -> None:
        """Groups for the Group combo: source is "export", "server" or "mapping"."""
        self._known[source] = list(names)
        existing = set(self._known["export"]) | set(self._known["server"])
        every = dict.fromkeys(self._known["server"] + self._known["export"]
                              + self._known["mapping"])
        ordered = sorted(every, key=str.casefold)
        self.mapping_panel.group_delegate.set_groups(ordered, existing)
        self.mapping_panel.model.set_known_groups(existing)
        self.options_panel.set_groups(ordered)

    def set_drift(self, emails: list[str]) -> None:
        """Flag users whose export row disagrees with the server (Drift filter, reason note)."""
        users = self.document.users
        if users is None:
            return
        wanted = {email_key(e) for e in emails}
        mask = email_keys(users.frame["email"]).isin(wanted).to_numpy(dtype=bool)
        self.preview.set_drift(np.asarray(mask, dtype=bool))

    # --- navigation ----------------------------------------------------------------------

    def show_problem(self, warning: Warning) -> None:
        """Select what a problem is about: its mapping row, or the users with its value."""
        if warning.row is not None and warning.row <= len(self.document.mapping.rows):
            self.mapping_panel.select_rows([warning.row - 1])
        if self.document.evaluation is None:
            return
        if warning.code in ("unmatched_value", "near_miss") and warning.value:
            self.preview.set_group("")
            self.preview.set_quick("all")
            self.preview.set_value(warning.value)  # exactly its users, as a clearable chip
        elif warning.code == "blank_value":
            self.preview.set_quick("all")
            self.preview.set_value("")
        elif warning.code == "unmatched_values_more":
            self.preview.set_value(None)
            self.preview.set_quick("unmatched")

    def _focus_search(self) -> None:
        self.preview.search.setFocus()
        self.preview.search.selectAll()

    def _about(self) -> None:
        from app.ui.shell.about import show_about

        show_about(self)

    # --- drag and drop, close ------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and self.files.droppable(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self.files.droppable(event.mimeData().urls())
        if paths:
            event.acceptProposedAction()
            QTimer.singleShot(0, lambda: self.files.open_paths(list(paths)))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.window_layout.shown()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            retint(self)  # the system switched between light and dark
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.confirm_discard("closing"):
            event.ignore()
            return
        self.tasks.cancel_all()  # an import, a read or a sync stops at its next check
        self.window_layout.save()
        self.files.finish_autosave()
        event.accept()
