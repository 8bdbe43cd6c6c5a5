"""Contract-year review for the renewal decision (notebooks/contract_year_review.ipynb).

Every number is decided here from the findings tables, so tests reach it:
- ``scorecard``: per clause target, result, breaches and a status (kept / partly kept / not
  kept) by the contract file's ``scorecard`` thresholds;
- ``monthly_trend``: each ticket clause's rate month by month;
- ``what_if``: the rate each ticket clause would have had under other thresholds, computed by
  running the same clocks with the threshold changed (so the point at the contract's own threshold
  equals the reported rate);
- ``concentration``, ``recurring``, ``change_requests``: where breaches gather, what keeps coming
  back, and the change-request work that has no clock.
"""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandas as pd

from sla_lib.findings import costs
from sla_lib.findings.tickets import CLOCK_INPUTS
from sla_lib.reports import monthly as report
from sla_lib.reports.charts import COLORS, figure, subplots
from sla_lib.rules.calendar import calendar_for
from sla_lib.rules.clocks import compute_clocks
from sla_lib.rules.contract import TICKET_CLAUSES, Contract
from sla_lib.rules.periods import year_months
from sla_lib.store.db import get_meta, per_state, table_exists

DEFAULT_SCORECARD = {"kept": 0.98, "partly_kept": 0.90}
STATUS_LABELS = {"kept": "履行", "partly_kept": "部分履行", "not_kept": "未履行", "no_data": "无数据"}
WHAT_IF = {
    "response": [10, 15, 20, 30, 45, 60],  # minutes
    "resolution": [0.5, 1, 2, 3],  # working days
    "onsite_arrival": [2, 3, 4, 6, 8],  # hours
    "onsite_fix": [4, 6, 8, 12, 24],  # hours
}


def thresholds(contract: Contract) -> dict[str, float]:
    sc = contract.raw.get("scorecard") or {}
    return {"kept": float(sc.get("kept", DEFAULT_SCORECARD["kept"])),
            "partly_kept": float(sc.get("partly_kept", DEFAULT_SCORECARD["partly_kept"]))}


def status_of(rate: float | None, contract: Contract) -> str:
    """kept when rate >= scorecard.kept, partly_kept when >= scorecard.partly_kept, else not_kept."""
    if rate is None or (isinstance(rate, float) and np.isnan(rate)):
        return "no_data"
    t = thresholds(contract)
    if rate >= t["kept"]:
        return "kept"
    if rate >= t["partly_kept"]:
        return "partly_kept"
    return "not_kept"


@per_state
def years_available(con, contract: Contract) -> list[int]:
    """Contract years that hold at least one ticket."""
    first = con.execute("SELECT min(reported_at), max(reported_at) FROM tickets").fetchall()[0]
    if first[0] is None:
        return []
    out, n = [], 1
    while True:
        start, end = contract.contract_year_bounds(n)
        if start > first[1].date():
            break
        if end > first[0].date():
            out.append(n)
        n += 1
    return out


def _rate(met: int, breached: int) -> float:
    return met / (met + breached) if met + breached else float("nan")


def ticket_counts(con, contract: Contract, year: int) -> pd.DataFrame:
    """met / breached / pending / excluded per ticket clause over the contract year."""
    months = year_months(contract, year)
    df = con.execute(f"""
        SELECT clause, count(*) FILTER (WHERE status = 'met') AS met,
               count(*) FILTER (WHERE status = 'breached') AS breached,
               count(*) FILTER (WHERE status = 'pending') AS pending,
               count(*) FILTER (WHERE status = 'excluded') AS excluded
        FROM ticket_sla WHERE month IN ({", ".join("?" for _ in months)}) GROUP BY clause""", months).df()
    df = df.set_index("clause").reindex(list(TICKET_CLAUSES)).fillna(0).astype(int)
    df["rate"] = [_rate(m, b) for m, b in zip(df["met"], df["breached"], strict=True)]
    return df


