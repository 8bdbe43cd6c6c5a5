"""Resident engineers (issue 4): roster in the contract file, attendance findings per working day and
person, leave approval, coverage, monthly work records, the demo span (contract year 1 and July-October
of year 2; ``months=12`` is the one-year demo) and the report section.

Every case is a real export file (xlsx / csv) loaded by `sla_lib.ingest.ingest` into a real DuckDB
file; expected values are worked out by hand from sla-rules.md "Resident staff" and docs/staffing.md.
Default contract: winter hours 08:00-12:00, 14:00-17:30 (1 Oct - 30 Apr), summer 08:00-12:00,
14:30-17:30 (1 May - 30 Sep), grace 0, roster 李工 and 王工 from 2025-07-01.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import chinese_calendar
import pytest

from sla_lib.demo.staff import (
    BOTH_FILE,
    FILES,
    LEAVE_FILE,
    PUNCH_FILE,
    RECORD_FILE,
    SUMMARY_FILE,
    YEAR2_PUNCH_FILE,
    record_events,
    staff_events,
    write_staff_demo,
)
from sla_lib.errors import ContractError
from sla_lib.load.ingest import ingest
from sla_lib.publish.render import render_report
from sla_lib.reports import staffing
from sla_lib.rules.contract import load_contract
from sla_lib.store.db import connect

from .conftest import CONTRACT, demo_copy
from .conftest import query as q
from .test_kinds import write_csv, write_xlsx
from .test_render import assert_offline

pytestmark = pytest.mark.long(9)  # seconds with `make test` here: started early (conftest)

D = dt.date
T = dt.time
DAILY = ["姓名", "日期", "上班打卡时间", "下班打卡时间", "考勤结果", "备注"]
PUNCH = ["姓名", "打卡时间", "打卡结果", "打卡设备"]
LEAVE = ["姓名", "请假开始", "请假结束", "请假类型", "审批时间", "审批人", "交接人"]
RECORDS = ["类型", "所属期间", "提交时间", "标题", "文件"]


def load(db: Path, files, contract=CONTRACT, as_of=None) -> Path:
    res = ingest(list(files), db, contract, as_of=as_of, echo=lambda *_: None)
    assert not res.failed, [f.message for f in res.failed]
    return db


def days(db, where="TRUE"):
    """{(date, person): (status, late, early, missing_punch)} of staffing_days."""
    return {(d, p): (s, late, early, miss) for d, p, s, late, early, miss in q(
        db, f"SELECT work_date, person, status, late_minutes, early_minutes, missing_punch FROM staffing_days "
            f"WHERE {where}")}


def with_con(db, fn, *args):
    con = connect(db, read_only=True)
    try:
        return fn(con, *args)
    finally:
        con.close()


# -- the roster in the contract file --------------------------------------------------------------------------
def test_roster_with_effective_dates_and_a_replacement(make_contract, contract):
    assert contract.roster_on(D(2025, 7, 1)) == ["李工", "王工"]
    assert contract.roster_on(D(2025, 6, 30)) == []
    assert (contract.required_staff, contract.grace_minutes) == (2, 0)
    assert contract.clauses["monthly_record"]["due_working_day"] == 5
    c = make_contract(lambda r: r["roster"].update(staff=[
        {"name": "李工", "from": "2025-07-01", "to": None},
        {"name": "王工", "from": "2025-07-01", "to": "2025-12-31"},
        {"name": "赵工", "from": "2026-01-01"},
    ]))
    assert c.roster_on(D(2025, 12, 31)) == ["李工", "王工"]
    assert c.roster_on(D(2026, 1, 1)) == ["李工", "赵工"]
    changes = staffing.roster_changes(c)
    assert changes[["date", "person", "month"]].values.tolist() == [
        [D(2025, 12, 31), "王工", "2025-12"], [D(2026, 1, 1), "赵工", "2026-01"]]


@pytest.mark.parametrize("edit, key", [
    (lambda r: r["roster"]["staff"][0].update(to="2025-06-30"), "roster.staff[0].to"),
    (lambda r: r["roster"]["staff"][1].update(**{"from": "2025-13-01"}), "roster.staff[1].from"),
    (lambda r: r["roster"]["staff"].append({"from": "2026-01-01"}), "roster.staff[2].name"),
    (lambda r: r["roster"]["staff"].append({"name": "李工", "from": "2026-01-01"}), "roster.staff[2].from"),
    (lambda r: r["roster"]["staff"].append("张工"), "roster.staff[2]"),
    (lambda r: r["roster"]["staff"][0].update(form="2025-07-01"), "roster.staff[0].form"),
    (lambda r: r["roster"].update(grace_minutes=-1), "roster.grace_minutes"),
    (lambda r: r["roster"].update(required_count=0), "roster.required_count"),
    (lambda r: r["clauses"]["monthly_record"].update(due_working_day=0), "clauses.monthly_record.due_working_day"),
    (lambda r: r["clauses"]["monthly_record"].update(deliverable_types=[]),
     "clauses.monthly_record.deliverable_types"),
    (lambda r: r["clauses"]["leave_approval"].pop("text"), "clauses.leave_approval.text"),
])
def test_a_wrong_roster_or_record_setting_names_the_key(make_contract, edit, key):
    with pytest.raises(ContractError) as e:
        make_contract(edit)
    assert f"key '{key}'" in str(e.value) and "contract.yaml" in str(e.value)


# -- one finding of each kind, from a hand-made week (winter hours) ---------------------------------------------
@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """2026-03-02 (Mon) to 2026-03-09 (Mon); 2026-03-07/08 are an ordinary weekend."""
    base = tmp_path_factory.mktemp("week")
    daily = write_xlsx(base / "考勤_2026-03.xlsx", DAILY, [
        ["李工", D(2026, 3, 2), T(7, 58), T(17, 35), "正常", None],  # present
        ["王工", D(2026, 3, 2), T(8, 12), T(17, 31), "迟到", None],  # late 12
        ["李工", D(2026, 3, 3), T(7, 55), T(17, 10), "早退", None],  # early 20
        ["王工", D(2026, 3, 3), T(8, 0), None, "缺卡", "下班未打卡"],  # missing punch (check-out)
        ["王工", D(2026, 3, 4), T(8, 20), T(17, 0), "迟到", None],  # late 20 and early 30
        ["李工", D(2026, 3, 4), None, None, "请假", None],  # approved leave
        ["李工", D(2026, 3, 5), T(7, 50), T(17, 40), "正常", None],
        ["李工", D(2026, 3, 6), None, None, "请假", "说是请过假"],  # no leave request: absent
        ["王工", D(2026, 3, 9), T(7, 59), T(17, 30), "正常", None],  # 17:30 sharp: not early
    ])
    punches = write_csv(base / "打卡原始记录.csv", PUNCH, [
        ["张工", "2026-03-05 08:01:00", "正常", "信息科"], ["张工", "2026-03-05 17:45:00", "正常", "信息科"],
        ["王工", "2026-03-07 09:00:00", "正常", "信息科"], ["王工", "2026-03-07 11:30:00", "正常", "信息科"],
    ])
    leave = write_csv(base / "请假登记.csv", LEAVE, [
        ["李工", "2026-03-04", "2026-03-04", "事假", "2026-03-03 10:00", "主任", "王工"],  # approved
        ["王工", "2026-03-05", "2026-03-05", "事假", "2026-03-05 10:00", "主任", "李工"],  # approved after start
        ["王工", "2026-03-06", "2026-03-06", "病假", "2026-03-04 16:00", "主任", ""],  # no hand-over
        ["李工", "2026-03-09", "2026-03-09", "事假", "", "", "王工"],  # no approval
    ])
    return load(base / "sla.duckdb", [daily, punches, leave])


def test_each_finding_from_a_hand_made_week(week):
    assert days(week) == {
        (D(2026, 3, 2), "李工"): ("present", 0, 0, None),
        (D(2026, 3, 2), "王工"): ("late", 12, 0, None),
        (D(2026, 3, 3), "李工"): ("left_early", 0, 20, None),
        (D(2026, 3, 3), "王工"): ("missing_punch", 0, None, "check_out"),
        (D(2026, 3, 4), "李工"): ("leave", None, None, None),
        (D(2026, 3, 4), "王工"): ("late_left_early", 20, 30, None),
        (D(2026, 3, 5), "李工"): ("present", 0, 0, None),
        (D(2026, 3, 5), "王工"): ("leave_irregular", None, None, None),
        (D(2026, 3, 5), "张工"): ("not_on_roster", None, None, None),
        (D(2026, 3, 6), "李工"): ("absent", None, None, None),
        (D(2026, 3, 6), "王工"): ("leave_irregular", None, None, None),
        (D(2026, 3, 7), "王工"): ("non_working_day", None, None, None),  # Saturday: shown, not counted
        (D(2026, 3, 9), "李工"): ("leave_irregular", None, None, None),
        (D(2026, 3, 9), "王工"): ("present", 0, 0, None),
    }
    counted = dict(q(week, "SELECT work_date || '/' || person, counted FROM staffing_days"))
    assert counted["2026-03-07/王工"] is False and counted["2026-03-05/张工"] is False
    assert sum(counted.values()) == 12  # 6 working days x 2 on the roster
    notes = dict(q(week, "SELECT work_date || '/' || person, note FROM staffing_days"))
    assert notes["2026-03-06/李工"] == "无打卡、无请假记录；考勤结果记为“请假”"
    assert notes["2026-03-05/王工"].endswith("审批晚于请假开始（审批 2026-03-05 10:00，开始 2026-03-05）")
    assert notes["2026-03-03/王工"] == "缺下班打卡（上班 08:00）"


def test_leave_checks_say_what_is_missing(week):
    assert q(week, "SELECT person, start_at, status, approved_in_advance, handover_named, issue, working_days "
                   "FROM leave_checks ORDER BY start_at") == [
        ("李工", dt.datetime(2026, 3, 4), "approved", True, True, None, 1),
        ("王工", dt.datetime(2026, 3, 5), "irregular", False, True,
         "审批晚于请假开始（审批 2026-03-05 10:00，开始 2026-03-05）", 1),
        ("王工", dt.datetime(2026, 3, 6), "irregular", True, False, "未指定交接人", 1),
        ("李工", dt.datetime(2026, 3, 9), "irregular", False, True, "无审批记录", 1),
    ]


def test_day_coverage(week):
    assert q(week, "SELECT work_date, rostered, present, on_leave, covered, all_present FROM staffing_coverage "
                   "ORDER BY 1") == [
        (D(2026, 3, 2), 2, 2, 0, True, True),
        (D(2026, 3, 3), 2, 2, 0, True, True),  # a missing punch is on site
        (D(2026, 3, 4), 2, 1, 1, True, False),
        (D(2026, 3, 5), 2, 1, 1, True, False),  # 张工 is not on the roster: not counted
        (D(2026, 3, 6), 2, 0, 1, False, False),  # nobody there
        (D(2026, 3, 9), 2, 1, 1, True, False),
    ]


def test_the_month_s_findings_list_and_totals(week, contract):
    found = with_con(week, staffing.findings_list, contract, "2026-03")
    assert found[["日期", "姓名", "情况", "分钟"]].astype(object).where(found.notna(), None).values.tolist() == [
        ["2026-03-02", "王工", "迟到", 12],
        ["2026-03-03", "李工", "早退", 20],
        ["2026-03-03", "王工", "缺卡", None],
        ["2026-03-04", "王工", "迟到", 20],
        ["2026-03-04", "王工", "早退", 30],
        ["2026-03-05", "张工", "非名单人员驻场", None],
        ["2026-03-05", "王工", "请假手续不全", None],
        ["2026-03-06", "—", "无人在岗", None],
        ["2026-03-06", "李工", "未请假缺勤", None],
        ["2026-03-06", "王工", "请假手续不全", None],
        ["2026-03-09", "李工", "请假手续不全", None],
    ]
    assert found["来源"].iloc[0].endswith("考勤_2026-03.xlsx:3")  # the row of the summary
    totals = with_con(week, staffing.month_totals, contract, "2026-03").set_index("项目")
    assert list(totals.columns) == ["李工", "王工", "张工", "合计"]
    assert totals.loc["应出勤（工作日）"].tolist() == [6, 6, 0, 12]
    assert totals.loc["在岗"].tolist() == [3, 4, 0, 7]
    assert totals.loc["迟到（分钟）"].tolist() == [0, 32, 0, 32]
    assert totals.loc["早退（分钟）"].tolist() == [20, 30, 0, 50]
    assert totals.loc["请假手续不全"].tolist() == [1, 2, 0, 3]
    assert totals.loc["非名单人员驻场（天）"].tolist() == [0, 0, 1, 1]
    assert totals.loc["非工作日出勤（天，不计入）"].tolist() == [0, 1, 0, 1]


def test_grace_minutes_from_the_contract(tmp_path, make_contract):
    c = make_contract(lambda r: r["roster"].update(grace_minutes=5))
    daily = write_xlsx(tmp_path / "考勤.xlsx", DAILY, [
        ["李工", D(2026, 3, 2), T(8, 5), T(17, 10), "", None],  # within grace: 0; early 20 - 5 = 15
        ["王工", D(2026, 3, 2), T(8, 12), T(17, 25), "", None],  # 12 - 5 = 7; early 5 - 5 = 0
    ])
    db = load(tmp_path / "sla.duckdb", [daily], contract=c.path)
    assert days(db) == {(D(2026, 3, 2), "李工"): ("left_early", 0, 15, None),
                        (D(2026, 3, 2), "王工"): ("late", 7, 0, None)}


# -- seasons, half-day leave, the two attendance shapes ---------------------------------------------------------
def test_summer_and_winter_hours(tmp_path, make_contract):
    """The expected window is the season's first start to last end; half-day leave moves it to the
    season's afternoon start (14:30 in summer, 14:00 in winter). With a summer day ending at 18:00,
    17:40 is early in September and not in October."""
    punches = write_csv(tmp_path / "打卡.csv", PUNCH, [
        ["李工", "2025-09-30 14:40:30", "", ""], ["李工", "2025-09-30 17:45:00", "", ""],  # summer, late 10
        ["李工", "2025-10-09 14:40:30", "", ""], ["李工", "2025-10-09 17:45:00", "", ""],  # winter, late 40
        ["王工", "2025-09-30 07:50:00", "", ""], ["王工", "2025-09-30 17:40:00", "", ""],
        ["王工", "2025-10-09 07:50:00", "", ""], ["王工", "2025-10-09 12:05:00", "", ""],  # afternoon off
    ])
    leave = write_csv(tmp_path / "请假.csv", LEAVE, [
        ["李工", "2025-09-30 08:00", "2025-09-30 12:00", "事假", "2025-09-29 09:00", "主任", "王工"],
        ["李工", "2025-10-09 08:00", "2025-10-09 12:00", "事假", "2025-09-29 09:00", "主任", "王工"],
        ["王工", "2025-10-09 14:00", "2025-10-09 17:30", "事假", "2025-09-29 09:00", "主任", "李工"],
    ])
    db = load(tmp_path / "sla.duckdb", [punches, leave])
    got = days(db, "work_date IN ('2025-09-30', '2025-10-09')")
    assert got == {
        (D(2025, 9, 30), "李工"): ("late", 10, 0, None),
        (D(2025, 9, 30), "王工"): ("present", 0, 0, None),
        (D(2025, 10, 9), "李工"): ("late", 40, 0, None),
        (D(2025, 10, 9), "王工"): ("present", 0, 0, None),  # 12:05 with the afternoon on leave
    }
    assert q(db, "SELECT expected_start, expected_end FROM staffing_days WHERE work_date = '2025-10-09' "
                 "ORDER BY person") == [(dt.datetime(2025, 10, 9, 14), dt.datetime(2025, 10, 9, 17, 30)),
                                        (dt.datetime(2025, 10, 9, 8), dt.datetime(2025, 10, 9, 12))]
    long_summer = make_contract(lambda r: r["calendar"]["seasons"][0].update(periods=[["08:00", "12:00"],
                                                                                      ["14:30", "18:00"]]))
    db2 = load(tmp_path / "sla2.duckdb", [punches], contract=long_summer.path)
    assert days(db2, "person = '王工' AND work_date IN ('2025-09-30', '2025-10-09')") == {
        (D(2025, 9, 30), "王工"): ("left_early", 0, 20, None),
        (D(2025, 10, 9), "王工"): ("left_early", 0, 325, None),  # no leave file loaded here: 17:30 - 12:05
    }


def test_which_shape_wins_and_how_punches_are_read(tmp_path):
    daily = write_xlsx(tmp_path / "考勤.xlsx", DAILY, [
        ["李工", D(2026, 3, 2), T(7, 58), T(17, 35), "正常", None],
        ["王工", D(2026, 3, 2), T(8, 0), T(17, 30), "正常", None],
    ])
    punches = write_csv(tmp_path / "打卡.csv", PUNCH, [
        # the same day in both shapes: equal to the minute for 李工, different for 王工
        ["李工", "2026-03-02 07:58:40", "", ""], ["李工", "2026-03-02 12:01:00", "", ""],
        ["李工", "2026-03-02 13:55:00", "", ""], ["李工", "2026-03-02 17:35:10", "", ""],
        ["王工", "2026-03-02 08:10:00", "", ""], ["王工", "2026-03-02 17:30:00", "", ""],
        # punches only: first = in, last = out (no evening punch: leaves at 12:02 as far as anyone knows)
        ["李工", "2026-03-03 07:59:00", "", ""], ["李工", "2026-03-03 12:02:59", "", ""],
        # one punch after the middle of the day (12:45) is a check-out; seconds are dropped
        ["王工", "2026-03-03 16:00:59", "", ""],
        ["王工", "2026-03-04 08:03:59", "", ""],  # one punch before the middle: a check-in, late 3
        ["李工", "2026-03-04 07:50:00", "", ""], ["李工", "2026-03-04 17:31:00", "", ""],
    ])
    db = load(tmp_path / "sla.duckdb", [daily, punches])
    assert days(db) == {
        (D(2026, 3, 2), "李工"): ("present", 0, 0, None),
        (D(2026, 3, 2), "王工"): ("present", 0, 0, None),  # the daily summary wins
        (D(2026, 3, 3), "李工"): ("left_early", 0, 328, None),
        (D(2026, 3, 3), "王工"): ("missing_punch", None, 90, "check_in"),  # 17:30 - 16:00
        (D(2026, 3, 4), "李工"): ("present", 0, 0, None),
        (D(2026, 3, 4), "王工"): ("missing_punch", 3, None, "check_out"),
    }
    assert q(db, "SELECT work_date, person, source, punch_count, other_shape_differs FROM staffing_days "
                 "ORDER BY 1, 2")[:4] == [
        (D(2026, 3, 2), "李工", "summary", 4, False), (D(2026, 3, 2), "王工", "summary", 2, True),
        (D(2026, 3, 3), "李工", "punches", 2, False), (D(2026, 3, 3), "王工", "punches", 1, False)]
    note = q(db, "SELECT note FROM staffing_days WHERE person = '王工' AND work_date = '2026-03-02'")[0][0]
    assert note == "考勤日汇总与原始打卡记录不一致，以日汇总为准"


def test_make_up_working_days_count_and_holidays_never_do(tmp_path):
    """February 2026: Spring Festival 15-23 February, make-up working Saturdays 14 and 28 February."""
    punches = write_csv(tmp_path / "打卡.csv", PUNCH, [
        ["李工", "2026-02-14 07:58:00", "", ""], ["李工", "2026-02-14 17:35:00", "", ""],  # make-up Saturday
        ["李工", "2026-02-17 09:00:00", "", ""], ["李工", "2026-02-17 11:00:00", "", ""],  # on a holiday
        ["王工", "2026-02-28 08:05:00", "", ""], ["王工", "2026-02-28 17:35:00", "", ""],  # make-up Saturday
        ["李工", "2026-02-28 07:55:00", "", ""], ["李工", "2026-02-28 17:40:00", "", ""],
    ])
    db = load(tmp_path / "sla.duckdb", [punches])
    got = days(db)
    assert got[(D(2026, 2, 14), "李工")] == ("present", 0, 0, None)
    assert got[(D(2026, 2, 14), "王工")] == ("absent", None, None, None)  # a Saturday that is a working day counts
    assert got[(D(2026, 2, 28), "王工")] == ("late", 5, 0, None)
    assert got[(D(2026, 2, 17), "李工")] == ("non_working_day", None, None, None)
    holidays = [D(2026, 2, d) for d in range(15, 24)]
    assert all((d, "王工") not in got for d in holidays)  # never absent on a holiday
    counted = [d for d, in q(db, "SELECT DISTINCT work_date FROM staffing_days WHERE counted ORDER BY 1")]
    working = [D(2026, 2, d) for d in range(1, 29) if chinese_calendar.is_workday(D(2026, 2, d))]
    assert counted == working and len(working) == 16  # 2-6, 9-13, 14 (Sat), 24-27, 28 (Sat)
    assert D(2026, 2, 14) in counted and D(2026, 2, 17) not in counted


# -- monthly work records --------------------------------------------------------------------------------------------
def test_monthly_records_due_dates_and_lateness(tmp_path):
    f = write_xlsx(tmp_path / "成果交付登记.xlsx", RECORDS, [
        ["驻场月度工作记录", "2025-07", dt.datetime(2025, 8, 7, 17, 59), "7月", None],  # on the due date
        ["驻场月度工作记录", "2025年8月", dt.datetime(2025, 9, 8, 9, 0), "8月", None],  # due Fri 5 Sep: late 1
        ["驻场月度工作记录", "2025-09", dt.datetime(2025, 10, 11, 10, 0), "9月", None],  # make-up Saturday
        ["驻场月度工作记录", "2025-09", dt.datetime(2025, 10, 20, 10, 0), "9月补充", None],  # the first counts
        ["信息化建设建议", "2025-10", dt.datetime(2025, 11, 3, 10, 0), "建议", None],  # another type
        ["驻场月度工作记录", "2026-01", dt.datetime(2026, 2, 7, 10, 0), "1月", None],  # a Saturday after the due day
        ["驻场月度工作记录", "2026-02", None, "2月", None],  # registered without a date
    ])
    db = load(tmp_path / "sla.duckdb", [f], as_of="2026-03-02 12:00")
    assert q(db, "SELECT period, due_date, status, late_working_days, submissions FROM monthly_records "
                 "ORDER BY period") == [
        ("2025-07", D(2025, 8, 7), "on_time", None, 1),
        ("2025-08", D(2025, 9, 5), "late", 1, 1),
        ("2025-09", D(2025, 10, 14), "on_time", None, 2),  # 9, 10, 11 (Sat, make-up), 13, 14 October
        ("2025-10", D(2025, 11, 7), "missing", None, 0),
        ("2025-11", D(2025, 12, 5), "missing", None, 0),
        ("2025-12", D(2026, 1, 8), "missing", None, 0),  # 1-3 January holiday, 4 (Sun) make-up
        ("2026-01", D(2026, 2, 6), "late", 1, 1),
        ("2026-02", D(2026, 3, 6), "no_date", None, 1),
        ("2026-03", D(2026, 4, 8), "not_yet_due", None, 0),  # 6 April Qingming
    ]
    table = with_con(db, staffing.monthly_record_table, load_contract(CONTRACT), "2025-09")
    assert table["状态"].tolist() == ["按时", "逾期 1 个工作日", "按时"]
    assert table["应交日期"].iloc[-1] == "2025-10-14"


def test_no_register_no_records_and_no_attendance_no_days(tmp_path):
    f = write_csv(tmp_path / "请假.csv", LEAVE, [["李工", "2026-03-04", "2026-03-04", "事假", "", "", ""]])
    db = load(tmp_path / "sla.duckdb", [f])
    assert q(db, "SELECT (SELECT count(*) FROM staffing_days), (SELECT count(*) FROM monthly_records), "
                 "(SELECT count(*) FROM leave_checks)") == [(0, 0, 1)]
    assert with_con(db, staffing.has_attendance) is False
    assert with_con(db, staffing.has_record_register) is False


# -- the demo span: every planted event in the right month, nothing else flagged ------------------------------------
YEAR1_MONTHS = [f"2025-{m:02d}" for m in range(7, 13)] + [f"2026-{m:02d}" for m in range(1, 7)]
YEAR2_MONTHS = ["2026-07", "2026-08", "2026-09", "2026-10"]
MONTHS = YEAR1_MONTHS + YEAR2_MONTHS  # the default demo span: 16 months
OFF_SITE = ("leave", "leave_irregular", "absent")


@pytest.fixture(scope="module")
def demo(tmp_path_factory, shared_demo):
    """The default demo, loaded (conftest.shared_demo, copied: a test renders under base)."""
    base = tmp_path_factory.mktemp("staffdemo")
    d = demo_copy(shared_demo, base)
    return {"base": base, "db": d["db"], "contract": load_contract(CONTRACT)}


def _uncovered(events, names=("李工", "王工")) -> set:
    """Dates on which every rostered person has a planted off-site status (leave or absence)."""
    off = {}
    for e in events:
        if e.status in OFF_SITE:
            off.setdefault(e.date, set()).add(e.person)
    return {d for d, who in off.items() if who == set(names)}


def test_every_planted_event_and_nothing_else(demo):
    db, contract = demo["db"], demo["contract"]
    events = staff_events(contract, seed=7)
    assert {e.status for e in events} == {"late", "left_early", "late_left_early", "missing_punch", "leave",
                                         "leave_irregular", "absent", "non_working_day", "present"}
    got = days(db)
    for e in events:
        row = got[(e.date, e.person)]
        assert (row[0], row[1] or 0, row[2] or 0) == (e.status, e.late_minutes, e.early_minutes), e
    month = dict(q(db, "SELECT work_date || '/' || person, month FROM staffing_days"))
    assert all(month[f"{e.date}/{e.person}"] == e.month for e in events)
    unusual = {k for k, v in got.items() if v[0] != "present"}
    assert unusual == {(e.date, e.person) for e in events if e.status != "present"}
    # every working day of the span (2025-07-01 .. 2026-10-31), for both, and no holiday; the last
    # working day is Friday 30 October 2026
    counted = q(db, "SELECT person, count(*), min(work_date), max(work_date) FROM staffing_days WHERE counted "
                    "GROUP BY 1 ORDER BY 1")
    year1 = sum(chinese_calendar.is_workday(D(2025, 7, 1) + dt.timedelta(days=i)) for i in range(365))
    year2 = sum(chinese_calendar.is_workday(D(2026, 7, 1) + dt.timedelta(days=i)) for i in range(123))
    assert year2 == 23 + 21 + 22 + 18  # July, August, September (Sun 20 in, 25 out), October (8-10, 12-30)
    assert counted == [("李工", year1 + year2, D(2025, 7, 1), D(2026, 10, 30)),
                       ("王工", year1 + year2, D(2025, 7, 1), D(2026, 10, 30))]
    # the only day nobody is on site: 王工 on annual leave, 李工 on sick leave approved too late
    assert _uncovered(events) == {D(2026, 8, 12)}
    assert q(db, "SELECT work_date FROM staffing_coverage WHERE NOT covered") == [(D(2026, 8, 12),)]
    assert q(db, "SELECT count(*) FROM staffing_days WHERE other_shape_differs") == [(0,)]


def test_each_month_s_report_lists_exactly_its_planted_findings(demo):
    db, contract = demo["db"], demo["contract"]
    label = {"missing_punch": "缺卡", "leave_irregular": "请假手续不全", "absent": "未请假缺勤"}
    events = staff_events(contract, seed=7)
    uncovered = _uncovered(events)
    for m in MONTHS:
        found = with_con(db, staffing.findings_list, contract, m)
        got = sorted((r["日期"], r["姓名"], r["情况"], None if r["分钟"] is None or r["分钟"] != r["分钟"]
                      else int(r["分钟"])) for r in found.astype(object).to_dict("records"))
        want = [(str(e.date), e.person, "迟到", e.late_minutes) for e in events if e.month == m and e.late_minutes]
        want += [(str(e.date), e.person, "早退", e.early_minutes) for e in events if e.month == m and e.early_minutes]
        want += [(str(e.date), e.person, label[e.status], None) for e in events if e.month == m and e.status in label]
        want += [(str(d), "—", "无人在岗", None) for d in uncovered if f"{d:%Y-%m}" == m]
        assert got == sorted(want), m
    # 7-14: late and early on the same day, two findings
    found = with_con(db, staffing.findings_list, contract, "2026-07")
    assert found[["日期", "姓名", "情况", "分钟"]].astype(object).values.tolist() == [
        ["2026-07-14", "李工", "迟到", 6], ["2026-07-14", "李工", "早退", 18], ["2026-07-28", "王工", "迟到", 16]]


def test_demo_monthly_records(demo):
    db, contract = demo["db"], demo["contract"]
    got = {p: (s, late) for p, s, late in q(db, "SELECT period, status, late_working_days FROM monthly_records")}
    want = {r.period: (r.status, r.late_working_days) for r in record_events(contract, seed=7)}
    assert want["2026-03"] == ("late", 3) and want["2026-02"] == ("missing", None)
    assert want["2026-08"] == ("late", 15) and want["2026-09"] == ("on_time", None)
    assert want["2026-10"] == ("not_yet_due", None)
    # as_of is the last ticket before the export (2026-11-03 16:00), some time on 1-3 November: June's
    # and July's records are past due and on time, October's is due Friday 6 November
    assert got["2026-06"] == got["2026-07"] == ("on_time", None)
    assert got["2026-10"] == got["2026-11"] == ("not_yet_due", None) and max(got) == "2026-11"
    assert {p: got[p] for p in want} == want
    due = dict(q(db, "SELECT period, due_date FROM monthly_records WHERE period >= '2026-06'"))
    assert due == {
        "2026-06": D(2026, 7, 7),  # 1-3, 6, 7 July
        "2026-07": D(2026, 8, 7),  # 3-7 August
        "2026-08": D(2026, 9, 7),  # 1-4, 7 September
        "2026-09": D(2026, 10, 13),  # 1-7 October National Day; 8, 9, Sat 10 (make-up), 12, 13
        "2026-10": D(2026, 11, 6),  # 2-6 November
        "2026-11": D(2026, 12, 7),  # 1-4, 7 December
    }
    # August's record: submitted Monday 28 September, 15 working days after Monday 7 September: 8-11,
    # 14-18, Sunday 20 (make-up), 21-24, 28; the Mid-Autumn holiday 25-27 and Saturday 26 do not count
    assert q(db, "SELECT submitted_at, late_working_days FROM monthly_records WHERE period = '2026-08'") == [
        (dt.datetime(2026, 9, 28, 14, 20), 15)]
    # September's: on the due date, 17:45 (a Monday-Friday calendar would have made it late)
    assert q(db, "SELECT submitted_at, status FROM monthly_records WHERE period = '2026-09'") == [
        (dt.datetime(2026, 10, 13, 17, 45), "on_time")]
    assert q(db, "SELECT submissions FROM monthly_records WHERE period = '2026-10'") == [(0,)]


def test_demo_monthly_records_of_october_to_december(demo):
    db, contract = demo["db"], demo["contract"]
    got = {p: s for p, s in q(db, "SELECT period, status FROM monthly_records")}
    assert {p: got[p] for p in ("2025-10", "2025-11", "2025-12")} == {
        r.period: r.status for r in record_events(contract, seed=7) if r.period in ("2025-10", "2025-11", "2025-12")}


def test_both_attendance_shapes_of_the_same_days_give_the_same_findings(demo, tmp_path):
    """October 2025 is in the daily summary and in the raw punches: loaded alone, each gives the same
    statuses, minutes and findings."""
    raw, contract = demo["base"] / "raw", demo["contract"]
    a = load(tmp_path / "summary.duckdb", [raw / SUMMARY_FILE, raw / LEAVE_FILE])
    b = load(tmp_path / "punches.duckdb", [raw / BOTH_FILE, raw / LEAVE_FILE])
    where = "month = '2025-10'"
    da, db_ = days(a, where), days(b, where)
    assert len(da) == 2 * 18 and da == db_
    assert da == days(demo["db"], where)
    fa = with_con(a, staffing.findings_list, contract, "2025-10").drop(columns="来源")
    fb = with_con(b, staffing.findings_list, contract, "2025-10").drop(columns="来源")
    assert fa.equals(fb) and len(fa) == 3


def test_year_two_make_up_days_holidays_and_the_uncovered_day(demo):
    """Contract year 2 in the demo (office-app punches, UTF-8 with BOM, to the minute): Mid-Autumn
    25-27 September with Sunday 20 September worked, National Day 1-7 October with Saturday 10
    October worked; summer hours to 30 September, winter hours from 1 October (08:00-17:30 both)."""
    db, contract = demo["db"], demo["contract"]
    rows = {(d, p): r for d, p, *r in q(db, """
        SELECT work_date, person, status, late_minutes, early_minutes, missing_punch, expected_start, expected_end,
               working_day, counted, source_file FROM staffing_days WHERE work_date >= '2026-07-01'""")}

    def at(d, h, m=0):
        return dt.datetime.combine(d, T(h, m))

    d = D(2026, 9, 20)  # make-up Sunday: counted, late from 08:00
    assert rows[(d, "王工")][:8] == ["late", 14, 0, None, at(d, 8), at(d, 17, 30), True, True]
    assert rows[(d, "王工")][8].endswith(YEAR2_PUNCH_FILE)
    assert rows[(d, "李工")][:2] == ["present", 0]
    d = D(2026, 10, 10)  # make-up Saturday, winter hours
    assert rows[(d, "李工")][:8] == ["late", 21, 0, None, at(d, 8), at(d, 17, 30), True, True]
    assert rows[(D(2026, 7, 14), "李工")][:3] == ["late_left_early", 6, 18]  # 08:06, 17:12
    assert rows[(D(2026, 8, 27), "王工")][:3] == ["left_early", 0, 45]  # 16:45
    assert rows[(D(2026, 10, 15), "王工")][:4] == ["missing_punch", 0, None, "check_out"]
    assert rows[(D(2026, 10, 3), "李工")][0] == "non_working_day"  # National Day duty: shown, not counted
    assert rows[(D(2026, 10, 3), "李工")][6:8] == [False, False]
    holidays = [D(2026, 9, 25), D(2026, 9, 26), D(2026, 9, 27)] + [D(2026, 10, k) for k in range(1, 8)]
    assert sorted(k for k in rows if k[0] in holidays) == [(D(2026, 10, 3), "李工")]
    per_month = q(db, "SELECT month, count(*) FILTER (WHERE counted) FROM staffing_days "
                      "WHERE month >= '2026-07' AND person = '王工' GROUP BY 1 ORDER BY 1")
    assert per_month == [("2026-07", 23), ("2026-08", 21), ("2026-09", 22), ("2026-10", 18)]

    # 12 August: 王工 on approved annual leave (10-14 August, hand-over 李工), 李工 off sick with the
    # approval at 10:20 that morning and nobody to hand over to: no resident on site
    assert q(db, "SELECT work_date, rostered, present, on_leave, covered, all_present FROM staffing_coverage "
                 "WHERE work_date BETWEEN '2026-08-11' AND '2026-08-13' ORDER BY 1") == [
        (D(2026, 8, 11), 2, 1, 1, True, False), (D(2026, 8, 12), 2, 0, 2, False, False),
        (D(2026, 8, 13), 2, 1, 1, True, False)]
    assert q(db, "SELECT person, start_at, status, issue, working_days FROM leave_checks "
                 "WHERE start_at >= '2026-07-01' ORDER BY start_at, person") == [
        ("王工", dt.datetime(2026, 8, 10), "approved", None, 5),
        ("李工", dt.datetime(2026, 8, 12), "irregular",
         "审批晚于请假开始（审批 2026-08-12 10:20，开始 2026-08-12）；未指定交接人", 1),
        ("李工", dt.datetime(2026, 10, 8), "approved", None, 2),  # Thursday and Friday after National Day
    ]
    found = with_con(db, staffing.findings_list, contract, "2026-08")
    assert found[["日期", "姓名", "情况", "分钟"]].astype(object).where(found.notna(), None).values.tolist() == [
        ["2026-08-12", "—", "无人在岗", None], ["2026-08-12", "李工", "请假手续不全", None],
        ["2026-08-27", "王工", "早退", 45]]
    totals = with_con(db, staffing.month_totals, contract, "2026-10").set_index("项目")
    assert totals.loc["应出勤（工作日）"].tolist() == [18, 18, 36]
    assert totals.loc["在岗"].tolist() == [16, 18, 34]  # 李工 on leave 8 and 9 October
    assert totals.loc["迟到（分钟）"].tolist() == [21, 0, 21]
    assert totals.loc["缺卡"].tolist() == [0, 1, 1]
    assert totals.loc["非工作日出勤（天，不计入）"].tolist() == [1, 0, 1]
    # all present but on 8 and 9 October (李工 on leave); a late arrival or a missing punch is on site
    assert with_con(db, staffing.coverage_table, "2026-10").iloc[0].tolist() == [18, 18, 16, 0, 0]


# sha256 of the one-year demo's files (seed 7), written before the demo span grew: months=12 must
# reproduce them byte for byte (the xlsx zips are stamped with the export instant 2026-07-03 16:00)
ONE_YEAR_SHA256 = {
    SUMMARY_FILE: "c5fa60c0057ab2bd2ee96f732948ae3f3475fc802f07325f1fc1990681e93bc7",
    BOTH_FILE: "ff375a3a134d0efa149b7ccb4ebfa5f20f9f4803e9f0d88066a803c70c8a2d13",
    PUNCH_FILE: "6353e861d42b969da1b7730b1a694888fb4fd421e6d55ccd1e3ae3cce7d48e13",
    LEAVE_FILE: "c2c8f548b7babf4ebe31fa0aa624fff8ae829993e01cf745b0286794f82ba1f4",
    RECORD_FILE: "93a838886f4987753f84324c0c3d53172f85d1ac270c0e1fc93f0538965ea3fa",
}


def test_twelve_months_is_the_one_year_demo_and_year_one_never_moves(tmp_path, contract):
    import hashlib

    from openpyxl import load_workbook

    one = write_staff_demo(tmp_path / "y1", contract, 7, 12)
    assert [p.name for p in one] == list(FILES)
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in one} == ONE_YEAR_SHA256
    full = write_staff_demo(tmp_path / "y16", contract, 7)
    assert [p.name for p in full] == [SUMMARY_FILE, BOTH_FILE, PUNCH_FILE, YEAR2_PUNCH_FILE, LEAVE_FILE, RECORD_FILE]
    a, b = tmp_path / "y1", tmp_path / "y16"
    # year 1 is the same whatever the span: raw punches byte for byte, the same summary rows, the leave
    # file and the register only gain the year-2 rows at their end
    assert (a / BOTH_FILE).read_bytes() == (b / BOTH_FILE).read_bytes()
    assert (a / PUNCH_FILE).read_bytes() == (b / PUNCH_FILE).read_bytes()
    h1 = [dt.datetime.strptime(line.split(",")[1], "%Y/%m/%d %H:%M:%S")
          for line in (a / PUNCH_FILE).read_text(encoding="gbk").splitlines()[1:]]
    assert min(h1).date() == D(2026, 1, 4) and max(h1).date() == D(2026, 6, 30)  # Sunday 4 January: make-up

    def rows(path, skip):
        return [r for r in load_workbook(path).active.iter_rows(min_row=skip, values_only=True)]

    assert rows(a / SUMMARY_FILE, 3) == rows(b / SUMMARY_FILE, 3)
    leave_a, leave_b = (a / LEAVE_FILE).read_bytes(), (b / LEAVE_FILE).read_bytes()
    assert leave_b.startswith(leave_a)
    assert leave_b[len(leave_a):].decode("utf-8").splitlines() == [
        "王工,2026-08-10,2026-08-14,年假,2026-08-03 10:15,信息科主任,李工",
        "李工,2026-08-12,2026-08-12,病假,2026-08-12 10:20,信息科主任,",
        "李工,2026-10-08,2026-10-09,年假,2026-09-28 15:30,信息科主任,王工"]
    reg_a, reg_b = rows(a / RECORD_FILE, 2), rows(b / RECORD_FILE, 2)
    assert len(reg_a) == 11 and reg_b[:11] == reg_a  # February 2026 is missing
    assert reg_a[-1][2].date() == D(2026, 7, 2)  # June, before the one-year export
    july, august, september = (r[2] for r in reg_b[11:])  # October's is not due before the export
    assert D(2026, 8, 3) <= july.date() <= D(2026, 8, 7)
    assert (august, september) == (dt.datetime(2026, 9, 28, 14, 20), dt.datetime(2026, 10, 13, 17, 45))
    # the year-2 punches: the office app's export, UTF-8 with BOM, to the minute
    y2 = (b / YEAR2_PUNCH_FILE).read_bytes()
    assert y2.startswith(b"\xef\xbb\xbf")
    lines = y2.decode("utf-8-sig").splitlines()
    assert lines[0] == "姓名,打卡时间,打卡结果,打卡设备"
    assert "王工,2026-09-20 08:14,迟到,移动办公打卡" in lines and "李工,2026-10-10 08:21,迟到,移动办公打卡" in lines
    stamps = [line.split(",")[1] for line in lines[1:]]
    assert min(stamps)[:10] == "2026-07-01" and max(stamps)[:10] == "2026-10-30"
    assert not any(t[:10] in ("2026-09-25", "2026-10-01", "2026-10-07") for t in stamps)
    # the truth lists: year 1 the same, year 2 added
    assert staff_events(contract, 7, 12) == [e for e in staff_events(contract, 7) if e.date < D(2026, 7, 1)]
    assert record_events(contract, 7, 12) == record_events(contract, 7)[:12]
    # loaded alone, the one-year files end in June: the June record on time, July's not yet due
    db = load(tmp_path / "sla.duckdb", one)
    assert q(db, "SELECT max(work_date) FROM staffing_days") == [(D(2026, 6, 30),)]
    got = q(db, "SELECT period, status FROM monthly_records WHERE period >= '2026-05' ORDER BY 1")
    assert got == [("2026-05", "on_time"), ("2026-06", "on_time"), ("2026-07", "not_yet_due")]


# -- the report section, through real papermill ----------------------------------------------------------------------
def _figure_data(html: str, name: str) -> list[dict]:
    i = html.index(f'"sla-fig-{name}"')
    start = html.index("[", i)
    return json.JSONDecoder().raw_decode(html[start:])[0]


def test_rendered_month_shows_the_section_and_its_figures_equal_direct_queries(demo):
    db = demo["db"]
    month = "2025-10"
    html = render_report("monthly", month, db, CONTRACT, demo["base"] / "reports").read_text(encoding="utf-8")
    page = assert_offline(html)
    assert "六、驻场人员考勤与月度工作记录" in html and "七、登记数据可信度" in html
    assert "八、方法说明" in html and "九、数据质量" in html
    # the heat map: one row per person, one cell per day, the status of staffing_days
    heat = _figure_data(html, "staffing-heatmap")[0]
    assert heat["type"] == "heatmap" and heat["y"] == ["李工", "王工"] and heat["x"] == list(range(1, 32))
    from sla_lib.reports.charts import STAFF_CODES

    status = dict(q(db, "SELECT person || '/' || day(work_date), status FROM staffing_days WHERE month = ?",
                    [month]))
    for i, person in enumerate(heat["y"]):
        for j, day in enumerate(heat["x"]):
            code = STAFF_CODES[int(heat["z"][i][j])]
            want = status.get(f"{person}/{day}") or ("rest" if not chinese_calendar.is_workday(D(2025, 10, day))
                                                     else "no_data")
            assert code == want, (person, day)
    assert heat["text"][1][10] == "7" and heat["text"][0][27] == "25"  # minutes in the cell
    # the totals equal direct queries
    totals = page.tables["sla-table-staffing-totals"]
    rows = {r[0]: dict(zip(totals[0], r, strict=True)) for r in totals[1:]}
    for person in ("李工", "王工"):
        (expected, late, missing, leave), = q(db, """
            SELECT count(*) FILTER (WHERE counted), coalesce(sum(late_minutes), 0),
                   count(*) FILTER (WHERE status = 'missing_punch'), count(*) FILTER (WHERE status = 'leave')
            FROM staffing_days WHERE month = ? AND person = ?""", [month, person])
        assert int(rows["应出勤（工作日）"][person]) == expected == 18
        assert int(rows["迟到（分钟）"][person]) == late
        assert int(rows["缺卡"][person]) == missing and int(rows["请假（手续齐全）"][person]) == leave
    assert int(rows["迟到（分钟）"]["合计"]) == 32
    findings = page.tables["sla-table-staffing-findings"]
    assert [r[:5] for r in findings[1:]] == [["2025-10-11", "六", "王工", "迟到", "7"],
                                             ["2025-10-22", "三", "王工", "缺卡", "—"],
                                             ["2025-10-28", "二", "李工", "迟到", "25"]]
    leave = page.tables["sla-table-staffing-leave"]
    assert leave[1][:3] == ["李工", "2025-10-16", "2025-10-17"] and leave[1][9] == "手续齐全"
    coverage = page.tables["sla-table-staffing-coverage"]
    assert coverage[1] == ["18", "18", "16", "0", "0"]
    records = page.tables["sla-table-monthly-records"]
    assert [r[0] for r in records[1:]] == ["2025-07", "2025-08", "2025-09", "2025-10"]
    assert "sla-table-staffing-method" in page.ids


def test_a_database_without_attendance_says_so_in_one_line(tmp_path):
    from .test_report import MONTH, build_db

    db = build_db(tmp_path / "sla.duckdb", load_contract(CONTRACT).sha256)
    html = render_report("monthly", MONTH, db, CONTRACT, tmp_path / "reports").read_text(encoding="utf-8")
    assert staffing.NO_ATTENDANCE_TEXT in html
    assert "sla-fig-staffing-heatmap" not in html and "sla-table-staffing" not in html
    assert not re.search(r"sla-table-monthly-records", html)
