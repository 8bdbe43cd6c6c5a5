"""Real exports as hospitals have them (issue 12), each a real public sample under tests/data/ with
its source and licence: every row accounted for (read = loaded + rejected), values to the minute."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from sla_lib.load.ingest import ingest

from .conftest import CONTRACT
from .conftest import query as q

pytestmark = pytest.mark.long(5)  # seconds with `make test` here: started early (conftest)

DATA = Path(__file__).parent / "data"
WECOM = DATA / "wecom" / "上下班打卡_日报_20260201-20260228 (示例).xlsx"
SETTLED = 1_767_225_600  # 2026-01-01 00:00 UTC: a modification time far in the past


def _wecom_sheet(name: str) -> list[tuple]:
    """The sheet's data rows, read independently of sla_lib (openpyxl): below the header."""
    wb = openpyxl.load_workbook(WECOM, read_only=True)
    try:
        return [r for r in wb[name].iter_rows(min_row=5, values_only=True) if any(v not in (None, "") for v in r)]
    finally:
        wb.close()


@pytest.fixture(scope="module")
def wecom(tmp_path_factory):
    base = tmp_path_factory.mktemp("wecom")
    db = base / "sla.duckdb"
    daily = ingest([WECOM], db, CONTRACT, kind="attendance", echo=lambda *_: None)
    punches = ingest([WECOM], db, CONTRACT, kind="punches", echo=lambda *_: None)
    again = ingest([WECOM], db, CONTRACT, echo=lambda *_: None)  # both sheets known: nothing new
    return {"db": db, "daily": daily, "punches": punches, "again": again}


def test_wecom_daily_summary_loads_every_person_day(wecom):
    (fr,) = wecom["daily"].files
    rows = _wecom_sheet("概况统计与打卡明细")
    assert (fr.status, fr.kind, fr.preset) == ("loaded", "attendance", "wecom-daily")
    assert (fr.rows_read, fr.rows_loaded, fr.rows_rejected) == (len(rows), len(rows), 0) == (392, 392, 0)
    got = q(wecom["db"], "SELECT work_date, check_in, check_out, result FROM attendance_rows "
                         "WHERE person = '李明' AND work_date = DATE '2026-02-28'")
    assert got == [(dt.date(2026, 2, 28), dt.datetime(2026, 2, 28, 9, 49), dt.datetime(2026, 2, 28, 19, 43), "正常")]
    # a half day of leave: one punch in, "--" for the check-out, the leave in the result
    assert q(wecom["db"], "SELECT check_in, check_out, result FROM attendance_rows "
                          "WHERE person = '赵强' AND work_date = DATE '2026-02-28'") == [
        (dt.datetime(2026, 2, 28, 9, 36), None, "正常（请假）")]
    days = q(wecom["db"], "SELECT count(DISTINCT person), min(work_date), max(work_date) FROM attendance_rows")
    assert days == [(14, dt.date(2026, 2, 1), dt.date(2026, 2, 28))]


def test_wecom_punch_details_a_dash_is_not_a_punch_and_is_rejected_with_the_exports_status(wecom):
    (fr,) = wecom["punches"].files
    rows = _wecom_sheet("打卡详情")
    dashes = [r for r in rows if r[8] == "--"]
    assert (fr.status, fr.kind, fr.preset) == ("loaded", "punches", "wecom-punches")
    assert (fr.rows_read, fr.rows_loaded, fr.rows_rejected) == (459, 459 - 93, 93) == (
        len(rows), len(rows) - len(dashes), len(dashes))
    reasons = dict(q(wecom["db"], "SELECT reason, count(DISTINCT source_row) FROM rejects "
                                  "WHERE source_file LIKE '%上下班打卡%' GROUP BY 1"))
    assert reasons == {"无此项（导出文件记为：无需打卡（请假））": 42, "无此项（导出文件记为：缺卡（09:00））": 31,
                       "无此项（导出文件记为：缺卡（18:00））": 20}
    assert q(wecom["db"], "SELECT punched_at, result FROM punch_rows WHERE person = '赵强' "
                          "AND punched_at::DATE = DATE '2026-02-28'") == [(dt.datetime(2026, 2, 28, 9, 36), "正常")]
    # a back-filled punch keeps the export's mark as written (issue 13 reads it): half-width
    # brackets in the punch details, full-width in the daily summary's 考勤结果
    assert q(wecom["db"], "SELECT DISTINCT result FROM punch_rows WHERE result LIKE '%补卡%'") == [("正常(补卡)",)]
    assert q(wecom["db"], "SELECT DISTINCT result FROM attendance_rows WHERE result LIKE '正常%补卡%'") == [
        ("正常（补卡）",)]


