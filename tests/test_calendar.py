"""Working calendar: sla-rules.md worked examples on real 2025-2026 dates."""

import numpy as np
import pytest

from sla_lib.rules.calendar import WorkCalendar, to_datetime64


@pytest.fixture(scope="module")
def cal(contract):
    return WorkCalendar(contract, 2025, 2027)


def one(a):
    return str(a[0]).replace("T", " ")


@pytest.mark.parametrize("day, working", [
    ("2025-10-01", False),  # National Day
    ("2025-10-08", False),  # Mid-Autumn/National Day holiday
    ("2025-09-28", True),   # Sunday, make-up working day
    ("2025-10-11", True),   # Saturday, make-up working day
    ("2025-10-12", False),  # ordinary Sunday
    ("2026-01-04", True),   # Sunday, make-up working day after New Year
    ("2026-02-14", True),   # Saturday, make-up before Spring Festival
    ("2026-02-16", False),  # Spring Festival (a Monday)
    ("2026-02-28", True),   # Saturday, make-up after Spring Festival
    ("2026-04-06", False),  # Qingming, a Monday
    ("2026-05-09", True),   # Saturday, make-up after May Day
    ("2025-11-04", True),   # ordinary Tuesday
])
def test_working_days_follow_state_council_notices(cal, day, working):
    assert bool(cal.is_working_day(np.array([day], dtype="datetime64[D]"))[0]) is working


@pytest.mark.parametrize("t, expected", [
    ("2025-11-04 08:00:00", "2025-11-04 08:00:00"),  # start of a period is inside
    ("2025-11-04 07:59:59", "2025-11-04 08:00:00"),
    ("2025-11-04 12:00:00", "2025-11-04 14:00:00"),  # end of morning is outside (winter lunch)
    ("2025-11-04 12:30:00", "2025-11-04 14:00:00"),
    ("2025-07-15 12:30:00", "2025-07-15 14:30:00"),  # summer lunch ends 14:30
    ("2025-11-04 17:29:59", "2025-11-04 17:29:59"),
    ("2025-11-04 17:30:00", "2025-11-05 08:00:00"),  # end of day is outside
    ("2025-11-07 18:30:00", "2025-11-10 08:00:00"),  # Friday evening -> Monday
    ("2025-09-30 18:00:00", "2025-10-09 08:00:00"),  # before National Day -> 9 October
    ("2025-10-11 10:00:00", "2025-10-11 10:00:00"),  # make-up Saturday is a working day
])
def test_next_working_instant(cal, t, expected):
    assert one(cal.next_working_instant(to_datetime64([t]))) == expected


def test_nat_propagates(cal):
    out = cal.next_working_instant(to_datetime64([None, "2025-11-04 12:00"]))
    assert np.isnat(out[0]) and str(out[1]) == "2025-11-04T14:00:00"


def test_working_seconds_between_counts_only_working_hours(cal):
    a = to_datetime64(["2025-11-04 10:00", "2025-11-07 16:00", "2025-09-30 17:00"])
    b = to_datetime64(["2025-11-04 15:00", "2025-11-10 09:00", "2025-10-09 09:00"])
    hours = cal.working_seconds_between(a, b) / 3600
    # Tue 10-12 (2h) + 14-15 (1h); Fri 16-17:30 (1.5h) + Mon 8-9 (1h);
    # Tue 30 Sep 17:00-17:30 (summer, 0.5h) + Thu 9 Oct 8-9 (1h)
    assert hours.tolist() == [3.0, 2.5, 1.5]


def test_add_working_seconds_lands_on_period_end(cal):
    s = to_datetime64(["2025-11-04 08:00", "2025-11-04 14:00"])
    out = cal.add_working_seconds(s, np.array([7.5 * 3600, 7.5 * 3600]))
    assert [str(x) for x in out] == ["2025-11-04T17:30:00", "2025-11-05T12:00:00"]


def test_inclusive_working_day_count_across_national_day_and_makeup(cal):
    # 26 Sep (Fri) .. 13 Oct (Mon): 26, 28 (Sun make-up), 29, 30, 9, 10, 11 (Sat make-up), 13
    n = cal.working_days_between(np.array(["2025-09-26"], dtype="datetime64[D]"),
                                 np.array(["2025-10-13"], dtype="datetime64[D]"))
    assert n.tolist() == [8]


