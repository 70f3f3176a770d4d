"""The connection dialog: named profiles, URL, token, target, match attribute, pacing, the
live source and webhook of unattended runs (app/ui/server/connection_source.py), Test
connection.

Everything a server says (its detail messages, its feature list) is shown as plain text.
The token fields are password fields; tokens go to the TokenStore, never to a file.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.scim.config.connections import hidden_character_field
from app.scim.config.probe import describe_error
from app.scim.config.settings import MATCH_ATTRIBUTES, TARGET_ATTRIBUTE, TARGET_GROUPS
from app.scim.http.redact import redact
from app.scim.http.transport import url_problem
from app.ui.base.worker import start_task
from app.ui.server.connection import ConnectionProfile, ConnectionStore
from app.ui.server.connection_source import SourceFields
from app.ui.server.sync_tasks import probe_task

NEW_LABEL = "New connection…"
# what the form calls a field that holds a control or invisible character
HIDDEN_LABELS = {"name": "connection name", "attribute": "attribute path",
                 "source": "source attribute", "notify": "notify webhook"}


def pacing_fields(parent: QWidget) -> tuple[QComboBox, QDoubleSpinBox, QDoubleSpinBox]:
    """The vendor preset (rate, batch and page size, change budget), and an optional rate and
    membership-change budget that override it."""
    from app.scim.config.profiles import PROFILES

    vendor = QComboBox(parent)
    for preset in PROFILES.values():
        vendor.addItem(preset.title, preset.name)
    vendor.setToolTip("Sets the rate, batch size and page size from the provider's published "
                      "limits; Generic learns the rate from the server's answers")
    rate = QDoubleSpinBox(parent)
    rate.setRange(0.0, 1000.0)
    rate.setDecimals(2)
    rate.setSingleStep(0.5)
    rate.setSuffix(" requests a second")
    rate.setSpecialValueText("the provider's (or learned from the server)")
    rate.setToolTip("At most this many requests a second, if you know the provider's limit")
    changes = QDoubleSpinBox(parent)
    changes.setRange(0.0, 1_000_000.0)
    changes.setDecimals(0)
    changes.setSingleStep(100.0)
    changes.setSuffix(" membership changes an hour")
    changes.setSpecialValueText("the provider's (GitHub: 1,000 an hour; others: none)")
    changes.setToolTip("At most this many users added to or removed from groups an hour, "
                       "however few requests carry them, if the provider caps them")
    return vendor, rate, changes


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A word-wrapped, selectable QLabel that never interprets rich text."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setText(text)
    return label


class ConnectionDialog(QDialog):
    """Pick or edit a named connection; `accepted` leaves `profile` and `token` set."""

    helpRequested = Signal()

    def __init__(
        self, store: ConnectionStore, parent: QWidget | None = None, current: str = ""
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.profile: ConnectionProfile | None = None
        self.token = ""
        self._task = None
        self._refocus_test = False
        self._accept_when_tested = False
        self._loaded_name = ""
        self.setWindowTitle("Connect to a SCIM service provider")
        self.setMinimumWidth(560)

        self.profiles = QComboBox(self)
        self.delete_button = QPushButton("&Delete", self)
        self.delete_button.clicked.connect(self._delete_current)
        top = QHBoxLayout()
        profiles_label = QLabel("C&onnection:", self)
        profiles_label.setBuddy(self.profiles)
        top.addWidget(profiles_label)
        top.addWidget(self.profiles, 1)
        top.addWidget(self.delete_button)

        self.name = QLineEdit(self)
        self.name.setPlaceholderText("for example staging or production")
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("https://example.com/scim/v2")
        self.url.setToolTip("The SCIM 2.0 base URL from the service provider's admin pages"
                            " (Setup help shows where to find it)")
        self.token_edit = QLineEdit(self)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("bearer token from the service provider")
        self.show_token = QCheckBox("Sho&w", self)
        self.show_token.setToolTip("Show the token as plain text")
        self.show_token.toggled.connect(
            lambda on: self.token_edit.setEchoMode(
                QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
            )
        )
        token_row = QHBoxLayout()
        token_row.addWidget(self.token_edit, 1)
        token_row.addWidget(self.show_token)
        self.remember = QCheckBox("&Remember the token in the system keyring", self)
        self.remember.setChecked(store.tokens.persistent)
        self.remember.setEnabled(store.tokens.persistent)
        self.token_note = plain_label(store.tokens.describe(), self)
        self.token_note.setMinimumWidth(400)
        self.token_note.setMinimumHeight(self.token_note.heightForWidth(400))

        self.target = QComboBox(self)
        self.target.addItem("Groups (the /Groups endpoint)", TARGET_GROUPS)
        self.target.addItem("A user attribute (for example Calendly)", TARGET_ATTRIBUTE)
        self.attribute = QLineEdit(self)
        self.attribute.setPlaceholderText("attribute path, for example urn:…:User:groupName")
        self.target.currentIndexChanged.connect(self._update_target)
        self.target.setToolTip("Where the group goes: SCIM groups, or an attribute on each user"
                               " for providers without /Groups")
        self.match = QComboBox(self)
        self.match.addItems(list(MATCH_ATTRIBUTES))
        self.match.setToolTip("The server's user attribute that holds the export's email")
        self.insecure = QCheckBox("A&llow plain HTTP to a non-local server (testing only)", self)
        self.insecure.setToolTip("Plain HTTP sends the token unencrypted: only for a test server")
        self.vendor, self.max_rate, self.max_changes = pacing_fields(self)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("&Name:", self.name)
        form.addRow("SCIM base &URL:", self.url)
        form.addRow("Bearer to&ken:", token_row)
        form.labelForField(token_row).setBuddy(self.token_edit)  # a row of two has no buddy
        form.addRow("", self.remember)
        form.addRow("", self.token_note)
        form.addRow("&Target:", self.target)
        form.addRow("Attribute &path:", self.attribute)
        form.addRow("&Match users by:", self.match)
        form.addRow("", self.insecure)
        form.addRow("Service pro&vider:", self.vendor)
        form.addRow("Max r&ate:", self.max_rate)
        form.addRow("Max membership chan&ges:", self.max_changes)
        self._form = form
        # What an unattended `sync --connection NAME` reads and whom it tells: a page of its
        # own, so the dialog fits a 1024x640 screen with every Entra field shown.
        unattended = QFormLayout()
        unattended.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        unattended.addRow(plain_label(
            "For runs without anyone, 'groupmap sync --connection NAME': where the users and "
            "their value come from instead of an export file, and whom to tell when a run "
            "fails or is stopped. The app opens a source with File ▸ Open From.", self))
        self.source = SourceFields(unattended, store.tokens, self)
        self.tabs = QTabWidget(self)
        for title, page_form in (("Server", form), ("Unattended runs", unattended)):
            page = QWidget(self.tabs)
            page.setLayout(page_form)
            self.tabs.addTab(page, title)
        self.tabs.setToolTip("Ctrl+Tab switches between the pages")

        self.test_button = QPushButton("T&est connection", self)
        self.test_button.clicked.connect(self.test_connection)
        self.help_button = QPushButton("Setup &help…", self)
        self.help_button.clicked.connect(self.helpRequested.emit)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        test_row.addWidget(self.help_button)
        self.status = plain_label("Not tested yet.", self)
        self.status.setMinimumHeight(48)

        self.buttons = QDialogButtonBox(self)
        self.connect_button = self.buttons.addButton(
            "&Connect", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.connect_checked)
        self.checked = False  # Connect tested the server first and it answered
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs)
        layout.addLayout(test_row)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self._fill_profiles(current or store.last_used)
        self.profiles.currentIndexChanged.connect(self._on_profile_chosen)
        self._on_profile_chosen()

    # --- profiles ------------------------------------------------------------------------

    def _fill_profiles(self, select: str) -> None:
        self.profiles.blockSignals(True)
        self.profiles.clear()
        for profile in self.store.profiles():
            self.profiles.addItem(profile.name, profile.name)
        self.profiles.addItem(NEW_LABEL, "")
        index = self.profiles.findData(select) if select else -1
        self.profiles.setCurrentIndex(index if index >= 0 else 0)
        self.profiles.blockSignals(False)

    def _on_profile_chosen(self) -> None:
        name = self.profiles.currentData() or ""
        profile = self.store.get(name) if name else None
        self._loaded_name = name
        self.delete_button.setEnabled(profile is not None)
        profile = profile or ConnectionProfile(name="")
        self.name.setText(profile.name)
        self.url.setText(profile.url)
        self.token_edit.setText(self.store.tokens.get(profile.name) if profile.name else "")
        self.target.setCurrentIndex(max(self.target.findData(profile.target), 0))
        self.attribute.setText(profile.attribute)
        self.match.setCurrentText(profile.match_attribute)
        self.insecure.setChecked(profile.insecure_http)
        self.vendor.setCurrentIndex(max(self.vendor.findData(profile.vendor), 0))
        self.max_rate.setValue(profile.max_rate)
        self.max_changes.setValue(profile.max_changes_per_hour)
        self.source.load(profile)
        self.status.setText("Not tested yet.")
        self._update_target()

    def _update_target(self) -> None:
        by_attribute = self.target.currentData() == TARGET_ATTRIBUTE
        self.attribute.setEnabled(by_attribute)
        self._form.setRowVisible(self.attribute, by_attribute)

    def _delete_current(self) -> None:
        name = self._loaded_name
        if not name:
            return
        answer = QMessageBox.question(
            self, "Delete connection", f"Delete the connection {name!r} and the secrets saved "
            "with it (its token, an Okta token or Entra client secret no other connection uses)?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.store.remove(name)
            self._fill_profiles("")
            self._on_profile_chosen()

    def edited_profile(self) -> ConnectionProfile:
        """The form's fields over the loaded profile: what the form does not show is kept."""
        loaded = self.store.get(self._loaded_name) if self._loaded_name else None
        return self.source.applied(replace(
            loaded or ConnectionProfile(name=""),
            name=self.name.text().strip(),
            url=self.url.text().strip(),
            target=self.target.currentData(),
            attribute=self.attribute.text().strip()
            if self.target.currentData() == TARGET_ATTRIBUTE
            else "",
            match_attribute=self.match.currentText(),
            insecure_http=self.insecure.isChecked(),
            vendor=self.vendor.currentData(),
            max_rate=self.max_rate.value(),
            max_changes_per_hour=self.max_changes.value(),
        ))

    def problem(self) -> str:
        """What keeps the form from being used, or ""."""
        profile = self.edited_profile()
        if not profile.url:
            return "Enter the SCIM base URL (Setup help shows where to find it)."
        problem = url_problem(profile.url, profile.insecure_http)
        if problem in ("invalid", "not http"):
            return (
                "The SCIM base URL must start with https:// "
                "(for example https://example.com/scim/v2)."
            )
        if problem == "credentials":
            return (
                "The URL carries a user name or password (user:password@host): remove them. "
                "GroupMap sends only the bearer token, never credentials in the URL."
            )
        if problem == "plain http":
            return (
                "The URL uses plain HTTP, which would send the token unencrypted. "
                "Use https://, or tick 'Allow plain HTTP' for a local test server."
            )
        if profile.target == TARGET_ATTRIBUTE and not profile.attribute:
            return "Enter the attribute path that holds the group on each user."
        hidden = hidden_character_field(profile)
        if hidden:  # it would garble `groupmap connections` and every message naming it
            label = HIDDEN_LABELS.get(hidden, hidden.replace("_", " "))
            return (f"The {label} has a control or invisible character "
                    "(pasted along with it?): type it again.")
        return self.source.problem(profile)

    # --- test and accept -----------------------------------------------------------------

    def show_problem(self, problem: str) -> None:
        """Say what to fix, on the page that holds it."""
        self.status.setText(problem)
        self.tabs.setCurrentIndex(1 if problem == self.source.problem(self.edited_profile())
                                  else 0)

    def test_connection(self) -> None:
        problem = self.problem()
        if problem:
            self.show_problem(problem)
            return
        token = self.token_edit.text().strip()
        self._refocus_test = self.test_button.hasFocus()
        self.test_button.setEnabled(False)
        self.status.setText("Testing the connection…")
        self._task = start_task(probe_task, self.edited_profile(), token)
        self._task.done.connect(self._on_tested)
        self._task.error.connect(lambda exc: self._on_test_failed(exc, token))
        self._task.finished.connect(self._test_finished)

    def _test_finished(self) -> None:
        """Enable the button again and give back the focus disabling it moved away."""
        self._accept_when_tested = False
        self.test_button.setEnabled(True)
        if self._refocus_test:
            self.test_button.setFocus()

    def _on_tested(self, lines: list[str]) -> None:
        self.status.setText("Connected.\n" + "\n".join(lines))
        if self._accept_when_tested:
            self.checked = True
            self.accept()

    def connect_checked(self) -> None:
        """Connect: test the server first; a refused or failing connection keeps the dialog
        open with what went wrong, instead of a toolbar that looks connected."""
        if self.problem() or not self.name.text().strip():
            self.accept()  # says what to fill in
            return
        self._accept_when_tested = True
        self.test_connection()

    def _on_test_failed(self, exc: BaseException, token: str) -> None:
        text = redact(describe_error(exc), token)
        if self._accept_when_tested:
            text = f"Not connected: {text}\nCheck the URL and that the server runs, then Connect."
        self.status.setText(text)

    def accept(self) -> None:
        problem = self.problem()
        if not problem and not self.name.text().strip():
            problem = "Give the connection a name, for example staging or production."
        if problem:
            self.show_problem(problem)
            return
        profile = self.edited_profile()
        token = self.token_edit.text().strip()
        session_only = bool(self._loaded_name) and self.store.is_session_only(self._loaded_name)
        self.store.save(profile, persist=not session_only)
        if self._loaded_name and self._loaded_name != profile.name:  # renamed: after the save,
            self.store.remove(self._loaded_name)  # which keeps the secrets both share
        remember = self.remember.isChecked() and not session_only
        self.store.tokens.set(profile.name, token, remember=remember)
        self.source.store_token(profile, remember)
        self.store.last_used = profile.name
        self.profile, self.token = profile, token
        super().accept()

    def done(self, result: int) -> None:
        if self._task is not None and self._task.running:
            self._task.cancel()
        super().done(result)
