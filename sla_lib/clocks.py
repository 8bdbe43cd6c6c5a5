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
import pyarrow as pa
import pyarrow.compute as pc

from .calendar import WorkCalendar
from .contract import TICKET_CLAUSES, Contract

SLA_COLUMNS = ["ticket_id", "clause", "status", "start_at", "deadline_at", "stop_at", "elapsed_minutes",
               "working_minutes", "late_minutes", "provisional", "note", "month"]


def _col(cols, name: str) -> np.ndarray:
    """A timestamp column as datetime64[s] (NaT for missing), from pandas, numpy or pyarrow."""
    if not _has(cols, name):
        return np.full(_len(cols), np.datetime64("NaT"), dtype="datetime64[s]")
    v = cols[name]
    if isinstance(v, pa.ChunkedArray | pa.Array):
        v = v.to_numpy(zero_copy_only=False)
    elif isinstance(v, pd.Series):
        v = pd.to_datetime(v).to_numpy()
    return np.asarray(v).astype("datetime64[s]")


def _has(cols, name: str) -> bool:
    return name in (cols.column_names if isinstance(cols, pa.Table) else cols)


def _len(cols) -> int:
    if isinstance(cols, pd.DataFrame | pa.Table):
        return len(cols)
    return len(next(iter(cols.values())))


def _bool(cols, name: str) -> np.ndarray:
    if not _has(cols, name):
        return np.zeros(_len(cols), bool)
    v = cols[name]
    if isinstance(v, pa.ChunkedArray | pa.Array):
        return pc.fill_null(v, False).to_numpy(zero_copy_only=False).astype(bool)
    return pd.Series(v).fillna(False).to_numpy(dtype=bool)


