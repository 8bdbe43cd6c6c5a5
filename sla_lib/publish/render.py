"""Render report notebooks to offline HTML.

``render_report`` runs a kind's notebook (``notebooks/monthly_report.ipynb`` for a month) with the
parameters ``month`` (``quarter``, ``contract_year``), ``db_path`` and ``contract_path`` injected as
papermill injects them, in this process (:mod:`sla_lib.publish.execute`: an IPython shell, an
empty namespace per report; inside a running IPython, e.g. JupyterLab, through papermill in a
``python3`` kernel of this Python instead), then writes the executed notebook as one offline HTML
page (:mod:`sla_lib.publish.page`: code hidden, plotly.js inlined once, nothing loaded from a
network). ``render_reports`` renders many in one go, with one helper process per other core.
The page's stylesheets, plotly.js and the contract are read once per process.
Outputs of one period live in ``reports/<period>/``:

- ``monthly-report.ipynb``: the executed notebook (runs again unchanged under papermill);
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
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sla_lib import __version__, config
from sla_lib.errors import SlaError
from sla_lib.publish import fingerprints, kinds
from sla_lib.publish.archive import write_index
from sla_lib.rules.contract import load_contract
from sla_lib.store.db import connect, open_db, snapshot
from sla_lib.store.frames import object_strings

__all__ = ["Outcome", "RenderError", "render_report", "render_reports", "notebook_to_html", "notebook_json"]


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
PLOTLY_JS = "templates/plotly/plotly-cartesian.min.js"  # package data of sla_lib.publish (its SOURCE.md)


def _js_version(head: str) -> str | None:
    """The version in a plotly.js bundle's banner ("* plotly.js (cartesian - minified) v4.1.1")."""
    m = re.match(r"/\*\*\s*\* plotly\.js (?:\([^)]*\) )?v(\S+)", head)
    return m.group(1) if m else None


@functools.lru_cache(maxsize=1)
def _plotly_js() -> str:
    """plotly.js for the report pages, once per process: the cartesian bundle (bar, scatter,
    histogram, heatmap and the other cartesian traces; 1.5 MB, not the 4.8 MB of every trace type
    that plotly.py ships) when it is the plotly.js release the installed plotly.py writes figures
    for; else plotly.py's own bundle, which always is."""
    import importlib.resources
    import pkgutil

    cartesian = pkgutil.get_data("sla_lib.publish", PLOTLY_JS).decode("utf-8")
    with (importlib.resources.files("plotly") / "package_data" / "plotly.min.js").open(encoding="utf-8") as f:
        full_head = f.read(200)
    if _js_version(cartesian[:200]) == _js_version(full_head):
        return cartesian
    return pkgutil.get_data("plotly", "package_data/plotly.min.js").decode("utf-8")


def notebook_to_html(nb, title: str | None = None, footer: str = "") -> str:
    """Export an executed notebook (NotebookNode or path) to one offline HTML page
    (:mod:`sla_lib.publish.page`).

    Code cells show their outputs only (no input, no prompts); cells tagged ``parameters``,
    ``injected-parameters`` or ``remove-cell`` are left out. plotly.js is inlined once in the head;
    require.js, MathJax, mermaid and widget scripts are not included.
    """
    import nbformat

    from sla_lib.publish import page

    if not hasattr(nb, "cells"):  # a path: read as it is (not kept: the source cache is for report notebooks)
        nb = nbformat.read(str(nb), as_version=4)
    if title is None:
        title = nb.get("metadata", {}).get("title") or "Notebook"
    return page.notebook_page(nb, title, _plotly_js(), footer)


def _source_cell_number(executed, cell_index: int, source: str) -> tuple[int, str]:
    """1-based number of the failing cell in the *source* notebook, and its first source line."""
    injected = [i for i, cell in enumerate(executed.cells)
                if "injected-parameters" in cell.get("metadata", {}).get("tags", [])]
    number = cell_index - sum(1 for i in injected if i < cell_index) + 1
    first = next((ln for ln in (source or "").splitlines() if ln.strip()), "")
    return number, first


