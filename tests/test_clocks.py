"""Ticket clocks and statuses exactly as sla-rules.md says, on real 2025-2026 dates."""

import numpy as np
import pandas as pd
import pytest

from sla_lib.rules.clocks import compute_ticket_sla

AS_OF = "2026-06-30 23:59:59"


def run(contract, as_of=AS_OF, **cols):
    """One or more tickets given column-wise; returns ticket_sla indexed by (ticket_id, clause)."""
    n = len(next(iter(cols.values())))
    df = pd.DataFrame({"ticket_id": [f"T{i}" for i in range(n)]})
    for c in ("reported_at", "responded_at", "plan_at", "resolved_at", "onsite_requested_at", "arrived_at",
              "fixed_at"):
        df[c] = pd.to_datetime(cols.get(c, [None] * n), format="ISO8601")
    df["onsite"] = cols.get("onsite", [False] * n)
    df["category"] = cols.get("category", ["故障"] * n)
    df["exclusion"] = cols.get("exclusion", [None] * n)
    out = compute_ticket_sla(df, contract, np.datetime64(as_of.replace(" ", "T")))
    return out.set_index(["ticket_id", "clause"])


def ts(v):
    return None if pd.isna(v) else str(pd.Timestamp(v))


# -- resolution: the worked examples (winter hours) ----------------------------------------------
@pytest.mark.parametrize("responded, deadline", [
    ("2025-11-04 10:05", "2025-11-05 10:05:00"),  # Tue 10:05 -> Wed 10:05
    ("2025-11-07 16:00", "2025-11-10 16:00:00"),  # Fri 16:00 -> Mon 16:00
    ("2026-04-03 16:00", "2026-04-07 16:00:00"),  # Fri before Qingming Monday -> Tue 16:00
    ("2025-11-07 18:30", "2025-11-11 08:00:00"),  # Fri 18:30 -> s Mon 08:00 -> Tue 08:00
    ("2026-02-28 10:00", "2026-03-02 10:00:00"),  # make-up Saturday -> next working day 10:00
    ("2025-10-11 10:00", "2025-10-13 10:00:00"),  # make-up Saturday after National Day
    ("2026-02-14 10:00", "2026-02-24 10:00:00"),  # make-up Saturday before Spring Festival
    ("2025-11-04 12:30", "2025-11-05 14:00:00"),  # lunch -> s 14:00 -> next working day 14:00
    ("2025-07-15 12:30", "2025-07-16 14:30:00"),  # summer lunch ends 14:30
    ("2025-09-30 16:00", "2025-10-09 16:00:00"),  # before National Day
    ("2025-11-04 12:00:00", "2025-11-05 14:00:00"),  # 12:00:00 is outside the morning period
])
def test_resolution_deadline_next_working_day(contract, responded, deadline):
    out = run(contract, reported_at=[responded], responded_at=[responded])
    assert ts(out.loc[("T0", "resolution"), "deadline_at"]) == deadline


def test_resolution_met_to_the_second_and_breached_one_second_later(contract):
    out = run(contract, reported_at=["2025-11-04 10:00"] * 2, responded_at=["2025-11-04 10:05"] * 2,
              resolved_at=["2025-11-05 10:05:00", "2025-11-05 10:05:01"])
    assert out.loc[("T0", "resolution"), "status"] == "met"
    assert out.loc[("T1", "resolution"), "status"] == "breached"
    assert out.loc[("T1", "resolution"), "late_minutes"] == pytest.approx(1 / 60)


def test_resolution_starts_at_report_when_no_response(contract):
    out = run(contract, reported_at=["2025-11-04 10:00"])
    r = out.loc[("T0", "resolution")]
    assert ts(r["start_at"]) == "2025-11-04 10:00:00" and ts(r["deadline_at"]) == "2025-11-05 10:00:00"


def test_a_workable_plan_stops_the_resolution_clock(contract):
    out = run(contract, reported_at=["2025-11-04 10:00"], responded_at=["2025-11-04 10:05"],
              plan_at=["2025-11-05 09:00"], resolved_at=["2025-11-12 16:00"])
    r = out.loc[("T0", "resolution")]
    assert r["status"] == "met" and ts(r["stop_at"]) == "2025-11-05 09:00:00"
    # working time 10:05-12:00, 14:00-17:30, next day 08:00-09:00 = 115 + 210 + 60 minutes
    assert r["working_minutes"] == pytest.approx(385)
    assert r["elapsed_minutes"] == pytest.approx(22 * 60 + 55)


