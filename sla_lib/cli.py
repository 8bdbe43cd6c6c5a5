"""The `sla` command (also `python -m sla_lib`). Subcommands are documented in docs/cli.md."""

from __future__ import annotations

import argparse
import functools
import sys
import traceback
from pathlib import Path

from sla_lib import __version__, config
from sla_lib.errors import SlaError
from sla_lib.store.db import scalar
from sla_lib.store.schema import KIND_COLUMNS


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number, 1 or more, got {text!r}")
    return v


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=config.DB_PATH, help=f"DuckDB file (default {config.DB_PATH})")
    p.add_argument("--contract", type=Path, default=config.CONTRACT_PATH, help="contract file (default contract.yaml)")


@functools.cache
def build_parser() -> argparse.ArgumentParser:
    """The `sla` argument parser, built once per process (argparse does not change it while parsing;
    many runs share a process in the tests' simulated year: 2 ms a run)."""
    ap = argparse.ArgumentParser(prog="sla", description="Hold a hospital's maintenance vendor to its contract.")
    ap.add_argument("--version", action="version", version=f"sla {__version__}")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("demo", help="write deterministic demo exports: contract year 1 and part of year 2")
    p.add_argument("--raw-dir", type=Path, default=config.RAW_DIR)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--months", type=_positive_int, default=None,
                   help="months of history from the signing date (default 16: year 1 and four months of year 2)")
    p.add_argument("--contract", type=Path, default=config.CONTRACT_PATH)
    p.add_argument("--if-empty", action="store_true", help="do nothing when the folder already holds exports")

    p = sub.add_parser("ingest", help="load exports into the database and recompute the findings")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: every new file in data/raw/)")
    p.add_argument("--kind", choices=list(KIND_COLUMNS), help="what the files hold (default: inferred)")
    p.add_argument("--preset", help="column-mapping preset name or .yaml path (default: inferred)")
    p.add_argument("--sheet", help="xlsx: the sheet to read (default: the preset's, else the first non-empty one)")
    p.add_argument("--as-of", help="data complete up to this instant (YYYY-MM-DD HH:MM); 'auto' = newest timestamp")
    p.add_argument("--raw-dir", type=Path, default=config.RAW_DIR)
    _common(p)

    p = sub.add_parser("presets", help="list the column-mapping presets; `presets suggest FILE` drafts one")
    psub = p.add_subparsers(dest="presets_cmd")
    q = psub.add_parser("suggest", help="draft a preset for an export no built-in preset knows")
    q.add_argument("file", type=Path)
    q.add_argument("--sheet", help="xlsx: the sheet to read")
    q.add_argument("--kind", choices=list(KIND_COLUMNS), help="what the file holds (default: guessed)")
    q.add_argument("--name", help="preset name (default: from the file name)")
    q.add_argument("--out", type=Path, default=Path("presets"), help="folder to write NAME.yaml in (default presets/)")
    q.add_argument("--force", action="store_true", help="replace an existing file")

    p = sub.add_parser("rejects", help="list rejected rows and write them to an .xlsx for the register's keeper")
    p.add_argument("--file", help="only rows of this file (path as loaded, or its name)")
    p.add_argument("--xlsx", type=Path, help="workbook to write (default reports/rejects[-<file>].xlsx)")
    _common(p)

    p = sub.add_parser("render", help="render a report to HTML")
    rsub = p.add_subparsers(dest="report", required=True)
    r = rsub.add_parser("monthly", help="the monthly compliance report")
    r.add_argument("--month", help="YYYY-MM (default: every month with tickets)")
    r.add_argument("--all", action="store_true", help="every month with tickets")
    r.add_argument("--workers", type=_positive_int, help="rendering processes for --all (default: one per core, at most 4)")
    r.add_argument("--out", type=Path, default=config.REPORTS_DIR)
    _common(r)
    r = rsub.add_parser("quarterly", help="the quarterly report: inspections, advice reports, ticket clauses")
    r.add_argument("--quarter", help="YYYY-Qn, or Yn-Qm for contract quarters (default: every started quarter)")
    r.add_argument("--all", action="store_true", help="every quarter that has started")
    r.add_argument("--workers", type=_positive_int, help="rendering processes for --all (default: one per core, at most 4)")
    r.add_argument("--out", type=Path, default=config.REPORTS_DIR)
    _common(r)
    r = rsub.add_parser("year", help="the contract-year review for the renewal decision, with its workbook")
    r.add_argument("--contract-year", type=int, help="1, 2, … (default: every contract year with tickets)")
    r.add_argument("--all", action="store_true", help="every contract year with tickets")
    r.add_argument("--workers", type=_positive_int, help="rendering processes for --all (default: one per core, at most 4)")
    r.add_argument("--out", type=Path, default=config.REPORTS_DIR)
    _common(r)
    r = rsub.add_parser("all", help="every report of every kind with data (monthly, quarterly, year), in one go")
    r.add_argument("--out", type=Path, default=config.REPORTS_DIR)
    r.add_argument("--workers", type=_positive_int, help="rendering processes (default: one per core, at most 4)")
    _common(r)
    r = rsub.add_parser("index", help="refresh reports/index.html")
    r.add_argument("--out", type=Path, default=config.REPORTS_DIR)

    p = sub.add_parser("report", help="the main job in one go: load what is new in data/raw/, render every report")
    p.add_argument("--demo-if-empty", action="store_true",
                   help="first write the demo exports when data/raw/ holds none (what `make report` does)")
    p.add_argument("--raw-dir", type=Path, default=config.RAW_DIR)
    p.add_argument("--out", type=Path, default=config.REPORTS_DIR)
    p.add_argument("--workers", type=_positive_int, help="rendering processes (default: one per core, at most 4)")
    _common(p)

    p = sub.add_parser("scheduled", help="the scheduled job: load new exports, render every closed period")
    p.add_argument("--today", help="YYYY-MM-DD to act as if it were (default: the real date)")
    p.add_argument("--force", action="store_true", help="render every closed period again")
    p.add_argument("--kinds", help="comma-separated report kinds (default: all: monthly,quarterly,year)")
    p.add_argument("--raw-dir", type=Path, default=config.RAW_DIR)
    p.add_argument("--out", type=Path, default=config.REPORTS_DIR)
    _common(p)

    p = sub.add_parser("statement", help="write the month's vendor statement: every breach, columns to answer")
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.add_argument("--out", type=Path, default=config.REPORTS_DIR)
    _common(p)

    p = sub.add_parser("status", help="what the database holds: files, rows, as_of")
    _common(p)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (SlaError, FileNotFoundError) as e:
        if args.debug:
            traceback.print_exc()
        print(f"sla: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sla: interrupted", file=sys.stderr)
        return 130


