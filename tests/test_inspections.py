"""Quarterly inspections and advice reports from hand-made sheets on real 2025-2026 dates."""

from __future__ import annotations

import datetime as dt

import pytest

from sla_lib.findings import inspections as insp
from sla_lib.rules import periods
from sla_lib.store import db as sdb

D = dt.date


def build(tmp_path, rows, deliverables=(), as_of="2026-06-30 23:59:59"):
    con = sdb.connect(tmp_path / "sla.duckdb")
    for i, (iid, system, start, end, content, result) in enumerate(rows):
        con.execute("INSERT INTO inspection_rows VALUES (?, ?, ?, ?, ?, '赵工', ?, ?, NULL, 'f', 'inspections.xlsx', ?, "
                    "1, NULL)", [iid, system, system, start, end, content, result, i + 2])
    for i, (period, submitted, title) in enumerate(deliverables):
        con.execute("INSERT INTO deliverable_rows VALUES ('信息化建设建议', ?, ?, ?, NULL, 'g', 'd.csv', ?, 1, NULL)",
                    [period, submitted, title, i + 2])
    sdb.set_meta(con, "as_of", as_of)
    return con


def cell(df, system, quarter):
    r = df[(df["system"] == system) & (df["quarter"] == quarter)]
    assert len(r) == 1
    return r.iloc[0]


def test_working_days_across_makeup_days_and_national_day(tmp_path, contract):
    con = build(tmp_path, [
        ("A", "LIS", D(2025, 9, 26), D(2025, 9, 28), "接口", "正常"),   # Fri + make-up Sunday = 2
        ("B", "EMR", D(2025, 9, 29), D(2025, 10, 9), "日志", "正常"),   # 29, 30, (1-8 holiday), 9 = 3
        ("C", "PASS", D(2025, 10, 10), D(2025, 10, 11), "库", "正常"),  # Fri + make-up Saturday = 2
        ("D", "CP", D(2025, 10, 10), D(2025, 10, 13), "库", "正常"),    # 10, 11, 13 = 3
    ])
    df = insp.coverage(con, contract)
    assert (cell(df, "LIS", "2025-Q3")["working_days"], cell(df, "LIS", "2025-Q3")["status"]) == (2, "too_short")
    assert (cell(df, "EMR", "2025-Q3")["working_days"], cell(df, "EMR", "2025-Q3")["status"]) == (3, "done")
    assert (cell(df, "PASS", "2025-Q4")["working_days"], cell(df, "PASS", "2025-Q4")["status"]) == (2, "too_short")
    assert (cell(df, "CP", "2025-Q4")["working_days"], cell(df, "CP", "2025-Q4")["status"]) == (3, "done")


def test_each_status_from_hand_made_sheets(tmp_path, contract):
    con = build(tmp_path, [
        ("S1", "LIS", D(2026, 1, 5), D(2026, 1, 7), "接口、日志", "正常"),
        ("S2", "AE", D(2026, 1, 5), D(2026, 1, 7), "接口", None),
        ("S3", "AE", D(2026, 2, 2), D(2026, 2, 3), "接口", "正常"),  # a second, too short: incomplete wins
        ("S4", "FOLLOWUP", D(2026, 3, 2), None, "接口", "正常"),
        ("S5", "LIS", D(2026, 4, 7), D(2026, 4, 9), "接口", "正常"),
    ], as_of="2026-05-20 12:00:00")
    df = insp.coverage(con, contract)
    assert cell(df, "LIS", "2026-Q1")["status"] == "done"
    ae = cell(df, "AE", "2026-Q1")
    assert (ae["status"], ae["missing_fields"], ae["inspections_in_quarter"]) == ("incomplete_sheet", "巡检结果", 2)
    fu = cell(df, "FOLLOWUP", "2026-Q1")
    # no end date: the time is not filled in, so the sheet is incomplete (not a short inspection)
    assert (fu["status"], fu["missing_fields"], fu["working_days"]) == ("incomplete_sheet", "结束日期", 0)
    assert cell(df, "CRITICAL", "2026-Q1")["status"] == "missing"
    assert cell(df, "LIS", "2026-Q2")["status"] == "done"  # inspected before the quarter ended
    assert cell(df, "EMR", "2026-Q2")["status"] == "not_yet_due"
    assert set(df["system"]) == {"PASS", "CP", "EMR", "FOLLOWUP", "LIS", "AE", "CRITICAL"}  # not HIS
    assert sorted(set(df["quarter"])) == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]


