"""The About dialog: version, runtime versions and the licenses of the bundled packages."""

from __future__ import annotations

import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.licenses import PackageLicense, bundled_packages
from app.ui.base.icons import app_icon

DESCRIPTION = (
    "Maps the identity-provider group of each user in an exported user list to groups, "
    "previews the result offline and syncs group memberships over SCIM 2.0."
)
APP_LICENSE = "MIT"
QT_NOTICE = (
    "Qt and PySide6 are used under the LGPL-3.0; they ship as separate shared libraries "
    "you can replace."
)


def runtime_versions() -> str:
    """One line naming the Python and Qt the app is running on."""
    return f"Python {platform.python_version()} · Qt {qVersion()} (PySide6 {pyside_version})"


class AboutDialog(QDialog):
    """Shows what GroupMap is, which version runs, and what it ships under which license."""

    def __init__(self, parent: QWidget | None = None, packages: list[PackageLicense] | None = None):
        super().__init__(parent)
        self.setWindowTitle("About GroupMap")
        self.setWindowIcon(app_icon())
        self.packages = bundled_packages() if packages is None else packages

        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(64, 64))
        self.title = QLabel(f"<h2>GroupMap {__version__}</h2>")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        description = QLabel(
            f"{DESCRIPTION}<br>GroupMap is released under the {APP_LICENSE} license. {QT_NOTICE}"
        )
        description.setWordWrap(True)
        self.runtime = QLabel(runtime_versions())
        self.runtime.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        header = QHBoxLayout()
        header.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        for widget in (self.title, description, self.runtime):
            text.addWidget(widget)
        header.addLayout(text, 1)

        self.table = self._package_table()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setDefault(True)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(QLabel(f"Bundled open-source packages ({len(self.packages)}):"))
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(640, 520)

    def _package_table(self) -> QTableWidget:
        table = QTableWidget(len(self.packages), 3)
        table.setHorizontalHeaderLabels(["Package", "Version", "License"])
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.setAlternatingRowColors(True)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, package in enumerate(self.packages):
            for column, value in enumerate((package.name, package.version, package.license)):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                table.setItem(row, column, item)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        return table


def show_about(parent: QWidget | None = None) -> AboutDialog:
    """Open the About dialog window-modally and return it (it deletes itself on close)."""
    dialog = AboutDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
