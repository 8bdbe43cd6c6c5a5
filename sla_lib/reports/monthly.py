"""Figures for the reports, as pandas DataFrames with Chinese column headers.

Every function takes an open (read-only is enough) DuckDB connection to the project database
(tables of :mod:`sla_lib.db`) and, where clause titles or system names are shown, the loaded
:class:`~sla_lib.contract.Contract`. Notebooks only call these functions and display the result,
so every number a report prints is reachable from a test.

``month`` is ``'YYYY-MM'`` (the month a ticket was reported in); ``None`` means all months.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import math
import re
from typing import Any

import pandas as pd

from sla_lib.errors import SlaError
from sla_lib.rules.contract import TICKET_CLAUSES, Contract
from sla_lib.rules.periods import month_label_zh, parse_month
from sla_lib.store.db import per_state, table_exists

__all__ = [
    "TICKET_CLAUSES", "STATUS_LABELS", "BREAKDOWNS", "resolve_month", "months_available",
    "overview", "title_markdown", "clause_summary", "headline_markdown", "breach_list", "clock_distribution",
    "clock_measure", "clock_thresholds", "breakdown", "breakdown_wide", "excluded_list", "invalid_list",
    "data_quality", "external_verdicts", "reject_list", "reject_count", "method_notes", "fmt_duration", "fmt_rate",
]

# Chinese labels of the clock statuses (sla-rules.md "Clock statuses").
STATUS_LABELS: dict[str, str] = {
    "met": "达标",
    "breached": "超时",
    "pending": "未到期",
    "excluded": "除外",
    "not_applicable": "不适用",
    "invalid": "数据无效",
}
# Grouping keys of :func:`breakdown`: SQL expression over tickets ``t`` and the column header.
BREAKDOWNS: dict[str, tuple[str, str]] = {
    "system": ("t.system", "系统"),
    "channel": ("t.channel", "报修渠道"),
    "hour": ("hour(t.reported_at)", "报修时段（时）"),
    "engineer": ("t.engineer", "工程师"),
}
MISSING = "（未填）"
KIND_LABELS = {"tickets": "工单"}


# -- months ------------------------------------------------------------------------------------
def months_available(con) -> list[str]:
    """Months ('YYYY-MM', ascending) that have at least one ticket clock."""
    return [r[0] for r in con.execute("SELECT DISTINCT month FROM ticket_sla ORDER BY month").fetchall()]


def resolve_month(con, month: str | None) -> str:
    """``month`` validated; an empty value means the latest month in the database."""
    if month:
        return parse_month(month)
    months = months_available(con)
    if not months:
        raise SlaError("the database has no ticket clocks yet (table ticket_sla is empty); run `sla ingest` first")
    return months[-1]


def _where_month(month: str | None, alias: str = "s") -> tuple[str, list[Any]]:
    if month is None:
        return "TRUE", []
    return f"{alias}.month = ?", [parse_month(month)]


def _month_label(month: str | None) -> str:
    return "全部月份" if month is None else month_label_zh(month)


# -- small helpers -------------------------------------------------------------------------------
def _df(con, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def _meta(con) -> dict[str, str]:
    return {k: v for k, v in con.execute("SELECT key, value FROM meta").fetchall()}


def _check_clause(clause: str) -> str:
    if clause not in TICKET_CLAUSES:
        raise SlaError(f"clause {clause!r}: expected one of {', '.join(TICKET_CLAUSES)}")
    return clause


def _titles(contract: Contract) -> dict[str, str]:
    return {cid: contract.clauses[cid]["title"] for cid in TICKET_CLAUSES}


def _system_name(contract: Contract):
    names = contract.system_names()

    def f(code):
        if code is None or (isinstance(code, float) and math.isnan(code)) or code is pd.NA:
            return MISSING
        return names.get(code, code)

    return f


def _blank(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _source(file, row) -> str:
    if _blank(file):
        return ""
    return f"{file}:{int(row)}" if not _blank(row) else str(file)


def _rate(met: int, breached: int) -> float:
    n = met + breached
    return met / n if n else float("nan")


def fmt_rate(rate: float) -> str:
    """0.955 -> '95.5%'; NaN (no met or breached clock) -> '—'."""
    if _blank(rate):
        return "—"
    return f"{rate * 100:.1f}%"


def fmt_duration(minutes: float | None) -> str:
    """Minutes as Chinese text: 45 -> '45分钟', 90 -> '1小时30分钟', 1500 -> '1天1小时', 0.5 -> '30秒'."""
    if _blank(minutes):
        return ""
    if minutes < 1:
        return f"{round(minutes * 60)}秒"
    total = int(round(minutes))
    d, rest = divmod(total, 1440)
    h, m = divmod(rest, 60)
    parts = [f"{d}天" if d else "", f"{h}小时" if h else "", f"{m}分钟" if m else ""]
    return "".join(parts)


def _quote(text: str) -> str:
    return f"“{text.strip()}”"


# -- overview ---------------------------------------------------------------------------------------
@per_state
def overview(con, contract: Contract, month: str | None) -> dict[str, Any]:
    """Header facts of a report: hospital, vendor, period, tickets, as_of and provisional flag."""
    where, params = _where_month(month)
    n_tickets, n_prov = con.execute(
        f"SELECT count(DISTINCT ticket_id), count(*) FILTER (WHERE provisional) FROM ticket_sla s WHERE {where}",
        params,
    ).fetchall()[0]
    meta = _meta(con)
    return {
        "hospital": contract.hospital,
        "vendor": contract.vendor,
        "month": month,
        "period_label": _month_label(month),
        "tickets": int(n_tickets),
        "provisional_clocks": int(n_prov),
        "as_of": meta.get("as_of"),
        "as_of_source": meta.get("as_of_source"),
        "computed_at": meta.get("computed_at"),
    }


def title_markdown(con, contract: Contract, month: str | None) -> str:
    """The report heading: hospital, month, vendor, ticket count and the as_of in force."""
    o = overview(con, contract, month)
    lines = [
        f"# {o['hospital']} 运维服务月度报告 · {o['period_label']}",
        "",
        f"服务商：{o['vendor'] or '—'}　｜　本期工单：{o['tickets']} 张　｜　数据截至：{o['as_of'] or '—'}"
        f"（{_as_of_source_text(o['as_of_source'])}）",
    ]
    if o["provisional_clocks"]:
        years = [str(r[0]) for r in con.execute(
            "SELECT year FROM calendar_years WHERE provisional ORDER BY year").fetchall()]
        lines += ["", f"> **注意：** 本期有 {o['provisional_clocks']} 项计时用到了暂定（未收录）的日历年份"
                      + (f"（{'、'.join(years)} 年）" if years else "")
                      + "，相关数字标为“暂定”，详见“方法说明”。"
                      + (f"要得到确定的结果，请在合同文件 calendar.files 中加入 "
                         f"{'、'.join(f'calendars/{y}.json' for y in years)}（holiday-cn 格式）。" if years else "")]
    return "\n".join(lines)


def _as_of_source_text(src: str | None) -> str:
    return {
        "data": "取自已载入数据中的最新时间",
        "override": "由 sla ingest --as-of 指定",
    }.get(src or "", src or "来源未记录")


# -- clause summary -------------------------------------------------------------------------------
SUMMARY_COUNTS = ("达标", "超时", "未到期", "除外", "不适用", "数据无效")


@per_state
def clause_summary(con, contract: Contract, month: str | None) -> pd.DataFrame:
    """One row per ticket clause: the promise (quoted, with its seed section), threshold and counts.

    达标率 = 达标 / (达标 + 超时), NaN when both are 0. 暂定 counts clocks that used a
    provisional calendar year.
    """
    where, params = _where_month(month)
    counts = _df(con, f"""
        SELECT clause,
            count(*) FILTER (WHERE status = 'met') AS met,
            count(*) FILTER (WHERE status = 'breached') AS breached,
            count(*) FILTER (WHERE status = 'pending') AS pending,
            count(*) FILTER (WHERE status = 'excluded') AS excluded,
            count(*) FILTER (WHERE status = 'not_applicable') AS not_applicable,
            count(*) FILTER (WHERE status = 'invalid') AS invalid,
            count(*) FILTER (WHERE provisional) AS provisional
        FROM ticket_sla s WHERE {where} GROUP BY clause""", params).set_index("clause")
    rows = []
    for cid in TICKET_CLAUSES:
        c = contract.clauses[cid]
        n = {k: int(counts.at[cid, k]) if cid in counts.index else 0 for k in (
            "met", "breached", "pending", "excluded", "not_applicable", "invalid", "provisional")}
        rows.append({
            "条款编号": cid,
            "条款": c["title"],
            "合同章节": c["section"],
            "合同承诺": _quote(c["text"]),
            "时限": contract.threshold_text(cid),
            "达标": n["met"],
            "超时": n["breached"],
            "达标率": _rate(n["met"], n["breached"]),
            "未到期": n["pending"],
            "除外": n["excluded"],
            "不适用": n["not_applicable"],
            "数据无效": n["invalid"],
            "暂定": n["provisional"],
        })
    out = pd.DataFrame(rows)
    return out.astype({k: "int64" for k in (*SUMMARY_COUNTS, "暂定")}).astype({"达标率": "float64"})


def headline_markdown(summary: pd.DataFrame) -> str:
    """One Markdown paragraph per clause of :func:`clause_summary`: the promise and its figures."""
    parts = []
    for r in summary.to_dict("records"):
        line = (
            f"**{r['条款']}**（`{r['条款编号']}`，合同 {r['合同章节']}）：{r['合同承诺']}，时限 {r['时限']}。  \n"
            f"达标 **{r['达标']}**，超时 **{r['超时']}**，达标率 **{fmt_rate(r['达标率'])}**；"
            f"未到期 {r['未到期']}，除外 {r['除外']}，不适用 {r['不适用']}，数据无效 {r['数据无效']}。"
        )
        if r["暂定"]:
            line += f" 其中 {r['暂定']} 项为暂定（用到未收录的日历年份）。"
        parts.append(line)
    return "\n\n".join(parts)


# -- lists ---------------------------------------------------------------------------------------------
def _clause_order_sql() -> str:
    return "CASE s.clause " + " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(TICKET_CLAUSES)) + " END"


@per_state
def breach_list(con, contract: Contract, month: str | None) -> pd.DataFrame:
    """Every breached (ticket, clause): where it came from, start, deadline, stop and how late.

    结束 is empty when the clock never stopped (late counted to as_of).
    """
    where, params = _where_month(month)
    df = _df(con, f"""
        SELECT s.ticket_id, t.system, t.department, s.clause, s.start_at, s.deadline_at, s.stop_at,
               s.late_minutes, s.provisional, t.source_file, t.source_row
        FROM ticket_sla s LEFT JOIN tickets t USING (ticket_id)
        WHERE s.status = 'breached' AND {where}
        ORDER BY {_clause_order_sql()}, s.start_at, s.ticket_id""", params)
    titles, sysname = _titles(contract), _system_name(contract)
    return pd.DataFrame({
        "工单号": df["ticket_id"],
        "系统": df["system"].map(sysname),
        "科室": df["department"],
        "条款": df["clause"].map(titles),
        "开始": df["start_at"],
        "时限": df["deadline_at"],
        "结束": df["stop_at"],
        "超时（分钟）": df["late_minutes"].astype("float64").round(1),
        "超时": df["late_minutes"].map(fmt_duration),
        "暂定": df["provisional"].astype(bool),
        "来源": [_source(f, r) for f, r in zip(df["source_file"], df["source_row"], strict=True)],
    })


def excluded_list(con, contract: Contract, month: str | None) -> pd.DataFrame:
    """Tickets carrying an exclusion reason: shown apart with the reason, never dropped."""
    where, params = _where_month(month)
    df = _df(con, f"""
        SELECT s.ticket_id, s.clause, s.note, t.reported_at, t.system, t.department, t.category,
               t.exclusion, t.source_file, t.source_row
        FROM ticket_sla s LEFT JOIN tickets t USING (ticket_id)
        WHERE s.status = 'excluded' AND {where}
        ORDER BY t.reported_at, s.ticket_id, {_clause_order_sql()}""", params)
    titles, sysname = _titles(contract), _system_name(contract)
    rows = []
    for tid, g in df.groupby("ticket_id", sort=False):
        r = g.iloc[0]
        reason = r["exclusion"] if not _blank(r["exclusion"]) else (g["note"].dropna().iloc[0]
                                                                    if g["note"].notna().any() else "")
        rows.append({
            "工单号": tid,
            "报修时间": r["reported_at"],
            "系统": sysname(r["system"]),
            "科室": r["department"],
            "类别": r["category"],
            "除外原因": reason,
            "涉及条款": "、".join(titles[c] for c in g["clause"]),
            "来源": _source(r["source_file"], r["source_row"]),
        })
    cols = ["工单号", "报修时间", "系统", "科室", "类别", "除外原因", "涉及条款", "来源"]
    return pd.DataFrame(rows, columns=cols)


def invalid_list(con, contract: Contract, month: str | None) -> pd.DataFrame:
    """(ticket, clause) pairs whose timestamps contradict each other, with the reason and source row."""
    where, params = _where_month(month)
    df = _df(con, f"""
        SELECT s.ticket_id, t.reported_at, t.system, s.clause, s.start_at, s.stop_at, s.note,
               t.source_file, t.source_row
        FROM ticket_sla s LEFT JOIN tickets t USING (ticket_id)
        WHERE s.status = 'invalid' AND {where}
        ORDER BY t.reported_at, s.ticket_id, {_clause_order_sql()}""", params)
    titles, sysname = _titles(contract), _system_name(contract)
    return pd.DataFrame({
        "工单号": df["ticket_id"],
        "报修时间": df["reported_at"],
        "系统": df["system"].map(sysname),
        "条款": df["clause"].map(titles),
        "开始": df["start_at"],
        "结束": df["stop_at"],
        "原因": df["note"],
        "来源": [_source(f, r) for f, r in zip(df["source_file"], df["source_row"], strict=True)],
    })


# -- clock distributions ---------------------------------------------------------------------------
def clock_distribution(con, month: str | None, clause: str) -> pd.DataFrame:
    """Elapsed time of every measured clock (met, breached, pending) of one clause.

    自然时长 is wall clock; 工作时长 is working time of the hospital calendar (used for
    ``resolution``). Pending clocks are measured up to as_of.
    """
    _check_clause(clause)
    where, params = _where_month(month)
    df = _df(con, f"""
        SELECT ticket_id, status, elapsed_minutes, working_minutes, provisional
        FROM ticket_sla s
        WHERE s.clause = ? AND s.status IN ('met', 'breached', 'pending') AND {where}
        ORDER BY elapsed_minutes, ticket_id""", [clause, *params])
    return pd.DataFrame({
        "工单号": df["ticket_id"],
        "状态": df["status"].map(STATUS_LABELS),
        "自然时长（分钟）": df["elapsed_minutes"].astype("float64"),
        "工作时长（分钟）": df["working_minutes"].astype("float64"),
        "暂定": df["provisional"].astype(bool),
    })


def clock_measure(clause: str) -> dict[str, Any]:
    """How a clause's clock is plotted: the column of :func:`clock_distribution`, unit and divisor."""
    _check_clause(clause)
    if clause == "response":
        return {"column": "自然时长（分钟）", "unit": "分钟", "divisor": 1.0, "axis": "响应用时（分钟，自然时间）"}
    if clause == "resolution":
        return {"column": "工作时长（分钟）", "unit": "工作小时", "divisor": 60.0,
                "axis": "解决用时（工作小时，医院工作日历）"}
    name = "到达用时" if clause == "onsite_arrival" else "排除故障用时"
    return {"column": "自然时长（分钟）", "unit": "小时", "divisor": 60.0, "axis": f"{name}（小时，自然时间）"}