def _render(args, helpers=None) -> int:
    """`sla render monthly|quarterly|year|all`: the period asked for, else every period with data.
    Several reports are rendered in one go (render_reports); a failed one is named and the others
    still rendered (exit 1)."""
    from sla_lib.publish.kinds import REPORT_KINDS
    from sla_lib.publish.kinds import kind as report_kind
    from sla_lib.publish.render import render_report, render_reports
    from sla_lib.rules.contract import load_contract
    from sla_lib.store.db import connect

    chosen = list(REPORT_KINDS.values()) if args.report == "all" else [report_kind(args.report)]
    asked = getattr(args, chosen[0].parameter, None) if args.report != "all" else None
    if asked and not args.all:
        print(f"rendered {render_report(chosen[0].name, asked, args.db, args.contract, args.out)}")
        print(args.out / "index.html")
        return 0
    con = connect(args.db, read_only=True)
    try:
        contract = load_contract(args.contract)
        jobs = [(k.name, period) for k in chosen for period in k.available(con, contract)]
    finally:
        con.close()

    def report(o) -> None:
        if o.error:
            print(f"sla: error: {o.error}", file=sys.stderr)
        else:
            print(f"rendered {o.path} ({o.seconds:.1f} s)")

    outcomes = render_reports(jobs, args.db, args.contract, args.out, workers=args.workers, on_done=report,
                              helpers=helpers)
    failed = [o for o in outcomes if o.error]
    print(args.out / "index.html")
    if failed:
        print(f"sla: {len(failed)} of {len(outcomes)} report(s) failed: "
              + ", ".join(f"{o.kind} {o.period}" for o in failed)
              + "; the previous version of each was left in place", file=sys.stderr)
        return 1
    return 0


def _demo(raw: Path, contract_path: Path, if_empty: bool, seed: int = 7, months: int | None = None) -> int:
    """`sla demo`: the demo exports (none when ``if_empty`` and the folder already holds exports)."""
    from sla_lib.demo.write import write_demo
    from sla_lib.rules.contract import load_contract

    if if_empty and raw.exists() and any(q.is_file() and not q.name.startswith(".") for q in raw.iterdir()):
        print(f"{raw}/ already holds exports; demo data not written")
        return 0
    paths = write_demo(raw, load_contract(contract_path), seed=seed, months=months)
    for p in paths:
        print(f"wrote {p}")
    return 0


def _ingest(paths: list[Path], db: Path, contract: Path, raw_dir: Path, **options) -> int:
    """`sla ingest`: load, then one line of what became of the rows."""
    from sla_lib.load.ingest import ingest

    res = ingest(paths, db, contract, raw_dir=raw_dir, **options)
    loaded = [f for f in res.files if f.status == "loaded"]
    waiting = sum(f.status == "incomplete" for f in res.files)
    if waiting:
        print(f"{waiting} file(s) still being written (正在写入，下次再载入): left for the next run")
    print(f"{len(loaded)} file(s) loaded, {sum(f.status == 'skipped' for f in res.files)} already loaded, "
          f"{len(res.failed)} failed; rows read {sum(f.rows_read for f in loaded)}, "
          f"loaded {sum(f.rows_loaded for f in loaded)}, rejected {sum(f.rows_rejected for f in loaded)}; "
          f"{res.tickets} tickets in {db}; as_of {res.as_of}")
    return 1 if res.failed else 0


