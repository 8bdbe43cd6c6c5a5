"""Charts and tables of the reports, in one style.

Palette: met green, breached red, pending grey. Labels are Chinese. Figures are plotly.js figures
built as JSON (:mod:`sla_lib.reports.figures`: plotly's figure API without its graph objects);
:func:`show` displays one so that it works both in JupyterLab (plotly's own mime type) and in
the offline HTML export (a ``text/html`` snippet that needs only the ``Plotly`` global, which
the report template embeds once, inline). :func:`table` displays a DataFrame as a plain HTML
table without index.
"""

from __future__ import annotations

import datetime as dt
import html as _html
import itertools
import json
import math
import re

import numpy as np
import pandas as pd

from sla_lib.findings.staffing import STATUS_LABELS
from sla_lib.reports import figures as go
from sla_lib.reports import monthly as report
from sla_lib.rules.contract import TICKET_CLAUSES, Contract
from sla_lib.rules.periods import month_label_zh

__all__ = [
    "COLORS", "FONT_FAMILY", "TEMPLATE", "figure", "subplots", "clock_histogram", "breakdown_chart", "hour_chart", "summary_chart",
    "figure_html", "show", "table", "table_html", "staffing_heatmap", "STAFF_COLORS",
]

COLORS = {
    "达标": "#2e7d32",  # met
    "超时": "#c62828",  # breached
    "未到期": "#9e9e9e",  # pending
    "threshold": "#37474f",
    "accent": "#1f4e79",
}
STATUS_ORDER = ["达标", "超时", "未到期"]
FONT_FAMILY = ('"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
               '"WenQuanYi Micro Hei", "Hiragino Sans GB", sans-serif')
FIG_PREFIX = "sla-fig-"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}

# plotly_white with the report's fonts, colours and margins, on every report figure (as plotly's default template)
TEMPLATE = go.template_json("plotly_white", dict(
    font={"family": FONT_FAMILY, "size": 13, "color": "#263238"},
    title={"x": 0.0, "xanchor": "left", "font": {"size": 16}},
    colorway=[COLORS["达标"], COLORS["超时"], COLORS["未到期"], COLORS["accent"]],
    legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1, "title": None,
            "traceorder": "normal"},
    margin={"l": 60, "r": 20, "t": 70, "b": 50},
    bargap=0.15,
    hoverlabel={"font": {"family": FONT_FAMILY}},
))
go.TEMPLATE.update(TEMPLATE)


def figure(data=None, **layout) -> go.Figure:
    """A figure in the report's look (:data:`TEMPLATE`)."""
    return go.Figure(data=data, layout=layout or None)


def subplots(**kwargs) -> go.Figure:
    """plotly's ``make_subplots`` grid in the report's look (:func:`sla_lib.reports.figures.subplots`)."""
    return go.subplots(**kwargs)


def _empty(fig: go.Figure, text: str = "本期无数据") -> go.Figure:
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 16, "color": COLORS["未到期"]})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


