"""Demo inspection sheets and advice reports for contract year 1 (issue 5).

Planted, so the quarterly report has something to show: one inspection missing, one lasting only
2 working days, one spanning the National Day holiday (11 calendar days, 3 working days: done),
one sheet without a result; advice reports for every quarter, one of them late. ``PLANTED``
lists the expected status of those cells; every other (system, quarter) cell is ``done``.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
from openpyxl import Workbook

from .contract import Contract
from .demo import _fixed_zip

D = dt.date
INSPECTION_FILE = "巡检单登记_2025-2026.xlsx"
ADVICE_FILE = "信息化建设建议登记.csv"
COSTS_FILE = "第三方维修费用登记.csv"
# (system, quarter) -> (start, end, result or None, expected status, working days)
PLANTED = {
    ("EMR", "2025-Q3"): (D(2025, 9, 29), D(2025, 10, 9), "正常", "done", 3),  # spans National Day
    ("PASS", "2025-Q4"): (D(2025, 12, 4), D(2025, 12, 5), "正常", "too_short", 2),
    ("CRITICAL", "2026-Q1"): (None, None, None, "missing", None),
    ("AE", "2026-Q2"): (D(2026, 5, 11), D(2026, 5, 13), None, "incomplete_sheet", 3),  # no result
}
# quarter -> (submitted, expected status)
ADVICE = {
    "2025-Q3": (dt.datetime(2025, 10, 10, 16, 20), "on_time"),
    "2025-Q4": (dt.datetime(2026, 1, 12, 9, 40), "late"),  # due 8 January (1-3 holiday, 4 make-up)
    "2026-Q1": (dt.datetime(2026, 4, 3, 11, 0), "on_time"),
    "2026-Q2": (dt.datetime(2026, 7, 2, 15, 5), "on_time"),
}
QUARTER_FIRST_MONTH = {"2025-Q3": D(2025, 7, 1), "2025-Q4": D(2025, 10, 1), "2026-Q1": D(2026, 1, 1),
                       "2026-Q2": D(2026, 4, 1)}
CONTENT = "服务器与数据库运行状态、接口日志、备份与恢复演练、补丁与版本、权限与安全检查"
FINDINGS = ["无", "接口日志有超时告警，已调整重试参数", "备份作业耗时偏长，建议错峰", "存在过期账号 2 个，已停用"]


def _working_days_from(start: D, n: int) -> D:
    """The date on which n working days (inclusive of start) are complete."""
    import chinese_calendar as cc

    d, count = start, 0
    while True:
        if cc.is_workday(d):
            count += 1
            if count == n:
                return d
        d += dt.timedelta(days=1)


def inspection_rows(contract: Contract, seed: int = 7) -> list[list]:
    import chinese_calendar as cc

    rng = np.random.default_rng(seed + 505)
    systems = [s for s in contract.systems if s.inspected]
    rows = []
    for quarter, first in QUARTER_FIRST_MONTH.items():
        for k, s in enumerate(systems):
            if (s.code, quarter) in PLANTED:
                start, end, result, _, _ = PLANTED[(s.code, quarter)]
                if start is None:
                    continue
            else:
                start = first + dt.timedelta(days=int(20 + 7 * k + rng.integers(0, 5)))
                while not cc.is_workday(start):
                    start += dt.timedelta(days=1)
                end = _working_days_from(start, int(rng.integers(3, 6)))
                result = "正常" if rng.random() < 0.8 else "基本正常，见发现问题"
            sid = f"XJ-{quarter}-{s.code}"
            alias = s.aliases[0] if s.aliases else s.name
            rows.append([sid, alias, start, end, "赵工" if k % 2 else "陈工", CONTENT, result,
                         FINDINGS[int(rng.integers(0, len(FINDINGS)))]])
    rows.sort(key=lambda r: r[2])
    return rows


def write_inspection_demo(raw_dir: Path, contract: Contract, seed: int = 7) -> list[Path]:
    raw_dir.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "巡检单"
    ws.append(["巡检单号", "系统名称", "开始日期", "结束日期", "巡检人", "巡检内容", "巡检结果", "发现问题"])
    for r in inspection_rows(contract, seed):
        ws.append(r)
    for row in ws.iter_rows(min_row=2, min_col=3, max_col=4):
        for c in row:
            c.number_format = "yyyy-mm-dd"
    buf = io.BytesIO()
    wb.save(buf)
    p1 = raw_dir / INSPECTION_FILE
    p1.write_bytes(_fixed_zip(buf.getvalue(), dt.datetime(2026, 7, 3, 16, 0)))  # same seed, same bytes
    lines = ["类型,所属期间,提交时间,标题,文件"]
    rng = np.random.default_rng(seed + 606)
    for q, (submitted, _) in ADVICE.items():
        at = submitted + dt.timedelta(minutes=int(rng.integers(0, 50)))  # same day: the status does not move
        lines.append(f"信息化建设建议,{q},{at:%Y-%m-%d %H:%M},{q} 信息化建设建议,advice-{q}.pdf")
    p2 = raw_dir / ADVICE_FILE
    p2.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    return [p1, p2]


def cost_rows(contract: Contract, seed: int = 7) -> list[tuple[str, str, float, str]]:
    """Two third-party repair costs (clause third_party): one on an on-site ticket whose arrival
    was more than the limit after the notification (recoverable), one on an on-site ticket that
    met both on-site clocks (disputed). Rows: (ticket_id, date, amount, expected verdict)."""
    import pandas as pd

    from .demo import generate_tickets

    t = generate_tickets(contract, seed)
    t = t[(t["onsite"] == True) & t["exclusion"].isna() & t["arrived_at"].notna()]  # noqa: E712
    notified = t["onsite_requested_at"].fillna(t["reported_at"])
    late = t[(t["arrived_at"] - notified) > pd.Timedelta(hours=contract.clauses["onsite_arrival"]["limit_hours"])]
    fix = t["fixed_at"].fillna(t["resolved_at"])
    ok = t[((t["arrived_at"] - notified) <= pd.Timedelta(hours=contract.clauses["onsite_arrival"]["limit_hours"]))
           & ((fix - t["arrived_at"]) <= pd.Timedelta(hours=contract.clauses["onsite_fix"]["limit_hours"]))
           & (t["arrived_at"] >= notified) & (fix >= t["arrived_at"])]
    a, b = late.iloc[len(late) // 2], ok.iloc[len(ok) // 3]
    return [(a["ticket_id"], f"{a['arrived_at'] + pd.Timedelta(days=1):%Y-%m-%d}", 3600.0, "recoverable"),
            (b["ticket_id"], f"{b['arrived_at'] + pd.Timedelta(days=2):%Y-%m-%d}", 850.0, "disputed")]


def write_cost_demo(raw_dir: Path, contract: Contract, seed: int = 7) -> list[Path]:
    raw_dir.mkdir(parents=True, exist_ok=True)
    lines = ["工单号,发生日期,服务单位,金额(元),说明"]
    for tid, day, amount, _ in cost_rows(contract, seed):
        lines.append(f"{tid},{day},西安某信息技术服务公司,\"{amount:,.2f}\",现场故障另请服务公司紧急处理")
    p = raw_dir / COSTS_FILE
    p.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))  # Excel on Chinese Windows: GBK
    return [p]
