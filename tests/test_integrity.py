"""Register integrity (issue 13): two successive exports of one register, in which a response was
rewritten, a ticket dropped, a number skipped and a ticket added late, give exactly those findings
with both source rows, and the monthly report shows them. Hand-made exports with every value
chosen so that the expected findings follow from the rules by hand."""

from __future__ import annotations

import pytest

from sla_lib.findings.integrity import binomial_tail
from sla_lib.load.ingest import ingest
from sla_lib.publish.render import render_report

from .conftest import CONTRACT
from .conftest import query as q
from .test_ingest import row, write_csv
from .test_render import parse

# export A (made 2026-03-31): March, numbers 0001-0004 and 0006 (0005 was never issued)
A = [
    row("GD2026030001", "2026-03-02 08:00", responded="2026-03-02 08:10"),
    row("GD2026030002", "2026-03-03 08:00", responded="2026-03-03 08:45"),   # 45 min: breached
    row("GD2026030003", "2026-03-04 09:00", responded="2026-03-04 09:05"),
    row("GD2026030004", "2026-03-05 10:00", responded="2026-03-05 10:12"),
    row("GD2026030006", "2026-03-31 16:00", responded="2026-03-31 16:05"),
]
# export B (made 2026-04-20, after March closed): 0002's response rewritten to 08:15 (met), 0003
# dropped, 0007 dated 10 March (inside A's span) added, and April's first ticket
B = [
    row("GD2026030001", "2026-03-02 08:00", responded="2026-03-02 08:10"),
    row("GD2026030002", "2026-03-03 08:00", responded="2026-03-03 08:15"),
    row("GD2026030004", "2026-03-05 10:00", responded="2026-03-05 10:12"),
    row("GD2026030006", "2026-03-31 16:00", responded="2026-03-31 16:05"),
    row("GD2026030007", "2026-03-10 11:00", responded="2026-03-10 11:05"),
    row("GD2026040001", "2026-04-20 09:00", responded="2026-04-20 09:06"),
]


@pytest.fixture(scope="module")
def two_exports(tmp_path_factory):
    base = tmp_path_factory.mktemp("integrity")
    db = base / "sla.duckdb"
    a = write_csv(base / "工单登记_2026-03.csv", A)
    b = write_csv(base / "工单登记_2026-04.csv", B)
    for f in (a, b):
        res = ingest([f], db, CONTRACT, echo=lambda *_: None)
        assert res.files[0].status == "loaded"
    return {"base": base, "db": db, "a": a, "b": b}


def findings(db, kind):
    return q(db, "SELECT ticket_id, column_name, old_value, new_value, old_file, old_row, new_file, new_row, "
                 "after_close, favours_vendor, clause FROM register_findings WHERE finding = ? ORDER BY ticket_id",
             [kind])


def test_exactly_the_planted_findings(two_exports):
    counts = dict(q(two_exports["db"], "SELECT finding, count(*) FROM register_findings GROUP BY 1"))
    assert counts == {"edited": 1, "vanished": 1, "number_gap": 1, "late_entry": 1}


def test_a_rewritten_response_is_edited_after_close_and_favours_the_vendor(two_exports):
    a, b = (str(two_exports[k]) for k in ("a", "b"))
    assert findings(two_exports["db"], "edited") == [
        ("GD2026030002", "responded_at", "2026-03-03 08:45:00", "2026-03-03 08:15:00", a, 3, b, 3, True, True, "response")]
    # the clock follows the newest export (met); the finding keeps the evidence
    assert q(two_exports["db"], "SELECT status FROM ticket_sla WHERE ticket_id = 'GD2026030002' AND clause = 'response'"
             ) == [("met",)]


def test_a_dropped_ticket_vanished_a_skipped_number_and_a_late_ticket(two_exports):
    a, b = (str(two_exports[k]) for k in ("a", "b"))
    assert findings(two_exports["db"], "vanished") == [
        ("GD2026030003", None, None, None, a, 4, b, None, None, None, None)]
    assert [r[0] for r in findings(two_exports["db"], "number_gap")] == ["GD2026030005"]
    # 0007 is dated 10 March, inside export A's span, but first exported on 2026-04-20 (> 1 April + 10 days)
    assert findings(two_exports["db"], "late_entry") == [
        ("GD2026030007", None, None, None, None, None, b, 6, None, None, None)]


