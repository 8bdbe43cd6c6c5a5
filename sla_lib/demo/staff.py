"""Demo exports of the resident engineers (issue 4): attendance in both shapes, leave, work records.

``write_staff_demo`` writes, for the two resident engineers of the contract file's roster, the demo
span of :func:`sla_lib.demo.demo_span` (default 16 months: contract year 1 and July–October of
year 2) as a hospital's information department keeps it:

==============================================  =============================================================
file                                            content
==============================================  =============================================================
``考勤日汇总_2025下半年.xlsx``                    daily summaries July–December (one row per person per day,
                                                weekends and holidays as 休息), a title row above the header
``考勤打卡原始记录_2025-10.csv``                  October again, as raw punches (UTF-8 with BOM): the month in
                                                both shapes, so the two can be compared
``考勤打卡原始记录_2026上半年.csv``                raw punches January–June (GBK, ``2026/1/5 7:58:10``), some days
                                                with extra punches around lunch (first = in, last = out)
``考勤打卡原始记录_2026下半年.csv``                year 2: raw punches July–October 2026 from the office app
                                                (UTF-8 with BOM, to the minute ``2026-07-01 07:52``), more
                                                days with lunch punches; one file per half-year after year 1
``请假登记_2025-2026.csv``                        leave requests of both years (UTF-8 with BOM; whole days as
                                                dates alone)
``成果交付登记_驻场月度工作记录.xlsx``              the monthly work records register
==============================================  =============================================================

With ``months=12`` the files are byte for byte the one-year demo of earlier versions (no year-2
file); contract year 1 is the same whatever ``months`` is (only the export instant in the xlsx
properties moves, and the leave file and register gain the year-2 rows at their end).

The hospital's calendar is respected: no attendance on statutory holidays or weekends, except one
Saturday of system-upgrade support and one National Day duty morning (shown, never counted), and
attendance on the make-up working days (调休上班, e.g. Sunday 2026-09-20 and Saturday 2026-10-10).
Everything else is on time; :func:`staff_events` lists every planted event with the status and
minutes ``sla_lib.staffing`` must find, and :func:`record_events` the monthly records. Ordinary punch
times of contract year 1 come from ``numpy.random.default_rng([seed, 4])`` (the draws of the one-year
demo), later ones from ``default_rng([seed, 4, 2])`` and later work-record submissions from
``default_rng([seed, 4, 3])``: same seed and months, same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sla_lib.demo.files import fixed_zip
from sla_lib.demo.tickets import demo_span
from sla_lib.rules.calendar import calendar_for
from sla_lib.rules.contract import Contract, add_months

SUMMARY_FILE = "考勤日汇总_2025下半年.xlsx"
BOTH_FILE = "考勤打卡原始记录_2025-10.csv"
PUNCH_FILE = "考勤打卡原始记录_2026上半年.csv"
LATER_PUNCH_FILE = "考勤打卡原始记录_{year}{half}半年.csv"  # after contract year 1, one file per half-year
YEAR2_PUNCH_FILE = LATER_PUNCH_FILE.format(year=2026, half="下")
LEAVE_FILE = "请假登记_2025-2026.csv"
RECORD_FILE = "成果交付登记_驻场月度工作记录.xlsx"
FILES = (SUMMARY_FILE, BOTH_FILE, PUNCH_FILE, LEAVE_FILE, RECORD_FILE)  # the one-year demo (months=12)
DEFAULT_NAMES = ("李工", "王工")
APPROVER = "信息科主任"
RECORD_TYPE = "驻场月度工作记录"
BOTH_MONTH = "2025-10"  # written in both shapes
SUMMARY_UNTIL = dt.date(2026, 1, 1)  # daily summaries before this date, raw punches from it on
LATER_DEVICE = "移动办公打卡"
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
    status: str  # on_time | late | missing | not_yet_due (due after the export)
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
    # contract year 2 (office-app punches, to the minute)
    (0, D(2026, 7, 14), "late_left_early", (8, 6), (17, 12), "迟到 6 分钟且早退 18 分钟"),
    (1, D(2026, 7, 28), "late", (8, 16), None, "迟到 16 分钟"),
    (1, D(2026, 8, 27), "left_early", None, (16, 45), "早退 45 分钟"),
    (1, D(2026, 9, 20), "late", (8, 14), None, "调休上班的周日（夏季作息），迟到 14 分钟"),
    (0, D(2026, 10, 3), "non_working_day", (9, 2), (11, 36), "国庆假期值班巡检，不计入"),
    (0, D(2026, 10, 10), "late", (8, 21), None, "调休上班的周六（冬季作息），迟到 21 分钟"),
    (1, D(2026, 10, 15), "missing_punch", (7, 48), "missing", "缺下班打卡"),
]
# Leave: (person, start, end, type, approved, handover person or None, expected status of each
# working day). A date approval gets a random time of day (year 1 only: later rows carry the time).
_LEAVE = [
    (0, "2025-08-18", "2025-08-22", "年假", D(2025, 8, 11), 1, "leave"),
    (0, "2025-10-16", "2025-10-17", "事假", D(2025, 10, 14), 1, "leave"),
    (1, "2026-02-05", "2026-02-05", "病假", D(2026, 2, 4), 0, "leave"),
    (0, "2026-03-10", "2026-03-10", "事假", dt.datetime(2026, 3, 10, 9, 30), 1, "leave_irregular"),  # approved late
    (1, "2026-04-15 14:00", "2026-04-15 17:30", "事假", D(2026, 4, 13), 0, None),  # half day: present
    # contract year 2: 王工 away 10-14 August with 李工 as hand-over, and 李工 falls ill on the 12th (sick
    # leave approved at 10:20 that day, nobody left to hand over to): nobody on site on 2026-08-12
    (1, "2026-08-10", "2026-08-14", "年假", dt.datetime(2026, 8, 3, 10, 15), 0, "leave"),
    (0, "2026-08-12", "2026-08-12", "病假", dt.datetime(2026, 8, 12, 10, 20), None, "leave_irregular"),
    (0, "2026-10-08", "2026-10-09", "年假", dt.datetime(2026, 9, 28, 15, 30), 1, "leave"),  # after National Day
]
# Monthly records that are not drawn at random: period -> (submitted, status, late working days)
_RECORDS = {
    "2026-03": (dt.datetime(2026, 4, 13, 15, 40), "late", 3),  # due Wed 8 April (6 April Qingming): 9, 10, 13
    "2026-02": (None, "missing", None),  # due Fri 6 March
    # due Mon 7 September (1-4, 7): 8-11, 14-18, Sun 20 (make-up), 21-24, 28; 25-27 Mid-Autumn = 15
    "2026-08": (dt.datetime(2026, 9, 28, 14, 20), "late", 15),
    # due Tue 13 October (1-7 National Day; 8, 9, Sat 10 make-up, 12, 13): on time on the due date
    "2026-09": (dt.datetime(2026, 10, 13, 17, 45), "on_time", None),
}
_LAST_SUBMISSION = dt.datetime(2026, 7, 2)  # year 1's June record: before the one-year demo's export


@dataclass
class StaffDemo:
    names: tuple[str, str]
    summary: list[list]  # rows of the daily summary (Jul-Dec), header excluded
    punches: list[tuple[str, dt.datetime, str]]  # (person, punched_at, 打卡结果), every raw-punch day
    leave: list[list[str]]
    records: list[list]
    events: list[StaffEvent]
    record_events: list[RecordEvent]
    export_at: dt.datetime  # the export instant of demo_span
    year1_end: dt.date  # first day after contract year 1 (punches from it on go to the later files)


def _names(contract: Contract) -> tuple[str, str]:
    names = contract.roster_on(contract.signing_date) or [e.name for e in contract.roster_staff]
    names = list(dict.fromkeys([*names, *DEFAULT_NAMES]))
    return names[0], names[1]


def _year(contract: Contract) -> tuple[dt.date, dt.date]:
    start, end = contract.contract_year_bounds(1)
    return start, end - dt.timedelta(days=1)


def _draw_times(rng: np.random.Generator, n: int, year1: bool) -> tuple[np.ndarray, ...]:
    """Ordinary punch times of n days x 2 people, seconds of the day: in, out, lunch-punch flag,
    lunch out, lunch in, and the seconds of planted punches. Year 1 (attendance machine): in
    07:35:00-07:59:59, out 17:30:00-18:09:59, a quarter of the days with a lunch-time pair. Later
    (office app, every day a little later in the morning, more lunch punches): in 07:40-07:59,
    out 17:30-18:19, lunch in 13:30-13:57 (before the afternoon in both seasons)."""
    if year1:  # the draws of the one-year demo, in their order
        t_in = 7 * 3600 + 35 * 60 + rng.integers(0, 25 * 60, (n, 2))
        t_out = 17 * 3600 + 30 * 60 + rng.integers(0, 40 * 60, (n, 2))
        lunch = rng.random((n, 2)) < 0.25
        t_lunch_out = 11 * 3600 + 58 * 60 + rng.integers(0, 12 * 60, (n, 2))
        t_lunch_in = 13 * 3600 + 45 * 60 + rng.integers(0, 35 * 60, (n, 2))
    else:
        t_in = 7 * 3600 + 40 * 60 + rng.integers(0, 20 * 60, (n, 2))
        t_out = 17 * 3600 + 30 * 60 + rng.integers(0, 50 * 60, (n, 2))
        lunch = rng.random((n, 2)) < 0.4
        t_lunch_out = 11 * 3600 + 58 * 60 + rng.integers(0, 12 * 60, (n, 2))
        t_lunch_in = 13 * 3600 + 30 * 60 + rng.integers(0, 28 * 60, (n, 2))
    secs = rng.integers(0, 60, (n, 2, 2))  # seconds of the planted punches
    return t_in, t_out, lunch, t_lunch_out, t_lunch_in, secs


def generate_staff_demo(contract: Contract, seed: int = 7, months: int | None = None) -> StaffDemo:
    """Everything ``write_staff_demo`` writes, before formatting (no file is written)."""
    first, end, export_at = demo_span(contract, months)  # end exclusive
    last = end - dt.timedelta(days=1)
    y1_first, y1_last = _year(contract)
    y1_end = y1_last + dt.timedelta(days=1)
    rng = np.random.default_rng([seed, 4])  # contract year 1: exactly the draws of the one-year demo
    later_rng = np.random.default_rng([seed, 4, 2])  # punch times after year 1
    later_rec = np.random.default_rng([seed, 4, 3])  # work-record submissions after year 1
    names = _names(contract)
    cal = calendar_for(contract, first, last, y1_last)
    dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    working = cal.is_working_day(np.array(dates, dtype="datetime64[D]"))
    # ordinary punch times, one row per day from y1_first: year 1 drawn whole (whatever the span), later
    # days for the whole contract years the span reaches, so a longer span only adds days
    draws = [_draw_times(rng, (y1_last - y1_first).days + 1, True)]
    if last > y1_last:
        k = 2
        while contract.contract_year_bounds(k)[1] <= last:
            k += 1
        draws.append(_draw_times(later_rng, (contract.contract_year_bounds(k)[1] - y1_end).days, False))
    t_in, t_out, lunch, t_lunch_out, t_lunch_in, secs = (np.concatenate(a) for a in zip(*draws, strict=True))

    events: list[StaffEvent] = []
    planted: dict[tuple[int, dt.date], tuple] = {}
    for p, d, status, cin, cout, _ in _EVENTS:
        if first <= d <= last:
            planted[(p, d)] = (status, cin, cout)
    leave_days: dict[tuple[int, dt.date], str] = {}
    leave_rows = []
    for p, s, e, kind, approved, hand, status in _LEAVE:
        d0 = dt.date.fromisoformat(s[:10])
        if isinstance(approved, dt.datetime):
            approved_text = f"{approved:%Y-%m-%d %H:%M}"
        elif y1_first <= d0 <= y1_last:  # drawn whatever the span: year 1 stays the same
            approved_text = f"{approved} {int(rng.integers(9, 18)):02d}:{int(rng.integers(0, 60)):02d}"
        else:
            raise ValueError(f"demo leave after contract year 1 needs an approval time: {s}")
        if not first <= d0 <= last:
            continue
        leave_rows.append([names[p], s, e, kind, approved_text, APPROVER, "" if hand is None else names[hand]])
        if status is None:
            continue
        d = d0
        while d <= dt.date.fromisoformat(e[:10]):
            if first <= d <= last and working[(d - first).days]:
                leave_days[(p, d)] = status
                issue = "审批晚于请假开始" + ("，未指定交接人" if hand is None else "")
                events.append(StaffEvent(names[p], d, status, note=f"{kind}：" + (
                    issue if status == "leave_irregular" else "提前审批，已指定交接人")))
            d += dt.timedelta(days=1)

    summary, punches = [], []
    for j, d in enumerate(dates):
        i = (d - y1_first).days
        start, end_min = _window(contract, d)
        for p in (0, 1):
            name = names[p]
            ci, co = int(t_in[i, p]), int(t_out[i, p])
            extra = bool(lunch[i, p])
            result, remark = "正常", ("调休上班" if working[j] and d.weekday() >= 5 else None)
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
                late = max(0, ci // 60 - start) if status in ("late", "late_left_early") else 0
                early = max(0, end_min - co // 60) if status in ("left_early", "late_left_early") else 0
                result = {"late": "迟到", "left_early": "早退", "late_left_early": "迟到早退", "missing_punch": "缺卡",
                          "absent": "旷工", "non_working_day": "加班", "present": "正常"}[status]
                remark = {"non_working_day": "系统升级保障", "present": "下午请假"}.get(status, remark)
                note = next(e[5] for e in _EVENTS if e[0] == p and e[1] == d)
                events.append(StaffEvent(name, d, status, late, early, note))
            elif (p, d) in leave_days:
                ci = co = None
                result, remark = "请假", None
            elif not working[j]:
                ci = co = None
                result, remark = "休息", None
            when = dt.datetime.combine(d, dt.time())
            cin_ts = when + dt.timedelta(seconds=ci) if ci is not None else None
            cout_ts = when + dt.timedelta(seconds=co) if co is not None else None
            if d < SUMMARY_UNTIL:
                summary.append([name, d, _hm(cin_ts), _hm(cout_ts), result, remark])
            if d >= SUMMARY_UNTIL or f"{d:%Y-%m}" == BOTH_MONTH:
                if cin_ts is not None:
                    punches.append((name, cin_ts, "迟到" if "迟到" in result else "正常"))
                if extra and cin_ts is not None and cout_ts is not None:
                    punches.append((name, when + dt.timedelta(seconds=int(t_lunch_out[i, p])), "正常"))
                    punches.append((name, when + dt.timedelta(seconds=int(t_lunch_in[i, p])), "正常"))
                if cout_ts is not None:
                    punches.append((name, cout_ts, "早退" if "早退" in result else "正常"))
    events.sort(key=lambda e: (e.date, e.person))

    records, record_events = [], []
    m = dt.date(first.year, first.month, 1)
    n_due = int(contract.clauses["monthly_record"]["due_working_day"])
    while m <= last:
        period = f"{m.year}-{m.month:02d}"
        nxt = add_months(m, 1)
        k = np.searchsorted(cal.working_dates, np.datetime64(nxt - dt.timedelta(days=1), "D"), side="right")
        allowed = [w.astype(dt.date) for w in cal.working_dates[k:k + n_due]]
        due = allowed[-1]
        year1 = m <= y1_last
        r = rng if year1 else later_rec
        if period in _RECORDS:
            at, status, late = _RECORDS[period]
        elif year1:  # the one-year demo's June record is clamped to just before its export
            day = allowed[int(r.integers(0, len(allowed)))]
            at = dt.datetime.combine(min(day, _LAST_SUBMISSION.date()), dt.time(int(r.integers(9, 17)),
                                                                                int(r.integers(0, 60))))
            status, late = "on_time", None
        elif due < export_at.date():
            day = allowed[int(r.integers(0, len(allowed)))]
            at = dt.datetime.combine(day, dt.time(int(r.integers(9, 17)), int(r.integers(0, 60))))
            status, late = "on_time", None
        else:  # due after the export: not submitted yet
            at, status, late = None, "not_yet_due", None
        if at is not None and at >= export_at:  # a span shorter than the planted events
            at, late = None, None
        if at is None and status != "not_yet_due":
            status = "missing" if due < export_at.date() else "not_yet_due"
        record_events.append(RecordEvent(period, status, late, at))
        if at is not None:
            label = period if r.random() < 0.7 else f"{m.year}年{m.month}月"
            records.append([RECORD_TYPE, label, at, f"{m.year}年{m.month}月驻场工作记录及总结",
                            f"驻场工作记录_{period}.docx"])
        m = nxt
    return StaffDemo(names, summary, punches, leave_rows, records, events, record_events, export_at, y1_end)


def _window(contract: Contract, d: dt.date) -> tuple[int, int]:
    """First start and last end of the day's working hours, minutes of the day."""
    season = next(x for x in contract.seasons if x.covers(d.strftime("%m-%d")))
    return season.periods[0][0] // 60, season.periods[-1][1] // 60


