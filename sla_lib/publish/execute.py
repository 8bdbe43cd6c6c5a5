"""Execute report notebooks in this process: one IPython shell, a clean namespace per notebook.

Starting a Jupyter kernel and importing pandas, DuckDB and plotly into it again costs several
seconds per report, far more than the report's own queries and charts. So ``sla render`` and
``sla scheduled`` run the notebooks here, in an IPython shell of the rendering process, which keeps
the imported libraries (and the cached contract, calendar and plotly.js) from one report to the
next. What a notebook sees is what a kernel gives it:

- the parameters are injected as papermill does (:func:`inject_parameters`: a cell tagged
  ``injected-parameters`` right after the ``parameters`` cell, ``month = "2025-10"``), so the
  rendered ``.ipynb`` runs again in JupyterLab or under papermill exactly as before;
- every notebook starts in an empty namespace (``%reset``) with the notebook's folder as working
  directory, and the execution counts start at 1;
- ``display()``, ``print``, warnings and the value of a cell's last expression become the same
  ``display_data``, ``stream`` and ``execute_result`` outputs a kernel would send;
- the first failing cell stops the notebook; its error output is kept and :class:`CellError`
  names the cell.

When an IPython shell already runs in this process (``render_report`` called from JupyterLab),
its namespace belongs to the analyst: :func:`runner` then returns None and the renderer starts a
kernel through papermill instead.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sys
import threading
import types
from pathlib import Path

__all__ = ["CellError", "InProcessRunner", "inject_parameters", "runner"]

INJECTED_TAG = "injected-parameters"


class CellError(Exception):
    """A notebook cell raised. ``cell_index`` counts the executed notebook's cells from 0."""

    def __init__(self, cell_index: int, source: str, ename: str, evalue: str):
        super().__init__(f"{ename}: {evalue}")
        self.cell_index, self.source, self.ename, self.evalue = cell_index, source, ename, evalue


