"""Disputes as data (issue 13): a breach counts once the vendor has seen it and had a fair chance
to answer. The vendor statement (``sla statement``) comes back with 申诉理由, 证据 and the IT
department's 裁定, and loads as kind ``disputes``; raw exports are never edited.

For each (ticket, clause) the newest decision counts (every earlier one is kept in
``dispute_rows``): 采纳 (upheld) makes that clock ``excluded`` with the reason, who decided and
when; 驳回 (rejected) leaves it as it was and lists the decision; no decision yet is pending. A
dispute filed after its deadline (申诉截止 on the statement: ``disputes.window_working_days``
working days after it was issued) is listed as late and still decided. ``dispute_outcomes`` keeps
the clock's status before the dispute, so reports show the rate before and after side by side.
Runs right after the ticket clocks, before anything that reads them (third-party costs).
"""

from __future__ import annotations

from sla_lib.rules.contract import TICKET_CLAUSES, Contract

UPHELD = ("采纳", "upheld")
REJECTED = ("驳回", "rejected")


def _clause_sql(contract: Contract) -> str:
    """The clause id of a 条款 cell: 'response 服务响应', 'response' or the Chinese title alone."""
    titles = " ".join(f"WHEN trim(d.clause) = '{contract.clauses[c]['title']}' THEN '{c}'" for c in TICKET_CLAUSES)
    return (f"CASE WHEN split_part(trim(d.clause), ' ', 1) IN ({', '.join(repr(c) for c in TICKET_CLAUSES)}) "
            f"THEN split_part(trim(d.clause), ' ', 1) {titles} END")


def recompute(con, contract: Contract) -> None:
    """Rebuild ``dispute_outcomes`` and exclude the upheld clocks in ``ticket_sla`` (inside the
    caller's transaction, after the ticket clocks were rebuilt)."""
    con.execute("DELETE FROM dispute_outcomes")
    if not con.execute("SELECT count(*) FROM dispute_rows").fetchall()[0][0]:
        return  # no dispute was ever loaded: nothing to decide, no clock to exclude
    upheld = ", ".join(f"'{x}'" for x in UPHELD)
    rejected = ", ".join(f"'{x}'" for x in REJECTED)
    con.execute(f"""
        INSERT INTO dispute_outcomes
        WITH d AS (
            SELECT d.*, {_clause_sql(contract)} AS cid,
                   count(*) OVER (PARTITION BY d.ticket_id, d.clause) AS n
            FROM (SELECT * FROM dispute_rows
                  WHERE reason IS NOT NULL OR evidence IS NOT NULL OR decision IS NOT NULL) d
        ), newest AS (
            SELECT * EXCLUDE (rn) FROM (
                SELECT *, row_number() OVER (PARTITION BY ticket_id, cid
                    ORDER BY export_as_of DESC NULLS LAST, load_seq DESC, source_row DESC) AS rn FROM d
                WHERE cid IS NOT NULL)
            WHERE rn = 1
        )
        SELECT n.ticket_id, n.cid, s.month, s.status,
               CASE WHEN lower(n.decision) IN ({upheld}) THEN 'upheld'
                    WHEN lower(n.decision) IN ({rejected}) THEN 'rejected' ELSE 'pending' END,
               n.reason, n.evidence, n.decided_by, n.decided_at, n.filed_at, n.deadline,
               coalesce(n.filed_at > n.deadline, FALSE), n.n, n.source_file, n.source_row
        FROM newest n JOIN ticket_sla s ON s.ticket_id = n.ticket_id AND s.clause = n.cid""")
    con.execute("""
        UPDATE ticket_sla SET status = 'excluded',
            note = '申诉采纳：' || coalesce(o.reason, '（未写理由）') || '（裁定人 ' || coalesce(o.decided_by, '—')
                   || '，' || coalesce(CAST(o.decided_at AS VARCHAR), '日期未填') || '）'
        FROM dispute_outcomes o
        WHERE o.outcome = 'upheld' AND ticket_sla.ticket_id = o.ticket_id AND ticket_sla.clause = o.clause""")
