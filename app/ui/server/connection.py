"""The app's saved SCIM connections: the shared connections file, plus session-only ones.

Profiles live in app.scim.config.connections' file (the command line reads it too); the last used
name stays in QSettings. Connections saved by earlier versions in QSettings move to the file
the first time it is read.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from app.scim.config.connections import (
    ConnectionProfile,
    connections_path,
    delete_connection,
    read_connections,
    replace_connections,
    write_connections,
)
from app.scim.config.settings import TARGET_GROUPS
from app.scim.config.tokens import TokenStore

__all__ = ["ConnectionProfile", "ConnectionStore"]

_LEGACY_KEY = "scim/connections"


class ConnectionStore:
    """The saved profiles (the connections file) and their tokens (TokenStore)."""

    def __init__(
        self,
        settings: QSettings | None = None,
        tokens: TokenStore | None = None,
        path: Path | None = None,
    ):
        self.settings = settings if settings is not None else QSettings("GroupMap", "GroupMap")
        self.tokens = tokens if tokens is not None else TokenStore()
        self.path = path or connections_path()
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
        replace_connections(saved, self.tokens.delete, self.path)

    def is_session_only(self, name: str) -> bool:
        """True for a profile kept for this session only (the demo's local server)."""
        return name in self._session_only and all(p.name != name for p in self._read())

    def remove(self, name: str) -> None:
        """Remove the profile and every secret it stored that no other saved one uses."""
        self._session_only.pop(name, None)
        self._read()  # moves connections kept in the older settings to the file first
        delete_connection(name, self.tokens.delete, self.path)

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
        if not self.path.exists():
            legacy = self._read_legacy()
            if legacy:
                self._write(legacy)
                self.settings.remove(_LEGACY_KEY)
            return legacy
        return read_connections(self.path)

    def _write(self, profiles: list[ConnectionProfile]) -> None:
        write_connections(profiles, self.path)

    def _read_legacy(self) -> list[ConnectionProfile]:
        """Profiles an earlier version kept in QSettings."""
        profiles = []
        count = self.settings.beginReadArray(_LEGACY_KEY)
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
                )
            )
        self.settings.endArray()
        return profiles


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)
