"""The friendly page shown instead of the preview until an export is open."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.base.icons import icon, set_icon


class EmptyState(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        picture = QLabel(self)
        picture.setPixmap(icon("empty-state").pixmap(64, 64))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("<h2>Open an export to start</h2>", self)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Export your users from your SaaS admin console (Calendly, for example) as .xlsx"
            " or .csv, then open the file here"
            " or drop it on this window. Add the pending users' export too, if you have one."
            "\n\nThe preview then shows who joins or leaves which group as you edit the rows.",
            self,
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setFixedWidth(480)
        text.setMinimumHeight(text.heightForWidth(480))
        self.button = QPushButton("Open Export…", self)
        set_icon(self.button, "import-export")
        self.button.setDefault(True)
        self.button.setAccessibleName("Open an export")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(picture)
        layout.addWidget(title)
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(8)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
