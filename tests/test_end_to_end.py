"""Demo year end to end: sla demo -> sla ingest -> sla render monthly, through the real CLI, real
xlsx/csv files, a real DuckDB file and real papermill. Figures in the HTML equal direct queries;
no planted patient identifier reaches the database tables or any output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import openpyxl
import pytest

from sla_lib.cli import main
from sla_lib.contract import load_contract
from sla_lib.demo import planted_identifiers

from .conftest import CONTRACT
from .conftest import query as q
from .test_render import assert_offline, parse

MONTH = "2025-10"  # National Day, make-up Saturday, the GBK export with broken rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    raw, db, out = base / "raw", base / "sla.duckdb", base / "reports"
    common = ["--db", str(db), "--contract", str(CONTRACT)]
    assert main(["demo", "--raw-dir", str(raw), "--contract", str(CONTRACT)]) == 0
    before = {p.name: p.read_bytes() for p in raw.iterdir()}
    assert main(["ingest", "--raw-dir", str(raw), *common]) == 0
    assert main(["render", "monthly", "--month", MONTH, "--out", str(out), *common]) == 0
    return {"raw": raw, "db": db, "out": out, "before": before,
            "html": (out / MONTH / "monthly-report.html").read_text(encoding="utf-8")}


def test_every_row_is_loaded_or_rejected(demo):
    log = q(demo["db"], "SELECT source_file, rows_read, rows_loaded, rows_rejected FROM ingest_log ORDER BY load_seq")
    assert len(log) == 12  # 4 ticket exports, 5 resident-staff files, inspections, advice reports, costs
    for _, read, loaded, rejected in log:
        assert read == loaded + rejected
    assert sum(r[1] for r in log) == 7162 and sum(r[3] for r in log) == 5
    rejected_rows = q(demo["db"], "SELECT count(DISTINCT (file_id, source_row)) FROM rejects")[0][0]
    assert rejected_rows == 5
    assert q(demo["db"], "SELECT count(*) FROM tickets")[0][0] == 6085


def test_raw_files_are_untouched_and_a_second_ingest_changes_nothing(demo, capsys):
    assert {p.name: p.read_bytes() for p in demo["raw"].iterdir()} == demo["before"]
    counts = q(demo["db"], "SELECT (SELECT count(*) FROM ticket_rows), (SELECT count(*) FROM rejects), "
                           "(SELECT count(*) FROM ticket_sla), (SELECT count(*) FROM ingest_log)")
    assert main(["ingest", "--raw-dir", str(demo["raw"]), "--db", str(demo["db"]), "--contract", str(CONTRACT)]) == 0
    assert "0 file(s) loaded, 12 already loaded" in capsys.readouterr().out
    assert q(demo["db"], "SELECT (SELECT count(*) FROM ticket_rows), (SELECT count(*) FROM rejects), "
                         "(SELECT count(*) FROM ticket_sla), (SELECT count(*) FROM ingest_log)") == counts


def test_contradicting_rows_are_invalid_not_lost(demo):
    rows = dict(q(demo["db"], "SELECT ticket_id || '/' || clause, status FROM ticket_sla WHERE ticket_id IN "
                              "('GD2025120045', 'GD2025100397', 'GD2025100026')"))
    assert rows["GD2025120045/response"] == "invalid"  # response 12 min before the report
    assert rows["GD2025100397/onsite_arrival"] == "invalid"  # arrival before notification
    assert rows["GD2025100026/resolution"] == "invalid"  # solved before it was accepted


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
    assert int(total["读取行数"]) == 7162 and int(total["拒收行数"]) == 5


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
    leaked = [s for s in secrets if s in blob]
    assert leaked == []
    assert "[姓名已隐藏]" in blob and "[身份证号已隐藏]" in blob and "[手机号已隐藏]" in blob


def test_no_network_connection_while_loading_and_reporting(tmp_path, monkeypatch):
    """Every socket connection to an internet address fails during ingest and the report library."""
    import socket

    from sla_lib import charts, report
    from sla_lib.ingest import ingest

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
    main(["demo", "--raw-dir", str(raw), "--contract", str(CONTRACT)])
    res = ingest([], tmp_path / "sla.duckdb", CONTRACT, raw_dir=raw, echo=lambda *_: None)
    assert not res.failed and res.tickets > 5000
    contract = load_contract(CONTRACT)
    con = report.open_db(tmp_path / "sla.duckdb")
    try:
        summary = report.clause_summary(con, contract, MONTH)
        charts.figure_html(charts.summary_chart(summary), "summary")
        report.breach_list(con, contract, MONTH)
        report.method_notes(con, contract)
    finally:
        con.close()
    assert attempts == []


def test_demo_costs_are_one_recoverable_and_one_disputed(demo):
    from sla_lib.demo_inspections import cost_rows

    planted = {tid: verdict for tid, _, _, verdict in cost_rows(load_contract(CONTRACT), seed=7)}
    got = dict(q(demo["db"], "SELECT ticket_id, verdict FROM third_party_costs"))
    assert got == planted and sorted(planted.values()) == ["disputed", "recoverable"]
    assert q(demo["db"], "SELECT sum(amount) FROM third_party_costs WHERE verdict = 'recoverable'") == [(3600.0,)]


@pytest.fixture(scope="module")
def quarterly(demo):
    out = demo["out"]
    assert main(["render", "quarterly", "--all", "--db", str(demo["db"]), "--contract", str(CONTRACT),
                 "--out", str(out)]) == 0
    return out


def test_quarterly_reports_render_offline_with_every_planted_case(demo, quarterly):
    from sla_lib.demo_inspections import ADVICE, PLANTED

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


def test_contract_year_review_figures_equal_direct_queries(demo, quarterly):
    from sla_lib import review

    assert main(["render", "year", "--db", str(demo["db"]), "--contract", str(CONTRACT),
                 "--out", str(demo["out"])]) == 0
    folder = demo["out"] / "contract-year-1"
    html = (folder / "contract-year-review.html").read_text(encoding="utf-8")
    page = assert_offline(html)
    assert "一页摘要" in html and "sla-fig-what-if" in html and "sla-fig-trend" in html
    card = {r[0]: r for r in page.tables["sla-table-scorecard"][1:]}
    for clause in ("response", "resolution", "onsite_arrival", "onsite_fix"):
        met, breached = q(demo["db"], "SELECT count(*) FILTER (WHERE status = 'met'), count(*) FILTER (WHERE "
                                      "status = 'breached') FROM ticket_sla WHERE clause = ? AND month BETWEEN "
                                      "'2025-07' AND '2026-06'", [clause])[0]
        assert card[clause][4] == f"{met / (met + breached):.1%}" and int(card[clause][5]) == breached
    recoverable = q(demo["db"], "SELECT sum(amount) FROM third_party_costs WHERE verdict = 'recoverable'")[0][0]
    assert f"应由中标人承担 {recoverable:,.2f} 元" in html
    con = duckdb.connect(str(demo["db"]), read_only=True)
    try:
        wi = review.what_if(con, load_contract(CONTRACT), 1)
    finally:
        con.close()
    wb = openpyxl.load_workbook(folder / "contract-year-review.xlsx")
    assert wb.sheetnames == ["评估表", "超时清单", "第三方维修费用", "假设时限"]
    rows = list(wb["假设时限"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(wi) and [r[4] for r in rows] == wi["met"].tolist()
    n_breaches = q(demo["db"], "SELECT count(*) FROM ticket_sla WHERE status = 'breached' AND month BETWEEN "
                               "'2025-07' AND '2026-06'")[0][0]
    assert wb["超时清单"].max_row - 1 == n_breaches