@per_state
def scorecard(con, contract: Contract, year: int) -> pd.DataFrame:
    """One row per clause: target, result, breaches, status (kept / partly kept / not kept)."""
    start, end = contract.contract_year_bounds(year)
    rows = []
    counts = ticket_counts(con, contract, year)
    for cid in TICKET_CLAUSES:
        c = counts.loc[cid]
        rows.append(_row(contract, cid, contract.threshold_text(cid), c["rate"], int(c["breached"]),
                         f"达标 {int(c['met'])}，超时 {int(c['breached'])}，未到期 {int(c['pending'])}"))
    if table_exists(con, "inspection_coverage"):
        ins = con.execute("""SELECT count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status NOT IN
                             ('done', 'not_yet_due')) FROM inspection_coverage WHERE contract_year = ?""",
                          [year]).fetchall()[0]
        rows.append(_row(contract, "inspection", "每系统每季度 1 次，≥ 3 个工作日", _rate(ins[0], ins[1]), ins[1],
                         f"已完成 {ins[0]} 项，未完成 {ins[1]} 项（系统 × 季度）"))
    if table_exists(con, "advice_reports"):
        adv = con.execute("""SELECT count(*) FILTER (WHERE status = 'on_time'), count(*) FILTER (WHERE status IN
                             ('late', 'missing')) FROM advice_reports WHERE contract_year = ?""", [year]).fetchall()[0]
        rows.append(_row(contract, "advice_report", "每季度至少 1 份", _rate(adv[0], adv[1]), adv[1],
                         f"按时 {adv[0]} 份，逾期或缺失 {adv[1]} 份"))
    for cid, table, ok, bad, target, what in (
        ("resident_staffing", "staffing_coverage", "covered", "NOT covered", "每个工作日至少 1 名驻场人员在岗", "工作日"),
        ("monthly_record", "monthly_records", "status = 'on_time'", "status IN ('late', 'missing')",
         "次月规定工作日内提交", "月"),
    ):
        if table_exists(con, table):
            r = _staff_counts(con, table, ok, bad, start, end)
            rows.append(_row(contract, cid, target, _rate(r[0], r[1]), r[1], f"达标 {r[0]} 个{what}，未达标 {r[1]} 个{what}"))
    if table_exists(con, "third_party_costs"):
        t = costs.totals(con, year_months(contract, year))
        rows.append({"条款编号": "third_party", "条款": contract.clauses.get("third_party", {}).get("title", "第三方维修费用"),
                     "合同章节": contract.clauses.get("third_party", {}).get("section", ""),
                     "目标": "现场超时引起的第三方维修费用由中标人承担",
                     "结果": f"应由中标人承担 {t['recoverable']:,.2f} 元", "违约次数": t["n_recoverable"],
                     "说明": f"另有争议 {t['disputed']:,.2f} 元（{t['n_disputed']} 笔）", "状态": "—"})
    return pd.DataFrame(rows)


def _staff_counts(con, table, ok, bad, start, end):
    """staffing_coverage: one row per evaluated working day, in the year by its date;
    monthly_records: one row per month, in the year by the month it covers (June's record, due in
    July, belongs to the year that holds June)."""
    if table == "staffing_coverage":
        where, args = "work_date >= ? AND work_date < ?", [start, end]
    else:
        where, args = "period >= ? AND period < ?", [f"{start:%Y-%m}", f"{end:%Y-%m}"]
    return con.execute(f"SELECT count(*) FILTER (WHERE {ok}), count(*) FILTER (WHERE {bad}) FROM {table} "
                       f"WHERE {where}", args).fetchall()[0]


def _row(contract, cid, target, rate, breaches, detail):
    c = contract.clauses.get(cid, {})
    st = status_of(rate, contract)
    return {"条款编号": cid, "条款": c.get("title", cid), "合同章节": c.get("section", ""), "目标": target,
            "结果": "—" if np.isnan(rate) else f"{rate:.1%}", "违约次数": int(breaches), "说明": detail,
            "状态": STATUS_LABELS[st]}


def monthly_trend(con, contract: Contract, year: int) -> pd.DataFrame:
    """Rate of each ticket clause per month of the contract year (long form)."""
    months = year_months(contract, year)
    df = con.execute(f"""
        SELECT month, clause, count(*) FILTER (WHERE status = 'met') AS met,
               count(*) FILTER (WHERE status = 'breached') AS breached
        FROM ticket_sla WHERE month IN ({", ".join("?" for _ in months)}) GROUP BY ALL ORDER BY ALL""",
                     months).df()
    df["rate"] = [_rate(m, b) for m, b in zip(df["met"], df["breached"], strict=True)]
    return df


def _year_tickets(con, contract: Contract, year: int):
    start, end = contract.contract_year_bounds(year)
    return con.sql(f"SELECT {', '.join(CLOCK_INPUTS)} FROM tickets WHERE reported_at >= '{start}' "
                   f"AND reported_at < '{end}'").to_arrow_table()


