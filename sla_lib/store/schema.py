"""Every table and view of the database, as data: the canonical columns of each export kind, the
bookkeeping tables, the findings tables of every clause and the views over them. ``store.db.connect``
creates them all when it opens a file for writing. Names and columns are a public interface
(docs/tables.md)."""

from __future__ import annotations

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
DISPUTE_COLUMNS = {  # 申诉: the returned vendor statement, or any register with these columns
    "ticket_id": "VARCHAR", "clause": "VARCHAR", "reason": "VARCHAR", "evidence": "VARCHAR",
    "decision": "VARCHAR", "decided_by": "VARCHAR", "decided_at": "DATE", "filed_at": "DATE", "deadline": "DATE",
}
# Canonical kinds: columns, and the table every loaded row goes into.
KIND_COLUMNS = {
    "tickets": TICKET_COLUMNS, "attendance": ATTENDANCE_COLUMNS, "punches": PUNCH_COLUMNS,
    "leave": LEAVE_COLUMNS, "inspections": INSPECTION_COLUMNS, "deliverables": DELIVERABLE_COLUMNS,
    "costs": COST_COLUMNS, "disputes": DISPUTE_COLUMNS,
}
KIND_TABLES = {
    "tickets": "ticket_rows", "attendance": "attendance_rows", "punches": "punch_rows", "leave": "leave_rows",
    "inspections": "inspection_rows", "deliverables": "deliverable_rows", "costs": "cost_rows",
    "disputes": "dispute_rows",
}
KIND_TIMESTAMPS = {k: [c for c, t in cols.items() if t in ("TIMESTAMP", "DATE")] for k, cols in KIND_COLUMNS.items()}
# Current rows of the other kinds (views named after the kind): a later export of the same key
# wins, exactly as for tickets; overlapping exports never double-count.
KIND_KEYS = {
    "attendance": ["person", "work_date"], "punches": ["person", "punched_at"],
    "leave": ["person", "start_at"], "inspections": ["coalesce(inspection_id, system || '/' || start_date)"],
    "deliverables": ["deliverable_type", "period", "coalesce(title, '')"],
    "costs": ["ticket_id", "cost_date", "coalesce(vendor, '')", "amount"],
    "disputes": ["ticket_id", "clause"],  # the newest decision for a (ticket, clause) wins; every one is kept
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
-- the current version of each ticket (CURRENT_TICKETS): rebuilt with the findings of every load
CREATE TABLE IF NOT EXISTS tickets (
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
# latest load, then the last row of that file. Kept as the table ``tickets``, rebuilt from this
# query with the findings of every load (findings.recompute): a report reads it in a dozen queries,
# and the window over every row of ticket_rows cost each of them (a monthly report 557 -> 468 ms).
# Files of earlier versions hold a view of the same name and query; a writer replaces it.
CURRENT_TICKETS = """
SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY ticket_id
        ORDER BY export_as_of DESC NULLS LAST, load_seq DESC, source_row DESC) AS rn
    FROM ticket_rows
) WHERE rn = 1
"""
REBUILD_TICKETS = f"DELETE FROM tickets; INSERT INTO tickets {CURRENT_TICKETS} ORDER BY ticket_id;"

VIEWS = "".join(f"""
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


# -- findings tables (rebuilt after every ingest by sla_lib/findings/) ------------------------------
STAFFING_TABLES = """
CREATE TABLE IF NOT EXISTS staffing_days (
    work_date DATE NOT NULL,
    month VARCHAR NOT NULL,            -- YYYY-MM of work_date
    person VARCHAR NOT NULL,
    working_day BOOLEAN NOT NULL,      -- a working day of the hospital calendar
    on_roster BOOLEAN NOT NULL,        -- named in contract roster.staff on that date
    counted BOOLEAN NOT NULL,          -- working day and on the roster: counted in the month's figures
    status VARCHAR NOT NULL,           -- see sla_lib.staffing.STATUS_LABELS
    expected_start TIMESTAMP,          -- first start of the day's working hours (after leave covering it)
    expected_end TIMESTAMP,            -- last end of the day's working hours (before leave covering it)
    check_in TIMESTAMP,
    check_out TIMESTAMP,
    late_minutes INTEGER,              -- max(0, check-in - start - grace), whole minutes
    early_minutes INTEGER,             -- max(0, end - check-out - grace), whole minutes
    missing_punch VARCHAR,             -- check_in | check_out (the punch that is missing)
    punch_count INTEGER,               -- raw punches that day (NULL when only a daily summary exists)
    source VARCHAR,                    -- summary | punches (which attendance shape was used)
    machine_result VARCHAR,            -- 考勤结果 / 打卡结果 as exported (not used for the status)
    other_shape_differs BOOLEAN NOT NULL,  -- both shapes exist and their in/out differ (to the minute)
    leave_file VARCHAR,                -- the leave request used for the day
    leave_row INTEGER,
    leave_status VARCHAR,              -- approved | irregular
    note VARCHAR,                      -- in Chinese: what happened
    provisional BOOLEAN NOT NULL,      -- the day's calendar year is not covered (Monday-Friday assumed)
    source_file VARCHAR,
    source_row INTEGER
);
CREATE TABLE IF NOT EXISTS staffing_coverage (
    work_date DATE NOT NULL,
    month VARCHAR NOT NULL,
    rostered INTEGER NOT NULL,         -- people on the roster that day
    required INTEGER NOT NULL,         -- roster.required_count
    present INTEGER NOT NULL,          -- of them, on site (present, late, left early or missing punch)
    on_leave INTEGER NOT NULL,         -- of them, on a whole day of leave (approved or not)
    covered BOOLEAN NOT NULL,          -- at least one resident present
    all_present BOOLEAN NOT NULL,      -- every rostered person present and rostered >= required
    provisional BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS leave_checks (
    person VARCHAR NOT NULL,
    start_at TIMESTAMP NOT NULL,
    end_at TIMESTAMP NOT NULL,
    leave_type VARCHAR,
    approved_at TIMESTAMP,
    approver VARCHAR,
    handover VARCHAR,
    approved_in_advance BOOLEAN NOT NULL,  -- approved_at < start_at
    handover_named BOOLEAN NOT NULL,       -- a hand-over person other than the applicant
    status VARCHAR NOT NULL,               -- approved | irregular | invalid (ends before it starts)
    issue VARCHAR,                         -- in Chinese: what is missing
    working_days INTEGER NOT NULL,         -- working days whose working hours the leave overlaps
    on_roster BOOLEAN NOT NULL,            -- the applicant is on the roster on the leave's first day
    source_file VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS monthly_records (
    period VARCHAR NOT NULL,           -- YYYY-MM: the month the record covers
    due_date DATE NOT NULL,            -- the Nth working day of the following month
    status VARCHAR NOT NULL,           -- on_time | late | missing | not_yet_due | no_date
    submitted_at TIMESTAMP,            -- the first submission
    late_working_days INTEGER,         -- late only: working days after the due date up to the submission (>= 1)
    submissions INTEGER NOT NULL,      -- rows of the register for the month
    title VARCHAR,
    provisional BOOLEAN NOT NULL,
    source_file VARCHAR,
    source_row INTEGER
);
"""

INSPECTION_TABLES = """
CREATE TABLE IF NOT EXISTS inspection_coverage (
    contract_year INTEGER NOT NULL,
    quarter VARCHAR NOT NULL,        -- 2025-Q3 (calendar) or Y1-Q1 (contract quarters)
    quarter_start DATE NOT NULL,
    quarter_end DATE NOT NULL,       -- last day of the quarter
    covered_start DATE NOT NULL,     -- the part of the quarter inside the contract year
    covered_end DATE NOT NULL,
    partial BOOLEAN NOT NULL,        -- the contract year covers only part of the quarter
    system VARCHAR NOT NULL,
    status VARCHAR NOT NULL,         -- done | too_short | incomplete_sheet | missing | not_yet_due
    inspection_id VARCHAR,
    start_date DATE,
    end_date DATE,
    working_days INTEGER,            -- counted inclusively, hospital calendar
    missing_fields VARCHAR,          -- empty sheet fields, e.g. 巡检结果
    inspections_in_quarter INTEGER NOT NULL,
    provisional BOOLEAN NOT NULL,    -- working days used a calendar year marked provisional
    source_file VARCHAR,
    source_row INTEGER
);
CREATE TABLE IF NOT EXISTS advice_reports (
    contract_year INTEGER NOT NULL,
    period VARCHAR NOT NULL,         -- the quarter, as in inspection_coverage
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    due_date DATE NOT NULL,          -- the Nth working day after the period ends
    status VARCHAR NOT NULL,         -- on_time | late | missing | not_yet_due
    submitted_at TIMESTAMP,
    late_working_days INTEGER,
    title VARCHAR,
    reports_in_period INTEGER NOT NULL,
    source_file VARCHAR,
    source_row INTEGER
);
"""

COST_TABLES = """
CREATE TABLE IF NOT EXISTS third_party_costs (
    ticket_id VARCHAR NOT NULL,
    cost_date DATE,
    vendor VARCHAR,
    amount DOUBLE NOT NULL,
    note VARCHAR,
    verdict VARCHAR NOT NULL,        -- recoverable | disputed
    reason VARCHAR NOT NULL,         -- in Chinese: which on-site clock was breached, or why disputed
    breached_clauses VARCHAR,        -- e.g. onsite_arrival, onsite_fix
    ticket_month VARCHAR,            -- YYYY-MM of the ticket's report (NULL when the ticket is unknown)
    source_file VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);
"""

# register integrity (sla_lib/findings/integrity.py, docs/integrity.md): evidence, not clocks
INTEGRITY_TABLES = """
CREATE TABLE IF NOT EXISTS register_findings (
    finding VARCHAR NOT NULL,          -- edited | vanished | number_gap | late_entry | duplicate_suspect | threshold_heaping | backfilled
    month VARCHAR,                     -- YYYY-MM the finding belongs to (the ticket's, the punch's)
    ticket_id VARCHAR,                 -- the ticket (number_gap: the missing number; backfilled: the person)
    clause VARCHAR,                    -- threshold_heaping: the clause; edited: a clause the edit turned from breached to met
    column_name VARCHAR,               -- edited: the column that changed
    old_value VARCHAR,
    new_value VARCHAR,
    old_file VARCHAR, old_row INTEGER, -- the earlier export and row (vanished: where the ticket was)
    new_file VARCHAR, new_row INTEGER, -- the later export and row (vanished: the export it is missing from)
    after_close BOOLEAN,               -- edited: the later export was made after the ticket's month had closed
    favours_vendor BOOLEAN,            -- edited: the change turns a breached clock into met
    detail VARCHAR NOT NULL            -- the finding in one Chinese sentence
);
"""
# disputes (sla_lib/findings/disputes.py, docs/disputes.md)
DISPUTE_TABLES = """
CREATE TABLE IF NOT EXISTS dispute_outcomes (
    ticket_id VARCHAR NOT NULL,
    clause VARCHAR NOT NULL,           -- response | resolution | onsite_arrival | onsite_fix
    month VARCHAR,                     -- YYYY-MM of the ticket
    status_before VARCHAR,             -- the clock's status before the dispute (breached, …)
    outcome VARCHAR NOT NULL,          -- upheld (采纳: the clock is excluded) | rejected (驳回) | pending (待裁定)
    reason VARCHAR, evidence VARCHAR, decided_by VARCHAR, decided_at DATE, filed_at DATE, deadline DATE,
    late BOOLEAN NOT NULL,             -- filed after the deadline (still decided)
    decisions INTEGER NOT NULL,        -- decisions loaded for this (ticket, clause); the newest counts
    source_file VARCHAR, source_row INTEGER
);
"""
FINDINGS_TABLES = STAFFING_TABLES + INSPECTION_TABLES + COST_TABLES + INTEGRITY_TABLES + DISPUTE_TABLES
