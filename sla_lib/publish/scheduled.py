"""`sla scheduled`: the job a hospital's scheduler runs every day (docs/scheduled.md).

One run:

1. takes the run lock ``<out>/.scheduled.lock`` (a second run at the same time stops at once,
   exit 3, and says which process holds the lock);
2. loads every export in ``data/raw/`` not loaded before (:func:`sla_lib.load.ingest.ingest`); when
   there is none and the contract file is the one the findings were computed with, the database
   is not opened for writing at all;
3. for every registered report kind, lists the periods that have data and have closed by
   ``today``, and renders each one that has no report yet, or whose *input fingerprint*
   (:mod:`sla_lib.publish.fingerprints`) differs from the one stored in its report.json;
4. refreshes ``<out>/index.html``.

Everything it says goes to stdout and to one log file per run, ``<out>/logs/<start>.log``.

The scheduler knows no kind of report by name: it walks :data:`sla_lib.publish.kinds.REPORT_KINDS`
(how to list a kind's periods, when a period closes, its fingerprints), the registry that
``sla render`` and the renderer read too.

Exit codes: 0 done (also when there was nothing to do); 1 some export files could not be loaded
(the others were, and reports were rendered); 2 a clear error (contract file, database, folder,
``--today``); 3 another run holds the lock (this run did nothing); 4 a report failed to render:
the previous version of that report is left in place, the other periods were rendered, and the
message names the notebook cell that failed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sla_lib import __version__, config
from sla_lib.errors import SlaError
from sla_lib.load.ingest import expand_paths, file_sha256, ingest
from sla_lib.publish.archive import write_index
from sla_lib.publish.kinds import REPORT_KINDS, ReportKind
from sla_lib.publish.render import render_reports
from sla_lib.rules.contract import load_contract
from sla_lib.store.db import connect, current_file, file_state, project_relative
from sla_lib.store.locks import FileLock

__all__ = ["Pending", "Plan", "plan", "run_scheduled", "hospital_today", "parse_today", "RunLock", "LOCK_NAME",
           "LOG_DIR", "EXIT_OK", "EXIT_LOAD_FAILED", "EXIT_ERROR", "EXIT_BUSY", "EXIT_RENDER_FAILED"]

EXIT_OK, EXIT_LOAD_FAILED, EXIT_ERROR, EXIT_BUSY, EXIT_RENDER_FAILED = 0, 1, 2, 3, 4
LOCK_NAME = ".scheduled.lock"
LOG_DIR = "logs"


# -- dates --------------------------------------------------------------------------------------------------
def parse_today(text: str | None) -> dt.date | None:
    """``--today`` as a date (None when not given); a clear error otherwise."""
    if text is None or text == "":
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise SlaError(f"--today: cannot read '{text}'; expected a date YYYY-MM-DD, e.g. 2026-07-01") from None


def hospital_today(contract) -> dt.date:
    """Today's date in the contract's time zone (``period.timezone``), where the months close;
    the machine's local date when that zone is unknown to this Python (Windows without tzdata)."""
    try:
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo(contract.timezone)).date()
    except (ImportError, KeyError, ValueError, OSError):
        return dt.date.today()


# -- what to render ------------------------------------------------------------------------------------------
@dataclass
class Pending:
    kind: ReportKind
    period: str
    reason: str  # new (no report yet) | changed (fingerprint differs) | unrecorded (no fingerprint) | forced


@dataclass
class Plan:
    today: dt.date
    closed: dict[str, list[str]]  # kind -> closed periods that have data
    open: dict[str, list[str]]  # kind -> periods with data that have not closed yet
    todo: list[Pending]

    @property
    def up_to_date(self) -> int:
        return sum(len(v) for v in self.closed.values()) - len(self.todo)


def _stored(record_path: Path) -> tuple[bool, str | None]:
    """(a usable report exists, its stored input fingerprint)."""
    try:
        rec = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False, None
    if not isinstance(rec, dict) or not rec.get("html") or not (record_path.parent / rec["html"]).exists():
        return False, None
    return True, rec.get("input_fingerprint")


