"""The printed monthly statement to sign (issue 13, part 4; 五.1: 必要时打印纸质).

``monthly-print.html`` beside the monthly report: a few A4 pages of plain tables, no chart and no
script, for the paper archive: the headline per clause, every breach, the disputes, the resident
engineers' and monthly-record findings, the register integrity findings, and a sign-off block
(信息科 / 服务商: 签字, 日期). The full report stays as it is. Offline: no network reference.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from sla_lib.reports import charts, monthly, staffing, statement
from sla_lib.rules.contract import Contract
from sla_lib.rules.periods import month_label_zh

CSS = """
@page { size: A4 portrait; margin: 14mm 12mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       font-size: 9.5pt; color: #222; margin: 0; }
h1 { font-size: 15pt; margin: 0 0 4pt; } h2 { font-size: 11.5pt; margin: 10pt 0 4pt; border-bottom: 1px solid #999; }
p { margin: 3pt 0; } .meta { color: #444; }
table { border-collapse: collapse; width: 100%; margin: 3pt 0 6pt; page-break-inside: auto; }
th, td { border: 1px solid #999; padding: 2pt 4pt; vertical-align: top; font-size: 8.5pt; }
th { background: #eee; } tr { page-break-inside: avoid; }
.sign { margin-top: 14pt; page-break-inside: avoid; } .sign td { height: 40pt; width: 25%; font-size: 10pt; }
.sla-empty { color: #555; }
"""


def _table(df: pd.DataFrame, empty: str) -> str:
    return charts.table_html(df, None, empty)


def print_html(con, contract: Contract, month: str, footer: str = "") -> str:
    o = monthly.overview(con, contract, month)
    e = html.escape
    summary = monthly.clause_summary(con, contract, month)
    keep = [c for c in summary.columns if c not in ("合同承诺", "条款编号")]
    breaches = monthly.breach_list(con, contract, month).drop(columns=["超时（分钟）", "暂定"], errors="ignore")
    numbers = iter("一二三四五六七八")

    def h2(text: str) -> str:
        return f"<h2>{next(numbers)}、{e(text)}</h2>"

    parts = [
        f"<h1>{e(contract.hospital)} 运维服务月度对账（{e(month_label_zh(month))}）</h1>",
        f"<p class='meta'>服务商：{e(contract.vendor or '—')}　｜　本期工单：{o['tickets']} 张　｜　数据截至：{e(str(o['as_of'] or '—'))}</p>",
        h2("各条款达标情况"), _table(summary[keep], "本月没有计时。"),
        h2(f"超时清单（{len(breaches)} 项）"), _table(breaches, "本月没有超时的计时。"),
    ]
    if statement.has_disputes(con):
        parts += [h2("申诉与裁定"), _table(statement.dispute_summary(con, contract, month), "本月没有申诉。")]
    parts.append(h2("驻场人员考勤与月度工作记录"))
    if staffing.has_attendance(con, month):
        parts.append(_table(staffing.findings_list(con, contract, month), "本月没有考勤问题。"))
    else:
        parts.append("<p class='sla-empty'>本月没有考勤数据。</p>")
    if staffing.has_record_register(con):
        parts.append(_table(staffing.monthly_record_table(con, contract, month), "本月没有月度工作记录。"))
    reg = monthly.register_list(con, month)[["类型", "工单号", "说明", "原导出", "新导出"]]
    parts += [h2(f"登记数据可信度（{len(reg)} 项）"), _table(reg, "本月没有登记数据可信度问题。")]
    parts.append(
        "<table class='sign'><tr><th colspan='2'>信息科</th><th colspan='2'>服务商</th></tr>"
        "<tr><td>签字：</td><td>日期：</td><td>签字：</td><td>日期：</td></tr></table>")
    if footer:
        parts.append(f"<p class='meta'>{e(footer)}</p>")
    return ("<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>"
            f"<title>{e(contract.hospital)} 运维服务月度对账 · {e(month)}</title><style>{CSS}</style></head><body>"
            + "".join(parts) + "</body></html>")


def write_print_edition(con, contract: Contract, month: str, folder: Path, footer: str = "") -> str:
    name = "monthly-print.html"
    (Path(folder) / name).write_text(print_html(con, contract, month, footer), encoding="utf-8")
    return name
