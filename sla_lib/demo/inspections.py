"""Demo inspection sheets, advice reports and third-party costs over the demo span (issues 5, 6).

The span is :func:`sla_lib.demo.demo_span` (default 16 months: contract year 1, 2025-07-01 ..
2026-06-30, and the first four months of year 2, to 2026-10-31). Every calendar quarter that has
started before the span ends gets one sheet per inspected system; a sheet is in the register only
once it has ended (end date before the span end), and an advice report only if submitted before
the export instant. Year 1 draws from ``seed + 505`` / ``seed + 606`` exactly as the one-year demo
did (``months=12`` writes the same bytes); year 2 draws from its own generators (``seed + 707`` /
``seed + 708``), so it never moves a year-1 draw. Year 2's unplanted sheets start later in the
quarter (day 35 onward instead of day 20), so in 2026-Q4 only the planted October sheets exist.

Planted in year 1: one inspection missing, one lasting only 2 working days, one spanning the
National Day holiday (11 calendar days, 3 working days: done), one sheet without a result; advice
reports for every quarter, one of them late. Planted in year 2: an inspection across the
Mid-Autumn holiday (5 calendar days, 2 working days: too short), one across the make-up working
Sunday 2026-09-20 (3 working days: done), one missing; in 2026-Q4 (running at the export) two
systems already inspected in October, one across the make-up Saturday 2026-10-10; the 2026-Q3
advice report one working day late. ``PLANTED`` lists the expected status of those cells at the
default span; every other cell is ``done`` in a finished quarter and ``not_yet_due`` in 2026-Q4
and later. ``ADVICE`` lists the reports written and their expected status. The quarter labels
assume calendar quarters (``clauses.inspection.quarters: calendar``), as in contract.yaml.

Costs (clause third_party, :func:`cost_rows`): in year 1 one recoverable and one disputed cost;
from month 13 on, one more recoverable cost on a year-2 ticket whose on-site fix overran.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
from openpyxl import Workbook

from sla_lib.demo.files import fixed_zip
from sla_lib.demo.tickets import demo_span, generate_tickets
from sla_lib.findings.costs import ONSITE
from sla_lib.rules.calendar import calendar_for
from sla_lib.rules.clocks import compute_ticket_sla
from sla_lib.rules.contract import Contract
from sla_lib.rules.periods import contract_years, quarters
from sla_lib.store.schema import TIMESTAMP_COLUMNS

D = dt.date
INSPECTION_FILE = "巡检单登记_2025-2026.xlsx"
ADVICE_FILE = "信息化建设建议登记.csv"
COSTS_FILE = "第三方维修费用登记.csv"
YEAR1_SEEDS = (505, 606)  # seed offsets of the one-year demo: inspections, advice submission minutes
YEAR2_SEEDS = (707, 708)  # contract year 2 and later: their own generators
# (system, quarter) -> (start, end, result or None, expected status, working days)
PLANTED = {
    ("EMR", "2025-Q3"): (D(2025, 9, 29), D(2025, 10, 9), "正常", "done", 3),  # spans National Day
    ("PASS", "2025-Q4"): (D(2025, 12, 4), D(2025, 12, 5), "正常", "too_short", 2),
    ("CRITICAL", "2026-Q1"): (None, None, None, "missing", None),
    ("AE", "2026-Q2"): (D(2026, 5, 11), D(2026, 5, 13), None, "incomplete_sheet", 3),  # no result
    # contract year 2
    # Thu 24 .. Mon 28 Sep: Mid-Autumn 25-27 are holidays -> 24, 28 = 2 working days (5 calendar days)
    ("LIS", "2026-Q3"): (D(2026, 9, 24), D(2026, 9, 28), "正常", "too_short", 2),
    # Fri 18 .. Mon 21 Sep: Sat 19 off, Sun 20 a make-up working day -> 18, 20, 21 = 3 (Mon-Fri alone: 2)
    ("EMR", "2026-Q3"): (D(2026, 9, 18), D(2026, 9, 21), "正常", "done", 3),
    ("FOLLOWUP", "2026-Q3"): (None, None, None, "missing", None),
    # 2026-Q4 runs past the export: judged at once when a sheet exists, else not_yet_due
    # Fri 9 .. Mon 12 Oct: Sat 10 a make-up working day, Sun 11 off -> 9, 10, 12 = 3
    ("PASS", "2026-Q4"): (D(2026, 10, 9), D(2026, 10, 12), "正常", "done", 3),
    ("CRITICAL", "2026-Q4"): (D(2026, 10, 19), D(2026, 10, 22), "基本正常，见发现问题", "done", 4),  # Mon..Thu
}
# quarter -> (submitted, expected status)
ADVICE = {
    "2025-Q3": (dt.datetime(2025, 10, 10, 16, 20), "on_time"),
    "2025-Q4": (dt.datetime(2026, 1, 12, 9, 40), "late"),  # due 8 January (1-3 holiday, 4 make-up)
    "2026-Q1": (dt.datetime(2026, 4, 3, 11, 0), "on_time"),
    "2026-Q2": (dt.datetime(2026, 7, 2, 15, 5), "on_time"),
    # due 13 Oct 2026, the 5th working day after 30 Sep: 1-7 National Day, then 8 (Thu), 9 (Fri),
    # 10 (make-up Sat), 12, 13; submitted Wed 14 -> late by 1 working day (on time if 10 Oct is
    # wrongly taken as a rest day)
    "2026-Q3": (dt.datetime(2026, 10, 14, 9, 30), "late"),
}
CONTENT = "服务器与数据库运行状态、接口日志、备份与恢复演练、补丁与版本、权限与安全检查"
FINDINGS = ["无", "接口日志有超时告警，已调整重试参数", "备份作业耗时偏长，建议错峰", "存在过期账号 2 个，已停用"]


def demo_quarters(contract: Contract, months: int | None = None) -> list[tuple[int, str, D]]:
    """(contract year, quarter label, first day inside the contract year) of every quarter of the
    inspection clause that has started before the demo span ends, in order."""
    _, end, _ = demo_span(contract, months)
    return [(y, q.label, q.covered_start) for y in contract_years(contract, end - dt.timedelta(days=1))
            for q in quarters(contract, y) if q.covered_start < end]


def inspection_rows(contract: Contract, seed: int = 7, months: int | None = None) -> list[list]:
    """The register's rows for the demo span: sheets that have ended before the span ends."""
    _, span_end, _ = demo_span(contract, months)
    rng1 = np.random.default_rng(seed + YEAR1_SEEDS[0])  # year 1: the one-year demo's draws, in its order
    rng2 = np.random.default_rng(seed + YEAR2_SEEDS[0])
    systems = [s for s in contract.systems if s.inspected]
    # the hospital calendar (make-up days, contract extra days; Monday-Friday, provisional, for a
    # year chinesecalendar does not cover yet)
    cal = calendar_for(contract, span_end)
    day = dt.timedelta(days=1)
    rows = []
    for year, quarter, first in demo_quarters(contract, months):
        rng = rng1 if year == 1 else rng2
        first_day = 20 if year == 1 else 35  # year 2: the vendor inspects later in the quarter
        for k, s in enumerate(systems):
            if (s.code, quarter) in PLANTED:
                start, end, result, _, _ = PLANTED[(s.code, quarter)]
                if start is None:
                    continue
            else:
                start = first + dt.timedelta(days=int(first_day + 7 * k + rng.integers(0, 5)))
                start = cal.nth_working_date_after(start - day, 1)  # that day, or the next working day
                end = cal.nth_working_date_after(start - day, int(rng.integers(3, 6)))  # n working days done
                result = "正常" if rng.random() < 0.8 else "基本正常，见发现问题"
            sid = f"XJ-{quarter}-{s.code}"
            alias = s.aliases[0] if s.aliases else s.name
            row = [sid, alias, start, end, "赵工" if k % 2 else "陈工", CONTENT, result,
                   FINDINGS[int(rng.integers(0, len(FINDINGS)))]]  # drawn for every sheet, as before
            if (end or start) < span_end:  # registered once finished
                rows.append(row)
    rows.sort(key=lambda r: r[2])
    return rows