@dataclass(frozen=True)
class PeriodFacts:
    """What planning reads from one state of the database, per report kind: the periods with data
    and their input fingerprints."""

    periods: dict[str, list[str]]
    fingerprints: dict[str, dict[str, str]]


def period_facts(con, contract, kinds: list[ReportKind] | None = None) -> PeriodFacts:
    kinds = kinds if kinds is not None else list(REPORT_KINDS.values())
    periods = {k.name: k.available(con, contract) for k in kinds}
    return PeriodFacts(periods, {k.name: k.fingerprints(con, contract) if periods[k.name] else {} for k in kinds})


def plan(con, contract, out_dir: Path, today: dt.date, force: bool = False,
         kinds: list[ReportKind] | None = None, facts: PeriodFacts | None = None) -> Plan:
    """Which reports a run on ``today`` renders: every closed period with data whose report is
    missing, has no recorded fingerprint, or whose fingerprint differs (every one with ``force``).
    Reads the database (any connection, read-only is enough; or ``facts`` read from it before)
    and the report.json files only."""
    out_dir = Path(out_dir)
    kinds = kinds if kinds is not None else list(REPORT_KINDS.values())
    facts = facts if facts is not None else period_facts(con, contract, kinds)
    closed: dict[str, list[str]] = {}
    still_open: dict[str, list[str]] = {}
    todo: list[Pending] = []
    for kind in kinds:
        periods = facts.periods[kind.name]
        done = [p for p in periods if kind.closes_on(p, contract) <= today]
        closed[kind.name] = done
        still_open[kind.name] = [p for p in periods if p not in done]
        fps = facts.fingerprints[kind.name]
        for period in done:
            exists, stored = _stored(kind.record_path(out_dir, period))
            if force:
                todo.append(Pending(kind, period, "forced"))
            elif not exists:
                todo.append(Pending(kind, period, "new"))
            elif stored is None:
                todo.append(Pending(kind, period, "unrecorded"))
            elif stored != fps.get(period):
                todo.append(Pending(kind, period, "changed"))
    return Plan(today, closed, still_open, todo)


# -- lock and log ----------------------------------------------------------------------------------------------
RunLock = FileLock  # the run lock of reports/.scheduled.lock


