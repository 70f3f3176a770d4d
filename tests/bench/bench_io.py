"""app.io: importing big exports (.xlsx and .csv), peak memory, and writing a preview workbook."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from app.core.engine import evaluate
from app.core.warnings import find_warnings
from app.io import read_users, write_preview, write_workbook
from tests.bench.data import bench_mapping, export_frame

RUNS = 3
# The peak resident memory (kB) of this process alone: VmHWM belongs to the process's own
# address space, whereas on Linux ru_maxrss also carries the parent's peak across fork + exec.
_PEAK_SCRIPT = (
    "import resource, sys\n"
    "from app.io import read_users\n"
    "users = read_users([sys.argv[1]])\n"
    "assert len(users) == int(sys.argv[2])\n"
    "try:\n"
    "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
    "    print(int(status.split()[0]))\n"
    "except (OSError, IndexError):\n"
    "    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    print(rss // 1024 if sys.platform == 'darwin' else rss)\n"
)


def calendly_export(n_users: int) -> pd.DataFrame:
    """An export as Calendly writes it: its headers plus columns the import does not use."""
    core = export_frame(n_users)
    rng = np.random.default_rng(7)
    days = rng.integers(0, 900, n_users)
    return pd.DataFrame(
        {
            "Name": core["name"],
            "Email": core["email"],
            "Status": np.where(core["status"] == "active", "Active", "Pending"),
            "Role": np.where(rng.random(n_users) < 0.05, "Admin", "User"),
            "Identity Provider Group": core["source"],
            "Current group": core["groups"],
            "Last login": (np.datetime64("2024-01-01") + days).astype(str),
            "Invited by": np.where(rng.random(n_users) < 0.5, "admin@example.com", ""),
        }
    )


def _median_seconds(action, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _peak_mb(path: Path, n_users: int) -> float:
    """Peak resident memory of a fresh process importing `path` (native buffers included)."""
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(path), str(n_users)],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
    ).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    xlsx_users = 10_000 if quick else 100_000
    csv_users = 100_000 if quick else 1_000_000
    rows = []
    with tempfile.TemporaryDirectory(prefix="groupmap-bench-") as folder:
        xlsx = Path(folder) / "users.xlsx"
        write_workbook(xlsx, {"Users": calendly_export(xlsx_users)})
        csv = Path(folder) / "users.csv"
        calendly_export(csv_users).to_csv(csv, index=False)

        users = read_users([xlsx])
        assert len(users) == xlsx_users
        seconds = _median_seconds(lambda: read_users([xlsx]))
        target = "<= 1.5 s" if not quick else "(quick)"
        rows.append((f"import {xlsx_users:,}-row .xlsx", f"{seconds:.2f} s", target))

        seconds = _median_seconds(lambda: read_users([csv]))
        target = "<= 3 s" if not quick else "(quick)"
        rows.append((f"import {csv_users:,}-row .csv", f"{seconds:.2f} s", target))
        peak = _peak_mb(csv, csv_users)
        target = "<= 1.5 GB" if not quick else "(quick)"
        rows.append((f"peak memory, import {csv_users:,}-row .csv", f"{peak:,.0f} MB", target))

        evaluation = evaluate(users, bench_mapping())
        warnings = find_warnings(evaluation)
        preview = Path(folder) / "preview.xlsx"
        seconds = _median_seconds(lambda: write_preview(preview, evaluation, warnings))
        rows.append((f"write {xlsx_users:,}-user preview .xlsx", f"{seconds:.2f} s", "(measured)"))
    return rows