# -- figures ----------------------------------------------------------------------------------------
def clock_histogram(dist: pd.DataFrame, contract: Contract, clause: str, month: str | None = None) -> go.Figure:
    """Histogram of one clock (:func:`sla_lib.report.clock_distribution`), stacked by status,
    with the contract limit drawn as a dashed vertical line."""
    m = report.clock_measure(clause)
    title = contract.clauses[clause]["title"]
    thresholds = report.clock_thresholds(contract, clause, month)
    fig = figure(height=380, title={"text": f"{title}：用时分布（{len(dist)} 项计时）"})
    if dist.empty:
        return _empty(fig)
    x_all = dist[m["column"]] / m["divisor"]
    finite = x_all.dropna()
    limits = [t / m["divisor"] for t, _ in thresholds]
    # A few very long clocks (an arrival never recorded, a ticket open for months) would squeeze
    # everything else into one bar: beyond 3x the limit they are gathered in one overflow bar.
    if limits:
        cap = 3 * max(limits)
    else:
        cap = float(finite.quantile(0.95)) * 1.5 if len(finite) else 1.0
    over = finite[finite > cap]
    hi = max([min(finite.max(), cap) if len(finite) else 0.0, *limits])
    size = _nice_bin(hi / 30 if hi > 0 else 1.0)
    if len(over):
        cap = math.ceil(cap / size - 1e-9) * size
    # Bins are shifted left by 1e-6 of a bin (beyond plotly.js's 1e-9 fuzz) so that they read
    # (a, b]: a clock stopped exactly at the limit (met, stop <= deadline) falls in the bin left
    # of the limit line, not right of it. Zero-length clocks go in the first bin (0, size].
    def placed(x: pd.Series) -> pd.Series:
        x = x.clip(lower=size * 1e-3)
        return x.where(x <= cap, cap + size / 2) if len(over) else x

    for status in STATUS_ORDER:
        part = dist[dist["状态"] == status]
        if part.empty:
            continue
        fig.add_trace(go.Histogram(
            x=placed(part[m["column"]] / m["divisor"]), name=f"{status}（{len(part)}）",
            marker_color=COLORS[status], xbins={"start": -size * (1 - 1e-6), "size": size},
            hovertemplate=f"%{{x}} {m['unit']}<br>%{{y}} 项<extra>{status}</extra>",
        ))
    for i, (value, label) in enumerate(thresholds):
        fig.add_vline(x=value / m["divisor"], line_dash="dash", line_color=COLORS["threshold"], line_width=2,
                      annotation_text=label, annotation_position="top right" if i % 2 == 0 else "bottom right",
                      annotation_font_color=COLORS["threshold"])
    if not thresholds:
        fig.add_annotation(text="截止时刻随开始时刻而定，无统一时限线；见超时清单", x=1, y=1.08, xref="paper",
                           yref="paper", showarrow=False, xanchor="right")
    if len(over):
        note = f"最右一栏：超过 {cap:g} {m['unit']} 的 {len(over)} 项（最长 {over.max():,.1f} {m['unit']}）"
        fig.update_layout(title_text=f"{fig.layout.title.text}<br><sup>{note}</sup>", margin_t=90)
    fig.update_layout(barmode="stack", xaxis_title=m["axis"], yaxis_title="计时数")
    fig.update_xaxes(range=[0, (cap + size if len(over) else hi + size)])
    bins = ((placed(finite) + size * (1 - 1e-6)) // size).value_counts()
    _count_axis(fig, float(bins.max()) if len(bins) else 1.0)
    return fig


def _count_axis(fig: go.Figure, max_count: float, axis: str = "y") -> None:
    """Whole-number ticks on a count axis (no 0.5 tickets)."""
    if not math.isfinite(max_count) or max_count < 1:
        max_count = 1.0
    step = _nice_bin(max_count / 6)
    getattr(fig, f"update_{axis}axes")(dtick=max(step, 1.0), tick0=0, rangemode="tozero")


def _nice_bin(raw: float) -> float:
    """A round bin width >= raw: 1, 2, 5 × 10^k."""
    if raw <= 0:
        return 1.0
    k = math.floor(math.log10(raw))
    for f in (1, 2, 5, 10):
        if f * 10**k >= raw:
            return float(f * 10**k)
    return float(10 ** (k + 1))


def breakdown_chart(bd: pd.DataFrame, title: str | None = None, horizontal: bool | None = None) -> go.Figure:
    """Small multiples, one panel per clause: met / breached / pending per group of a
    :func:`sla_lib.report.breakdown` frame (stacked bars, rate in the hover)."""
    header = bd.columns[0]
    clauses = [c for c in TICKET_CLAUSES if c in set(bd["条款编号"])]
    title = title or f"按{header}：各条款达标 / 超时"
    groups = [str(g) for g in pd.unique(bd[header])]
    horizontal = (len(groups) > 6 or max((len(g) for g in groups), default=0) > 6) if horizontal is None \
        else horizontal
    titles = [bd.loc[bd["条款编号"] == c, "条款"].iloc[0] for c in clauses] or [""]
    rows, cols = (len(clauses), 1) if horizontal else (math.ceil(len(clauses) / 2), 2)
    rows, cols = max(rows, 1), max(cols, 1)
    fig = subplots(rows=rows, cols=cols, subplot_titles=titles, shared_xaxes=not horizontal,
                        vertical_spacing=0.12 if not horizontal else max(0.04, 0.3 / rows), horizontal_spacing=0.08)
    per_panel = max(len(groups), 1) * 22 + 60
    height = (rows * per_panel + 120) if horizontal else rows * 300 + 120
    fig.update_layout(height=int(min(max(height, 360), 2400)), barmode="stack",
                      title={"text": title}, margin={"t": 100}, legend={"y": 1.0, "yanchor": "bottom"})
    fig.update_annotations(yshift=-2)
    # legend above the subplot titles
    fig.update_layout(legend_y=1 + 40 / fig.layout.height)
    if bd.empty:
        return _empty(fig)
    for i, cid in enumerate(clauses):
        part = bd[bd["条款编号"] == cid]
        r, c = (i + 1, 1) if horizontal else (i // 2 + 1, i % 2 + 1)
        for status in STATUS_ORDER:
            vals = part[status].tolist()
            labels = [str(g) for g in part[header]]
            rate = [report.fmt_rate(v) for v in part["达标率"]]
            xy = {"y": labels, "x": vals, "orientation": "h"} if horizontal else {"x": labels, "y": vals}
            fig.add_trace(go.Bar(
                **xy, name=status, marker_color=COLORS[status], legendgroup=status, showlegend=i == 0,
                customdata=rate, hovertemplate=f"%{{{'y' if horizontal else 'x'}}}<br>{status} "
                f"%{{{'x' if horizontal else 'y'}}}<br>达标率 %{{customdata}}<extra></extra>",
            ), row=r, col=c)
    top = float((bd["达标"] + bd["超时"] + bd["未到期"]).max())
    if horizontal:
        fig.update_yaxes(autorange="reversed", type="category")
        fig.update_xaxes(title_text="计时数", row=rows, col=1)
        _count_axis(fig, top, "x")
    else:
        fig.update_xaxes(type="category")
        fig.update_yaxes(title_text="计时数", col=1)
        _count_axis(fig, top, "y")
    return fig


def hour_chart(bd: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Hour of day of the report (0–23 on every panel): a :func:`sla_lib.report.breakdown` by hour."""
    header = bd.columns[0]
    hours = pd.DataFrame({header: range(24)})
    full = []
    for cid in TICKET_CLAUSES:
        part = bd[bd["条款编号"] == cid]
        if part.empty:
            continue
        merged = hours.merge(part.astype({header: "int64"}), on=header, how="left")
        merged["条款编号"] = cid
        merged["条款"] = part["条款"].iloc[0]
        for s in STATUS_ORDER:
            merged[s] = merged[s].fillna(0).astype("int64")
        full.append(merged)
    if not full:
        return breakdown_chart(bd, title or "按报修时段（0–23 时）", horizontal=False)
    data = pd.concat(full, ignore_index=True)
    data[header] = data[header].map(lambda h: f"{int(h):02d}")
    fig = breakdown_chart(data, title or "按报修时段（0–23 时）：各条款达标 / 超时", horizontal=False)
    fig.update_xaxes(title_text="报修时刻（时）", row=math.ceil(len(full) / 2))
    return fig


def summary_chart(summary: pd.DataFrame) -> go.Figure:
    """One bar per clause of :func:`sla_lib.report.clause_summary`: met / breached / pending."""
    fig = figure(height=320, barmode="stack", title={"text": "各条款计时结果"})
    labels = summary["条款"].tolist()
    rates = [report.fmt_rate(v) for v in summary["达标率"]]
    for status in STATUS_ORDER:
        fig.add_trace(go.Bar(y=labels, x=summary[status], name=status, orientation="h",
                             marker_color=COLORS[status], customdata=rates,
                             hovertemplate=f"%{{y}}<br>{status} %{{x}}<br>达标率 %{{customdata}}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="计时数")
    _count_axis(fig, float((summary["达标"] + summary["超时"] + summary["未到期"]).max()), "x")
    return fig


# -- display -------------------------------------------------------------------------------------------
def _slug(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "-", name).strip("-") or "figure"


def figure_html(fig: go.Figure, name: str) -> str:
    """The ``text/html`` of a figure: a div ``sla-fig-<name>`` and a script calling ``Plotly.newPlot``.

    It does not load plotly.js or require.js; the page must provide the ``Plotly`` global
    (the report template inlines plotly.js once in the head).
    """
    height = fig.layout.height or 450
    return go.to_html(fig, div_id=FIG_PREFIX + _slug(name), config=PLOTLY_CONFIG, default_width="100%",
                      default_height=f"{height}px")


_shown = itertools.count(1)


def show(fig: go.Figure, name: str | None = None) -> None:
    """Display a figure: plotly's mime type for JupyterLab and a require-free ``text/html`` for export.

    ``name`` gives the figure's div id ``sla-fig-<name>`` (default: figure-1, figure-2, ...).
    """
    from IPython.display import display

    name = name or f"figure-{next(_shown)}"

    bundle = {
        "application/vnd.plotly.v1+json": json.loads(go.to_json(fig, config=PLOTLY_CONFIG)),
        "text/html": figure_html(fig, name),
        "text/plain": f"<图表 {name}>",
    }
    display(bundle, raw=True)


def _fmt_cell(v, col: str, seconds: bool) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return "—"
    if isinstance(v, float) and math.isnan(v):
        return "—"
    if isinstance(v, bool | np.bool_):
        return "是" if v else ""
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    if isinstance(v, float) and "率" in col:
        return report.fmt_rate(v)
    if isinstance(v, float):
        return f"{v:g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def table_html(df: pd.DataFrame, name: str | None = None, empty: str = "本期无记录。") -> str:
    """A DataFrame as a plain HTML table (no index; rates as percentages; empty cells as —).

    Every value is HTML-escaped. Alignment is inline (JupyterLab right-aligns table cells by
    default); columns whose values are all short (times, names, counts) do not wrap on screen.
    """
    if df.empty:
        return f'<p class="sla-empty">{_html.escape(empty)}</p>'
    cols = list(df.columns)
    seconds = {c: bool(pd.api.types.is_datetime64_any_dtype(df[c]) and (df[c].dropna().dt.second != 0).any())
               for c in cols}
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in cols}
    text = {c: [_fmt_cell(v, str(c), seconds[c]) for v in df[c].tolist()] for c in cols}
    style = {}
    for c in cols:
        nowrap = (numeric[c] or pd.api.types.is_datetime64_any_dtype(df[c])
                  or max(len(t) for t in text[c]) <= 16)
        style[c] = (' class="num"' if numeric[c] else "") + ' style="text-align:{}{}"'.format(
            "right" if numeric[c] else "left", ";white-space:nowrap" if nowrap else "")
    tid = f' id="sla-table-{_slug(name)}"' if name else ""
    out = [f'<table class="sla-table"{tid}>', "<thead><tr>"]
    out += [f"<th{style[c]}>{_html.escape(str(c))}</th>" for c in cols]
    out.append("</tr></thead><tbody>")
    for i in range(len(df)):
        out.append("<tr>" + "".join(f"<td{style[c]}>{_html.escape(text[c][i])}</td>" for c in cols) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def table(df: pd.DataFrame, name: str | None = None, empty: str = "本期无记录。") -> None:
    """Display a DataFrame as a plain HTML table (see :func:`table_html`)."""
    from IPython.display import HTML, display

    display(HTML(table_html(df, name, empty)))


# -- resident engineers (sla_lib.staffing) ------------------------------------------------------------------
STAFF_COLORS = {
    "present": "#2e7d32",  # 正常出勤
    "late": "#ef6c00",  # 迟到
    "left_early": "#f9a825",  # 早退
    "late_left_early": "#bf360c",  # 迟到且早退
    "missing_punch": "#6a1b9a",  # 缺卡
    "leave": "#1565c0",  # 请假（手续齐全）
    "leave_irregular": "#ad1457",  # 请假手续不全
    "absent": "#c62828",  # 未请假缺勤
    "not_on_roster": "#4e342e",  # 非名单人员驻场
    "non_working_day": "#4db6ac",  # 非工作日出勤（不计入）
    "rest": "#eceff1",  # 休息日 / 节假日
    "no_data": "#ffffff",  # 无数据 / 不在名单
}
STAFF_CODES = list(STAFF_COLORS)  # z value of a status in the heat map = its index here


def staffing_heatmap(frame: pd.DataFrame, month: str | None = None) -> go.Figure:
    """Person x day calendar of :func:`sla_lib.staffing.heatmap_frame`: one cell per person and day,
    coloured by status (legend below the title), late / early-leave minutes written in the cell."""
    title = "驻场人员考勤日历" + (f"（{month_label_zh(month)}）" if month else "")
    people = list(dict.fromkeys(frame["person"])) if len(frame) else []
    fig = figure(height=int(190 + 46 * max(len(people), 1)), title={"text": title})
    if frame.empty:
        return _empty(fig, "本月没有考勤数据")
    days = sorted(set(frame["day"]))
    k = len(STAFF_CODES)
    cell = {(p, d): (status, t, date, wd, h) for p, d, status, t, date, wd, h in zip(
        *(frame[c].tolist() for c in ("person", "day", "status", "text", "date", "weekday", "hover")), strict=True)}
    z = [[STAFF_CODES.index(cell[(p, d)][0]) + 0.5 for d in days] for p in people]
    text = [[cell[(p, d)][1] for d in days] for p in people]
    hover = [[f"{p} · {cell[(p, d)][2]}（星期{cell[(p, d)][3]}）<br>{cell[(p, d)][4]}" for d in days] for p in people]
    scale = []
    for i, code in enumerate(STAFF_CODES):
        scale += [[i / k, STAFF_COLORS[code]], [(i + 1) / k, STAFF_COLORS[code]]]
    weekday = dict(zip(frame["day"], frame["weekday"] + frame.get("mark", ""), strict=False))
    fig.add_trace(go.Heatmap(
        z=z, x=days, y=people, zmin=0, zmax=k, colorscale=scale, showscale=False, xgap=2, ygap=2,
        text=text, texttemplate="%{text}", textfont={"size": 11, "color": "#ffffff"},
        customdata=hover, hovertemplate="%{customdata}<extra></extra>", name="考勤",
    ))
    shown = [c for c in STAFF_CODES if c in set(frame["status"])]
    for code in shown:
        label = STATUS_LABELS.get(code, {"rest": "休息日 / 节假日", "no_data": "无数据 / 不在名单"}.get(code))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=label, showlegend=True,
                                 marker={"symbol": "square", "size": 13, "color": STAFF_COLORS[code],
                                         "line": {"color": "#b0bec5", "width": 1}}, hoverinfo="skip"))
    fig.update_xaxes(tickmode="array", tickvals=days, ticktext=[f"{d}<br>{weekday[d]}" for d in days],
                     showgrid=False, zeroline=False, title_text="日期（日 / 星期）", range=[days[0] - 0.5, days[-1] + 0.5])
    fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False, type="category")
    fig.update_layout(plot_bgcolor="#ffffff", margin={"t": 110, "l": 70},
                      legend={"y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"})
    return fig
