"""`--users scim:ATTR | entra:ATTR | okta:ATTR`: the one hook where a live source replaces
the export files, for preview and sync, and the options the sources need (`groupmap sources`,
the sources saved with connections: app/cli/saved_sources.py)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.cli.common import EXIT_CANCELLED
from app.core.errors import InputError

if TYPE_CHECKING:
    from app.core.mapping import Mapping
    from app.core.users import UserList
    from app.sources.spec import SourceSpec
    from app.sources.users import SourceInfo

def add_source_options(parser: argparse.ArgumentParser, *, server: bool) -> None:
    """The live sources' options; `server`: the command has no server options of its own
    (preview), so `--users scim:ATTR` gets them here."""
    if server:
        from app.cli.connections import add_server_options

        add_server_options(parser, "SCIM base URL, for --users scim:ATTRIBUTE")
        parser.add_argument(
            "--match-attribute",
            choices=["userName", "emails", "externalId"],
            help="with --users scim:ATTRIBUTE: the SCIM attribute holding the email "
            "(default userName)",
        )
    parser.add_argument(
        "--entra-url",
        metavar="URL",
        help="Microsoft Graph base URL for --users entra:ATTRIBUTE (default "
        "https://graph.microsoft.com; a national cloud's, or a test server)",
    )
    parser.add_argument(
        "--entra-login-url",
        metavar="URL",
        help="Microsoft sign-in URL (https) MSAL signs in at, with client credentials or a "
        "device code (default https://login.microsoftonline.com; a national cloud's)",
    )
    parser.add_argument(
        "--entra-device-code",
        action="store_true",
        help="sign in to Entra ID at the desk: shows a code to enter at microsoft.com/devicelogin"
        " ($GROUPMAP_ENTRA_TENANT and $GROUPMAP_ENTRA_CLIENT_ID name the app)",
    )
    parser.add_argument(
        "--okta-url", metavar="URL", help="Okta org URL for --users okta:ATTRIBUTE"
    )


def live_spec(args: argparse.Namespace) -> SourceSpec | None:
    """The live source `--users` names, or None for export files; one source alone."""
    from app.sources.spec import parse_spec

    if not args.users:
        args.users = [_saved_source(args)]
    specs = [parse_spec(text) for text in args.users]
    live = [spec for spec in specs if spec is not None]
    if live and len(specs) > 1:
        raise InputError(
            f"--users {live[0]} reads every user from {live[0].label}: give it alone, "
            "without other --users"
        )
    return live[0] if live else None


def _saved_source(args: argparse.Namespace) -> str:
    """The source saved with `--connection`, its URL filling --entra-url or --okta-url."""
    profile = None
    if getattr(args, "connection", None):
        from app.scim.config.connections import find_connection

        profile = find_connection(args.connection)
    if profile is None or not profile.source:
        where = f"connection {profile.name!r} has no saved source" if profile else "none given"
        raise InputError(
            f"no users to read ({where}): pass --users FILE (an export) or --users "
            "KIND:ATTRIBUTE (scim:, entra:, okta:), or save a source with the connection "
            "('groupmap sources --save NAME --users KIND:ATTRIBUTE')"
        )
    kind = profile.source.partition(":")[0].lower()
    option = {"entra": "entra_url", "okta": "okta_url"}.get(kind)
    if option and profile.source_url and not getattr(args, option, None):
        setattr(args, option, profile.source_url)
    if kind == "entra":
        if profile.entra_login_url and not getattr(args, "entra_login_url", None):
            args.entra_login_url = profile.entra_login_url
        args.entra_app = (profile.entra_tenant, profile.entra_client_id, profile.name)
    return profile.source


def load_inputs(args: argparse.Namespace) -> tuple[UserList, Mapping]:
    """The mapping and the users: read live when `--users` names a source (or the
    connection saved one), else from the export files (app/cli/common.py)."""
    from app.cli import common

    spec = live_spec(args)
    if spec is None:
        return common.load_inputs(args)
    return read_live_users(args, spec, common.load_mapping(args))


def read_live_users(
    args: argparse.Namespace, spec: SourceSpec, mapping: Mapping
) -> tuple[UserList, Mapping]:
    """The users of the live source. A multi-valued attribute sets the separator its values
    were joined with, unless one was given."""
    separator = mapping.options.separator
    read = {"scim": _read_scim, "entra": _read_entra, "okta": _read_okta}[spec.kind]
    try:
        users, info = read(args, spec.attribute, separator)
    except KeyboardInterrupt:
        print(f"groupmap: cancelled (Ctrl-C) while reading {spec.label}; nothing was written.",
              file=sys.stderr)
        raise SystemExit(EXIT_CANCELLED) from None
    if info.separator and not separator:
        mapping = mapping.with_options(separator=info.separator)
    mapping = mapping.with_options(source_column=info.origin())  # the report's "Source column"
    args.user_source = info
    out = sys.stderr if getattr(args, "json", False) else sys.stdout
    print(f"Read {info.describe()}.", file=out)
    return users, mapping


def _store_get(name: str) -> str:
    from app.scim.config.tokens import TokenStore

    return TokenStore().get(name)


def _read_scim(
    args: argparse.Namespace, attribute: str, separator: str
) -> tuple[UserList, SourceInfo]:
    from app.scim.http.client import ScimClient
    from app.scim.http.errors import ScimError
    from app.scim.http.redact import redact_url
    from app.sources.errors import SourceError
    from app.sources.scim import read_scim

    if not hasattr(args, "token"):  # preview: no server yet (sync resolved it before)
        from app.cli.connections import apply_connection

        defaults = {"url": None, "match_attribute": "userName", "insecure_http": False}
        apply_connection(args, defaults)
    deadline = getattr(args, "request_deadline", None) or 120.0
    size = getattr(args, "max_response_mb", None) or 64.0
    target_attribute = getattr(args, "target", "") == "attribute"
    written = getattr(args, "attribute", None) if target_attribute else None

    def keep(resources: list[dict[str, Any]], total: int, attributes: tuple[str, ...]) -> None:
        """The listing, for sync's read of the same server (app/scim/sync/state.py)."""
        from app.scim.sync.listed_users import ListedUsers

        args.listed_users = ListedUsers(resources, total, attributes)

    paced, parallel = _paced_like_the_sync(args)
    try:
        with ScimClient(args.url, args.token, insecure_http=args.insecure_http,
                        request_deadline=deadline, max_response_mb=size, **paced) as client:
            return read_scim(client, attribute, args.match_attribute, separator,
                             also=(written,) if written else (), listed=keep,
                             parallel=parallel)
    except ScimError as error:
        raise SourceError(
            f"could not read the users of {redact_url(args.url)}: {error}. Check the URL, "
            f"{args.token_origin} and the network; nothing was written."
        ) from None