def test_both_sheets_of_one_workbook_are_two_loads_of_one_file(wecom):
    log = q(wecom["db"], "SELECT file_id, sheet, kind, rows_read FROM ingest_log ORDER BY load_seq")
    assert [(s, k, n) for _, s, k, n in log] == [("概况统计与打卡明细", "attendance", 392), ("打卡详情", "punches", 459)]
    assert log[1][0] == log[0][0] + "#打卡详情"
    assert [f.status for f in wecom["again"].files] == ["skipped", "skipped"]


def test_a_wecom_workbook_in_the_exports_folder_loads_both_sheets(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / WECOM.name).write_bytes(WECOM.read_bytes())
    import os

    os.utime(raw / WECOM.name, (SETTLED, SETTLED))  # copied long ago, not still arriving
    res = ingest([], tmp_path / "sla.duckdb", CONTRACT, raw_dir=raw, echo=lambda *_: None)
    assert sorted((f.kind, f.rows_read, f.rows_loaded, f.rows_rejected) for f in res.files) == [
        ("attendance", 392, 392, 0), ("punches", 459, 366, 93)]


# -- ZKTeco: the terminal's attlog.dat and the KQ803 考勤记录表 ------------------------------------------------------
ATTLOG = DATA / "zkteco" / "1_attlog.dat"


def _with_ids(make_contract):
    """The contract's two resident engineers, known to the terminal as users 13 and 10."""
    def edit(raw):
        raw["roster"]["staff"] = [{"name": "李工", "from": "2017-01-01", "ids": ["13"]},
                                  {"name": "王工", "from": "2017-01-01", "ids": ["00010"]}]
    return make_contract(edit)


def test_attlog_loads_every_punch_to_the_second_and_roster_ids_name_the_person(tmp_path, make_contract):
    contract = _with_ids(make_contract)
    lines = [ln.split("\t") for ln in ATTLOG.read_text(encoding="ascii").splitlines()]
    res = ingest([ATTLOG], tmp_path / "sla.duckdb", contract.path, kind="punches", echo=lambda *_: None)
    (fr,) = res.files
    assert (fr.preset, fr.rows_read, fr.rows_loaded, fr.rows_rejected) == ("zkteco-attlog", 120, 120, 0) == (
        "zkteco-attlog", len(lines), len(lines), 0)
    db = tmp_path / "sla.duckdb"
    # user 13 is 李工 (roster.staff[0].ids), user 10 (written "00010" on the roster) is 王工
    assert q(db, "SELECT count(*) FROM punch_rows WHERE person = '李工'")[0][0] == sum(
        1 for f in lines if f[0].strip() == "13")
    assert q(db, "SELECT punched_at, device, result FROM punch_rows WHERE person = '王工' ORDER BY 1 LIMIT 1") == [
        (dt.datetime(2017, 11, 24, 19, 45, 38), "1", "0")]
    # any other number is kept as written, padding removed
    assert q(db, "SELECT DISTINCT person FROM punch_rows WHERE person = '27'") == [("27",)]
    assert q(db, "SELECT count(DISTINCT person) FROM punch_rows")[0][0] == len({f[0].strip() for f in lines})


def test_a_damaged_attlog_rejects_its_corrupt_records_with_reasons(tmp_path, make_contract):
    contract = _with_ids(make_contract)
    good = ATTLOG.read_bytes().splitlines()[:10]
    damaged = [
        *good[:5],
        b"   1\xff\xfe3\t2017-11-25 08:00:01\t1\t0\t1\t0",   # junk bytes in the id
        b"       13\t2017-02-30 08:00:00\t1\t0\t1\t0",       # 30 February
        b"       13\t2097-11-25 08:00:00\t1\t0\t1\t0",       # far in the future
        *good[5:],
    ]
    f = tmp_path / "1_attlog.dat"
    f.write_bytes(b"\r\n".join(damaged) + b"\r\n" + b"\x00" * 512)  # CRLF, NUL padding after the last record
    res = ingest([f], tmp_path / "sla.duckdb", contract.path, kind="punches", echo=lambda *_: None)
    (fr,) = res.files
    assert (fr.rows_read, fr.rows_loaded, fr.rows_rejected) == (13, 10, 3)
    reasons = dict(q(tmp_path / "sla.duckdb", "SELECT source_row, reason FROM rejects ORDER BY 1"))
    assert sorted(reasons) == [6, 7, 8]  # the line numbers of the three records
    assert "格式不符" in reasons[6]
    assert "无法" in reasons[7] and "读出" in reasons[7]
    assert "晚于导入时刻" in reasons[8]
    assert q(tmp_path / "sla.duckdb", "SELECT count(*) FROM punch_rows WHERE person = '李工'")[0][0] == sum(
        1 for ln in good if ln.split(b"\t")[0].strip() == b"13")


