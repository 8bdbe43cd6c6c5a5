"""Third-party costs: recoverable only when the ticket breached an on-site clock."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sla_lib.findings import costs
from sla_lib.load.ingest import ingest

from .conftest import CONTRACT
from .test_ingest import row, write_csv

D = dt.date


def test_cost_verdicts(tmp_path):
    tickets = write_csv(tmp_path / "工单.csv", [
        # arrived 5 h after the notification: onsite_arrival breached
        row("G1", "2026-03-05 08:00", responded="2026-03-05 08:05", resolved="2026-03-05 15:00", onsite="是",
            arrived="2026-03-05 13:00"),
        # arrived in 1 h, fixed (resolved) in 2 h: no on-site breach
        row("G2", "2026-03-05 08:00", responded="2026-03-05 08:05", resolved="2026-03-05 11:00", onsite="是",
            arrived="2026-03-05 09:00"),
    ])
    c = tmp_path / "第三方维修费用.csv"
    c.write_text("工单号,发生日期,服务单位,金额(元),说明\r\nG1,2026-03-06,某维修公司,1200,更换硬盘\r\n"
                 "G2,2026-03-06,某维修公司,800,\r\nG9,2026-03-07,某维修公司,300,\r\n", encoding="utf-8")
    ingest([tickets, c], tmp_path / "sla.duckdb", CONTRACT, echo=lambda *_: None)
    from sla_lib.store.db import connect

    con = connect(tmp_path / "sla.duckdb", read_only=True)
    rows = con.execute("SELECT ticket_id, verdict, breached_clauses, amount FROM third_party_costs "
                       "ORDER BY ticket_id").fetchall()
    assert rows == [("G1", "recoverable", "onsite_arrival", 1200.0), ("G2", "disputed", None, 800.0),
                    ("G9", "disputed", None, 300.0)]
    assert costs.totals(con) == {"recoverable": 1200.0, "disputed": 1100.0, "n_recoverable": 1, "n_disputed": 2}
    led = costs.ledger(con)
    assert led["认定"].tolist() == ["由中标人承担", "有争议", "有争议"]
    assert led["理由"].tolist()[2] == "数据中没有该工单，无法认定"



def _demo_costs(tmp_path, months=None):
    """The demo's cost file, ingested with just the tickets it names (rows of the generated
    tickets), so the verdicts come from sla ingest and the engine's own clocks.
    Returns (cost_rows, those tickets by id, connection)."""
    from sla_lib.demo.inspections import COSTS_FILE, cost_rows, write_cost_demo
    from sla_lib.demo.tickets import generate_tickets
    from sla_lib.rules.contract import load_contract
    from sla_lib.store.db import connect

    contract = load_contract(CONTRACT)
    planted = cost_rows(contract, 7, months)
    paths = write_cost_demo(tmp_path / "raw", contract, 7, months)
    assert [p.name for p in paths] == [COSTS_FILE]
    paths[0].read_bytes().decode("gbk")  # what Excel on Chinese Windows reads
    t = generate_tickets(contract, 7, months).set_index("ticket_id").loc[[tid for tid, *_ in planted]]

    def ts(v):
        return "" if pd.isna(v) else f"{v:%Y-%m-%d %H:%M}"

    rows = [[tid, ts(r.reported_at), "电话", "门诊部", "张护士", r.system, r.category, r.severity, "现场故障",
             ts(r.responded_at), ts(r.plan_at), ts(r.resolved_at), "是", ts(r.onsite_requested_at), ts(r.arrived_at),
             ts(r.fixed_at), "李工", "已解决", ""] for tid, r in t.iterrows()]
    ingest([write_csv(tmp_path / "工单.csv", rows), *paths], tmp_path / "sla.duckdb", CONTRACT,
           echo=lambda *_: None)
    return planted, t, connect(tmp_path / "sla.duckdb", read_only=True)


def _onsite_hours(r) -> tuple[float, float]:
    """(notice -> arrival, arrival -> fix) in hours, by the rule: the notice is the on-site
    notification (else the report), the fix is the on-site fix time (else the resolution)."""
    notified = r.reported_at if pd.isna(r.onsite_requested_at) else r.onsite_requested_at
    fixed = r.resolved_at if pd.isna(r.fixed_at) else r.fixed_at
    return (r.arrived_at - notified) / pd.Timedelta(hours=1), (fixed - r.arrived_at) / pd.Timedelta(hours=1)


def test_demo_costs_default_span(tmp_path):
    planted, t, con = _demo_costs(tmp_path)  # 16 months: year 1 and 2026-07 .. 2026-10
    assert [(amount, verdict) for _, _, amount, verdict in planted] == [
        (3600.0, "recoverable"), (850.0, "disputed"), (2400.0, "recoverable")]
    got = con.execute("SELECT ticket_id, cost_date, amount, verdict, breached_clauses FROM third_party_costs "
                      "ORDER BY amount DESC").fetchall()
    assert {g[0]: g[3] for g in got} == {tid: v for tid, _, _, v in planted}
    assert [g[2:] for g in got] == [(3600.0, "recoverable", "onsite_arrival"), (2400.0, "recoverable", "onsite_fix"),
                                    (850.0, "disputed", None)]
    assert all(D(2025, 7, 1) <= g[1] < D(2026, 11, 1) for g in got)  # cost dates inside the span
    a, b, c = (t.loc[tid] for tid, *_ in planted)
    # year 1 (reported 2025-07-01 .. 2026-06-30): arrived more than 4 h after the notice
    assert pd.Timestamp(2025, 7, 1) <= a.reported_at < pd.Timestamp(2026, 7, 1) and _onsite_hours(a)[0] > 4
    # year 1: arrived within 4 h and fixed within 8 h of arriving
    arrive, fix = _onsite_hours(b)
    assert pd.Timestamp(2025, 7, 1) <= b.reported_at < pd.Timestamp(2026, 7, 1) and 0 <= arrive <= 4 and 0 <= fix <= 8
    # year 2 (reported 2026-07-01 .. 2026-10-31): arrived within 4 h, fixed more than 8 h after arriving
    arrive, fix = _onsite_hours(c)
    assert pd.Timestamp(2026, 7, 1) <= c.reported_at < pd.Timestamp(2026, 11, 1) and 0 <= arrive <= 4 and fix > 8
    assert costs.totals(con) == {"recoverable": 6000.0, "disputed": 850.0, "n_recoverable": 2, "n_disputed": 1}
    year1 = [f"2025-{m:02d}" for m in range(7, 13)] + [f"2026-{m:02d}" for m in range(1, 7)]
    year2 = [f"2026-{m:02d}" for m in range(7, 13)] + [f"2027-{m:02d}" for m in range(1, 7)]
    assert costs.totals(con, year1) == {"recoverable": 3600.0, "disputed": 850.0, "n_recoverable": 1, "n_disputed": 1}
    assert costs.totals(con, year2) == {"recoverable": 2400.0, "disputed": 0.0, "n_recoverable": 1, "n_disputed": 0}


def test_demo_costs_of_twelve_months_are_year_one_only(tmp_path):
    planted, t, con = _demo_costs(tmp_path, months=12)
    assert sorted(v for *_, v in planted) == ["disputed", "recoverable"]
    assert dict(con.execute("SELECT ticket_id, verdict FROM third_party_costs").fetchall()) == {
        tid: v for tid, _, _, v in planted}
    assert (t["reported_at"] < pd.Timestamp(2026, 7, 1)).all()