def _season_day_minutes(contract: Contract, month: str | None) -> list[tuple[str, float]]:
    """(season label, working minutes of one day) for every season that covers a day of ``month``."""
    if month is None:
        seasons = list(contract.seasons)
    else:
        y, m = (int(x) for x in month.split("-"))
        seen = []
        for day in range(1, _calendar.monthrange(y, m)[1] + 1):
            mmdd = dt.date(y, m, day).strftime("%m-%d")
            for s in contract.seasons:
                if s.covers(mmdd) and s not in seen:
                    seen.append(s)
        seasons = seen
    return [(s.label, sum(b - a for a, b in s.periods) / 60) for s in seasons]


def clock_thresholds(contract: Contract, clause: str, month: str | None = None) -> list[tuple[float, str]]:
    """Contract limits of a clause in the minutes of :func:`clock_measure`, each with a label.

    ``resolution`` is measured in working time: with rule ``next_working_day`` the deadline is
    one full working day of the season after the start (one line per season of the month); with
    ``working_hours`` it is N × hours_per_working_day. Rule ``end_of_next_working_day`` has no
    single limit in working time (it depends on the start), so no line is returned.
    """
    _check_clause(clause)
    c = contract.clauses[clause]
    if clause == "response":
        return [(float(c["limit_minutes"]), f"时限 {c['limit_minutes']:g} 分钟")]
    if clause in ("onsite_arrival", "onsite_fix"):
        return [(float(c["limit_hours"]) * 60, f"时限 {c['limit_hours']:g} 小时")]
    n = c["working_days"]
    if c["rule"] == "working_hours":
        return [(n * c["hours_per_working_day"] * 60, f"时限 {n} 个工作日 = {n * c['hours_per_working_day']:g} 工作小时")]
    if c["rule"] == "next_working_day":
        return [(n * mins, f"时限 {n} 个工作日 = {n * mins / 60:g} 工作小时（{label}）")
                for label, mins in _season_day_minutes(contract, month)]
    return []