def _codes(cols, name: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 = missing or blank) and the distinct values of a text column."""
    if not _has(cols, name):
        return np.full(_len(cols), -1), []
    v = cols[name]
    if isinstance(v, pa.Table):
        v = v.column(0)
    if isinstance(v, pa.ChunkedArray | pa.Array):
        v = pc.if_else(pc.equal(pc.utf8_trim_whitespace(v), ""), pa.scalar(None, v.type), v)
        enc = pc.dictionary_encode(v).combine_chunks() if isinstance(v, pa.ChunkedArray) else pc.dictionary_encode(v)
        return pc.fill_null(enc.indices, -1).to_numpy().astype(np.int64), enc.dictionary.to_pylist()
    ser = pd.Series(v, dtype=object)
    ser = ser.where(ser.astype("string").str.strip() != "")
    codes, uniq = pd.factorize(ser)
    return codes, [str(x) for x in uniq]


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


STATUSES = ["met", "breached", "pending", "not_applicable", "excluded", "invalid"]
MET, BREACHED, PENDING, NOT_APPLICABLE, EXCLUDED, INVALID = range(6)
NOTES = ["", "不适用", "改造需求类工单合同未约定时限", "无到场记录，自现场通知起算", "响应时间早于报修时间",
         "解决/方案时间早于受理时间", "到场时间早于现场通知时间", "排除故障时间早于起算时间"]
(N_NONE, N_NA, N_NO_CLOCK, N_FROM_NOTICE, N_RESP_BEFORE, N_STOP_BEFORE_ACCEPT, N_ARRIVE_BEFORE,
 N_FIX_BEFORE) = range(len(NOTES))
_NAT = np.datetime64("NaT", "s")


def compute_ticket_sla(df, contract: Contract, as_of: np.datetime64,
                       cal: WorkCalendar | None = None) -> pd.DataFrame:
    """All four ticket clocks for every ticket in ``df`` (the canonical ``tickets`` columns), as a
    pandas DataFrame with the columns of the ``ticket_sla`` table."""
    return compute_clocks(df, contract, as_of, cal).to_pandas()


def compute_clocks(df, contract: Contract, as_of: np.datetime64, cal: WorkCalendar | None = None) -> ClockTable:
    """The clocks of every ticket in ``df``: a DataFrame, a pyarrow Table or a dict of columns.

    Pure column arithmetic: statuses and notes are small integer codes; nothing loops per ticket.
    """
    n = _len(df)
    as_of = np.datetime64(as_of, "s")
    reported = _col(df, "reported_at")
    responded = _col(df, "responded_at")
    plan = _col(df, "plan_at")
    resolved = _col(df, "resolved_at")
    requested = _col(df, "onsite_requested_at")
    arrived = _col(df, "arrived_at")
    fixed = _col(df, "fixed_at")
    if cal is None:
        cal = WorkCalendar.covering(contract, reported, responded, resolved, plan, np.array([as_of]))

    onsite = _bool(df, "onsite") | ~np.isnat(arrived)
    cat_codes, cat_names = _codes(df, "category")
    no_clock_cat = np.array([c in contract.no_clock_categories for c in cat_names] + [False])
    no_clock = no_clock_cat[cat_codes]
    excl_codes, names = _codes(df, "exclusion")
    excluded = excl_codes >= 0
    extra = [x for x in names if x not in NOTES]
    remap = np.array([NOTES.index(x) if x in NOTES else len(NOTES) + extra.index(x) for x in names] + [N_NONE])
    excl_note = remap[excl_codes]  # code -1 (no exclusion) takes the last entry
    cl = contract.clauses
    out = ClockTable(df["ticket_id"], reported, len(TICKET_CLAUSES), NOTES + extra)
    v = out.values
    nat_i = np.iinfo(np.int64).min

    def clock(i, start, stop, deadline, applies, bad, bad_note, note=None, working=None, provisional=None):
        """Clause i: write status, note and times into rows [i*n, (i+1)*n) of the output."""
        sl = slice(i * n, (i + 1) * n)
        stop = np.where(stop > as_of, _NAT, stop)  # a stop later than as_of is not yet known
        has_stop = ~np.isnat(stop)
        end = np.where(has_stop, stop, as_of)
        status = out.status[sl]
        status[:] = np.where(has_stop, np.where(stop <= deadline, MET, BREACHED),
                             np.where(as_of > deadline, BREACHED, PENDING))
        status[bad] = INVALID
        status[excluded] = EXCLUDED
        status[~applies] = NOT_APPLICABLE
        timed = status <= PENDING
        code = out.note[sl]
        code[:] = -1
        if note is not None:
            np.copyto(code, note, where=timed & (note != N_NONE))
        np.copyto(code, bad_note, where=status == INVALID)
        np.copyto(code, excl_note, where=status == EXCLUDED)
        np.copyto(code, np.where(no_clock, N_NO_CLOCK, N_NA), where=status == NOT_APPLICABLE)
        i64 = {c: v[c][sl].view(np.int64) for c in ("start_at", "deadline_at", "stop_at")}
        i64["start_at"][:] = np.where(applies, start.view(np.int64), nat_i)
        i64["deadline_at"][:] = np.where(timed, deadline.view(np.int64), nat_i)
        i64["stop_at"][:] = np.where(applies, stop.view(np.int64), nat_i)
        np.divide((end - start).view(np.int64), 60.0, out=v["elapsed_minutes"][sl])
        v["elapsed_minutes"][sl][~timed] = np.nan
        if working is not None:
            np.divide(working, 60.0, out=v["working_minutes"][sl])
            v["working_minutes"][sl][~timed] = np.nan
        late = v["late_minutes"][sl]
        np.divide((end - deadline).view(np.int64), 60.0, out=late)
        late[status != BREACHED] = np.nan
        if provisional is not None:
            np.logical_and(provisional, timed, out=v["provisional"][sl])

    # response: wall clock 24x7
    limit = np.timedelta64(int(round(cl["response"]["limit_minutes"] * 60)), "s")
    resp_bad = responded < reported
    clock(0, reported, responded, reported + limit, ~no_clock, resp_bad, N_RESP_BEFORE)

    # resolution: working days of the hospital calendar, from acceptance
    res = cl["resolution"]
    accepted = np.where(np.isnat(responded), reported, responded)
    stop = np.fmin(resolved, plan)  # the earlier of the two; fmin ignores NaT
    s = cal.next_working_instant(accepted)
    if res["rule"] == "next_working_day":
        deadline = cal.same_time_nth_working_day(s, res["working_days"])
    elif res["rule"] == "end_of_next_working_day":
        deadline = cal.end_of_nth_working_day(s, res["working_days"])
    else:
        deadline = cal.add_working_seconds(s, res["working_days"] * res["hours_per_working_day"] * 3600)
    applies = ~no_clock & (~onsite if res["applies_to"] == "remote" else True)
    known = np.where(stop > as_of, _NAT, stop)
    working = cal.working_seconds_between(accepted, np.where(np.isnat(known), as_of, known))
    clock(1, accepted, stop, deadline, applies, resp_bad | (stop < accepted),
          np.where(resp_bad, N_RESP_BEFORE, N_STOP_BEFORE_ACCEPT), working=working,
          provisional=cal.is_provisional(s, deadline))

    # onsite_arrival: wall clock from the on-site notification
    notified = np.where(np.isnat(requested), reported, requested)
    limit = np.timedelta64(int(round(cl["onsite_arrival"]["limit_hours"] * 3600)), "s")
    applies = onsite & ~no_clock
    arrive_bad = arrived < notified
    clock(2, notified, arrived, notified + limit, applies, arrive_bad, N_ARRIVE_BEFORE)

    # onsite_fix: wall clock from arrival (or from the notification)
    fix_stop = np.where(np.isnat(fixed), resolved, fixed)
    by_arrival = cl["onsite_fix"]["anchor"] == "arrival"
    start = np.where(np.isnat(arrived) | (not by_arrival), notified, arrived)
    limit = np.timedelta64(int(round(cl["onsite_fix"]["limit_hours"] * 3600)), "s")
    note = np.where(np.isnat(arrived) & by_arrival, N_FROM_NOTICE, N_NONE)
    clock(3, start, fix_stop, start + limit, applies, (fix_stop < start) | arrive_bad,
          np.where(arrive_bad, N_ARRIVE_BEFORE, N_FIX_BEFORE), note=note)

    return out


class ClockTable:
    """Clock columns for k clauses x n tickets, clause-major, plus their category lists. The
    arrays are allocated once and filled clause by clause (no concatenation)."""

    def __init__(self, ids, reported: np.ndarray, k: int, notes: list[str]):
        n = len(reported)
        self.ids, self.n, self.k = ids, n, k
        # month of each ticket by binary search over month starts (cheaper than a calendar cast)
        ok = reported[~np.isnat(reported)]
        first = ok.min().astype("datetime64[M]") if len(ok) else np.datetime64("2000-01", "M")
        last = ok.max().astype("datetime64[M]") if len(ok) else first
        starts = np.arange(first, last + 2, dtype="datetime64[M]")
        self.month_names = [str(m) for m in starts[:-1]]
        codes = np.searchsorted(starts.astype("datetime64[s]"), reported, side="right").astype(np.int32) - 1
        self.month_codes = np.tile(np.where(np.isnat(reported), -1, codes), k)
        self.clause_codes = np.repeat(np.arange(k, dtype=np.int8), n)
        self.status = np.empty(n * k, dtype=np.int8)
        self.note = np.empty(n * k, dtype=np.int32)
        self.notes = notes
        self.values = {
            **{c: np.empty(n * k, dtype="datetime64[s]") for c in ("start_at", "deadline_at", "stop_at")},
            **{c: np.full(n * k, np.nan) for c in ("elapsed_minutes", "working_minutes", "late_minutes")},
            "provisional": np.zeros(n * k, dtype=bool),
        }

    def __len__(self) -> int:
        return self.n * self.k

    def to_pandas(self) -> pd.DataFrame:
        cat = pd.Categorical.from_codes
        ids = self.ids.to_numpy(zero_copy_only=False) if isinstance(self.ids, pa.ChunkedArray | pa.Array) \
            else np.asarray(self.ids, dtype=object)
        return pd.DataFrame({
            "ticket_id": np.tile(ids, self.k),
            "clause": cat(self.clause_codes, categories=list(TICKET_CLAUSES[:self.k])),
            "status": cat(self.status, categories=STATUSES),
            **self.values,
            "note": cat(self.note, categories=self.notes),
            "month": cat(self.month_codes, categories=self.month_names),
        })[SLA_COLUMNS]

    def to_arrow(self) -> pa.Table:
        """The same columns as a pyarrow Table, built without Python objects per row."""
        ids = self.ids if isinstance(self.ids, pa.ChunkedArray | pa.Array) else pa.array(np.asarray(self.ids, object))
        take = pa.array(np.tile(np.arange(self.n, dtype=np.int64), self.k))

        def dict_col(codes, names):
            idx = pa.array(codes, mask=codes < 0) if (codes < 0).any() else pa.array(codes)
            return pa.DictionaryArray.from_arrays(idx, pa.array(names, pa.string()))

        v = self.values
        cols = {
            "ticket_id": pc.take(ids, take),
            "clause": dict_col(self.clause_codes, list(TICKET_CLAUSES[:self.k])),
            "status": dict_col(self.status, STATUSES),
            **{c: pa.array(v[c], mask=np.isnat(v[c])) for c in ("start_at", "deadline_at", "stop_at")},
            **{c: pa.array(v[c], mask=np.isnan(v[c])) for c in ("elapsed_minutes", "working_minutes", "late_minutes")},
            "provisional": pa.array(v["provisional"]),
            "note": dict_col(self.note, self.notes),
            "month": dict_col(self.month_codes, self.month_names),
        }
        return pa.table(cols)
