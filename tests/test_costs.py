"""Third-party costs: recoverable only when the ticket breached an on-site clock."""

from __future__ import annotations

from sla_lib import costs
from sla_lib.ingest import ingest

from .conftest import CONTRACT
from .test_ingest import row, write_csv


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
    from sla_lib.db import connect

    con = connect(tmp_path / "sla.duckdb", read_only=True)
    rows = con.execute("SELECT ticket_id, verdict, breached_clauses, amount FROM third_party_costs "
                       "ORDER BY ticket_id").fetchall()
    assert rows == [("G1", "recoverable", "onsite_arrival", 1200.0), ("G2", "disputed", None, 800.0),
                    ("G9", "disputed", None, 300.0)]
    assert costs.totals(con) == {"recoverable": 1200.0, "disputed": 1100.0}
    led = costs.ledger(con)
    assert led["认定"].tolist() == ["由中标人承担", "有争议", "有争议"]
    assert led["理由"].tolist()[2] == "数据中没有该工单，无法认定"
