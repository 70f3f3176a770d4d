"""The connection dialog's unattended fields: where the users come from (a live source) and
the webhook told when a run fails, so `groupmap sync --connection NAME` runs with no file.

Saved in the connection (the shared connections file) as `groupmap sources --save` saves
them: `source` ("entra:department"), `source_url`, `notify`, and for Entra ID the app that
signs in unattended (`entra_tenant`, `entra_client_id`, `entra_login_url`). The Okta API
token and the Entra client secret typed here go to the TokenStore under the names the
command line reads (okta:HOST, entra:CLIENT_ID), never to a file.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QWidget

from app.scim.config.connections import ConnectionProfile
from app.scim.config.tokens import TokenStore
from app.scim.http.urls import url_problem
from app.sources.entra_login import is_client_id, is_tenant
from app.sources.spec import EXAMPLES

KINDS = {
    "": "None: the users come from a file",
    "scim": "This SCIM server (its users' attribute)",
    "entra": "Microsoft Entra ID",
    "okta": "Okta",
}
URL_HINTS = {
    "entra": "https://graph.microsoft.com (leave empty for it)",
    "okta": "https://example.okta.com",
}
NOTIFY_HINT = "https://hooks.slack.com/services/… (empty: nobody is told)"
LOGIN_HINT = "https://login.microsoftonline.com (leave empty for it)"


def entra_secret_name(client_id: str) -> str:
    """The Entra client secret's name in the token store, as app.sources.entra_login reads it."""
    from app.sources.entra_login import KEYRING_NAME

    return KEYRING_NAME.format(client_id=client_id.strip())


def entra_problem(profile: ConnectionProfile, secret: str) -> str:
    """What keeps the Entra app from signing in unattended, in one line, or ""."""
    tenant, client_id = profile.entra_tenant, profile.entra_client_id
    if (tenant or secret) and not client_id:
        return ("Enter the Entra app's client ID (Application (client) ID of its app "
                "registration) with the tenant and secret, or leave all three empty.")
    if client_id and not tenant:
        return ("Enter the Entra tenant the app belongs to (its tenant ID or a domain such as "
                "contoso.onmicrosoft.com).")
    if tenant and not is_tenant(tenant):
        return ("The Entra tenant must be its tenant ID (a GUID) or a domain such as "
                "contoso.onmicrosoft.com.")
    if client_id and not is_client_id(client_id):
        return ("The Entra client ID must be the app registration's Application (client) ID, "
                "a GUID such as 11111111-2222-3333-4444-555555555555.")
    login = profile.entra_login_url
    if login and url_problem(login, False) == "credentials":
        return "The sign-in URL carries a user name or password (user:password@host): remove them."
    if login and (url_problem(login, False) == "invalid" or
                  not login.lower().startswith("https://")):
        return ("The sign-in URL must start with https:// (Microsoft sign-in is https only), "
                "e.g. https://login.microsoftonline.us, or be empty.")
    return ""


def okta_token_name(url: str) -> str:
    """The Okta token's name in the token store, as app.sources.okta reads it."""
    import httpx

    from app.sources.okta import KEYRING_NAME

    return KEYRING_NAME.format(host=httpx.URL(url.strip()).host)


