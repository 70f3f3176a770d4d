"""The one redaction of secrets for everything GroupMap shows, logs, stores or reports.

A server may echo the token back in many spellings: raw, JSON-escaped (a `/` as `\\/`, a `"`
as `\\"`), percent-encoded (either case of hex digits, `+` for spaces) inside a scimType, a
detail, a reason phrase or a raw body. Every spelling is replaced, case-insensitively
(hiding a little too much is harmless; showing a token is not).

A URL is shown and recorded through redact_url: some providers take an API key in the query
(`?api_key=…`), and a pasted URL may carry `user:password@`.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

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


def redact_url(url: str) -> str:
    """The URL as every message, journal, plan and window shows it: each query value and the
    fragment replaced by [redacted], any user name and password left out (requests use the
    real URL). Redacting twice changes nothing, so redacted URLs compare as their servers."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "(not a valid URL)"
    netloc = parts.netloc.rpartition("@")[2]
    query = "&".join(_hidden_value(pair) for pair in parts.query.split("&")) if parts.query else ""
    fragment = REDACTED if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def url_secrets(url: str) -> list[str]:
    """What redact_url hides (query values, user name and password), for redact to hide where a
    server or a library echoes the real URL in its own text."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    userinfo = parts.netloc.rpartition("@")[0]
    pairs = [pair.partition("=") for pair in parts.query.split("&")]
    found = [value if equals else key for key, equals, value in pairs]
    found += [*userinfo.split(":"), parts.fragment]
    return [text for text in found if text]


def _hidden_value(pair: str) -> str:
    """`key=[redacted]`; a bare `?abc123` may be the key itself, so it is hidden whole."""
    key, equals, _ = pair.partition("=")
    return f"{key}={REDACTED}" if equals else (REDACTED if pair else "")
