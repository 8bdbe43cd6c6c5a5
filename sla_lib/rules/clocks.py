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

from sla_lib.rules.calendar import WorkCalendar, calendar_for
from sla_lib.rules.contract import TICKET_CLAUSES, Contract

SLA_COLUMNS = ["ticket_id", "clause", "status", "start_at", "deadline_at", "stop_at", "elapsed_minutes",
               "working_minutes", "late_minutes", "provisional", "note", "month"]


def _col(cols, name: str) -> np.ndarray:
    """A timestamp column as datetime64[s] (NaT for missing), from pandas, numpy or pyarrow."""
    if not _has(cols, name):
        return _all_nat(_len(cols))
    v = cols[name]
    if isinstance(v, pa.ChunkedArray | pa.Array):
        if v.null_count == len(v):
            return _all_nat(len(v))
        v = v.to_numpy(zero_copy_only=False)
        if v.dtype == np.dtype("datetime64[us]"):  # DuckDB's TIMESTAMP
            return _us_to_s(v)
    elif isinstance(v, pd.Series):
        v = pd.to_datetime(v).to_numpy()
    return np.asarray(v).astype("datetime64[s]")


def _all_nat(n: int) -> np.ndarray:
    """A read-only column of n NaT that takes no memory (a broadcast view of one value)."""
    return np.broadcast_to(_NAT, (n,))


def _us_to_s(v: np.ndarray) -> np.ndarray:
    """datetime64[us] -> datetime64[s] as astype does it (floor), by an integer floor division by a
    constant, which numpy does far faster than the datetime cast; NaT is put back afterwards."""
    i = v.view(np.int64)
    nat = i == np.iinfo(np.int64).min
    s = np.floor_divide(i, 1_000_000, out=i if i.flags.writeable else None)  # in place when the array is ours
    s[nat] = np.iinfo(np.int64).min
    return s.view("datetime64[s]")


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
        if v.null_count == len(v):
            return np.full(len(v), -1), []
        # Encode first, then drop the few distinct values that are blank once trimmed: the same
        # codes and first-appearance order as blanking every row before encoding, at a fraction
        # of the cost (one trim per distinct value, not per row).
        enc = pc.dictionary_encode(v).combine_chunks() if isinstance(v, pa.ChunkedArray) else pc.dictionary_encode(v)
        keep = pc.not_equal(pc.utf8_trim_whitespace(enc.dictionary), "").to_numpy(zero_copy_only=False)
        remap = np.append(np.where(keep, np.cumsum(keep) - 1, -1), -1)  # index -1 (null) -> last entry
        codes = remap[pc.fill_null(enc.indices, -1).to_numpy()]
        return codes, [x for x, k in zip(enc.dictionary.to_pylist(), keep, strict=True) if k]
    ser = pd.Series(v, dtype=object)
    ser = ser.where(ser.astype("string").str.strip() != "")
    codes, uniq = pd.factorize(ser)
    return codes, [str(x) for x in uniq]


