"""Stage timings of one `sla ingest` (not a test): every SQL statement, wall and CPU time.

    python benchmarks/profile_ingest.py FILE.csv NEW.duckdb [--top 15]

Wraps the connection the ingest opens so that each ``execute`` is timed, and times the ticket
clocks; prints the slowest statements, then the total. CPU time counts every DuckDB thread, so on
a busy machine it is the steadier figure. Make FILE with ``bench_ingest.py --keep``.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import sla_lib.findings.tickets as tk
import sla_lib.load.ingest as ing
import sla_lib.store.db as dbm

ROOT = Path(__file__).resolve().parents[1]
LOG: list[tuple[float, float, str]] = []  # (wall s, cpu s, what)


class TimedConnection:
    """A DuckDB connection whose execute calls are timed (everything else passes through)."""

    def __init__(self, con):
        self._con = con

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql, *args):
        wall, cpu = time.perf_counter(), time.process_time()
        result = self._con.execute(sql, *args)
        LOG.append((time.perf_counter() - wall, time.process_time() - cpu, re.sub(r"\s+", " ", str(sql))))
        return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", type=Path)
    ap.add_argument("db", type=Path)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    connect, clocks = dbm.connect, tk.compute_clocks

    def timed_clocks(*a, **k):
        wall, cpu = time.perf_counter(), time.process_time()
        out = clocks(*a, **k)
        LOG.append((time.perf_counter() - wall, time.process_time() - cpu, "compute_clocks (numpy)"))
        return out

    ing.dbm.connect = lambda *a, **k: TimedConnection(connect(*a, **k))
    tk.compute_clocks = timed_clocks
    wall, cpu = time.perf_counter(), time.process_time()
    res = ing.ingest([args.file], args.db, ROOT / "contract.yaml", echo=lambda *_: None)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print("   wall     cpu  statement")
    for w, c, what in sorted(LOG, reverse=True)[:args.top]:
        print(f"{w:7.3f} {c:7.2f}  {what[:110]}")
    timed = sum(w for w, _, _ in LOG)
    print(f"total {wall:.2f} s wall, {cpu:.2f} s CPU; the {len(LOG)} timed steps {timed:.2f} s wall (the rest is "
          f"Python: hashing and checking the file, Arrow conversions); {res.tickets:,} tickets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
