"""A proxy that makes a real SCIM server slow to answer, for tests and the bench.

The bundled server computes every answer under one interpreter; a provider on the internet
answers requests in parallel, each after a network round trip. This proxy adds that round
trip, one way per mode: "answer" holds every answer `delay` seconds after the server gave it
(requests in flight overlap, as on a provider's farm), "serial" holds every answer `delay`
seconds one at a time (a server that answers one request after another: nothing overlaps).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.scim_proxy import FaultProxy

MODES = ("answer", "serial")


@dataclass
class LatencyProxy(FaultProxy):
    delay: float = 0.2
    mode: str = "answer"
    most_held: int = 0  # the most answers this proxy held at the same time

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}: one of {', '.join(MODES)}")
        super().__post_init__()
        self._serial = threading.Lock()
        self._count_lock = threading.Lock()
        self._held = 0

    def _quirk_response(self, h: Any, path: str, response: Any) -> tuple[int, bytes, dict]:
        answer = super()._quirk_response(h, path, response)
        if self.mode == "serial":
            with self._serial:
                self._hold()
        else:
            self._hold()
        return answer

    def _hold(self) -> None:
        with self._count_lock:
            self._held += 1
            self.most_held = max(self.most_held, self._held)
        try:
            time.sleep(self.delay)
        finally:
            with self._count_lock:
                self._held -= 1