def _in_categories(cols, name: str, values) -> np.ndarray:
    """True where a text column holds one of ``values`` (a missing or blank cell holds none)."""
    if not values or not _has(cols, name):
        return np.zeros(_len(cols), dtype=bool)
    v = cols[name]
    if isinstance(v, pa.ChunkedArray | pa.Array):
        # one string comparison per listed value instead of encoding the whole column; a listed
        # value that is blank once trimmed can never match (blank cells count as missing)
        listed = pa.array(list(values), pa.string())
        listed = listed.filter(pc.not_equal(pc.utf8_trim_whitespace(listed), ""))
        hit = np.zeros(len(v), dtype=bool)
        for x in listed.to_pylist():
            hit |= pc.fill_null(pc.equal(v, x), False).to_numpy(zero_copy_only=False)
        return hit
    codes, names = _codes(cols, name)
    return np.array([c in values for c in names] + [False])[codes]


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
MET, BREACHED, PENDING, NOT_APPLICABLE, EXCLUDED, INVALID = range(6)  # _ClockWriter relies on 0, 1, 2
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
    as_of = np.datetime64(as_of, "s")
    reported = _col(df, "reported_at")
    responded = _col(df, "responded_at")
    plan = _col(df, "plan_at")
    resolved = _col(df, "resolved_at")
    requested = _col(df, "onsite_requested_at")
    arrived = _col(df, "arrived_at")
    fixed = _col(df, "fixed_at")
    if cal is None:
        cal = calendar_for(contract, reported, responded, resolved, plan, as_of)

    onsite = _bool(df, "onsite") | ~np.isnat(arrived)
    no_clock = _in_categories(df, "category", contract.no_clock_categories)
    excl_codes, names = _codes(df, "exclusion")
    excluded = excl_codes >= 0
    extra = [x for x in names if x not in NOTES]
    remap = np.array([NOTES.index(x) if x in NOTES else len(NOTES) + extra.index(x) for x in names] + [N_NONE],
                     dtype=np.int32)
    excl_note = remap[excl_codes]  # code -1 (no exclusion) takes the last entry
    cl = contract.clauses
    out = ClockTable(df["ticket_id"], reported, len(TICKET_CLAUSES), NOTES + extra)
    writer = _ClockWriter(out, as_of, excluded, excl_note, np.where(no_clock, N_NO_CLOCK, N_NA).astype(np.int32))
    clock = writer.clock

    # Each clause is computed only on the tickets it applies to (``rows``: every ticket, as a
    # slice, or the indices of a minority such as the on-site tickets); the others are written
    # as not_applicable in one go.
    # response: wall clock 24x7
    rows = _rows(~no_clock)
    rep, resp = reported[rows], responded[rows]
    limit = np.timedelta64(int(round(cl["response"]["limit_minutes"] * 60)), "s")
    resp_bad = resp < rep
    clock(0, rows, rep, resp, rep + limit, resp_bad, N_RESP_BEFORE)

    # resolution: working days of the hospital calendar, from acceptance
    res = cl["resolution"]
    if res["applies_to"] == "remote":
        rows = _rows(~no_clock & ~onsite)
        rep, resp = reported[rows], responded[rows]
        resp_bad = resp < rep
    accepted = np.where(np.isnat(resp), rep, resp)
    stop = np.fmin(resolved[rows], plan[rows])  # the earlier of the two; fmin ignores NaT
    s, worked_at_start = cal.next_working_instant_and_clock(accepted)  # working clock at acceptance
    if res["rule"] == "next_working_day":
        deadline = cal.same_time_nth_working_day(s, res["working_days"])
    elif res["rule"] == "end_of_next_working_day":
        deadline = cal.end_of_nth_working_day(s, res["working_days"])
    else:
        deadline = cal.add_working_seconds(s, res["working_days"] * res["hours_per_working_day"] * 3600)
    known = stop.copy()
    known[stop > as_of] = as_of  # a stop later than as_of is not yet known: the clock runs to as_of
    known[np.isnat(stop)] = as_of
    working = cal.working_seconds_until(known)
    working -= worked_at_start  # = cal.working_seconds_between(accepted, known)
    stop_bad = stop < accepted
    bad_note = np.full(len(accepted), N_STOP_BEFORE_ACCEPT, dtype=np.int32)
    bad_note[resp_bad] = N_RESP_BEFORE
    clock(1, rows, accepted, stop, deadline, resp_bad | stop_bad, bad_note, working=working,
          provisional=cal.is_provisional(s, deadline))

    # on-site clocks: wall clock from the on-site notification (arrival) and from the arrival or
    # the notification (fix)
    rows = _rows(onsite & ~no_clock)
    rep, requested, arrived = reported[rows], requested[rows], arrived[rows]
    notified = np.where(np.isnat(requested), rep, requested)
    limit = np.timedelta64(int(round(cl["onsite_arrival"]["limit_hours"] * 3600)), "s")
    arrive_bad = arrived < notified
    clock(2, rows, notified, arrived, notified + limit, arrive_bad, N_ARRIVE_BEFORE)

    fixed = fixed[rows]
    fix_stop = np.where(np.isnat(fixed), resolved[rows], fixed)
    by_arrival = cl["onsite_fix"]["anchor"] == "arrival"
    no_arrival = np.isnat(arrived)
    start = np.where(no_arrival | (not by_arrival), notified, arrived)
    limit = np.timedelta64(int(round(cl["onsite_fix"]["limit_hours"] * 3600)), "s")
    note = np.where(no_arrival & by_arrival, N_FROM_NOTICE, -1).astype(np.int32)
    clock(3, rows, start, fix_stop, start + limit, (fix_stop < start) | arrive_bad,
          np.where(arrive_bad, N_ARRIVE_BEFORE, N_FIX_BEFORE).astype(np.int32), note=note)

    return out