def test_resolution_alternative_rules(make_contract):
    eod = make_contract(lambda raw: raw["clauses"]["resolution"].update(rule="end_of_next_working_day"))
    out = run(eod, reported_at=["2025-11-07 16:00"], responded_at=["2025-11-07 16:00"])
    assert ts(out.loc[("T0", "resolution"), "deadline_at"]) == "2025-11-10 17:30:00"
    wh = make_contract(lambda raw: raw["clauses"]["resolution"].update(rule="working_hours",
                                                                       hours_per_working_day=7.5))
    out = run(wh, reported_at=["2025-11-07 16:00"], responded_at=["2025-11-07 16:00"])
    # Fri 16:00-17:30 = 1.5 h, Mon 08:00-12:00 = 4 h, Mon 14:00-16:00 = 2 h
    assert ts(out.loc[("T0", "resolution"), "deadline_at"]) == "2025-11-10 16:00:00"
    two = make_contract(lambda raw: raw["clauses"]["resolution"].update(working_days=2))
    out = run(two, reported_at=["2025-09-29 10:00"], responded_at=["2025-09-29 10:00"])
    assert ts(out.loc[("T0", "resolution"), "deadline_at"]) == "2025-10-09 10:00:00"


def test_resolution_in_an_uncovered_year_is_provisional(contract):
    out = run(contract, as_of="2027-03-01 00:00:00", reported_at=["2027-01-04 10:00", "2026-11-03 10:00"])
    assert bool(out.loc[("T0", "resolution"), "provisional"]) is True
    assert bool(out.loc[("T1", "resolution"), "provisional"]) is False


# -- response: wall clock 24x7 -------------------------------------------------------------------
def test_response_twenty_minutes_wall_clock_on_a_holiday_night(contract):
    out = run(contract, reported_at=["2025-10-01 02:00"] * 3,
              responded_at=["2025-10-01 02:20:00", "2025-10-01 02:20:01", None])
    assert out.loc[("T0", "response"), "status"] == "met"
    assert out.loc[("T1", "response"), "status"] == "breached"
    assert out.loc[("T2", "response"), "status"] == "breached"  # no response, as_of long past
    assert out.loc[("T0", "response"), "elapsed_minutes"] == 20


def test_pending_until_as_of_passes_the_deadline(contract):
    out = run(contract, as_of="2025-11-04 10:15:00", reported_at=["2025-11-04 10:00"])
    assert out.loc[("T0", "response"), "status"] == "pending"
    out = run(contract, as_of="2025-11-04 10:20:00", reported_at=["2025-11-04 10:00"])
    assert out.loc[("T0", "response"), "status"] == "pending"  # deadline not yet passed at as_of
    out = run(contract, as_of="2025-11-04 10:20:01", reported_at=["2025-11-04 10:00"])
    assert out.loc[("T0", "response"), "status"] == "breached"


def test_a_stop_after_as_of_is_not_yet_known(contract):
    out = run(contract, as_of="2025-11-04 10:10:00", reported_at=["2025-11-04 10:00"],
              responded_at=["2025-11-04 10:30"])
    r = out.loc[("T0", "response")]
    assert r["status"] == "pending" and pd.isna(r["stop_at"])