def test_the_monthly_report_shows_them_with_both_source_rows(two_exports):
    html = render_report("monthly", "2026-03", two_exports["db"], CONTRACT, two_exports["base"] / "reports"
                         ).read_text(encoding="utf-8")
    page = parse(html)
    summary = {r[0]: int(r[1]) for r in page.tables["sla-table-register-summary"][1:]}
    assert summary == {"登记被改动": 1, "工单消失": 1, "编号缺失": 1, "事后补登": 1, "疑似重复": 0, "时限前扎堆": 0, "补卡": 0}
    rows = page.tables["sla-table-register-findings"]
    header = rows[0]
    edited = dict(zip(header, next(r for r in rows[1:] if r[0] == "登记被改动"), strict=True))
    assert edited["工单号"] == "GD2026030002" and "08:45:00 → 2026-03-03 08:15:00" in edited["说明"]
    assert edited["原导出"].endswith("工单登记_2026-03.csv:3") and edited["新导出"].endswith("工单登记_2026-04.csv:3")
    assert edited["月结后改动"] == "是" and edited["使超时变达标"] == "是"
    assert "七、登记数据可信度" in html and "本月共 4 项" in html


def test_duplicates_heaping_and_backfills(tmp_path):
    # two numbers, same department, system and description, 10 minutes apart; and 14 responses in
    # the last 2 minutes before 20 against 2 in the 2 minutes before those
    rows = [row("GD2026050001", "2026-05-06 08:00", desc="打印机卡纸", responded="2026-05-06 08:05"),
            row("GD2026050002", "2026-05-06 08:10", desc="打印机 卡纸", responded="2026-05-06 08:14")]
    for i in range(14):
        rows.append(row(f"GD20260501{i + 3:02d}", f"2026-05-{7 + i:02d} 09:00", desc=f"故障{i}",
                        responded=f"2026-05-{7 + i:02d} 09:{19 + (i % 2)}"))
    for i in range(2):
        rows.append(row(f"GD20260502{i:02d}", f"2026-05-{21 + i:02d} 09:00", desc=f"其他{i}",
                        responded=f"2026-05-{21 + i:02d} 09:17"))
    ingest([write_csv(tmp_path / "工单.csv", rows)], tmp_path / "sla.duckdb", CONTRACT, echo=lambda *_: None)
    got = dict(q(tmp_path / "sla.duckdb", "SELECT finding, count(*) FROM register_findings GROUP BY 1"))
    assert got["duplicate_suspect"] == 1
    (heap,) = q(tmp_path / "sla.duckdb", "SELECT month, clause, old_value, new_value, detail FROM register_findings "
                                         "WHERE finding = 'threshold_heaping'")
    assert heap[:4] == ("2026-05", "response", "2", "14")
    p = binomial_tail(14, 16)  # (C(16,14) + C(16,15) + C(16,16)) / 2^16 = 137 / 65536
    assert p == pytest.approx(137 / 65536) and f"{p:.2g}" in heap[4]


# -- the vendor statement and disputes (issue 13) --------------------------------------------------------------------
@pytest.fixture(scope="module")
def breaches(tmp_path_factory):
    """Three March tickets, each response 45 minutes (breached), and one met."""
    base = tmp_path_factory.mktemp("disputes")
    rows = [row(f"GD202603000{i}", f"2026-03-0{i + 1} 08:00", responded=f"2026-03-0{i + 1} 08:45",
                resolved=f"2026-03-0{i + 1} 10:00") for i in range(1, 4)]
    rows.append(row("GD2026030004", "2026-03-09 08:00", responded="2026-03-09 08:05", resolved="2026-03-09 09:00"))
    db = base / "sla.duckdb"
    ingest([write_csv(base / "工单登记_2026-03.csv", rows)], db, CONTRACT, echo=lambda *_: None)
    return {"base": base, "db": db}