def _rows(mask: np.ndarray) -> slice | np.ndarray:
    """The tickets a clause applies to: all of them as a slice (views, no copies), else indices."""
    return slice(None) if mask.all() else np.flatnonzero(mask)


_NAN_UNLESS = np.array([np.nan, 1.0])  # x * _NAN_UNLESS[mask]: x where mask, NaN elsewhere (no branches)


class _ClockWriter:
    """Writes one clause's status, note and times into its rows [i*n, (i+1)*n) of a ClockTable.

    Memory first: on this kind of machine touching fresh memory costs more than the arithmetic,
    so columns are computed in place in the output when the clause applies to every ticket, and
    intermediate results share one scratch buffer instead of new arrays per step.
    """

    def __init__(self, out: ClockTable, as_of: np.datetime64, excluded, excl_note, na_note):
        self.out, self.as_of = out, as_of
        self.excluded, self.excl_note, self.na_note = excluded, excl_note, na_note
        self.scratch = np.empty(out.n, dtype=np.int64)
        self.end = np.empty(out.n, dtype="datetime64[s]")

    def clock(self, i, rows, start, stop, deadline, bad, bad_note, note=None, working=None, provisional=None):
        """Clause i for the tickets ``rows``; every array argument holds those tickets only.

        ``note`` (optional) is the note of a met / breached / pending clock, -1 for none. Order of
        decisions as in the module docstring: not_applicable (tickets outside ``rows``), excluded,
        invalid (``bad``), then met / breached / pending.
        """
        out, as_of, n = self.out, self.as_of, self.out.n
        sl = slice(i * n, (i + 1) * n)
        full = isinstance(rows, slice)
        if not full:  # a minority: everything else is not applicable
            self._not_applicable(sl)

        def col(a: np.ndarray) -> np.ndarray:
            """Where to compute a column: the output itself, or a buffer scattered by done()."""
            return a[sl] if full else np.empty(len(start), a.dtype)

        def done(a: np.ndarray, values: np.ndarray) -> None:
            if not full:
                a[sl][rows] = values

        v = out.values
        excluded = self.excluded[rows]
        untimed = bad | excluded  # not met / breached / pending
        scratch = self.scratch[:len(start)]

        # the stop: unknown (NaT) when later than as_of
        stop_at = col(v["stop_at"])
        np.copyto(stop_at, stop)
        stop_at[stop > as_of] = _NAT
        has_stop = ~np.isnat(stop_at)
        # where the clock stands: the stop, else as_of
        end = self.end[:len(start)]
        np.copyto(end, stop_at)
        end[~has_stop] = as_of
        # Late: past the deadline. Without a deadline (start unknown) the datetime comparisons of
        # the spec are False: a stopped clock is breached, a running one pending. The int64
        # comparison says late for a NaT deadline, so it is cleared for running clocks.
        late = end.view(np.int64) > deadline.view(np.int64)
        no_deadline = np.isnat(deadline)
        if no_deadline.any():
            late &= has_stop | ~no_deadline
        # met (0) / breached (1) / pending (2) as bytes: late, else 2 when still running
        status = col(out.status)
        running = ~has_stop
        running &= ~late
        np.add(running.view(np.int8), running.view(np.int8), out=status)
        status += late.view(np.int8)
        status[bad] = INVALID
        status[excluded] = EXCLUDED
        done(out.status, status)

        code = col(out.note)
        if note is None:
            code.fill(-1)
        else:
            np.copyto(code, note)
        np.copyto(code, bad_note, where=bad)
        code[excluded] = self.excl_note[rows][excluded]
        done(out.note, code)

        if full:
            np.copyto(v["start_at"][sl], start)
        else:
            v["start_at"][sl][rows] = start
        deadline_at = col(v["deadline_at"])
        np.copyto(deadline_at, deadline)
        deadline_at[untimed] = _NAT
        done(v["deadline_at"], deadline_at)
        done(v["stop_at"], stop_at)

        # minutes from datetime64 differences (NaT - x is NaT: int64 minimum / 60, as before)
        diff = scratch.view("timedelta64[s]")
        elapsed = col(v["elapsed_minutes"])
        np.divide(np.subtract(end, start, out=diff).view(np.int64), 60.0, out=elapsed)
        elapsed[untimed] = np.nan
        done(v["elapsed_minutes"], elapsed)
        late_min = col(v["late_minutes"])
        np.divide(np.subtract(end, deadline, out=diff).view(np.int64), 60.0, out=late_min)
        # NaN unless breached, as a multiplication by 1.0 or NaN: no branch on a random mask
        factor = np.take(_NAN_UNLESS, (status == BREACHED).view(np.int8), out=scratch.view(np.float64))
        late_min *= factor
        done(v["late_minutes"], late_min)
        working_min = col(v["working_minutes"])
        if working is None:
            working_min.fill(np.nan)
        else:
            np.divide(working, 60.0, out=working_min)
            working_min[untimed] = np.nan
        done(v["working_minutes"], working_min)
        prov = col(v["provisional"])
        if provisional is None:
            prov.fill(False)
        else:
            np.logical_and(provisional, ~untimed, out=prov)
        done(v["provisional"], prov)

    def _not_applicable(self, sl: slice) -> None:
        out, v = self.out, self.out.values
        out.status[sl] = NOT_APPLICABLE
        out.note[sl] = self.na_note
        for c in ("start_at", "deadline_at", "stop_at"):
            v[c][sl] = _NAT
        for c in ("elapsed_minutes", "working_minutes", "late_minutes"):
            v[c][sl] = np.nan
        v["provisional"][sl] = False


