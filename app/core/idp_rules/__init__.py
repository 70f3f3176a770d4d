"""The mapping as identity-provider rules (Entra, Okta, Google), exact or refused."""

from app.core.idp_rules.differences import affected_notes
from app.core.idp_rules.generate import DEFAULT_ATTRIBUTE, LIMITS, attribute_error, generate
from app.core.idp_rules.model import Format, GroupRule, Refusal, Rules

__all__ = [
    "DEFAULT_ATTRIBUTE",
    "LIMITS",
    "Format",
    "GroupRule",
    "Refusal",
    "Rules",
    "affected_notes",
    "attribute_error",
    "generate",
]
