"""The hospital's working calendar, as data plus vectorised arithmetic (exchange_calendars style).

A date is a working day when it is Monday-Friday and not a statutory holiday, or it is a
statutory make-up working day (调休上班); dates come from the ``chinese_calendar`` package, or for
the years they cover from the notices named in ``calendar.files`` (holiday-cn JSON or a CSV, which win
over the package), and the contract's ``calendar.extra_working_days`` / ``extra_non_working_days``
win over both. A year covered by neither is not guessed silently: Monday-Friday is assumed and the
year is marked provisional. Working hours come from the contract's seasons; periods are half-open [start, end).

All arithmetic takes and returns whole numpy arrays of ``datetime64[s]`` (NaT allowed and
propagated): there is no Python loop per timestamp.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sla_lib.rules.contract import Contract

NAT = np.datetime64("NaT", "s")
_NAT_INT = np.iinfo(np.int64).min
MIN_YEAR, MAX_YEAR = 1990, 2100
LOOKUP_TABLE_YEARS = 12  # lookup tables for calendars up to this many years (~2 MB a year)


def package_years() -> dict[int, str]:
    """Years the chinese_calendar package covers -> source label."""
    try:
        import chinese_calendar as cc
    except ImportError:  # pragma: no cover - a dependency, but stay usable without it
        return {}
    years = {d.year for d in cc.holidays} | {d.year for d in cc.workdays}
    label = f"chinese_calendar {getattr(cc, '__version__', '')}".strip()
    return {y: label for y in years}


@dataclass
class YearSource:
    year: int
    source: str
    provisional: bool


class WorkCalendar:
    """Working days and hours for whole years [first_year, last_year]."""

    def __init__(self, contract: Contract, first_year: int, last_year: int):
        first_year = max(first_year, MIN_YEAR)
        last_year = min(max(last_year, first_year), MAX_YEAR)
        self.contract = contract
        self.first_year, self.last_year = first_year, last_year
        days = np.arange(np.datetime64(f"{first_year}-01-01"), np.datetime64(f"{last_year + 1}-01-01"),
                         dtype="datetime64[D]")
        self.days = days
        covered = package_years()
        try:
            import chinese_calendar as cc

            holidays = np.array(sorted(cc.holidays), dtype="datetime64[D]")
            makeup = np.array(sorted(cc.workdays), dtype="datetime64[D]")
        except ImportError:  # pragma: no cover
            holidays = makeup = np.array([], dtype="datetime64[D]")
        weekday = (days.astype(np.int64) - 4) % 7  # 1970-01-01 was a Thursday -> 0 = Monday
        working = weekday < 5
        years = days.astype("datetime64[Y]").astype(np.int64) + 1970
        in_pkg = np.isin(years, list(covered))
        working = np.where(in_pkg & np.isin(days, holidays), False, working)
        working = np.where(in_pkg & np.isin(days, makeup), True, working)
        # calendar.files: the notice as data wins over the package for the years it covers
        covered = dict(covered)
        for hf in contract.holiday_files:
            in_file = np.isin(years, sorted(hf.years))
            weekdays = weekday < 5
            working = np.where(in_file, weekdays, working)
            working = np.where(in_file & np.isin(days, np.array(sorted(hf.off), dtype="datetime64[D]")), False, working)
            working = np.where(in_file & np.isin(days, np.array(sorted(hf.work), dtype="datetime64[D]")), True, working)
            for y in hf.years:
                covered[y] = f"calendar.files: {hf.path.name}"
        if contract.extra_working_days:
            working |= np.isin(days, np.array(sorted(contract.extra_working_days), dtype="datetime64[D]"))
        if contract.extra_non_working_days:
            working &= ~np.isin(days, np.array(sorted(contract.extra_non_working_days), dtype="datetime64[D]"))
        self.is_working = working
        self.years = [
            YearSource(y, covered.get(y, "provisional: Monday-Friday assumed"), y not in covered)
            for y in range(first_year, last_year + 1)
        ]
        self.provisional_years = np.array([y.year for y in self.years if y.provisional], dtype=np.int64)

        # Working periods of every working day, as absolute seconds, sorted.
        wdays = days[working]
        md = _month_day(wdays)
        day_sec = wdays.astype("datetime64[s]").astype(np.int64)
        starts, ends, day_end = [], [], np.empty(len(wdays), dtype=np.int64)
        for s in contract.seasons:
            a, b = int(s.start_mmdd.replace("-", "")), int(s.end_mmdd.replace("-", ""))
            sel = ((md >= a) & (md <= b)) if a <= b else ((md >= a) | (md <= b))
            for p0, p1 in s.periods:
                starts.append(day_sec[sel] + p0)
                ends.append(day_sec[sel] + p1)
            day_end[sel] = day_sec[sel] + s.periods[-1][1]
        st = np.concatenate(starts)
        en = np.concatenate(ends)
        order = np.argsort(st, kind="stable")
        self.p_start = st[order]
        self.p_end = en[order]
        dur = self.p_end - self.p_start
        self.p_cum_before = np.concatenate([[0], np.cumsum(dur)[:-1]]) if len(dur) else dur
        self.p_cum_end = self.p_cum_before + dur
        self.working_dates = wdays
        self.working_day_end = day_end
        self._build_lookup_tables()

    def _build_lookup_tables(self) -> None:
        """Tables that replace binary searches over the periods by one array lookup per timestamp.

        Every period starts and ends on a whole minute (contract times are HH:MM), so "how many
        periods start (end) at or before t" is the same for every second of a minute. ``_starts_by_min``
        and ``_ends_by_min`` hold that count for each minute of the calendar, shifted by one: slot 0
        stands for any instant before the first day, slot m + 1 for minute m, and the last slot also
        answers for instants after the last day. ``_working_by_day`` is the same for working dates
        by day. A calendar longer than LOOKUP_TABLE_YEARS (2 bytes a minute per table) keeps the
        binary searches instead.
        """
        self._day0 = int(self.days[0].astype("datetime64[s]").astype(np.int64))
        self._working_date_sec = self.working_dates.astype("datetime64[s]").astype(np.int64)
        self._working_by_day = None
        minutes = len(self.days) * 1440
        aligned = not (np.any(self.p_start % 60) or np.any(self.p_end % 60))
        if not aligned or len(self.p_start) == 0 or self.last_year - self.first_year >= LOOKUP_TABLE_YEARS:
            return
        dtype = np.min_scalar_type(len(self.p_start))  # uint16 up to 65,535 periods

        def at_or_before(edges_sec: np.ndarray, n_slots: int, unit: int) -> np.ndarray:
            # a step function: i edges at or before from slot (i-th edge's minute or day) + 1 on
            first_slot = (edges_sec - self._day0) // unit + 1  # sorted, distinct
            runs = np.diff(np.concatenate([[0], first_slot, [n_slots + 1]]))
            return np.repeat(np.arange(len(edges_sec) + 1, dtype=dtype), runs)

        self._starts_by_min = at_or_before(self.p_start, minutes, 60)
        self._ends_by_min = at_or_before(self.p_end, minutes, 60)
        self._working_by_day = at_or_before(self._working_date_sec, len(self.days), 86400)
        # a zero-length period in front, so that "the last period started at or before t" is
        # index 0 (contributing nothing) for instants before the first period
        self._start0 = np.concatenate([self.p_start[:1], self.p_start])
        self._dur0 = np.concatenate([[0], self.p_end - self.p_start])
        self._cum0 = np.concatenate([[0], self.p_cum_before])

    def _minute_slot(self, v: np.ndarray) -> np.ndarray:
        """Slot of each instant (int64 seconds) in the per-minute tables; NaT lands on an edge slot."""
        slot = np.subtract(v, self._day0)  # NaT (int64 minimum) wraps around here: callers mask it
        slot //= 60
        slot += 1
        return np.clip(slot, 0, len(self._ends_by_min) - 1, out=slot)

    def _day_slot(self, days_since_epoch: np.ndarray) -> np.ndarray:
        slot = days_since_epoch - (self._day0 // 86400 - 1)
        return np.clip(slot, 0, len(self._working_by_day) - 1, out=slot)

    # -- day questions ------------------------------------------------------------------------------
    def is_working_day(self, dates) -> np.ndarray:
        d = np.asarray(dates, dtype="datetime64[D]")
        idx = (d - self.days[0]).astype(np.int64)
        self._check_range(idx, len(self.days))
        return self.is_working[idx]

    def working_days_between(self, start_dates, end_dates) -> np.ndarray:
        """Working days counted inclusively from start date to end date."""
        a = np.asarray(start_dates, dtype="datetime64[D]")
        b = np.asarray(end_dates, dtype="datetime64[D]")
        lo = np.searchsorted(self.working_dates, a, side="left")
        hi = np.searchsorted(self.working_dates, b, side="right")
        return np.maximum(hi - lo, 0)

    def is_provisional(self, *arrays: np.ndarray) -> np.ndarray:
        """True where any of the given timestamps falls in a provisional year."""
        out = None
        for a in arrays:
            v = np.asarray(a, dtype="datetime64[s]").view(np.int64)
            p = np.zeros(len(v), dtype=bool)
            for y in self.provisional_years.tolist():  # a handful of years at most, not per ticket
                lo = np.datetime64(f"{y}-01-01", "s").astype(np.int64)
                hi = np.datetime64(f"{y + 1}-01-01", "s").astype(np.int64)
                p |= (v >= lo) & (v < hi)
            out = p if out is None else (out | p)
        return out

    # -- instant arithmetic (whole columns) --------------------------------------------------------
    def _ints(self, t) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t, dtype="datetime64[s]")
        return t.view(np.int64), np.isnat(t)  # a view: callers never write into it

    @staticmethod
    def _out(v: np.ndarray, nat: np.ndarray) -> np.ndarray:
        """A freshly computed int64 array as datetime64[s], NaT where the input was NaT (in place)."""
        v[nat] = _NAT_INT
        return v.view("datetime64[s]")

    def _check_range(self, idx: np.ndarray, n: int) -> None:
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(
                f"timestamp outside the calendar built for {self.first_year}-{self.last_year}"
            )

    def _check_known(self, idx: np.ndarray, nat: np.ndarray, n: int) -> None:
        """_check_range over the entries whose timestamp is not NaT."""
        self._check_range(idx[~nat] if nat.any() else idx, n)

    def _periods_ended(self, v: np.ndarray) -> np.ndarray:
        """Number of periods ending at or before each instant: searchsorted(p_end, v, "right")."""
        if self._working_by_day is None:
            return np.searchsorted(self.p_end, v, side="right")
        return self._ends_by_min[self._minute_slot(v)]

    def _next_period(self, v: np.ndarray, nat: np.ndarray) -> np.ndarray:
        """Index of the first period ending after each instant (an error past the last one)."""
        idx = self._periods_ended(v)
        self._check_known(idx, nat, len(self.p_start))
        return np.minimum(idx, len(self.p_start) - 1)

    def next_working_instant(self, t) -> np.ndarray:
        """t itself when inside working hours, else the start of the next working period."""
        v, nat = self._ints(t)
        idx = self._next_period(v, nat)
        return self._out(np.maximum(v, self.p_start[idx]), nat)

    def next_working_instant_and_clock(self, t) -> tuple[np.ndarray, np.ndarray]:
        """next_working_instant(t) and working_seconds_until(t) in one pass: the working clock at t
        is the clock at the start of the period found plus the time already worked in it."""
        v, nat = self._ints(t)
        idx = self._next_period(v, nat)
        start = self.p_start[idx]
        s = np.maximum(v, start)
        w = (s - start + self.p_cum_before[idx]).astype(np.float64)
        w[nat] = np.nan
        return self._out(s, nat), w

    def working_seconds_until(self, t) -> np.ndarray:
        """Working seconds from the calendar's start up to t (a monotone clock)."""
        v, nat = self._ints(t)
        if self._working_by_day is None:
            idx = np.searchsorted(self.p_start, np.where(nat, 0, v), side="right") - 1
            safe = np.maximum(idx, 0)
            inside = np.clip(v - self.p_start[safe], 0, self.p_end[safe] - self.p_start[safe])
            w = np.where(idx < 0, 0, self.p_cum_before[safe] + inside)
        else:
            # c = periods started at or before t; index c of the *0 arrays is the last of them
            # (index 0 is a zero-length period in front of the first one)
            c = self._starts_by_min[self._minute_slot(v)]
            inside = np.subtract(v, self._start0[c])
            np.clip(inside, 0, self._dur0[c], out=inside)
            w = np.add(self._cum0[c], inside, out=inside)
        w = w.astype(np.float64)
        w[nat] = np.nan
        return w

    def working_seconds_between(self, a, b) -> np.ndarray:
        return self.working_seconds_until(b) - self.working_seconds_until(a)

    def add_working_seconds(self, s, seconds) -> np.ndarray:
        """The instant when ``seconds`` of working time have passed after s."""
        v, nat = self._ints(s)
        w = self.working_seconds_until(np.where(nat, _NAT_INT, v).astype("datetime64[s]"))
        target = np.where(nat, 0, w + np.asarray(seconds, dtype=np.float64)).astype(np.int64)
        j = np.searchsorted(self.p_cum_end, target, side="left")
        self._check_range(j[~nat], len(self.p_start))
        j = np.minimum(j, len(self.p_start) - 1)
        return self._out(self.p_start[j] + (target - self.p_cum_before[j]), nat)

    def _nth_working_day(self, days: np.ndarray, nat: np.ndarray, n: int) -> np.ndarray:
        """Index into working_dates of the n-th working day after each date (int64 days since 1970)."""
        last = len(self.working_dates) - 1
        if self._working_by_day is None or n < 1:
            if self._working_by_day is None:
                k = np.searchsorted(self.working_dates, days.astype("datetime64[D]"), side="right")
            else:
                k = self._working_by_day[self._day_slot(days)].astype(np.int64)
            k += n - 1
            self._check_known(k, nat, len(self.working_dates))
            return np.minimum(k, last, out=k)
        # k grows with the date, so only the latest known date can run past the calendar's end
        # (NaT, the int64 minimum, never is the maximum unless every entry is NaT)
        if len(days) and not nat.all():
            self._check_range(self._working_by_day[self._day_slot(np.array([days.max()]))] + (n - 1),
                              len(self.working_dates))
        by_slot = np.minimum(self._working_by_day.astype(np.int64) + (n - 1), last)
        return by_slot[self._day_slot(days)]

    def nth_working_day_after(self, t, n: int) -> np.ndarray:
        """Index into working_dates of the n-th working day after t's date."""
        v, nat = self._ints(t)
        return self._nth_working_day(v // 86400, nat, n)  # floor division: whole days since 1970

    def same_time_nth_working_day(self, s, n: int) -> np.ndarray:
        """Rule next_working_day: the same time of day as s on the n-th working day after s's date."""
        v, nat = self._ints(s)
        days, time_of_day = np.divmod(v, 86400)  # floor: whole days since 1970, seconds into the day
        k = self._nth_working_day(days, nat, n)
        return self._out(np.add(self._working_date_sec[k], time_of_day, out=time_of_day), nat)

    def end_of_nth_working_day(self, s, n: int) -> np.ndarray:
        """Rule end_of_next_working_day: end of working hours of the n-th working day after s's date."""
        v, nat = self._ints(s)
        k = self._nth_working_day(v // 86400, nat, n)
        return self._out(self.working_day_end[k], nat)

    # -- due dates (per period, not per ticket) ----------------------------------------------------
    def nth_working_date_after(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after ``day`` (a period's last day): a deliverable's due date."""
        k = np.searchsorted(self.working_dates, np.datetime64(day, "D"), side="right") + n - 1
        return self.working_dates[min(k, len(self.working_dates) - 1)].astype(dt.date)

    def working_days_late(self, due: dt.date, day: dt.date) -> int:
        """0 when ``day`` is on or before ``due``; else the working days after ``due`` up to ``day``,
        at least 1 (a submission on the weekend after a Friday due date is late by 1)."""
        if day <= due:
            return 0
        return max(1, int(self.working_days_between(np.array([due + dt.timedelta(days=1)], dtype="datetime64[D]"),
                                                    np.array([day], dtype="datetime64[D]"))[0]))

    # -- reporting -------------------------------------------------------------------------------------
    def hours_text(self) -> list[str]:
        out = []
        for s in self.contract.seasons:
            spans = "、".join(f"{_hm(a)}–{_hm(b)}" for a, b in s.periods)
            out.append(f"{s.label}（{s.start_mmdd} 至 {s.end_mmdd}）：{spans}")
        return out


def _month_day(days: np.ndarray) -> np.ndarray:
    """month * 100 + day for an array of datetime64[D]."""
    months = days.astype("datetime64[M]")
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return month * 100 + day


def _hm(sec: int) -> str:
    return f"{sec // 3600:02d}:{sec % 3600 // 60:02d}"


def to_datetime64(values) -> np.ndarray:
    """Convenience for tests and notebooks: strings/datetimes -> datetime64[s] array."""
    return np.array([np.datetime64(v, "s") if v is not None else NAT for v in values], dtype="datetime64[s]")


def as_date(d: np.datetime64) -> dt.date:
    return d.astype("datetime64[D]").astype(dt.date)


# -- the one way to build a calendar -----------------------------------------------------------------------
_BUILT: dict[tuple, WorkCalendar] = {}
_BUILT_MAX = 8


def calendar_for(contract: Contract, *dates) -> WorkCalendar:
    """The hospital calendar for a span: the signing year, every year of the dates given (dates,
    timestamps, arrays or columns of them; NaT and None are skipped) and the year after the latest
    (deadlines run ahead). A calendar is built once per process for the same contract calendar and
    years, and shared: it is read-only after construction."""
    years = [contract.signing_date.year]
    for d in dates:
        if d is None:
            continue
        a = np.asarray(d if np.ndim(d) else [d]).astype("datetime64[s]")
        a = a[~np.isnat(a)]
        if len(a):
            y = a.astype("datetime64[Y]").astype(np.int64) + 1970
            years += [int(y.min()), int(y.max())]
    first, last = min(years), max(years) + 1
    key = (repr(contract.seasons), tuple(sorted(contract.extra_working_days)),
           tuple(sorted(contract.extra_non_working_days)), tuple(hf.sha256 for hf in contract.holiday_files),
           first, last)
    cal = _BUILT.get(key)
    if cal is None:
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.pop(next(iter(_BUILT)))
        cal = _BUILT[key] = WorkCalendar(contract, first, last)
    return cal
