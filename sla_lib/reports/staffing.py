"""The resident engineers' section of the monthly report (clauses resident_staffing,
leave_approval, monthly_record): DataFrames with Chinese headers and short texts, read from the
findings tables that :mod:`sla_lib.findings.staffing` rebuilds after every ingest. Rules and choices:
docs/staffing.md. :mod:`sla_lib.reports.charts` draws the heat map.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from sla_lib.findings.staffing import (
    FLAGGED,
    RECORD_LABELS,
    STATUS_LABELS,
    WEEKDAYS,
    hhmm_text,
    timestamp_text,
)
from sla_lib.rules import periods
from sla_lib.rules.calendar import calendar_for
from sla_lib.rules.contract import Contract
from sla_lib.store.db import per_state, table_exists

__all__ = [
    "roster_changes", "has_attendance", "has_record_register", "attendance_through", "heatmap_frame",
    "month_totals", "TOTAL_ROWS", "coverage_table", "findings_list", "leave_table", "monthly_record_table",
    "rules_table", "summary_markdown", "NO_ATTENDANCE_TEXT", "record_markdown", "record_status_text", "month_days",
    "STATUS_LABELS",
]

NO_ATTENDANCE_TEXT = "数据库中没有驻场人员考勤数据（考勤日汇总或原始打卡记录），本节从略。"


def roster_changes(contract: Contract) -> pd.DataFrame:
    """Changes of the named staff in the contract file (驻场人员需固定): someone joining after the
    signing date, someone whose entry ends. Columns: date, month, person, change."""
    rows = []
    for e in contract.roster_staff:
        if e.start > contract.signing_date:
            rows.append((e.start, e.name, f"自 {e.start} 起列入驻场名单（人员变更）"))
        if e.end is not None:
            rows.append((e.end, e.name, f"驻场至 {e.end} 止，此后不在名单中（人员变更）"))
    df = pd.DataFrame(rows, columns=["date", "person", "change"])
    df["month"] = [f"{d.year}-{d.month:02d}" for d in df["date"]]
    return df.sort_values(["date", "person"]).reset_index(drop=True)


# -- report helpers (read the findings tables) ----------------------------------------------------------------------
@per_state
def has_attendance(con, month: str | None = None) -> bool:
    """True when the database holds attendance (in either shape); with ``month``, rows of that month."""
    if not table_exists(con, "staffing_days"):
        return False
    if month is None:
        return bool(con.execute("SELECT count(*) FROM staffing_days").fetchall()[0][0])
    return bool(con.execute("SELECT count(*) FROM staffing_days WHERE month = ?", [month]).fetchall()[0][0])


@per_state
def has_record_register(con) -> bool:
    """True when monthly_records has rows (a deliverables register was loaded)."""
    return table_exists(con, "monthly_records") and bool(
        con.execute("SELECT count(*) FROM monthly_records").fetchall()[0][0])


@per_state
def attendance_through(con) -> dt.date | None:
    """The last date the attendance exports list."""
    if not table_exists(con, "staffing_days"):
        return None
    return con.execute("SELECT max(work_date) FROM staffing_days WHERE source IS NOT NULL").fetchall()[0][0]


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``month``."""
    p = periods.month(month)
    return p.start, p.end - dt.timedelta(days=1)


def _people(con, contract: Contract, month: str) -> list[str]:
    """Roster names of the month (contract order), then anyone else with a row, by name."""
    start, end = _month_bounds(month)
    names = [e.name for e in contract.roster_staff if e.start <= end and (e.end is None or e.end >= start)]
    others = [r[0] for r in con.execute("SELECT DISTINCT person FROM staffing_days WHERE month = ? ORDER BY 1",
                                        [month]).fetchall()]
    return list(dict.fromkeys(names + others))


def month_days(con, month: str) -> pd.DataFrame:
    """The raw staffing_days rows of the month."""
    return con.execute("SELECT * FROM staffing_days WHERE month = ? ORDER BY work_date, person", [month]).df()


