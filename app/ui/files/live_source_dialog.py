"""File ▸ Open From ▸ SCIM server / Entra ID / Okta: where to read, the attribute chosen from
those the source actually holds (each with its number of distinct values and a sample, from
the first page of users), then every user read in the background by the window's
FileController (progress and Cancel in the status bar).

The token typed here (or got by Entra's device-code sign-in, the code shown with Copy) is
used for this read only and never stored; left empty, it comes from where the command line
takes it (the environment, the keyring).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.users import UserList
from app.sources.users import SourceInfo
from app.ui.base.worker import Task, TaskState, start_task

if TYPE_CHECKING:  # httpx and the sources load when a source is read
    from app.scim.sync.listed_users import ListedUsers
    from app.sources.attributes import AttributeChoice

TITLES = {"scim": "SCIM server", "entra": "Entra ID", "okta": "Okta"}
URL_HINTS = {
    "scim": "https://example.com/scim/v2",
    "entra": "https://graph.microsoft.com",
    "okta": "https://example.okta.com",
}
TOKEN_HINTS = {
    "scim": "bearer token (empty: $GROUPMAP_TOKEN)",
    "entra": "access token (empty: $GROUPMAP_ENTRA_TOKEN or the client credentials)",
    "okta": "API token or OAuth token (empty: $GROUPMAP_OKTA_TOKEN or the keyring)",
}


@dataclass(frozen=True)
class LiveRequest:
    kind: str
    url: str
    token: str
    attribute: str = ""
    match_attribute: str = "userName"

    def __repr__(self) -> str:  # never the token
        return f"LiveRequest({self.kind!r}, {self.url!r}, {self.attribute!r})"


def _token(request: LiveRequest) -> str:
    from app.scim.config.tokens import TokenStore

    if request.token:
        return request.token
    if request.kind == "scim":
        return os.environ.get("GROUPMAP_TOKEN", "")
    if request.kind == "entra":
        from app.sources.entra_login import entra_token

        return entra_token(store_get=TokenStore().get)
    from app.sources.okta import okta_token

    return okta_token(request.url, TokenStore().get)


def sign_in_task(state: TaskState, login_url: str, tenant: str, client_id: str) -> str:
    """Entra's device authorization grant: the code goes to the dialog as a partial result,
    the token is the result once the admin signed in (cancel ends the polling)."""
    from app.sources.entra_login import device_code_token

    def show(message: str, code: str) -> None:
        state.set_partial_result((message, code))

    return device_code_token(login_url, tenant, client_id, show, cancelled=state.is_cancelled)


def sample_task(
    state: TaskState, request: LiveRequest
) -> tuple[int, list[AttributeChoice]]:
    """(users sampled, the attributes they hold) from the source's first page."""
    from app.sources import attributes

    if request.kind == "scim":
        from app.scim.http.client import ScimClient

        with ScimClient(request.url, _token(request) or None) as client:
            sampled, found = attributes.sample_scim(client)
    elif request.kind == "entra":
        sampled, found = attributes.sample_entra(_token(request), request.url)
    else:
        sampled, found = attributes.sample_okta(_token(request), request.url)
    return sampled, found


def read_task(
    state: TaskState, request: LiveRequest
) -> tuple[UserList, SourceInfo, ListedUsers | None]:
    """Every user of the source with the chosen attribute, as a file import gives them; for
    `scim:`, also the listing, so the next read of that server does not list /Users again."""

    def progress(done: int, total: int) -> None:
        if total:
            state.set_progress(min(done / total, 1.0))

    stop = state.is_cancelled
    if request.kind == "scim":
        from app.scim.http.client import ScimClient
        from app.scim.sync.listed_users import ListedUsers
        from app.sources.scim import read_scim

        kept: list[ListedUsers] = []
        with ScimClient(request.url, _token(request) or None) as client:
            users, info = read_scim(
                client, request.attribute, request.match_attribute, progress=progress,
                cancelled=stop, listed=lambda *listing: kept.append(ListedUsers(*listing)))
        return users, info, kept[0] if kept else None
    if request.kind == "entra":
        from app.sources.entra import read_entra

        return (*read_entra(_token(request), request.attribute, request.url,
                            progress=progress, cancelled=stop), None)
    from app.sources.okta import read_okta

    return (*read_okta(_token(request), request.attribute, request.url,
                       progress=progress, cancelled=stop), None)