def test_a_quarter_the_contract_year_only_partly_covers(tmp_path, make_contract):
    c = make_contract(lambda raw: raw["period"].update(signing_date="2025-08-15"))
    con = build(tmp_path, [
        ("P1", "LIS", D(2025, 8, 1), D(2025, 8, 5), "x", "正常"),  # before the contract: does not count
        ("P2", "EMR", D(2025, 9, 1), D(2025, 9, 3), "x", "正常"),
    ], as_of="2026-08-20 00:00:00")
    df = insp.coverage(con, c)
    y1 = df[df["contract_year"] == 1]
    assert sorted(set(y1["quarter"])) == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    q3 = cell(y1, "LIS", "2025-Q3")
    assert (bool(q3["partial"]), q3["covered_start"], q3["status"]) == (True, D(2025, 8, 15), "missing")
    assert cell(y1, "EMR", "2025-Q3")["status"] == "done"
    last = y1[y1["quarter"] == "2026-Q3"].iloc[0]
    assert (bool(last["partial"]), last["covered_end"]) == (True, D(2026, 8, 14))
    assert set(df["contract_year"]) == {1, 2}  # year 2 started 2026-08-15


def test_contract_quarters_setting(tmp_path, make_contract):
    c = make_contract(lambda raw: raw["clauses"].update(inspection={"title": "巡检", "section": "一.2.3",
                                                                      "text": "每季度巡检一次", "quarters": "contract",
                                                                      "min_working_days": 3}))
    qs = periods.quarters(c, 1)
    assert [(q.label, q.start, q.end) for q in qs] == [
        ("Y1-Q1", D(2025, 7, 1), D(2025, 9, 30)), ("Y1-Q2", D(2025, 10, 1), D(2025, 12, 31)),
        ("Y1-Q3", D(2026, 1, 1), D(2026, 3, 31)), ("Y1-Q4", D(2026, 4, 1), D(2026, 6, 30))]


def test_advice_reports_on_time_late_missing(tmp_path, contract):
    con = build(tmp_path, [], deliverables=[
        ("2025-Q3", dt.datetime(2025, 10, 15, 10), "三季度建议"),   # due: 9, 10, 11 (make-up Sat), 13, 14 Oct
        ("2025-Q4", dt.datetime(2026, 1, 12, 9), "四季度建议"),     # due 8 Jan (1-3 holiday, 4 make-up) -> late
        ("2026-04", dt.datetime(2026, 7, 2), "二季度建议（按月登记）"),
    ], as_of="2026-07-03 00:00:00")
    df = insp.advice(con, contract).set_index("period")
    assert str(df.loc["2025-Q3", "due_date"])[:10] == "2025-10-14"
    assert df.loc["2025-Q3", "status"] == "late" and df.loc["2025-Q3", "late_working_days"] == 1
    assert str(df.loc["2025-Q4", "due_date"])[:10] == "2026-01-08"
    assert df.loc["2025-Q4", "status"] == "late" and df.loc["2025-Q4", "late_working_days"] == 2
    assert df.loc["2026-Q1", "status"] == "missing"
    assert df.loc["2026-Q2", "status"] == "on_time"


@pytest.mark.parametrize("end, expected", [(D(2026, 3, 4), "too_short"), (D(2026, 3, 5), "done")])
def test_minimum_is_three_working_days_inclusive(tmp_path, contract, end, expected):
    con = build(tmp_path, [("T", "LIS", D(2026, 3, 3), end, "x", "正常")])
    assert cell(insp.coverage(con, contract), "LIS", "2026-Q1")["status"] == expected


def test_recompute_writes_the_tables(tmp_path, contract):
    con = build(tmp_path, [("S1", "LIS", D(2026, 1, 5), D(2026, 1, 7), "x", "正常")])
    insp.recompute(con, contract)
    assert con.execute("SELECT count(*) FROM inspection_coverage").fetchall() == [(28,)]  # 7 systems x 4 quarters
    assert con.execute("SELECT status FROM inspection_coverage WHERE system = 'LIS' AND quarter = '2026-Q1'"
                       ).fetchall() == [("done",)]
    assert con.execute("SELECT count(*) FROM advice_reports").fetchall() == [(4,)]


def _ingest_demo(tmp_path, contract, months=None):
    from sla_lib.demo.inspections import write_inspection_demo
    from sla_lib.demo.tickets import demo_span
    from sla_lib.load.ingest import ingest

    from .conftest import CONTRACT

    paths = write_inspection_demo(tmp_path / "raw", contract, 7, months)
    as_of = f"{demo_span(contract, months)[2]:%Y-%m-%d %H:%M}"  # the export instant, as the ticket data gives
    res = ingest(paths, tmp_path / "sla.duckdb", CONTRACT, as_of=as_of, echo=lambda *_: None)
    assert [(f.kind, f.rows_rejected) for f in res.files] == [("inspections", 0), ("deliverables", 0)]
    return paths, sdb.connect(tmp_path / "sla.duckdb", read_only=True)


