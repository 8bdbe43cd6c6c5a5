"""Resident engineers: attendance, leave, roster and monthly work records (issue 4).

Clauses ``resident_staffing``, ``leave_approval`` and ``monthly_record`` of contract-terms.md, measured
exactly as sla-rules.md "Resident staff" and "monthly_record" define them; every choice the rules
leave open is in docs/staffing.md.

:func:`recompute` (called after every ingest by :mod:`sla_lib.findings`) rebuilds four tables from the
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

The other functions read those tables for the monthly report (DataFrames with Chinese headers);
:mod:`sla_lib.charts` draws them.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from .calendar import WorkCalendar
from .contract import Contract, add_months
from .db import get_meta

__all__ = [
    "STATUS_LABELS", "STATUS_ORDER", "FLAGGED", "ON_SITE", "RECORD_LABELS", "recompute", "compute",
    "leave_checks", "person_days", "coverage", "monthly_records", "roster_changes", "has_attendance",
    "has_record_register", "attendance_through", "heatmap_frame", "month_totals", "TOTAL_ROWS", "coverage_table",
    "findings_list", "leave_table", "monthly_record_table", "rules_table", "summary_markdown",
    "NO_ATTENDANCE_TEXT", "record_markdown", "record_status_text", "month_days",
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
WEEKDAYS = "一二三四五六日"
NO_ATTENDANCE_TEXT = "数据库中没有驻场人员考勤数据（考勤日汇总或原始打卡记录），本节从略。"

SCHEMA = """
CREATE OR REPLACE TABLE staffing_days (
    work_date DATE NOT NULL,
    month VARCHAR NOT NULL,            -- YYYY-MM of work_date
    person VARCHAR NOT NULL,
    working_day BOOLEAN NOT NULL,      -- a working day of the hospital calendar
    on_roster BOOLEAN NOT NULL,        -- named in contract roster.staff on that date
    counted BOOLEAN NOT NULL,          -- working day and on the roster: counted in the month's figures
    status VARCHAR NOT NULL,           -- see sla_lib.staffing.STATUS_LABELS
    expected_start TIMESTAMP,          -- first start of the day's working hours (after leave covering it)
    expected_end TIMESTAMP,            -- last end of the day's working hours (before leave covering it)
    check_in TIMESTAMP,
    check_out TIMESTAMP,
    late_minutes INTEGER,              -- max(0, check-in - start - grace), whole minutes
    early_minutes INTEGER,             -- max(0, end - check-out - grace), whole minutes
    missing_punch VARCHAR,             -- check_in | check_out (the punch that is missing)
    punch_count INTEGER,               -- raw punches that day (NULL when only a daily summary exists)
    source VARCHAR,                    -- summary | punches (which attendance shape was used)
    machine_result VARCHAR,            -- 考勤结果 / 打卡结果 as exported (not used for the status)
    other_shape_differs BOOLEAN NOT NULL,  -- both shapes exist and their in/out differ (to the minute)
    leave_file VARCHAR,                -- the leave request used for the day
    leave_row INTEGER,
    leave_status VARCHAR,              -- approved | irregular
    note VARCHAR,                      -- in Chinese: what happened
    provisional BOOLEAN NOT NULL,      -- the day's calendar year is not covered (Monday-Friday assumed)
    source_file VARCHAR,
    source_row INTEGER
);
CREATE OR REPLACE TABLE staffing_coverage (
    work_date DATE NOT NULL,
    month VARCHAR NOT NULL,
    rostered INTEGER NOT NULL,         -- people on the roster that day
    required INTEGER NOT NULL,         -- roster.required_count
    present INTEGER NOT NULL,          -- of them, on site (present, late, left early or missing punch)
    on_leave INTEGER NOT NULL,         -- of them, on a whole day of leave (approved or not)
    covered BOOLEAN NOT NULL,          -- at least one resident present
    all_present BOOLEAN NOT NULL,      -- every rostered person present and rostered >= required
    provisional BOOLEAN NOT NULL
);
CREATE OR REPLACE TABLE leave_checks (
    person VARCHAR NOT NULL,
    start_at TIMESTAMP NOT NULL,
    end_at TIMESTAMP NOT NULL,
    leave_type VARCHAR,
    approved_at TIMESTAMP,
    approver VARCHAR,
    handover VARCHAR,
    approved_in_advance BOOLEAN NOT NULL,  -- approved_at < start_at
    handover_named BOOLEAN NOT NULL,       -- a hand-over person other than the applicant
    status VARCHAR NOT NULL,               -- approved | irregular | invalid (ends before it starts)
    issue VARCHAR,                         -- in Chinese: what is missing
    working_days INTEGER NOT NULL,         -- working days whose working hours the leave overlaps
    on_roster BOOLEAN NOT NULL,            -- the applicant is on the roster on the leave's first day
    source_file VARCHAR NOT NULL,
    source_row INTEGER NOT NULL
);
CREATE OR REPLACE TABLE monthly_records (
    period VARCHAR NOT NULL,           -- YYYY-MM: the month the record covers
    due_date DATE NOT NULL,            -- the Nth working day of the following month
    status VARCHAR NOT NULL,           -- on_time | late | missing | not_yet_due | no_date
    submitted_at TIMESTAMP,            -- the first submission
    late_working_days INTEGER,         -- late only: working days after the due date up to the submission (>= 1)
    submissions INTEGER NOT NULL,      -- rows of the register for the month
    title VARCHAR,
    provisional BOOLEAN NOT NULL,
    source_file VARCHAR,
    source_row INTEGER
);
"""
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


# -- recompute ------------------------------------------------------------------------------------------
def recompute(con, contract: Contract) -> None:
    """Rebuild staffing_days, staffing_coverage, leave_checks and monthly_records (inside the
    caller's transaction)."""
    con.execute(SCHEMA)
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
    as_of = _as_of(con)
    cal = _calendar(con, contract, as_of)
    leave = leave_checks(con, contract, cal)
    days = person_days(con, contract, cal, leave)
    return {"days": days, "coverage": coverage(days, contract), "leave": leave,
            "records": monthly_records(con, contract, cal, as_of)}


def _as_of(con) -> pd.Timestamp | None:
    """The instant the staffing data is complete to: the ``sla ingest --as-of`` override when set,
    else the newest of the tickets' as_of and every attendance, punch and submission timestamp."""
    override = get_meta(con, "as_of_override")
    if override:
        return pd.Timestamp(override)
    ts = [get_meta(con, "as_of") or None]
    ts += list(con.execute("""SELECT (SELECT max(greatest(check_in, check_out, CAST(work_date AS TIMESTAMP)))
                                      FROM attendance),
                                     (SELECT max(punched_at) FROM punches),
                                     (SELECT max(submitted_at) FROM deliverables)""").fetchall()[0])
    ts = [pd.Timestamp(t) for t in ts if t]
    return max(ts) if ts else None


def _calendar(con, contract: Contract, as_of: pd.Timestamp | None) -> WorkCalendar:
    lo, hi = con.execute("""SELECT min(d), max(d) FROM (
        SELECT work_date AS d FROM attendance UNION ALL SELECT CAST(punched_at AS DATE) FROM punches
        UNION ALL SELECT CAST(start_at AS DATE) FROM leave UNION ALL SELECT CAST(end_at AS DATE) FROM leave
        UNION ALL SELECT CAST(submitted_at AS DATE) FROM deliverables)""").fetchall()[0]
    years = [contract.signing_date.year] + [d.year for d in (lo, hi) if d is not None]
    if as_of is not None:
        years.append(as_of.year)
    return WorkCalendar(contract, min(years), max(years) + 1)


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
            parts.append(f"审批晚于请假开始（审批 {_fmt_ts(lv['approved_at'].iat[i])}，"
                         f"开始 {_fmt_ts(lv['start_at'].iat[i])}）")
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
            parts.append(f"上班打卡 {_hm(r.check_in)}，应到 {_hm(r.expected_start)}")
        if s in ("left_early", "late_left_early") or (s == "missing_punch" and _pos(r.early_minutes)):
            parts.append(f"下班打卡 {_hm(r.check_out)}，应离 {_hm(r.expected_end)}")
        if s == "missing_punch":
            parts.insert(0, f"缺下班打卡（上班 {_hm(r.check_in)}）" if r.missing_punch == "check_out"
                         else f"缺上班打卡（下班 {_hm(r.check_out)}）")
        if s in ("leave", "leave_irregular"):
            parts.append(_leave_text(r))
        if s == "absent":
            if isinstance(r.leave_status, str) and not r.leave_full:
                parts.append(f"无打卡；请假仅覆盖 {_hm(r.leave_start)}–{_hm(r.leave_end)}"
                             + (f"（请假手续不全：{_text(r.leave_issue)}）" if r.leave_status != "approved" else ""))
            else:
                parts.append("无打卡、无请假记录")
            if isinstance(r.machine_result, str) and r.machine_result:
                parts.append(f"考勤结果记为“{r.machine_result}”")
        if s == "not_on_roster":
            parts.append(f"不在合同文件驻场名单（roster.staff）中；打卡 {_hm(r.check_in)}–{_hm(r.check_out)}")
        if s == "non_working_day":
            parts.append(f"非工作日出勤 {_hm(r.check_in)}–{_hm(r.check_out)}，不计入考核"
                         + ("" if r.on_roster else "；不在驻场名单中"))
        if s in ON_SITE and isinstance(r.leave_status, str):
            parts.append(("请假" if r.leave_status == "approved" else "请假手续不全，不予抵扣：" + _text(r.leave_issue))
                         + f"（{_hm(r.leave_start)}–{_hm(r.leave_end)}）")
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
    head = (f"请假 {_fmt_ts(r.leave_start)} 至 {_fmt_ts(r.leave_end)}"
            + (f"（{r.leave_type}）" if isinstance(r.leave_type, str) else ""))
    if r.leave_status == "approved":
        return f"{head}，审批 {_fmt_ts(r.leave_approved_at)}，交接人 {r.leave_handover}"
    return f"{head}：{r.leave_issue}"


def _hm(t) -> str:
    if t is None or t is pd.NaT or (isinstance(t, float) and math.isnan(t)) or pd.isna(t):
        return "—"
    return pd.Timestamp(t).strftime("%H:%M")


def _fmt_ts(t) -> str:
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
def _table_exists(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [name]).fetchall()[0][0])


