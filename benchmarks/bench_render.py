"""How long people wait for reports, as a ratio to the import floor (issue 14). Not a test.

    python benchmarks/bench_render.py [--repeat N] [--month YYYY-MM] [--keep]

In one run, each in a fresh process and each the best of ``--repeat`` runs (default 3; the whole
``make report`` is run twice):

1. **floor**: ``python -c "import pandas, duckdb, plotly"``, the least any report can cost;
2. **one month**: ``sla render monthly --month 2025-10``, what the analyst waits for after fixing
   one row of a register;
3. **all months**: ``sla render monthly --all``, the 16 monthly reports of the demo;
4. **make report**: the whole main job from a fresh clone with the venv present (``sla report
   --demo-if-empty``: the demo exports, their load, then every monthly, quarterly and
   contract-year report: 24 reports);
5. with ``--tests``, **make test**: the whole suite (ruff, then pytest on every core), run once in
   this checkout, beside the same floor.

Each runs in a scratch project folder (a copy of the Makefile, pyproject.toml and contract.yaml,
and this checkout's ``.venv``), so the checkout's data and reports are not touched. Prints each
time and its ratio to the floor. Targets: one month ≤ 3× the floor, the whole demo ≤ 20×, the
test suite ≤ 200×.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"one month": 3.0, "make report": 20.0, "make test": 200.0}


def timed(cmd: list[str], cwd: Path, repeat: int, before=None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        best = min(best, time.perf_counter() - t0)
    return best


def scratch_project() -> Path:
    work = Path(tempfile.mkdtemp(prefix="sla-bench-render-"))
    for name in ("Makefile", "pyproject.toml", "contract.yaml"):
        shutil.copy2(ROOT / name, work / name)
    venv = ROOT / ".venv"
    if not (venv / "bin" / "sla").exists() or not list(venv.glob(".installed-*")):
        raise SystemExit(f"{venv}: no venv with sla installed; run `make install` first")
    (work / ".venv").symlink_to(venv)
    return work


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--month", default="2025-10")
    ap.add_argument("--keep", action="store_true", help="keep the scratch project folder")
    ap.add_argument("--tests", action="store_true", help="also time `make test` (once) in this checkout")
    args = ap.parse_args(argv)

    # the venv must be installed for this pyproject.toml here: a `make report` in the scratch folder
    # would otherwise install the scratch folder into the shared venv
    subprocess.run(["make", "-s", "install"], cwd=ROOT, check=True)
    work = scratch_project()
    sla = str(work / ".venv" / "bin" / "sla")
    py = str(work / ".venv" / "bin" / "python")

    def fresh() -> None:  # the state of a fresh clone: no exports, no database, no reports
        for name in ("data", "reports"):
            shutil.rmtree(work / name, ignore_errors=True)

    try:
        rows = {}
        rows["floor"] = timed([py, "-c", "import pandas, duckdb, plotly"], work, args.repeat)
        rows["make report"] = timed(["make", "-s", "report"], work, max(2, args.repeat - 1), before=fresh)
        rows["one month"] = timed([sla, "render", "monthly", "--month", args.month], work, args.repeat)
        rows["all months"] = timed([sla, "render", "monthly", "--all"], work, max(1, args.repeat - 1))
        reports = len(list((work / "reports").glob("*/report.json")))
        if args.tests:
            rows["make test"] = timed(["make", "-s", "test"], ROOT, 1)
        floor = rows["floor"]
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"{'measure':14} {'seconds':>8} {'× floor':>8}  target")
        for name, seconds in rows.items():
            target = TARGETS.get(name)
            verdict = "" if target is None else (f"≤ {target:g}× " + ("met" if seconds / floor <= target else "NOT met"))
            print(f"{name:14} {seconds:8.2f} {seconds / floor:8.1f}  {verdict}")
        print(f"({reports} reports in the archive; {os.cpu_count()} cores; load average {load:.2f}; "
              f"python {sys.version.split()[0]}; best of {args.repeat})")
        return 0 if all(rows[k] / floor <= t for k, t in TARGETS.items() if k in rows) else 1
    finally:
        if args.keep:
            print(f"scratch project kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