# -- breakdowns ------------------------------------------------------------------------------------------
def breakdown(con, contract: Contract, month: str | None, by: str) -> pd.DataFrame:
    """Met / breached / pending and rate per group and clause; ``by`` in system, channel, hour, engineer.

    Every group that has a ticket in the period gets a row for each of the four clauses (zeros
    included). Empty system / channel / engineer values are grouped as （未填）.
    """
    if by not in BREAKDOWNS:
        raise SlaError(f"breakdown by {by!r}: expected one of {', '.join(BREAKDOWNS)}")
    expr, header = BREAKDOWNS[by]
    where, params = _where_month(month)
    df = _df(con, f"""
        SELECT {expr} AS grp, s.clause,
            count(*) FILTER (WHERE s.status = 'met') AS met,
            count(*) FILTER (WHERE s.status = 'breached') AS breached,
            count(*) FILTER (WHERE s.status = 'pending') AS pending
        FROM ticket_sla s JOIN tickets t USING (ticket_id)
        WHERE {where} GROUP BY ALL""", params)
    if by == "hour":
        groups = sorted(int(g) for g in df["grp"].dropna().unique())
        df["grp"] = df["grp"].astype("Int64")
    else:
        label = _system_name(contract) if by == "system" else (lambda v: MISSING if _blank(v) else v)
        df["grp"] = df["grp"].map(label)
        present = set(df["grp"])
        if by == "system":
            order = [s.name for s in contract.systems]
            groups = [g for g in order if g in present] + sorted(present - set(order) - {MISSING})
        else:
            groups = sorted(present - {MISSING})
        if MISSING in present:
            groups.append(MISSING)
    titles = _titles(contract)
    counts: dict[tuple, tuple[int, int, int]] = {}  # (group, clause) -> (met, breached, pending)
    for key in zip(df["grp"].tolist(), df["clause"].tolist(), df["met"].tolist(), df["breached"].tolist(),
                   df["pending"].tolist(), strict=True):
        old = counts.get(key[:2], (0, 0, 0))
        counts[key[:2]] = tuple(a + int(b) for a, b in zip(old, key[2:], strict=True))
    rows = []
    for g in groups:
        for cid in TICKET_CLAUSES:
            met, breached, pending = counts.get((g, cid), (0, 0, 0))
            rows.append({header: g, "条款编号": cid, "条款": titles[cid], "达标": met, "超时": breached,
                         "未到期": pending, "达标率": _rate(met, breached)})
    out = pd.DataFrame(rows, columns=[header, "条款编号", "条款", "达标", "超时", "未到期", "达标率"])
    return out.astype({"达标": "int64", "超时": "int64", "未到期": "int64", "达标率": "float64"})


