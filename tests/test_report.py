"""sla_lib.report on a small hand-made database; every expected figure is counted by hand below."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from sla_lib.errors import SlaError
from sla_lib.reports import monthly as report
from sla_lib.rules.contract import load_contract
from sla_lib.store import db as sdb
from sla_lib.store.schema import REBUILD_TICKETS

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contract.yaml"
MONTH = "2025-08"

# -- the hand-made database ------------------------------------------------------------------------
# Files: A (tickets, 6 rows read: 5 loaded, 1 rejected), B (tickets, newer export, 8 read: 6 loaded,
# 2 rejected; it carries newer versions of T1 and T2, so A's T1 and T2 rows are merged), C (a
# non-ticket file, for the data-quality totals).
FILES = [
    # file_id, source_file, kind, load_seq, export_as_of, read, loaded, rejected
    ("fa", "data/raw/tickets-0815.csv", "tickets", 1, "2025-08-15 18:00:00", 6, 5, 1),
    ("fb", "data/raw/tickets-0831.xlsx", "tickets", 2, "2025-08-31 18:00:00", 8, 6, 2),
    ("fc", "data/raw/attendance-08.xlsx", "attendance", 3, "2025-08-31 18:00:00", 3, 3, 0),
]
# ticket_id, file, row, reported_at, channel, department, system, engineer, onsite, exclusion
TICKETS = [
    ("T1", "fa", 2, "2025-08-04 09:00:00", "电话", "门诊部", "HIS", None, False, None),  # superseded
    ("T2", "fa", 3, "2025-08-05 10:30:00", "电话", "住院部", "HIS", None, False, None),  # superseded
    ("T3", "fa", 4, "2025-08-06 14:00:00", "电话", "检验科", "LIS", "李工", True, None),
    ("T4", "fa", 5, "2025-08-07 09:40:00", "电话", "检验科", "LIS", "李工", True, None),
    ("T9", "fa", 6, "2025-07-20 11:00:00", "微信", "药剂科", "PASS", "张工", False, None),
    ("T1", "fb", 2, "2025-08-04 09:00:00", "电话", "门诊部", "HIS", "张工", False, None),
    ("T2", "fb", 3, "2025-08-05 10:30:00", "微信", "住院部", "HIS", "张工", False, None),
    ("T5", "fb", 4, "2025-08-31 17:50:00", "微信", "病案室", "EMR", None, False, None),
    ("T6", "fb", 5, "2025-08-12 08:30:00", "电话", "信息科", "HIS", "张工", False, "不可抗力：机房停电"),
    ("T7", "fb", 6, "2025-08-20 16:00:00", "电话", "药剂科", "PASS", "李工", False, None),
    ("T8", "fb", 7, "2025-08-25 22:15:00", "微信", "急诊科", None, "张工", False, None),
]
REJECTS = [
    ("fa", 7, "报修时间", "无法解析的时间", "2025-13-01"),
    ("fb", 9, "报修时间", "缺少必填值", ""),
    ("fb", 8, "系统", "未知系统", "OA系统"),
]
NA = ("not_applicable", None, None, None, None, None, None, False, "远程处理")
EX = ("excluded", None, None, None, None, None, None, False, "不可抗力：机房停电")
# ticket -> clause -> (status, start, deadline, stop, elapsed, working, late, provisional, note)
SLA = {
    "T1": {
        "response": ("met", "2025-08-04 09:00", "2025-08-04 09:20", "2025-08-04 09:12", 12, 12, None, False, None),
        "resolution": ("met", "2025-08-04 09:12", "2025-08-05 09:12", "2025-08-04 15:00", 348, 258, None, False,
                       None),
        "onsite_arrival": NA, "onsite_fix": NA,
    },
    "T2": {
        "response": ("breached", "2025-08-05 10:30", "2025-08-05 10:50", "2025-08-05 11:05", 35, 35, 15, False,
                     None),
        "resolution": ("met", "2025-08-05 11:05", "2025-08-06 11:05", "2025-08-06 10:00", 1375, 385, None, False,
                       None),
        "onsite_arrival": NA, "onsite_fix": NA,
    },
    "T3": {
        "response": ("met", "2025-08-06 14:00", "2025-08-06 14:20", "2025-08-06 14:05", 5, 5, None, False, None),
        "resolution": ("breached", "2025-08-06 14:05", "2025-08-07 14:05", "2025-08-07 16:05", 1560, 540, 120,
                       False, None),
        "onsite_arrival": ("met", "2025-08-06 14:05", "2025-08-06 18:05", "2025-08-06 16:00", 115, 90, None,
                           False, None),
        "onsite_fix": ("breached", "2025-08-06 16:00", "2025-08-07 00:00", "2025-08-07 01:30", 570, 270, 90,
                       False, "自到达现场起计"),
    },
    "T4": {
        "response": ("breached", "2025-08-07 09:40", "2025-08-07 10:00", "2025-08-07 11:00", 80, 80, 60, False,
                     None),
        "resolution": ("met", "2025-08-07 11:00", "2025-08-08 11:00", "2025-08-07 17:00", 360, 300, None, False,
                       None),
        "onsite_arrival": ("breached", "2025-08-07 11:00", "2025-08-07 15:00", "2025-08-07 15:30", 270, 210, 30,
                           False, None),
        "onsite_fix": ("met", "2025-08-07 15:30", "2025-08-07 23:30", "2025-08-07 17:00", 90, 90, None, False,
                       "自到达现场起计"),
    },
    "T5": {
        "response": ("pending", "2025-08-31 17:50", "2025-08-31 18:10", None, 10, 10, None, False, None),
        "resolution": ("pending", "2025-08-31 17:50", "2025-09-02 08:00", None, 10, 0, None, False, None),
        "onsite_arrival": NA, "onsite_fix": NA,
    },
    "T6": {"response": EX, "resolution": EX, "onsite_arrival": EX, "onsite_fix": EX},
    "T7": {
        "response": ("met", "2025-08-20 16:00", "2025-08-20 16:20", "2025-08-20 16:20", 20, 20, None, False, None),
        "resolution": ("met", "2025-08-20 16:20", "2025-08-21 16:20", "2025-08-21 09:00", 1000, 190, None, True,
                       None),
        "onsite_arrival": NA, "onsite_fix": NA,
    },
    "T8": {
        "response": ("invalid", "2025-08-25 22:15", None, "2025-08-25 22:00", None, None, None, False,
                     "响应时间早于报修时间"),
        "resolution": ("invalid", "2025-08-25 22:00", None, "2025-08-25 21:00", None, None, None, False,
                       "解决时间早于受理时间"),
        "onsite_arrival": NA, "onsite_fix": NA,
    },
    "T9": {
        "response": ("met", "2025-07-20 11:00", "2025-07-20 11:20", "2025-07-20 11:08", 8, 8, None, False, None),
        "resolution": ("met", "2025-07-20 11:08", "2025-07-21 11:08", "2025-07-20 16:00", 292, 202, None, False,
                       None),
        "onsite_arrival": NA, "onsite_fix": NA,
    },
}
META = {"as_of": "2025-08-31 18:00:00", "as_of_source": "data", "computed_at": "2025-09-01 08:00:00"}


def build_db(path: Path, contract_sha256: str | None = None) -> Path:
    """Write the hand-made database to ``path`` (schema from sla_lib.db.connect)."""
    con = sdb.connect(path)
    files = {f[0]: f for f in FILES}
    for fid, src, kind, seq, asof, read, loaded, rejected in FILES:
        con.execute("INSERT INTO ingest_log (file_id, source_file, kind, preset, encoding, sheet, header_row, loaded_at, load_seq, export_as_of, rows_read, rows_loaded, rows_rejected) VALUES (?, ?, ?, 'generic', 'utf-8', NULL, 1, ?, ?, ?, ?, ?, ?)",
                    [fid, src, kind, f"2025-09-01 07:0{seq}:00", seq, asof, read, loaded, rejected])
    for fid, row, col, reason, text in REJECTS:
        con.execute("INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?)", [fid, files[fid][1], row, col, reason, text])
    for tid, fid, row, rep, channel, dept, system, eng, onsite, excl in TICKETS:
        _, src, _, seq, asof, *_ = files[fid]
        con.execute(
            """INSERT INTO ticket_rows (ticket_id, reported_at, channel, department, reporter, system, system_raw,
                   category, severity, description, onsite, engineer, status, exclusion, file_id, source_file,
                   source_row, load_seq, export_as_of)
               VALUES (?, ?, ?, ?, '某某', ?, ?, '故障', '一般', '（已脱敏）', ?, ?, '已关闭', ?, ?, ?, ?, ?, ?)""",
            [tid, rep, channel, dept, system, system, onsite, eng, excl, fid, src, row, seq, asof])
    con.execute(REBUILD_TICKETS)  # the current tickets, as a load leaves them beside its findings
    months = {t[0]: t[3][:7] for t in TICKETS}
    for tid, clauses in SLA.items():
        for clause, (status, start, dl, stop, el, wk, late, prov, note) in clauses.items():
            con.execute("INSERT INTO ticket_sla VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [tid, clause, status, start, dl, stop, el, wk, late, prov, note, months[tid]])
    con.execute("INSERT INTO calendar_years VALUES (2025, 'chinese_calendar', false), (2026, 'provisional', true)")
    meta = dict(META)
    if contract_sha256:
        meta["contract_sha256"] = contract_sha256
    for k, v in meta.items():
        sdb.set_meta(con, k, v)
    con.close()
    return path


@pytest.fixture(scope="module")
def contract():
    return load_contract(CONTRACT)


@pytest.fixture(scope="module")
def con(tmp_path_factory, contract):
    path = build_db(tmp_path_factory.mktemp("db") / "sla.duckdb", contract.sha256)
    c = sdb.connect(path, read_only=True)
    yield c
    c.close()


# -- tests ---------------------------------------------------------------------------------------------
def test_months(con):
    assert report.months_available(con) == ["2025-07", "2025-08"]
    assert report.resolve_month(con, "") == "2025-08"
    assert report.resolve_month(con, "2025-07") == "2025-07"
    with pytest.raises(SlaError, match="YYYY-MM"):
        report.resolve_month(con, "2025-8")


def test_tickets_view_takes_newest_export(con):
    # sanity check of the fixture itself: T1 and T2 come from file B
    rows = dict(con.execute("SELECT ticket_id, file_id FROM tickets").fetchall())
    assert rows == {"T1": "fb", "T2": "fb", "T3": "fa", "T4": "fa", "T5": "fb", "T6": "fb", "T7": "fb",
                    "T8": "fb", "T9": "fa"}


def test_clause_summary(con, contract):
    s = report.clause_summary(con, contract, MONTH).set_index("条款编号")
    assert list(s.index) == ["response", "resolution", "onsite_arrival", "onsite_fix"]
    cols = ["达标", "超时", "未到期", "除外", "不适用", "数据无效", "暂定"]
    assert s.loc["response", cols].tolist() == [3, 2, 1, 1, 0, 1, 0]
    assert s.loc["resolution", cols].tolist() == [4, 1, 1, 1, 0, 1, 1]
    assert s.loc["onsite_arrival", cols].tolist() == [1, 1, 0, 1, 5, 0, 0]
    assert s.loc["onsite_fix", cols].tolist() == [1, 1, 0, 1, 5, 0, 0]
    assert s["达标率"].tolist() == pytest.approx([0.6, 0.8, 0.5, 0.5])
    assert s.loc["response", "条款"] == "服务响应"
    assert s.loc["response", "合同章节"] == "一.3 远程服务; 二.1; 四"
    assert s.loc["response", "合同承诺"] == "“7*24小时期间受理问题，服务响应时间不得超过20分钟”"
    assert s.loc["response", "时限"] == contract.threshold_text("response")
    # every ticket of the month has exactly one status per clause
    assert (s[["达标", "超时", "未到期", "除外", "不适用", "数据无效"]].sum(axis=1) == 8).all()


def test_clause_summary_empty_month_gives_nan_rate(con, contract):
    s = report.clause_summary(con, contract, "2024-01")
    assert (s["达标"] == 0).all() and s["达标率"].isna().all()
    july = report.clause_summary(con, contract, "2025-07").set_index("条款编号")
    assert july.loc["response", "达标率"] == 1.0
    assert math.isnan(july.loc["onsite_fix", "达标率"])


def test_headline_markdown(con, contract):
    md = report.headline_markdown(report.clause_summary(con, contract, MONTH))
    assert "**服务响应**" in md and "达标率 **60.0%**" in md
    assert "合同 一.3 远程服务; 二.1; 四" in md
    assert "其中 1 项为暂定" in md


def test_breach_list(con, contract):
    b = report.breach_list(con, contract, MONTH)
    assert b["工单号"].tolist() == ["T2", "T4", "T3", "T4", "T3"]
    assert b["条款"].tolist() == ["服务响应", "服务响应", "问题解决", "现场到达", "现场排除故障"]
    assert b["超时（分钟）"].tolist() == [15, 60, 120, 30, 90]
    assert b["超时"].tolist() == ["15分钟", "1小时", "2小时", "30分钟", "1小时30分钟"]
    assert b["系统"].tolist() == ["HIS 医院信息系统", "检验信息系统", "检验信息系统", "检验信息系统", "检验信息系统"]
    assert b.iloc[0]["科室"] == "住院部"
    assert b.iloc[0]["时限"] == pd.Timestamp("2025-08-05 10:50")
    assert b.iloc[0]["来源"] == "data/raw/tickets-0831.xlsx:3"
    assert list(b.columns) == ["工单号", "系统", "科室", "条款", "开始", "时限", "结束", "超时（分钟）", "超时", "暂定",
                               "来源"]
    assert len(report.breach_list(con, contract, "2025-07")) == 0


def test_fmt_duration():
    assert report.fmt_duration(0.5) == "30秒"
    assert report.fmt_duration(45) == "45分钟"
    assert report.fmt_duration(1500) == "1天1小时"
    assert report.fmt_duration(1517) == "1天1小时17分钟"
    assert report.fmt_duration(None) == ""
    assert report.fmt_rate(float("nan")) == "—"
    assert report.fmt_rate(0.955) == "95.5%"


def test_clock_distribution(con, contract):
    d = report.clock_distribution(con, MONTH, "response")
    assert d["工单号"].tolist() == ["T3", "T5", "T1", "T7", "T2", "T4"]
    assert d["状态"].tolist() == ["达标", "未到期", "达标", "达标", "超时", "超时"]
    assert d["自然时长（分钟）"].tolist() == [5, 10, 12, 20, 35, 80]
    r = report.clock_distribution(con, MONTH, "resolution")
    assert sorted(r["工作时长（分钟）"]) == [0, 190, 258, 300, 385, 540]
    assert r["暂定"].sum() == 1
    with pytest.raises(SlaError):
        report.clock_distribution(con, MONTH, "staffing")
    # thresholds in the minutes of the measure plotted
    assert report.clock_thresholds(contract, "response") == [(20.0, "时限 20 分钟")]
    assert report.clock_thresholds(contract, "onsite_fix")[0][0] == 480
    # August is summer: 08:00-12:00 and 14:30-17:30 = 7 working hours
    (v, label), = report.clock_thresholds(contract, "resolution", MONTH)
    assert v == 420 and "夏季作息" in label
    # April and May straddle no season in one month, but all months -> both seasons
    assert sorted(v for v, _ in report.clock_thresholds(contract, "resolution", None)) == [420, 450]


def test_breakdown_system(con, contract):
    b = report.breakdown(con, contract, MONTH, "system")
    assert list(b.columns) == ["系统", "条款编号", "条款", "达标", "超时", "未到期", "达标率"]
    assert pd.unique(b["系统"]).tolist() == ["HIS 医院信息系统", "合理用药系统", "电子病历系统", "检验信息系统",
                                            "（未填）"]
    assert len(b) == 5 * 4
    r = b[b["条款编号"] == "response"].set_index("系统")
    assert r.loc["HIS 医院信息系统", ["达标", "超时", "未到期"]].tolist() == [1, 1, 0]
    assert r.loc["检验信息系统", "达标率"] == 0.5
    assert r.loc["电子病历系统", "未到期"] == 1 and math.isnan(r.loc["电子病历系统", "达标率"])
    assert r.loc["合理用药系统", "达标率"] == 1.0
    assert r.loc["（未填）", ["达标", "超时"]].tolist() == [0, 0]
    w = report.breakdown_wide(b)
    assert w.columns[0] == "系统" and len(w) == 5
    assert w.set_index("系统").loc["检验信息系统", "问题解决·超时"] == 1


def test_breakdown_other_keys(con, contract):
    e = report.breakdown(con, contract, MONTH, "engineer")
    assert pd.unique(e["工程师"]).tolist() == ["张工", "李工", "（未填）"]
    li = e[(e["工程师"] == "李工") & (e["条款编号"] == "resolution")].iloc[0]
    assert (li["达标"], li["超时"]) == (2, 1) and li["达标率"] == pytest.approx(2 / 3)
    c = report.breakdown(con, contract, MONTH, "channel")
    resp = c[c["条款编号"] == "response"].set_index("报修渠道")
    assert resp.loc["电话", ["达标", "超时"]].tolist() == [3, 1] and resp.loc["电话", "达标率"] == 0.75
    assert resp.loc["微信", ["达标", "超时", "未到期"]].tolist() == [0, 1, 1] and resp.loc["微信", "达标率"] == 0
    h = report.breakdown(con, contract, MONTH, "hour")
    assert pd.unique(h["报修时段（时）"]).tolist() == [8, 9, 10, 14, 16, 17, 22]
    nine = h[(h["报修时段（时）"] == 9) & (h["条款编号"] == "response")].iloc[0]
    assert (nine["达标"], nine["超时"], nine["达标率"]) == (1, 1, 0.5)
    with pytest.raises(SlaError):
        report.breakdown(con, contract, MONTH, "department")


def test_excluded_and_invalid(con, contract):
    ex = report.excluded_list(con, contract, MONTH)
    assert ex["工单号"].tolist() == ["T6"]
    assert ex.iloc[0]["除外原因"] == "不可抗力：机房停电"
    assert ex.iloc[0]["涉及条款"] == "服务响应、问题解决、现场到达、现场排除故障"
    assert ex.iloc[0]["系统"] == "HIS 医院信息系统"
    inv = report.invalid_list(con, contract, MONTH)
    assert inv["工单号"].tolist() == ["T8", "T8"]
    assert inv["条款"].tolist() == ["服务响应", "问题解决"]
    assert inv.iloc[0]["原因"] == "响应时间早于报修时间"
    assert inv.iloc[0]["系统"] == "（未填）"
    assert inv.iloc[0]["来源"] == "data/raw/tickets-0831.xlsx:7"
    assert len(report.excluded_list(con, contract, "2025-07")) == 0


def test_data_quality(con):
    q = report.data_quality(con)
    assert q["文件"].tolist() == ["data/raw/tickets-0815.csv", "data/raw/tickets-0831.xlsx",
                                "data/raw/attendance-08.xlsx", "合计"]
    assert q["读取行数"].tolist() == [6, 8, 3, 17]
    assert q["载入行数"].tolist() == [5, 6, 3, 14]
    assert q["拒收行数"].tolist() == [1, 2, 0, 3]
    superseded = q["被取代行数"].tolist()
    assert superseded[:2] == [2, 0] and superseded[2] is pd.NA and superseded[3] == 2
    assert q["合并行数"].tolist() == [0, 0, 0, 0]
    assert q["类型"].tolist()[:2] == ["工单", "工单"]
    # read = loaded + rejected + merged on every line
    assert (q["读取行数"] == q["载入行数"] + q["拒收行数"] + q["合并行数"]).all()


def test_reject_list(con):
    r = report.reject_list(con)
    assert list(r.columns) == ["文件", "行号", "列", "原因", "原文"]
    assert r["行号"].tolist() == [7, 8, 9]
    assert r.iloc[1]["原文"] == "OA系统"
    assert len(report.reject_list(con, limit=2)) == 2
    assert report.reject_count(con) == 3


def test_method_notes(con, contract):
    m = report.method_notes(con, contract)
    assert list(m.columns) == ["项目", "说明"]
    notes = dict(zip(m["项目"], m["说明"], strict=True))
    assert notes["数据截至（as_of）"].startswith("2025-08-31 18:00:00（取自已载入数据中的最新时间）")
    assert "20 分钟" in notes["服务响应（response）"]
    assert "next_working_day" in notes["问题解决（resolution）"]
    assert "anchor: arrival" in notes["现场排除故障（onsite_fix）"]
    assert notes["工作时间：夏季作息"].startswith("05-01 至 09-30：08:00–12:00、14:30–17:30")
    assert notes["工作时间：冬季作息"].startswith("10-01 至 04-30：08:00–12:00、14:00–17:30")
    assert "2026 年：未收录，暂按周一至周五（暂定）" in notes["使用的日历年份"]
    assert "2025 年：chinesecalendar 包" in notes["使用的日历年份"]
    assert report._cal_source("chinese_calendar 1.11.0").startswith("chinesecalendar 包 1.11.0")
    assert notes["暂定年份"].startswith("2026 年")
    assert "calendar.extra_working_days" in notes["暂定年份"] and "chinesecalendar" in notes["暂定年份"]
    assert "另一版本" not in notes["合同文件"]


def test_method_notes_flags_other_contract(tmp_path, contract):
    c = sdb.connect(build_db(tmp_path / "x.duckdb", "0" * 64), read_only=True)
    try:
        notes = dict(report.method_notes(c, contract).itertuples(index=False))
    finally:
        c.close()
    assert "另一版本" in notes["合同文件"]


def test_overview_and_title(con, contract):
    o = report.overview(con, contract, MONTH)
    assert (o["tickets"], o["provisional_clocks"], o["as_of"]) == (8, 1, "2025-08-31 18:00:00")
    t = report.title_markdown(con, contract, MONTH)
    assert t.startswith("# 西安市精神卫生中心 运维服务月度报告 · 2025年8月")
    assert "本期工单：8 张" in t and "暂定" in t
