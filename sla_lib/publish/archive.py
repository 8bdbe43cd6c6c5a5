"""The archive: ``reports/index.html``, the front page of every rendered report (docs/scheduled.md).

Built from the report.json files under the reports folder only, so it can be rebuilt at any time
(``sla render index``); written under a temporary name and renamed into place.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sla_lib import __version__, config
from sla_lib.publish.kinds import REPORT_KINDS


# -- files ----------------------------------------------------------------------------------------------
def _write_atomic(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a report is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise



# -- index ----------------------------------------------------------------------------------------------
def _records(out_dir: Path) -> list[dict[str, Any]]:
    out = []
    for p in sorted(out_dir.rglob("report.json")):
        if any(part.startswith(".") for part in p.relative_to(out_dir).parts):
            continue
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        html_path = p.parent / rec.get("html", "")
        if not rec.get("html") or not html_path.exists():
            continue
        rec["_href"] = html_path.relative_to(out_dir).as_posix()
        out.append(rec)
    out.sort(key=lambda r: (str(r.get("period", "")), str(r.get("kind", ""))), reverse=True)
    return out


_INDEX_CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       color: #263238; max-width: 1180px; margin: 24px auto; padding: 0 16px; line-height: 1.6; }
h1 { font-size: 1.6em; border-bottom: 3px solid #1f4e79; padding-bottom: .3em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #cfd8dc; padding-bottom: .2em; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid #cfd8dc; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #eceff1; }
tbody tr:nth-child(even) { background: #fafafa; }
td.nowrap { white-space: nowrap; }
code { font-family: "Cascadia Mono", Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
ul.inputs { margin: 0; padding-left: 1.1em; }
ul.inputs li.more, span.muted { color: #78909c; }
p.note, ol.note { color: #607d8b; font-size: 13px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { margin: 0; max-width: none; }
  a { color: inherit; text-decoration: none; }
  table { font-size: 9.5px; }
  th, td { padding: 2px 4px; overflow-wrap: anywhere; }
  code { font-size: 9px; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
}
"""
SHORT_HASH = 12


def _kind_label(kind: str, rec: dict[str, Any] | None = None) -> str:
    return str((rec or {}).get("kind_label") or (REPORT_KINDS[kind].label if kind in REPORT_KINDS else None) or kind)


def _file_name(source_file: str) -> str:
    return str(source_file).replace("\\", "/").rsplit("/", 1)[-1]


def _inputs_cell(rec: dict[str, Any]) -> str:
    e = html.escape
    inputs = rec.get("inputs")
    if not isinstance(inputs, list):
        return '<span class="muted">未记录</span>'
    if not inputs:
        return '<span class="muted">无</span>'
    used = [f for f in inputs if f.get("period_tickets")]
    items = [f'<li><code>{e(str(f.get("sha256", ""))[:SHORT_HASH])}</code> '
             f'<span title="{e(str(f.get("source_file", "")), quote=True)}">{e(_file_name(f.get("source_file", "")))}</span>'
             f'（本期 {int(f["period_tickets"])} 张）</li>' for f in used]
    rest = len(inputs) - len(used)
    if rest:
        items.append(f'<li class="more">另载入 {rest} 个文件，无本期工单</li>')
    return f'<ul class="inputs">{"".join(items)}</ul>'


def _checks_cell(rec: dict[str, Any]) -> str:
    e = html.escape
    parts = []
    if rec.get("contract_sha256"):
        parts.append(f'合同 <code>{e(str(rec["contract_sha256"])[:SHORT_HASH])}</code>')
    if rec.get("input_fingerprint"):
        parts.append(f'输入指纹 <code>{e(str(rec["input_fingerprint"])[:SHORT_HASH])}</code>')
    return "<br>".join(parts) or '<span class="muted">未记录</span>'


