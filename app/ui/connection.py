"""Named SCIM connections (staging, production), kept in QSettings without their tokens."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from PySide6.QtCore import QSettings

from app.ui.secrets import TokenStore

TARGET_GROUPS = "groups"
TARGET_ATTRIBUTE = "attribute"
MATCH_ATTRIBUTES = ("userName", "emails", "externalId")
_KEY = "scim/connections"
_FIELDS = (
    "name", "url", "target", "attribute", "match_attribute", "insecure_http", "vendor", "max_rate"
)


@dataclass(frozen=True)
class ConnectionProfile:
    """What is needed to reach one service provider, minus the token."""

    name: str
    url: str = ""
    target: str = TARGET_GROUPS
    attribute: str = ""
    match_attribute: str = "userName"
    insecure_http: bool = False
    vendor: str = "generic"  # the pacing preset (app/scim/profiles.py)
    max_rate: float = 0.0  # requests a second; 0: the preset's, else learned from the server

    def with_changes(self, **changes: object) -> ConnectionProfile:
        return replace(self, **changes)

    def sync_settings(self, token: str | None):
        """The app/scim settings for this profile, with the token given at call time."""
        from app.scim.profiles import pacing_options
        from app.scim.sync import SyncSettings

        return SyncSettings(
            url=self.url,
            token=token or None,
            match_attribute=self.match_attribute,
            target=self.target,
            attribute=self.attribute or None,
            insecure_http=self.insecure_http,
            **pacing_options(self.vendor, max_rate=self.max_rate or None),
        )

    def client(self, token: str | None, cancelled=None, **kwargs: object):
        """A client paced by its own limiter (cancel ends its waits) at the profile's rate."""
        from app.scim.client import ScimClient
        from app.scim.pacing import RateLimiter

        settings = self.sync_settings(token)
        kwargs.setdefault("page_size", settings.page_size)
        kwargs.setdefault("limiter", RateLimiter(settings.max_rate, cancelled=cancelled))
        return ScimClient(
            self.url, token or None, insecure_http=self.insecure_http, **kwargs
        )


class ConnectionStore:
    """The saved profiles (QSettings) and their tokens (TokenStore)."""

    def __init__(self, settings: QSettings | None = None, tokens: TokenStore | None = None):
        self.settings = settings if settings is not None else QSettings("GroupMap", "GroupMap")
        self.tokens = tokens if tokens is not None else TokenStore()
        self._session_only: dict[str, ConnectionProfile] = {}

    def profiles(self) -> list[ConnectionProfile]:
        saved = self._read()
        names = {p.name for p in saved}
        return saved + [p for n, p in self._session_only.items() if n not in names]

    def get(self, name: str) -> ConnectionProfile | None:
        return next((p for p in self.profiles() if p.name == name), None)

    def save(self, profile: ConnectionProfile, *, persist: bool = True) -> None:
        """Add or replace a profile; `persist=False` keeps it for this session (the demo)."""
        if not persist:
            self._session_only[profile.name] = profile
            return
        saved = [p for p in self._read() if p.name != profile.name] + [profile]
        self._write(saved)

    def is_session_only(self, name: str) -> bool:
        """True for a profile kept for this session only (the demo's local server)."""
        return name in self._session_only and all(p.name != name for p in self._read())

    def remove(self, name: str) -> None:
        self._session_only.pop(name, None)
        self._write([p for p in self._read() if p.name != name])
        self.tokens.delete(name)

    @property
    def last_used(self) -> str:
        return str(self.settings.value("scim/last_connection", "") or "")

    @last_used.setter
    def last_used(self, name: str) -> None:
        if name in self._session_only and self.get(name) not in self._read():
            return
        self.settings.setValue("scim/last_connection", name)
        self.settings.sync()

    def _read(self) -> list[ConnectionProfile]:
        profiles = []
        count = self.settings.beginReadArray(_KEY)
        for i in range(count):
            self.settings.setArrayIndex(i)
            name = str(self.settings.value("name", "") or "")
            if not name:
                continue
            profiles.append(
                ConnectionProfile(
                    name=name,
                    url=str(self.settings.value("url", "") or ""),
                    target=str(self.settings.value("target", TARGET_GROUPS) or TARGET_GROUPS),
                    attribute=str(self.settings.value("attribute", "") or ""),
                    match_attribute=str(
                        self.settings.value("match_attribute", "userName") or "userName"
                    ),
                    insecure_http=_as_bool(self.settings.value("insecure_http", False)),
                    vendor=str(self.settings.value("vendor", "generic") or "generic"),
                    max_rate=_as_float(self.settings.value("max_rate", 0.0)),
                )
            )
        self.settings.endArray()
        return profiles

    def _write(self, profiles: list[ConnectionProfile]) -> None:
        self.settings.remove(_KEY)
        self.settings.beginWriteArray(_KEY, len(profiles))
        for i, profile in enumerate(profiles):
            self.settings.setArrayIndex(i)
            values = asdict(profile)
            for key in _FIELDS:  # never a token: the profile has none to write
                self.settings.setValue(key, values[key])
        self.settings.endArray()
        self.settings.sync()


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _as_float(value: object) -> float:
    try:
        return max(0.0, float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
