"""SCIM failures as exceptions the command line and the app can explain in one line."""

from __future__ import annotations

MAX_DETAIL = 500  # characters of a server's text kept: enough to read, not a 2 MB page


def shortened(text: str, limit: int = MAX_DETAIL) -> str:
    """Server text cut to a sane length (redact it before, or a cut token would show)."""
    text = " ".join(str(text).split()) if len(text) > limit else str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters not shown)"


class ScimError(Exception):
    """The service provider refused a request: HTTP status, scimType and the server's detail."""

    def __init__(self, status: int, scim_type: str | None = None, detail: str = "") -> None:
        self.status = status
        self.scim_type = shortened(str(scim_type), 80) if scim_type else None
        self.detail = shortened(detail)
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


class BadAnswer(ScimError):
    """A 2xx answer GroupMap cannot use: wrong JSON types, a missing id, a body too large."""

    def __init__(self, detail: str, status: int = 200) -> None:
        super().__init__(status, None, detail)

    @property
    def message(self) -> str:
        return self.detail  # it names the server and the request itself


class TooLarge(BadAnswer):
    """An answer above the response size limit (--max-response-mb)."""


class UnsafeWrite(ScimError):
    """A write GroupMap did not send because its effect on this server cannot be vouched for."""

    def __init__(self, detail: str) -> None:
        super().__init__(0, None, detail)

    @property
    def message(self) -> str:
        return f"not sent: {self.detail}"


class UnsafeRemoval(UnsafeWrite):
    """Removals only: the adds of the same batch can still be sent on their own."""


class PartlyWritten(Exception):
    """A membership write sent in two requests whose first (the checked value-array removal)
    landed and whose second failed: the removal is done and must be recorded as such."""

    def __init__(self, error: ScimError, removed: list[str]) -> None:
        super().__init__(str(error))
        self.error = error
        self.removed = removed  # member ids the first request removed


class SyncCancelled(Exception):
    """The admin cancelled while the server's state was being read; nothing was written."""