def _files_table(recs: list[dict[str, Any]]) -> str:
    """Every input file named by any report, by sha256: what a reproduction has to load."""
    e = html.escape
    files: dict[str, dict[str, Any]] = {}
    used_by: dict[str, int] = {}
    for r in recs:
        for f in r.get("inputs") or []:
            sha = str(f.get("sha256", ""))
            if not sha:
                continue
            files.setdefault(sha, f)
            used_by[sha] = used_by.get(sha, 0) + 1
    if not files:
        return ""
    rows = []
    for sha, f in sorted(files.items(), key=lambda kv: (str(kv[1].get("loaded_at") or ""), kv[1].get("load_seq") or 0)):
        rows.append(
            "<tr>"
            f"<td><code>{e(sha)}</code></td>"
            f"<td>{e(str(f.get('source_file', '')))}</td>"
            f"<td class=\"nowrap\">{e(str(f.get('loaded_at') or '—'))}</td>"
            f"<td class=\"nowrap\">{e(str(f.get('export_as_of') or '—'))}</td>"
            f"<td>{e(str(f.get('rows_loaded', '')))}</td>"
            f"<td>{used_by[sha]}</td>"
            "</tr>")
    return ("<h2 id=\"inputs\">输入文件清单</h2>\n<table><thead><tr><th>SHA-256</th><th>文件（载入时路径）</th>"
            "<th>载入时间</th><th>文件内最新时间</th><th>载入行数</th><th>用于报告（份）</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


_REPRODUCE = """<h2 id="reproduce">如何复现归档中的报告</h2>
<ol class="note">
<li>安装表中“程序版本”一栏的 sla_lib 版本，使用 SHA-256 与“合同”一致的 contract.yaml。</li>
<li>在一个空的数据库上，按该报告 report.json 中 <code>inputs</code> 的顺序（load_seq）执行
<code>sla ingest 文件…</code>，载入其中列出的全部文件（以 SHA-256 核对文件内容；不含本期工单的文件也影响“数据截至”与数据质量表）。
若 report.json 中 <code>as_of_source</code> 为 <code>override</code>，再加 <code>--as-of "数据截至"</code>。</li>
<li>执行 <code>sla render monthly --month 期间</code>。数字、状态与工单明细与归档报告一致；输入指纹相同即说明本期输入完全一致。</li>
</ol>"""


def write_index(out_dir: Path = config.REPORTS_DIR) -> Path:
    """Write ``out_dir/index.html``, the front page of the archive: every rendered report under
    ``out_dir`` (from its report.json), grouped by kind, newest period first, with the rendered
    date, the data as_of, the input files (name and sha256), the contract sha256, the input
    fingerprint and the package version, then the list of every input file and how to reproduce
    a report. Offline (no network reference), Chinese, prints on A4."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recs = _records(out_dir)
    hospitals = sorted({r.get("hospital") for r in recs if r.get("hospital")})
    heading = f"{'、'.join(hospitals)} 运维服务报告归档" if hospitals else "运维服务报告归档"
    e = html.escape
    kinds = list(REPORT_KINDS) + sorted({str(r.get("kind", "")) for r in recs} - set(REPORT_KINDS))
    sections, counts = [], []
    for kind in kinds:
        mine = [r for r in recs if str(r.get("kind", "")) == kind]
        if not mine:
            continue
        label = _kind_label(kind, mine[0])
        counts.append(f"{label} {len(mine)} 份")
        rows = []
        for r in mine:
            rows.append(
                "<tr>"
                f"<td class=\"nowrap\">{e(str(r.get('period', '')))}</td>"
                f"<td><a href=\"{e(r['_href'], quote=True)}\">{e(str(r.get('title') or r['_href']))}</a></td>"
                f"<td class=\"nowrap\">{e(str(r.get('rendered_at', '')))}</td>"
                f"<td class=\"nowrap\">{e(str(r.get('as_of') or '—'))}</td>"
                f"<td>{_inputs_cell(r)}</td>"
                f"<td class=\"nowrap\">{_checks_cell(r)}</td>"
                f"<td>{e(str(r.get('package_version', '')))}</td>"
                "</tr>")
        sections.append(
            f"<h2 id=\"kind-{e(kind, quote=True)}\">{e(label)}</h2>\n"
            "<table><thead><tr><th>期间</th><th>报告</th><th>生成时间</th><th>数据截至</th>"
            "<th>输入文件（SHA-256 前 12 位）</th><th>校验值</th><th>程序版本</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")
    if recs:
        body = "\n".join(sections) + "\n" + _files_table(recs) + "\n" + _REPRODUCE
        lead = (f"电子归档：共 {len(recs)} 份报告（{'，'.join(counts)}）。每份报告为单个 HTML 文件，"
                "可离线打开；在浏览器中打印为 A4（图表完整、不含工具栏），可存为 PDF 或纸质存档。")
    else:
        body = "<p>尚无已生成的报告。</p>"
        lead = "电子归档。"
    page = f"""<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{e(heading)}</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>{e(heading)}</h1>
<p>{e(lead)}</p>
{body}
<p class="note">本页由 sla_lib {e(__version__)} 于 {dt.datetime.now():%Y-%m-%d %H:%M} 生成。</p>
</body>
</html>
"""
    path = out_dir / "index.html"
    _write_atomic(path, page)
    return path
