"""The vendor statement (issue 13): every breached clock of a month, to send to the vendor, who
answers in the same workbook; it comes back and loads as kind ``disputes`` (preset cn-disputes).

``sla statement --month YYYY-MM`` writes ``reports/YYYY-MM/vendor-statement.xlsx``: a header block
(hospital, vendor, month, data as_of, date of issue, the answer deadline: ``disputes.
window_working_days`` working days after issue, hospital calendar), then one row per breached
clock: 工单号, 条款 (id and Chinese title), 开始, 时限, 结束, 超时, 来源 (file:row), 申诉截止, and the
empty columns 申诉理由, 证据, 申诉日期, 裁定 (采纳 / 驳回, a drop-down), 裁定人, 裁定日期.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from sla_lib.reports import monthly
from sla_lib.reports.export import neutralise
from sla_lib.rules.calendar import calendar_for
from sla_lib.rules.contract import Contract
from sla_lib.rules.periods import parse_month
from sla_lib.store.db import per_state, table_exists

ANSWER_COLUMNS = ["申诉理由", "证据", "申诉日期", "裁定", "裁定人", "裁定日期"]


def answer_deadline(contract: Contract, issued: dt.date) -> dt.date:
    """The last day on which a dispute counts as filed in time."""
    cal = calendar_for(contract, issued)
    return cal.nth_working_date_after(issued, contract.dispute_window_working_days)


def statement_frame(con, contract: Contract, month: str, deadline: dt.date) -> pd.DataFrame:
    b = monthly.breach_list(con, contract, month)
    ids = con.execute(f"""SELECT s.ticket_id, s.clause FROM ticket_sla s WHERE s.status = 'breached' AND s.month = ?
                          ORDER BY {monthly._clause_order_sql()}, s.start_at, s.ticket_id""", [month]).fetchall()
    titles = {c: contract.clauses[c]["title"] for c in contract.clauses if "title" in contract.clauses[c]}
    out = pd.DataFrame({
        "工单号": b["工单号"].astype(object),
        "条款": [f"{c} {titles.get(c, c)}" for _, c in ids],
        "开始": b["开始"], "时限": b["时限"], "结束": b["结束"],
        "超时": b["超时"].astype(object),
        "来源": b["来源"].astype(object),
        "申诉截止": [deadline] * len(b),
    })
    for c in ANSWER_COLUMNS:
        out[c] = None
    return out


def write_statement(con, contract: Contract, month: str, path: Path, issued: dt.date | None = None) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    month = parse_month(month)
    issued = issued or dt.date.today()
    deadline = answer_deadline(contract, issued)
    df = statement_frame(con, contract, month, deadline)
    as_of = con.execute("SELECT value FROM meta WHERE key = 'as_of'").fetchall()
    wb = Workbook()
    ws = wb.active
    ws.title = "超时对账单"
    ws.append([f"{contract.hospital} 运维服务 超时对账单（{month}）"])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value in (("医院", contract.hospital), ("服务商", contract.vendor or "—"), ("月份", month),
                         ("数据截至", as_of[0][0] if as_of else "—"), ("出具日期", issued.isoformat()),
                         ("申诉截止", f"{deadline.isoformat()}（出具后 {contract.dispute_window_working_days} 个工作日）")):
        ws.append([label, value])
    ws.append(["说明", "请在右侧各列填写申诉理由与证据及申诉日期；信息科在“裁定”列填写 采纳 或 驳回。本表返回后以 "
                     "sla ingest 文件 --kind disputes 载入，采纳的计时记为除外。"])
    ws.append([])
    header_row = ws.max_row + 1
    ws.append(list(df.columns))
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
    for row in df.itertuples(index=False):
        ws.append([None if (not isinstance(v, str) and pd.isna(v)) else
                   (v.to_pydatetime() if isinstance(v, pd.Timestamp) else neutralise(v)) for v in row])
    for i, col in enumerate(df.columns, start=1):
        width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)]) + 2
        ws.column_dimensions[ws.cell(header_row, i).column_letter].width = min(50, width * 1.5)
    decision = df.columns.get_loc("裁定") + 1
    letter = ws.cell(header_row, decision).column_letter
    dv = DataValidation(type="list", formula1='"采纳,驳回"', allow_blank=True)
    ws.add_data_validation(dv)
    dv.add(f"{letter}{header_row + 1}:{letter}{header_row + max(len(df), 1) + 200}")
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path


def dispute_summary(con, contract: Contract, months: str | list[str] | None) -> pd.DataFrame:
    """Per clause: disputes (申诉 n, 采纳 m, 驳回 k, 待裁定 p, of which late) and the rate before
    and after them side by side."""
    months = [months] if isinstance(months, str) else months
    where, params = ("list_contains(?, s.month)", [months]) if months else ("TRUE", [])
    rows = con.execute(f"""
        SELECT s.clause,
               count(*) FILTER (WHERE coalesce(o.status_before, s.status) = 'met') AS met_before,
               count(*) FILTER (WHERE coalesce(o.status_before, s.status) = 'breached') AS breached_before,
               count(*) FILTER (WHERE s.status = 'met') AS met_after,
               count(*) FILTER (WHERE s.status = 'breached') AS breached_after,
               count(o.outcome) AS n, count(*) FILTER (WHERE o.outcome = 'upheld') AS upheld,
               count(*) FILTER (WHERE o.outcome = 'rejected') AS rejected,
               count(*) FILTER (WHERE o.outcome = 'pending') AS pending,
               count(*) FILTER (WHERE o.late) AS late
        FROM ticket_sla s LEFT JOIN dispute_outcomes o USING (ticket_id, clause)
        WHERE {where} GROUP BY s.clause""", params).fetchall()
    by = {r[0]: r for r in rows}
    out = []
    for cid in monthly.TICKET_CLAUSES:
        r = by.get(cid, (cid, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        out.append({"条款": contract.clauses[cid]["title"], "申诉": r[5], "采纳": r[6], "驳回": r[7], "待裁定": r[8],
                    "逾期申诉": r[9], "达标率（申诉前）": monthly._rate(r[1], r[2]),
                    "达标率（申诉后）": monthly._rate(r[3], r[4])})
    return pd.DataFrame(out).astype({"达标率（申诉前）": "float64", "达标率（申诉后）": "float64"})


def dispute_list(con, contract: Contract, month: str) -> pd.DataFrame:
    df = con.execute("""SELECT ticket_id, clause, outcome, status_before, reason, decided_by, decided_at, filed_at,
                               deadline, late, decisions, source_file, source_row
                        FROM dispute_outcomes WHERE month = ? ORDER BY ticket_id, clause""", [parse_month(month)]).df()
    labels = {"upheld": "采纳", "rejected": "驳回", "pending": "待裁定"}
    return pd.DataFrame({
        "工单号": df["ticket_id"].astype(object),
        "条款": df["clause"].map(lambda c: contract.clauses[c]["title"]).astype(object),
        "裁定": df["outcome"].map(labels).astype(object),
        "申诉理由": df["reason"].astype(object),
        "裁定人": df["decided_by"].astype(object),
        "裁定日期": df["decided_at"].astype(object),
        "逾期申诉": df["late"].astype(bool),
        "裁定次数": df["decisions"].astype("int64"),
        "来源": [monthly._source(f, r) for f, r in zip(df["source_file"], df["source_row"], strict=True)],
    })


@per_state
def has_disputes(con) -> bool:
    """Whether any dispute was loaded (the section is left out of reports otherwise)."""
    return table_exists(con, "dispute_outcomes") and bool(
        con.execute("SELECT count(*) FROM dispute_outcomes").fetchall()[0][0])


def dispute_markdown(con, contract: Contract, month: str) -> str:
    s = dispute_summary(con, contract, month)
    n, up, rej, pend, late = (int(s[c].sum()) for c in ("申诉", "采纳", "驳回", "待裁定", "逾期申诉"))
    if not n:
        return "### 申诉与裁定\n\n本月没有申诉。"
    return (f"### 申诉与裁定\n\n申诉 {n} 项，采纳 {up} 项，驳回 {rej} 项，待裁定 {pend} 项"
            + (f"（其中 {late} 项在申诉截止后提出，仍予裁定）" if late else "")
            + "。采纳的计时记为除外（注明理由、裁定人与日期），驳回的仍为超时；下表并列申诉前后的达标率。")