def _with_threshold(contract: Contract, clause: str, value: float) -> Contract:
    c = copy.copy(contract)
    c.clauses = copy.deepcopy(contract.clauses)
    cl = c.clauses[clause]
    if clause == "response":
        cl["limit_minutes"] = float(value)
    elif clause == "resolution":
        if float(value).is_integer():
            cl["working_days"] = int(value)
        else:  # a fraction of a day: that share of a working day's hours (rule working_hours)
            cl["rule"] = "working_hours"
            cl["hours_per_working_day"] = (cl.get("hours_per_working_day") or 7.5) * float(value)
            cl["working_days"] = 1
    else:
        cl["limit_hours"] = float(value)
    return c


@per_state
def what_if(con, contract: Contract, year: int, points: dict[str, list[float]] | None = None) -> pd.DataFrame:
    """Compliance each ticket clause would have had under other thresholds (the contract's own included)."""
    tbl = _year_tickets(con, contract, year)
    as_of = np.datetime64(get_meta(con, "as_of"), "s")
    points = points or WHAT_IF
    rows = []
    if tbl.num_rows == 0:
        return pd.DataFrame(columns=["clause", "threshold", "unit", "is_contract", "met", "breached", "rate"])
    cal = calendar_for(contract, contract.contract_year_bounds(year)[0], as_of)
    current = {"response": contract.clauses["response"]["limit_minutes"],
               "resolution": contract.clauses["resolution"]["working_days"],
               "onsite_arrival": contract.clauses["onsite_arrival"]["limit_hours"],
               "onsite_fix": contract.clauses["onsite_fix"]["limit_hours"]}
    units = {"response": "分钟", "resolution": "工作日", "onsite_arrival": "小时", "onsite_fix": "小时"}
    for i, clause in enumerate(TICKET_CLAUSES):
        values = sorted(set(points.get(clause, [])) | {current[clause]})
        for v in values:
            ct = compute_clocks(tbl, _with_threshold(contract, clause, v), as_of, cal)
            st = ct.status[i * ct.n:(i + 1) * ct.n]
            met, breached = int((st == 0).sum()), int((st == 1).sum())
            rows.append({"clause": clause, "threshold": float(v), "unit": units[clause],
                         "is_contract": float(v) == float(current[clause]), "met": met, "breached": breached,
                         "rate": _rate(met, breached)})
    return pd.DataFrame(rows)


def concentration(con, contract: Contract, year: int) -> pd.DataFrame:
    """Where breaches gather: share of breached clocks at night, on non-working days, per system,
    per engineer, on-site vs remote."""
    start, end = contract.contract_year_bounds(year)
    df = con.execute("""
        SELECT s.clause, s.status, t.reported_at, t.system, t.engineer, coalesce(t.onsite, false) AS onsite
        FROM ticket_sla s JOIN tickets t USING (ticket_id)
        WHERE t.reported_at >= ? AND t.reported_at < ? AND s.status IN ('met', 'breached')""", [start, end]).df()
    if df.empty:
        return pd.DataFrame(columns=["维度", "分组", "计时数", "超时", "超时率"])
    cal = calendar_for(contract, start, end)
    day = df["reported_at"].to_numpy(dtype="datetime64[D]")
    hour = df["reported_at"].dt.hour
    df["时段"] = np.where((hour >= 8) & (hour < 18), "白天 08–18 时", "夜间 18–08 时")
    df["日期类型"] = np.where(cal.is_working_day(day), "工作日", "节假日/周末")
    names = contract.system_names()
    df["系统"] = df["system"].map(lambda s: names.get(s, s or "未指定"))
    df["工程师"] = df["engineer"].fillna("未记录")
    df["服务方式"] = np.where(df["onsite"], "现场", "远程")
    out = []
    for dim in ("时段", "日期类型", "服务方式", "系统", "工程师"):
        g = df.groupby(dim)["status"].agg(n="count", b=lambda s: int((s == "breached").sum()))
        for key, r in g.sort_values("b", ascending=False).iterrows():
            out.append({"维度": dim, "分组": key, "计时数": int(r["n"]), "超时": int(r["b"]),
                        "超时率": r["b"] / r["n"] if r["n"] else float("nan")})
    return pd.DataFrame(out)


