"""`groupmap sync`'s pacing options (--profile, --max-rate, --max-changes-per-hour,
--page-size, --deadline) and Ctrl-C.

Ctrl-C sets a cancel flag that the executor checks before every request and that ends any
wait for the rate limit, so a sync stops between requests; a second Ctrl-C quits at once.
"""

from __future__ import annotations

import argparse
import math
import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.scim.config.profiles import PacingOptions


def pacing_from_args(args: argparse.Namespace, **explicit: int | None) -> PacingOptions:
    """The SyncSettings pacing fields of a command that took add_pacing_options: the preset
    filled in under what was given (a saved connection's 0 means "the preset's"); `explicit`
    adds options only some commands have (--batch-size, --concurrency)."""
    from app.scim.config.profiles import pacing_options

    return pacing_options(
        args.vendor,
        max_rate=args.max_rate or None,
        page_size=args.page_size,
        max_changes_per_hour=args.max_changes_per_hour or None,
        **explicit,
    )


def add_pacing_options(sync: argparse.ArgumentParser) -> None:
    from app.scim.config.profiles import PROFILES

    sync.add_argument(
        "--profile",
        dest="vendor",
        choices=list(PROFILES),
        help="the service provider's published limits: rate, batch size, page size "
        "(default generic: the rate is learned from the server)",
    )
    sync.add_argument(
        "--max-rate",
        type=rate,
        metavar="N",
        help="at most N requests a second, e.g. 1 or 0.5 (default: the --profile's, else "
        "learned from the server's answers)",
    )
    sync.add_argument(
        "--max-changes-per-hour",
        type=changes_per_hour,
        metavar="N",
        help="at most N membership changes an hour, however few requests carry them, e.g. "
        "1000 (default: the --profile's, github 1000; else no budget)",
    )
    sync.add_argument(
        "--page-size",
        type=count("is not a page size: give a whole number of results per page from 1 to "
                   "10000, e.g. 100", most=10_000),
        metavar="N",
        help="results per list page (default: the server's)",
    )
    sync.add_argument(
        "--deadline",
        type=duration,
        default="2h",
        metavar="TIME",
        help="keep retrying requests the server throttles (429, 503) for this long, e.g. 45m "
        "or 3h, at most 24h (default 2h)",
    )


# What float() takes beyond these (`１０`, `1_0`, `inf`, ` 1 `) is refused: a number is written
# in ASCII digits, with a point and an exponent only where a fraction means something.
WHOLE = re.compile(r"[0-9]+")
DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
LONGEST_DEADLINE = 24 * 3600.0  # --deadline: a sync waits on a throttling server a day at most


def number(text: str, problem: str, least: float = 0.0, above: bool = True,
           most: float = math.inf, whole: bool = False) -> float:
    """A number above `least` (or from it, `above` False) up to `most`, whole if asked, in
    ASCII digits; else argparse's one-line error, `problem` saying what to give instead.
    Every numeric option and argument of every command is parsed here."""
    spelled = (WHOLE if whole else DECIMAL).fullmatch(text.strip(" "))
    value = float(spelled[0]) if spelled else math.nan
    fits = value > least if above else value >= least
    if not (math.isfinite(value) and fits and value <= most):
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return value


def count(problem: str, least: int = 1, most: int = 2**31 - 1) -> Callable[[str], int]:
    """A parser of whole numbers from `least` to `most` (--batch-size, --page-size, ports)."""
    return lambda text: int(number(text, problem, least, False, most, whole=True))


def amount(problem: str, most: float) -> Callable[[str], float]:
    """A parser of numbers above 0 up to `most` (seconds, megabytes)."""
    return lambda text: number(text, problem, most=most)


def rate(text: str) -> float:
    """Requests a second, above 0 (for --max-rate)."""
    return number(
        text,
        "is not a rate above 0 and at most 1000: give requests a second, e.g. 1, or 0.5 for "
        "one request every 2 seconds",
        most=1000.0,
    )


def changes_per_hour(text: str) -> float:
    """Membership changes an hour, above 0 (for --max-changes-per-hour)."""
    return number(
        text, "is not a number of changes above 0 and at most 100000000: give membership changes "
        "an hour, e.g. 1000",
        most=1e8,
    )


def duration(text: str) -> float:
    """Seconds above 0 and at most a day, from "7200", "90s", "45m" or "2h" (for --deadline)."""
    problem = "is not a duration: give seconds, or a number with s, m or h (e.g. 2h)"
    match = re.fullmatch(r" *([0-9.]+) *([smh]?) *", text.lower())
    spelled, unit = (match[1], match[2]) if match else ("", "")
    try:  # the number itself as every option's (`number`), then its unit
        seconds = number(spelled, problem) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}") from None
    if seconds > LONGEST_DEADLINE:
        raise argparse.ArgumentTypeError(
            f"{text!r} is longer than a day: give at most 24h (e.g. 2h or 6h), and run a sync "
            "still throttled after that again later"
        )
    return seconds


@contextmanager
def ctrl_c_cancels(out) -> Iterator[threading.Event]:
    """Ctrl-C sets the event (the sync stops between requests); a second one quits at once."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def on_interrupt(signum, frame) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print(
            "\nStopping after the requests under way (Ctrl-C again quits at once)...",
            file=out,
            flush=True,
        )

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


CANCELLED_WHILE_READING = (
    "groupmap: cancelled (Ctrl-C) while reading the server; nothing was written."
)
