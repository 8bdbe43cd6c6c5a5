"""The one DuckDB file every layer lives in. Table names are a public interface (docs/tables.md)."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from .errors import DatabaseBusy

DEFAULT_DB = Path("data/processed/sla.duckdb")

TICKET_COLUMNS = {
    # canonical name: DuckDB type
    "ticket_id": "VARCHAR",
    "reported_at": "TIMESTAMP",
    "channel": "VARCHAR",
    "department": "VARCHAR",
    "reporter": "VARCHAR",
    "system": "VARCHAR",  # contract system code
    "system_raw": "VARCHAR",  # as written in the export
    "category": "VARCHAR",
    "severity": "VARCHAR",
    "description": "VARCHAR",  # patient identifiers masked at load
    "responded_at": "TIMESTAMP",
    "plan_at": "TIMESTAMP",
    "resolved_at": "TIMESTAMP",
    "onsite": "BOOLEAN",
    "onsite_requested_at": "TIMESTAMP",
    "arrived_at": "TIMESTAMP",
    "fixed_at": "TIMESTAMP",
    "engineer": "VARCHAR",
    "status": "VARCHAR",
    "exclusion": "VARCHAR",
    "external_sla": "VARCHAR",  # a foreign tool's own verdict (e.g. ServiceNow made_sla), if any
}
TIMESTAMP_COLUMNS = [c for c, t in TICKET_COLUMNS.items() if t == "TIMESTAMP"]

# The other canonical kinds (shared/docs/data-contract.md). Types: TIMESTAMP needs a time of day;
# DATE takes a date (a date-time is cut to its date); DOUBLE a number; BOOLEAN 是/否.
ATTENDANCE_COLUMNS = {  # 考勤日汇总: one row per person per day
    "person": "VARCHAR", "work_date": "DATE", "check_in": "TIMESTAMP", "check_out": "TIMESTAMP",
    "result": "VARCHAR", "note": "VARCHAR",
}
PUNCH_COLUMNS = {  # 考勤原始记录: one row per punch
    "person": "VARCHAR", "punched_at": "TIMESTAMP", "result": "VARCHAR", "device": "VARCHAR",
}
LEAVE_COLUMNS = {  # 请假: a date alone means the start / the end of that day
    "person": "VARCHAR", "start_at": "TIMESTAMP", "end_at": "TIMESTAMP", "leave_type": "VARCHAR",
    "approved_at": "TIMESTAMP", "approver": "VARCHAR", "handover": "VARCHAR",
}
INSPECTION_COLUMNS = {  # 巡检单
    "inspection_id": "VARCHAR", "system": "VARCHAR", "system_raw": "VARCHAR", "start_date": "DATE",
    "end_date": "DATE", "inspector": "VARCHAR", "content": "VARCHAR", "result": "VARCHAR", "findings": "VARCHAR",
}
DELIVERABLE_COLUMNS = {  # 成果交付登记: period is 2026-03 or 2026-Q1
    "deliverable_type": "VARCHAR", "period": "VARCHAR", "submitted_at": "TIMESTAMP", "title": "VARCHAR",
    "file": "VARCHAR",
}
COST_COLUMNS = {  # 第三方维修费用
    "ticket_id": "VARCHAR", "cost_date": "DATE", "vendor": "VARCHAR", "amount": "DOUBLE", "note": "VARCHAR",
}
# Canonical kinds: columns, and the table every loaded row goes into.
KIND_COLUMNS = {
    "tickets": TICKET_COLUMNS, "attendance": ATTENDANCE_COLUMNS, "punches": PUNCH_COLUMNS,
    "leave": LEAVE_COLUMNS, "inspections": INSPECTION_COLUMNS, "deliverables": DELIVERABLE_COLUMNS,
    "costs": COST_COLUMNS,
}
KIND_TABLES = {
    "tickets": "ticket_rows", "attendance": "attendance_rows", "punches": "punch_rows", "leave": "leave_rows",
    "inspections": "inspection_rows", "deliverables": "deliverable_rows", "costs": "cost_rows",
}
KIND_TIMESTAMPS = {k: [c for c, t in cols.items() if t in ("TIMESTAMP", "DATE")] for k, cols in KIND_COLUMNS.items()}
# Current rows of the other kinds (views named after the kind): a later export of the same key
# wins, exactly as for tickets; overlapping exports never double-count.
KIND_KEYS = {
    "attendance": ["person", "work_date"], "punches": ["person", "punched_at"],
    "leave": ["person", "start_at"], "inspections": ["coalesce(inspection_id, system || '/' || start_date)"],
    "deliverables": ["deliverable_type", "period", "coalesce(title, '')"],
    "costs": ["ticket_id", "cost_date", "coalesce(vendor, '')", "amount"],
}

OTHER_KIND_TABLES = "".join(
    f"CREATE TABLE IF NOT EXISTS {KIND_TABLES[k]} ("
    + ", ".join(f"{c} {t}" for c, t in KIND_COLUMNS[k].items())
    + ", file_id VARCHAR NOT NULL, source_file VARCHAR NOT NULL, source_row INTEGER NOT NULL, "
    "load_seq INTEGER NOT NULL, export_as_of TIMESTAMP);\n"
    for k in KIND_KEYS
)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS ingest_log (
    file_id VARCHAR PRIMARY KEY,      -- sha256 of the file's bytes
    source_file VARCHAR NOT NULL,     -- path as given (relative to the project when inside it)
    kind VARCHAR NOT NULL,            -- tickets | ...
    preset VARCHAR NOT NULL,
    encoding VARCHAR,
    sheet VARCHAR,
    header_row INTEGER,               -- 1-based line/row of the header
    loaded_at TIMESTAMP NOT NULL,
    load_seq INTEGER NOT NULL,        -- order of loading, 1, 2, ...
    export_as_of TIMESTAMP,           -- newest timestamp in the file
    rows_read INTEGER NOT NULL,
    rows_loaded INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    rows_merged INTEGER NOT NULL DEFAULT 0  -- event rows folded into their ticket (rows_read = loaded + rejected + merged)
);
CREATE TABLE IF NOT EXISTS rejects (
    file_id VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row INTEGER,               -- 1-based row in the file (line for csv, row for xlsx)
    column_name VARCHAR,              -- the header as written in the file
    reason VARCHAR NOT NULL,
    original_text VARCHAR             -- the cell as written (descriptions masked)
);
CREATE TABLE IF NOT EXISTS ticket_rows (
    {", ".join(f"{c} {t}" for c, t in TICKET_COLUMNS.items())},
    file_id VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    load_seq INTEGER NOT NULL,
    export_as_of TIMESTAMP
);
{OTHER_KIND_TABLES}
CREATE TABLE IF NOT EXISTS ticket_sla (
    ticket_id VARCHAR NOT NULL,
    clause VARCHAR NOT NULL,          -- response | resolution | onsite_arrival | onsite_fix
    status VARCHAR NOT NULL,          -- met | breached | pending | not_applicable | excluded | invalid
    start_at TIMESTAMP,
    deadline_at TIMESTAMP,
    stop_at TIMESTAMP,
    elapsed_minutes DOUBLE,           -- wall clock, start to stop (or to as_of when not stopped)
    working_minutes DOUBLE,           -- working time of the hospital calendar, same span
    late_minutes DOUBLE,              -- wall clock past the deadline, breached only
    provisional BOOLEAN NOT NULL,     -- the deadline used a calendar year marked provisional
    note VARCHAR,                     -- why invalid / excluded / not_applicable, or the anchor used
    month VARCHAR NOT NULL            -- YYYY-MM of reported_at
);
CREATE TABLE IF NOT EXISTS calendar_years (
    year INTEGER PRIMARY KEY,
    source VARCHAR NOT NULL,          -- chinese_calendar | provisional (Monday-Friday assumed)
    provisional BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);
"""

