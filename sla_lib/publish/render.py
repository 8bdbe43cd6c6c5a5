"""Render report notebooks to offline HTML.

``render_report`` runs a kind's notebook (``notebooks/monthly_report.ipynb`` for a month) with papermill (parameters ``month``,
``db_path``, ``contract_path``) in a ``python3`` kernel of *this* Python (the environment that
has sla_lib installed), then exports the executed notebook to HTML with the ``sla_report``
nbconvert template (code hidden, plotly.js inlined once, nothing loaded from a network).
Outputs of one period live in ``reports/<period>/``:

- ``monthly-report.ipynb``: the executed notebook;
- ``monthly-report.html``: the report;
- ``report.json``: what the index shows (period, kind, rendered at, data as_of, version) and what
  went into the report: the input files (name, sha256, load order), the contract's sha256, the
  notebook's sha256 and the *input fingerprint* of the period (:mod:`sla_lib.publish.fingerprints`), which
  ``sla scheduled`` compares to decide whether a report is out of date.

Files are written under temporary names and renamed into place, so a failed render leaves the
previous report untouched. A failing cell raises :class:`RenderError` naming the notebook and cell.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

from sla_lib import __version__, config
from sla_lib.errors import SlaError
from sla_lib.publish import fingerprints, kinds
from sla_lib.publish.archive import write_index
from sla_lib.rules.contract import load_contract
from sla_lib.store.db import connect

__all__ = ["RenderError", "render_report", "notebook_to_html", "TEMPLATES_DIR"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "sla_report"
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


def render_report(kind_name: str, period: str | int, db: Path, contract_path: Path,
                  out_dir: Path = config.REPORTS_DIR, notebooks_dir: Path | None = None) -> Path:
    """Render the report of ``period`` of kind ``kind_name`` (``monthly`` 'YYYY-MM', ``quarterly``
    'YYYY-Qn' or 'Yn-Qm', ``year`` N or 'contract-year-N'); returns the path of the HTML file.

    Writes ``out_dir/<period>/<stem>.{ipynb,html}``, any extra file of the kind (the contract-year
    workbook) and ``report.json``, then refreshes ``out_dir/index.html``. On a failing cell the
    partly executed notebook is kept as ``<stem>.failed.ipynb`` and :class:`RenderError` names the
    notebook and the cell; the previous report, if any, is left as it was.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    kind = kinds.kind(kind_name)
    period = kind.label_of(period)
    db = Path(db).resolve()
    contract_path = Path(contract_path).resolve()
    out_dir = Path(out_dir)
    nb_dir = Path(notebooks_dir).resolve() if notebooks_dir is not None else config.NOTEBOOKS_DIR
    nb_in = nb_dir / kind.notebook
    if not nb_in.exists():
        raise RenderError(f"{nb_in}: report notebook not found")
    if not db.exists():
        raise RenderError(f"{db}: no database yet; run `sla ingest` first")
    contract = load_contract(contract_path)  # a broken contract file fails here, with its key named
    # read before the notebook runs: if the data change meanwhile, the recorded fingerprint is the
    # older one and the next `sla scheduled` renders the period again (never the other way round)
    facts = fingerprints.report_facts(db, contract, kind.name, period)
    folder = period

    target = out_dir / folder
    target.mkdir(parents=True, exist_ok=True)
    stem = kind.stem
    work = Path(tempfile.mkdtemp(prefix=f".render-{folder}-", dir=out_dir))
    try:
        executed = work / f"{stem}.ipynb"
        try:
            pm.execute_notebook(
                str(nb_in), str(executed),
                parameters={**kind.parameters(period), "db_path": str(db), "contract_path": str(contract_path)},
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
        title = f"{contract.hospital} 运维服务{kind.label} · {kind.shown(period)}"
        footer = (f"{title}。由 sla_lib {__version__} 于 {rendered_at:%Y-%m-%d %H:%M} 生成；"
                  f"数据截至 {facts['as_of'] or '—'}。本文件可离线打开。")
        try:
            page = notebook_to_html(executed, title=title, footer=footer)
        except Exception as e:
            raise RenderError(f"{executed}: HTML export failed: {type(e).__name__}: {e}") from e
        (work / f"{stem}.html").write_text(page, encoding="utf-8")
        extra_files = _extra_files(kind, db, contract, period, work)
        record = {
            "kind": kind.name,
            "kind_label": kind.label,
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




def _extra_files(kind, db: Path, contract, period: str, folder: Path) -> list[str]:
    if kind.extra is None:
        return []
    con = connect(db, read_only=True)
    try:
        return kind.extra(con, contract, period, folder)
    finally:
        con.close()