KQ803 = [DATA / "zkteco" / "campus-a.xls", DATA / "zkteco" / "campus-b.xls"]


def _kq803_expected(path: Path) -> list[tuple[str, dt.datetime]]:
    """(工号, punch) read independently: calamine cells, the period start, HH:MM runs split by hand."""
    import re

    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Sheet1").to_python()
    start = dt.date.fromisoformat(rows[2][2].split("~")[0].strip())
    out, ident = [], None
    for r in rows[4:]:
        if str(r[0]).replace(" ", "").startswith("工号"):
            ident = str(r[2])
            continue
        for j, cell in enumerate(r):
            for hhmm in re.findall(r"\d\d:\d\d", str(cell)):
                h, m = map(int, hhmm.split(":"))
                out.append((ident, dt.datetime.combine(start + dt.timedelta(days=j), dt.time(h, m))))
    return sorted(out)


@pytest.mark.parametrize("path", KQ803, ids=lambda p: p.name)
def test_kq803_record_sheet_splits_the_punches_run_together(tmp_path, path):
    expected = _kq803_expected(path)
    res = ingest([path], tmp_path / "sla.duckdb", CONTRACT, kind="punches", echo=lambda *_: None)
    (fr,) = res.files
    assert (fr.preset, fr.rows_read, fr.rows_loaded, fr.rows_rejected) == (
        "zkteco-kq803", len(expected), len(expected), 0)
    assert sorted(q(tmp_path / "sla.duckdb", "SELECT person, punched_at FROM punch_rows")) == expected
    if path.name == "campus-a.xls":  # Mary (工号 7), 2 July: 09:34 and 21:24 from one cell "09:3421:24"
        assert q(tmp_path / "sla.duckdb", "SELECT punched_at, source_row FROM punch_rows WHERE person = '7' "
                                          "AND punched_at::DATE = DATE '2017-07-02' ORDER BY 1") == [
            (dt.datetime(2017, 7, 2, 9, 34), 6020), (dt.datetime(2017, 7, 2, 21, 24), 6021)]
        assert len(expected) == 24


def test_every_terminal_export_into_one_database(tmp_path, make_contract):
    contract = _with_ids(make_contract)
    db = tmp_path / "sla.duckdb"
    for f, kind in [(WECOM, "attendance"), (WECOM, "punches"), (ATTLOG, "punches"), (KQ803[0], "punches")]:
        res = ingest([f], db, contract.path, kind=kind, echo=lambda *_: None)
        assert [x.status for x in res.files] == ["loaded"], [x.message for x in res.files]
    log = q(db, "SELECT preset, rows_read, rows_loaded + rows_rejected + rows_merged FROM ingest_log ORDER BY load_seq")
    assert [(p, a) for p, a, b in log if a == b] == [("wecom-daily", 392), ("wecom-punches", 459),
                                                    ("zkteco-attlog", 120), ("zkteco-kq803", 24)]


def test_backfilled_punches_are_register_findings(wecom):
    daily = [r for r in _wecom_sheet("概况统计与打卡明细") if r[14] == "正常（补卡）"]
    punches = [r for r in _wecom_sheet("打卡详情") if r[9] == "正常(补卡)" and r[8] != "--"]
    got = q(wecom["db"], "SELECT count(*) FILTER (WHERE detail LIKE '%的考勤%'), count(*) FILTER (WHERE detail LIKE '%的打卡%') "
                         "FROM register_findings WHERE finding = 'backfilled'")
    assert got == [(len(daily), len(punches))] and len(daily) > 0 and len(punches) > 0