def heatmap_frame(con, contract: Contract, month: str) -> pd.DataFrame:
    """Person x day of the month, long format, for :func:`sla_lib.charts.staffing_heatmap`.

    Columns: person, day (1..31), date, weekday (一..日), mark (班 on a make-up working day at the
    weekend, 休 on a holiday in the week), working_day, status (a STATUS_LABELS key,
    or ``rest`` for a day off without work, ``no_data`` for a day outside the attendance data or off
    the roster), label, text (minutes shown in the cell), hover."""
    start, end = _month_bounds(month)
    dates = pd.date_range(start, end)
    rows = month_days(con, month)
    cov = con.execute("SELECT work_date FROM staffing_coverage WHERE month = ?", [month]).df()
    evaluated = {pd.Timestamp(d) for d in cov["work_date"]}
    through = attendance_through(con)
    cal = calendar_for(contract, start)
    working = cal.is_working_day(dates.to_numpy(dtype="datetime64[D]"))
    by_key = {(r.person, pd.Timestamp(r.work_date)): r for r in rows.itertuples(index=False)}
    out = []
    for person in _people(con, contract, month):
        for d, w in zip(dates, working, strict=True):
            r = by_key.get((person, d))
            if r is not None:
                status = r.status
                minutes = [f"{int(v)}" for v in (r.late_minutes, r.early_minutes) if not pd.isna(v) and v > 0]
                text = "/".join(minutes)
                hover = f"{STATUS_LABELS[status]}" + (f"：{r.note}" if isinstance(r.note, str) and r.note else "")
            elif not w and (through is None or d.date() <= through):
                status, text, hover = "rest", "", "休息日 / 节假日"
            else:
                status, text = "no_data", ""
                hover = "不在驻场名单" if d in evaluated else "无考勤数据"
            mark = "班" if w and d.weekday() >= 5 else ("休" if not w and d.weekday() < 5 else "")
            out.append({"person": person, "day": d.day, "date": d.date(), "weekday": WEEKDAYS[d.weekday()], "mark": mark,
                        "working_day": bool(w), "status": status,
                        "label": STATUS_LABELS.get(status, {"rest": "休息", "no_data": "无数据"}.get(status)),
                        "text": text, "hover": hover})
    return pd.DataFrame(out, columns=["person", "day", "date", "weekday", "mark", "working_day", "status", "label",
                                      "text", "hover"])


TOTAL_ROWS = ["应出勤（工作日）", "在岗", "其中正常出勤", "迟到（次）", "迟到（分钟）", "早退（次）", "早退（分钟）", "缺卡",
              "请假（手续齐全）", "请假手续不全", "未请假缺勤", "非名单人员驻场（天）", "非工作日出勤（天，不计入）"]


def month_totals(con, contract: Contract, month: str) -> pd.DataFrame:
    """The month's totals: one row per item (TOTAL_ROWS), one column per person and 合计. Days are
    counted per person and working day; late and early-leave minutes are summed."""
    t = con.execute("""
        SELECT person,
            count(*) FILTER (WHERE counted) AS expected,
            count(*) FILTER (WHERE counted AND status IN ('present', 'late', 'left_early', 'late_left_early',
                                                          'missing_punch')) AS on_site,
            count(*) FILTER (WHERE counted AND status = 'present') AS present,
            count(*) FILTER (WHERE counted AND late_minutes > 0) AS late_n,
            coalesce(sum(late_minutes) FILTER (WHERE counted), 0) AS late_min,
            count(*) FILTER (WHERE counted AND early_minutes > 0) AS early_n,
            coalesce(sum(early_minutes) FILTER (WHERE counted), 0) AS early_min,
            count(*) FILTER (WHERE counted AND status = 'missing_punch') AS missing,
            count(*) FILTER (WHERE counted AND status = 'leave') AS leave_ok,
            count(*) FILTER (WHERE counted AND status = 'leave_irregular') AS leave_bad,
            count(*) FILTER (WHERE counted AND status = 'absent') AS absent,
            count(*) FILTER (WHERE status = 'not_on_roster') AS off_roster,
            count(*) FILTER (WHERE status = 'non_working_day') AS off_day
        FROM staffing_days WHERE month = ? GROUP BY person""", [month]).df().set_index("person")
    order = [p for p in _people(con, contract, month) if p in t.index]
    t = t.loc[order].astype("int64")
    t.columns = TOTAL_ROWS
    out = t.T
    out["合计"] = out.sum(axis=1) if len(order) else 0
    out = out.reset_index().rename(columns={"index": "项目"})
    out.columns.name = None
    return out


COVERAGE_TABLE_COLUMNS = ["已有考勤的工作日", "至少一人在岗", "全员在岗", "无人在岗", "名单人数不足的工作日"]