def _left(button: QPushButton) -> QHBoxLayout:
    """A button at its own size on the left of its row, as the connection dialog's."""
    row = QHBoxLayout()
    row.addWidget(button)
    row.addStretch(1)
    return row


class LiveSourceDialog(QDialog):
    """Where and what to read; `chosen` carries the LiveRequest when the admin reads."""

    chosen = Signal(object)

    def __init__(self, kind: str, parent: QWidget | None = None, url: str = "",
                 token: str = "") -> None:
        super().__init__(parent)
        self.kind = kind
        self.setWindowTitle(f"Open from {TITLES[kind]}")
        self.url = QLineEdit(url or ("https://graph.microsoft.com" if kind == "entra" else ""))
        self.url.setPlaceholderText(URL_HINTS[kind])
        self.token = QLineEdit(token)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText(TOKEN_HINTS[kind])
        self.match = QComboBox()
        self.match.addItems(["userName", "emails", "externalId"])
        self.find_button = QPushButton("&Find Attributes")
        self.find_button.setToolTip("Read the first page of users and list the attributes "
                                    "they hold, with how many distinct values each has")
        self.find_button.clicked.connect(self.find_attributes)
        self.attributes = QTreeWidget()
        self.attributes.setHeaderLabels(["Attribute", "Distinct values", "Users", "Sample"])
        self.attributes.setRootIsDecorated(False)
        self.attributes.setAccessibleName("Attributes the source holds")
        self.attributes.setColumnWidth(0, 220)
        for column in (1, 2):
            self.attributes.headerItem().setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
        self.attributes.currentItemChanged.connect(self._picked)
        self.attribute = QLineEdit()
        self.attribute.setPlaceholderText("pick one above, or type an attribute path")
        self.attribute.textChanged.connect(self._update)
        self.status = QLabel("Find the attributes the source holds, then pick one.")
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # a server's text stays text
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.read_button = self.buttons.addButton(
            "&Read Users", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("&URL:", self.url)
        form.addRow("&Token:", self.token)
        if kind == "scim":
            form.addRow("&Email in:", self.match)
        self.signing_in: Task[str] | None = None
        if kind == "entra":
            self._add_sign_in(form)
        form.addRow("", _left(self.find_button))
        picked = QFormLayout()
        picked.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        picked.addRow("&Attribute:", self.attribute)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.attributes, 1)
        layout.addLayout(picked)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.sampling: Task[tuple[int, list[AttributeChoice]]] | None = None
        self._update()

    def _add_sign_in(self, form: QFormLayout) -> None:
        """Tenant and app for Entra's device-code sign-in, the code shown with Copy."""
        from app.sources.entra_login import LOGIN_URL

        self.login_url = LOGIN_URL
        self.tenant = QLineEdit(os.environ.get("GROUPMAP_ENTRA_TENANT", ""))
        self.tenant.setPlaceholderText("contoso.onmicrosoft.com or the tenant ID")
        self.client_id = QLineEdit(os.environ.get("GROUPMAP_ENTRA_CLIENT_ID", ""))
        self.client_id.setPlaceholderText("Application (client) ID of the app registration")
        self.sign_in_button = QPushButton("&Sign In with a Code…")
        self.sign_in_button.clicked.connect(self.sign_in)
        self.code = QLineEdit()
        self.code.setReadOnly(True)
        self.code.setPlaceholderText("the code to enter at Microsoft's sign-in page")
        self.copy_button = QPushButton("Co&py Code")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(
            self.code.text()))
        self.sign_in_text = QLabel("")
        self.sign_in_text.setTextFormat(Qt.TextFormat.PlainText)
        self.sign_in_text.setWordWrap(True)
        form.addRow("Te&nant:", self.tenant)
        form.addRow("&Client ID:", self.client_id)
        form.addRow("", _left(self.sign_in_button))
        code_row = QHBoxLayout()
        code_row.addWidget(self.code, 1)
        code_row.addWidget(self.copy_button)
        code_label = QLabel("C&ode:")
        code_label.setBuddy(self.code)  # a row of two has no buddy of its own
        form.addRow(code_label, code_row)
        form.addRow("", self.sign_in_text)

    def sign_in(self) -> None:
        """Start the device-code sign-in; the token fills the Token field once done."""
        tenant, client_id = self.tenant.text().strip(), self.client_id.text().strip()
        if not (tenant and client_id):
            self.sign_in_text.setText("Give the tenant and the app's client ID first.")
            return
        self.sign_in_button.setEnabled(False)
        self.sign_in_text.setText("Asking Microsoft for a code…")
        self.signing_in = start_task(sign_in_task, self.login_url, tenant, client_id)
        self.signing_in.partial.connect(self._show_code)
        self.signing_in.done.connect(self._signed_in)
        self.signing_in.error.connect(self._sign_in_failed)

    def _show_code(self, shown: tuple[str, str]) -> None:
        message, code = shown
        self.code.setText(code)
        self.copy_button.setEnabled(bool(code))
        self.sign_in_text.setText(message)

    def _signed_in(self, token: str) -> None:
        self.token.setText(token)
        self.sign_in_button.setEnabled(True)
        self.sign_in_text.setText("Signed in: the token is used for this read only.")

    def _sign_in_failed(self, error: BaseException) -> None:
        self.sign_in_button.setEnabled(True)
        self.sign_in_text.setText(str(error))

    def done(self, result: int) -> None:
        """Closing the dialog ends a sign-in still waiting for the admin."""
        if self.signing_in is not None and self.signing_in.running:
            self.signing_in.cancel()
        super().done(result)

    def request(self) -> LiveRequest:
        return LiveRequest(self.kind, self.url.text().strip(), self.token.text().strip(),
                           self.attribute.text().strip(), self.match.currentText())

    def find_attributes(self) -> None:
        """Read the first page in the background and list what its users hold."""
        if not self.url.text().strip():
            self.status.setText(f"Give the URL, e.g. {URL_HINTS[self.kind]}.")
            return
        self.find_button.setEnabled(False)
        self.status.setText("Reading the first page of users…")
        self.sampling = start_task(sample_task, self.request(), label="")
        self.sampling.done.connect(self._show_attributes)
        self.sampling.error.connect(self._failed)

    def _show_attributes(self, result: tuple[int, list[AttributeChoice]]) -> None:
        sampled, found = result
        self.find_button.setEnabled(True)
        self.attributes.clear()
        for choice in found:
            item = QTreeWidgetItem([choice.path, f"{choice.distinct:,}", f"{choice.users:,}",
                                    ", ".join(choice.sample)])
            for column in (1, 2):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
            self.attributes.addTopLevelItem(item)
        self.status.setText(f"{len(found)} attribute(s) with values among the first "
                            f"{sampled:,} users. Pick the one your mapping matches.")

    def _failed(self, error: BaseException) -> None:
        self.find_button.setEnabled(True)
        self.status.setText(str(error))

    def _picked(self, item: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.attribute.setText(item.text(0))

    def _update(self) -> None:
        self.read_button.setEnabled(bool(self.attribute.text().strip()))

    def accept(self) -> None:
        if not (self.url.text().strip() and self.attribute.text().strip()):
            self.status.setText("Give the URL and pick an attribute.")
            return
        self.chosen.emit(self.request())
        super().accept()
