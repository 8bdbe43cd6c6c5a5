"""Demo exports of the resident engineers (issue 4): attendance in both shapes, leave, work records.

``write_staff_demo`` writes, for the two resident engineers of the contract file's roster, one
contract year of what a hospital's information department keeps:

==============================================  =============================================================
file                                            content
==============================================  =============================================================
``考勤日汇总_2025下半年.xlsx``                    daily summaries July–December (one row per person per day,
                                                weekends and holidays as 休息), a title row above the header
``考勤打卡原始记录_2025-10.csv``                  October again, as raw punches (UTF-8 with BOM): the month in
                                                both shapes, so the two can be compared
``考勤打卡原始记录_2026上半年.csv``                raw punches January–June (GBK, ``2026/1/5 7:58:10``), some days
                                                with extra punches around lunch (first = in, last = out)
``请假登记_2025-2026.csv``                        leave requests (UTF-8 with BOM; whole days as dates alone)
``成果交付登记_驻场月度工作记录.xlsx``              the monthly work records register
==============================================  =============================================================

The hospital's calendar is respected: no attendance on statutory holidays or weekends, except one
Saturday of system-upgrade support (shown, never counted), and attendance on the make-up working
days (调休上班). Everything else is on time; :func:`staff_events` lists every planted event with the
status and minutes ``sla_lib.staffing`` must find, and :func:`record_events` the monthly records.
Ordinary punch times come from ``numpy.random.default_rng([seed, 4])``: same seed, same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .calendar import WorkCalendar
from .contract import Contract, add_months

SUMMARY_FILE = "考勤日汇总_2025下半年.xlsx"
BOTH_FILE = "考勤打卡原始记录_2025-10.csv"
PUNCH_FILE = "考勤打卡原始记录_2026上半年.csv"
LEAVE_FILE = "请假登记_2025-2026.csv"
RECORD_FILE = "成果交付登记_驻场月度工作记录.xlsx"
FILES = (SUMMARY_FILE, BOTH_FILE, PUNCH_FILE, LEAVE_FILE, RECORD_FILE)
DEFAULT_NAMES = ("李工", "王工")
APPROVER = "信息科主任"
RECORD_TYPE = "驻场月度工作记录"
BOTH_MONTH = "2025-10"  # written in both shapes
D = dt.date


@dataclass(frozen=True)
class StaffEvent:
    """One planted (person, day) and what sla_lib.staffing must find for it."""

    person: str
    date: dt.date
    status: str  # staffing_days.status
    late_minutes: int = 0
    early_minutes: int = 0
    note: str = ""

    @property
    def month(self) -> str:
        return f"{self.date.year}-{self.date.month:02d}"

    @property
    def minutes(self) -> int:
        return self.late_minutes or self.early_minutes


@dataclass(frozen=True)
class RecordEvent:
    """A month's work record and the status monthly_records must give it."""

    period: str
    status: str  # on_time | late | missing
    late_working_days: int | None = None
    submitted_at: dt.datetime | None = None