def recurring(con, contract: Contract, year: int, top: int = 10) -> dict[str, pd.DataFrame]:
    """Top categories, departments, and the same fault repeating (system + category + department
    reported again within 7 days)."""
    start, end = contract.contract_year_bounds(year)
    args = [start, end]
    cats = con.execute("""SELECT coalesce(category, '未分类') AS 问题类型, count(*) AS 工单数 FROM tickets
                          WHERE reported_at >= ? AND reported_at < ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?""",
                       [*args, top]).df()
    depts = con.execute("""SELECT coalesce(department, '未记录') AS 报修科室, count(*) AS 工单数 FROM tickets
                           WHERE reported_at >= ? AND reported_at < ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?""",
                        [*args, top]).df()
    names = contract.system_names()
    repeat = con.execute("""
        WITH t AS (
            SELECT system, category, department, reported_at,
                   lag(reported_at) OVER (PARTITION BY system, category, department ORDER BY reported_at) AS prev
            FROM tickets WHERE reported_at >= ? AND reported_at < ? AND category IS NOT NULL
        )
        SELECT system, category, department, count(*) AS repeats FROM t
        WHERE prev IS NOT NULL AND reported_at - prev <= INTERVAL 7 DAY
        GROUP BY ALL ORDER BY repeats DESC, system, category, department LIMIT ?""", [*args, top]).df()
    repeat = pd.DataFrame({"系统": repeat["system"].map(lambda s: names.get(s, s)), "问题类型": repeat["category"],
                           "报修科室": repeat["department"], "7 天内重复次数": repeat["repeats"]})
    return {"categories": cats, "departments": depts, "repeats": repeat}


def change_requests(con, contract: Contract, year: int) -> dict:
    """改造需求 (no clock in the contract): count, cycle time, backlog at as_of."""
    start, end = contract.contract_year_bounds(year)
    cats = list(contract.no_clock_categories)
    if not cats:
        return {"count": 0, "done": 0, "backlog": 0, "median_days": None, "p90_days": None}
    r = con.execute(f"""
        SELECT count(*), count(resolved_at),
               count(*) FILTER (WHERE resolved_at IS NULL),
               median(date_diff('second', reported_at, resolved_at) / 86400.0),
               quantile_cont(date_diff('second', reported_at, resolved_at) / 86400.0, 0.9)
        FROM tickets WHERE category IN ({", ".join("?" for _ in cats)}) AND reported_at >= ? AND reported_at < ?""",
                    [*cats, start, end]).fetchall()[0]
    return {"count": r[0], "done": r[1], "backlog": r[2], "median_days": r[3], "p90_days": r[4]}


def year_coverage(con, contract: Contract, year: int) -> dict:
    """How much of a contract year the data cover: the year's bounds, the data's as_of, whether the
    year is still running at as_of, and how many of its months have ended by then."""
    start, end = contract.contract_year_bounds(year)
    as_of = get_meta(con, "as_of")
    as_of_ts = pd.Timestamp(as_of) if as_of else None
    running = as_of_ts is not None and as_of_ts < pd.Timestamp(end)
    months = year_months(contract, year)
    if as_of_ts is None:
        closed = 0
    else:
        closed = sum(1 for m in months if pd.Period(m, "M").end_time < as_of_ts)
    last = end - dt.timedelta(days=1)
    if running:
        label = f"{start} 至 {as_of_ts:%Y-%m-%d}（进行中，已满 {closed} 个月）"
    else:
        label = f"{start} 至 {last}（全年）"
    return {"start": start, "end": end, "as_of": as_of, "running": running, "closed_months": closed,
            "label": label}


def compare_years(con, contract: Contract, years: list[int]) -> pd.DataFrame:
    """The scorecards of two or more contract years side by side: per clause each year's result,
    breaches and status, and a first row saying what part of each year the data cover (a running
    year is compared on the months it has so far)."""
    cards = {y: scorecard(con, contract, y).set_index("条款编号") for y in years}
    order = list(dict.fromkeys(c for y in years for c in cards[y].index))
    titles = {c: next(cards[y].loc[c, "条款"] for y in years if c in cards[y].index) for c in order}
    rows = [{"条款编号": "", "条款": "数据范围", **{k: v for y in years for k, v in (
        (f"第 {y} 年", year_coverage(con, contract, y)["label"]), (f"第 {y} 年违约次数", ""),
        (f"第 {y} 年状态", ""))}}]
    for c in order:
        row = {"条款编号": c, "条款": titles[c]}
        for y in years:
            card = cards[y]
            has = c in card.index
            row[f"第 {y} 年"] = card.loc[c, "结果"] if has else "—"
            row[f"第 {y} 年违约次数"] = int(card.loc[c, "违约次数"]) if has else ""
            row[f"第 {y} 年状态"] = card.loc[c, "状态"] if has else "—"
        rows.append(row)
    return pd.DataFrame(rows)