def breakdown_wide(df: pd.DataFrame) -> pd.DataFrame:
    """A :func:`breakdown` frame with one row per group: 超时 and 达标率 of each clause side by side."""
    header = df.columns[0]
    out = pd.DataFrame({header: pd.unique(df[header])})
    for title in pd.unique(df["条款"]):
        part = df[df["条款"] == title].set_index(header)
        out[f"{title}·超时"] = out[header].map(part["超时"]).astype("int64")
        out[f"{title}·达标率"] = out[header].map(part["达标率"]).astype("float64")
    return out


# -- data quality --------------------------------------------------------------------------------------------
def data_quality(con) -> pd.DataFrame:
    """Per loaded file: rows read / loaded / rejected / merged / superseded, and a 合计 row.

    读取 = 载入 + 拒收 + 合并, where 合并 counts the event rows of an event-log export folded into
    their ticket. 被取代 = loaded ticket rows that a newer export of the same ticket superseded
    (loaded rows minus rows of the file that are the current version in ``tickets``); they were
    loaded, so they are part of 载入. Superseding applies to ticket files only (empty otherwise).
    """
    df = _df(con, """
        WITH cur AS (
            SELECT file_id, count(*) AS n FROM (SELECT DISTINCT file_id, source_row FROM tickets) GROUP BY file_id
        )
        SELECT l.source_file, l.kind, l.preset, l.encoding, l.loaded_at, l.export_as_of,
               l.rows_read, l.rows_loaded, l.rows_rejected, l.rows_merged,
               CASE WHEN l.kind = 'tickets' THEN l.rows_loaded - coalesce(cur.n, 0) END AS superseded
        FROM ingest_log l LEFT JOIN cur USING (file_id)
        ORDER BY l.load_seq""")
    counts = {"读取行数": "rows_read", "载入行数": "rows_loaded", "拒收行数": "rows_rejected",
              "合并行数": "rows_merged", "被取代行数": "superseded"}
    out = pd.DataFrame({
        "文件": df["source_file"].astype(object),
        "类型": df["kind"].map(lambda k: KIND_LABELS.get(k, k)).astype(object),
        "预设": df["preset"].astype(object),
        "编码": df["encoding"].astype(object),
        "载入时间": df["loaded_at"],
        "文件内最新时间": df["export_as_of"],
        **{label: df[col].astype("Int64") for label, col in counts.items()},
    })
    total = {c: "" for c in ("类型", "预设", "编码")}
    total |= {"文件": "合计", "载入时间": pd.NaT, "文件内最新时间": pd.NaT}
    for c in counts:
        total[c] = int(out[c].sum(skipna=True))
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    for c in counts:
        out[c] = out[c].astype("Int64")
    return out