# Planted events, person 0 / 1 = the first / second resident on the roster. The times are the
# punches (seconds are added at random: minutes are counted to the minute).
# (person, date, status, check-in, check-out, note)
_EVENTS = [
    (0, D(2025, 8, 12), "late", (8, 12), None, "夏季作息，迟到 12 分钟"),
    (1, D(2025, 9, 5), "left_early", None, (17, 0), "早退 30 分钟"),
    (1, D(2025, 10, 11), "late", (8, 7), None, "调休上班的周六，迟到 7 分钟"),
    (1, D(2025, 10, 22), "missing_punch", (7, 52), "missing", "缺下班打卡"),
    (0, D(2025, 10, 28), "late", (8, 25), None, "迟到 25 分钟"),
    (0, D(2025, 12, 13), "non_working_day", (9, 0), (12, 5), "周六系统升级保障，不计入"),
    (1, D(2026, 1, 20), "late", (8, 4), None, "迟到 4 分钟（原始打卡）"),
    (0, D(2026, 4, 28), "left_early", None, (17, 10), "早退 20 分钟（原始打卡）"),
    (1, D(2026, 4, 15), "present", None, (12, 2), "下午请假且手续齐全，12:02 离开不算早退"),
    (1, D(2026, 5, 20), "absent", "none", "none", "无打卡、无请假：未请假缺勤"),
]
# Leave: (person, start, end, type, approved, handover person, expected status of each working day)
_LEAVE = [
    (0, "2025-08-18", "2025-08-22", "年假", D(2025, 8, 11), 1, "leave"),
    (0, "2025-10-16", "2025-10-17", "事假", D(2025, 10, 14), 1, "leave"),
    (1, "2026-02-05", "2026-02-05", "病假", D(2026, 2, 4), 0, "leave"),
    (0, "2026-03-10", "2026-03-10", "事假", dt.datetime(2026, 3, 10, 9, 30), 1, "leave_irregular"),  # approved late
    (1, "2026-04-15 14:00", "2026-04-15 17:30", "事假", D(2026, 4, 13), 0, None),  # half day: present
]
# Monthly records that are not on time: period -> (submitted, status, late working days)
_RECORDS = {
    "2026-03": (dt.datetime(2026, 4, 13, 15, 40), "late", 3),  # due Wed 8 April (6 April Qingming): 9, 10, 13
    "2026-02": (None, "missing", None),  # due Fri 6 March
}
_LAST_SUBMISSION = dt.datetime(2026, 7, 2)  # the June record: before the export instant


@dataclass
class StaffDemo:
    names: tuple[str, str]
    summary: list[list]  # rows of the daily summary (Jul-Dec), header excluded
    punches: list[tuple[str, dt.datetime, str]]  # (person, punched_at, 打卡结果), whole year
    leave: list[list[str]]
    records: list[list]
    events: list[StaffEvent]
    record_events: list[RecordEvent]


def _names(contract: Contract) -> tuple[str, str]:
    names = contract.roster_on(contract.signing_date) or [e.name for e in contract.roster_staff]
    names = list(dict.fromkeys([*names, *DEFAULT_NAMES]))
    return names[0], names[1]


def _year(contract: Contract) -> tuple[dt.date, dt.date]:
    start, end = contract.contract_year_bounds(1)
    return start, end - dt.timedelta(days=1)