# -- on-site clocks ------------------------------------------------------------------------------
def test_onsite_clocks(contract):
    out = run(contract, reported_at=["2025-12-06 09:00"] * 3, responded_at=["2025-12-06 09:05"] * 3,
              onsite=[True, True, False], onsite_requested_at=["2025-12-06 09:30", None, None],
              arrived_at=["2025-12-06 13:30", "2025-12-06 13:00:01", None],
              fixed_at=["2025-12-06 21:30", None, None], resolved_at=[None, "2025-12-07 06:00", "2025-12-06 10:00"])
    a = out.loc[("T0", "onsite_arrival")]
    assert a["status"] == "met" and ts(a["deadline_at"]) == "2025-12-06 13:30:00"
    f = out.loc[("T0", "onsite_fix")]
    assert f["status"] == "met" and ts(f["start_at"]) == "2025-12-06 13:30:00"
    assert out.loc[("T1", "onsite_arrival"), "status"] == "breached"  # from reported_at 09:00, 1 s late
    f1 = out.loc[("T1", "onsite_fix")]  # no fixed_at -> resolved_at
    assert f1["status"] == "breached" and ts(f1["stop_at"]) == "2025-12-07 06:00:00"
    assert out.loc[("T2", "onsite_arrival"), "status"] == "not_applicable"
    assert out.loc[("T2", "onsite_fix"), "status"] == "not_applicable"


def test_arrival_recorded_without_onsite_flag_makes_it_onsite(contract):
    out = run(contract, reported_at=["2025-12-08 09:00"], arrived_at=["2025-12-08 10:00"],
              fixed_at=["2025-12-08 11:00"])
    assert out.loc[("T0", "onsite_arrival"), "status"] == "met"


def test_onsite_without_arrival_measures_fix_from_notification(contract):
    out = run(contract, as_of="2025-12-08 16:00:00", reported_at=["2025-12-08 09:00"],
              onsite=[True], onsite_requested_at=["2025-12-08 09:10"])
    assert out.loc[("T0", "onsite_arrival"), "status"] == "breached"  # 13:10 passed
    f = out.loc[("T0", "onsite_fix")]
    assert f["status"] == "pending" and ts(f["start_at"]) == "2025-12-08 09:10:00"
    assert "现场通知" in f["note"]


def test_onsite_fix_anchor_notification(make_contract):
    c = make_contract(lambda raw: raw["clauses"]["onsite_fix"].update(anchor="notification"))
    out = run(c, reported_at=["2025-12-08 09:00"], onsite=[True], arrived_at=["2025-12-08 12:00"],
              fixed_at=["2025-12-08 17:30"])
    f = out.loc[("T0", "onsite_fix")]
    assert ts(f["deadline_at"]) == "2025-12-08 17:00:00" and f["status"] == "breached"


# -- excluded, invalid, not applicable -----------------------------------------------------------
def test_exclusion_invalid_and_no_clock_categories(contract):
    out = run(contract, reported_at=["2025-11-04 10:00"] * 4,
              responded_at=["2025-11-04 11:00", "2025-11-04 09:00", "2025-11-04 10:01", "2025-11-04 10:01"],
              resolved_at=[None, None, "2025-11-04 10:00", "2025-12-01 10:00"], onsite=[False, True, False, False],
              arrived_at=[None, "2025-11-04 08:00", None, None],
              category=["故障", "故障", "故障", "改造需求"], exclusion=["不可抗力", None, None, None])
    assert set(out.xs("T0", level=0)["status"]) == {"excluded", "not_applicable"}
    assert out.loc[("T0", "response"), "note"] == "不可抗力"
    assert out.loc[("T1", "response"), "status"] == "invalid"
    assert out.loc[("T1", "onsite_arrival"), "status"] == "invalid"
    assert out.loc[("T2", "resolution"), "status"] == "invalid"  # solved before it was accepted
    assert out.loc[("T2", "response"), "status"] == "met"
    assert set(out.xs("T3", level=0)["status"]) == {"not_applicable"}


def test_resolution_applies_to_remote_only_when_set(make_contract):
    c = make_contract(lambda raw: raw["clauses"]["resolution"].update(applies_to="remote"))
    out = run(c, reported_at=["2025-11-04 10:00"] * 2, onsite=[True, False], arrived_at=["2025-11-04 11:00", None])
    assert out.loc[("T0", "resolution"), "status"] == "not_applicable"
    assert out.loc[("T1", "resolution"), "status"] == "breached"


def test_every_pair_has_exactly_one_status(contract):
    out = run(contract, reported_at=["2025-11-04 10:00"] * 3, onsite=[True, False, True])
    assert len(out) == 12 and out.index.is_unique
    assert set(out["status"]) <= {"met", "breached", "pending", "not_applicable", "excluded", "invalid"}
