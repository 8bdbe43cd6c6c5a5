"""The other exports of data-contract.md load with the same guarantees as tickets: attendance in
both shapes, leave, inspection sheets, deliverables and third-party costs."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl

from sla_lib.load.ingest import ingest
from sla_lib.store.db import connect

from .conftest import CONTRACT


def write_xlsx(path, header, rows):
    wb = openpyxl.Workbook()
    wb.active.append(header)
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def write_csv(path, header, rows, encoding="utf-8-sig"):
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        w.writerows([["" if v is None else v for v in r] for r in rows])
    return path


def load(tmp_path, *files):
    res = ingest(list(files), tmp_path / "sla.duckdb", CONTRACT, echo=lambda *_: None)
    return {f.path.name: f for f in res.files}


def q(tmp_path, sql):
    con = connect(tmp_path / "sla.duckdb", read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_attendance_daily_summary_and_raw_punches(tmp_path):
    daily = write_xlsx(tmp_path / "考勤_2026-03.xlsx", ["姓名", "日期", "上班打卡时间", "下班打卡时间", "考勤结果", "备注"], [
        ["李工", dt.date(2026, 3, 2), dt.time(7, 58), dt.time(17, 35), "正常", None],
        ["王工", dt.date(2026, 3, 2), dt.time(8, 12), None, "缺卡", "下班未打卡"],
        ["王工", "2026/3/3", "2026-03-03 08:00", "17:31", "正常", None],
        ["李工", "2026-02-30", "08:00", "17:30", "正常", None],
    ])
    punches = write_csv(tmp_path / "打卡原始记录.csv", ["姓名", "打卡时间", "打卡结果", "打卡设备"], [
        ["李工", "2026-03-02 07:58:10", "正常", "信息科门口"], ["李工", "2026-03-02 17:35:02", "正常", "信息科门口"],
        ["王工", "2026/3/2 8:12", "迟到", "信息科门口"], ["王工", "昨天", "", ""],
    ])
    res = load(tmp_path, daily, punches)
    assert (res[daily.name].kind, res[daily.name].rows_loaded, res[daily.name].rows_rejected) == ("attendance", 3, 1)
    assert (res[punches.name].kind, res[punches.name].rows_loaded, res[punches.name].rows_rejected) == ("punches", 3, 1)
    rows = q(tmp_path, "SELECT person, work_date, check_in, check_out, result FROM attendance ORDER BY 2, 1")
    assert rows == [
        ("李工", dt.date(2026, 3, 2), dt.datetime(2026, 3, 2, 7, 58), dt.datetime(2026, 3, 2, 17, 35), "正常"),
        ("王工", dt.date(2026, 3, 2), dt.datetime(2026, 3, 2, 8, 12), None, "缺卡"),
        ("王工", dt.date(2026, 3, 3), dt.datetime(2026, 3, 3, 8, 0), dt.datetime(2026, 3, 3, 17, 31), "正常"),
    ]
    assert q(tmp_path, "SELECT count(*) FROM punches WHERE person = '李工'") == [(2,)]
    assert q(tmp_path, "SELECT column_name FROM rejects ORDER BY 1") == [
        ("打卡时间",), ("日期",), ("日期 + 上班打卡时间",), ("日期 + 下班打卡时间",)]  # every unreadable cell listed


def test_leave_dates_alone_mean_whole_days(tmp_path):
    f = write_csv(tmp_path / "请假登记.csv", ["姓名", "请假开始", "请假结束", "请假类型", "审批时间", "审批人", "交接人"], [
        ["王工", "2026-03-10", "2026-03-11", "事假", "2026-03-09 16:00", "信息科主任", "李工"],
        ["李工", "2026-03-12 14:00", "2026-03-12 17:30", "病假", "2026-03-12", "信息科主任", None],
    ])
    assert load(tmp_path, f)[f.name].rows_loaded == 2
    rows = q(tmp_path, "SELECT person, start_at, end_at, approved_at, handover FROM leave ORDER BY start_at")
    assert rows == [
        ("王工", dt.datetime(2026, 3, 10), dt.datetime(2026, 3, 11, 23, 59, 59), dt.datetime(2026, 3, 9, 16), "李工"),
        ("李工", dt.datetime(2026, 3, 12, 14), dt.datetime(2026, 3, 12, 17, 30), dt.datetime(2026, 3, 12), None),
    ]


def test_inspections_map_systems_and_dates(tmp_path):
    f = write_xlsx(tmp_path / "巡检单.xlsx", ["巡检单号", "系统名称", "开始日期", "结束日期", "巡检人", "巡检内容", "巡检结果", "发现问题"], [
        ["XJ-2025Q4-LIS", "检验信息系统", dt.date(2025, 9, 29), dt.date(2025, 10, 10), "赵工", "接口、日志", "正常", None],
        ["XJ-2025Q4-OA", "OA办公系统", dt.date(2025, 10, 9), dt.date(2025, 10, 13), "赵工", "x", "正常", None],
    ])
    fr = load(tmp_path, f)[f.name]
    assert (fr.kind, fr.rows_loaded, fr.rows_rejected) == ("inspections", 1, 1)
    assert q(tmp_path, "SELECT inspection_id, system, start_date, end_date FROM inspections") == [
        ("XJ-2025Q4-LIS", "LIS", dt.date(2025, 9, 29), dt.date(2025, 10, 10))]


def test_deliverables_periods_and_costs_amounts(tmp_path):
    d = write_csv(tmp_path / "成果交付登记.csv", ["类型", "所属期间", "提交时间", "标题", "文件"], [
        ["驻场月度工作记录", "2026年3月", "2026-04-03", "3月驻场工作记录", "记录.docx"],
        ["信息化建设建议", "2026-Q1", "2026-04-15 10:00", "一季度建议", "建议.pdf"],
        ["驻场月度工作记录", "2026-13", "2026-04-03", "坏期间", ""],
        ["驻场月度工作记录", "2025年12月", "2026-01-06", "12月驻场工作记录", ""],
    ])
    c = write_csv(tmp_path / "第三方维修费用.csv", ["工单号", "发生日期", "服务单位", "金额(元)", "说明"], [
        ["GD2025100015", "2025-10-05", "某维修公司", "1,200.50", "=cmd|' /C calc'!A0"],
        ["GD2025100066", "2025/10/12", "某维修公司", "八百元", ""],
    ])
    res = load(tmp_path, d, c)
    assert (res[d.name].kind, res[d.name].rows_loaded, res[d.name].rows_rejected) == ("deliverables", 3, 1)
    assert (res[c.name].kind, res[c.name].rows_loaded, res[c.name].rows_rejected) == ("costs", 1, 1)
    assert q(tmp_path, "SELECT period, submitted_at FROM deliverables ORDER BY 1") == [
        ("2025-12", dt.datetime(2026, 1, 6)), ("2026-03", dt.datetime(2026, 4, 3)),
        ("2026-Q1", dt.datetime(2026, 4, 15, 10))]
    assert q(tmp_path, "SELECT ticket_id, cost_date, amount FROM costs") == [
        ("GD2025100015", dt.date(2025, 10, 5), 1200.5)]
    reasons = dict(q(tmp_path, "SELECT column_name, reason FROM rejects"))
    assert reasons == {"所属期间": "应为月份 2026-03 或季度 2026-Q1", "金额(元)": "应为数字，如 1200 或 1,200.50"}


def test_overlapping_exports_of_other_kinds_never_double_count(tmp_path):
    header = ["姓名", "日期", "上班打卡时间", "下班打卡时间", "考勤结果", "备注"]
    a = write_csv(tmp_path / "考勤_a.csv", header, [["李工", "2026-03-02", "08:05", "17:30", "迟到", None]])
    b = write_csv(tmp_path / "考勤_b.csv", header, [["李工", "2026-03-02", "08:05", "17:30", "正常", "补卡已批"],
                                                   ["李工", "2026-03-03", "07:55", "17:40", "正常", None]])
    load(tmp_path, a, b)
    assert q(tmp_path, "SELECT work_date, result FROM attendance ORDER BY 1") == [
        (dt.date(2026, 3, 2), "正常"), (dt.date(2026, 3, 3), "正常")]
    assert q(tmp_path, "SELECT count(*) FROM attendance_rows") == [(3,)]