def coverage_table(con, month: str) -> pd.DataFrame:
    """Day coverage of the month: working days with attendance data, at least one / all residents
    present, none present, fewer people on the roster than required."""
    r = con.execute("""SELECT count(*), count(*) FILTER (WHERE covered), count(*) FILTER (WHERE all_present),
                              count(*) FILTER (WHERE NOT covered), count(*) FILTER (WHERE rostered < required)
                       FROM staffing_coverage WHERE month = ?""", [month]).fetchall()[0]
    return pd.DataFrame([[int(v) for v in r]], columns=COVERAGE_TABLE_COLUMNS)


FINDING_COLUMNS = ["日期", "星期", "姓名", "情况", "分钟", "说明", "来源"]


@per_state
def findings_list(con, contract: Contract, month: str) -> pd.DataFrame:
    """Every finding of the month, one row each, by date: late (minutes), left early (minutes), missing
    punch, leave with approval or hand-over missing, unapproved absence, someone not on the roster,
    a day with no resident present, a roster change. Approved leave and work on non-working days
    are not findings (they are in the heat map and the leave table)."""
    d = month_days(con, month)
    rows = []
    for r in d.itertuples(index=False):
        src = _source(r.source_file, r.source_row) or _source(r.leave_file, r.leave_row)
        if r.status not in FLAGGED:
            continue
        if not pd.isna(r.late_minutes) and r.late_minutes > 0:
            rows.append((r.work_date, r.person, "迟到", int(r.late_minutes),
                         f"上班打卡 {hhmm_text(r.check_in)}，应到 {hhmm_text(r.expected_start)}", src))
        if not pd.isna(r.early_minutes) and r.early_minutes > 0:
            rows.append((r.work_date, r.person, "早退", int(r.early_minutes),
                         f"下班打卡 {hhmm_text(r.check_out)}，应离 {hhmm_text(r.expected_end)}", src))
        if r.status in ("missing_punch", "leave_irregular", "absent", "not_on_roster"):
            note = r.note if isinstance(r.note, str) else ""
            if r.status == "missing_punch":
                note = note.split("；")[0]
            rows.append((r.work_date, r.person, STATUS_LABELS[r.status], None, note,
                         src if r.status != "leave_irregular" else _source(r.leave_file, r.leave_row)))
    cov = con.execute("""SELECT work_date, present, rostered FROM staffing_coverage
                         WHERE month = ? AND NOT covered""", [month]).fetchall()
    for day, _, rostered in cov:
        rows.append((day, "—", "无人在岗", None, f"名单上 {rostered} 人，均未在岗", ""))
    ch = roster_changes(contract)
    for r in ch[ch["month"] == month].itertuples(index=False):
        rows.append((r.date, r.person, "人员变更", None, r.change, "合同文件 roster.staff"))
    out = pd.DataFrame(rows, columns=["日期", "姓名", "情况", "分钟", "说明", "来源"])
    out["分钟"] = out["分钟"].astype("Int64")
    out.insert(1, "星期", [WEEKDAYS[pd.Timestamp(x).weekday()] for x in out["日期"]])
    out["日期"] = [_iso(x) for x in out["日期"]]
    return out.sort_values(["日期", "姓名"], kind="stable").reset_index(drop=True)[FINDING_COLUMNS]


LEAVE_TABLE_COLUMNS = ["姓名", "请假开始", "请假结束", "类型", "审批时间", "审批人", "交接人", "提前审批",
                       "已指定交接人", "结论", "本月涉及工作日", "来源"]