def _cell_failed(nb_in: Path, failed: Path, number: int, first: str, ename: str, evalue: str) -> RenderError:
    """The one message for a failing cell, in a kernel or in this process."""
    return RenderError(
        f"{nb_in}: cell {number} failed ({first.strip()!s:.80}): {ename}: {evalue}. "
        f"The partly executed notebook is {failed}; the previous report was left as it was.")


# -- one report ------------------------------------------------------------------------------------------
def _execute(nb_in: Path, parameters: dict, nb_dir: Path, failed: Path):
    """The executed notebook: in this process (:mod:`sla_lib.publish.execute`), or through papermill
    in a kernel when an IPython shell already runs here. A failing cell leaves the partly executed
    notebook at ``failed`` and raises RenderError naming the source cell."""
    from sla_lib.publish import execute

    run = execute.runner()
    if run is None:
        return _execute_in_kernel(nb_in, parameters, nb_dir, failed)
    nb = _read_notebook(nb_in)
    execute.inject_parameters(nb, parameters)
    try:
        run.run(nb, cwd=nb_dir)
    except execute.CellError as e:
        _write_notebook(nb, failed)
        raise _cell_failed(nb_in, failed, *_source_cell_number(nb, e.cell_index, e.source), e.ename, e.evalue) from None
    except Exception as e:
        raise RenderError(f"{nb_in}: could not be executed: {type(e).__name__}: {e}") from e
    return nb


def _execute_in_kernel(nb_in: Path, parameters: dict, nb_dir: Path, failed: Path):
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    work = Path(tempfile.mkdtemp(prefix=".render-", dir=failed.parent))
    executed = work / "executed.ipynb"
    try:
        try:
            pm.execute_notebook(
                str(nb_in), str(executed), parameters=parameters,
                kernel_name="python3", language="python", cwd=str(nb_dir), progress_bar=False,
                log_output=False, kernel_manager_class=_kernel_manager_class(),
            )
        except PapermillExecutionError as e:
            if executed.exists():
                os.replace(executed, failed)
            try:
                partial = nbformat.read(str(failed), as_version=4)
                number, first = _source_cell_number(partial, e.cell_index, e.source)
            except Exception:  # the partial notebook only improves the message
                number, first = e.cell_index + 1, e.source or ""
            raise _cell_failed(nb_in, failed, number, first, e.ename, e.evalue) from None
        except Exception as e:
            raise RenderError(f"{nb_in}: could not be executed: {type(e).__name__}: {e}") from e
        return nbformat.read(str(executed), as_version=4)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# a report notebook's text, nbformat version and sha256, by path and state of the file
_SOURCES: dict[tuple[str, int, int], tuple[str, int | None, str]] = {}


def _source(path: Path) -> tuple[str, int | None, str]:
    """(text, nbformat version, sha256) of a source notebook, read from disk once per process while
    it is unchanged."""
    import json

    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _SOURCES:
        data = path.read_bytes()
        text = data.decode("utf-8")
        _SOURCES[key] = (text, json.loads(text).get("nbformat"), hashlib.sha256(data).hexdigest())
    return _SOURCES[key]


def _read_notebook(path: Path):
    """A fresh copy of the source notebook (:func:`_source`).

    Read as nbformat's v4 reader reads it, without validating it against the schema each time
    (``tests/test_render.py`` validates the rendered notebooks); another version goes through
    ``nbformat.read``."""
    import nbformat

    text, version, _ = _source(path)
    if version != 4:
        return nbformat.read(str(path), as_version=4)
    return nbformat.v4.reads(text)


_SPLIT_MIMES = ("application/javascript", "image/svg+xml")


def _split_bundle(data: dict) -> dict:
    return {k: v.splitlines(True) if isinstance(v, str) and (k.startswith("text/") or k in _SPLIT_MIMES) else v
            for k, v in data.items()}


