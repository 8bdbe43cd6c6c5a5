"""Demo year end to end: sla demo -> sla ingest -> sla render monthly, through the real CLI, real
xlsx/csv files, a real DuckDB file and real papermill. Figures in the HTML equal direct queries;
no planted patient identifier reaches the database tables or any output."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pytest

import sla_lib
from sla_lib.cli import main
from sla_lib.demo.tickets import planted_identifiers
from sla_lib.rules.contract import load_contract

from .conftest import CONTRACT, demo_copy
from .conftest import query as q
from .test_render import assert_offline, parse

pytestmark = pytest.mark.long(20)  # seconds with `make test` here: started early (conftest)

MONTH = "2025-10"  # National Day, make-up Saturday, the GBK export with broken rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory, shared_demo):
    """The demo exports loaded by `sla ingest` (conftest.shared_demo, copied: tests load again and
    render here), and October rendered by `sla render`."""
    base = tmp_path_factory.mktemp("demo")
    d = demo_copy(shared_demo, base)
    out = base / "reports"
    common = ["--db", str(d["db"]), "--contract", str(CONTRACT)]
    assert main(["render", "monthly", "--month", MONTH, "--out", str(out), *common]) == 0
    return {**d, "out": out, "html": (out / MONTH / "monthly-report.html").read_text(encoding="utf-8")}


def test_every_row_is_loaded_or_rejected(demo):
    log = q(demo["db"], "SELECT source_file, rows_read, rows_loaded, rows_rejected FROM ingest_log ORDER BY load_seq")
    assert len(log) == 15  # 6 ticket exports, 6 resident-staff files, inspections, advice reports, costs
    for _, read, loaded, rejected in log:
        assert read == loaded + rejected
    # 8,043 tickets + 5 bad rows; 35 inspection sheets, 5 advice reports, 14 work records, 3 costs,
    # 83 + 572 + 453 punches, 368 daily attendance rows, 8 leave requests
    assert sum(r[1] for r in log) == 9589 and sum(r[3] for r in log) == 5
    rejected_rows = q(demo["db"], "SELECT count(DISTINCT (file_id, source_row)) FROM rejects")[0][0]
    assert rejected_rows == 5
    assert q(demo["db"], "SELECT count(*) FROM tickets")[0][0] == 8043


def test_raw_files_are_untouched_and_a_second_ingest_changes_nothing(demo, capsys):
    assert {p.name: p.read_bytes() for p in demo["raw"].iterdir()} == demo["before"]
    counts = q(demo["db"], "SELECT (SELECT count(*) FROM ticket_rows), (SELECT count(*) FROM rejects), "
                           "(SELECT count(*) FROM ticket_sla), (SELECT count(*) FROM ingest_log)")
    assert main(["ingest", "--raw-dir", str(demo["raw"]), "--db", str(demo["db"]), "--contract", str(CONTRACT)]) == 0
    assert "0 file(s) loaded, 15 already loaded" in capsys.readouterr().out
    assert q(demo["db"], "SELECT (SELECT count(*) FROM ticket_rows), (SELECT count(*) FROM rejects), "
                         "(SELECT count(*) FROM ticket_sla), (SELECT count(*) FROM ingest_log)") == counts


def test_contradicting_rows_are_invalid_not_lost(demo):
    rows = dict(q(demo["db"], "SELECT ticket_id || '/' || clause, status FROM ticket_sla WHERE ticket_id IN "
                              "('GD2025120119', 'GD2025100189', 'GD2025100049')"))
    assert rows["GD2025120119/response"] == "invalid"  # response 12 min before the report
    assert rows["GD2025100189/onsite_arrival"] == "invalid"  # arrival before notification
    assert rows["GD2025100049/resolution"] == "invalid"  # solved before it was accepted


def test_html_headline_equals_direct_query(demo):
    page = parse(demo["html"])
    summary = page.tables["sla-table-clause-summary"]
    rows = {r[0]: dict(zip(summary[0], r, strict=True)) for r in summary[1:]}
    for clause in ("response", "resolution", "onsite_arrival", "onsite_fix"):
        got = dict(q(demo["db"], "SELECT status, count(*) FROM ticket_sla WHERE month = ? AND clause = ? "
                                 "GROUP BY status", [MONTH, clause]))
        met, breached = got.get("met", 0), got.get("breached", 0)
        assert int(rows[clause]["达标"]) == met and int(rows[clause]["超时"]) == breached
        assert int(rows[clause]["除外"]) == got.get("excluded", 0)
        assert rows[clause]["达标率"] == f"{100 * met / (met + breached):.1f}%"
    n_breached = q(demo["db"], "SELECT count(*) FROM ticket_sla WHERE month = ? AND status = 'breached'", [MONTH])
    assert len(page.tables["sla-table-breaches"]) - 1 == n_breached[0][0] > 0
    quality = page.tables["sla-table-data-quality"]
    total = dict(zip(quality[0], quality[-1], strict=True))
    assert int(total["读取行数"]) == 9589 and int(total["拒收行数"]) == 5


def test_html_is_offline(demo):
    assert_offline(demo["html"])
    assert_offline((demo["out"] / "index.html").read_text(encoding="utf-8"))


def test_no_planted_identifier_reaches_any_output(demo):
    secrets = planted_identifiers(load_contract(CONTRACT), seed=7)
    assert len(secrets) > 100
    raw_text = "".join(p.read_bytes().decode("gb18030" if p.suffix == ".csv" else "latin-1", errors="ignore")
                       for p in demo["raw"].iterdir())
    assert any(s in raw_text for s in secrets)  # they are there to be masked
    outputs = []
    for table in ("tickets", "ticket_rows", "rejects", "ticket_sla", "ingest_log", "meta"):
        outputs.append(json.dumps(q(demo["db"], f"SELECT * FROM {table}"), ensure_ascii=False, default=str))
    xlsx = demo["out"] / "rejects.xlsx"
    assert main(["rejects", "--db", str(demo["db"]), "--xlsx", str(xlsx)]) == 0
    wb = openpyxl.load_workbook(xlsx)
    outputs += [str(c.value) for ws in wb for r in ws.iter_rows() for c in r]
    for root, _, files in os.walk(demo["out"]):
        outputs += [Path(root, f).read_text(encoding="utf-8") for f in files if not f.endswith(".xlsx")]
    blob = "\n".join(outputs)
    # one pass over the 15 M characters for all ~480 identifiers (a regex alternation finds a match
    # wherever any of them occurs); the list of which ones only when there is one
    anywhere = re.compile("|".join(map(re.escape, sorted(secrets, key=len, reverse=True))))
    leaked = [s for s in secrets if s in blob] if anywhere.search(blob) else []
    assert leaked == []
    assert "[姓名已隐藏]" in blob and "[身份证号已隐藏]" in blob and "[手机号已隐藏]" in blob


def test_no_network_connection_while_loading_and_reporting(tmp_path, monkeypatch, shared_demo):
    """Every socket connection to an internet address fails during ingest and the report library."""
    import socket

    from sla_lib.load.ingest import ingest
    from sla_lib.reports import charts
    from sla_lib.reports import monthly as report

    attempts = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network use is not allowed here")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: attempts.append(a) or guarded(None, a))
    raw = tmp_path / "raw"
    shutil.copytree(shared_demo["raw"], raw)  # the demo's exports (conftest), loaded again here, guarded
    res = ingest([], tmp_path / "sla.duckdb", CONTRACT, raw_dir=raw, echo=lambda *_: None)
    assert not res.failed and res.tickets > 5000
    contract = load_contract(CONTRACT)
    con = sla_lib.open_db(tmp_path / "sla.duckdb")
    try:
        summary = report.clause_summary(con, contract, MONTH)
        charts.figure_html(charts.summary_chart(summary), "summary")
        report.breach_list(con, contract, MONTH)
        report.method_notes(con, contract)
    finally:
        con.close()
    assert attempts == []


def test_demo_costs_per_contract_year(demo):
    """Year 1: one recoverable (3,600) and one disputed (850) cost; year 2: one recoverable (2,400)."""
    from sla_lib.demo.inspections import cost_rows

    planted = {tid: verdict for tid, _, _, verdict in cost_rows(load_contract(CONTRACT), seed=7)}
    got = dict(q(demo["db"], "SELECT ticket_id, verdict FROM third_party_costs"))
    assert got == planted and sorted(planted.values()) == ["disputed", "recoverable", "recoverable"]
    per_year = q(demo["db"], """SELECT ticket_month < '2026-07' AS year1, verdict, sum(amount) FROM third_party_costs
                               GROUP BY ALL ORDER BY ALL""")
    assert per_year == [(False, "recoverable", 2400.0), (True, "disputed", 850.0), (True, "recoverable", 3600.0)]


@pytest.fixture(scope="module")
def quarterly(demo):
    out = demo["out"]
    assert main(["render", "quarterly", "--all", "--db", str(demo["db"]), "--contract", str(CONTRACT),
                 "--out", str(out)]) == 0
    return out


def test_quarterly_reports_render_offline_with_every_planted_case(demo, quarterly):
    from sla_lib.demo.inspections import ADVICE, PLANTED

    contract = load_contract(CONTRACT)
    names = contract.system_names()
    for quarter_ in ("2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"):
        html = (quarterly / quarter_ / "quarterly-report.html").read_text(encoding="utf-8")
        page = assert_offline(html)
        assert "sla-fig-inspection-matrix" in html and "sla-fig-inspection-timeline" in html
        sheets = page.tables["sla-table-inspection-sheets"]
        status = {r[0]: r[1] for r in sheets[1:]}
        direct = dict(q(demo["db"], "SELECT system, status FROM inspection_coverage WHERE quarter = ?", [quarter_]))
        labels = {"done": "已完成", "too_short": "时长不足", "incomplete_sheet": "巡检单不完整", "missing": "缺失"}
        assert status == {names[s]: labels[st] for s, st in direct.items()}
        for (system, quarter), (*_, expected, _days) in PLANTED.items():
            if quarter == quarter_:
                assert status[names[system]] == labels[expected]
        advice = {r[0]: r[2] for r in page.tables["sla-table-advice-reports"][1:]}
        assert advice[quarter_] == {"on_time": "按时", "late": "逾期"}[ADVICE[quarter_][1]]


@pytest.fixture(scope="module")
def reviews(demo, quarterly):
    """`sla render year --all`: the review of every contract year in the demo (year 1 and the running year 2)."""
    assert main(["render", "year", "--all", "--db", str(demo["db"]), "--contract", str(CONTRACT),
                 "--out", str(demo["out"])]) == 0
    return demo["out"]


YEAR_MONTHS = {1: ("2025-07", "2026-06"), 2: ("2026-07", "2027-06")}


def _year_rates(db, year):
    """Direct queries: (rate text, breaches) per ticket clause over the contract year's months."""
    first, last = YEAR_MONTHS[year]
    out = {}
    for clause in ("response", "resolution", "onsite_arrival", "onsite_fix"):
        met, breached = q(db, "SELECT count(*) FILTER (WHERE status = 'met'), count(*) FILTER (WHERE "
                              "status = 'breached') FROM ticket_sla WHERE clause = ? AND month BETWEEN ? AND ?",
                          [clause, first, last])[0]
        out[clause] = (f"{met / (met + breached):.1%}", breached)
    return out