def _report(args) -> int:
    """`sla report`: the demo exports into an empty folder (``--demo-if-empty``), `sla ingest`, then
    `sla render all`, in one process; the rendering helpers start first and get ready while the
    exports load. Exit 1 when a file failed to load or a report failed to render."""
    import time

    from sla_lib.publish.render import MAX_WORKERS, Helpers, cores

    t0 = time.perf_counter()
    n = args.workers or min(cores(), MAX_WORKERS)  # one per core
    # n helpers, and this process only loads and hands out the reports: the helpers are ready when
    # the load ends, and this one would start its first report cold (one: this process renders)
    with Helpers(n if n > 1 else 0, here=False) as helpers:
        if args.demo_if_empty:
            _demo(args.raw_dir, args.contract, if_empty=True)
        t1 = time.perf_counter()
        loaded = _ingest([], args.db, args.contract, args.raw_dir)
        t2 = time.perf_counter()
        args.report = "all"
        rendered = _render(args, helpers=helpers)
    t3 = time.perf_counter()
    print(f"sla report: {t3 - t0:.1f} s ({'demo exports %.1f s, ' % (t1 - t0) if args.demo_if_empty else ''}"
          f"load {t2 - t1:.1f} s, reports {t3 - t2:.1f} s in {n} process(es))")
    return max(loaded, rendered)


def _dispatch(args) -> int:
    if args.cmd == "demo":
        return _demo(args.raw_dir, args.contract, args.if_empty, args.seed, args.months)

    if args.cmd == "ingest":
        return _ingest(args.paths, args.db, args.contract, args.raw_dir, kind=args.kind, preset=args.preset,
                       as_of=args.as_of, sheet=args.sheet)

    if args.cmd == "report":
        return _report(args)

    if args.cmd == "rejects":
        from sla_lib.reports.export import write_xlsx
        from sla_lib.reports.monthly import reject_list
        from sla_lib.store.db import connect

        con = connect(args.db, read_only=True)
        try:
            df = reject_list(con, limit=None, file=args.file)
        finally:
            con.close()
        for row in df.head(50).itertuples(index=False):
            print("  " + " | ".join("" if v is None else str(v) for v in row))
        if len(df) > 50:
            print(f"  ... {len(df) - 50} more in the workbook")
        stem = "rejects" + (f"-{Path(args.file).stem}" if args.file else "")
        out = write_xlsx({"拒收明细": df}, args.xlsx or config.REPORTS_DIR / f"{stem}.xlsx")
        print(f"{len(df)} rejected cell(s); wrote {out}")
        return 0

    if args.cmd == "presets" and args.presets_cmd == "suggest":
        from sla_lib.load.suggest import write_suggestion

        target, sug = write_suggestion(args.file, args.out, args.name, args.kind, args.sheet, args.force)
        print(f"header row {sug.header_row}; kind {sug.kind}; mapped: "
              + ", ".join(f"{c} <- {h}" for c, (h, _) in sug.mapping.items()))
        if sug.unmapped:
            print("unmapped: " + ", ".join(sug.unmapped))
        print(f"date_order: {sug.date_order or 'not known'} ({sug.date_note})")
        print(f"wrote {target}; check it, then: sla ingest {args.file} --preset {target}")
        return 0

    if args.cmd == "presets":
        from sla_lib.load.presets import builtin_presets

        for p in builtin_presets().values():
            print(f"{p.name:24} {p.kind:12} {p.description}")
        return 0

    if args.cmd == "statement":
        from sla_lib.reports.statement import write_statement
        from sla_lib.rules.contract import load_contract
        from sla_lib.rules.periods import parse_month
        from sla_lib.store.db import open_db

        month = parse_month(args.month)
        con = open_db(args.db)
        try:
            path = write_statement(con, load_contract(args.contract), month, args.out / month / "vendor-statement.xlsx")
            n = con.execute("SELECT count(*) FROM ticket_sla WHERE status = 'breached' AND month = ?",
                            [month]).fetchall()[0][0]
        finally:
            con.close()
        print(f"{n} breached clock(s) of {month}; wrote {path}")
        return 0

    if args.cmd == "render":
        if args.report == "index":
            from sla_lib.publish.archive import write_index

            print(write_index(args.out))
            return 0
        return _render(args)

    if args.cmd == "scheduled":
        from sla_lib.publish.kinds import kinds
        from sla_lib.publish.scheduled import run_scheduled

        return run_scheduled(today=args.today, force=args.force, raw_dir=args.raw_dir, db_path=args.db,
                             contract_path=args.contract, out_dir=args.out, kinds=kinds(args.kinds))

    if args.cmd == "status":
        from sla_lib.store.db import connect, get_meta

        con = connect(args.db, read_only=True)
        try:
            for row in con.execute("SELECT source_file, kind, preset, rows_read, rows_loaded, rows_rejected "
                                   "FROM ingest_log ORDER BY load_seq").fetchall():
                print("{}: {} ({}) read {}, loaded {}, rejected {}".format(*row))
            n = scalar(con, "SELECT count(*) FROM tickets")
            print(f"{n} tickets; as_of {get_meta(con, 'as_of')} ({get_meta(con, 'as_of_source')})")
        finally:
            con.close()
        return 0
    raise AssertionError(args.cmd)
