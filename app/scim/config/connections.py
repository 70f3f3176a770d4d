"""Named SCIM connections (staging, production): what reaches a service provider, minus the token.

The desktop app saves them and the command line reads them (`groupmap connections`,
`--connection NAME`), so both share this one file: JSON in the user's configuration folder
(platformdirs; `$XDG_CONFIG_HOME/GroupMap/connections.json` on Linux). Tokens never go into
it; they live in the OS keyring (app.scim.config.tokens).
"""

from __future__ import annotations

import contextlib
import json
import os
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from app.core.errors import InputError
from app.core.mapping import as_typed
from app.io.atomic import atomic_write_bytes
from app.io.limits import read_limited
from app.scim.config.profiles import PROFILES, pacing_options
from app.scim.config.settings import MATCH_ATTRIBUTES, TARGETS, SyncSettings
from app.scim.config.tokens import ENTRA_SECRET_NAME, OKTA_TOKEN_NAME
from app.scim.http.client import ScimClient
from app.scim.http.pacing import RateLimiter

FORMAT = "groupmap-connections"
VERSION = 1
MAX_FILE_BYTES = 1 << 20
# What a saved profile's field must be to be kept (other fields: a string).
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "insecure_http": bool,
    "max_rate": (int, float),
    "max_changes_per_hour": (int, float),
}
RATES = ("max_rate", "max_changes_per_hour")  # 0 (or absent, in older files): the preset's
# control and invisible formatting characters (bidi overrides, zero-width), line breaks and
# surrogates: printed, they rewrite a terminal or reverse how a line reads
HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")


@dataclass(frozen=True)
class ConnectionProfile:
    """What is needed to reach one service provider, minus the token."""

    name: str
    url: str = ""
    target: str = TARGETS[0]
    attribute: str = ""
    match_attribute: str = "userName"
    insecure_http: bool = False
    vendor: str = "generic"  # the pacing preset (app/scim/config/profiles.py)
    max_rate: float = 0.0  # requests a second; 0: the preset's, else learned from the server
    max_changes_per_hour: float = 0.0  # membership changes; 0: the preset's, else no budget
    source: str = ""  # where the users come from unattended: "entra:department" (app/sources)
    source_url: str = ""  # that source's URL: Graph's (default) or the Okta org's
    # an Entra source's app for unattended sign-in (its client secret is in the keyring,
    # entra:CLIENT_ID) and the sign-in URL, empty for https://login.microsoftonline.com
    entra_tenant: str = ""
    entra_client_id: str = ""
    entra_login_url: str = ""
    notify: str = ""  # a webhook told when an unattended run fails or leaves work

    def sync_settings(self, token: str | None) -> SyncSettings:
        """The sync settings for this profile, with the token given at call time."""
        return SyncSettings(
            url=self.url,
            token=token or None,
            match_attribute=self.match_attribute,
            target=self.target,
            attribute=self.attribute or None,
            insecure_http=self.insecure_http,
            **pacing_options(
                self.vendor,
                max_rate=self.max_rate or None,
                max_changes_per_hour=self.max_changes_per_hour or None,
            ),
        )

    def client(
        self, token: str | None, cancelled: Callable[[], bool] | None = None, **kwargs: Any
    ) -> ScimClient:
        """A client paced by its own limiter (a cancel ends its waits) at the profile's rate."""
        settings = self.sync_settings(token)
        kwargs.setdefault("page_size", settings.page_size)
        kwargs.setdefault("limiter", RateLimiter(settings.max_rate, cancelled=cancelled))
        return ScimClient(self.url, token or None, insecure_http=self.insecure_http, **kwargs)


def connections_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("GroupMap", appauthor=False)) / "connections.json"


def read_connections(path: Path | None = None) -> list[ConnectionProfile]:
    """The saved connections; none when the file does not exist yet."""
    path = path or connections_path()
    if not os.path.lexists(path):
        return []
    try:  # a named pipe or a device in its place is refused, never read (it would block)
        data = json.loads(read_limited(path, MAX_FILE_BYTES))
    except InputError as exc:
        raise InputError(
            f"the saved connections: {exc} Delete it and save the connections again in the"
            " app (Server ▸ Connect…)."
        ) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(
            f"{path}: cannot read the saved connections ({exc}); fix or delete the file and "
            "save the connections again in the app (Server ▸ Connect…)"
        ) from None
    items = data.get("connections") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InputError(
            f"{path}: not a GroupMap connections file (no \"connections\" list); delete it and "
            "save the connections again in the app"
        )
    profiles = []
    for number, item in enumerate(items, 1):  # the entry's place in the file's list
        profile = _profile(item)
        if profile is None:
            continue
        profiles.append(profile)
        field = hidden_character_field(profile)
        if field:
            raise InputError(
                f"{path}: connection {number} ({as_typed(profile.name)}) has a control or "
                f"invisible character in its \"{field}\", which would garble or disguise what "
                "is printed; remove it from the file in a text editor, then run again"
            )
    return profiles