def external_verdicts(con, month: str | None) -> pd.DataFrame:
    """Our verdict beside a foreign tool's own (e.g. ServiceNow ``made_sla``), ticket counts.

    Ours per ticket: 超时 when any clock breached, 达标 when every timed clock met, else 未定
    (pending, or no timed clock). Empty when no ticket of the month carries an external verdict.
    """
    where, params = _where_month(month, "s")
    df = _df(con, f"""
        WITH v AS (
            SELECT s.ticket_id,
                   CASE WHEN bool_or(s.status = 'breached') THEN '超时'
                        WHEN bool_and(s.status IN ('met', 'not_applicable', 'excluded', 'invalid'))
                             AND bool_or(s.status = 'met') THEN '达标'
                        ELSE '未定' END AS ours
            FROM ticket_sla s WHERE {where} GROUP BY s.ticket_id
        )
        SELECT upper(t.external_sla) AS theirs, v.ours, count(*) AS n
        FROM v JOIN tickets t USING (ticket_id)
        WHERE t.external_sla IS NOT NULL GROUP BY ALL ORDER BY ALL""", params)
    if df.empty:
        return pd.DataFrame(columns=["外部系统判定", "本工具：达标", "本工具：超时", "本工具：未定", "合计"])
    wide = df.pivot_table(index="theirs", columns="ours", values="n", aggfunc="sum", fill_value=0)
    for c in ("达标", "超时", "未定"):
        if c not in wide:
            wide[c] = 0
    label = {"TRUE": "达标（made_sla = TRUE）", "FALSE": "未达标（made_sla = FALSE）"}
    return pd.DataFrame({
        "外部系统判定": [label.get(i, i) for i in wide.index],
        "本工具：达标": wide["达标"].to_numpy(), "本工具：超时": wide["超时"].to_numpy(),
        "本工具：未定": wide["未定"].to_numpy(),
        "合计": (wide["达标"] + wide["超时"] + wide["未定"]).to_numpy(),
    })


