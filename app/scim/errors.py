"""SCIM failures as exceptions the command line and the app can explain in one line."""

from __future__ import annotations


class ScimError(Exception):
    """The service provider refused a request: HTTP status, scimType and the server's detail."""

    def __init__(self, status: int, scim_type: str | None = None, detail: str = "") -> None:
        self.status = status
        self.scim_type = scim_type or None
        self.detail = detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [f"HTTP {self.status}" if self.status else "no answer"]
        if self.scim_type:
            parts.append(f"scimType {self.scim_type}")
        text = ", ".join(parts)
        return f"{text}: {self.detail}" if self.detail else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status!r}, {self.scim_type!r}, {self.detail!r})"


class AuthError(ScimError):
    """401 or 403: the token is missing, wrong, expired or lacks the rights it needs."""


class ConnectError(ScimError):
    """No usable answer: the server could not be reached, timed out or dropped the connection.

    `ambiguous` is true when the request may have reached the server before the failure,
    so a write may or may not have been applied.
    """

    def __init__(self, detail: str, ambiguous: bool = False) -> None:
        self.ambiguous = ambiguous
        super().__init__(0, None, detail)


class SyncCancelled(Exception):
    """The admin cancelled while the server's state was being read; nothing was written."""