def write_connections(profiles: list[ConnectionProfile], path: Path | None = None) -> None:
    """Replace the saved connections, atomically (never a token: profiles hold none), readable
    by the user alone: a webhook URL lets whoever reads it post to the channel."""
    path = path or connections_path()
    os.makedirs(path.parent, exist_ok=True)
    data = {"format": FORMAT, "version": VERSION, "connections": [asdict(p) for p in profiles]}
    atomic_write_bytes(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
    os.chmod(path, 0o600)  # later writes keep it (the atomic write keeps the mode it replaces)


def find_connection(name: str, path: Path | None = None) -> ConnectionProfile:
    """The saved connection of that name, or a message listing the names there are."""
    profiles = read_connections(path)
    for profile in profiles:
        if profile.name == name:
            return profile
    known = ", ".join(repr(p.name) for p in profiles) or "none are saved yet"
    raise InputError(
        f"no saved connection is named {name!r} (saved: {known}); list them with "
        "'groupmap connections', or save one in the app (Server ▸ Connect…)"
    )


def replace_connections(
    profiles: list[ConnectionProfile], forget: Callable[[str], None], path: Path | None = None
) -> list[str]:
    """Write the saved connections, and `forget` every secret the ones replaced stored that
    none left uses: an Okta token or an Entra client secret whose source was cleared or
    changed (an Okta org or an Entra app may serve several connections). The names forgotten."""
    before = read_connections(path)
    write_connections(profiles, path)
    kept = {secret for p in profiles for secret in secret_names(p)}
    forgotten = [s for p in before for s in secret_names(p) if s not in kept]
    for secret in dict.fromkeys(forgotten):
        forget(secret)
    return list(dict.fromkeys(forgotten))


def delete_connection(
    name: str, forget: Callable[[str], None], path: Path | None = None
) -> list[str]:
    """Remove the saved connection and `forget` every secret it stored: its SCIM token, its
    Okta API token and its Entra client secret, but not one another saved connection still
    uses. The names forgotten (the SCIM token's too where the connection was never saved)."""
    left = [p for p in read_connections(path) if p.name != name]
    forgotten = replace_connections(left, forget, path)
    if name not in forgotten:
        forget(name)
        forgotten.insert(0, name)
    return forgotten


def secret_names(profile: ConnectionProfile) -> list[str]:
    """The names the profile's secrets go by in the token store (app.scim.config.tokens)."""
    names = [profile.name]
    kind = profile.source.partition(":")[0].lower()
    if kind == "okta" and profile.source_url:
        with contextlib.suppress(httpx.InvalidURL):  # hand-edited: no token was stored for it
            names.append(OKTA_TOKEN_NAME.format(host=httpx.URL(profile.source_url.strip()).host))
    if kind == "entra" and profile.entra_client_id.strip():
        names.append(ENTRA_SECRET_NAME.format(client_id=profile.entra_client_id.strip()))
    return names


def hidden_character_field(profile: ConnectionProfile) -> str:
    """The first text field holding a control or invisible character, or ""."""
    for f in fields(profile):
        value = getattr(profile, f.name)
        if isinstance(value, str) and any(
            unicodedata.category(c) in HIDDEN_CATEGORIES for c in value
        ):
            return f.name
    return ""


def _profile(item: object) -> ConnectionProfile | None:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        return None
    values: dict[str, Any] = {}
    for f in fields(ConnectionProfile):
        value = item.get(f.name, f.default)
        expected = FIELD_TYPES.get(f.name, str)
        values[f.name] = value if isinstance(value, expected) else f.default
    if values["target"] not in TARGETS:
        values["target"] = TARGETS[0]
    if values["match_attribute"] not in MATCH_ATTRIBUTES:
        values["match_attribute"] = "userName"
    if values["vendor"] not in PROFILES:
        values["vendor"] = "generic"
    for name in RATES:
        if isinstance(values[name], bool) or not values[name] > 0:
            values[name] = 0.0
    return ConnectionProfile(**values)