def leave_table(con, contract: Contract, month: str) -> pd.DataFrame:
    """Leave requests overlapping the month, with the approval and hand-over checks."""
    start, end = _month_bounds(month)
    lv = con.execute("""SELECT * FROM leave_checks WHERE start_at < ? AND end_at >= ?
                        ORDER BY start_at, person""",
                     [dt.datetime.combine(end + dt.timedelta(days=1), dt.time()),
                      dt.datetime.combine(start, dt.time())]).df()
    if lv.empty:
        return pd.DataFrame(columns=LEAVE_TABLE_COLUMNS)
    used = con.execute("""SELECT leave_file, leave_row, count(*) FROM staffing_days
                          WHERE month = ? AND counted AND leave_file IS NOT NULL GROUP BY 1, 2""",
                       [month]).fetchall()
    n = {(f, int(r)): c for f, r, c in used}
    verdict = {"approved": "手续齐全", "irregular": "手续不全", "invalid": "数据无效"}
    out = pd.DataFrame({
        "姓名": lv["person"], "请假开始": [timestamp_text(t) for t in lv["start_at"]],
        "请假结束": [timestamp_text(t) for t in lv["end_at"]], "类型": lv["leave_type"],
        "审批时间": [timestamp_text(t) if not pd.isna(t) else "—" for t in lv["approved_at"]], "审批人": lv["approver"],
        "交接人": lv["handover"], "提前审批": ["是" if v else "否" for v in lv["approved_in_advance"]],
        "已指定交接人": ["是" if v else "否" for v in lv["handover_named"]],
        "结论": [verdict[s] + (f"：{i}" if isinstance(i, str) and i else "") for s, i in zip(lv["status"], lv["issue"],
                                                                                       strict=True)],
        "本月涉及工作日": [n.get((f, int(r)), 0) for f, r in zip(lv["source_file"], lv["source_row"], strict=True)],
        "来源": [_source(f, r) for f, r in zip(lv["source_file"], lv["source_row"], strict=True)],
    })
    out["本月涉及工作日"] = out["本月涉及工作日"].astype("int64")
    return out[LEAVE_TABLE_COLUMNS]


RECORD_TABLE_COLUMNS = ["所属月份", "应交日期", "提交时间", "状态", "逾期（工作日）", "标题", "来源"]
# 应交日期 is the Nth working day of the following month (clauses.monthly_record.due_working_day)


def record_status_text(status: str, late_days) -> str:
    if status == "late":
        return f"逾期 {int(late_days)} 个工作日"
    return RECORD_LABELS[status]


@per_state
def monthly_record_table(con, contract: Contract, month: str | None = None) -> pd.DataFrame:
    """monthly_records up to and including ``month`` (all when None), in Chinese."""
    if not table_exists(con, "monthly_records"):
        return pd.DataFrame(columns=RECORD_TABLE_COLUMNS)
    where, params = ("WHERE period <= ?", [month]) if month else ("", [])
    r = con.execute(f"SELECT * FROM monthly_records {where} ORDER BY period", params).df()
    return pd.DataFrame({
        "所属月份": r["period"], "应交日期": [_iso(d) for d in r["due_date"]],
        "提交时间": pd.to_datetime(r["submitted_at"]),
        "状态": [record_status_text(s, v) for s, v in zip(r["status"], r["late_working_days"], strict=True)],
        "逾期（工作日）": r["late_working_days"].astype("Int64"), "标题": r["title"],
        "来源": [_source(f, x) for f, x in zip(r["source_file"], r["source_row"], strict=True)],
    }, columns=RECORD_TABLE_COLUMNS)


def _iso(d) -> str:
    """A date (DuckDB DATE read as a Timestamp, or a datetime.date) as YYYY-MM-DD."""
    return pd.Timestamp(d).strftime("%Y-%m-%d")


def _source(file, row) -> str:
    if file is None or (isinstance(file, float) and math.isnan(file)) or pd.isna(file):
        return ""
    return f"{file}:{int(row)}" if row is not None and not pd.isna(row) else str(file)


def summary_markdown(con, contract: Contract, month: str) -> str:
    """The section's opening lines: the clauses quoted, the month's coverage in one sentence."""
    cl = contract.clauses
    quotes = "；".join(f"{cl[c]['title']}（{cl[c]['section']}）“{cl[c]['text']}”" for c in
                      ("resident_staffing", "leave_approval") if cl[c].get("text"))
    lines = [f"合同要求：{quotes}。" if quotes else ""]
    if not has_attendance(con, month):
        through = attendance_through(con)
        lines.append(f"本月没有驻场考勤数据（已载入的考勤数据截至 {through or '—'}），不作评价。")
        return "\n\n".join(x for x in lines if x)
    c = coverage_table(con, month).iloc[0]
    names = "、".join(contract.roster_on(_month_bounds(month)[1]) or contract.roster_on(_month_bounds(month)[0]))
    n_find = len(findings_list(con, contract, month))
    lines.append(
        f"驻场名单：{names or '（合同文件未列出）'}（要求 {contract.required_staff} 人）。本月有考勤数据的工作日 "
        f"{c['已有考勤的工作日']} 天：至少一人在岗 {c['至少一人在岗']} 天，全员在岗 {c['全员在岗']} 天，"
        f"无人在岗 {c['无人在岗']} 天；考勤异常与人员问题共 **{n_find}** 项（见下方清单）。"
        f"考勤数据截至 {attendance_through(con)}。")
    return "\n\n".join(x for x in lines if x)