class ClockTable:
    """Clock columns for k clauses x n tickets, clause-major, plus their category lists. The
    arrays are allocated once and filled clause by clause (no concatenation)."""

    def __init__(self, ids, reported: np.ndarray, k: int, notes: list[str]):
        n = len(reported)
        self.ids, self.n, self.k = ids, n, k
        nat = np.isnat(reported)
        ok = reported[~nat] if nat.any() else reported
        first = ok.min().astype("datetime64[M]") if len(ok) else np.datetime64("2000-01", "M")
        last = ok.max().astype("datetime64[M]") if len(ok) else first
        starts = np.arange(first, last + 2, dtype="datetime64[M]")
        self.month_names = [str(m) for m in starts[:-1]]
        # month of each ticket: its day (a floor division) looked up in a table of the month of
        # every day from the first report to the last (cheaper than a calendar cast or a search)
        self.month_codes = np.empty(n * k, dtype=np.int32)
        codes = self.month_codes[:n]
        if len(ok):
            d0 = ok.min().astype("datetime64[D]")
            days = np.arange(d0, ok.max().astype("datetime64[D]") + 1, dtype="datetime64[D]")
            month_of_day = (np.searchsorted(starts.astype("datetime64[D]"), days, side="right") - 1).astype(np.int32)
            day = reported.view(np.int64) // 86400
            day -= d0.astype(np.int64)
            day[nat] = 0  # any valid slot; set to -1 below
            np.take(month_of_day, day, out=codes)
        codes[nat] = -1
        for i in range(1, k):
            self.month_codes[i * n:(i + 1) * n] = codes
        self.clause_codes = np.repeat(np.arange(k, dtype=np.int8), n)
        self.status = np.empty(n * k, dtype=np.int8)
        self.note = np.empty(n * k, dtype=np.int32)
        self.notes = notes
        self.values = {
            **{c: np.empty(n * k, dtype="datetime64[s]") for c in ("start_at", "deadline_at", "stop_at")},
            # filled row by row range by compute_clocks: no initial values needed
            **{c: np.empty(n * k) for c in ("elapsed_minutes", "working_minutes", "late_minutes")},
            "provisional": np.empty(n * k, dtype=bool),
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