def reject_count(con) -> int:
    return int(con.execute("SELECT count(*) FROM rejects").fetchall()[0][0])


def reject_list(con, limit: int | None = 200, file: str | None = None) -> pd.DataFrame:
    """Rejected cells (file, row, column, reason, original text) in load order; ``limit`` None = all;
    ``file``: only that file (its path as loaded, or just its name)."""
    params: list[Any] = []
    where = ""
    if file:
        where = "WHERE r.source_file = ? OR r.source_file LIKE ?"
        params += [file, "%/" + file.replace("\\", "/").rsplit("/", 1)[-1]]
    sql = f"""
        SELECT r.source_file, r.source_row, r.column_name, r.reason, r.original_text
        FROM rejects r LEFT JOIN ingest_log l USING (file_id) {where}
        ORDER BY l.load_seq NULLS LAST, r.source_file, r.source_row NULLS LAST, r.column_name"""
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    df = _df(con, sql, params)
    return pd.DataFrame({
        "文件": df["source_file"],
        "行号": df["source_row"].astype("Int64"),
        "列": df["column_name"],
        "原因": df["reason"],
        "原文": df["original_text"],
    })


# -- method notes -------------------------------------------------------------------------------------------------
_CAL_SOURCES = {
    "chinese_calendar": "chinesecalendar 包（国务院办公厅节假日安排）",
    "chinesecalendar": "chinesecalendar 包（国务院办公厅节假日安排）",
    "contract": "合同文件 calendar 设置",
    "provisional": "未收录，暂按周一至周五",
}
ADD_YEAR_HINT = (
    "补充缺失年份的方法：国务院办公厅发布该年节假日安排后，把社区整理的 holiday-cn 文件（如 2027.json，"
    "或一个“日期,类型”的 CSV，类型为 放假 / 上班）放在合同文件旁的 calendars/ 目录，并在 contract.yaml 中写上 "
    "calendar.files: [calendars/2027.json]；或升级 chinesecalendar 包（pip install -U chinesecalendar）；"
    "或在 calendar.extra_working_days（调休上班日）与 calendar.extra_non_working_days（法定节假日）中列出该年的日期。"
    "然后运行 sla ingest 重新计算，并重新生成报告。"
)