def test_demo_inspections_show_every_planted_case(tmp_path, contract):
    from sla_lib.demo.inspections import ADVICE, PLANTED, write_inspection_demo

    paths, con = _ingest_demo(tmp_path, contract)  # default span: 16 months, export 2026-11-03 16:00
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in write_inspection_demo(tmp_path / "b", contract)]
    cov = con.execute("SELECT system, quarter, status, working_days FROM inspection_coverage").fetchall()
    got = {(s, q): (st, wd) for s, q, st, wd in cov}
    assert len(got) == 56  # 7 systems x (4 quarters of year 1 + 4 of year 2)
    for key, (_, _, _, status, days) in PLANTED.items():
        assert got[key] == (status, days)
    finished = ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]  # 2026-Q3: year 2's first quarter
    assert {v[0] for k, v in got.items() if k not in PLANTED and k[1] in finished} == {"done"}
    assert {v[0] for k, v in got.items() if k not in PLANTED and k[1] not in finished} == {"not_yet_due"}
    adv = dict(con.execute("SELECT period, status FROM advice_reports").fetchall())
    assert adv == {q: st for q, (_, st) in ADVICE.items()} | {q: "not_yet_due" for q in ("2026-Q4", "2027-Q1",
                                                                                        "2027-Q2")}


def test_demo_year_two_by_hand(tmp_path, contract):
    _, con = _ingest_demo(tmp_path, contract)
    rows = con.execute("SELECT system, quarter, status, working_days, start_date, end_date FROM inspection_coverage "
                       "WHERE contract_year = 2").fetchall()
    y2 = {(s, q): (st, wd, a, b) for s, q, st, wd, a, b in rows}
    # Thu 24 Sep .. Mon 28 Sep 2026: five calendar days, but Mid-Autumn is 25-27 Sep -> 24, 28
    assert y2[("LIS", "2026-Q3")] == ("too_short", 2, D(2026, 9, 24), D(2026, 9, 28))
    # Fri 18 .. Mon 21 Sep 2026: Sunday 20 Sep is a make-up working day (for National Day) -> 18, 20, 21
    assert y2[("EMR", "2026-Q3")] == ("done", 3, D(2026, 9, 18), D(2026, 9, 21))
    assert y2[("FOLLOWUP", "2026-Q3")][0] == "missing"  # the quarter ended 30 Sep, before as_of
    # 2026-Q4 runs past as_of (3 Nov): a sheet already there is judged, the others are not yet due
    # Fri 9 .. Mon 12 Oct: Saturday 10 Oct is a make-up working day, Sunday 11 is not -> 9, 10, 12
    assert y2[("PASS", "2026-Q4")] == ("done", 3, D(2026, 10, 9), D(2026, 10, 12))
    assert y2[("CRITICAL", "2026-Q4")] == ("done", 4, D(2026, 10, 19), D(2026, 10, 22))  # Mon .. Thu
    for s in ("CP", "EMR", "FOLLOWUP", "LIS", "AE"):
        assert y2[(s, "2026-Q4")][0] == "not_yet_due"
    assert sum(st == "done" for st, *_ in y2.values()) == 7  # 5 of 7 in 2026-Q3, 2 so far in 2026-Q4
    adv = {r[0]: r[1:] for r in con.execute("SELECT period, status, due_date, late_working_days FROM advice_reports "
                                             "WHERE contract_year = 2").fetchall()}
    # 5th working day after 30 Sep 2026: 1-7 Oct holiday; 8 (Thu), 9 (Fri), 10 (make-up Sat), 12, 13
    assert adv["2026-Q3"] == ("late", D(2026, 10, 13), 1)  # submitted Wed 14 Oct
    assert [adv[q][0] for q in ("2026-Q4", "2027-Q1", "2027-Q2")] == ["not_yet_due"] * 3


