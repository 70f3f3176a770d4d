"""Keyboard paths through the window: F6 between panes, window shortcuts over text fields,
access keys on every dialog button."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QLineEdit,
    QMessageBox,
    QWidget,
)

# Keys a text field keeps for itself even where a window action has the same shortcut.
TEXT_KEYS = (
    QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Cut, QKeySequence.StandardKey.Paste,
    QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo,
    QKeySequence.StandardKey.SelectAll, QKeySequence.StandardKey.Delete,
)

BUTTON_TEXTS = {  # standard buttons by name, each with its access key
    "Save": "&Save", "Discard": "&Don't Save", "Cancel": "&Cancel", "Ok": "&OK", "Yes": "&Yes",
    "No": "&No", "Close": "&Close", "Retry": "&Retry", "Apply": "&Apply", "Help": "&Help",
}


class KeyboardPaths:
    """Mixin of MainWindow: Tab out of tables, F6 between panes, Go to Problems, fixes that
    need a cell or field filled in, the compact toolbar of narrow windows."""

    def _fix_needs_input(self, fix) -> None:
        if fix.focus == "default_group":
            self.options_box.set_unfolded(True)
            self.options_panel.default_group.setFocus(Qt.FocusReason.OtherFocusReason)
            self.options_panel.default_group.showPopup()
        elif fix.edit_group and fix.select:
            self.mapping_panel.edit_group(fix.select[0])

    def focus_problems(self) -> None:
        """Show and focus the Problems list; nothing is selected (focusing is not selecting)."""
        self.problems_dock.show()  # even when the admin closed it
        self.reveal_pane(self.problems.list)
        self.problems.list.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _build_keyboard_paths(self) -> None:
        """Tab leaves a table (arrows move inside), F6 cycles the panes, shortcuts pass fields."""
        for table in (self.mapping_panel.table, self.preview.summary, self.preview.users):
            table.setTabKeyNavigation(False)
        self.pane_cycler = PaneCycler(self, self.panes, self.reveal_pane)
        self.pane_frame = PaneFrame(self, lambda: [p for p, _ in self.pane_parts()])
        names = self.actions_by_name
        from app.ui.base.screen_fit import CompactToolbar

        self.compact_toolbar = CompactToolbar(self.toolbar, [
            names[n] for n in ("open", "save", "open_export", "export_preview")])
        self.window_shortcuts = WindowShortcuts(self, self._window_actions,
                                                lambda: [p for p, _ in self.pane_parts()])

    def _window_actions(self) -> list[QAction]:
        wide = (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut)
        return [a for a in self.findChildren(QAction) if a.shortcutContext() in wide]

    def pane_parts(self) -> list[tuple[QWidget, QWidget]]:
        """Each pane (the part framed while the focus is in it) and where F6 puts the focus:
        mapping, options, summary, users, problems, expectations."""
        options = (self.options_panel.source if self.options_box.is_unfolded()
                   else self.options_box.header)
        return [(self.mapping_panel, self.mapping_panel.table), (self.options_box, options),
                (self.preview.summary, self.preview.summary),
                (self.preview.users_box, self.preview.users),
                (self.problems, self.problems.list),
                (self.expectations, self.expectations.table)]

    def panes(self) -> list:
        """The widgets F6 focuses, in the panes' order."""
        return [target for _, target in self.pane_parts()]

    def reveal_pane(self, pane: QWidget) -> bool:
        """Make a pane showable: unfold and raise its dock (tabified or folded docks hide
        theirs); False if its part of the window is hidden (a closed dock, the start page)."""
        for dock in (self.problems_dock, self.expectations_dock):
            if dock.isAncestorOf(pane):
                if not dock.toggleViewAction().isChecked():
                    return False
                self.dock_fold.set_folded(False)
                dock.show()
                dock.raise_()
                return True
        return pane.isVisibleTo(self)


class PaneCycler(QObject):
    """F6 and Shift+F6 move the focus to the next or previous pane that is visible."""

    def __init__(self, window: QWidget, panes: Callable[[], Sequence[QWidget]],
                 reveal: Callable[[QWidget], bool]) -> None:
        super().__init__(window)
        self._panes, self._reveal = panes, reveal
        for keys, step in (("F6", 1), ("Shift+F6", -1)):
            action = QAction(window)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _=False, s=step: self.cycle(s))
            window.addAction(action)

    def cycle(self, step: int) -> QWidget | None:
        """Focus the next pane, unfolding or raising a dock to reach one hidden in it."""
        panes = [p for p in self._panes() if p.isEnabled() and (
            p.isVisibleTo(p.window()) or _in_dock(p))]
        if not panes:
            return None
        focus = QApplication.focusWidget()
        here = next((i for i, p in enumerate(panes)
                     if focus is not None and (focus is p or p.isAncestorOf(focus))), None)
        start = 0 if here is None else here + step
        for n in range(len(panes)):
            target = panes[(start + n * (1 if step > 0 else -1)) % len(panes)]
            if self._reveal(target):
                target.setFocus(Qt.FocusReason.ShortcutFocusReason)
                return target
        return None


