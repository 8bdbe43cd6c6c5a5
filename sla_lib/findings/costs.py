"""Third-party repair costs (clause `third_party`): who bears each cost.

sla-rules.md: each cost row names the ticket it was spent on. It is recoverable (borne by the
vendor) when that ticket breached `onsite_arrival` or `onsite_fix`; otherwise it is listed as
disputed, never dropped. A cost whose ticket is not in the data is disputed with that reason.
"""

from __future__ import annotations

import pandas as pd

from sla_lib.store.db import table_exists

ONSITE = ("onsite_arrival", "onsite_fix")
CLAUSE_NAMES = {"onsite_arrival": "现场到达超时", "onsite_fix": "现场排除故障超时"}


def recompute(con, contract) -> None:
    """Rebuild third_party_costs from the current costs and ticket clocks (after every ingest)."""
    con.execute("DELETE FROM third_party_costs")
    if not con.execute("SELECT count(*) FROM cost_rows").fetchall()[0][0]:
        return  # no costs, no rows: skip the scans of ticket_sla and of tickets below
    con.execute(f"""
        INSERT INTO third_party_costs
        WITH b AS (
            SELECT ticket_id, string_agg(clause, ', ' ORDER BY clause) AS breached
            FROM ticket_sla WHERE status = 'breached' AND clause IN {ONSITE} GROUP BY ticket_id
        ), known AS (SELECT ticket_id, strftime(reported_at, '%Y-%m') AS month FROM tickets)
        SELECT c.ticket_id, c.cost_date, c.vendor, c.amount, c.note,
               CASE WHEN b.breached IS NOT NULL THEN 'recoverable' ELSE 'disputed' END,
               CASE WHEN b.breached IS NOT NULL THEN
                        '工单' || replace(replace(b.breached, 'onsite_arrival', '{CLAUSE_NAMES["onsite_arrival"]}'),
                                          'onsite_fix', '{CLAUSE_NAMES["onsite_fix"]}') || '，费用由中标人承担'
                    WHEN k.ticket_id IS NULL THEN '数据中没有该工单，无法认定'
                    ELSE '该工单现场到达与现场排除故障均未超时，费用有争议' END,
               b.breached, k.month, c.source_file, c.source_row
        FROM costs c LEFT JOIN b USING (ticket_id) LEFT JOIN known k USING (ticket_id)
        ORDER BY c.cost_date, c.source_file, c.source_row""")


def _where(months: list[str] | None) -> tuple[str, list]:
    """A cost belongs to the month of its ticket's report; a cost whose ticket is unknown, to the
    month of the cost itself. ``months`` None: every cost."""
    if months is None:
        return "", []
    if not months:
        return "WHERE false", []
    marks = ", ".join("?" for _ in months)
    return f"WHERE coalesce(ticket_month, strftime(cost_date, '%Y-%m')) IN ({marks})", list(months)


def ledger(con, months: list[str] | None = None) -> pd.DataFrame:
    """The cost ledger in Chinese, for reports and the committee's workbook (only the costs of
    ``months`` when given, e.g. the months of one contract year)."""
    if not table_exists(con, "third_party_costs"):
        return pd.DataFrame(columns=["工单号", "发生日期", "服务单位", "金额（元）", "认定", "理由", "说明", "来源"])
    where, args = _where(months)
    df = con.execute(f"""SELECT ticket_id, cost_date, vendor, amount, verdict, reason, note, source_file, source_row
                         FROM third_party_costs {where} ORDER BY cost_date, ticket_id""", args).df()
    return pd.DataFrame({
        "工单号": df["ticket_id"], "发生日期": df["cost_date"].map(lambda v: "" if pd.isna(v) else str(v)[:10]),
        "服务单位": df["vendor"], "金额（元）": df["amount"],
        "认定": df["verdict"].map({"recoverable": "由中标人承担", "disputed": "有争议"}), "理由": df["reason"],
        "说明": df["note"], "来源": [f"{f}:{r}" for f, r in zip(df["source_file"], df["source_row"], strict=True)],
    })


def totals(con, months: list[str] | None = None) -> dict[str, float | int]:
    """Sums of the recoverable and disputed costs (of ``months`` when given) and their counts."""
    out = {"recoverable": 0.0, "disputed": 0.0, "n_recoverable": 0, "n_disputed": 0}
    if not table_exists(con, "third_party_costs"):
        return out
    where, args = _where(months)
    for verdict, amount, n in con.execute(
            f"SELECT verdict, sum(amount), count(*) FROM third_party_costs {where} GROUP BY verdict", args).fetchall():
        out[verdict] = float(amount or 0.0)
        out[f"n_{verdict}"] = int(n)
    return out
