"""Render report notebooks to offline HTML, and the archive index.

``render_monthly`` runs ``notebooks/monthly_report.ipynb`` with papermill (parameters ``month``,
``db_path``, ``contract_path``) in a ``python3`` kernel of *this* Python (the environment that
has sla_lib installed), then exports the executed notebook to HTML with the ``sla_report``
nbconvert template (code hidden, plotly.js inlined once, nothing loaded from a network).
Outputs of one period live in ``reports/<period>/``:

- ``monthly-report.ipynb``: the executed notebook;
- ``monthly-report.html``: the report;
- ``report.json``: what the index shows (period, kind, rendered at, data as_of, version) and what
  went into the report: the input files (name, sha256, load order), the contract's sha256, the
  notebook's sha256 and the *input fingerprint* of the period (:func:`period_fingerprints`), which
  ``sla scheduled`` compares to decide whether a report is out of date.

Files are written under temporary names and renamed into place, so a failed render leaves the
previous report untouched. A failing cell raises :class:`RenderError` naming the notebook and cell.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from . import __version__
from .contract import load_contract
from .errors import SlaError
from .report import validate_month

__all__ = ["RenderError", "render_monthly", "write_index", "notebook_to_html", "period_fingerprints",
           "report_inputs", "TEMPLATES_DIR", "DEFAULT_NOTEBOOKS_DIR", "MONTHLY_PERIOD_SQL", "FINGERPRINT_VERSION"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "sla_report"
DEFAULT_NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
KINDS = {
    "monthly": {"label": "月度报告", "notebook": "monthly_report.ipynb", "stem": "monthly-report"},
    "quarterly": {"label": "季度报告", "notebook": "quarterly_report.ipynb", "stem": "quarterly-report"},
    "year": {"label": "合同年度评估", "notebook": "contract_year_review.ipynb", "stem": "contract-year-review"},
}
# The period a ticket clock belongs to, as SQL over ``ticket_sla s`` (one expression per report kind).
MONTHLY_PERIOD_SQL = "s.month"
FINGERPRINT_VERSION = "sla-report-inputs-v1"
REMOVED_CELL_TAGS = ("parameters", "injected-parameters", "remove-cell")


class RenderError(SlaError):
    """A report notebook could not be executed or exported."""


# -- kernel ----------------------------------------------------------------------------------------------
def _kernel_manager_class():
    """An AsyncKernelManager whose ``python3`` kernel is always ipykernel on ``sys.executable``.

    A ``python3`` kernelspec elsewhere on the Jupyter path (e.g. ~/.local/share/jupyter) could
    point at another Python without sla_lib; the report must run in the interpreter that rendered it.
    """
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from traitlets import default

    class _ThisPythonKernelSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name == "python3":
                spec = get_kernel_dict()
                spec["argv"] = [sys.executable, *spec["argv"][1:]]
                return KernelSpec(resource_dir=RESOURCES, **spec)
            return super().get_kernel_spec(kernel_name)

    class _ThisPythonKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _this_python_kernel_specs(self):
            return _ThisPythonKernelSpecs(data_dir=self.data_dir)

        @default("transport")
        def _local_transport(self):
            # Unix sockets where available: the kernel then opens no TCP port at all.
            return "ipc" if os.name == "posix" else "tcp"

        @default("ip")
        def _private_ip(self):
            # The ipc sockets are the files "<ip>-1" … "<ip>-5". jupyter_client's default "kernel-ipc"
            # is relative to the working directory, so two renders started from the same folder at
            # the same moment (the scheduled job and a manual render) can pick the same files and
            # read each other's messages ("Invalid Signature"). A private name per kernel instead.
            if self.transport == "ipc":
                return os.path.join(tempfile.gettempdir(), f"sla-kernel-{uuid.uuid4().hex}")
            from jupyter_client.localinterfaces import localhost

            return localhost()

    return _ThisPythonKernelManager


# -- export ---------------------------------------------------------------------------------------------
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def notebook_to_html(nb, title: str | None = None, footer: str = "") -> str:
    """Export an executed notebook (NotebookNode or path) to one offline HTML page.

    Code cells show their outputs only (no input, no prompts); cells tagged ``parameters``,
    ``injected-parameters`` or ``remove-cell`` are left out. plotly.js is inlined once in the head;
    require.js, MathJax, mermaid and widget scripts are not included.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    if not hasattr(nb, "cells"):
        nb = nbformat.read(str(nb), as_version=4)
    if title:
        nb.metadata["title"] = title
    c = Config()
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.language_code = "zh"
    c.HTMLExporter.embed_images = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = set(REMOVED_CELL_TAGS)
    exporter = HTMLExporter(config=c, template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATES_DIR)])
    body, _ = exporter.from_notebook_node(nb, resources={"plotly_js": _plotly_js(), "report_footer": footer})
    return body


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


