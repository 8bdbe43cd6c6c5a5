"""Tables and figures of the quarterly report (notebooks/quarterly_report.ipynb).

Numbers come from the findings tables ``inspection_coverage`` and ``advice_reports``
(sla_lib/inspections.py) and from ``ticket_sla``; this module only selects and labels them.
"""

from __future__ import annotations

import pandas as pd

from sla_lib.errors import SlaError
from sla_lib.findings.as_of import data_as_of
from sla_lib.reports import figures as go
from sla_lib.reports import monthly as report
from sla_lib.reports.charts import COLORS, figure
from sla_lib.rules.contract import Contract

STATUS_LABELS = {
    "done": "已完成", "too_short": "时长不足", "incomplete_sheet": "巡检单不完整", "missing": "缺失",
    "not_yet_due": "未到期",
}
STATUS_COLORS = {
    "done": COLORS["达标"], "too_short": "#ef6c00", "incomplete_sheet": "#f9a825", "missing": COLORS["超时"],
    "not_yet_due": COLORS["未到期"],
}
ADVICE_LABELS = {"on_time": "按时", "late": "逾期", "missing": "缺失", "not_yet_due": "未到期"}
def quarters_available(con) -> list[str]:
    """Quarters in inspection_coverage that have started by the data's as_of
    (:func:`sla_lib.findings.as_of.data_as_of`), in order; none when nothing is dated."""
    as_of = data_as_of(con)
    if as_of is None:
        return []
    rows = con.execute("""
        SELECT quarter FROM inspection_coverage WHERE covered_start <= ?
        GROUP BY quarter ORDER BY min(quarter_start)""", [as_of.to_pydatetime()]).fetchall()
    return [r[0] for r in rows]


def quarter_info(con, quarter: str) -> dict:
    """The quarter's dates and contract year. A calendar quarter that a signing date in mid-quarter
    splits between two contract years has two parts (``parts``: (year, covered start, covered end));
    ``contract_year`` is then the first, and the covered dates span both parts."""
    rows = con.execute("""SELECT DISTINCT contract_year, quarter_start, quarter_end, covered_start, covered_end, partial
                          FROM inspection_coverage WHERE quarter = ? ORDER BY contract_year""", [quarter]).fetchall()
    if not rows:
        raise SlaError(f"quarter '{quarter}': not in the contract years of the data (run `sla ingest` first; "
                       f"quarters: {', '.join(quarters_available(con)) or 'none'})")
    y, qs, qe, cs, ce, partial = rows[0]
    return {"contract_year": y, "start": qs, "end": qe, "covered_start": cs, "covered_end": rows[-1][4],
            "partial": partial and len(rows) == 1, "parts": [(r[0], r[3], r[4]) for r in rows]}


def title_markdown(con, contract: Contract, quarter: str) -> str:
    info = quarter_info(con, quarter)
    part = (f"（合同年度只覆盖 {info['covered_start']} 至 {info['covered_end']}）" if info["partial"] else "")
    if len(info["parts"]) > 1:
        part = "（本季度跨合同年度，分别判定：" + "；".join(
            f"第 {y} 年 {a} 至 {b}" for y, a, b in info["parts"]) + "）"
    as_of = report._meta(con).get("as_of", "")
    return (f"# {contract.hospital} 运维服务季度报告 · {quarter}\n\n"
            f"服务商：{contract.vendor}　|　第 {info['contract_year']} 合同年度　|　"
            f"{info['start']} 至 {info['end']}{part}　|　数据截至：{as_of}")


def clause_text(contract: Contract, cid: str, fallback: str) -> str:
    c = contract.clauses.get(cid, {})
    return f"“{c.get('text', fallback)}”（{c.get('section', '')}）"


def coverage_matrix(con, contract: Contract, quarter: str) -> pd.DataFrame:
    """System x quarter of the quarter's contract year, up to and including ``quarter``: status codes."""
    info = quarter_info(con, quarter)
    df = con.execute("""
        SELECT system, quarter, status, working_days, missing_fields FROM inspection_coverage
        WHERE contract_year = ? AND quarter_start <= ? ORDER BY quarter_start""",
                     [info["contract_year"], info["start"]]).df()
    return df


def matrix_chart(matrix: pd.DataFrame, contract: Contract) -> go.Figure:
    """A heat map of statuses: one row per inspected system, one column per quarter."""
    names = contract.system_names()
    systems = [s.code for s in contract.systems if s.inspected]
    quarters = list(dict.fromkeys(matrix["quarter"]))
    codes = {s: i for i, s in enumerate(STATUS_LABELS)}
    z, text = [], []
    for sy in systems:
        row_z, row_t = [], []
        for q in quarters:
            r = matrix[(matrix["system"] == sy) & (matrix["quarter"] == q)]
            st = r["status"].iloc[0] if len(r) else "not_yet_due"
            row_z.append(codes[st])
            extra = ""
            if len(r) and pd.notna(r["working_days"].iloc[0]):
                extra = f"<br>{int(r['working_days'].iloc[0])} 个工作日"
            row_t.append(STATUS_LABELS[st] + extra)
        z.append(row_z)
        text.append(row_t)
    n = len(STATUS_LABELS)
    scale = []
    for i, st in enumerate(STATUS_LABELS):
        scale += [[i / n, STATUS_COLORS[st]], [(i + 1) / n, STATUS_COLORS[st]]]
    fig = figure(go.Heatmap(
        z=z, x=quarters, y=[names.get(s, s) for s in systems], text=text, texttemplate="%{text}",
        colorscale=scale, zmin=0, zmax=n, showscale=False, xgap=3, ygap=3, hoverinfo="text"))
    fig.update_layout(title="巡检覆盖：系统 × 季度", height=80 + 48 * len(systems),
                      yaxis={"autorange": "reversed"}, margin={"l": 140})
    for st in STATUS_LABELS:  # a legend of the colours
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=STATUS_LABELS[st],
                                 marker={"color": STATUS_COLORS[st], "size": 12, "symbol": "square"}))
    return fig