def _hm(t: dt.datetime | None) -> dt.time | None:
    return None if t is None else dt.time(t.hour, t.minute)


def staff_events(contract: Contract, seed: int = 7, months: int | None = None) -> list[StaffEvent]:
    """Every planted (person, day) whose status is not an ordinary on-time day, plus the half-day
    leave that must stay ``present``: what ``sla_lib.staffing`` must find, month by month."""
    return generate_staff_demo(contract, seed, months).events


def record_events(contract: Contract, seed: int = 7, months: int | None = None) -> list[RecordEvent]:
    """The monthly work records of the demo span and their expected status (``not_yet_due``: due
    after the export, not in the register)."""
    return generate_staff_demo(contract, seed, months).record_events


def later_punch_file(d: dt.date) -> str:
    """The raw-punch file of a date after contract year 1 (one per half-year)."""
    return LATER_PUNCH_FILE.format(year=d.year, half="上" if d.month <= 6 else "下")


# -- writing ----------------------------------------------------------------------------------------------
def write_staff_demo(raw_dir: Path, contract: Contract, seed: int = 7, months: int | None = None) -> list[Path]:
    """Write the resident-staff exports of the demo span into raw_dir; return their paths (same seed
    and months, same bytes; ``months=12`` is the one-year demo). A raw-punch file of a half-year
    the span does not reach is not written."""
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    demo = generate_staff_demo(contract, seed, months)
    export_at = demo.export_at
    paths = []

    # 1. daily summaries, xlsx, title row above the header
    from openpyxl import Workbook

    if demo.summary:
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
        paths.append(_write(raw_dir / SUMMARY_FILE, fixed_zip(buf.getvalue(), export_at)))

    # 2. October again as raw punches (UTF-8 with BOM, ISO spelling)
    october = [p for p in demo.punches if f"{p[1]:%Y-%m}" == BOTH_MONTH]
    if october:
        paths.append(_write(raw_dir / BOTH_FILE, _punch_csv(october, lambda t: t.strftime("%Y-%m-%d %H:%M:%S"),
                                                            "utf-8-sig", "信息科考勤机")))
    # 3. January-June as raw punches (GBK, Excel style 2026/1/5 7:58:10)
    h1 = [p for p in demo.punches if SUMMARY_UNTIL <= p[1].date() < demo.year1_end]
    if h1:
        paths.append(_write(raw_dir / PUNCH_FILE, _punch_csv(
            h1, lambda t: f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}", "gbk",
            "信息科考勤机")))
    # 3b. after contract year 1: the office app's export, one file per half-year (UTF-8 with BOM, to the minute)
    later: dict[str, list] = {}
    for p in demo.punches:
        if p[1].date() >= demo.year1_end:
            later.setdefault(later_punch_file(p[1].date()), []).append(p)
    for name, rows in later.items():
        paths.append(_write(raw_dir / name, _punch_csv(rows, lambda t: t.strftime("%Y-%m-%d %H:%M"), "utf-8-sig",
                                                       LATER_DEVICE)))
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
    paths.append(_write(raw_dir / RECORD_FILE, fixed_zip(buf.getvalue(), export_at)))
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
