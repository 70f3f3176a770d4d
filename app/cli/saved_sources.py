"""`groupmap sources`: the live sources saved with connections (never a token), listed, saved
(`--save`, with the Entra app that signs in unattended) or cleared."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from app.core.errors import InputError

if TYPE_CHECKING:
    from app.cli.common import AddCommand
    from app.scim.config.connections import ConnectionProfile
    from app.sources.spec import SourceSpec

NO_ENTRA_APP = {"entra_tenant": "", "entra_client_id": "", "entra_login_url": ""}


def register(add: AddCommand) -> None:
    sources = add(
        "sources",
        help="list the live user sources saved with connections (never a token), or save one",
    )
    sources.add_argument("--json", action="store_true", help="print one JSON array on stdout")
    sources.add_argument(
        "--save",
        metavar="CONNECTION",
        help="save --users KIND:ATTRIBUTE (and --source-url) with this saved connection",
    )
    sources.add_argument(
        "--clear", metavar="CONNECTION", help="remove the source saved with this connection"
    )
    sources.add_argument("--users", metavar="KIND:ATTRIBUTE", help="the source to save")
    sources.add_argument(
        "--source-url", metavar="URL", help="the Entra Graph URL or the Okta org URL to save"
    )
    sources.add_argument(
        "--entra-tenant",
        metavar="TENANT",
        help="with --users entra:ATTRIBUTE: the tenant of the app that signs in unattended "
        "(its tenant ID, or a domain such as contoso.onmicrosoft.com)",
    )
    sources.add_argument(
        "--entra-client-id",
        metavar="GUID",
        help="with --users entra:ATTRIBUTE: that app's Application (client) ID (its client "
        "secret: the keyring's entra:CLIENT_ID or $GROUPMAP_ENTRA_CLIENT_SECRET)",
    )
    sources.set_defaults(run=cmd_sources)


def cmd_sources(args: argparse.Namespace) -> int:
    import json
    from dataclasses import replace

    from app.scim.config.connections import (
        connections_path,
        find_connection,
        read_connections,
        replace_connections,
    )
    from app.scim.config.tokens import TokenStore
    from app.sources.spec import KINDS, parse_spec

    name = args.save or args.clear
    given = [f"--{n.replace('_', '-')}" for n in ("entra_tenant", "entra_client_id")
             if getattr(args, n) is not None]
    if given and not args.save:
        raise InputError(f"{' and '.join(given)} go with --save CONNECTION --users "
                         "entra:ATTRIBUTE; nothing was saved")
    if name:
        changed = find_connection(name)
        if args.save:
            spec = parse_spec(args.users or "")
            if spec is None:
                raise InputError(
                    f"--save {name} needs --users KIND:ATTRIBUTE with KIND one of "
                    f"{', '.join(KINDS)}, e.g. --users entra:department"
                )
            if spec.kind == "okta" and not args.source_url:
                raise InputError(
                    f"--save {name} --users {spec} needs the Okta org URL: add --source-url "
                    "https://YOUR-ORG.okta.com"
                )
            changed = replace(changed, source=str(spec), source_url=_saved_url(spec, args))
            if spec.kind != "entra":  # the Entra app saved in the app goes with its source
                changed = replace(changed, **NO_ENTRA_APP)
            changed = _saved_entra_app(changed, spec, args)
        else:
            changed = replace(changed, source="", source_url="", **NO_ENTRA_APP)
        profiles = [changed if p.name == name else p for p in read_connections()]
        replace_connections(profiles, TokenStore().delete)
    rows = [_source_row(p) for p in read_connections() if p.source]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    elif not rows:
        print(f"No saved sources ({connections_path()}): save one with 'groupmap sources "
              "--save CONNECTION --users KIND:ATTRIBUTE'.")
    for row in [] if args.json else rows:
        print(f"{row['connection']}: {row['kind']}:{row['attribute']} from {row['url']} "
              f"-> {row['server']}")
    return 0


def _saved_entra_app(
    profile: ConnectionProfile, spec: SourceSpec, args: argparse.Namespace
) -> ConnectionProfile:
    """--entra-tenant and --entra-client-id over the saved app: both checked, and both in the
    end (unattended sign-in needs the pair), or neither."""
    from dataclasses import replace

    from app.core.mapping import as_typed
    from app.sources.entra_login import is_client_id, is_tenant

    tenant, client_id = args.entra_tenant, args.entra_client_id
    if (tenant is not None or client_id is not None) and spec.kind != "entra":
        raise InputError(
            f"--entra-tenant and --entra-client-id name the app an entra: source signs in as; "
            f"{spec} has none: leave them out. Nothing was saved"
        )
    if tenant is not None and not is_tenant(tenant.strip()):
        raise InputError(
            f"--entra-tenant {as_typed(tenant)} is neither a tenant ID (a GUID) nor a domain "
            "such as contoso.onmicrosoft.com: copy the Directory (tenant) ID from the app "
            "registration's Overview in the Entra admin center. Nothing was saved"
        )
    if client_id is not None and not is_client_id(client_id.strip()):
        raise InputError(
            f"--entra-client-id {as_typed(client_id)} is not a GUID such as "
            "11111111-2222-3333-4444-555555555555: copy the Application (client) ID from the "
            "app registration's Overview in the Entra admin center. Nothing was saved"
        )
    profile = replace(
        profile,
        entra_tenant=profile.entra_tenant if tenant is None else tenant.strip(),
        entra_client_id=profile.entra_client_id if client_id is None else client_id.strip(),
    )
    if bool(profile.entra_tenant) != bool(profile.entra_client_id):
        missing = "--entra-client-id" if profile.entra_tenant else "--entra-tenant"
        raise InputError(
            f"connection {profile.name!r}: the Entra app needs both its tenant and its client "
            f"ID to sign in unattended: add {missing}. Nothing was saved"
        )
    return profile


def _saved_url(spec: SourceSpec, args: argparse.Namespace) -> str:
    """--source-url as saved: the base URL of an Entra or Okta source, checked as a read
    checks it (no user name, password or query; plain http is refused at the read)."""
    from app.sources.http import checked_url

    if not args.source_url:
        return ""
    if spec.kind == "scim":
        raise InputError(
            f"--source-url is for entra: and okta: sources; {spec} reads the connection's own "
            "server: leave --source-url out"
        )
    return checked_url(args.source_url, spec.label, insecure_http=True)


def _source_row(profile: ConnectionProfile) -> dict[str, str]:
    from app.scim.http.redact import redact_url
    from app.sources.entra import GRAPH_URL
    from app.sources.entra_login import LOGIN_URL

    kind, _, attribute = profile.source.partition(":")
    url = profile.source_url or {"entra": GRAPH_URL, "scim": profile.url}.get(kind, "")
    row = {"connection": profile.name, "kind": kind, "attribute": attribute,
           "url": redact_url(url) if url else "", "server": redact_url(profile.url)}
    if kind == "entra":  # the app that signs in unattended (its secret is in the keyring)
        row.update(tenant=profile.entra_tenant, client_id=profile.entra_client_id,
                   login_url=redact_url(profile.entra_login_url or LOGIN_URL))
    return row