class SourceFields:
    """The rows for the source, its URL and token, and the webhook, in the dialog's form."""

    def __init__(self, form: QFormLayout, tokens: TokenStore, parent: QWidget) -> None:
        self.form = form
        self.tokens = tokens
        self.kind = QComboBox(parent)
        for kind, title in KINDS.items():
            self.kind.addItem(title, kind)
        self.kind.setToolTip("Where an unattended 'groupmap sync --connection NAME' reads the "
                             "users and their value, instead of an export file")
        self.attribute = QLineEdit(parent)
        self.attribute.setToolTip("The attribute that holds the value the mapping maps")
        self.url = QLineEdit(parent)
        self.url.setToolTip("Entra ID: the Graph URL (a national cloud's); Okta: the org URL")
        self.token = QLineEdit(parent)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("API token (empty: $GROUPMAP_OKTA_TOKEN or the keyring)")
        self.token.setToolTip("Kept in the system keyring (okta:HOST), never in a file")
        self.tenant = QLineEdit(parent)
        self.tenant.setPlaceholderText("contoso.onmicrosoft.com or the tenant ID")
        self.tenant.setToolTip("The Entra tenant of the app that signs in unattended "
                               "(client credentials)")
        self.client_id = QLineEdit(parent)
        self.client_id.setPlaceholderText("Application (client) ID of the app registration")
        self.client_id.setToolTip("The app needs the Microsoft Graph application permission "
                                  "User.Read.All, with admin consent")
        self.secret = QLineEdit(parent)
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("client secret (empty: $GROUPMAP_ENTRA_CLIENT_SECRET "
                                       "or the keyring)")
        self.secret.setToolTip("Kept in the system keyring (entra:CLIENT_ID), never in a file")
        self.login_url = QLineEdit(parent)
        self.login_url.setPlaceholderText(LOGIN_HINT)
        self.login_url.setToolTip("Microsoft's sign-in URL: a national cloud's, e.g. "
                                  "https://login.microsoftonline.us")
        self.notify = QLineEdit(parent)
        self.notify.setPlaceholderText(NOTIFY_HINT)
        self.notify.setToolTip("An incoming webhook (Slack, Teams) that unattended runs post to "
                               "when they fail, are stopped by a guard or leave work")
        form.addRow("Users &from:", self.kind)
        form.addRow("Source attri&bute:", self.attribute)
        form.addRow("&Source URL:", self.url)
        form.addRow("Okta AP&I token:", self.token)
        # access keys: I is the hidden Okta token's, p the attribute path's (another target),
        # t and g shared with labels (which then take turns)
        form.addRow("Entra tenant (&ID or domain):", self.tenant)
        form.addRow("Entra a&pplication (client) ID:", self.client_id)
        form.addRow("Entra client secre&t:", self.secret)
        form.addRow("Entra si&gn-in URL:", self.login_url)
        form.addRow("Notif&y webhook:", self.notify)
        self.kind.currentIndexChanged.connect(self._update)

    def load(self, profile: ConnectionProfile) -> None:
        kind, _, attribute = profile.source.partition(":")
        self.kind.setCurrentIndex(max(self.kind.findData(kind.lower()), 0))
        self.attribute.setText(attribute)
        self.url.setText(profile.source_url)
        self.token.setText(self._stored_token(profile.source_url) if kind == "okta" else "")
        self.tenant.setText(profile.entra_tenant)
        self.client_id.setText(profile.entra_client_id)
        self.secret.setText(self.tokens.get(entra_secret_name(profile.entra_client_id))
                            if profile.entra_client_id else "")
        self.login_url.setText(profile.entra_login_url)
        self.notify.setText(profile.notify)
        self._update()

    def _update(self) -> None:
        kind = self.kind.currentData()
        self.attribute.setPlaceholderText(EXAMPLES.get(kind, "").partition(":")[2])
        self.url.setPlaceholderText(URL_HINTS.get(kind, ""))
        self.form.setRowVisible(self.attribute, bool(kind))
        self.form.setRowVisible(self.url, kind in URL_HINTS)
        self.form.setRowVisible(self.token, kind == "okta")
        for row in (self.tenant, self.client_id, self.secret, self.login_url):
            self.form.setRowVisible(row, kind == "entra")

    def applied(self, profile: ConnectionProfile) -> ConnectionProfile:
        """The profile with the form's source and webhook (an unused URL is not kept)."""
        kind = self.kind.currentData()
        attribute = self.attribute.text().strip()
        return replace(
            profile,
            source=f"{kind}:{attribute}" if kind else "",
            source_url=self.url.text().strip() if kind in URL_HINTS else "",
            notify=self.notify.text().strip(),
            entra_tenant=self.tenant.text().strip() if kind == "entra" else "",
            entra_client_id=self.client_id.text().strip() if kind == "entra" else "",
            entra_login_url=self.login_url.text().strip() if kind == "entra" else "",
        )

    def problem(self, profile: ConnectionProfile) -> str:
        """What is wrong with the source or the webhook, in one line, or ""."""
        kind, _, attribute = profile.source.partition(":")
        if kind and not attribute:
            example = EXAMPLES[kind].partition(":")[2]
            return (f"Enter the source attribute that holds the value, for example {example}, "
                    "or choose None for users from a file.")
        entra = entra_problem(profile, self.secret.text().strip()) if kind == "entra" else ""
        if entra:
            return entra
        if kind == "okta" and not profile.source_url:
            return "Enter the Okta org URL the users are read from, e.g. https://example.okta.com."
        if profile.source_url:
            problem = url_problem(profile.source_url, profile.insecure_http)
            if problem in ("invalid", "not http"):
                example = URL_HINTS.get(kind, URL_HINTS["okta"]).split()[0]
                return f"The source URL must start with https://, e.g. {example}."
            if problem == "credentials":
                return ("The source URL carries a user name or password (user:password@host): "
                        "remove them; the token has its own field.")
            if problem == "plain http":
                return ("The source URL uses plain HTTP, which would send the token unencrypted:"
                        " use https://, or tick 'Allow plain HTTP' for a local test server.")
        if profile.notify:
            problem = url_problem(profile.notify, False)
            if problem in ("invalid", "not http"):
                return ("The notify webhook must be an https:// URL, as the service (Slack, "
                        "Teams) gave it, or empty.")
            if problem == "credentials":
                return ("The notify webhook carries a user name or password (user:password@"
                        "host): remove them.")
            if problem == "plain http":
                return ("The notify webhook uses plain HTTP: GroupMap posts only over https (or "
                        "to this machine); use the https:// URL the service gave.")
        return ""

    def store_token(self, profile: ConnectionProfile, remember: bool) -> None:
        """Keep the Okta token or Entra client secret typed (in the keyring when `remember`);
        an empty field leaves one stored earlier alone (the environment may hold it instead)."""
        token = self.token.text().strip()
        if profile.source.startswith("okta:") and profile.source_url and token:
            self.tokens.set(okta_token_name(profile.source_url), token, remember=remember)
        secret = self.secret.text().strip()
        if profile.source.startswith("entra:") and profile.entra_client_id and secret:
            self.tokens.set(entra_secret_name(profile.entra_client_id), secret,
                            remember=remember)

    def _stored_token(self, url: str) -> str:
        import httpx

        try:
            return self.tokens.get(okta_token_name(url)) if url.strip() else ""
        except httpx.InvalidURL:  # a file edited by hand: the form says what to fix
            return ""
