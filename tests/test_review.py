"""Contract-year review: scorecard status at and around each threshold, what-if at the contract
threshold equals the reported rate, year bounds and comparison."""

from __future__ import annotations

import pytest

from sla_lib import review
from sla_lib.db import connect
from sla_lib.ingest import ingest

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
    ingest([write_csv(d / "工单.csv", rows)], d / "sla.duckdb", CONTRACT, echo=lambda *_: None)
    con = connect(d / "sla.duckdb", read_only=True)
    yield con
    con.close()


def test_years_and_counts(db, contract):
    assert review.years_available(db, contract) == [1, 2]
    c = review.ticket_counts(db, contract, 1)
    assert (c.loc["response", "met"], c.loc["response", "breached"]) == (5, 5)  # 20:00 exactly is met
    assert review.ticket_counts(db, contract, 2).loc["response", "breached"] == 1


def test_what_if_curve_at_the_contract_threshold_equals_the_reported_rate(db, contract):
    wi = review.what_if(db, contract, 1, points={"response": [10, 15, 20, 30, 60], "resolution": [0.5, 1, 2]})
    resp = wi[wi["clause"] == "response"].set_index("threshold")
    assert resp["met"].to_dict() == {10.0: 1, 15.0: 2, 20.0: 5, 30.0: 7, 60.0: 9}
    for clause in ("response", "resolution", "onsite_arrival", "onsite_fix"):
        cur = wi[(wi["clause"] == clause) & wi["is_contract"]]
        reported = review.ticket_counts(db, contract, 1).loc[clause]
        assert (int(cur["met"].iloc[0]), int(cur["breached"].iloc[0])) == (reported["met"], reported["breached"])
    res = wi[wi["clause"] == "resolution"].set_index("threshold")
    # responded 10:05..11:10, resolved 16:00: within 1 and 2 working days; half a day (3.75 h) misses some
    assert res.loc[1.0, "rate"] == 1.0 and res.loc[2.0, "rate"] == 1.0 and res.loc[0.5, "rate"] < 1.0


def test_scorecard_rows_and_comparison(db, contract):
    sc = review.scorecard(db, contract, 1).set_index("条款编号")
    assert sc.loc["response", "结果"] == "50.0%" and sc.loc["response", "违约次数"] == 5
    assert sc.loc["response", "状态"] == "未履行"
    cmp = review.compare_years(db, contract, [1, 2])
    assert cmp["第 1 年"].tolist()[0] == "50.0%" and cmp["第 2 年"].tolist()[0] == "50.0%"
    md = review.summary_markdown(db, contract, 1)
    assert "第 1 年" in md and "服务响应" in md and "未履行" in md