# -- parameters, as papermill writes them ------------------------------------------------------------------
def _literal(value) -> str:
    """A Python literal of a parameter, spelled as papermill's Python translator spells it."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    raise TypeError(f"notebook parameter of unsupported type {type(value).__name__}: {value!r}")


def inject_parameters(nb, parameters: dict) -> None:
    """Insert papermill's ``injected-parameters`` cell after the ``parameters`` cell (or first),
    replacing an earlier injected cell."""
    import nbformat

    source = "# Parameters\n" + "".join(f"{name} = {_literal(value)}\n" for name, value in parameters.items())
    # nbformat.v4.new_code_cell, without validating the cell against the schema
    cell = nbformat.from_dict({"id": nbformat.v4.nbbase.random_cell_id(), "cell_type": "code", "execution_count": None,
                               "metadata": {"tags": [INJECTED_TAG]}, "outputs": [], "source": source})
    cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    at = next((i + 1 for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
    nb.cells = [*cells[:at], cell, *cells[at:]]


# -- the shell ---------------------------------------------------------------------------------------------------
class _Stream:
    """sys.stdout / sys.stderr of a running cell: text written by the cell's thread becomes
    ``stream`` outputs; text of other threads of this process (the progress lines of
    ``render_reports``) still goes where it went before."""

    encoding = "utf-8"

    def __init__(self, runner: InProcessRunner, name: str, before):
        self.runner, self.name, self.before = runner, name, before
        self.thread = threading.get_ident()

    def write(self, text) -> int:
        if threading.get_ident() != self.thread:
            return self.before.write(text)
        if text:
            self.runner._stream(self.name, str(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class InProcessRunner:
    """One IPython shell in this process that executes notebooks one after another."""

    def __init__(self):
        import nbformat
        from IPython.core.displayhook import DisplayHook
        from IPython.core.displaypub import DisplayPublisher
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        # an output as nbformat.v4.new_output makes it, without validating each one against the schema
        # (tests/test_render.py validates the rendered notebooks)
        self._new_output = lambda output_type, **fields: nbformat.from_dict({"output_type": output_type, **fields})
        self._outputs: list = []
        runner = self

        class Publisher(DisplayPublisher):
            def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
                runner._outputs.append(runner._new_output("display_data", data=data, metadata=metadata or {}))

            def clear_output(self, wait=False):
                runner._outputs.clear()

        class Hook(DisplayHook):
            def write_output_prompt(self):
                pass

            def write_format_data(self, format_dict, md_dict=None):
                runner._outputs.append(runner._new_output(
                    "execute_result", data=format_dict, metadata=md_dict or {}, execution_count=self.prompt_count))

            def flush(self):
                # DisplayHook.flush without its gc.collect() (60 ms, twice per report): the
                # namespace's objects go by reference counting, the rest at the next collection
                ns, hidden = self.shell.user_ns, self.shell.user_ns_hidden
                for n in range(1, self.prompt_count + 1):
                    hidden.pop(f"_{n}", None)
                    ns.pop(f"_{n}", None)
                if isinstance(ns.get("_oh"), dict):
                    ns["_oh"].clear()
                self._, self.__, self.___ = "", "", ""
                if "_" not in builtins.__dict__:
                    ns.update({"_": self._, "__": self.__, "___": self.___})

        config = Config()
        config.HistoryManager.enabled = False  # nothing written to ~/.ipython
        config.InteractiveShell.colors = "nocolor"
        config.InteractiveShell.autocall = 0
        shell = InteractiveShell.instance(config=config, user_module=types.ModuleType("__sla_report__"))
        shell.display_pub = Publisher(shell=shell, parent=shell)
        shell.displayhook = Hook(shell=shell, cache_size=shell.cache_size, parent=shell)
        shell.display_trap.hook = shell.displayhook
        shell._showtraceback = self._traceback  # as ipykernel does: the error becomes an output
        self.shell = shell

    def _stream(self, name: str, text: str) -> None:
        last = self._outputs[-1] if self._outputs else None
        if last is not None and last.get("output_type") == "stream" and last.get("name") == name:
            last["text"] += text
        else:
            self._outputs.append(self._new_output("stream", name=name, text=text))

    def _traceback(self, etype, evalue, stb) -> None:
        self._outputs.append(self._new_output(
            "error", ename=getattr(etype, "__name__", str(etype)), evalue=str(evalue), traceback=list(stb)))

    def run(self, nb, cwd: Path | str | None = None):
        """Execute the code cells of ``nb`` in place, in a fresh namespace, in folder ``cwd``.

        Raises :class:`CellError` at the first failing cell (the cells before it keep their
        outputs, the failing one its error)."""
        shell = self.shell
        shell.reset(new_session=True)
        shell.execution_count = 1
        before = os.getcwd()
        out, err = _Stream(self, "stdout", sys.stdout), _Stream(self, "stderr", sys.stderr)
        try:
            if cwd is not None:
                os.chdir(cwd)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                self._outputs = []
                if not cell.source.strip():
                    cell.outputs, cell.execution_count = [], None
                    continue
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    result = shell.run_cell(cell.source, store_history=True)
                cell.outputs = self._outputs
                cell.execution_count = result.execution_count
                error = result.error_before_exec or result.error_in_exec
                if error is not None:
                    raise CellError(index, cell.source, type(error).__name__, str(error))
        finally:
            self._outputs = []
            os.chdir(before)
            shell.reset(new_session=False)  # the report's data (and its open connection) go now
        nb.metadata.setdefault("language_info", {"name": "python", "version": sys.version.split()[0]})
        return nb


_RUNNER: InProcessRunner | None = None


def runner() -> InProcessRunner | None:
    """This process's runner, made on first use; None inside a running IPython (JupyterLab)."""
    global _RUNNER
    if _RUNNER is None:
        from IPython.core.interactiveshell import InteractiveShell

        if InteractiveShell.initialized():
            return None
        _RUNNER = InProcessRunner()
    return _RUNNER