# Current version of each ticket: the row from the newest export (export_as_of), then the
# latest load, then the last row of that file.
VIEWS = """
CREATE OR REPLACE VIEW tickets AS
SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY ticket_id
        ORDER BY export_as_of DESC NULLS LAST, load_seq DESC, source_row DESC) AS rn
    FROM ticket_rows
) WHERE rn = 1;
"""


VIEWS += "".join(f"""
CREATE OR REPLACE VIEW {kind} AS
SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY {", ".join(keys)}
        ORDER BY export_as_of DESC NULLS LAST, load_seq DESC, source_row DESC) AS rn
    FROM {KIND_TABLES[kind]}
) WHERE rn = 1;
""" for kind, keys in KIND_KEYS.items())

_COMPARED = [c for c in TICKET_COLUMNS if c not in ("ticket_id", "system_raw")]
VIEWS += f"""
CREATE OR REPLACE VIEW ticket_conflicts AS
SELECT * FROM (
    SELECT o.ticket_id, o.source_file AS superseded_file, o.source_row AS superseded_row,
           o.export_as_of AS superseded_as_of, t.source_file AS current_file, t.source_row AS current_row,
           t.export_as_of AS current_as_of,
           list_filter([{", ".join(f"CASE WHEN o.{c} IS DISTINCT FROM t.{c} THEN '{c}' END" for c in _COMPARED)}],
                       lambda x: x IS NOT NULL) AS changed_columns
    FROM ticket_rows o JOIN tickets t ON o.ticket_id = t.ticket_id
    WHERE NOT (o.file_id = t.file_id AND o.source_row = t.source_row)
) WHERE len(changed_columns) > 0;
"""


