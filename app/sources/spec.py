"""What `--users KIND:ATTRIBUTE` names: a live source instead of an export file."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.sources.errors import SourceSpecError

# What an attribute path is made of in SCIM (RFC 7644 ATTRNAME, URN prefixes), Graph
# (`onPremisesExtensionAttributes/extensionAttribute1`) and Okta (`profile.name`): a comma or a
# space would slip another attribute into the request's list, a control character a new line.
ATTRIBUTE = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$.:/-]*$")

KINDS = {
    "scim": "the SCIM server",
    "entra": "Microsoft Entra ID",
    "okta": "Okta",
}


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # one of KINDS
    attribute: str  # the attribute path the value comes from, as the vendor spells it

    def __str__(self) -> str:
        return f"{self.kind}:{self.attribute}"

    @property
    def label(self) -> str:
        return KINDS[self.kind]


def parse_spec(text: str) -> SourceSpec | None:
    """The live source `text` names, or None for a file path (a Windows drive letter, a path
    without a known kind before its colon)."""
    kind, colon, attribute = text.partition(":")
    if not colon or kind.lower() not in KINDS:
        return None
    attribute = attribute.strip()
    if not attribute:
        raise SourceSpecError(
            f"--users {text!r} names {KINDS[kind.lower()]} but no attribute: write "
            f"{kind.lower()}:ATTRIBUTE, e.g. {EXAMPLES[kind.lower()]}"
        )
    if not ATTRIBUTE.match(attribute):
        raise SourceSpecError(
            f"--users {kind.lower()}:{attribute!r}: an attribute path is letters, digits and "
            "_ $ . : / - only (no spaces, commas or quotes): write one attribute, e.g. "
            f"{EXAMPLES[kind.lower()]}"
        )
    return SourceSpec(kind.lower(), attribute)


EXAMPLES = {
    "scim": "scim:urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "entra": "entra:department",
    "okta": "okta:profile.department",
}