def generate_staff_demo(contract: Contract, seed: int = 7) -> StaffDemo:
    """Everything ``write_staff_demo`` writes, before formatting (no file is written)."""
    rng = np.random.default_rng([seed, 4])
    names = _names(contract)
    first, last = _year(contract)
    cal = WorkCalendar(contract, first.year, last.year + 1)
    dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    working = cal.is_working_day(np.array(dates, dtype="datetime64[D]"))
    n = len(dates)
    # ordinary punches: in 07:35:00-07:59:59, out 17:30:00-18:09:59; a quarter of the days with a
    # lunch-time pair of extra punches
    t_in = 7 * 3600 + 35 * 60 + rng.integers(0, 25 * 60, (n, 2))
    t_out = 17 * 3600 + 30 * 60 + rng.integers(0, 40 * 60, (n, 2))
    lunch = rng.random((n, 2)) < 0.25
    t_lunch_out = 11 * 3600 + 58 * 60 + rng.integers(0, 12 * 60, (n, 2))
    t_lunch_in = 13 * 3600 + 45 * 60 + rng.integers(0, 35 * 60, (n, 2))
    secs = rng.integers(0, 60, (n, 2, 2))  # seconds of the planted punches

    events: list[StaffEvent] = []
    planted: dict[tuple[int, dt.date], tuple] = {}
    for p, d, status, cin, cout, _ in _EVENTS:
        if first <= d <= last:
            planted[(p, d)] = (status, cin, cout)
    leave_days: dict[tuple[int, dt.date], str] = {}
    leave_rows = []
    for p, s, e, kind, approved, hand, status in _LEAVE:
        d0 = dt.date.fromisoformat(s[:10])
        if not first <= d0 <= last:
            continue
        if isinstance(approved, dt.datetime):
            approved_text = f"{approved:%Y-%m-%d %H:%M}"
        else:
            approved_text = f"{approved} {int(rng.integers(9, 18)):02d}:{int(rng.integers(0, 60)):02d}"
        leave_rows.append([names[p], s, e, kind, approved_text, APPROVER, names[hand]])
        if status is None:
            continue
        d = d0
        while d <= dt.date.fromisoformat(e[:10]):
            if working[(d - first).days]:
                leave_days[(p, d)] = status
                events.append(StaffEvent(names[p], d, status, note=f"{kind}：" + (
                    "审批晚于请假开始" if status == "leave_irregular" else "提前审批，已指定交接人")))
            d += dt.timedelta(days=1)

    summary, punches = [], []
    for i, d in enumerate(dates):
        start, end = _window(contract, d)
        for p in (0, 1):
            name = names[p]
            ci, co = int(t_in[i, p]), int(t_out[i, p])
            extra = bool(lunch[i, p])
            result, remark = "正常", ("调休上班" if working[i] and d.weekday() >= 5 else None)
            if (p, d) in planted:
                status, cin, cout = planted[(p, d)]
                extra = False
                if cin == "none":
                    ci = co = None
                if isinstance(cin, tuple):
                    ci = cin[0] * 3600 + cin[1] * 60 + int(secs[i, p, 0])
                if cout == "missing":
                    co = None
                elif isinstance(cout, tuple):
                    co = cout[0] * 3600 + cout[1] * 60 + int(secs[i, p, 1])
                late = max(0, ci // 60 - start) if status == "late" else 0
                early = max(0, end - co // 60) if status == "left_early" else 0
                result = {"late": "迟到", "left_early": "早退", "missing_punch": "缺卡", "absent": "旷工",
                          "non_working_day": "加班", "present": "正常"}[status]
                remark = {"non_working_day": "系统升级保障", "present": "下午请假"}.get(status, remark)
                note = next(e[5] for e in _EVENTS if e[0] == p and e[1] == d)
                events.append(StaffEvent(name, d, status, late, early, note))
            elif (p, d) in leave_days:
                ci = co = None
                result, remark = "请假", None
            elif not working[i]:
                ci = co = None
                result, remark = "休息", None
            when = dt.datetime.combine(d, dt.time())
            cin_ts = when + dt.timedelta(seconds=ci) if ci is not None else None
            cout_ts = when + dt.timedelta(seconds=co) if co is not None else None
            if d < dt.date(2026, 1, 1):
                summary.append([name, d, _hm(cin_ts), _hm(cout_ts), result, remark])
            if d >= dt.date(2026, 1, 1) or f"{d:%Y-%m}" == BOTH_MONTH:
                if cin_ts is not None:
                    punches.append((name, cin_ts, "迟到" if result == "迟到" else "正常"))
                if extra and cin_ts is not None and cout_ts is not None:
                    punches.append((name, when + dt.timedelta(seconds=int(t_lunch_out[i, p])), "正常"))
                    punches.append((name, when + dt.timedelta(seconds=int(t_lunch_in[i, p])), "正常"))
                if cout_ts is not None:
                    punches.append((name, cout_ts, "早退" if result == "早退" else "正常"))
    events.sort(key=lambda e: (e.date, e.person))

    records, record_events = [], []
    m = dt.date(first.year, first.month, 1)
    n_due = int(contract.clauses["monthly_record"]["due_working_day"])
    while m <= last:
        period = f"{m.year}-{m.month:02d}"
        nxt = add_months(m, 1)
        k = np.searchsorted(cal.working_dates, np.datetime64(nxt - dt.timedelta(days=1), "D"), side="right")
        allowed = [w.astype(dt.date) for w in cal.working_dates[k:k + n_due]]
        if period in _RECORDS:
            at, status, late = _RECORDS[period]
        else:
            day = allowed[int(rng.integers(0, len(allowed)))]
            at = dt.datetime.combine(min(day, _LAST_SUBMISSION.date()), dt.time(int(rng.integers(9, 17)),
                                                                              int(rng.integers(0, 60))))
            status, late = "on_time", None
        record_events.append(RecordEvent(period, status, late, at))
        if at is not None:
            label = period if rng.random() < 0.7 else f"{m.year}年{m.month}月"
            records.append([RECORD_TYPE, label, at, f"{m.year}年{m.month}月驻场工作记录及总结",
                            f"驻场工作记录_{period}.docx"])
        m = nxt
    return StaffDemo(names, summary, punches, leave_rows, records, events, record_events)


def _window(contract: Contract, d: dt.date) -> tuple[int, int]:
    """First start and last end of the day's working hours, minutes of the day."""
    season = next(x for x in contract.seasons if x.covers(d.strftime("%m-%d")))
    return season.periods[0][0] // 60, season.periods[-1][1] // 60


def _hm(t: dt.datetime | None) -> dt.time | None:
    return None if t is None else dt.time(t.hour, t.minute)


def staff_events(contract: Contract, seed: int = 7) -> list[StaffEvent]:
    """Every planted (person, day) whose status is not an ordinary on-time day, plus the half-day
    leave that must stay ``present``: what ``sla_lib.staffing`` must find, month by month."""
    return generate_staff_demo(contract, seed).events


def record_events(contract: Contract, seed: int = 7) -> list[RecordEvent]:
    """The monthly work records of the demo year and their expected status."""
    return generate_staff_demo(contract, seed).record_events


# -- writing ----------------------------------------------------------------------------------------------
def write_staff_demo(raw_dir: Path, contract: Contract, seed: int = 7) -> list[Path]:
    """Write the five resident-staff exports into raw_dir; return their paths (same seed, same bytes)."""
    from .demo import _fixed_zip

    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    demo = generate_staff_demo(contract, seed)
    _, last = _year(contract)
    export_at = dt.datetime.combine(last, dt.time(16, 0)) + dt.timedelta(days=3)
    paths = []

    # 1. daily summaries, xlsx, title row above the header
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "考勤日汇总"
    wb.properties.creator = "考勤系统"
    wb.properties.created = export_at
    ws.append(["驻场人员考勤日汇总（2025年7月—12月）"])
    ws.append(["姓名", "日期", "上班打卡时间", "下班打卡时间", "考勤结果", "备注"])
    for r in demo.summary:
        ws.append(r)
    for row in ws.iter_rows(min_row=3):
        row[1].number_format = "yyyy-mm-dd"
        for c in row[2:4]:
            if c.value is not None:
                c.number_format = "hh:mm"
    for col, width in zip("ABCDEF", (8, 12, 13, 13, 9, 14), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    paths.append(_write(raw_dir / SUMMARY_FILE, _fixed_zip(buf.getvalue(), export_at)))

    # 2. October again as raw punches (UTF-8 with BOM, ISO spelling)
    october = [p for p in demo.punches if f"{p[1]:%Y-%m}" == BOTH_MONTH]
    paths.append(_write(raw_dir / BOTH_FILE, _punch_csv(october, lambda t: t.strftime("%Y-%m-%d %H:%M:%S"),
                                                        "utf-8-sig", "信息科考勤机")))
    # 3. January-June as raw punches (GBK, Excel style 2026/1/5 7:58:10)
    h1 = [p for p in demo.punches if p[1].year >= 2026]
    paths.append(_write(raw_dir / PUNCH_FILE, _punch_csv(
        h1, lambda t: f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}", "gbk", "信息科考勤机")))
    # 4. leave register
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["姓名", "请假开始", "请假结束", "请假类型", "审批时间", "审批人", "交接人"])
    w.writerows(demo.leave)
    paths.append(_write(raw_dir / LEAVE_FILE, out.getvalue().encode("utf-8-sig")))
    # 5. monthly work records register
    wb = Workbook()
    ws = wb.active
    ws.title = "成果交付登记"
    wb.properties.creator = "信息科"
    wb.properties.created = export_at
    ws.append(["类型", "所属期间", "提交时间", "标题", "文件"])
    for r in demo.records:
        ws.append(r)
    for row in ws.iter_rows(min_row=2):
        row[2].number_format = "yyyy-mm-dd hh:mm"
    for col, width in zip("ABCDE", (18, 10, 17, 30, 28), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    paths.append(_write(raw_dir / RECORD_FILE, _fixed_zip(buf.getvalue(), export_at)))
    return paths


def _punch_csv(rows, fmt, encoding: str, device: str) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["姓名", "打卡时间", "打卡结果", "打卡设备"])
    for name, t, result in sorted(rows, key=lambda r: (r[1], r[0])):
        w.writerow([name, fmt(t), result, device])
    return out.getvalue().encode(encoding)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