def connect(path: str | Path = DEFAULT_DB, read_only: bool = False, wait_seconds: float | None = None):
    """Open the database, creating it and its tables when new.

    DuckDB lets one process write a file at a time. A second ``sla`` process waits up to
    ``wait_seconds`` for the first, then stops with a clear message.
    """
    path = Path(path)
    if wait_seconds is None:  # SLA_DB_WAIT_SECONDS overrides the default 30 s (tests, impatient jobs)
        wait_seconds = float(os.environ.get("SLA_DB_WAIT_SECONDS", "30"))
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise FileNotFoundError(f"{path}: no database yet; run `sla ingest` first")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusy(
                    f"{path}: the database is in use by another sla process; waited {wait_seconds:.0f} s. "
                    "Try again when it has finished."
                ) from None
            time.sleep(0.25)
    try:  # no progress bar on the terminal; inside a Jupyter kernel DuckDB refuses the setting
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:
        pass
    if not read_only:
        con.execute(SCHEMA)
        con.execute("ALTER TABLE ingest_log ADD COLUMN IF NOT EXISTS rows_merged INTEGER DEFAULT 0")
        from .costs import COSTS_TABLE  # findings tables of the other clauses (their modules own the DDL)
        from .inspections import COVERAGE_TABLE

        con.execute(COSTS_TABLE + COVERAGE_TABLE)
        con.execute(VIEWS)
    return con


def scalar(con, sql: str, params: list | None = None):
    """First column of the first row, or None. Reads the whole (small) result, which DuckDB 2
    requires before the connection can run anything else."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def get_meta(con, key: str, default: str | None = None) -> str | None:
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else default


def set_meta(con, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


@contextmanager
def transaction(con):
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


def project_relative(p: Path) -> str:
    """The path relative to the working folder when inside it, else absolute."""
    try:
        rel = os.path.relpath(p.resolve(), Path.cwd().resolve())
    except ValueError:  # another drive on Windows
        return str(p.resolve())
    return str(p.resolve()) if rel.startswith("..") else rel.replace(os.sep, "/")
