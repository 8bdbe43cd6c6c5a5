"""What a report is made of: the input fingerprint of each period and the facts of its report.json.

The fingerprint of a period changes exactly when a figure, status, detail or source line that the
period's report shows changes; ``sla scheduled`` renders a closed period again when the stored
fingerprint differs (docs/scheduled.md).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sla_lib.reports import quarterly, review
from sla_lib.rules import periods as P
from sla_lib.store.db import connect, file_state

# The period a ticket clock belongs to, as SQL over ``ticket_sla s`` (one expression per report kind).
MONTHLY_PERIOD_SQL = "s.month"
FINGERPRINT_VERSION = "sla-report-inputs-v1"


def monthly_fingerprints(con, contract) -> dict[str, str]:
    """month -> input fingerprint of every month with ticket clocks."""
    return period_fingerprints(con, contract.sha256, MONTHLY_PERIOD_SQL)


def _month_tables(con) -> list[str]:
    """Tables besides ``ticket_sla`` with a ``month`` column: the findings of other kinds that are
    kept per month (resident-engineer attendance, …), which a monthly report may show."""
    return [r[0] for r in con.execute("""
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
        WHERE c.column_name = 'month' AND c.table_schema = 'main' AND t.table_type = 'BASE TABLE'
          AND c.table_catalog = current_database()
          AND c.table_name <> 'ticket_sla'
        ORDER BY 1""").fetchall()]


def period_fingerprints(con, contract_sha256: str, period_sql: str = MONTHLY_PERIOD_SQL,
                        only: str | None = None) -> dict[str, str]:
    """Input fingerprint of every period (or of ``only``): period -> sha256 hex.

    The fingerprint of a period is the sha256 of: :data:`FINGERPRINT_VERSION`, the sha256 of the
    contract file the report is rendered with, the contract sha256 the findings were computed with
    (``meta``), the period, and digests (row count and DuckDB ``sum(hash(row))``) of

    - every column of the period's ticket clocks (``ticket_sla``) joined with every column of the
      current version of their tickets (``tickets``, including the source file and row);
    - for monthly periods, the month's rows of every other table with a ``month`` column (the
      per-month findings of other kinds, e.g. staffing, as they are added).

    It changes exactly when a figure, status, detail or source line the period's report shows
    about its own period changes. It does not contain ``as_of`` itself: a newer export moves
    ``as_of``, and the period's fingerprint changes only if that changes one of its clocks (an open
    clock's elapsed time, pending -> breached). A few grouped queries; cheap.
    """
    meta = {k: v for k, v in con.execute(
        "SELECT key, value FROM meta WHERE key = 'contract_sha256'").fetchall()}
    params = [only] if only is not None else []
    queries = [("tickets", f"SELECT {period_sql} AS period, count(*), sum(hash(s, t)) "
                           f"FROM ticket_sla s LEFT JOIN tickets t USING (ticket_id) "
                           f"{f'WHERE {period_sql} = ?' if only is not None else ''} GROUP BY 1")]
    if period_sql == MONTHLY_PERIOD_SQL:
        for table in _month_tables(con):
            queries.append((table, f'SELECT CAST(x.month AS VARCHAR), count(*), sum(hash(x)) FROM "{table}" x '
                                   f"{'WHERE CAST(x.month AS VARCHAR) = ?' if only is not None else ''} GROUP BY 1"))
    parts: dict[str, list[str]] = {}
    for name, sql in queries:
        for period, n, digest in con.execute(sql, params).fetchall():
            if period is not None:
                parts.setdefault(str(period), []).append(f"{name} {n} {digest}")
    out = {}
    for period, digests in parts.items():
        text = "\n".join([FINGERPRINT_VERSION, contract_sha256, meta.get("contract_sha256") or "", period,
                          *sorted(digests)])
        out[period] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return out


FACT_KEYS = ("as_of", "as_of_source", "computed_at", "contract_sha256")
_LOG_COLUMNS = "source_file, file_id, load_seq, kind, loaded_at, export_as_of, rows_loaded"


def _inputs(files: list[tuple], counts: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """The input files of report.json, in load order; with ``counts``, each file's number of the
    period's tickets whose current version comes from it."""
    out = []
    for f, fid, seq, kind, loaded, exp, rows in files:
        item = {"source_file": f, "sha256": fid, "load_seq": seq, "kind": kind,
                "loaded_at": str(loaded) if loaded is not None else None,
                "export_as_of": str(exp) if exp is not None else None, "rows_loaded": rows}
        if counts is not None:
            item["period_tickets"] = counts.get(fid, 0)
        out.append(item)
    return out


def _facts(meta: dict, fingerprint: str | None, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: meta.get(k) for k in FACT_KEYS} | {"input_fingerprint": fingerprint, "inputs": inputs}