def test_demo_of_twelve_months_is_the_one_year_demo(tmp_path, contract):
    import hashlib

    from openpyxl import load_workbook

    from sla_lib.demo.inspections import ADVICE_FILE, INSPECTION_FILE, inspection_rows

    paths, con = _ingest_demo(tmp_path, contract, months=12)
    assert [p.name for p in paths] == [INSPECTION_FILE, ADVICE_FILE]
    # the bytes of the one-year demo (before the demo span grew), seed 7; the xlsx zip is stamped
    # with the export instant 2026-07-03 16:00
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    assert digest == {INSPECTION_FILE: "c8f502f7187ee07b0530caf543bad2f7d84433512dde8ebb2e28bc7a1ae07ceb",
                      ADVICE_FILE: "66e67c7ca0453d5fe64acbb2e2fe17cb571516fe3e70397a11a3aa4a29053537"}
    starts = [r[2] for r in load_workbook(paths[0]).active.iter_rows(min_row=2, values_only=True)]
    assert len(starts) == 27 and max(starts).date() < D(2026, 7, 1)  # 7 x 4 sheets, one missing
    assert con.execute("SELECT DISTINCT period FROM deliverables ORDER BY 1").fetchall() == [
        ("2025-Q3",), ("2025-Q4",), ("2026-Q1",), ("2026-Q2",)]
    assert con.execute("SELECT count(*) FROM inspection_coverage WHERE contract_year = 2 AND status <> 'not_yet_due'"
                       ).fetchall() == [(0,)]
    # year 2 has its own generators: the 16-month register starts with exactly the 12-month one
    assert inspection_rows(contract, 7, 16)[:27] == inspection_rows(contract, 7, 12)


def test_a_quarter_split_between_two_contract_years_shows_both_parts(tmp_path, make_contract):
    """Signed 2025-08-15: 2026-Q3 is 07-01 .. 08-14 of year 1 and 08-15 .. 09-30 of year 2; the
    quarterly report lists each system once per part, each judged on its own."""
    from sla_lib.reports import quarterly

    c = make_contract(lambda raw: raw["period"].update(signing_date="2025-08-15"))
    con = build(tmp_path, [
        ("L1", "LIS", D(2026, 7, 6), D(2026, 7, 8), "x", "正常"),   # Mon-Wed: 3 working days, year 1's part
        ("L2", "LIS", D(2026, 9, 1), D(2026, 9, 2), "x", "正常"),   # Tue-Wed: 2 working days, year 2's part
        ("E1", "EMR", D(2026, 8, 17), D(2026, 8, 19), "x", "正常"),  # year 2's part only
    ], as_of="2026-10-10 12:00:00")
    insp.recompute(con, c)
    info = quarterly.quarter_info(con, "2026-Q3")
    assert info["parts"] == [(1, D(2026, 7, 1), D(2026, 8, 14)), (2, D(2026, 8, 15), D(2026, 9, 30))]
    assert "第 1 年 2026-07-01 至 2026-08-14；第 2 年 2026-08-15 至 2026-09-30" in quarterly.title_markdown(
        con, c, "2026-Q3")
    sheets = quarterly.sheets(con, c, "2026-Q3")
    names = c.system_names()
    got = {(r["系统"], r["合同年度"][:5]): (r["状态"], r["工作日数"]) for _, r in sheets.iterrows()}
    assert got[(names["LIS"], "第 1 年")] == ("已完成", 3)
    assert got[(names["LIS"], "第 2 年")] == ("时长不足", 2)
    assert got[(names["EMR"], "第 1 年")][0] == "缺失"
    assert got[(names["EMR"], "第 2 年")] == ("已完成", 3)
    assert len(sheets) == 2 * len([s for s in c.systems if s.inspected])


def test_without_tickets_as_of_is_the_newest_sheet_never_todays_date(tmp_path, contract):
    """No ticket register loaded (meta.as_of empty): the data's as_of is the newest inspection date
    (2025-11-12), so Q4-2025 has started and is not yet due, Q3 is judged, and nothing depends on
    the day the report is rendered."""
    from sla_lib.reports.quarterly import quarters_available

    con = build(tmp_path, [("Q3", "LIS", D(2025, 8, 4), D(2025, 8, 6), "接口", "正常"),
                           ("Q4", "LIS", D(2025, 11, 10), D(2025, 11, 12), "接口", "正常")], as_of="")
    insp.recompute(con, contract)
    assert quarters_available(con) == ["2025-Q3", "2025-Q4"]
    rows = dict(con.execute("SELECT quarter || ' ' || system, status FROM inspection_coverage "
                            "WHERE system IN ('LIS', 'EMR')").fetchall())
    assert rows == {"2025-Q3 LIS": "done", "2025-Q3 EMR": "missing", "2025-Q4 LIS": "done",
                    "2025-Q4 EMR": "not_yet_due", "2026-Q1 LIS": "not_yet_due", "2026-Q1 EMR": "not_yet_due",
                    "2026-Q2 LIS": "not_yet_due", "2026-Q2 EMR": "not_yet_due"}
