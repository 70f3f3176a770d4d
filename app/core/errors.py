"""Errors about the admin's input: one clear line, naming the file and what to do next."""


class InputError(Exception):
    """Bad input the admin can fix: a file that can't be read, a missing column, a bad option.

    The command line prints the message and exits with status 2; the app shows it in a dialog.
    """


class SourceColumnMissing(InputError):
    """The export has no column with the source value; `columns` lists the ones it has."""

    def __init__(self, message: str, columns: list[str]) -> None:
        super().__init__(message)
        self.columns = columns
