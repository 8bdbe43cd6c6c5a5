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

DATA = Path(__file__).parent / "data"
WECOM = DATA / "wecom" / "上下班打卡_日报_20260201-20260228 (示例).xlsx"


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
    import time

    old = time.time() - 60
    os.utime(raw / WECOM.name, (old, old))
    res = ingest([], tmp_path / "sla.duckdb", CONTRACT, raw_dir=raw, echo=lambda *_: None)
    assert sorted((f.kind, f.rows_read, f.rows_loaded, f.rows_rejected) for f in res.files) == [
        ("attendance", 392, 392, 0), ("punches", 459, 366, 93)]