# -- DingTalk: the layout of its 考勤报表 (the real exports it was checked on cannot be kept) ---------------
DINGTALK_HEADER = ["姓名", "考勤组", "部门", "工号", "职位", "UserId", "日期", "workDate", "班次", "上班1打卡时间",
                   "上班1打卡结果", "下班1打卡时间", "下班1打卡结果", "关联的审批单"]
PUNCH_HEADER = ["姓名", "考勤组", "部门", "工号", "职位", "UserId", "考勤日期", "考勤时间", "打卡时间", "打卡结果",
                "打卡地址", "打卡备注", "异常打卡原因", "打卡图片1", "打卡图片2", "打卡设备"]


def _dingtalk(path: Path) -> Path:
    """A 考勤报表 as DingTalk lays it out (docs/presets.md, "DingTalk"): sheets 每日统计 and 原始记录,
    each under two title rows; 每日统计 with an empty row under its header."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "每日统计"
    ws.append(["每日统计 统计日期：2026-03-01 至 2026-03-31"])
    ws.append(["报表生成时间：2026-04-01 09:12"])
    ws.append(DINGTALK_HEADER)
    ws.append([])
    ws.append(["王工", "驻场", "信息科", "", "工程师", "1709644298822", "26-03-02 星期一", "1772380800000", "早班",
                "08:12", "正常", "17:41", "正常", ""])
    ws.append(["王工", "驻场", "信息科", "", "工程师", "1709644298822", "26-03-03 星期二", "1772467200000", "早班",
                "08:47", "迟到", "次日 00:07", "正常", ""])  # a check-out after midnight
    ws.append(["王工", "驻场", "信息科", "", "工程师", "1709644298822", "26-03-07 星期六", "1772812800000", "休息",
                "", "", "", "", ""])
    ws.append(["李工", "驻场", "信息科", "", "工程师", "1709644298823", "26-03-02 星期一", "1772380800000", "早班",
                "", "缺卡", "", "缺卡", "事假 03-02 08:00到03-02 17:00"])
    raw = wb.create_sheet("原始记录")
    raw.append(["原始记录 统计日期：2026-03-01 至 2026-03-31"])
    raw.append(["报表生成时间：2026-04-01 09:12"])
    raw.append(PUNCH_HEADER)
    for when, result in [("2026-03-02 08:12", "正常"), ("2026-03-02 08:13", "打卡无效:已经打过卡了"),
                         ("2026-03-02 17:41", "正常"), ("2026-03-04 00:07", "正常")]:
        raw.append(["王工", "驻场", "信息科", "", "工程师", "1709644298822", f"26-03-0{2 if when < '2026-03-03' else 3} 星期一",
                    "", when, result, "西安市精神卫生中心", "", "", "", "", "考勤机"])
    wb.save(path)
    return path


def test_a_dingtalk_report_loads_both_sheets_with_kind_only(tmp_path):
    f = _dingtalk(tmp_path / "信息科_考勤报表_20260301-20260331.xlsx")
    db = tmp_path / "sla.duckdb"
    daily = ingest([f], db, CONTRACT, kind="attendance", echo=lambda *_: None)
    punches = ingest([f], db, CONTRACT, kind="punches", echo=lambda *_: None)
    (d,), (p,) = daily.files, punches.files
    assert (d.preset, d.rows_read, d.rows_loaded, d.rows_rejected) == ("dingtalk-daily", 4, 4, 0)
    assert (p.preset, p.rows_read, p.rows_loaded, p.rows_rejected) == ("dingtalk-punches", 4, 4, 0)
    assert q(db, "SELECT person, work_date, check_in, check_out, result, note FROM attendance_rows "
                 "ORDER BY person DESC, work_date") == [
        ("王工", dt.date(2026, 3, 2), dt.datetime(2026, 3, 2, 8, 12), dt.datetime(2026, 3, 2, 17, 41), "正常", None),
        ("王工", dt.date(2026, 3, 3), dt.datetime(2026, 3, 3, 8, 47), dt.datetime(2026, 3, 4, 0, 7), "迟到", None),
        ("王工", dt.date(2026, 3, 7), None, None, None, None),
        ("李工", dt.date(2026, 3, 2), None, None, "缺卡", "事假 03-02 08:00到03-02 17:00")]
    assert q(db, "SELECT punched_at, result, device FROM punch_rows ORDER BY punched_at")[-1] == (
        dt.datetime(2026, 3, 4, 0, 7), "正常", "考勤机")