def rules_table(contract: Contract) -> pd.DataFrame:
    """The rules in force for this section (项目, 说明), like the report's 方法说明."""
    grace = contract.grace_minutes
    rec = contract.clauses["monthly_record"]
    seasons = "；".join(f"{s.label} {s.start_mmdd} 至 {s.end_mmdd}：{_hhmm(s.periods[0][0])}–{_hhmm(s.periods[-1][1])}"
                       for s in contract.seasons)
    rows = [
        ("评价范围", "合同文件驻场名单（roster.staff，含生效日期）上的每个人、每个医院工作日（含调休上班日，不含法定节假日）；"
                 "只评价有考勤数据的月份，截至考勤数据的最后一天。"),
        ("应在岗时段", f"当天工作时间的第一个开始至最后一个结束：{seasons}。手续齐全的半天请假相应推迟应到时刻或提前应离时刻。"),
        ("迟到 / 早退", f"迟到分钟 = max(0, 上班打卡 − 应到 − 宽限)，早退分钟 = max(0, 应离 − 下班打卡 − 宽限)；"
                    f"宽限 {grace} 分钟（roster.grace_minutes）。打卡时间精确到分钟（秒舍去），与日汇总一致。"),
        ("两种考勤格式", "同一人同一天既有考勤日汇总又有原始打卡时，以日汇总为准（不一致时加注）；只有原始打卡时，当天第一次打卡为上班、"
                    "最后一次为下班；只有一次打卡为缺卡：早于应在岗时段中点算上班打卡，否则算下班打卡。"),
        ("缺卡", "只有上班或只有下班打卡，单独列为缺卡，不视为缺勤。"),
        ("请假", "请假须在开始前获批（审批时间早于请假开始）并指定交接人（不能是本人），否则列为“请假手续不全”并写明缺少什么；"
               "手续不全的请假不抵扣迟到早退。"),
        ("未请假缺勤", "工作日无任何打卡，也没有覆盖全天的请假记录。"),
        ("在岗覆盖", "每个工作日至少一名驻场人员在岗（出勤、迟到、早退、缺卡均算在岗）；名单人员全部在岗且人数不少于要求时为全员在岗。"),
        ("人员固定", "不在名单上的人以驻场身份打卡、名单人员变更，均列为问题（驻场人员需固定）。"),
        ("非工作日出勤", "休息日和法定节假日的打卡只展示，不计入考核。"),
        ("月度工作记录", f"成果交付登记中类型为 {'、'.join(rec['deliverable_types'])} 的记录，按所属月份取最早提交；"
                    f"应于次月第 {rec['due_working_day']} 个工作日（含）前提交，逾期按应交日之后到提交日的工作日数计（至少 1 个）。"),
    ]
    return pd.DataFrame(rows, columns=["项目", "说明"])


def _hhmm(sec: int) -> str:
    return f"{sec // 3600:02d}:{sec % 3600 // 60:02d}"


def record_markdown(con, contract: Contract, month: str) -> str:
    """Heading and one sentence on the month's work record (the table follows)."""
    rec = contract.clauses["monthly_record"]
    quote = f"{rec['title']}（{rec['section']}）“{rec['text']}”" if rec.get("text") else rec["title"]
    lines = ["### 驻场月度工作记录", "",
             f"合同要求：{quote}；应于次月第 {rec['due_working_day']} 个工作日（含）前提交（成果交付登记中类型为 "
             f"{'、'.join(rec['deliverable_types'])} 的记录）。"]
    row = con.execute("SELECT due_date, status, submitted_at, late_working_days FROM monthly_records "
                      "WHERE period = ?", [month]).fetchall()
    if row:
        due, status, at, late = row[0]
        when = f"，{pd.Timestamp(at):%Y-%m-%d %H:%M} 提交" if at is not None and not pd.isna(at) else ""
        lines[-1] += f"本月记录（应交 {_iso(due)}）：**{record_status_text(status, late)}**{when}。"
    return "\n".join(lines)