def test_unknown_year_is_provisional_monday_to_friday(cal):
    years = {y.year: y for y in cal.years}
    assert years[2027].provisional and not years[2026].provisional
    assert "provisional" in years[2027].source
    # 2027-01-01 is a Friday: not guessed as a holiday
    assert cal.is_working_day(np.array(["2027-01-01"], dtype="datetime64[D]"))[0]
    flags = cal.is_provisional(to_datetime64(["2026-12-31 10:00", "2027-01-04 10:00", None]))
    assert flags.tolist() == [False, True, False]


def test_hospital_overrides_win_over_the_package(make_contract):
    c = make_contract(lambda raw: raw["calendar"].update(
        extra_working_days=["2025-10-08"], extra_non_working_days=["2025-11-05"]))
    cal = WorkCalendar(c, 2025, 2026)
    days = np.array(["2025-10-08", "2025-11-05"], dtype="datetime64[D]")
    assert cal.is_working_day(days).tolist() == [True, False]


def test_vectorised_over_a_large_column(cal):
    t = np.datetime64("2025-07-01T00:00:00") + np.arange(0, 365 * 86400, 37, dtype=np.int64).astype("timedelta64[s]")
    s = cal.next_working_instant(t)
    assert len(s) == len(t) and (s >= t).all()
    assert cal.is_working_day(s.astype("datetime64[D]")).all()


def test_lookup_tables_agree_with_binary_search(contract):
    """The per-minute and per-day tables give what the binary searches over periods give, at period
    edges (second before, on, after), before and after the calendar, and for NaT."""
    fast = WorkCalendar(contract, 2025, 2026)
    slow = WorkCalendar(contract, 2025, 2026)
    slow._working_by_day = None  # as for a calendar too long for the tables
    assert fast._working_by_day is not None
    edges = np.concatenate([fast.p_start, fast.p_end])
    rng = np.random.default_rng(3)
    lo, hi = fast._day0 - 3 * 86400, int(fast.p_end[-1]) - 1
    v = np.concatenate([edges - 1, edges, edges + 1, rng.integers(lo, hi, 20_000), [lo, fast._day0 - 1]])
    t = v.astype("datetime64[s]")
    t[::97] = np.datetime64("NaT")
    after = np.array([fast.p_end[-1], fast._day0 + 800 * 86400], dtype="datetime64[s]")
    np.testing.assert_array_equal(fast.working_seconds_until(np.concatenate([t, after])),
                                  slow.working_seconds_until(np.concatenate([t, after])))
    before_end = t[~(t >= fast.p_end[-1].astype("datetime64[s]"))]
    np.testing.assert_array_equal(fast.next_working_instant(before_end), slow.next_working_instant(before_end))
    for c in (fast, slow):
        s, w = c.next_working_instant_and_clock(before_end)
        np.testing.assert_array_equal(s, slow.next_working_instant(before_end))
        np.testing.assert_array_equal(w, slow.working_seconds_until(before_end))
    for n in (1, 2, 5):
        for name in ("nth_working_day_after", "same_time_nth_working_day", "end_of_nth_working_day"):
            ok = ~(t >= fast.working_dates[-n].astype("datetime64[s]"))  # NaT kept
            np.testing.assert_array_equal(getattr(fast, name)(t[ok], n), getattr(slow, name)(t[ok], n))
    early = t[~(t >= fast.working_dates[-3].astype("datetime64[s]"))]
    np.testing.assert_array_equal(fast.add_working_seconds(early, 3600 * 7.5), slow.add_working_seconds(early, 3600 * 7.5))
    for c in (fast, slow):  # past the last period: the same error either way
        with pytest.raises(ValueError, match="outside the calendar"):
            c.next_working_instant(np.array([fast.p_end[-1]], dtype="datetime64[s]"))
        with pytest.raises(ValueError, match="outside the calendar"):
            c.same_time_nth_working_day(fast.working_dates[-1:].astype("datetime64[s]"), 1)