def sheets(con, contract: Contract, quarter: str) -> pd.DataFrame:
    """Each system's result for the quarter, with the sheet that decided it."""
    names = contract.system_names()
    df = con.execute("""
        SELECT system, contract_year, covered_start, covered_end, status, inspection_id, start_date, end_date,
               working_days, missing_fields, inspections_in_quarter, provisional, source_file, source_row
        FROM inspection_coverage WHERE quarter = ? ORDER BY system, contract_year""", [quarter]).df()
    shared = df["contract_year"].nunique() > 1  # a quarter split between two contract years: one row per part
    part = {"合同年度": [f"第 {y} 年（{_date(a)} 至 {_date(b)}）" for y, a, b in
                     zip(df["contract_year"], df["covered_start"], df["covered_end"], strict=True)]} if shared else {}
    return pd.DataFrame({
        "系统": df["system"].map(lambda s: names.get(s, s)),
        **part,
        "状态": df["status"].map(STATUS_LABELS),
        "巡检单号": df["inspection_id"],
        "开始日期": df["start_date"].map(_date),
        "结束日期": df["end_date"].map(_date),
        "工作日数": df["working_days"].astype("Int64"),
        "巡检单缺项": df["missing_fields"],
        "本季度巡检单数": df["inspections_in_quarter"].astype("Int64"),
        "暂定": df["provisional"].map(lambda v: "是" if v else ""),
        "来源": [f"{f}:{r}" if isinstance(f, str) else "" for f, r in zip(df["source_file"], df["source_row"],
                                                                         strict=True)],
    })


def _date(v) -> str:
    return "" if v is None or pd.isna(v) else str(pd.Timestamp(v).date())


def timeline_chart(con, contract: Contract, quarter: str) -> go.Figure:
    """Every inspection sheet that starts in the quarter, as a bar from start to end date."""
    info = quarter_info(con, quarter)
    names = contract.system_names()
    df = con.execute("""
        SELECT i.system, i.inspection_id, i.start_date, coalesce(i.end_date, i.start_date) AS end_date
        FROM inspections i WHERE i.start_date BETWEEN ? AND ? ORDER BY i.start_date""",
                     [info["covered_start"], info["covered_end"]]).df()
    fig = figure()
    for _, r in df.iterrows():
        start, end = pd.Timestamp(r["start_date"]), pd.Timestamp(r["end_date"]) + pd.Timedelta(days=1)
        fig.add_trace(go.Bar(x=[(end - start).total_seconds() * 1000], base=[start], y=[names.get(r["system"])],
                             orientation="h", marker_color=COLORS["accent"], showlegend=False,
                             hovertext=f"{r['inspection_id'] or ''} {start.date()} 至 {r['end_date']}",
                             hoverinfo="text"))
    fig.update_layout(title="本季度巡检时间线（开始日期至结束日期）", barmode="overlay",
                      xaxis={"type": "date", "range": [pd.Timestamp(info["start"]),
                                                       pd.Timestamp(info["end"]) + pd.Timedelta(days=1)]},
                      height=120 + 40 * max(1, df["system"].nunique()), margin={"l": 140})
    if not len(df):
        fig.add_annotation(text="本季度没有巡检记录", x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    return fig


def advice_table(con, quarter: str) -> pd.DataFrame:
    info = quarter_info(con, quarter)
    df = con.execute("""
        SELECT period, period_start, period_end, due_date, status, submitted_at, late_working_days, title,
               reports_in_period
        FROM advice_reports WHERE contract_year = ? AND period_start <= ? ORDER BY period_start""",
                     [info["contract_year"], info["start"]]).df()
    return pd.DataFrame({
        "期间": df["period"], "应交日期": df["due_date"].map(_date), "状态": df["status"].map(ADVICE_LABELS),
        "提交时间": df["submitted_at"].map(lambda v: "" if pd.isna(v) else str(v)[:16]),
        "逾期工作日": df["late_working_days"].astype("Int64"), "标题": df["title"],
        "本期份数": df["reports_in_period"].astype("Int64"),
    })


def months_of(con, quarter: str) -> list[str]:
    info = quarter_info(con, quarter)
    months = pd.period_range(pd.Timestamp(info["covered_start"]), pd.Timestamp(info["covered_end"]), freq="M")
    return [str(m) for m in months]


def ticket_summary(con, contract: Contract, quarter: str) -> pd.DataFrame:
    """The quarter's ticket clauses in brief: the monthly figures summed over its months."""
    months = months_of(con, quarter)
    parts = [report.clause_summary(con, contract, m) for m in months]
    out = parts[0][["条款编号", "条款", "时限"]].copy()
    for col in ("达标", "超时", "未到期", "除外"):
        out[col] = sum(p[col] for p in parts)
    out["达标率"] = [m / (m + b) if m + b else float("nan") for m, b in zip(out["达标"], out["超时"], strict=True)]
    by_month = pd.DataFrame({m: p.set_index("条款编号")["超时"] for m, p in zip(months, parts, strict=True)})
    by_month.columns = [f"{m} 超时" for m in months]
    return out.join(by_month, on="条款编号")
