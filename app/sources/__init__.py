"""Live user sources: the users and their identity-provider value read from a SCIM server,
Microsoft Entra ID (Graph) or Okta, as the same `UserList` a file import produces.

`spec.py` says what `--users scim:ATTR` / `entra:ATTR` / `okta:ATTR` means; `http.py` is the
bounded HTTP every source shares (deadline, size cap, token redaction, throttling, paging
guard); `scim.py`, `entra.py`, `okta.py` read one kind each, and `users.py` turns what they
read into the `UserList`. Nothing below the command line and the app imports this package
(an import contract).
"""