def _in_dock(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent is not None


class PaneFrame(QWidget):
    """A frame in the palette's highlight colour around the pane holding the focus, so the
    admin sees where typing goes (light and dark alike); it lets every click through."""

    WIDTH = 2

    def __init__(self, window: QWidget, panes: Callable[[], Sequence[QWidget]]) -> None:
        super().__init__(window)
        self._panes = panes
        self.pane: QWidget | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()
        QApplication.instance().focusChanged.connect(self._focus_changed)

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        pane = next((p for p in self._panes() if new is not None
                     and (p is new or p.isAncestorOf(new))), None)
        if pane is self.pane:
            return
        if self.pane is not None:
            self.pane.removeEventFilter(self)
        self.pane = pane
        if pane is None:
            self.hide()
            return
        pane.installEventFilter(self)
        self._place()

    def _place(self) -> None:
        pane = self.pane
        if pane is None or not pane.isVisible():
            self.hide()
            return
        self.setParent(pane)
        self.setGeometry(pane.rect())
        self.raise_()
        self.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.pane and event.type() in (QEvent.Type.Resize, QEvent.Type.Show,
                                                     QEvent.Type.Hide):
            self._place()
        return False

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), self.WIDTH)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        half = self.WIDTH // 2
        painter.drawRect(self.rect().adjusted(half, half, -half, -half))


class WindowShortcuts(QObject):
    """Lets the window's shortcuts (Ctrl+E Export Preview, Ctrl+I…) through text fields, and
    gives every dialog's standard buttons access keys as the dialog shows.

    A line edit claims Ctrl+E, Ctrl+D and others for its own editing keys (emacs style on X11),
    which would make Export Preview dead while the filter box has focus.
    """

    def __init__(self, window: QWidget, actions: Callable[[], Sequence[QAction]],
                 panes: Callable[[], Sequence[QWidget]] = list) -> None:
        super().__init__(window)
        self._window = window
        self._actions = actions
        self._panes = panes
        self._swallow: QKeySequence | None = None  # the key press of a handled access key
        self._before_dialog: QWidget | None = None  # the focus when a file dialog opened
        QApplication.instance().installEventFilter(self)
        window.destroyed.connect(lambda: QApplication.instance().removeEventFilter(self))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(watched, QFileDialog) and self._owns(watched):
            self._file_dialog_focus(watched, event)
        if event.type() == QEvent.Type.Show and isinstance(watched, QDialog):
            for box in [watched, *watched.findChildren(QDialogButtonBox)]:
                if isinstance(box, QMessageBox | QDialogButtonBox):
                    give_access_keys(box)
            return False
        if event.type() == QEvent.Type.KeyPress and self._swallow is not None:
            wanted, self._swallow = self._swallow, None
            key = _sequence(event)
            if key is not None and key.matches(wanted) == QKeySequence.SequenceMatch.ExactMatch:
                return True
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(watched, QWidget)
                and self._pane_access_key(watched, event)):
            return True
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(
                watched, QLineEdit | QAbstractSpinBox | QComboBox):
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self._window:
            return False
        key = _sequence(event)
        if key is None or any(event.matches(k) for k in TEXT_KEYS):
            return False
        for action in self._actions():
            if action.isEnabled() and any(s.matches(key) == QKeySequence.SequenceMatch.ExactMatch
                                          for s in action.shortcuts()):
                event.ignore()  # not the field's: the shortcut map triggers the action
                return True
        return False


    def _pane_access_key(self, focus: QWidget, event: QEvent) -> bool:
        """Alt+letter clicks the button of the focused pane with that access key, even where
        another pane has one too (Alt+A: Add Expectation, not Problems' Apply Fix)."""
        key = _sequence(event) if isinstance(event, QKeyEvent) else None
        if key is None or focus.window() is not self._window:
            return False
        pane = next((p for p in self._panes() if p is focus or p.isAncestorOf(focus)), None)
        if pane is None:
            return False
        for button in pane.findChildren(QAbstractButton):
            mnemonic = QKeySequence.mnemonic(button.text())
            if (button.isVisible() and button.isEnabled() and not mnemonic.isEmpty()
                    and mnemonic.matches(key) == QKeySequence.SequenceMatch.ExactMatch):
                event.accept()  # no shortcut: the key press comes next, and is swallowed
                self._swallow = key
                button.click()
                return True
        return False

    def _owns(self, dialog: QWidget) -> bool:
        """A dialog opened by this window or by a window it opened (the sync preview)."""
        owner = dialog.parentWidget()
        while owner is not None and owner.window() is not self._window:
            owner = owner.window().parentWidget()
        return owner is not None

    def _file_dialog_focus(self, dialog: QFileDialog, event: QEvent) -> None:
        """After a file dialog, the focus goes back where it was, in the window that opened
        it (not to the main window's first pane)."""
        if event.type() == QEvent.Type.Show:
            self._before_dialog = QApplication.focusWidget()
        elif event.type() == QEvent.Type.Hide:
            widget, self._before_dialog = self._before_dialog, None
            if widget is not None:
                QTimer.singleShot(0, widget, lambda: _refocus(widget))


def _refocus(widget: QWidget) -> None:
    if widget.isVisible():
        widget.window().activateWindow()
        widget.setFocus(Qt.FocusReason.OtherFocusReason)


def _sequence(event: QKeyEvent) -> QKeySequence | None:
    if event.key() in (Qt.Key.Key_Control, Qt.Key.Key_Shift, Qt.Key.Key_Alt, Qt.Key.Key_Meta):
        return None
    if not event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                | Qt.KeyboardModifier.AltModifier):
        return None  # plain typing always belongs to the field
    return QKeySequence(event.keyCombination())


def give_access_keys(box: QMessageBox | QDialogButtonBox) -> None:
    """Standard buttons get texts with an access key (Alt+S Save, Alt+D Don't Save…)."""
    for button in box.buttons():
        role = box.standardButton(button)
        text = BUTTON_TEXTS.get(getattr(role, "name", ""))
        if text and "&" not in button.text():
            button.setText(text)


def missing_access_keys(buttons: Sequence[QAbstractButton]) -> list[str]:
    """Texts of buttons without an access key (for tests and a debug check)."""
    return [b.text() for b in buttons if b.isVisible() and "&" not in b.text().replace("&&", "")]
