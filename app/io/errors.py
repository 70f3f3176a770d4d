"""Errors raised by app.io besides the core's InputError."""


class ImportCancelled(Exception):
    """The admin cancelled a running import; nothing was loaded."""
