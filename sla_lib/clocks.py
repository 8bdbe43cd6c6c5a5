"""Ticket clocks (sla-rules.md): one row per ticket and clause with a status, over whole columns.

Order of decisions for each (ticket, clause):
1. ``not_applicable``: on-site clocks of a ticket that needed no on-site work; every clock of a
   category listed in ``no_clock_categories``; resolution of an on-site ticket when
   ``clauses.resolution.applies_to`` is ``remote``.
2. ``excluded``: the ticket carries an exclusion reason (排除原因).
3. ``invalid``: timestamps contradict each other (stop before start; response before report;
   arrival before notification).
4. ``met`` (stop <= deadline), ``breached`` (stop > deadline, or no stop and as_of > deadline),
   ``pending`` (no stop, deadline >= as_of). A stop later than as_of is not yet known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .calendar import WorkCalendar
from .contract import TICKET_CLAUSES, Contract

SLA_COLUMNS = ["ticket_id", "clause", "status", "start_at", "deadline_at", "stop_at", "elapsed_minutes",
               "working_minutes", "late_minutes", "provisional", "note", "month"]


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df:
        return np.full(len(df), np.datetime64("NaT"), dtype="datetime64[s]")
    return pd.to_datetime(df[name]).to_numpy(dtype="datetime64[s]")


def default_as_of(df: pd.DataFrame, timestamp_columns: list[str]) -> np.datetime64 | None:
    """The newest timestamp anywhere in the tickets: an export cannot be older than its newest entry."""
    best = None
    for c in timestamp_columns:
        if c in df and len(df):
            v = _col(df, c)
            v = v[~np.isnat(v)]
            if len(v):
                m = v.max()
                best = m if best is None or m > best else best
    return best


def compute_ticket_sla(df: pd.DataFrame, contract: Contract, as_of: np.datetime64,
                       cal: WorkCalendar | None = None) -> pd.DataFrame:
    """All four ticket clocks for every ticket in ``df`` (the canonical ``tickets`` columns)."""
    n = len(df)
    as_of = np.datetime64(as_of, "s")
    reported = _col(df, "reported_at")
    responded = _col(df, "responded_at")
    plan = _col(df, "plan_at")
    resolved = _col(df, "resolved_at")
    requested = _col(df, "onsite_requested_at")
    arrived = _col(df, "arrived_at")
    fixed = _col(df, "fixed_at")
    if cal is None:
        cal = WorkCalendar.covering(contract, reported, responded, resolved, plan, as_of)

    onsite_flag = df["onsite"].fillna(False).to_numpy(dtype=bool) if "onsite" in df else np.zeros(n, bool)
    onsite = onsite_flag | ~np.isnat(arrived)
    category = df["category"].fillna("").astype(str).to_numpy() if "category" in df else np.full(n, "")
    no_clock = np.isin(category, list(contract.no_clock_categories))
    exclusion = df["exclusion"].fillna("").astype(str).str.strip().to_numpy() if "exclusion" in df else np.full(n, "")
    excluded = exclusion != ""
    ids = df["ticket_id"].to_numpy()
    month = pd.Series(reported).dt.strftime("%Y-%m").to_numpy()
    cl = contract.clauses
    parts = []

    def known(stop: np.ndarray) -> np.ndarray:
        return np.where(stop > as_of, np.datetime64("NaT"), stop)

    def frame(clause, start, stop, deadline, applies, bad, bad_note, note=None, working=None, provisional=None):
        stop = known(stop)
        end = np.where(np.isnat(stop), as_of, stop)
        status = np.where(stop <= deadline, "met",
                          np.where(~np.isnat(stop), "breached",
                                   np.where(as_of > deadline, "breached", "pending")))
        status = np.where(bad, "invalid", status)
        status = np.where(excluded, "excluded", status)
        status = np.where(~applies, "not_applicable", status)
        timed = np.isin(status, ["met", "breached", "pending"])
        elapsed = (end - start).astype("timedelta64[s]").astype(np.float64) / 60.0
        late = (end - deadline).astype("timedelta64[s]").astype(np.float64) / 60.0
        notes = np.full(n, None, dtype=object)
        if note is not None:
            notes = np.where(timed & (note != ""), note, notes)
        notes = np.where(status == "invalid", bad_note, notes)
        notes = np.where(status == "excluded", exclusion, notes)
        na_note = np.where(no_clock, "改造需求类工单合同未约定时限", "不适用")
        notes = np.where(status == "not_applicable", na_note, notes)
        wm = None if working is None else np.where(timed, working / 60.0, np.nan)
        return pd.DataFrame({
            "ticket_id": ids, "clause": clause, "status": status,
            "start_at": np.where(applies, start, np.datetime64("NaT")),
            "deadline_at": np.where(timed, deadline, np.datetime64("NaT")),
            "stop_at": np.where(applies, stop, np.datetime64("NaT")),
            "elapsed_minutes": np.where(timed, elapsed, np.nan),
            "working_minutes": wm if wm is not None else np.full(n, np.nan),
            "late_minutes": np.where(status == "breached", late, np.nan),
            "provisional": (provisional & timed) if provisional is not None else np.zeros(n, bool),
            "note": notes, "month": month,
        })

    # response: wall clock 24x7
    limit = np.timedelta64(int(round(cl["response"]["limit_minutes"] * 60)), "s")
    bad = responded < reported
    parts.append(frame("response", reported, responded, reported + limit, ~no_clock, bad, "响应时间早于报修时间"))

    # resolution: working days of the hospital calendar
    res = cl["resolution"]
    accepted = np.where(np.isnat(responded), reported, responded)
    stop = np.fmin(resolved, plan)  # fmin ignores NaT
    s = cal.next_working_instant(accepted)
    if res["rule"] == "next_working_day":
        deadline = cal.same_time_nth_working_day(s, res["working_days"])
    elif res["rule"] == "end_of_next_working_day":
        deadline = cal.end_of_nth_working_day(s, res["working_days"])
    else:
        deadline = cal.add_working_seconds(s, res["working_days"] * res["hours_per_working_day"] * 3600)
    applies = ~no_clock & ((~onsite) if res["applies_to"] == "remote" else True)
    bad = (responded < reported) | (stop < accepted)
    stop_k = known(stop)
    working = cal.working_seconds_between(accepted, np.where(np.isnat(stop_k), as_of, stop_k))
    parts.append(frame("resolution", accepted, stop, deadline, applies, bad,
                       np.where(responded < reported, "响应时间早于报修时间", "解决/方案时间早于受理时间"),
                       working=working, provisional=cal.is_provisional(s, deadline)))

    # onsite_arrival: wall clock from the on-site notification
    notified = np.where(np.isnat(requested), reported, requested)
    limit = np.timedelta64(int(round(cl["onsite_arrival"]["limit_hours"] * 3600)), "s")
    applies = onsite & ~no_clock
    parts.append(frame("onsite_arrival", notified, arrived, notified + limit, applies, arrived < notified,
                       "到场时间早于现场通知时间"))

    # onsite_fix: wall clock from arrival (or notification)
    fix_stop = np.where(np.isnat(fixed), resolved, fixed)
    from_notice = np.isnat(arrived) | (cl["onsite_fix"]["anchor"] == "notification")
    start = np.where(from_notice, notified, arrived)
    limit = np.timedelta64(int(round(cl["onsite_fix"]["limit_hours"] * 3600)), "s")
    note = np.where(np.isnat(arrived) & (cl["onsite_fix"]["anchor"] == "arrival"), "无到场记录，自现场通知起算", "")
    parts.append(frame("onsite_fix", start, fix_stop, start + limit, applies,
                       (fix_stop < start) | (arrived < notified),
                       np.where(arrived < notified, "到场时间早于现场通知时间", "排除故障时间早于起算时间"), note=note))

    out = pd.concat(parts, ignore_index=True)
    assert set(out["clause"]) <= set(TICKET_CLAUSES)
    return out[SLA_COLUMNS]