def has_attendance(con, month: str | None = None) -> bool:
    """True when the database holds attendance (in either shape); with ``month``, rows of that month."""
    if not _table_exists(con, "staffing_days"):
        return False
    if month is None:
        return bool(con.execute("SELECT count(*) FROM staffing_days").fetchall()[0][0])
    return bool(con.execute("SELECT count(*) FROM staffing_days WHERE month = ?", [month]).fetchall()[0][0])


def has_record_register(con) -> bool:
    """True when monthly_records has rows (a deliverables register was loaded)."""
    return _table_exists(con, "monthly_records") and bool(
        con.execute("SELECT count(*) FROM monthly_records").fetchall()[0][0])


def attendance_through(con) -> dt.date | None:
    """The last date the attendance exports list."""
    if not _table_exists(con, "staffing_days"):
        return None
    return con.execute("SELECT max(work_date) FROM staffing_days WHERE source IS NOT NULL").fetchall()[0][0]


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    y, m = (int(x) for x in month.split("-"))
    start = dt.date(y, m, 1)
    return start, add_months(start, 1) - dt.timedelta(days=1)


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
    cal = WorkCalendar(contract, start.year, start.year)
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
                         f"上班打卡 {_hm(r.check_in)}，应到 {_hm(r.expected_start)}", src))
        if not pd.isna(r.early_minutes) and r.early_minutes > 0:
            rows.append((r.work_date, r.person, "早退", int(r.early_minutes),
                         f"下班打卡 {_hm(r.check_out)}，应离 {_hm(r.expected_end)}", src))
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
        "姓名": lv["person"], "请假开始": [_fmt_ts(t) for t in lv["start_at"]],
        "请假结束": [_fmt_ts(t) for t in lv["end_at"]], "类型": lv["leave_type"],
        "审批时间": [_fmt_ts(t) if not pd.isna(t) else "—" for t in lv["approved_at"]], "审批人": lv["approver"],
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


def monthly_record_table(con, contract: Contract, month: str | None = None) -> pd.DataFrame:
    """monthly_records up to and including ``month`` (all when None), in Chinese."""
    if not _table_exists(con, "monthly_records"):
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
