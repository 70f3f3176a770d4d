"""GroupMap: map identity-provider values to groups, preview offline, sync over SCIM."""

__version__ = "0.1.0"