# -- inputs of a report ----------------------------------------------------------------------------------
def _month_tables(con) -> list[str]:
    """Tables besides ``ticket_sla`` with a ``month`` column: the findings of other kinds that are
    kept per month (resident-engineer attendance, …), which a monthly report may show."""
    return [r[0] for r in con.execute("""
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
        WHERE c.column_name = 'month' AND c.table_schema = 'main' AND t.table_type = 'BASE TABLE'
          AND c.table_name <> 'ticket_sla'
        ORDER BY 1""").fetchall()]


def period_fingerprints(con, contract_sha256: str, period_sql: str = MONTHLY_PERIOD_SQL,
                        only: str | None = None) -> dict[str, str]:
    """Input fingerprint of every period (or of ``only``): period -> sha256 hex.

    The fingerprint of a period is the sha256 of: :data:`FINGERPRINT_VERSION`, the sha256 of the
    contract file the report is rendered with, the contract sha256 the findings were computed with
    (``meta``), the period, and digests (row count and DuckDB ``sum(hash(row))``) of

    - every column of the period's ticket clocks (``ticket_sla``) joined with every column of the
      current version of their tickets (``tickets``, including the source file and row);
    - for monthly periods, the month's rows of every other table with a ``month`` column (the
      per-month findings of other kinds, e.g. staffing, as they are added).

    It changes exactly when a figure, status, detail or source line the period's report shows
    about its own period changes. It does not contain ``as_of`` itself: a newer export moves
    ``as_of``, and the period's fingerprint changes only if that changes one of its clocks (an open
    clock's elapsed time, pending -> breached). A few grouped queries; cheap.
    """
    meta = {k: v for k, v in con.execute(
        "SELECT key, value FROM meta WHERE key = 'contract_sha256'").fetchall()}
    params = [only] if only is not None else []
    queries = [("tickets", f"SELECT {period_sql} AS period, count(*), sum(hash(s, t)) "
                           f"FROM ticket_sla s LEFT JOIN tickets t USING (ticket_id) "
                           f"{f'WHERE {period_sql} = ?' if only is not None else ''} GROUP BY 1")]
    if period_sql == MONTHLY_PERIOD_SQL:
        for table in _month_tables(con):
            queries.append((table, f'SELECT CAST(x.month AS VARCHAR), count(*), sum(hash(x)) FROM "{table}" x '
                                   f"{'WHERE CAST(x.month AS VARCHAR) = ?' if only is not None else ''} GROUP BY 1"))
    parts: dict[str, list[str]] = {}
    for name, sql in queries:
        for period, n, digest in con.execute(sql, params).fetchall():
            if period is not None:
                parts.setdefault(str(period), []).append(f"{name} {n} {digest}")
    out = {}
    for period, digests in parts.items():
        text = "\n".join([FINGERPRINT_VERSION, contract_sha256, meta.get("contract_sha256") or "", period,
                          *sorted(digests)])
        out[period] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return out


