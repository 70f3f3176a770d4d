"""`make bench`: speed and memory of GroupMap's hot paths on generated data, as one table.

Each area lives in tests/bench/bench_<area>.py with `run(quick) -> [(measure, result, target)]`.
`python -m tests.bench --quick` runs smaller sizes; `--only core,io` picks areas.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

AREAS = ["core", "io", "journal", "ui", "scim", "reads", "sources", "demo"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    parser.add_argument("--only", default=",".join(AREAS), help="comma-separated areas")
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    for area in args.only.split(","):
        try:
            module = importlib.import_module(f"tests.bench.bench_{area}")
        except ModuleNotFoundError as error:
            print(f"[{area}] skipped: {error}", file=sys.stderr)
            continue
        started = time.perf_counter()
        print(f"[{area}] running...", file=sys.stderr, flush=True)
        rows += [(area, *row) for row in module.run(quick=args.quick)]
        print(f"[{area}] done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    headers = ("area", "measure", "result", "target")
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(4)]
    for line in [headers, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