def add_year_hint(years: list[str]) -> str:
    """What to add so that these provisional years become exact: the file, by name."""
    if not years:
        return ADD_YEAR_HINT
    files = "、".join(f"calendars/{y}.json" for y in years)
    return (f"请在 contract.yaml 的 calendar.files 中加入 {files}（holiday-cn 格式，国务院办公厅通知发布后即有），"
            "或“日期,类型”的 CSV。" + ADD_YEAR_HINT)


def _cal_source(src: str) -> str:
    """'chinese_calendar 1.11.0' -> 'chinesecalendar 包 1.11.0（国务院办公厅节假日安排）'."""
    if src in _CAL_SOURCES:
        return _CAL_SOURCES[src]
    if (src or "").startswith("calendar.files: "):
        return f"合同文件 calendar.files 中的 {src.split(': ', 1)[1]}（国务院办公厅节假日安排）"
    m = re.match(r"^chinese_?calendar\s+(\S+)$", src or "")
    if m:
        return f"chinesecalendar 包 {m.group(1)}（国务院办公厅节假日安排）"
    return src


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def method_notes(con, contract: Contract) -> pd.DataFrame:
    """The 方法说明 table (项目, 说明): as_of and its source, the rules in force, calendar years."""
    meta = _meta(con)
    cl = contract.clauses
    rows: list[tuple[str, str]] = []
    rows.append(("数据截至（as_of）", f"{meta.get('as_of') or '—'}（{_as_of_source_text(meta.get('as_of_source'))}）。"
                 "截至该时刻仍未停止且时限未到的计时记为“未到期”，不计为超时。"))
    if meta.get("computed_at"):
        rows.append(("计算时间", meta["computed_at"]))
    sha = meta.get("contract_sha256")
    contract_line = f"{contract.path.name}（SHA-256 {contract.sha256[:12]}…）"
    if sha and sha != contract.sha256:
        contract_line += (f"。注意：数据库中的结果是用另一版本的合同文件（SHA-256 {sha[:12]}…）计算的，"
                          "请重新计算后再生成报告。")
    rows.append(("合同文件", contract_line))
    rows.append(("达标率", "达标 ÷（达标 + 超时）。未到期、除外、不适用、数据无效均不计入，另行列出。"
                 "恰好在时限时刻停止计为达标（停止 ≤ 时限）。工单归属其报修时间所在的月份。"))
    rows.append((f"{cl['response']['title']}（response）",
                 f"时限 {contract.threshold_text('response')}。开始 = 报修时间，停止 = 首次响应时间；"
                 "夜间与节假日照常计时。"))
    res = cl["resolution"]
    rule_text = {
        "next_working_day": "开始时刻若不在工作时间内，顺延至下一个工作时间起点；时限 = 其后第 N 个工作日的同一时刻",
        "end_of_next_working_day": "时限 = 开始（顺延至工作时间后）所在日期之后第 N 个工作日的下班时刻",
        "working_hours": f"时限 = 开始后累计 N × {res.get('hours_per_working_day')} 个工作小时（只计工作时间）",
    }[res["rule"]]
    applies = "全部工单" if res["applies_to"] == "all" else "仅远程工单（现场工单记为不适用）"
    rows.append((f"{res['title']}（resolution）",
                 f"时限 {contract.threshold_text('resolution')}，N = {res['working_days']}。开始 = 受理时间"
                 f"（响应时间，缺失时用报修时间）；停止 = 解决时间与给出可行方案时间中较早者。规则 {res['rule']}："
                 f"{rule_text}。适用于{applies}。报告同时给出工作小时与自然小时。"))
    rows.append((f"{cl['onsite_arrival']['title']}（onsite_arrival）",
                 f"时限 {contract.threshold_text('onsite_arrival')}。适用于需要上门的工单；开始 = 通知上门时间"
                 "（缺失时用报修时间），停止 = 到达现场时间。"))
    anchor = ("工程师到达现场时间（anchor: arrival）" if cl["onsite_fix"]["anchor"] == "arrival"
              else "通知上门时间（anchor: notification）")
    rows.append((f"{cl['onsite_fix']['title']}（onsite_fix）",
                 f"时限 {contract.threshold_text('onsite_fix')}。开始 = {anchor}，停止 = 现场排除故障时间"
                 "（缺失时用解决时间）。未记录到达时间的现场工单，自通知时间起计并加注说明。"))
    for s in contract.seasons:
        periods = "、".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in s.periods)
        rows.append((f"工作时间：{s.label}", f"{s.start_mmdd} 至 {s.end_mmdd}：{periods}"
                     "（含起点、不含终点，例如 12:00:00 已属午休）。"))
    extra = []
    if contract.extra_working_days:
        extra.append("加班工作日 " + "、".join(str(d) for d in sorted(contract.extra_working_days)))
    if contract.extra_non_working_days:
        extra.append("医院停诊日 " + "、".join(str(d) for d in sorted(contract.extra_non_working_days)))
    rows.append(("工作日", "周一至周五，扣除法定节假日，加上调休上班日；合同文件中的补充日期优先。"
                 + ("；".join(extra) + "。" if extra else "合同文件未补充日期。")))
    years = con.execute("SELECT year, source, provisional FROM calendar_years ORDER BY year").fetchall()
    if years:
        rows.append(("使用的日历年份", "；".join(
            f"{y} 年：{_cal_source(src)}" + ("（暂定）" if prov else "") for y, src, prov in years) + "。"))
    else:
        rows.append(("使用的日历年份", "数据库中没有日历年份记录。"))
    prov_years = [str(y) for y, _, prov in years if prov]
    if prov_years:
        rows.append(("暂定年份", f"{'、'.join(prov_years)} 年的节假日与调休未收录，暂按周一至周五为工作日计算；"
                     "用到这些年份的计时标为“暂定”。" + add_year_hint(prov_years)))
    else:
        rows.append(("暂定年份", "无。若将来出现未收录的年份，报告会标为“暂定”。" + ADD_YEAR_HINT))
    if contract.no_clock_categories:
        rows.append(("不计时类别", "、".join(contract.no_clock_categories) + "：合同未规定时限，各时钟记为不适用。"))
    return pd.DataFrame(rows, columns=["项目", "说明"])