@pytest.mark.parametrize("year", [1, 2])
def test_contract_year_review_figures_equal_direct_queries(demo, reviews, year):
    from sla_lib.reports import review

    first, last = YEAR_MONTHS[year]
    folder = reviews / f"contract-year-{year}"
    html = (folder / "contract-year-review.html").read_text(encoding="utf-8")
    page = assert_offline(html)
    assert "一页摘要" in html and "sla-fig-what-if" in html and "sla-fig-trend" in html
    assert ("本合同年度尚未结束" in html) == (year == 2)  # the demo ends four months into year 2
    card = {r[0]: r for r in page.tables["sla-table-scorecard"][1:]}
    for clause, (rate, breached) in _year_rates(demo["db"], year).items():
        assert card[clause][4] == rate and int(card[clause][5]) == breached
    recoverable, disputed = q(demo["db"], """SELECT coalesce(sum(amount) FILTER (WHERE verdict = 'recoverable'), 0),
        coalesce(sum(amount) FILTER (WHERE verdict = 'disputed'), 0) FROM third_party_costs
        WHERE ticket_month BETWEEN ? AND ?""", [first, last])[0]
    assert recoverable > 0  # the demo has a recoverable cost in each year
    assert f"应由中标人承担 **{recoverable:,.2f} 元**" in html or f"应由中标人承担 {recoverable:,.2f} 元" in html
    assert card["third_party"][4] == f"应由中标人承担 {recoverable:,.2f} 元"
    assert f"另有争议 {disputed:,.2f} 元" in card["third_party"][6]
    # monthly work records belong to the year of the month they cover: year 1 = 2025-07 .. 2026-06
    # (2026-02 missing, 2026-03 late), year 2 so far = 2026-07 .. 2026-09 (2026-08 late; 2026-10 not yet due)
    ok, bad = q(demo["db"], "SELECT count(*) FILTER (WHERE status = 'on_time'), count(*) FILTER (WHERE status IN "
                            "('late', 'missing')) FROM monthly_records WHERE period BETWEEN ? AND ?", [first, last])[0]
    assert (ok, bad) == {1: (10, 2), 2: (2, 1)}[year]
    assert card["monthly_record"][6] == f"达标 {ok} 个月，未达标 {bad} 个月"
    # resident staffing: the one working day nobody was on site is 2026-08-12 (year 2)
    uncovered = q(demo["db"], "SELECT count(*) FILTER (WHERE NOT covered) FROM staffing_coverage "
                              "WHERE strftime(work_date, '%Y-%m') BETWEEN ? AND ?", [first, last])[0][0]
    assert uncovered == {1: 0, 2: 1}[year] and int(card["resident_staffing"][5]) == uncovered
    ledger = page.tables["sla-table-cost-ledger"]
    n_costs = q(demo["db"], "SELECT count(*) FROM third_party_costs WHERE ticket_month BETWEEN ? AND ?",
                [first, last])[0][0]
    assert len(ledger) - 1 == n_costs
    con = duckdb.connect(str(demo["db"]), read_only=True)
    try:
        wi = review.what_if(con, load_contract(CONTRACT), year)
    finally:
        con.close()
    wb = openpyxl.load_workbook(folder / "contract-year-review.xlsx")
    assert wb.sheetnames == ["评估表", "超时清单", "第三方维修费用", "假设时限", "年度对比"]
    rows = list(wb["假设时限"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(wi) and [r[4] for r in rows] == wi["met"].tolist()
    n_breaches = q(demo["db"], "SELECT count(*) FROM ticket_sla WHERE status = 'breached' AND month BETWEEN "
                               "? AND ?", [first, last])[0][0]
    assert wb["超时清单"].max_row - 1 == n_breaches
    assert wb["第三方维修费用"].max_row - 1 == n_costs


def test_year_comparison_shows_both_years_side_by_side(demo, reviews):
    page = parse((reviews / "contract-year-2" / "contract-year-review.html").read_text(encoding="utf-8"))
    table = page.tables["sla-table-compare-years"]
    header, rows = table[0], {r[0]: dict(zip(table[0], r, strict=True)) for r in table[1:]}
    assert header[:3] == ["条款编号", "条款", "第 1 年"] and "第 2 年" in header
    as_of = q(demo["db"], "SELECT value FROM meta WHERE key = 'as_of'")[0][0]
    assert rows[""]["第 1 年"] == "2025-07-01 至 2026-06-30（全年）"
    assert rows[""]["第 2 年"] == f"2026-07-01 至 {as_of[:10]}（进行中，已满 4 个月）"
    for year in (1, 2):
        for clause, (rate, breached) in _year_rates(demo["db"], year).items():
            assert rows[clause][f"第 {year} 年"] == rate and int(rows[clause][f"第 {year} 年违约次数"]) == breached


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_review_workbook_opens_in_libreoffice(reviews, tmp_path):
    """The committee's workbook opens in a spreadsheet program: LibreOffice Calc (headless) reads
    every sheet and writes it back as CSV with the same cells openpyxl reads."""
    import csv
    import subprocess

    xlsx = reviews / "contract-year-1" / "contract-year-review.xlsx"
    profile = tmp_path / "lo-profile"
    # filter options: comma, double quote, UTF-8 (76), from row 1, ..., sheet -1 = every sheet to its own file
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                    "--convert-to", 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1',
                    "--outdir", str(tmp_path), str(xlsx)], check=True, capture_output=True, timeout=300)
    wb = openpyxl.load_workbook(xlsx)
    for ws in wb:
        path = tmp_path / f"contract-year-review-{ws.title}.csv"
        assert path.exists(), f"LibreOffice wrote no sheet {ws.title}"
        lo_rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
        assert len(lo_rows) == ws.max_row
        assert lo_rows[0] == [str(c.value) for c in ws[1]]
        first_col = [str(r[0].value) if r[0].value is not None else "" for r in ws.iter_rows()]
        assert [r[0] if r else "" for r in lo_rows] == first_col
