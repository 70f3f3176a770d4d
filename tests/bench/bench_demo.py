"""`groupmap demo --headless`: from launch to a finished sync of the bundled sample (298 users).

Runs the real command in a subprocess (server start, app start, import, refresh, preview,
sync, exit), so the figure is what a new user waits for minus their own clicks.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _once() -> float:
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, XDG_DATA_HOME=home)
        env.update(GROUPMAP_NO_KEYRING="1", QT_QPA_PLATFORM="")
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "app", "demo", "--headless"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )
        elapsed = time.perf_counter() - started
    if run.returncode != 0 or "Sync finished." not in run.stdout:
        raise RuntimeError(f"groupmap demo --headless failed: {run.stderr[-500:]}")
    return elapsed


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    times = [_once() for _ in range(1 if quick else 3)]
    return [
        (
            "demo: launch -> synced sample (298 users, headless)",
            f"{statistics.median(times):.1f} s",
            "<= 60 s (start to finished sync in a minute)",
        )
    ]