def advice_rows(contract: Contract, seed: int = 7, months: int | None = None) -> list[tuple[str, dt.datetime]]:
    """(quarter, submitted) of the advice reports submitted before the export instant."""
    _, _, export_at = demo_span(contract, months)
    year1 = {q.label for q in quarters(contract, 1)}
    rng1 = np.random.default_rng(seed + YEAR1_SEEDS[1])
    rng2 = np.random.default_rng(seed + YEAR2_SEEDS[1])
    out = []
    for q, (submitted, _) in ADVICE.items():
        rng = rng1 if q in year1 else rng2
        at = submitted + dt.timedelta(minutes=int(rng.integers(0, 50)))  # same day: the status does not move
        if at < export_at:
            out.append((q, at))
    return out


def write_inspection_demo(raw_dir: Path, contract: Contract, seed: int = 7, months: int | None = None
                          ) -> list[Path]:
    raw_dir.mkdir(parents=True, exist_ok=True)
    _, _, export_at = demo_span(contract, months)
    wb = Workbook()
    ws = wb.active
    ws.title = "巡检单"
    ws.append(["巡检单号", "系统名称", "开始日期", "结束日期", "巡检人", "巡检内容", "巡检结果", "发现问题"])
    for r in inspection_rows(contract, seed, months):
        ws.append(r)
    for row in ws.iter_rows(min_row=2, min_col=3, max_col=4):
        for c in row:
            c.number_format = "yyyy-mm-dd"
    buf = io.BytesIO()
    wb.save(buf)
    p1 = raw_dir / INSPECTION_FILE
    p1.write_bytes(fixed_zip(buf.getvalue(), export_at))  # same seed and months, same bytes
    lines = ["类型,所属期间,提交时间,标题,文件"]
    for q, at in advice_rows(contract, seed, months):
        lines.append(f"信息化建设建议,{q},{at:%Y-%m-%d %H:%M},{q} 信息化建设建议,advice-{q}.pdf")
    p2 = raw_dir / ADVICE_FILE
    p2.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    return [p1, p2]


