"""Resident engineers: attendance, leave, roster and monthly work records (issue 4).

Clauses ``resident_staffing``, ``leave_approval`` and ``monthly_record`` of contract-terms.md, measured
exactly as sla-rules.md "Resident staff" and "monthly_record" define them; every choice the rules
leave open is in docs/staffing.md.

:func:`recompute` (called after every ingest by :mod:`sla_lib.findings.recompute`) rebuilds four tables from the
current rows of ``attendance``, ``punches``, ``leave`` and ``deliverables``:

- ``staffing_days``: one row per (hospital working day, person on the roster) of every month that has
  attendance data, plus every (day, person) with punches that is not such a row (someone not on the
  roster; work on a non-working day). Status, late / early-leave minutes, the leave used.
- ``staffing_coverage``: one row per evaluated working day: how many residents were on the roster,
  present, on leave; at least one present; all present.
- ``leave_checks``: one row per leave request: approved before it began, hand-over named.
- ``monthly_records``: one row per month from the signing month to the month of ``as_of``: due date
  (Nth working day of the following month), first submission, on time / late by N working days /
  missing / not yet due.

:mod:`sla_lib.reports.staffing` reads those tables for the monthly report; :mod:`sla_lib.reports.charts`
draws them.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from sla_lib.findings.as_of import data_as_of
from sla_lib.rules.calendar import WorkCalendar, calendar_for
from sla_lib.rules.contract import Contract, add_months

__all__ = [
    "STATUS_LABELS", "STATUS_ORDER", "FLAGGED", "ON_SITE", "RECORD_LABELS", "recompute", "compute",
    "leave_checks", "person_days", "coverage", "monthly_records", "hhmm_text", "timestamp_text",
]

# Status of one (day, person) row of staffing_days, in the order the report's legend shows them.
STATUS_LABELS: dict[str, str] = {
    "present": "正常出勤",
    "late": "迟到",
    "left_early": "早退",
    "late_left_early": "迟到且早退",
    "missing_punch": "缺卡",
    "leave": "请假（手续齐全）",
    "leave_irregular": "请假手续不全",
    "absent": "未请假缺勤",
    "not_on_roster": "非名单人员驻场",
    "non_working_day": "非工作日出勤（不计入）",
}
STATUS_ORDER = list(STATUS_LABELS)
# Statuses that are findings against the vendor (listed, counted). Approved leave and work on a
# non-working day are shown, never counted against.
FLAGGED = ("late", "left_early", "late_left_early", "missing_punch", "leave_irregular", "absent", "not_on_roster")
ON_SITE = ("present", "late", "left_early", "late_left_early", "missing_punch")
RECORD_LABELS = {"on_time": "按时", "late": "逾期", "missing": "未提交", "not_yet_due": "未到期",
                 "no_date": "已登记，无提交时间"}
WEEKDAYS = "一二三四五六日"  # 星期一 … 星期日

DAY_COLUMNS = ["work_date", "month", "person", "working_day", "on_roster", "counted", "status", "expected_start",
               "expected_end", "check_in", "check_out", "late_minutes", "early_minutes", "missing_punch",
               "punch_count", "source", "machine_result", "other_shape_differs", "leave_file", "leave_row",
               "leave_status", "note", "provisional", "source_file", "source_row"]
COVERAGE_COLUMNS = ["work_date", "month", "rostered", "required", "present", "on_leave", "covered", "all_present",
                    "provisional"]
LEAVE_COLUMNS = ["person", "start_at", "end_at", "leave_type", "approved_at", "approver", "handover",
                 "approved_in_advance", "handover_named", "status", "issue", "working_days", "on_roster",
                 "source_file", "source_row"]
RECORD_COLUMNS = ["period", "due_date", "status", "submitted_at", "late_working_days", "submissions", "title",
                  "provisional", "source_file", "source_row"]
_MIN = pd.Timedelta(minutes=1)
STAFFING_FINDINGS = ("staffing_days", "staffing_coverage", "leave_checks", "monthly_records")


# -- recompute ------------------------------------------------------------------------------------------
def recompute(con, contract: Contract) -> None:
    """Rebuild staffing_days, staffing_coverage, leave_checks and monthly_records (inside the
    caller's transaction; the tables are created by ``store.db.connect``)."""
    for table in STAFFING_FINDINGS:
        con.execute(f"DELETE FROM {table}")
    if not con.execute("SELECT count(*) FROM ingest_log WHERE kind IN ('attendance', 'punches', 'leave', "
                       "'deliverables')").fetchall()[0][0]:
        return  # no file of these kinds was ever loaded: every one of the four is empty (a register of tickets alone)
    result = compute(con, contract)
    for table, df, cols in (("staffing_days", result["days"], DAY_COLUMNS),
                            ("staffing_coverage", result["coverage"], COVERAGE_COLUMNS),
                            ("leave_checks", result["leave"], LEAVE_COLUMNS),
                            ("monthly_records", result["records"], RECORD_COLUMNS)):
        if len(df):
            con.register("sla_staff_df", df[cols])
            con.execute(f"INSERT INTO {table} SELECT * FROM sla_staff_df")
            con.unregister("sla_staff_df")


def compute(con, contract: Contract) -> dict[str, pd.DataFrame]:
    """The four findings frames, from the current canonical rows (nothing is written)."""
    as_of = data_as_of(con)
    cal = _calendar(con, contract, as_of)
    leave = leave_checks(con, contract, cal)
    days = person_days(con, contract, cal, leave)
    return {"days": days, "coverage": coverage(days, contract), "leave": leave,
            "records": monthly_records(con, contract, cal, as_of)}


def _calendar(con, contract: Contract, as_of: pd.Timestamp | None) -> WorkCalendar:
    lo, hi = con.execute("""SELECT min(d), max(d) FROM (
        SELECT work_date AS d FROM attendance UNION ALL SELECT CAST(punched_at AS DATE) FROM punches
        UNION ALL SELECT CAST(start_at AS DATE) FROM leave UNION ALL SELECT CAST(end_at AS DATE) FROM leave
        UNION ALL SELECT CAST(submitted_at AS DATE) FROM deliverables)""").fetchall()[0]
    return calendar_for(contract, lo, hi, as_of)


# -- working hours of any date -------------------------------------------------------------------------------
def _periods(contract: Contract, dates: pd.Series) -> np.ndarray:
    """Working periods of the season of each date: seconds of the day, shape (n, P, 2); a season
    with fewer periods than P repeats its last one (harmless for the first/last look-ups)."""
    p = max(len(s.periods) for s in contract.seasons)
    md = dates.dt.strftime("%m-%d").to_numpy() if len(dates) else np.array([], dtype=object)
    out = np.zeros((len(dates), p, 2), dtype=np.int64)
    for s in contract.seasons:
        a, b = s.start_mmdd, s.end_mmdd
        sel = ((md >= a) & (md <= b)) if a <= b else ((md >= a) | (md <= b))
        periods = list(s.periods) + [s.periods[-1]] * (p - len(s.periods))
        out[sel] = np.array(periods, dtype=np.int64)
    return out


def _at(dates: pd.Series, seconds: np.ndarray) -> pd.Series:
    return pd.Series(dates.to_numpy(dtype="datetime64[ns]") + seconds.astype("timedelta64[s]"), index=dates.index)


def _seconds_of_day(ts: pd.Series, dates: pd.Series) -> np.ndarray:
    return ((ts - dates).dt.total_seconds()).to_numpy()


# -- leave ---------------------------------------------------------------------------------------------------
def leave_checks(con, contract: Contract, cal: WorkCalendar) -> pd.DataFrame:
    """One row per current leave request: approval before the leave began and a hand-over named
    (sla-rules: otherwise it is listed with what is missing)."""
    lv = con.execute("""SELECT person, start_at, end_at, leave_type, approved_at, approver, handover,
                               source_file, source_row FROM leave ORDER BY start_at, person""").df()
    if lv.empty:
        return pd.DataFrame(columns=LEAVE_COLUMNS)
    for c in ("start_at", "end_at", "approved_at"):
        lv[c] = pd.to_datetime(lv[c])
    invalid = lv["end_at"] < lv["start_at"]
    advance = lv["approved_at"].notna() & (lv["approved_at"] < lv["start_at"])
    hand = lv["handover"].fillna("").str.strip()
    named = (hand != "") & (hand != lv["person"].str.strip())
    issues = []
    for i in range(len(lv)):
        parts = []
        if invalid.iat[i]:
            parts.append("请假结束早于请假开始，无法使用")
        elif pd.isna(lv["approved_at"].iat[i]):
            parts.append("无审批记录")
        elif not advance.iat[i]:
            parts.append(f"审批晚于请假开始（审批 {timestamp_text(lv['approved_at'].iat[i])}，"
                         f"开始 {timestamp_text(lv['start_at'].iat[i])}）")
        if not invalid.iat[i] and not named.iat[i]:
            parts.append("未指定交接人" if hand.iat[i] == "" else "交接人为本人")
        issues.append("；".join(parts) or None)
    lv["approved_in_advance"] = advance
    lv["handover_named"] = named
    lv["status"] = np.where(invalid, "invalid", np.where(advance & named, "approved", "irregular"))
    lv["issue"] = issues
    exp = _leave_days(lv[~invalid], contract, cal)
    n = exp[exp["working_day"] & exp["overlaps"]].groupby(level=0).size() if len(exp) else pd.Series(dtype=int)
    lv["working_days"] = n.reindex(lv.index).fillna(0).astype(int)
    first = lv["start_at"].dt.date
    lv["on_roster"] = [p in contract.roster_on(d) for p, d in zip(lv["person"], first, strict=True)]
    return lv[LEAVE_COLUMNS]


def _leave_days(lv: pd.DataFrame, contract: Contract, cal: WorkCalendar) -> pd.DataFrame:
    """Each leave request expanded to the calendar dates it touches (index = the leave's index), with
    the day's window and whether the leave overlaps it / covers all of it."""
    if lv.empty:
        return pd.DataFrame(columns=["work_date", "working_day", "overlaps", "full"])
    lo = pd.Timestamp(cal.days[0])
    hi = pd.Timestamp(cal.days[-1])
    start = lv["start_at"].dt.normalize().clip(lower=lo, upper=hi)
    end = lv["end_at"].dt.normalize().clip(lower=lo, upper=hi)
    n = ((end - start).dt.days + 1).clip(lower=0).to_numpy()
    idx = np.repeat(lv.index.to_numpy(), n)
    offset = np.concatenate([np.arange(k) for k in n]) if n.sum() else np.array([], dtype=np.int64)
    out = pd.DataFrame({"work_date": np.repeat(start.to_numpy(), n) + offset.astype("timedelta64[D]")}, index=idx)
    out["start_at"] = lv.loc[idx, "start_at"].to_numpy()
    out["end_at"] = lv.loc[idx, "end_at"].to_numpy()
    per = _periods(contract, out["work_date"])
    ws = _at(out["work_date"], per[:, 0, 0])
    we = _at(out["work_date"], per[:, -1, 1])
    out["working_day"] = cal.is_working_day(out["work_date"].to_numpy(dtype="datetime64[D]"))
    out["overlaps"] = (out["start_at"] < we) & (out["end_at"] > ws)
    out["full"] = (out["start_at"] <= ws) & (out["end_at"] >= we)
    return out


# -- attendance -------------------------------------------------------------------------------------------------
def _attendance(con) -> pd.DataFrame:
    """Both attendance shapes side by side, one row per (person, date) that either has."""
    summ = con.execute("""SELECT person, CAST(work_date AS TIMESTAMP) AS work_date, check_in AS s_in,
                                 check_out AS s_out, result AS s_result, note AS s_note,
                                 source_file AS s_file, source_row AS s_row
                          FROM attendance WHERE person IS NOT NULL AND work_date IS NOT NULL""").df()
    pun = con.execute("""SELECT person, CAST(CAST(punched_at AS DATE) AS TIMESTAMP) AS work_date,
                                min(punched_at) AS p_first, max(punched_at) AS p_last, count(*) AS punch_count,
                                arg_min(source_file, punched_at) AS p_file, arg_min(source_row, punched_at) AS p_row,
                                string_agg(DISTINCT result, '、' ORDER BY result) AS p_result
                         FROM punches WHERE person IS NOT NULL AND punched_at IS NOT NULL
                         GROUP BY 1, 2""").df()
    summ["has_summary"] = True
    pun["has_punches"] = True
    df = summ.merge(pun, on=["person", "work_date"], how="outer")
    for c in ("work_date", "s_in", "s_out", "p_first", "p_last"):
        df[c] = pd.to_datetime(df[c])
    df["has_summary"] = df["has_summary"].astype("boolean").fillna(False).astype(bool)
    df["has_punches"] = df["has_punches"].astype("boolean").fillna(False).astype(bool)
    df["person"] = df["person"].str.strip()
    return df


def person_days(con, contract: Contract, cal: WorkCalendar, leave: pd.DataFrame | None = None) -> pd.DataFrame:
    """staffing_days rows (see the module docstring and docs/staffing.md for every rule)."""
    att = _attendance(con)
    if att.empty:
        return pd.DataFrame(columns=DAY_COLUMNS)
    if leave is None:
        leave = leave_checks(con, contract, cal)
    signing = pd.Timestamp(contract.signing_date)
    through = att["work_date"].max()
    months = sorted(set(att["work_date"].dt.to_period("M")))
    # the evaluated dates: every date of a month with attendance data, from the signing date up to the
    # last date the attendance exports list
    dates = pd.DatetimeIndex(sorted({d for m in months for d in pd.date_range(m.start_time, m.end_time.normalize())
                                     if signing <= d <= through}))
    if dates.empty:
        return pd.DataFrame(columns=DAY_COLUMNS)
    working = pd.Series(cal.is_working_day(dates.to_numpy(dtype="datetime64[D]")), index=dates)
    grid = pd.DataFrame([(d, name) for d in dates[working.to_numpy()] for name in contract.roster_on(d.date())],
                        columns=["work_date", "person"])
    att = att[att["work_date"].isin(dates)]
    grid["work_date"] = grid["work_date"].astype("datetime64[ns]")
    att = att.assign(work_date=att["work_date"].astype("datetime64[ns]"))
    df = grid.merge(att, on=["person", "work_date"], how="outer")
    # the leave that applies to each (person, day): proper leave first, then whole-day, then earliest
    df = _attach_leave(df, leave, contract, cal)
    df = df.sort_values(["work_date", "person"]).reset_index(drop=True)
    df["has_summary"] = df["has_summary"].astype("boolean").fillna(False).astype(bool)
    df["has_punches"] = df["has_punches"].astype("boolean").fillna(False).astype(bool)
    d = df["work_date"]
    df["working_day"] = working.reindex(d).to_numpy()
    df["on_roster"] = np.zeros(len(df), dtype=bool)
    for e in contract.roster_staff:
        df["on_roster"] |= ((df["person"] == e.name) & (d >= pd.Timestamp(e.start))
                            & ((d <= pd.Timestamp(e.end)) if e.end else True)).to_numpy()
    df["counted"] = df["working_day"] & df["on_roster"]

    per = _periods(contract, d)
    ws_sec, we_sec = per[:, 0, 0], per[:, -1, 1]

    # which punches: the daily summary when it exists, else the raw punches (first = in, last = out;
    # a single punch is the check-in before the middle of the day's window, else the check-out)
    single = df["has_punches"] & (df["punch_count"] == 1)
    mid = _at(d, (ws_sec + we_sec) // 2)
    p_in = df["p_first"].where(~single | (df["p_first"] < mid))
    p_out = df["p_last"].where(~single | (df["p_last"] >= mid))
    use_summary = df["has_summary"]
    df["check_in"] = df["s_in"].where(use_summary, p_in)
    df["check_out"] = df["s_out"].where(use_summary, p_out)
    df["source"] = np.where(use_summary, "summary", np.where(df["has_punches"], "punches", None))
    df["machine_result"] = df["s_result"].where(use_summary, df["p_result"])
    both = df["has_summary"] & df["has_punches"]
    df["other_shape_differs"] = both & (_differs(df["s_in"], p_in) | _differs(df["s_out"], p_out))
    df["source_file"] = df["s_file"].where(use_summary, df["p_file"])
    df["source_row"] = df["s_row"].where(use_summary, df["p_row"])

    full = df["leave_full"].fillna(False).astype(bool)
    ok = df["leave_status"].eq("approved").fillna(False).astype(bool)
    partial = df["leave_status"].notna() & ~full
    # approved partial leave moves the expected start (leave covering the morning) or end (the afternoon)
    start_sec, end_sec = ws_sec.astype(float), we_sec.astype(float)
    ls = _seconds_of_day(df["leave_start"], d)
    le = _seconds_of_day(df["leave_end"], d)
    cover_start = (partial & ok).to_numpy() & (ls <= ws_sec) & (le > ws_sec)
    cover_end = (partial & ok).to_numpy() & (le >= we_sec) & (ls < we_sec)
    after = np.full(len(df), np.nan)
    before = np.full(len(df), np.nan)
    for k in range(per.shape[1] - 1, -1, -1):  # the first period ending after the leave ends
        p0, p1 = per[:, k, 0], per[:, k, 1]
        after = np.where(p1 > le, np.maximum(le, p0), after)
    for k in range(per.shape[1]):  # the last period starting before the leave starts
        p0, p1 = per[:, k, 0], per[:, k, 1]
        before = np.where(p0 < ls, np.minimum(ls, p1), before)
    start_sec = np.where(cover_start & ~np.isnan(after), after, start_sec)
    end_sec = np.where(cover_end & ~np.isnan(before), before, end_sec)
    exp_start = _at(d, start_sec.astype(np.int64))
    exp_end = _at(d, end_sec.astype(np.int64))
    df["expected_start"], df["expected_end"] = exp_start, exp_end

    # minutes: times to the minute (seconds dropped, as daily summaries show them)
    grace = contract.grace_minutes
    has_in, has_out = df["check_in"].notna(), df["check_out"].notna()
    late = ((df["check_in"].dt.floor("min") - exp_start) / _MIN - grace).clip(lower=0)
    early = ((exp_end - df["check_out"].dt.floor("min")) / _MIN - grace).clip(lower=0)
    counted = df["counted"].to_numpy()
    df["late_minutes"] = pd.array(np.where(counted & has_in, np.floor(late.fillna(0)), np.nan), dtype="Int64")
    df["early_minutes"] = pd.array(np.where(counted & has_out, np.floor(early.fillna(0)), np.nan), dtype="Int64")
    any_punch = (has_in | has_out).to_numpy()
    missing = has_in ^ has_out
    df["missing_punch"] = np.where(missing & has_in, "check_out", np.where(missing & has_out, "check_in", None))
    lt = df["late_minutes"].fillna(0).to_numpy() > 0
    er = df["early_minutes"].fillna(0).to_numpy() > 0
    wd, roster = df["working_day"].to_numpy(), df["on_roster"].to_numpy()
    status = np.select(
        [~wd & any_punch, ~wd, ~roster & any_punch, ~roster,
         any_punch & missing.to_numpy(), any_punch & lt & er, any_punch & lt, any_punch & er, any_punch,
         full.to_numpy() & ok.to_numpy(), full.to_numpy()],
        ["non_working_day", "", "not_on_roster", "",
         "missing_punch", "late_left_early", "late", "left_early", "present",
         "leave", "leave_irregular"],
        default="absent")
    df["status"] = status
    df = df[df["status"] != ""].copy()  # nothing to show: a day off, or a non-roster person without punches
    df["month"] = df["work_date"].dt.strftime("%Y-%m")
    df["provisional"] = cal.is_provisional(df["work_date"].to_numpy(dtype="datetime64[s]"))
    df["note"] = _notes(df)
    df["work_date"] = df["work_date"].dt.date
    df["punch_count"] = df["punch_count"].astype("Int64")
    df["source_row"] = df["source_row"].astype("Int64")
    df["leave_row"] = df["leave_row"].astype("Int64")
    return df[DAY_COLUMNS].reset_index(drop=True)


def _differs(a: pd.Series, b: pd.Series) -> pd.Series:
    """Different to the minute (a missing value differs from a present one)."""
    fa, fb = a.dt.floor("min"), b.dt.floor("min")
    return (fa.isna() != fb.isna()) | (fa.notna() & fb.notna() & (fa != fb))


def _attach_leave(df: pd.DataFrame, leave: pd.DataFrame, contract: Contract, cal: WorkCalendar) -> pd.DataFrame:
    cols = ["leave_file", "leave_row", "leave_status", "leave_start", "leave_end", "leave_full", "leave_type",
            "leave_issue", "leave_approved_at", "leave_handover"]
    usable = leave[leave["status"] != "invalid"] if len(leave) else leave
    exp = _leave_days(usable, contract, cal) if len(usable) else pd.DataFrame()
    if exp.empty or not exp["overlaps"].any():
        for c in cols:
            df[c] = pd.Series([None] * len(df), index=df.index, dtype=object)
        for c in ("leave_start", "leave_end", "leave_approved_at"):
            df[c] = pd.NaT
        return df
    exp = exp[exp["overlaps"]]
    lv = usable.loc[exp.index]
    m = pd.DataFrame({
        "person": lv["person"].str.strip().to_numpy(), "work_date": exp["work_date"].to_numpy(),
        "leave_file": lv["source_file"].to_numpy(), "leave_row": lv["source_row"].to_numpy(),
        "leave_status": lv["status"].to_numpy(), "leave_start": lv["start_at"].to_numpy(),
        "leave_end": lv["end_at"].to_numpy(), "leave_full": exp["full"].to_numpy(),
        "leave_type": lv["leave_type"].to_numpy(), "leave_issue": lv["issue"].to_numpy(),
        "leave_approved_at": lv["approved_at"].to_numpy(), "leave_handover": lv["handover"].to_numpy()})
    m["_ok"] = m["leave_status"] == "approved"
    m = m.sort_values(["_ok", "leave_full", "leave_start"], ascending=[False, False, True])
    m = m.drop_duplicates(["person", "work_date"]).drop(columns="_ok")
    return df.merge(m, on=["person", "work_date"], how="left")


def _notes(df: pd.DataFrame) -> list[str]:
    """A short Chinese explanation per row (a few hundred rows a year: a plain loop is fine)."""
    out = []
    for r in df.itertuples(index=False):
        s = r.status
        parts = []
        if s in ("late", "late_left_early") or (s == "missing_punch" and _pos(r.late_minutes)):
            parts.append(f"上班打卡 {hhmm_text(r.check_in)}，应到 {hhmm_text(r.expected_start)}")
        if s in ("left_early", "late_left_early") or (s == "missing_punch" and _pos(r.early_minutes)):
            parts.append(f"下班打卡 {hhmm_text(r.check_out)}，应离 {hhmm_text(r.expected_end)}")
        if s == "missing_punch":
            parts.insert(0, f"缺下班打卡（上班 {hhmm_text(r.check_in)}）" if r.missing_punch == "check_out"
                         else f"缺上班打卡（下班 {hhmm_text(r.check_out)}）")
        if s in ("leave", "leave_irregular"):
            parts.append(_leave_text(r))
        if s == "absent":
            if isinstance(r.leave_status, str) and not r.leave_full:
                parts.append(f"无打卡；请假仅覆盖 {hhmm_text(r.leave_start)}–{hhmm_text(r.leave_end)}"
                             + (f"（请假手续不全：{_text(r.leave_issue)}）" if r.leave_status != "approved" else ""))
            else:
                parts.append("无打卡、无请假记录")
            if isinstance(r.machine_result, str) and r.machine_result:
                parts.append(f"考勤结果记为“{r.machine_result}”")
        if s == "not_on_roster":
            parts.append(f"不在合同文件驻场名单（roster.staff）中；打卡 {hhmm_text(r.check_in)}–{hhmm_text(r.check_out)}")
        if s == "non_working_day":
            parts.append(f"非工作日出勤 {hhmm_text(r.check_in)}–{hhmm_text(r.check_out)}，不计入考核"
                         + ("" if r.on_roster else "；不在驻场名单中"))
        if s in ON_SITE and isinstance(r.leave_status, str):
            parts.append(("请假" if r.leave_status == "approved" else "请假手续不全，不予抵扣：" + _text(r.leave_issue))
                         + f"（{hhmm_text(r.leave_start)}–{hhmm_text(r.leave_end)}）")
        if r.other_shape_differs:
            parts.append("考勤日汇总与原始打卡记录不一致，以日汇总为准")
        out.append("；".join(p for p in parts if p) or None)
    return out


def _text(v) -> str:
    return v if isinstance(v, str) else ""


def _pos(v) -> bool:
    """A minutes value that is present and above 0."""
    return v is not None and not pd.isna(v) and v > 0


def _leave_text(r) -> str:
    head = (f"请假 {timestamp_text(r.leave_start)} 至 {timestamp_text(r.leave_end)}"
            + (f"（{r.leave_type}）" if isinstance(r.leave_type, str) else ""))
    if r.leave_status == "approved":
        return f"{head}，审批 {timestamp_text(r.leave_approved_at)}，交接人 {r.leave_handover}"
    return f"{head}：{r.leave_issue}"


def hhmm_text(t) -> str:
    if t is None or t is pd.NaT or (isinstance(t, float) and math.isnan(t)) or pd.isna(t):
        return "—"
    return pd.Timestamp(t).strftime("%H:%M")


def timestamp_text(t) -> str:
    if t is None or pd.isna(t):
        return "—"
    t = pd.Timestamp(t)
    if t.hour == 0 and t.minute == 0 and t.second == 0:
        return t.strftime("%Y-%m-%d")
    if t.hour == 23 and t.minute == 59 and t.second == 59:
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%d %H:%M")


# -- coverage --------------------------------------------------------------------------------------------------
def coverage(days: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """staffing_coverage: one row per evaluated working day (a day that has counted rows)."""
    c = days[days["counted"].astype(bool)] if len(days) else days
    if c.empty:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    g = c.assign(_present=c["status"].isin(ON_SITE), _leave=c["status"].isin(["leave", "leave_irregular"]))
    out = g.groupby("work_date").agg(month=("month", "first"), rostered=("person", "size"),
                                      present=("_present", "sum"), on_leave=("_leave", "sum"),
                                      provisional=("provisional", "any")).reset_index()
    out["required"] = contract.required_staff
    out["covered"] = out["present"] >= 1
    out["all_present"] = (out["present"] == out["rostered"]) & (out["rostered"] >= out["required"])
    return out[COVERAGE_COLUMNS]


# -- monthly work records ----------------------------------------------------------------------------------------
def monthly_records(con, contract: Contract, cal: WorkCalendar, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """monthly_records: one row per month from the signing month to the month of as_of, when a
    deliverables register has been loaded (without one, nothing can be said)."""
    loaded = con.execute("SELECT count(*) FROM ingest_log WHERE kind = 'deliverables'").fetchall()[0][0]
    if not loaded or as_of is None:
        return pd.DataFrame(columns=RECORD_COLUMNS)
    rec = contract.clauses["monthly_record"]
    n, types = int(rec["due_working_day"]), list(rec["deliverable_types"])
    dl = con.execute(f"""SELECT period, submitted_at, title, source_file, source_row FROM deliverables
                         WHERE trim(deliverable_type) IN ({", ".join("?" for _ in types)})
                         ORDER BY submitted_at NULLS LAST, source_file, source_row""", types).df()
    first = dt.date(contract.signing_date.year, contract.signing_date.month, 1)
    today = as_of.date()
    rows = []
    m = first
    while m <= today:
        nxt = add_months(m, 1)
        due = cal.nth_working_date_after(nxt - dt.timedelta(days=1), n)
        period = f"{m.year}-{m.month:02d}"
        sel = dl[dl["period"] == period]
        dated = sel[sel["submitted_at"].notna()]
        row = {"period": period, "due_date": due, "submissions": len(sel), "submitted_at": pd.NaT,
               "late_working_days": None, "title": None, "source_file": None, "source_row": None,
               "provisional": bool(cal.is_provisional(np.array([np.datetime64(due, "s")]))[0])}
        if len(dated):
            f = dated.iloc[0]
            day = pd.Timestamp(f["submitted_at"]).date()
            late = cal.working_days_late(due, day)
            row.update(status="on_time" if day <= due else "late", submitted_at=f["submitted_at"],
                       late_working_days=late or None, title=f["title"], source_file=f["source_file"],
                       source_row=int(f["source_row"]))
        elif len(sel):
            f = sel.iloc[0]
            row.update(status="no_date", title=f["title"], source_file=f["source_file"],
                       source_row=int(f["source_row"]))
        else:
            row["status"] = "missing" if today > due else "not_yet_due"
        rows.append(row)
        m = nxt
    out = pd.DataFrame(rows)
    out["submitted_at"] = pd.to_datetime(out["submitted_at"])
    out["late_working_days"] = out["late_working_days"].astype("Int64")
    out["source_row"] = out["source_row"].astype("Int64")
    return out[RECORD_COLUMNS]


# -- roster changes --------------------------------------------------------------------------------------------