def notebook_json(nb) -> str:
    """The notebook's file text exactly as ``nbformat.v4.writes`` writes it (multi-line text as lists
    of lines, keys sorted, transient keys left out), without its deep copy of every output."""
    import json

    cells = []
    for cell in nb["cells"]:
        c = dict(cell)
        if isinstance(c.get("source"), str):
            c["source"] = c["source"].splitlines(True)
        if "metadata" in c:
            c["metadata"] = {k: v for k, v in c["metadata"].items() if k != "trusted"}
        if "attachments" in c:
            c["attachments"] = {k: _split_bundle(v) for k, v in c["attachments"].items()}
        if c.get("cell_type") == "code":
            outputs = []
            for o in c.get("outputs", []):
                o = dict(o)
                if o.get("output_type") in ("execute_result", "display_data"):
                    o["data"] = _split_bundle(o.get("data", {}))
                elif o.get("output_type") == "stream" and isinstance(o.get("text"), str):
                    o["text"] = o["text"].splitlines(True)
                outputs.append(o)
            c["outputs"] = outputs
        cells.append(c)
    meta = {k: v for k, v in nb.get("metadata", {}).items()
            if k not in ("orig_nbformat", "orig_nbformat_minor", "signature")}
    return json.dumps({**nb, "cells": cells, "metadata": meta}, indent=1, sort_keys=True, separators=(",", ": "),
                      ensure_ascii=False)


def _write_notebook(nb, path: Path) -> None:
    """The notebook as nbformat writes it (the same text), without validating it again."""
    path.write_text(notebook_json(nb) + "\n", encoding="utf-8")


@object_strings()  # the report's frames (sla_lib.store.frames)
def render_report(kind_name: str, period: str | int, db: Path, contract_path: Path,
                  out_dir: Path = config.REPORTS_DIR, notebooks_dir: Path | None = None,
                  write_archive_index: bool = True) -> Path:
    """Render the report of ``period`` of kind ``kind_name`` (``monthly`` 'YYYY-MM', ``quarterly``
    'YYYY-Qn' or 'Yn-Qm', ``year`` N or 'contract-year-N'); returns the path of the HTML file.

    Writes ``out_dir/<period>/<stem>.{ipynb,html}``, any extra file of the kind (the contract-year
    workbook) and ``report.json``, then refreshes ``out_dir/index.html`` (unless
    ``write_archive_index`` is false). On a failing cell the partly executed notebook is kept as
    ``<stem>.failed.ipynb`` and :class:`RenderError` names the notebook and the cell; the previous
    report, if any, is left as it was. Several reports: :func:`render_reports`.
    """
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
    # the whole report reads one state: a snapshot the notebook's sla_lib.open_db(db_path) opens too
    # (a load published meanwhile changes the fingerprint, and the next `sla scheduled` renders again)
    with snapshot(db) as pinned:
        # one open instance of the snapshot for the whole report: the notebook's open_db, the
        # fingerprint and the extra files connect to it without reading the file's catalog again
        # a report's queries read a few thousand rows each: one thread (with a rendering process per
        # core, more threads per query only contend with the other reports; 5-8 % a month here)
        held = connect(pinned, read_only=True, threads=1)
        try:
            return _render_pinned(kind, period, db, pinned, contract, contract_path, out_dir, nb_dir, nb_in,
                                  write_archive_index)
        finally:
            held.close()