# -- calendar.files: the State Council's notice as data (issue 12) ----------------------------------------------
HOLIDAY_CN = __import__("pathlib").Path(__file__).parent / "data" / "holiday-cn"


def _with_files(make_contract, tmp_path, *files):
    import shutil

    (tmp_path / "calendars").mkdir(exist_ok=True)
    names = []
    for f in files:
        shutil.copy(f, tmp_path / "calendars" / f.name)
        names.append(f"calendars/{f.name}")
    return make_contract(lambda raw: raw["calendar"].__setitem__("files", names))


def test_holiday_cn_2026_gives_exactly_the_packages_working_days(make_contract, tmp_path, contract):
    from sla_lib.rules.calendar import WorkCalendar

    with_file = _with_files(make_contract, tmp_path, HOLIDAY_CN / "2026.json")
    a, b = WorkCalendar(contract, 2026, 2026), WorkCalendar(with_file, 2026, 2026)
    days = np.arange(np.datetime64("2026-01-01"), np.datetime64("2027-01-01"))
    assert (a.is_working_day(days) == b.is_working_day(days)).all()
    # 261 weekdays - 19 holidays on weekdays (元旦 2, 春节 6, 清明 1, 劳动节 3, 端午 1, 中秋 1, 国庆 5) + 6 make-up days
    assert int(b.is_working_day(days).sum()) == 248
    (year,) = b.years
    assert (year.year, year.source, year.provisional) == (2026, "calendar.files: 2026.json", False)
    assert with_file.sha256 != contract.sha256  # the notice is part of what the findings were computed with


def test_a_2027_notice_as_csv_makes_2027_deadlines_exact(make_contract, tmp_path):
    from sla_lib.rules.calendar import WorkCalendar

    # a notice in the CSV form (the 2027 notice is not out yet; these dates follow the usual pattern)
    notice = tmp_path / "2027.csv"
    notice.write_text("日期,类型\n2027-01-01,放假\n" + "".join(f"2027-10-0{d},放假\n" for d in range(1, 8))
                      + "2027-09-26,上班\n2027-10-09,上班\n", encoding="utf-8")
    before = make_contract(lambda raw: None)
    after = _with_files(make_contract, tmp_path, notice)
    provisional, exact = WorkCalendar(before, 2027, 2027), WorkCalendar(after, 2027, 2027)
    assert provisional.years[0].provisional and not exact.years[0].provisional
    # a fault reported on Thursday 2027-09-30 at 16:00: one working day later
    t = to_datetime64(["2027-09-30 16:00:00"])
    assert one(provisional.same_time_nth_working_day(t, 1)) == "2027-10-01 16:00:00"  # Mon-Fri assumed
    assert one(exact.same_time_nth_working_day(t, 1)) == "2027-10-08 16:00:00"  # after the National Day week
    assert bool(exact.is_working_day(np.array(["2027-09-26", "2027-10-09"], dtype="datetime64[D]")).all())
    assert not exact.is_provisional(t).any() and provisional.is_provisional(t).all()


def test_calendar_files_errors_name_the_key_and_the_file(make_contract, tmp_path):
    from sla_lib.errors import ContractError

    with pytest.raises(ContractError, match=r"calendar.files\[0\].*lists no day: the notice is not out yet"):
        _with_files(make_contract, tmp_path, HOLIDAY_CN / "2027.json")
    with pytest.raises(ContractError, match=r"calendar.files\[0\].*readable file"):
        make_contract(lambda raw: raw["calendar"].__setitem__("files", ["calendars/missing.json"]))
    bad = tmp_path / "bad.csv"
    bad.write_text("日期,类型\n2027-10-01,半天\n", encoding="utf-8")
    with pytest.raises(ContractError, match=r"放假 or 上班 \(bad.csv line 2\)"):
        make_contract(lambda raw: raw["calendar"].__setitem__("files", [str(bad)]))
    with pytest.raises(ContractError, match=r"key 'calendar.file': expected only the keys"):
        make_contract(lambda raw: raw["calendar"].__setitem__("file", ["x.json"]))