# -- figures and the one-page summary (the notebook only lays them out) ------------------------------
def what_if_chart(wi: pd.DataFrame, contract: Contract):
    """One small chart per ticket clause: rate against threshold, the contract's point marked."""
    from sla_lib.reports import figures as go

    titles = [contract.clauses[c]["title"] for c in TICKET_CLAUSES]
    fig = subplots(rows=1, cols=4, subplot_titles=titles, horizontal_spacing=0.06)
    for i, clause in enumerate(TICKET_CLAUSES, start=1):
        d = wi[wi["clause"] == clause]
        if d.empty:
            continue
        fig.add_trace(go.Scatter(x=d["threshold"], y=d["rate"], mode="lines+markers", showlegend=False,
                                 line={"color": COLORS["accent"]},
                                 hovertemplate="%{x} " + d["unit"].iloc[0] + "：%{y:.1%}<extra></extra>"), 1, i)
        cur = d[d["is_contract"]]
        fig.add_trace(go.Scatter(x=cur["threshold"], y=cur["rate"], mode="markers+text", showlegend=False,
                                 marker={"color": COLORS["超时"], "size": 11}, text=["合同"], textposition="bottom right"),
                      1, i)
        fig.update_xaxes(title_text=d["unit"].iloc[0], row=1, col=i)
    fig.update_yaxes(tickformat=".0%", range=[max(0.0, float(wi["rate"].min()) - 0.05), 1.005])
    # low enough to sit under the one-page summary on an A4 landscape page
    fig.update_layout(height=205, margin={"t": 55, "b": 40, "l": 50, "r": 20},
                      title="若合同时限取其他值：本年度各条款的达标率（红点为现行时限），供拟定下一期合同参考")
    return fig


def trend_chart(trend: pd.DataFrame, contract: Contract):
    from sla_lib.reports import figures as go

    fig = figure()
    for clause in TICKET_CLAUSES:
        d = trend[trend["clause"] == clause]
        fig.add_trace(go.Scatter(x=d["month"], y=d["rate"], mode="lines+markers",
                                 name=contract.clauses[clause]["title"]))
    fig.update_layout(title="各条款逐月达标率", yaxis={"tickformat": ".0%"}, height=360)
    return fig


def summary_markdown(con, contract: Contract, year: int) -> str:
    """The one-page summary: each clause's result, vendor-borne costs, the what-if conclusion."""
    cov = year_coverage(con, contract, year)
    sc = scorecard(con, contract, year)
    lines = [f"# {contract.hospital} 运维服务合同年度评估 · 第 {year} 年",
             f"合同年度：{cov['start']} 至 {cov['end'] - dt.timedelta(days=1)}　|　服务商：{contract.vendor}　|　"
             f"数据截至：{cov['as_of'] or '—'}", ""]
    if cov["running"]:
        lines += [f"> 本合同年度尚未结束：以下为 {cov['label']} 的结果，年度结束后应重新生成。", ""]
    lines += ["## 一页摘要", ""]
    t = thresholds(contract)
    lines.append(f"判定口径：达标率 ≥ {t['kept']:.0%} 为“履行”，≥ {t['partly_kept']:.0%} 为“部分履行”，其余为“未履行”"
                 "（合同文件 scorecard 设置）。")
    lines.append("")
    for _, r in sc.iterrows():
        verdict = "" if r["状态"] == "—" else f"；**{r['状态']}**"  # costs have amounts, not a status
        lines.append(f"- **{r['条款']}**（{r['目标']}）：{r['结果']}，{r['说明']}{verdict}")
    return "\n".join(lines)


def workbook_frames(con, contract: Contract, year: int) -> dict[str, pd.DataFrame]:
    """Sheets of the committee's workbook: scorecard, breach list of the year, cost ledger, what-if."""
    months = year_months(contract, year)
    breaches = pd.concat([report.breach_list(con, contract, m) for m in months], ignore_index=True)
    frames = {"评估表": scorecard(con, contract, year), "超时清单": breaches}
    if table_exists(con, "third_party_costs"):
        frames["第三方维修费用"] = costs.ledger(con, months)
    wi = what_if(con, contract, year)
    frames["假设时限"] = pd.DataFrame({
        "条款": wi["clause"].map(lambda c: contract.clauses[c]["title"]), "时限": wi["threshold"],
        "单位": wi["unit"], "现行合同": wi["is_contract"].map({True: "是", False: ""}), "达标": wi["met"],
        "超时": wi["breached"], "达标率": wi["rate"]})
    years = years_available(con, contract)
    if len(years) > 1:
        frames["年度对比"] = compare_years(con, contract, years)
    return frames