def report_inputs(con, contract_sha256: str, period: str, period_sql: str = MONTHLY_PERIOD_SQL) -> dict[str, Any]:
    """What a report of ``period`` is made of, for its report.json: the meta facts (as_of …), the
    input fingerprint, and every loaded file in load order with its sha256 and the number of the
    period's tickets whose current version comes from it (the queries of one period; a batch
    reads every month at once, :func:`_state_inputs`)."""
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    files = con.execute(f"SELECT {_LOG_COLUMNS} FROM ingest_log ORDER BY load_seq").fetchall()
    counts = dict(con.execute(f"""
        SELECT t.file_id, count(*) FROM tickets t
        WHERE t.ticket_id IN (SELECT s.ticket_id FROM ticket_sla s WHERE {period_sql} = ?) GROUP BY 1""",
                              [period]).fetchall())
    fp = period_fingerprints(con, contract_sha256, period_sql, only=period).get(period)
    return _facts(meta, fp, _inputs(files, counts))


# by the identity of the database file read (inode, size, modification time: a state is never
# rewritten in place, store/db.py) and the contract: one entry, the newest
_STATE_INPUTS: dict[tuple, dict[str, Any]] = {}


def _state_inputs(db: Path, contract_sha256: str) -> dict[str, Any]:
    """What report.json says of every period of this state of the file, read once per state and
    process (a batch renders many periods of one state): the meta facts, the load log, each month's
    tickets per file, and every month's fingerprint."""
    key = (*file_state(db), contract_sha256)
    if key not in _STATE_INPUTS:
        con = connect(db, read_only=True)
        try:
            per_month: dict[str, dict[str, int]] = {}
            for period, file_id, n in con.execute(f"""
                    SELECT p.period, t.file_id, count(*) FROM tickets t
                    JOIN (SELECT DISTINCT s.ticket_id, {MONTHLY_PERIOD_SQL} AS period FROM ticket_sla s) p
                      USING (ticket_id)
                    GROUP BY 1, 2""").fetchall():
                per_month.setdefault(str(period), {})[file_id] = n
            got = {"meta": dict(con.execute("SELECT key, value FROM meta").fetchall()),
                   "files": con.execute(f"SELECT {_LOG_COLUMNS} FROM ingest_log ORDER BY load_seq").fetchall(),
                   "per_month": per_month,
                   "fingerprints": period_fingerprints(con, contract_sha256, MONTHLY_PERIOD_SQL)}
        finally:
            con.close()
        _STATE_INPUTS.clear()
        _STATE_INPUTS[key] = got
    return _STATE_INPUTS[key]


def _db_facts(db: Path, contract_sha256: str, period: str) -> dict[str, Any]:
    """report.json facts of a month: what :func:`report_inputs` gives, from :func:`_state_inputs`."""
    got = _state_inputs(db, contract_sha256)
    return _facts(got["meta"], got["fingerprints"].get(period), _inputs(got["files"], got["per_month"].get(period, {})))


def kind_fingerprints(con, contract, kind: str) -> dict[str, str]:
    """Input fingerprints of every quarterly or contract-year period: the period's ticket clocks
    and tickets (as for months), the per-month findings of its months, and its own findings
    (inspection coverage and advice reports of the quarter / the contract year, cost ledger)."""
    out = {}
    if kind == "quarterly":
        periods = [r[0] for r in con.execute("SELECT DISTINCT quarter FROM inspection_coverage").fetchall()]
    else:
        periods = [P.year_label(n) for n in review.years_available(con, contract)]
    per_month = period_fingerprints(con, contract.sha256, MONTHLY_PERIOD_SQL)  # once, for every period
    for period in periods:
        out[period] = _kind_fingerprint(con, contract, kind, period, per_month)
    return out


def _kind_fingerprint(con, contract, kind: str, period: str, per_month: dict[str, str] | None = None) -> str:
    if kind == "quarterly":
        months = quarterly.months_of(con, period)
        own = [("inspection_coverage", "quarter = ?", [period]), ("advice_reports", "period = ?", [period])]
    else:
        n = P.parse_year(period)
        months = P.year_months(contract, n)
        own = [("inspection_coverage", "contract_year = ?", [n]), ("advice_reports", "contract_year = ?", [n]),
               ("third_party_costs", "ticket_month IN (SELECT unnest(?))", [months])]
    if per_month is None:
        per_month = period_fingerprints(con, contract.sha256, MONTHLY_PERIOD_SQL)
    digests = [f"{m} {per_month.get(m, '')}" for m in months]
    for table, where, params in own:
        n_rows, h = con.execute(f'SELECT count(*), sum(hash(x)) FROM "{table}" x WHERE {where}', params).fetchall()[0]
        digests.append(f"{table} {n_rows} {h}")
    text = "\n".join([FINGERPRINT_VERSION, kind, contract.sha256, period, *digests])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _period_facts(db: Path, contract, kind: str, period: str) -> dict[str, Any]:
    """report.json facts of a quarterly or contract-year report (see :func:`report_inputs`)."""
    got = _state_inputs(db, contract.sha256)
    con = connect(db, read_only=True)
    try:
        fp = _kind_fingerprint(con, contract, kind, period, got["fingerprints"])
    finally:
        con.close()
    return _facts(got["meta"], fp, _inputs(got["files"]))


def report_facts(db: Path, contract, kind: str, period: str) -> dict[str, Any]:
    """The report.json facts of ``period`` of report kind ``kind``: the meta facts (as_of …), the
    input fingerprint and the input files."""
    if kind == "monthly":
        return _db_facts(db, contract.sha256, period)
    return _period_facts(db, contract, kind, period)