# -- register integrity (sla_lib/findings/integrity.py) ---------------------------------------------------------
FINDING_LABELS = {
    "edited": "登记被改动", "vanished": "工单消失", "number_gap": "编号缺失", "late_entry": "事后补登",
    "duplicate_suspect": "疑似重复", "threshold_heaping": "时限前扎堆", "backfilled": "补卡",
}


def register_summary(con, month: str | list[str] | None) -> pd.DataFrame:
    """Findings about the register itself, counted per kind (every kind listed, zeros included),
    for a month, a list of months (a contract year) or everything."""
    counts = {}
    if table_exists(con, "register_findings"):
        months = [parse_month(m) for m in ([month] if isinstance(month, str) else (month or []))]
        where, params = ("list_contains(?, month)", [months]) if month else ("TRUE", [])
        counts = dict(con.execute(f"SELECT finding, count(*) FROM register_findings WHERE {where} GROUP BY 1",
                                  params).fetchall())
    return pd.DataFrame({"类型": list(FINDING_LABELS.values()), "项数": [int(counts.get(k, 0)) for k in FINDING_LABELS]})


@per_state
def register_list(con, month: str | None) -> pd.DataFrame:
    """Every finding of the month about the register, with both source rows."""
    cols = ["类型", "工单号", "说明", "原导出", "新导出", "月结后改动", "使超时变达标"]
    if not table_exists(con, "register_findings"):
        return pd.DataFrame(columns=cols)
    where, params = ("month = ?", [parse_month(month)]) if month else ("TRUE", [])
    df = _df(con, f"""SELECT finding, ticket_id, detail, old_file, old_row, new_file, new_row, after_close, favours_vendor
                      FROM register_findings WHERE {where}
                      ORDER BY list_position({list(FINDING_LABELS)}, finding), ticket_id, column_name""", params)

    def src(f, r):
        return [None if pd.isna(a) else (f"{a}:{int(b)}" if not pd.isna(b) else str(a)) for a, b in zip(f, r, strict=True)]

    return pd.DataFrame({
        "类型": df["finding"].map(FINDING_LABELS).astype(object),
        "工单号": df["ticket_id"].astype(object),
        "说明": df["detail"].astype(object),
        "原导出": src(df["old_file"], df["old_row"]),
        "新导出": src(df["new_file"], df["new_row"]),
        "月结后改动": df["after_close"].astype(object).where(df["after_close"].notna(), None),
        "使超时变达标": df["favours_vendor"].astype(object).where(df["favours_vendor"].notna(), None),
    }, columns=cols)


def register_markdown(con, month: str | None) -> str:
    s = register_summary(con, month)
    total = int(s["项数"].sum())
    if not total:
        return "本月没有发现登记数据可信度问题（改动、消失、编号缺失、事后补登、疑似重复、时限前扎堆、补卡均为 0）。"
    parts = "，".join(f"{t} {n} 项" for t, n in zip(s["类型"], s["项数"], strict=True) if n)
    return (f"本月共 {total} 项：{parts}。以下逐项列出，并给出原导出与新导出的文件及行号，"
            "供与服务商核对；这些发现不改变任何计时结果。")
