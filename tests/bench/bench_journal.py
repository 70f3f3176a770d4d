"""The journal's cost to every sync: the source guard and the drift discount read the runs to
the same server. Baseline in the same run: reading every run whole (what history does)."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from app.core.mapping import Mapping, MappingRow, MatchKind, Options
from app.io.drafts import draft_dict
from app.io.journal import read_runs
from app.scim.sync.record import applied_since, last_successful_sync

URL = "https://scim.example.com/v2"


def _write_runs(folder: Path, runs: int, mapping_rows: int, members: int) -> None:
    mapping = Mapping(
        tuple(MappingRow(f"value {i}", f"Group {i % 50}", MatchKind.CONTAINS)
              for i in range(mapping_rows)),
        Options(),
    )
    mapping_record = json.dumps({"type": "mapping", "at": "2026-01-01T00:00:00+00:00",
                                 "mapping": draft_dict(mapping)})
    emails = [{"id": f"id{i}", "email": f"user{i}@ex.com", "before": False}
              for i in range(members)]
    for run in range(1, runs + 1):
        start = {"type": "start", "at": "2026-01-01T00:00:00+00:00", "format": 2, "run": run,
                 "url": URL, "dry_run": False, "export": {"files": ["export.csv"],
                                                          "users": 1000, "blank_source": 0}}
        lines = [json.dumps(start), mapping_record]
        for op in ("intent", "op"):
            record = {"type": op, "at": "2026-01-01T00:00:00+00:00", "op": "add",
                      "group": "Group 1", "group_id": "g1", "members": emails}
            if op == "op":
                record["outcome"] = "applied"
            lines.append(json.dumps(record))
        lines.append(json.dumps({"type": "end", "at": "2026-01-01T00:00:01+00:00",
                                 "status": "done", "result": {}}))
        (folder / f"run-{run:04d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _median(action, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    runs, mapping_rows = (60, 1000) if quick else (300, 5000)
    with tempfile.TemporaryDirectory(prefix="groupmap-bench-journal-") as name:
        folder = Path(name)
        _write_runs(folder, runs, mapping_rows, members=1000)
        since = time.time()  # the export is newer than every run: no run's operations needed
        sync_reads = _median(lambda: (last_successful_sync(URL, folder),
                                      applied_since(URL, since, folder)))
        whole = _median(lambda: read_runs(URL, folder))
    label = f"{runs} runs, {mapping_rows:,}-row mapping"
    return [
        (f"journal reads of a sync ({label})", f"{sync_reads:.2f} s",
         f"{sync_reads / whole:.2f}x of reading every run whole ({whole:.2f} s)"),
    ]