def _answer(path, answers: dict[str, tuple]):
    """Fill the statement's answer columns as the vendor and the IT department would."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb.active
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == "工单号")
    cols = {ws.cell(header, c).value: c for c in range(1, ws.max_column + 1)}
    for r in range(header + 1, ws.max_row + 1):
        tid = ws.cell(r, 1).value
        if tid in answers:
            for name, value in zip(["申诉理由", "证据", "申诉日期", "裁定", "裁定人", "裁定日期"], answers[tid], strict=True):
                ws.cell(r, cols[name]).value = value
    out = path.with_name(path.stem + "-returned.xlsx")
    wb.save(out)
    return out


def test_the_statement_lists_every_breach_with_columns_to_answer(breaches, capsys):
    import datetime as dt

    import openpyxl

    from sla_lib.cli import main
    from sla_lib.reports.statement import answer_deadline
    from sla_lib.rules.contract import load_contract

    assert main(["statement", "--month", "2026-03", "--db", str(breaches["db"]), "--contract", str(CONTRACT),
                 "--out", str(breaches["base"] / "reports")]) == 0
    assert "3 breached clock(s) of 2026-03" in capsys.readouterr().out
    path = breaches["base"] / "reports" / "2026-03" / "vendor-statement.xlsx"
    ws = openpyxl.load_workbook(path).active
    block = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(2, 8)}
    assert block["月份"] == "2026-03" and block["服务商"] and block["医院"]
    deadline = answer_deadline(load_contract(CONTRACT), dt.date.today())
    assert block["申诉截止"].startswith(deadline.isoformat()) and "5 个工作日" in block["申诉截止"]
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == "工单号")
    names = [ws.cell(header, c).value for c in range(1, ws.max_column + 1)]
    assert names == ["工单号", "条款", "开始", "时限", "结束", "超时", "来源", "申诉截止", "申诉理由", "证据", "申诉日期",
                     "裁定", "裁定人", "裁定日期"]
    body = [[ws.cell(r, c).value for c in range(1, 9)] for r in range(header + 1, ws.max_row + 1)]
    assert [(b[0], b[1], b[2], b[3], b[4]) for b in body] == [
        (f"GD202603000{i}", "response 服务响应", dt.datetime(2026, 3, i + 1, 8, 0), dt.datetime(2026, 3, i + 1, 8, 20),
         dt.datetime(2026, 3, i + 1, 8, 45)) for i in range(1, 4)]
    assert body[0][6].endswith("工单登记_2026-03.csv:2") and body[0][5] == "25分钟"


def test_a_returned_statement_upholds_one_rejects_another_and_both_reports_show_the_counts(breaches):
    import datetime as dt

    from sla_lib.cli import main

    main(["statement", "--month", "2026-03", "--db", str(breaches["db"]), "--contract", str(CONTRACT),
          "--out", str(breaches["base"] / "reports")])
    path = breaches["base"] / "reports" / "2026-03" / "vendor-statement.xlsx"
    late = dt.date.today() + dt.timedelta(days=60)
    returned = _answer(path, {
        "GD2026030001": ("全院停电（不可抗力），见供电局通知", "停电通知.pdf", dt.date.today(), "采纳", "张主任", dt.date(2026, 4, 8)),
        "GD2026030002": ("工程师在路上", None, late, "驳回", "张主任", dt.date(2026, 4, 8)),
    })
    res = ingest([returned], breaches["db"], CONTRACT, kind="disputes", echo=lambda *_: None)
    (fr,) = res.files
    assert (fr.preset, fr.rows_read, fr.rows_loaded, fr.rows_rejected) == ("cn-disputes", 3, 3, 0)
    db = breaches["db"]
    st = dict(q(db, "SELECT ticket_id, status FROM ticket_sla WHERE clause = 'response'"))
    assert st == {"GD2026030001": "excluded", "GD2026030002": "breached", "GD2026030003": "breached",
                  "GD2026030004": "met"}
    (note,) = q(db, "SELECT note FROM ticket_sla WHERE ticket_id = 'GD2026030001' AND clause = 'response'")[0]
    assert note == "申诉采纳：全院停电（不可抗力），见供电局通知（裁定人 张主任，2026-04-08）"
    assert q(db, "SELECT ticket_id, outcome, status_before, late FROM dispute_outcomes ORDER BY 1") == [
        ("GD2026030001", "upheld", "breached", False), ("GD2026030002", "rejected", "breached", True)]
    html = render_report("monthly", "2026-03", db, CONTRACT, breaches["base"] / "reports").read_text(encoding="utf-8")
    page = parse(html)
    summary = dict(zip(page.tables["sla-table-dispute-summary"][0], page.tables["sla-table-dispute-summary"][1],
                       strict=True))
    # response: before 1 met of 4 (25.0%), after 1 met of 3 judged (33.3%)
    assert (summary["申诉"], summary["采纳"], summary["驳回"], summary["待裁定"], summary["逾期申诉"]) == ("2", "1", "1", "0", "1")
    assert (summary["达标率（申诉前）"], summary["达标率（申诉后）"]) == ("25.0%", "33.3%")
    assert "申诉 2 项，采纳 1 项，驳回 1 项，待裁定 0 项" in html
    year = render_report("year", 1, db, CONTRACT, breaches["base"] / "reports").read_text(encoding="utf-8")
    assert "sla-table-dispute-summary" in year
    # the same workbook again, with the second decision changed: the newest decision wins, both are kept
    again = _answer(returned, {
        "GD2026030002": ("工程师在路上；补充导航记录", "导航截图.png", late, "采纳", "李科长", dt.date(2026, 4, 15))})
    ingest([again], db, CONTRACT, kind="disputes", echo=lambda *_: None)
    assert q(db, "SELECT outcome, decided_by, decisions FROM dispute_outcomes WHERE ticket_id = 'GD2026030002'") == [
        ("upheld", "李科长", 2)]
    assert q(db, "SELECT count(*) FROM dispute_rows WHERE ticket_id = 'GD2026030002'")[0][0] == 2