def _render_pinned(kind, period: str, db: Path, pinned: Path, contract, contract_path: Path, out_dir: Path,
                   nb_dir: Path, nb_in: Path, write_archive_index: bool) -> Path:
    facts = fingerprints.report_facts(pinned, contract, kind.name, period)
    folder = period

    target = out_dir / folder
    target.mkdir(parents=True, exist_ok=True)
    stem = kind.stem
    work = Path(tempfile.mkdtemp(prefix=f".render-{folder}-", dir=out_dir))
    try:
        parameters = {**kind.parameters(period), "db_path": str(db), "contract_path": str(contract_path)}
        executed = _execute(nb_in, parameters, nb_dir, target / f"{stem}.failed.ipynb")
        _write_notebook(executed, work / f"{stem}.ipynb")

        rendered_at = dt.datetime.now().replace(microsecond=0)
        title = f"{contract.hospital} 运维服务{kind.label} · {kind.shown(period)}"
        footer = (f"{title}。由 sla_lib {__version__} 于 {rendered_at:%Y-%m-%d %H:%M} 生成；"
                  f"数据截至 {facts['as_of'] or '—'}。本文件可离线打开。")
        try:
            page = notebook_to_html(executed, title=title, footer=footer)
        except Exception as e:
            raise RenderError(f"{work / (stem + '.ipynb')}: HTML export failed: {type(e).__name__}: {e}") from e
        (work / f"{stem}.html").write_text(page, encoding="utf-8")
        extra_files = _extra_files(kind, db, pinned, contract, period, work)
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
            "notebook_sha256": _source(nb_in)[2],
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
    if write_archive_index:
        write_index(out_dir)
    return target / f"{stem}.html"




def _extra_files(kind, db: Path, pinned: Path, contract, period: str, folder: Path) -> list[str]:
    """The kind's extra files, read through a reader of the pinned state ``pinned`` of ``db`` (the
    published path): the print edition reuses what the notebook asked of the same state
    (store.db.per_state)."""
    if kind.extra is None:
        return []
    con = open_db(db)
    if con.pinned_to() != Path(pinned).resolve():  # the pin is gone: read it as before (a clear error)
        con.close()
        con = connect(pinned, read_only=True)
    try:
        return kind.extra(con, contract, period, folder)
    finally:
        con.close()


# -- many reports --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What became of one report of :func:`render_reports`: its HTML file, or the error message."""

    kind: str
    period: str
    path: Path | None
    error: str | None
    seconds: float


def _render_one(kind_name: str, period: str, db: str, contract_path: str, out_dir: str,
                notebooks_dir: str | None) -> tuple[str | None, str | None, float]:
    """One report of a batch, in whichever process runs it; never raises."""
    t0 = time.perf_counter()
    try:
        path = render_report(kind_name, period, Path(db), Path(contract_path), Path(out_dir),
                             notebooks_dir=notebooks_dir, write_archive_index=False)
        return str(path), None, time.perf_counter() - t0
    except SlaError as e:
        return None, str(e), time.perf_counter() - t0
    except Exception as e:  # one broken report must not stop the others
        return None, f"{kind_name} {period}: {type(e).__name__}: {e}", time.perf_counter() - t0


