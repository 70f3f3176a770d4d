"""`--notify URL`: an unattended sync, apply or undo tells someone when it matters.

When a run fails, is stopped by a guard, is cancelled or leaves work for a rerun (exit
status other than 0), one JSON message is posted to the webhook: a `text` line that Slack
and Teams incoming webhooks show as is, plus the summary fields. The post is bounded in
time (a webhook that hangs holds the run at most TIMEOUT seconds), carries no token (every
secret the run knows is redacted from it), goes only over https (or to this machine), and
never changes the run's exit status: a webhook that fails is one warning on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Callable
from contextlib import redirect_stderr
from typing import TextIO

from app.core.errors import InputError
from app.sources.errors import SourceError

TIMEOUT = 5.0  # seconds the whole post may hold the run, answer included
OUTCOMES = {1: "left work for a rerun", 2: "was stopped", 3: "failed", 4: "failed",
            5: "left work for a rerun", 130: "was cancelled"}
SECRET_ENVS = ("GROUPMAP_ENTRA_TOKEN", "GROUPMAP_ENTRA_CLIENT_SECRET", "GROUPMAP_OKTA_TOKEN")

Command = Callable[[argparse.Namespace], int]


def add_notify_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notify",
        metavar="URL",
        help="post one JSON message to this webhook (Slack, Teams, ...) when the run fails, "
        "is stopped by a guard or leaves work for a rerun (default: the --connection's)",
    )


class _Tee:
    """stderr as it was, and a copy of its lines (the message's error line)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines.extend(line for line in text.splitlines() if line.strip())
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> object:  # encoding, isatty, fileno: the stream's
        return getattr(self.stream, name)


def notifying(command: Command) -> Command:
    """The command, posting to `--notify` (or the connection's webhook) when it ends badly."""

    def run(args: argparse.Namespace) -> int:
        tee = _Tee(sys.stderr)
        status, error = 0, ""
        try:
            with redirect_stderr(tee):  # type: ignore[type-var]
                status = command(args)
        except InputError as exc:  # printed by main(); a guard's stop is one of these
            from app.io.journal import JournalUnwritable

            status, error = (4 if isinstance(exc, JournalUnwritable) else 2), str(exc)
            raise
        except SourceError as exc:  # printed by main(), exit 3
            status, error = 3, str(exc)
            raise
        except SystemExit as exc:  # Ctrl-C while a live source was read: exit 130
            status = exc.code if isinstance(exc.code, int) else 1
            raise
        except Exception as exc:
            status, error = 1, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            url = getattr(args, "notify", None)
            if url and status != 0:
                reason = error or next((ln for ln in reversed(tee.lines)
                                        if ln.startswith("groupmap:")), "")
                post(url, message(args, status, reason), secrets(args))
        return status

    return run


def run_name(args: argparse.Namespace, server: str) -> str:
    """The run as the message's text names it: "sync to URL", "apply of plan.json to URL",
    "undo of run 12 on URL"."""
    command = getattr(args, "command", None) or "sync"
    if command == "apply":
        from pathlib import Path

        return f"apply of {Path(str(args.plan)).name} to {server}"
    if command == "undo":
        return f"undo of run {args.run_id} on {server}"
    return f"{command} to {server}"


def message(args: argparse.Namespace, status: int, reason: str) -> dict[str, object]:
    from app.scim.http.redact import redact_url

    server = redact_url(getattr(args, "url", None) or "") or "the server"
    outcome = OUTCOMES.get(status, f"ended with status {status}")
    line = reason.splitlines()[0] if reason else ""
    first = line.removeprefix("groupmap: ").removeprefix("error: ")
    source = getattr(args, "user_source", None)
    return {
        "text": f"GroupMap {run_name(args, server)} {outcome}" + (f": {first}" if first else "."),
        "command": getattr(args, "command", None) or "sync",
        "status": status,
        "outcome": outcome,
        "server": server,
        "source": source.to_json() if source is not None else None,
        "summary": getattr(args, "summary", None),
    }


def secrets(args: argparse.Namespace) -> list[str]:
    """Every token the run knows: the server's, a live source's (from the keyring too), those
    in the environment and an API key in the server URL's query."""
    from app.scim.http.redact import url_secrets

    known = [getattr(args, "token", None), getattr(args, "source_token", None),
             *map(os.environ.get, SECRET_ENVS), *url_secrets(getattr(args, "url", None) or "")]
    return [s for s in known if s]


def post(url: str, body: dict[str, object], hidden: list[str]) -> None:
    """Send the message; any failure is one warning, never the run's.

    The post runs in a daemon thread the run waits for at most TIMEOUT seconds: httpx's
    timeouts bound each connect, read and write, not a webhook that answers a byte at a time.
    """
    from app.scim.http.transport import url_problem

    host = _host(url)
    problem = url_problem(url, insecure_http=False)
    if problem is not None:
        print(f"groupmap: warning: --notify {host}: not sent ({problem}); give an https "
              "webhook URL. The run's own result stands.", file=sys.stderr)
        return
    outcome: list[str] = []
    sender = threading.Thread(target=lambda: outcome.append(_send(url, body, hidden)),
                              name="groupmap-notify", daemon=True)
    sender.start()
    sender.join(TIMEOUT)
    if not outcome:
        print(f"groupmap: warning: could not notify {host}: no answer within {TIMEOUT:g} s; "
              "check the webhook URL. The run's own result stands.", file=sys.stderr)
    elif outcome[0]:
        print(f"groupmap: warning: could not notify {host}: {outcome[0]}. The run's own "
              "result stands.", file=sys.stderr)


def _host(url: str) -> str:
    import httpx

    try:
        return httpx.URL(url).host or "the webhook"
    except httpx.InvalidURL:
        return "the webhook"


def _send(url: str, body: dict[str, object], hidden: list[str]) -> str:
    """Post the message: "" when the webhook took it, else why not (redacted)."""
    import httpx

    from app.scim.http.redact import redact

    text = redact(json.dumps(body, ensure_ascii=False), *hidden)
    try:
        answer = httpx.post(url, content=text.encode(), timeout=TIMEOUT,
                            headers={"Content-Type": "application/json"})
    except Exception as exc:  # in a thread: whatever it is, the run's result stands
        return redact(" ".join(f"{type(exc).__name__}: {exc}".split()), url, *hidden)
    if answer.is_redirect:  # never followed: the message goes where the admin said, or nowhere
        return (f"it answered {answer.status_code} (a redirect, not followed); give the "
                "webhook's final URL")
    if not answer.is_success:
        return redact(f"it answered {answer.status_code} {answer.reason_phrase}", url, *hidden)
    return ""
