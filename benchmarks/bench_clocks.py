"""Benchmark (not a test): the ticket clocks alone over an already ingested database.

    python benchmarks/bench_clocks.py DB [--contract contract.yaml] [--runs 3] [--profile]

Same measurement as the "clocks" child of bench_ingest.py (compute_clocks over the loaded tickets,
best of the runs), without regenerating and re-ingesting 1 M tickets each time. Make DB with
`python benchmarks/bench_ingest.py --keep` (it leaves bench.duckdb in a sla-bench-* temporary
folder) or `python -m sla_lib ingest`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from pathlib import Path

import duckdb
import numpy as np

from sla_lib.findings.tickets import CLOCK_INPUTS
from sla_lib.rules.calendar import calendar_for
from sla_lib.rules.clocks import compute_clocks
from sla_lib.rules.contract import load_contract

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--contract", default=str(ROOT / "contract.yaml"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one more run")
    args = ap.parse_args()
    con = duckdb.connect(args.db, read_only=True)
    tbl = con.sql(f"SELECT {', '.join(CLOCK_INPUTS)} FROM tickets").to_arrow_table()
    c = load_contract(args.contract)
    as_of = np.datetime64("2026-07-10T00:00:00")
    cal = calendar_for(c, np.datetime64('2025-01-01'), np.datetime64('2026-12-31'))
    times, cpu = [], []
    out = None
    for _ in range(args.runs):  # as bench_ingest.py: the previous result stays alive during a run
        t, p = time.perf_counter(), time.process_time()
        out = compute_clocks(tbl, c, as_of, cal)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - p)
    best = min(times)
    print(f"{len(out) // out.k:,} tickets: runs {', '.join(f'{x:.3f}' for x in times)} s "
          f"(CPU {', '.join(f'{x:.3f}' for x in cpu)} s); best {best:.3f} s = {tbl.num_rows / best / 1e6:.2f} M tickets/s")
    if args.profile:
        pr = cProfile.Profile()
        pr.enable()
        compute_clocks(tbl, c, as_of, cal)
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