MAX_WORKERS = 4


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_workers(jobs: int) -> int:
    """Processes for ``jobs`` reports, this one included: one per core, at most MAX_WORKERS, and
    only when each helper has a few reports to share its start-up (about one report's time) with."""
    return max(1, min(cores(), MAX_WORKERS, jobs // 3))


def _warm_up() -> None:
    """What a helper process does before its first report: import what reports import, start the
    notebook shell, read the page's parts."""
    from sla_lib.publish import execute, page
    from sla_lib.reports import charts, monthly, quarterly, review, staffing  # noqa: F401

    execute.runner()
    page._head_styles()
    page._markdown()
    _plotly_js()


class Helpers:
    """Rendering processes started ahead of their reports, e.g. while the exports load
    (``sla report``): each imports the libraries and starts its notebook shell meanwhile. Give it
    to :func:`render_reports` as ``helpers``; close it (or use it as a context manager) after.
    With ``here=False`` this process does not render itself: it would start cold (its libraries
    not imported yet) while the helpers are ready, so ``sla report`` starts one helper per core."""

    def __init__(self, n: int, here: bool = True):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.n = max(0, n)
        self.here = here  # whether this process renders too (else it only hands out reports)
        # "spawn" on every platform: a fresh interpreter, as on Windows; never a fork of a process
        # that holds DuckDB threads
        self.pool = ProcessPoolExecutor(max_workers=self.n, mp_context=multiprocessing.get_context("spawn")) \
            if self.n else None
        for _ in range(self.n):
            self.pool.submit(_warm_up)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Helpers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_WEIGHT = {"year": 0, "monthly": 1, "quarterly": 2}  # the order a batch renders its kinds in


def render_reports(jobs: Sequence[tuple[str, str | int]], db: Path, contract_path: Path,
                   out_dir: Path = config.REPORTS_DIR, notebooks_dir: Path | None = None,
                   workers: int | None = None,
                   on_done: Callable[[Outcome], None] | None = None,
                   helpers: Helpers | None = None) -> list[Outcome]:
    """Render every ``(kind, period)`` of ``jobs``; the outcomes in the order of ``jobs``.

    The libraries are imported and the notebook shell started once per process: this process
    renders one report after another, and with ``workers`` > 1 (default :func:`default_workers`)
    ``workers - 1`` helper processes take reports from the same queue, each in its own shell.
    Each report is written atomically as by :func:`render_report`; one that fails keeps its
    previous version and its outcome names the cell, and the others are still rendered (a helper
    that dies leaves its report failed and the rest to this process). ``on_done`` is called as
    each one finishes. The archive index is written once, at the end. ``helpers``: processes
    started before (:class:`Helpers`), used instead of starting ``workers - 1`` new ones.
    """
    out_dir = Path(out_dir)
    todo = [(kinds.kind(k).name, kinds.kind(k).label_of(p)) for k, p in jobs]
    args = (str(Path(db)), str(Path(contract_path)), str(out_dir),
            str(Path(notebooks_dir).resolve()) if notebooks_dir is not None else None)
    n = default_workers(len(todo)) if workers is None else max(1, min(workers, len(todo) or 1))
    results: dict[int, Outcome] = {}
    # the longest first (a contract-year review takes about two months' time, a quarter half of one),
    # so that no process is left with a long report while the others have finished
    longest_first = sorted(range(len(todo)), key=lambda i: _WEIGHT.get(todo[i][0], 1))
    queue = longest_first[::-1]
    lock = threading.Lock()

    def take() -> int | None:
        with lock:
            return queue.pop() if queue else None

    def done(i: int, path: str | None, error: str | None, seconds: float) -> None:
        with lock:
            results[i] = Outcome(todo[i][0], todo[i][1], Path(path) if path else None, error, seconds)
            if on_done is not None:
                on_done(results[i])

    try:
        if helpers is not None and helpers.n:
            _render_shared(todo, args, helpers.pool, helpers.n, take, done, here=helpers.here)
        elif n <= 1:
            while (i := take()) is not None:
                done(i, *_render_one(*todo[i], *args))
        else:
            with Helpers(n - 1) as started:
                _render_shared(todo, args, started.pool, started.n, take, done)
    finally:
        write_index(out_dir)
    return [results[i] for i in range(len(todo))]


def _render_shared(todo, args, pool, helpers: int, take, done, here: bool = True) -> None:
    """This process (unless not ``here``) and the ``helpers`` processes of ``pool`` render the
    queue's reports together."""
    from concurrent.futures import wait

    futures, flock = [], threading.Lock()

    def feed() -> None:
        i = take()
        if i is None:
            return
        try:
            future = pool.submit(_render_one, *todo[i], *args)
        except Exception as e:  # the pool broke: this report failed, the others stay queued for us
            done(i, None, f"{todo[i][0]} {todo[i][1]}: no rendering process ({type(e).__name__}: {e})", 0.0)
            return
        with flock:
            futures.append(future)
        future.add_done_callback(lambda f, i=i: finished(i, f))

    def finished(i: int, future) -> None:
        try:
            done(i, *future.result())
        except Exception as e:  # the helper died (killed, out of memory)
            done(i, None, f"{todo[i][0]} {todo[i][1]}: the rendering process stopped ({type(e).__name__}: {e})", 0.0)
            return
        feed()

    for _ in range(helpers):
        feed()
    while here and (i := take()) is not None:
        done(i, *_render_one(*todo[i], *args))
    while True:
        with flock:
            pending = [f for f in futures if not f.done()]
        if not pending:
            break
        wait(pending)
    # the helpers could take no more (their pool broke): what is left is rendered here
    while (i := take()) is not None:
        done(i, *_render_one(*todo[i], *args))