def cost_rows(contract: Contract, seed: int = 7, months: int | None = None) -> list[tuple[str, str, float, str]]:
    """Third-party repair costs (clause third_party). Contract year 1 (tickets reported before
    year 2 starts): one on an on-site ticket whose arrival was more than the limit after the
    notification (recoverable), one on an on-site ticket that met both on-site clocks (disputed).
    Year 2 (months >= 13): one on an on-site ticket that arrived in time but whose fix overran the
    onsite_fix limit (recoverable). The clocks are the engine's own (``ticket_sla`` statuses, as
    costs.py reads them); only tickets with arrival and fix times, and a cost date inside the span.
    Rows: (ticket_id, date, amount, expected verdict)."""
    import pandas as pd

    _, span_end, _ = demo_span(contract, months)
    year2 = contract.contract_year_bounds(2)[0]
    t = generate_tickets(contract, seed, months)
    as_of = t[[c for c in TIMESTAMP_COLUMNS if c in t.columns]].max().max()  # the as_of sla ingest takes
    sla = compute_ticket_sla(t, contract, np.datetime64(as_of, "s"))
    status = sla[sla["clause"].isin(ONSITE)].pivot(index="ticket_id", columns="clause", values="status")
    t = t.join(status, on="ticket_id")
    t = t.assign(fix=t["fixed_at"].fillna(t["resolved_at"]))
    t = t[t["arrived_at"].notna() & t["fix"].notna()]
    y1, y2 = t[t["reported_at"] < pd.Timestamp(year2)], t[t["reported_at"] >= pd.Timestamp(year2)]
    day1, day2 = pd.Timedelta(days=1), pd.Timedelta(days=2)
    span_end = pd.Timestamp(span_end)
    late = y1[(y1["onsite_arrival"] == "breached") & (y1["arrived_at"] + day1 < span_end)]
    ok = y1[(y1["onsite_arrival"] == "met") & (y1["onsite_fix"] == "met") & (y1["arrived_at"] + day2 < span_end)]
    a, b = late.iloc[len(late) // 2], ok.iloc[len(ok) // 3]
    rows = [(a["ticket_id"], f"{a['arrived_at'] + day1:%Y-%m-%d}", 3600.0, "recoverable"),
            (b["ticket_id"], f"{b['arrived_at'] + day2:%Y-%m-%d}", 850.0, "disputed")]
    slow = y2[(y2["onsite_arrival"] == "met") & (y2["onsite_fix"] == "breached") & (y2["fix"] + day1 < span_end)]
    if len(slow):
        c = slow.iloc[len(slow) // 2]
        rows.append((c["ticket_id"], f"{c['fix'] + day1:%Y-%m-%d}", 2400.0, "recoverable"))
    return rows


def write_cost_demo(raw_dir: Path, contract: Contract, seed: int = 7, months: int | None = None) -> list[Path]:
    raw_dir.mkdir(parents=True, exist_ok=True)
    lines = ["工单号,发生日期,服务单位,金额(元),说明"]
    for tid, day, amount, _ in cost_rows(contract, seed, months):
        lines.append(f"{tid},{day},西安某信息技术服务公司,\"{amount:,.2f}\",现场故障另请服务公司紧急处理")
    p = raw_dir / COSTS_FILE
    p.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))  # Excel on Chinese Windows: GBK
    return [p]