def report_inputs(con, contract_sha256: str, period: str, period_sql: str = MONTHLY_PERIOD_SQL) -> dict[str, Any]:
    """What a report of ``period`` is made of, for its report.json: the meta facts (as_of …), the
    input fingerprint, and every loaded file in load order with its sha256 and the number of the
    period's tickets whose current version comes from it."""
    meta = {k: v for k, v in con.execute("SELECT key, value FROM meta").fetchall()}
    files = con.execute(f"""
        SELECT l.source_file, l.file_id, l.load_seq, l.kind, l.loaded_at, l.export_as_of, l.rows_loaded,
               coalesce(c.n, 0) AS period_tickets
        FROM ingest_log l LEFT JOIN (
            SELECT t.file_id, count(*) AS n FROM tickets t
            WHERE t.ticket_id IN (SELECT s.ticket_id FROM ticket_sla s WHERE {period_sql} = ?)
            GROUP BY 1) c USING (file_id)
        ORDER BY l.load_seq""", [period]).fetchall()
    inputs = [{"source_file": f, "sha256": fid, "load_seq": seq, "kind": kind,
               "loaded_at": str(loaded) if loaded is not None else None,
               "export_as_of": str(exp) if exp is not None else None,
               "rows_loaded": rows, "period_tickets": n}
              for f, fid, seq, kind, loaded, exp, rows, n in files]
    fp = period_fingerprints(con, contract_sha256, period_sql, only=period).get(period)
    facts: dict[str, Any] = {k: meta.get(k) for k in ("as_of", "as_of_source", "computed_at", "contract_sha256")}
    return facts | {"input_fingerprint": fp, "inputs": inputs}


def _db_facts(db: Path, contract_sha256: str, period: str, period_sql: str = MONTHLY_PERIOD_SQL) -> dict[str, Any]:
    from .db import connect

    con = connect(db, read_only=True)
    try:
        return report_inputs(con, contract_sha256, period, period_sql)
    finally:
        con.close()


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _source_cell_number(nb_path: Path, exc) -> tuple[int, str]:
    """1-based number of the failing cell in the *source* notebook, and its first source line."""
    import nbformat

    index = exc.cell_index
    try:
        executed = nbformat.read(str(nb_path), as_version=4)
        injected = [i for i, cell in enumerate(executed.cells)
                    if "injected-parameters" in cell.get("metadata", {}).get("tags", [])]
        index -= sum(1 for i in injected if i < exc.cell_index)
    except Exception:  # the partial notebook is only used to improve the message
        pass
    first = next((ln for ln in (exc.source or "").splitlines() if ln.strip()), "")
    return index + 1, first


def render_monthly(month: str, db: Path, contract_path: Path, out_dir: Path = Path("reports"),
                   notebooks_dir: Path | None = None) -> Path:
    """Render the monthly report of ``month`` ('YYYY-MM'); returns the path of the HTML file.

    Writes ``out_dir/<month>/monthly-report.{ipynb,html}`` and ``report.json``, then refreshes
    ``out_dir/index.html``. On a failing cell the partly executed notebook is kept as
    ``monthly-report.failed.ipynb`` and :class:`RenderError` names the notebook and the cell;
    the previous report, if any, is left as it was.
    """
    validate_month(month)
    return _render("monthly", month, month, {"month": month}, db, contract_path, out_dir, notebooks_dir,
                   lambda dbp, c: _db_facts(dbp, c.sha256, month, MONTHLY_PERIOD_SQL))


def render_quarterly(quarter: str, db: Path, contract_path: Path, out_dir: Path = Path("reports"),
                     notebooks_dir: Path | None = None) -> Path:
    """Render the quarterly report (inspections, advice reports, the quarter's ticket clauses) of
    ``quarter`` ('YYYY-Qn', or 'Yn-Qm' for contract quarters) to ``out_dir/<quarter>/``."""
    from .quarterly import validate_quarter

    validate_quarter(quarter)
    return _render("quarterly", quarter, quarter, {"quarter": quarter}, db, contract_path, out_dir, notebooks_dir,
                   lambda dbp, c: _period_facts(dbp, c, "quarterly", quarter))


def year_period(n: int) -> str:
    return f"contract-year-{int(n)}"


