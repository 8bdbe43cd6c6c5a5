"""Contract-year review: scorecard status at and around each threshold, what-if at the contract
threshold equals the reported rate, year bounds and comparison."""

from __future__ import annotations

import pytest

from sla_lib.load.ingest import ingest
from sla_lib.reports import review
from sla_lib.rules import periods
from sla_lib.store.db import connect

from .conftest import CONTRACT
from .test_ingest import row, write_csv


@pytest.mark.parametrize("rate, expected", [
    (1.0, "kept"), (0.98, "kept"), (0.9799, "partly_kept"), (0.90, "partly_kept"), (0.8999, "not_kept"),
    (0.0, "not_kept"), (float("nan"), "no_data"),
])
def test_scorecard_status_at_and_around_the_thresholds(contract, rate, expected):
    assert review.status_of(rate, contract) == expected


def test_scorecard_thresholds_come_from_the_contract_file(make_contract):
    c = make_contract(lambda raw: raw.update(scorecard={"kept": 1.0, "partly_kept": 0.95}))
    assert review.status_of(0.99, c) == "partly_kept"
    assert review.status_of(0.949, c) == "not_kept"
    assert review.status_of(1.0, c) == "kept"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    d = tmp_path_factory.mktemp("review")
    rows = []
    # 10 tickets in year 1 (2025-07-01 .. 2026-06-30): responses after 5, 12, 18, 19, 20, 21, 25, 35, 50, 70 min
    for i, m in enumerate([5, 12, 18, 19, 20, 21, 25, 35, 50, 70]):
        rows.append(row(f"A{i}", "2025-11-04 10:00", responded=f"2025-11-04 {10 + m // 60}:{m % 60:02d}",
                        resolved="2025-11-04 16:00"))
    # 2 tickets in year 2
    rows += [row("B0", "2026-07-06 09:00", responded="2026-07-06 09:05", resolved="2026-07-06 10:00"),
             row("B1", "2026-07-06 09:00", responded="2026-07-06 09:40", resolved="2026-07-06 10:00")]
    # third-party costs: one per year on a ticket whose on-site arrival was late (> 4 h after the
    # notification, which is the report time here), one on a ticket not in the data, dated in year 2
    rows += [row("C1", "2025-12-02 09:00", responded="2025-12-02 09:05", resolved="2025-12-02 15:00", onsite="是",
                 arrived="2025-12-02 13:30"),
             row("C2", "2026-07-02 09:00", responded="2026-07-02 09:05", resolved="2026-07-02 15:00", onsite="是",
                 arrived="2026-07-02 13:01")]
    costs = d / "第三方维修费用.csv"
    costs.write_text("工单号,发生日期,服务单位,金额(元),说明\r\nC1,2025-12-03,某维修公司,1000,\r\n"
                     "C2,2026-07-03,某维修公司,500,\r\nG9,2026-07-04,某维修公司,300,\r\n", encoding="utf-8")
    ingest([write_csv(d / "工单.csv", rows), costs], d / "sla.duckdb", CONTRACT, echo=lambda *_: None)
    con = connect(d / "sla.duckdb", read_only=True)
    yield con
    con.close()


def test_years_and_counts(db, contract):
    assert review.years_available(db, contract) == [1, 2]
    c = review.ticket_counts(db, contract, 1)
    # A0..A9: 5 met (20:00 exactly is met), 5 breached; C1 met after 5 min
    assert (c.loc["response", "met"], c.loc["response", "breached"]) == (6, 5)
    assert review.ticket_counts(db, contract, 2).loc["response", "breached"] == 1


def test_what_if_curve_at_the_contract_threshold_equals_the_reported_rate(db, contract):
    wi = review.what_if(db, contract, 1, points={"response": [10, 15, 20, 30, 60], "resolution": [0.5, 1, 2]})
    resp = wi[wi["clause"] == "response"].set_index("threshold")
    assert resp["met"].to_dict() == {10.0: 2, 15.0: 3, 20.0: 6, 30.0: 8, 60.0: 10}  # A0..A9 and C1 (5 min)
    for clause in ("response", "resolution", "onsite_arrival", "onsite_fix"):
        cur = wi[(wi["clause"] == clause) & wi["is_contract"]]
        reported = review.ticket_counts(db, contract, 1).loc[clause]
        assert (int(cur["met"].iloc[0]), int(cur["breached"].iloc[0])) == (reported["met"], reported["breached"])
    res = wi[wi["clause"] == "resolution"].set_index("threshold")
    # responded 10:05..11:10, resolved 16:00: within 1 and 2 working days; half a day (3.75 h) misses some
    assert res.loc[1.0, "rate"] == 1.0 and res.loc[2.0, "rate"] == 1.0 and res.loc[0.5, "rate"] < 1.0


def test_scorecard_rows_and_comparison(db, contract):
    sc = review.scorecard(db, contract, 1).set_index("条款编号")
    # year 1: A0..A9 (5 met, 5 breached) and C1 (responded after 5 min: met)
    assert sc.loc["response", "结果"] == "54.5%" and sc.loc["response", "违约次数"] == 5
    assert sc.loc["response", "状态"] == "未履行"
    cmp = review.compare_years(db, contract, [1, 2]).set_index("条款编号")
    # year 2: B0 met, B1 breached (40 min), C2 met
    assert cmp.loc["response", "第 1 年"] == "54.5%" and cmp.loc["response", "第 2 年"] == "66.7%"
    assert cmp.loc["response", "第 1 年违约次数"] == 5 and cmp.loc["response", "第 2 年违约次数"] == 1
    assert cmp.loc["response", "第 2 年状态"] == "未履行"
    # the first row says what each year covers: year 2 runs to as_of (the last timestamp, 2026-07-06 10:00)
    assert cmp.loc["", "第 1 年"] == "2025-07-01 至 2026-06-30（全年）"
    assert cmp.loc["", "第 2 年"] == "2026-07-01 至 2026-07-06（进行中，已满 0 个月）"
    md = review.summary_markdown(db, contract, 1)
    assert "第 1 年" in md and "服务响应" in md and "未履行" in md and "尚未结束" not in md
    assert "本合同年度尚未结束" in review.summary_markdown(db, contract, 2)


def test_costs_belong_to_the_contract_year_of_their_ticket(db, contract):
    from sla_lib.findings import costs

    y1, y2 = periods.year_months(contract, 1), periods.year_months(contract, 2)
    assert y1[0] == "2025-07" and y1[-1] == "2026-06" and len(y1) == 12
    assert costs.totals(db, y1) == {"recoverable": 1000.0, "disputed": 0.0, "n_recoverable": 1, "n_disputed": 0}
    # C2 arrived 4 h 01 min after the notification: recoverable; G9 is unknown, dated in year 2: disputed
    assert costs.totals(db, y2) == {"recoverable": 500.0, "disputed": 300.0, "n_recoverable": 1, "n_disputed": 1}
    assert costs.totals(db)["recoverable"] == 1500.0
    assert costs.ledger(db, y2)["工单号"].tolist() == ["C2", "G9"]
    sc = review.scorecard(db, contract, 2).set_index("条款编号")
    assert sc.loc["third_party", "结果"] == "应由中标人承担 500.00 元" and sc.loc["third_party", "违约次数"] == 1
    assert sc.loc["third_party", "说明"] == "另有争议 300.00 元（1 笔）"


def test_year_coverage(db, contract):
    y1, y2 = review.year_coverage(db, contract, 1), review.year_coverage(db, contract, 2)
    assert not y1["running"] and y1["closed_months"] == 12
    assert y2["running"] and y2["closed_months"] == 0 and str(y2["end"]) == "2027-07-01"