class RunLog:
    """Prints to the terminal and appends to one log file per run, ``<out>/logs/<start>.log``
    (``<start>_today-<date>.log`` when ``--today`` is given). Each line is flushed at once, so a
    killed run leaves a readable log."""

    def __init__(self, out_dir: Path, simulated: dt.date | None = None):
        logs = Path(out_dir) / LOG_DIR
        logs.mkdir(parents=True, exist_ok=True)
        stem = dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
        if simulated is not None:
            stem += f"_today-{simulated.isoformat()}"
        n = 1
        while True:
            path = logs / (f"{stem}.log" if n == 1 else f"{stem}-{n}.log")
            try:
                self.file = open(path, "x", encoding="utf-8", newline="\n")  # closed in close()
                break
            except FileExistsError:
                n += 1
        self.path = path

    def __call__(self, msg: str = "", err: bool = False) -> None:
        stream = sys.stderr if err else sys.stdout
        try:
            print(msg, file=stream, flush=True)
        except UnicodeEncodeError:  # a console that cannot show Chinese: the log file still has it
            print(msg.encode(stream.encoding or "ascii", errors="replace").decode(stream.encoding or "ascii"),
                  file=stream, flush=True)
        self.file.write(msg + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


# -- the run --------------------------------------------------------------------------------------------------------
def _rel(p: Path) -> str:
    return project_relative(Path(p))


@dataclass(frozen=True)
class _Loaded:
    """What a run reads from one published database file before it plans: the sha256 of every
    export loaded into it, the contract the findings were computed with, and the period facts."""

    files: frozenset[str]
    contract_sha256: str | None
    facts: PeriodFacts


# The database is never written in place (a load publishes a new file: store/db.py), so a file of the
# same inode, size and modification time holds the same state: the runs of one process (a simulated
# year, a service) read it once. One entry: the newest state.
_READ: dict[tuple, _Loaded] = {}


def _db_state(db_path: Path) -> tuple | None:
    """The state of the file a reader of ``db_path`` opens (a waiting ``pending-<n>`` on Windows
    included), or None when there is no database yet."""
    try:
        return (str(Path(db_path).resolve()), *file_state(current_file(db_path)))
    except OSError:
        return None


def _read_loaded(con, contract, kinds: list[ReportKind] | None) -> _Loaded:
    files = frozenset(r[0] for r in con.execute("SELECT split_part(file_id, '#', 1) FROM ingest_log").fetchall())
    meta = con.execute("SELECT value FROM meta WHERE key = 'contract_sha256'").fetchall()
    return _Loaded(files, meta[0][0] if meta else None, period_facts(con, contract, kinds))


def _loaded(db_path: Path, contract, kinds: list[ReportKind] | None) -> _Loaded | None:
    """What the published database holds (None: no database yet), read once per state of the file."""
    state = _db_state(db_path)
    if state is None:
        return None
    key = (state, contract.sha256, tuple(k.name for k in kinds) if kinds is not None else None)
    if key not in _READ:
        con = connect(db_path, read_only=True)
        try:
            loaded = _read_loaded(con, contract, kinds)
        finally:
            con.close()
        _READ.clear()
        if _db_state(db_path) == state:  # not replaced while it was read
            _READ[key] = loaded
        return loaded
    return _READ[key]


def _needs_ingest(loaded: _Loaded | None, raw_dir: Path, contract) -> tuple[list[Path], str | None]:
    """(export files in raw_dir not loaded yet, why the findings must be recomputed anyway or None).
    ``loaded``: what the database holds, None when there is no database yet. Hashing the exports
    is the only cost when nothing is new."""
    files = expand_paths([], raw_dir) if raw_dir.is_dir() else []
    if loaded is None:
        return files, None
    new = [f for f in files if file_sha256(f) not in loaded.files]
    why = None
    if loaded.contract_sha256 and loaded.contract_sha256 != contract.sha256:
        why = f"the contract file {contract.path.name} changed since the findings were computed"
    return new, why


def run_scheduled(today: str | None = None, force: bool = False, raw_dir: Path = config.RAW_DIR,
                  db_path: Path = config.DB_PATH, contract_path: Path = config.CONTRACT_PATH,
                  out_dir: Path = config.REPORTS_DIR, notebooks_dir: Path | None = None,
                  kinds: list[ReportKind] | None = None) -> int:
    """The scheduled job (``sla scheduled``); returns the exit code (module docstring).

    ``today`` ('YYYY-MM-DD') acts as if the run happened on that day (default: today in the
    contract's time zone). ``force`` renders every closed period again. ``notebooks_dir``
    replaces the folder of the report notebooks (tests); ``kinds`` limits the report kinds.
    """
    raw_dir, db_path, contract_path, out_dir = Path(raw_dir), Path(db_path), Path(contract_path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        simulated = parse_today(today)
        bad_today = None
    except SlaError as e:
        simulated, bad_today = None, e
    log = RunLog(out_dir, simulated)
    started = time.perf_counter()
    try:
        log(f"sla scheduled {__version__}: run started {dt.datetime.now().replace(microsecond=0).isoformat(sep=' ')}"
            f" (pid {os.getpid()}); log {_rel(log.path)}")
        if bad_today is not None:
            log(f"sla: error: {bad_today}", err=True)
            return EXIT_ERROR
        lock = RunLock(out_dir / LOCK_NAME)
        if not lock.acquire():
            log(f"sla: another `sla scheduled` run is in progress ({lock.holder()}; lock {_rel(lock.path)}); "
                "this run did nothing. The next scheduled run will catch up.", err=True)
            return EXIT_BUSY
        try:
            return _run(log, simulated, force, raw_dir, db_path, contract_path, out_dir, notebooks_dir, kinds,
                        started)
        except SlaError as e:
            log(f"sla: error: {e}", err=True)
            return EXIT_ERROR
        except Exception as e:
            import traceback

            log("".join(traceback.format_exception(e)).rstrip(), err=True)
            raise
        finally:
            lock.release()
    finally:
        log.close()


def _run(log: RunLog, simulated: dt.date | None, force: bool, raw_dir: Path, db_path: Path, contract_path: Path,
         out_dir: Path, notebooks_dir: Path | None, kinds: list[ReportKind] | None, started: float) -> int:
    contract = load_contract(contract_path)  # a broken contract stops here, with its key named (parsed once per process while unchanged)
    day = simulated or hospital_today(contract)
    log(f"today {day}" + (" (--today)" if simulated else f" ({contract.timezone})")
        + f"; exports {_rel(raw_dir)}/, database {_rel(db_path)}, reports {_rel(out_dir)}/")

    # 1. new exports (the database is opened for writing only when there is something to load)
    if not raw_dir.is_dir():
        if not db_path.exists():
            raise SlaError(f"{raw_dir}: no such folder and no database {db_path} yet; run the job from the "
                           "project folder or pass --raw-dir/--db")
        log(f"warning: {raw_dir}: no such folder; no exports loaded")
    loaded_before = _loaded(db_path, contract, kinds)
    new_files, recompute = _needs_ingest(loaded_before, raw_dir, contract)
    loaded: list = []
    failed: list = []
    if new_files or recompute:
        log(f"loading: {len(new_files)} new export file(s)" if new_files else f"recomputing: {recompute}")
        res = ingest([], db_path, contract_path, raw_dir=raw_dir, echo=log)
        loaded = [f for f in res.files if f.status == "loaded"]
        failed = res.failed
        log(f"loaded {len(loaded)} file(s), {len(failed)} failed; {res.tickets} tickets; as_of {res.as_of}")
        for f in failed:
            log(f"  could not load {f.message}", err=True)
    else:
        log("no new export files")
    if not db_path.exists():
        log(f"nothing to do: no database yet and no exports in {_rel(raw_dir)}/")
        return EXIT_LOAD_FAILED if failed else EXIT_OK

    # 2. which periods closed and which reports are missing or out of date
    now = _loaded(db_path, contract, kinds) if (new_files or recompute) else loaded_before
    p = plan(None, contract, out_dir, day, force=force, kinds=kinds, facts=now.facts)
    load_code = EXIT_LOAD_FAILED if failed else EXIT_OK
    for name, periods in p.closed.items():
        kind_label = REPORT_KINDS[name].label if name in REPORT_KINDS else name
        span = f" ({periods[0]} … {periods[-1]})" if periods else ""
        waiting = p.open.get(name) or []
        log(f"{name} ({kind_label}): {len(periods)} closed period(s) with data{span}"
            + (f"; {len(waiting)} not closed yet ({waiting[0]} … {waiting[-1]})" if waiting else ""))

    index = out_dir / "index.html"
    if not p.todo:
        if not index.exists():
            write_index(out_dir)
        what = "nothing new" if not (loaded or failed or recompute) else "no report affected"
        log(f"{what}: {p.up_to_date} report(s) up to date; nothing rendered ({time.perf_counter() - started:.2f} s)")
        return load_code

    # 3. render
    log("to render: " + ", ".join(f"{t.kind.name} {t.period} ({t.reason})" for t in p.todo))
    reasons = {(t.kind.name, t.period): t.reason for t in p.todo}

    def report(o) -> None:
        if o.error:
            log(f"FAILED {o.kind} {o.period}: {o.error}", err=True)
        else:
            log(f"rendered {o.kind} {o.period} ({reasons[(o.kind, o.period)]}): {_rel(o.path)} in {o.seconds:.1f} s")

    outcomes = render_reports([(t.kind.name, t.period) for t in p.todo], db_path, contract_path, out_dir,
                              notebooks_dir=notebooks_dir, on_done=report)
    rendered = [o for o in outcomes if not o.error]
    failures = [o for o in outcomes if o.error]
    log(f"done: {len(rendered)} rendered, {len(failures)} failed, {p.up_to_date} up to date; "
        f"index {_rel(index)} ({time.perf_counter() - started:.1f} s)")
    if failures:
        log("the previous version of each failed report was left in place; the next run tries again", err=True)
        return EXIT_RENDER_FAILED
    return load_code
