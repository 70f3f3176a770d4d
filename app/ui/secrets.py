"""Redaction of secrets in text the desktop app shows or logs."""

from __future__ import annotations


def redact(text: str, *secrets: str) -> str:
    """The text with every given secret replaced, for anything shown or logged."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[token hidden]")
    return text