def render_year(contract_year: int, db: Path, contract_path: Path, out_dir: Path = Path("reports"),
                notebooks_dir: Path | None = None) -> Path:
    """Render the contract-year review of year ``contract_year`` (1, 2, …) to
    ``out_dir/contract-year-N/``, with the committee's workbook ``contract-year-review.xlsx`` beside it."""
    n = int(contract_year)
    if n < 1:
        raise RenderError(f"--contract-year {contract_year}: expected 1, 2, …")
    period = year_period(n)

    def workbook(work: Path, contract) -> list[str]:
        from .db import connect
        from .export import write_xlsx
        from .review import workbook_frames

        con = connect(db, read_only=True)
        try:
            write_xlsx(workbook_frames(con, contract, n), work / "contract-year-review.xlsx")
        finally:
            con.close()
        return ["contract-year-review.xlsx"]

    return _render("year", period, period, {"contract_year": n}, db, contract_path, out_dir, notebooks_dir,
                   lambda dbp, c: _period_facts(dbp, c, "year", period), extra=workbook)


def _render(kind_name: str, period: str, folder: str, params: dict, db: Path, contract_path: Path, out_dir: Path,
            notebooks_dir: Path | None, facts_fn, extra=None) -> Path:
    """Execute a report notebook with papermill and export it; see :func:`render_monthly`."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    kind = KINDS[kind_name]
    db = Path(db).resolve()
    contract_path = Path(contract_path).resolve()
    out_dir = Path(out_dir)
    nb_dir = Path(notebooks_dir).resolve() if notebooks_dir is not None else DEFAULT_NOTEBOOKS_DIR
    nb_in = nb_dir / kind["notebook"]
    if not nb_in.exists():
        raise RenderError(f"{nb_in}: report notebook not found")
    if not db.exists():
        raise RenderError(f"{db}: no database yet; run `sla ingest` first")
    contract = load_contract(contract_path)  # a broken contract file fails here, with its key named
    # read before the notebook runs: if the data change meanwhile, the recorded fingerprint is the
    # older one and the next `sla scheduled` renders the period again (never the other way round)
    facts = facts_fn(db, contract)

    target = out_dir / folder
    target.mkdir(parents=True, exist_ok=True)
    stem = kind["stem"]
    work = Path(tempfile.mkdtemp(prefix=f".render-{folder}-", dir=out_dir))
    try:
        executed = work / f"{stem}.ipynb"
        try:
            pm.execute_notebook(
                str(nb_in), str(executed),
                parameters={**params, "db_path": str(db), "contract_path": str(contract_path)},
                kernel_name="python3", language="python", cwd=str(nb_dir), progress_bar=False,
                log_output=False, kernel_manager_class=_kernel_manager_class(),
            )
        except PapermillExecutionError as e:
            failed = target / f"{stem}.failed.ipynb"
            if executed.exists():
                os.replace(executed, failed)
            number, first = _source_cell_number(failed, e)
            raise RenderError(
                f"{nb_in}: cell {number} failed ({first.strip()!s:.80}): {e.ename}: {e.evalue}. "
                f"The partly executed notebook is {failed}; the previous report was left as it was."
            ) from None
        except Exception as e:
            raise RenderError(f"{nb_in}: could not be executed: {type(e).__name__}: {e}") from e

        rendered_at = dt.datetime.now().replace(microsecond=0)
        shown = f"第 {params['contract_year']} 合同年度" if kind_name == "year" else period
        title = f"{contract.hospital} 运维服务{kind['label']} · {shown}"
        footer = (f"{title}。由 sla_lib {__version__} 于 {rendered_at:%Y-%m-%d %H:%M} 生成；"
                  f"数据截至 {facts['as_of'] or '—'}。本文件可离线打开。")
        try:
            page = notebook_to_html(executed, title=title, footer=footer)
        except Exception as e:
            raise RenderError(f"{executed}: HTML export failed: {type(e).__name__}: {e}") from e
        (work / f"{stem}.html").write_text(page, encoding="utf-8")
        extra_files = extra(work, contract) if extra else []
        record = {
            "kind": kind_name,
            "kind_label": kind["label"],
            "period": period,
            "title": title,
            "hospital": contract.hospital,
            "html": f"{stem}.html",
            "notebook": f"{stem}.ipynb",
            "files": extra_files,
            "rendered_at": rendered_at.isoformat(sep=" "),
            "as_of": facts["as_of"],
            "as_of_source": facts["as_of_source"],
            "computed_at": facts["computed_at"],
            "contract_sha256": contract.sha256,
            "contract_file": contract_path.name,
            "findings_contract_sha256": facts["contract_sha256"],
            "notebook_sha256": _file_sha256(nb_in),
            "package_version": __version__,
            "input_fingerprint": facts["input_fingerprint"],
            "inputs": facts["inputs"],
        }
        (work / "report.json").write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        for name in (f"{stem}.ipynb", f"{stem}.html", *extra_files, "report.json"):
            os.replace(work / name, target / name)
        (target / f"{stem}.failed.ipynb").unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_index(out_dir)
    return target / f"{stem}.html"


def kind_fingerprints(con, contract, kind: str) -> dict[str, str]:
    """Input fingerprints of every quarterly or contract-year period: the period's ticket clocks
    and tickets (as for months), the per-month findings of its months, and its own findings
    (inspection coverage and advice reports of the quarter / the contract year, cost ledger)."""
    out = {}
    if kind == "quarterly":
        periods = [r[0] for r in con.execute("SELECT DISTINCT quarter FROM inspection_coverage").fetchall()]
    else:
        from .review import years_available

        periods = [year_period(n) for n in years_available(con, contract)]
    for period in periods:
        out[period] = _kind_fingerprint(con, contract, kind, period)
    return out


def _kind_fingerprint(con, contract, kind: str, period: str) -> str:
    if kind == "quarterly":
        from .quarterly import months_of

        months = months_of(con, period)
        own = [("inspection_coverage", "quarter = ?", [period]), ("advice_reports", "period = ?", [period])]
    else:
        n = int(period.rsplit("-", 1)[1])
        start, end = contract.contract_year_bounds(n)
        import pandas as pd

        months = [str(p) for p in pd.period_range(start, end - dt.timedelta(days=1), freq="M")]
        own = [("inspection_coverage", "contract_year = ?", [n]), ("advice_reports", "contract_year = ?", [n]),
               ("third_party_costs", "ticket_month IN (SELECT unnest(?))", [months])]
    digests = []
    per_month = period_fingerprints(con, contract.sha256, MONTHLY_PERIOD_SQL)
    digests += [f"{m} {per_month.get(m, '')}" for m in months]
    for table, where, params in own:
        n_rows, h = con.execute(f'SELECT count(*), sum(hash(x)) FROM "{table}" x WHERE {where}', params).fetchall()[0]
        digests.append(f"{table} {n_rows} {h}")
    text = "\n".join([FINGERPRINT_VERSION, kind, contract.sha256, period, *digests])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _period_facts(db: Path, contract, kind: str, period: str) -> dict[str, Any]:
    """report.json facts of a quarterly or contract-year report (see :func:`report_inputs`)."""
    from .db import connect

    con = connect(db, read_only=True)
    try:
        meta = {k: v for k, v in con.execute("SELECT key, value FROM meta").fetchall()}
        files = con.execute("""SELECT source_file, file_id, load_seq, kind, loaded_at, export_as_of, rows_loaded
                               FROM ingest_log ORDER BY load_seq""").fetchall()
        inputs = [{"source_file": f, "sha256": fid, "load_seq": seq, "kind": k,
                   "loaded_at": str(lo) if lo is not None else None, "export_as_of": str(ex) if ex else None,
                   "rows_loaded": rows} for f, fid, seq, k, lo, ex, rows in files]
        fp = _kind_fingerprint(con, contract, kind, period)
    finally:
        con.close()
    facts = {k: meta.get(k) for k in ("as_of", "as_of_source", "computed_at", "contract_sha256")}
    return facts | {"input_fingerprint": fp, "inputs": inputs}


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
    return str((rec or {}).get("kind_label") or KINDS.get(kind, {}).get("label") or kind)


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


def write_index(out_dir: Path = Path("reports")) -> Path:
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
    kinds = list(KINDS) + sorted({str(r.get("kind", "")) for r in recs} - set(KINDS))
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
