"""Setup help inside the app: how each identity provider sends "Identity Provider Group",
and where a service provider shows its SCIM base URL and token.

The texts are ours (trusted), so they are rendered as simple HTML; nothing from a server
or a file ever goes into this dialog.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

INTRO = """
<p>GroupMap reads one value per user from your export, the column
<b>Identity Provider Group</b>, and maps it to a group with your mapping table. That value
is an attribute your identity provider sends to the service provider over SCIM. The tabs
below show how to create and send it; the last one shows where to find the SCIM base URL
and token GroupMap needs to sync.</p>
"""

OKTA = """
<h3>Okta</h3>
<ol>
<li>In the Admin Console open <b>Directory &rsaquo; Profile Editor</b> and select the
app's user profile (named after the app, for example <i>Calendly User</i>).</li>
<li>Click <b>Add Attribute</b>: data type <i>string</i>, display name
<i>Identity Provider Group</i>, a variable name such as <i>identityProviderGroup</i>,
and the external name and namespace the service provider documents for it.</li>
<li>Click <b>Mappings</b>, choose <b>Okta User to <i>app</i></b>, and map the new
attribute from a profile field (for example <code>user.department</code>) or from an
expression. Set it to apply on create and update.</li>
<li>In the app's <b>Provisioning &rsaquo; To App</b> tab, make sure
<b>Update User Attributes</b> is enabled, then save. Existing users receive the value at
their next update; push a test user first.</li>
<li>Export the users from the service provider: the export now has the
<i>Identity Provider Group</i> column GroupMap maps.</li>
</ol>
<p>Okta's Group Push can also create groups by name; let GroupMap manage the groups your
mapping names and leave the pushed ones alone (GroupMap never touches groups the mapping
does not name).</p>
"""

ENTRA = """
<h3>Microsoft Entra ID</h3>
<ol>
<li>Open <b>Enterprise applications</b>, select the app, then
<b>Provisioning &rsaquo; Mappings &rsaquo; Provision Microsoft Entra ID Users</b>.</li>
<li>Tick <b>Show advanced options</b> and click <b>Edit attribute list for
<i>app</i></b>. Add the attribute the service provider documents for the group value
(type <i>String</i>) and save.</li>
<li>Back in the attribute mappings, click <b>Add New Mapping</b>. Use mapping type
<i>Direct</i> to send a user property such as <code>department</code>, or
<i>Expression</i> to compute it, for example
<code>Switch([department], "Other", "Sales", "Sales team", "Support", "Support team")</code>
(Switch compares case-sensitively). Choose the attribute you added as the target.</li>
<li>Save, then use <b>Provision on demand</b> with one user to check the value arrives.</li>
<li>Restart provisioning so existing users are updated, then export the users from the
service provider.</li>
</ol>
<p>Entra ID quarantines a job that crosses its accidental-deletion threshold; GroupMap has
its own guard: a sync that would remove an unusually large share of memberships is held
until you confirm it.</p>
"""

ONELOGIN = """
<h3>OneLogin</h3>
<ol>
<li>Open <b>Applications</b>, select the app, and open its <b>Parameters</b> tab.</li>
<li>Click <b>+</b> to add a parameter named <i>Identity Provider Group</i> and tick
<b>Include in User Provisioning</b>. Choose its value: a user field (for example
<i>Department</i>), a custom user field, or a macro.</li>
<li>To compute the value by rules, open <b>Users &rsaquo; Mappings</b> and add a mapping
whose conditions select users and whose action sets the field the parameter reads.
Mappings are evaluated in order.</li>
<li>A new or changed mapping touches existing users only after
<b>Reapply All Mappings</b>; run it, then check the app's <b>Provisioning</b> tab for
pending changes and approve them.</li>
<li>Export the users from the service provider.</li>
</ol>
"""

SERVICE_PROVIDER = """
<h3>Service provider: SCIM base URL and token</h3>
<ol>
<li>Sign in to the service provider as an administrator and open its security,
integrations or <i>user provisioning</i> settings (often called <b>SCIM</b> or
<b>Provisioning</b>).</li>
<li>Copy the <b>SCIM base URL</b>. It usually ends in <code>/scim/v2</code> or
<code>/v2</code>; GroupMap adds <code>/Users</code>, <code>/Groups</code> and
<code>/ServiceProviderConfig</code> to it.</li>
<li>Generate an <b>API token</b> (bearer token) for provisioning. Most providers show it
only once: paste it into GroupMap's connection dialog straight away. GroupMap keeps it in
the system keyring when one is available, otherwise for the current session only, and
never writes it to a file.</li>
<li>In GroupMap choose the <b>target</b>: <i>Groups</i> when the provider has a
<code>/Groups</code> endpoint, or <i>a user attribute</i> with its path when groups are set
by a value on the user (Calendly has no <code>/Groups</code> endpoint: its own mapping table
turns that value into a group, and each user belongs to one group only).</li>
<li>Click <b>Test connection</b>: GroupMap reads ServiceProviderConfig and shows what the
server supports and how many users and groups it has.</li>
</ol>
<p>Rate limits differ (Slack: about 600 writes a minute; GitHub EMU: about 1,000 users an
hour). GroupMap honours Retry-After and sends membership changes in batches of 100.</p>
"""

TABS = (
    ("Okta", OKTA),
    ("Entra ID", ENTRA),
    ("OneLogin", ONELOGIN),
    ("Service provider", SERVICE_PROVIDER),
)


class SetupHelpDialog(QDialog):
    """Tabs of step-by-step setup help; `tab` picks the one shown first."""

    def __init__(self, parent: QWidget | None = None, tab: str = "Okta") -> None:
        super().__init__(parent)
        self.setWindowTitle("GroupMap setup help")
        self.resize(720, 560)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        for title, body in TABS:
            browser = QTextBrowser(self.tabs)
            browser.setOpenExternalLinks(False)
            browser.setHtml(INTRO + body)
            self.tabs.addTab(browser, title)
        layout.addWidget(self.tabs)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.show_tab(tab)

    def show_tab(self, title: str) -> None:
        for i, (name, _) in enumerate(TABS):
            if name == title:
                self.tabs.setCurrentIndex(i)


def show_setup_help(parent: QWidget | None = None, tab: str = "Okta") -> SetupHelpDialog:
    """Open (non-modal) the setup help on a tab; returns the dialog."""
    dialog = SetupHelpDialog(parent, tab)
    dialog.show()
    return dialog
