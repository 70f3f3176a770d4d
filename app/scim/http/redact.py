"""The one redaction of secrets for everything GroupMap shows, logs, stores or reports.

A server may echo the token back in many spellings: raw, JSON-escaped (a `/` as `\\/`, a `"`
as `\\"`), percent-encoded (either case of hex digits, `+` for spaces) inside a scimType, a
detail, a reason phrase or a raw body. Every spelling is replaced, case-insensitively
(hiding a little too much is harmless; showing a token is not).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_SECRET = 4  # shorter "secrets" would redact ordinary words
SCHEMES = ("bearer", "ssws", "basic", "token")  # a token given with its scheme ("SSWS 00ab…")


def spellings(secret: str) -> set[str]:
    """The ways a server may write the secret back."""
    escaped = json.dumps(secret)[1:-1]
    forms = {
        secret,
        escaped,
        escaped.replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    return {form for form in forms if form}


@lru_cache(maxsize=32)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    forms = {form for secret in secrets for form in spellings(secret)}
    if not forms:
        return None
    ordered = sorted(forms, key=len, reverse=True)  # the longest spelling wins at one spot
    return re.compile("|".join(re.escape(form) for form in ordered), re.IGNORECASE)


def redact(text: str, *secrets: str | None) -> str:
    """The text with every spelling of every given secret replaced by [redacted]."""
    given = {s for s in secrets if s}
    given |= {_credential(s) for s in given}  # a server echoes the credential without scheme
    usable = tuple(sorted(s for s in given if len(s) >= MIN_SECRET))
    if not usable or not text:
        return text
    pattern = _pattern(usable)
    return pattern.sub(REDACTED, text) if pattern is not None else text


def _credential(secret: str) -> str:
    """The credential of a token written with its scheme ("SSWS 00ab…" gives "00ab…")."""
    scheme, _, rest = secret.strip().partition(" ")
    return rest.strip() if rest.strip() and scheme.lower() in SCHEMES else secret
