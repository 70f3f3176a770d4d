"""Where bearer tokens live: the OS keyring when one works, else this session's memory only.

A token is never written to settings, connection files, drafts, logs or reports. The desktop
app stores tokens here and the command line (`--connection NAME`) reads them. Headless
machines and CI usually have no keyring backend (keyring answers with its "fail" backend, or
raises), so every keyring call is guarded and a failure falls back to the in-memory store.
Set GROUPMAP_NO_KEYRING=1 to never touch the OS keyring (tests, demo).
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType

SERVICE = "GroupMap SCIM"
# the names of a saved connection's other secrets (its SCIM token goes by the connection's name)
OKTA_TOKEN_NAME = "okta:{host}"  # an Okta source's API token, per org
ENTRA_SECRET_NAME = "entra:{client_id}"  # an Entra source's client secret, per app


def _keyring_module() -> ModuleType | None:
    """The keyring module if a real backend is available, else None."""
    if os.environ.get("GROUPMAP_NO_KEYRING"):
        return None
    try:
        import keyring
        from keyring.backends import chainer, fail

        backend = keyring.get_keyring()
    except Exception:  # a broken keyring install must not stop the app
        return None
    if isinstance(backend, fail.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not chainer.ChainerBackend.backends:
        return None
    return keyring


class TokenStore:
    """Tokens per connection name: in the keyring if possible, always in this session's memory."""

    def __init__(self, use_keyring: bool = True) -> None:
        self._session: dict[str, str] = {}
        self._keyring = _keyring_module() if use_keyring else None

    @property
    def persistent(self) -> bool:
        """True when tokens survive a restart (an OS keyring is in use)."""
        return self._keyring is not None

    def describe(self) -> str:
        if self.persistent:
            return "The token is kept in the system keyring."
        return (
            "No system keyring is available: the token is kept for this session only "
            "and must be entered again after a restart."
        )

    def get(self, name: str) -> str:
        if name in self._session:
            return self._session[name]
        if self._keyring is not None:
            try:
                token = self._keyring.get_password(SERVICE, name) or ""
            except Exception:
                self._keyring = None
                return ""
            if token:
                self._session[name] = token
            return token
        return ""

    def set(self, name: str, token: str, *, remember: bool = True) -> bool:
        """Keep a token; returns True when it was also saved to the OS keyring."""
        if not token:
            self.delete(name)
            return False
        self._session[name] = token
        if self._keyring is None:
            return False
        if not remember:  # "don't remember" also forgets a copy saved earlier
            with contextlib.suppress(Exception):
                self._keyring.delete_password(SERVICE, name)
            return False
        try:
            self._keyring.set_password(SERVICE, name, token)
        except Exception:
            self._keyring = None
            return False
        return True

    def delete(self, name: str) -> None:
        self._session.pop(name, None)
        if self._keyring is not None:
            # Nothing stored, or the keyring went away: nothing to undo either way.
            with contextlib.suppress(Exception):
                self._keyring.delete_password(SERVICE, name)