def _paced_like_the_sync(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """The client options and pages read ahead of the sync's own reads (--profile,
    --max-rate, --page-size, --concurrency, --deadline), since its listing is the sync's;
    preview has none of them: the client's defaults."""
    if not hasattr(args, "max_rate"):
        return {}, 1
    from app.cli.pacing import pacing_from_args
    from app.scim.http.pacing import RateLimiter

    pacing = pacing_from_args(args, batch_size=args.batch_size, concurrency=args.concurrency)
    limiter = RateLimiter(pacing["max_rate"], args.deadline)
    return {"limiter": limiter, "page_size": pacing["page_size"]}, int(pacing["concurrency"])


def _read_entra(
    args: argparse.Namespace, attribute: str, separator: str
) -> tuple[UserList, SourceInfo]:
    from app.sources.entra import GRAPH_URL, read_entra
    from app.sources.entra_login import TOKEN_ENV as ENTRA_TOKEN_ENV

    def show(text: str, code: str) -> None:
        print(text, file=sys.stderr, flush=True)

    token = _entra_token(args, show)
    args.source_token = token  # redacted from a --notify message, as the server's token

    def renew() -> str:
        """A new token as the first was got: unattended, so no one is asked for a code."""
        return _entra_token(args, show)

    # a token that expires while the read waits on Graph's throttling (the waits may last
    # --deadline, 2 h; a token ~1 h) is renewed where GroupMap signed in without a person
    unattended = not (os.environ.get(ENTRA_TOKEN_ENV, "").strip() or args.entra_device_code)
    return read_entra(token, attribute, args.entra_url or GRAPH_URL, separator,
                      insecure_http=bool(getattr(args, "insecure_http", False)),
                      deadline=_waiting_deadline(args), renew=renew if unattended else None)


def _entra_token(args: argparse.Namespace, show: Callable[[str, str], None]) -> str:
    """The Graph token as entra_token chooses it; where the environment names no app
    ($GROUPMAP_ENTRA_TENANT and $GROUPMAP_ENTRA_CLIENT_ID) and holds no ready token, the app
    saved with the connection signs in: by its client secret ($GROUPMAP_ENTRA_CLIENT_SECRET,
    else the keyring's entra:CLIENT_ID), or with --entra-device-code by a code."""
    from app.sources.entra_login import (
        KEYRING_NAME,
        LOGIN_URL,
        TOKEN_ENV,
        client_credentials,
        device_code_token,
        entra_token,
    )
    from app.sources.errors import SourceSpecError

    login = args.entra_login_url or LOGIN_URL
    tenant, client_id, connection = getattr(args, "entra_app", ("", "", ""))
    named = all(os.environ.get(f"GROUPMAP_ENTRA_{n}", "").strip() for n in ("TENANT", "CLIENT_ID"))
    if os.environ.get(TOKEN_ENV, "").strip() or named or not (tenant and client_id):
        return entra_token(login, _store_get, device_code=args.entra_device_code, show=show)
    if args.entra_device_code:
        return device_code_token(login, tenant, client_id, show)
    secret = os.environ.get("GROUPMAP_ENTRA_CLIENT_SECRET", "").strip()
    secret = secret or _store_get(KEYRING_NAME.format(client_id=client_id))
    if not secret:
        raise SourceSpecError(
            f"no client secret for Entra app {client_id} of connection {connection!r}: type "
            "it in the app (Server ▸ Connect…, kept in the keyring), or run `keyring set "
            f'"GroupMap SCIM" entra:{client_id}`, or set $GROUPMAP_ENTRA_CLIENT_SECRET'
        )
    return client_credentials(login, tenant, client_id, secret)


def _read_okta(
    args: argparse.Namespace, attribute: str, separator: str
) -> tuple[UserList, SourceInfo]:
    from app.sources.okta import okta_token, read_okta

    url = args.okta_url or os.environ.get("GROUPMAP_OKTA_URL", "")
    if not url:
        raise InputError(
            f"--users okta:{attribute} needs the org URL: pass --okta-url "
            "https://YOUR-ORG.okta.com (or set $GROUPMAP_OKTA_URL)"
        )
    args.source_token = okta_token(url, _store_get)  # redacted from a --notify message
    return read_okta(args.source_token, attribute, url, separator,
                     insecure_http=bool(getattr(args, "insecure_http", False)),
                     deadline=_waiting_deadline(args))


def _waiting_deadline(args: argparse.Namespace) -> float:
    """How long a source may keep waiting on its rate limit: sync's --deadline (2 h when
    not given, and for preview, which has no such option)."""
    from app.scim.http.pacing import DEFAULT_DEADLINE

    return float(getattr(args, "deadline", None) or DEFAULT_DEADLINE)
