"""Render report notebooks to offline HTML, and the archive index.

``render_monthly`` runs ``notebooks/monthly_report.ipynb`` with papermill (parameters ``month``,
``db_path``, ``contract_path``) in a ``python3`` kernel of *this* Python (the environment that
has sla_lib installed), then exports the executed notebook to HTML with the ``sla_report``
nbconvert template (code hidden, plotly.js inlined once, nothing loaded from a network).
Outputs of one period live in ``reports/<period>/``:

- ``monthly-report.ipynb``: the executed notebook;
- ``monthly-report.html``: the report;
- ``report.json``: what the index shows (period, kind, rendered at, data as_of, version).

Files are written under temporary names and renamed into place, so a failed render leaves the
previous report untouched. A failing cell raises :class:`RenderError` naming the notebook and cell.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import __version__
from .contract import load_contract
from .errors import SlaError
from .report import validate_month

__all__ = ["RenderError", "render_monthly", "write_index", "notebook_to_html", "TEMPLATES_DIR",
           "DEFAULT_NOTEBOOKS_DIR"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "sla_report"
DEFAULT_NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
KINDS = {"monthly": {"label": "月度报告", "notebook": "monthly_report.ipynb", "stem": "monthly-report"}}
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


def _db_facts(db: Path) -> dict[str, Any]:
    from .db import connect

    con = connect(db, read_only=True)
    try:
        meta = {k: v for k, v in con.execute("SELECT key, value FROM meta").fetchall()}
    finally:
        con.close()
    return {k: meta.get(k) for k in ("as_of", "as_of_source", "computed_at", "contract_sha256")}


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
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    validate_month(month)
    kind = KINDS["monthly"]
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
    facts = _db_facts(db)

    target = out_dir / month
    target.mkdir(parents=True, exist_ok=True)
    stem = kind["stem"]
    work = Path(tempfile.mkdtemp(prefix=f".render-{month}-", dir=out_dir))
    try:
        executed = work / f"{stem}.ipynb"
        try:
            pm.execute_notebook(
                str(nb_in), str(executed),
                parameters={"month": month, "db_path": str(db), "contract_path": str(contract_path)},
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
        title = f"{contract.hospital} 运维服务{kind['label']} · {month}"
        footer = (f"{title}。由 sla_lib {__version__} 于 {rendered_at:%Y-%m-%d %H:%M} 生成；"
                  f"数据截至 {facts['as_of'] or '—'}。本文件可离线打开。")
        try:
            page = notebook_to_html(executed, title=title, footer=footer)
        except Exception as e:
            raise RenderError(f"{executed}: HTML export failed: {type(e).__name__}: {e}") from e
        (work / f"{stem}.html").write_text(page, encoding="utf-8")
        record = {
            "kind": "monthly",
            "kind_label": kind["label"],
            "period": month,
            "title": title,
            "hospital": contract.hospital,
            "html": f"{stem}.html",
            "notebook": f"{stem}.ipynb",
            "rendered_at": rendered_at.isoformat(sep=" "),
            "as_of": facts["as_of"],
            "as_of_source": facts["as_of_source"],
            "computed_at": facts["computed_at"],
            "contract_sha256": contract.sha256,
            "package_version": __version__,
        }
        (work / "report.json").write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        for name in (f"{stem}.ipynb", f"{stem}.html", "report.json"):
            os.replace(work / name, target / name)
        (target / f"{stem}.failed.ipynb").unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_index(out_dir)
    return target / f"{stem}.html"


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
       color: #263238; max-width: 1000px; margin: 24px auto; padding: 0 16px; line-height: 1.6; }
h1 { font-size: 1.6em; border-bottom: 3px solid #1f4e79; padding-bottom: .3em; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border: 1px solid #cfd8dc; padding: 6px 10px; text-align: left; }
th { background: #eceff1; }
tbody tr:nth-child(even) { background: #fafafa; }
p.note { color: #607d8b; font-size: 13px; }
@page { size: A4; margin: 15mm; }
@media print { body { margin: 0; max-width: none; } a { color: inherit; text-decoration: none; } }
"""


def write_index(out_dir: Path = Path("reports")) -> Path:
    """Write ``out_dir/index.html``: every rendered report under ``out_dir`` (from its report.json),
    newest period first, with kind, rendered date, data as_of and package version. Offline, Chinese."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recs = _records(out_dir)
    hospitals = sorted({r.get("hospital") for r in recs if r.get("hospital")})
    heading = f"{'、'.join(hospitals)} 运维服务报告归档" if hospitals else "运维服务报告归档"
    e = html.escape
    rows = []
    for r in recs:
        rows.append(
            "<tr>"
            f"<td>{e(str(r.get('period', '')))}</td>"
            f"<td>{e(str(r.get('kind_label') or KINDS.get(r.get('kind', ''), {}).get('label', r.get('kind', ''))))}</td>"
            f"<td><a href=\"{e(r['_href'], quote=True)}\">{e(str(r.get('title') or r['_href']))}</a></td>"
            f"<td>{e(str(r.get('rendered_at', '')))}</td>"
            f"<td>{e(str(r.get('as_of') or '—'))}</td>"
            f"<td>{e(str(r.get('package_version', '')))}</td>"
            "</tr>")
    body = ("<table><thead><tr><th>期间</th><th>类型</th><th>报告</th><th>生成时间</th><th>数据截至</th>"
            "<th>程序版本</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>") if rows \
        else "<p>尚无已生成的报告。</p>"
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
<p>共 {len(recs)} 份报告。每份报告为单个 HTML 文件，可离线打开、打印（A4）存档。</p>
{body}
<p class="note">本页由 sla_lib {e(__version__)} 于 {dt.datetime.now():%Y-%m-%d %H:%M} 生成。</p>
</body>
</html>
"""
    path = out_dir / "index.html"
    _write_atomic(path, page)
    return path
