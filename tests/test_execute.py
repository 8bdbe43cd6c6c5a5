"""The in-process notebook runner and the batch renderer (issue 14): what a notebook sees is what a
kernel gives it, the parameters are papermill's, the report is the one a papermill kernel renders,
and many reports in one go (helper processes included) give every report and name the failed one."""

from __future__ import annotations

import importlib.util
import json
import os

import nbformat
import pytest

from sla_lib.publish import execute, render
from sla_lib.publish.render import render_report, render_reports
from sla_lib.rules.contract import load_contract

from .test_report import CONTRACT, MONTH, ROOT, build_db

pytestmark = pytest.mark.long(15)  # seconds with `make test` here: started early (conftest)

NOTEBOOKS = ROOT / "notebooks"


def _compare_reports():
    spec = importlib.util.spec_from_file_location("compare_reports", ROOT / "benchmarks" / "compare_reports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _notebook(*sources: str, tags: dict[int, list[str]] | None = None):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for i, t in (tags or {}).items():
        nb.cells[i].metadata["tags"] = t
    return nb


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    base = tmp_path_factory.mktemp("execute")
    return build_db(base / "sla.duckdb", load_contract(CONTRACT).sha256)


# -- parameters ----------------------------------------------------------------------------------------------
def test_parameters_are_injected_exactly_as_papermill_injects_them():
    from papermill.parameterize import parameterize_notebook

    params = {"month": 'a "quoted" \\ month', "contract_year": 2, "db_path": "/x/sla.duckdb", "flag": True,
              "none": None, "rate": 0.5}
    ours = nbformat.read(str(NOTEBOOKS / "monthly_report.ipynb"), as_version=4)
    theirs = nbformat.read(str(NOTEBOOKS / "monthly_report.ipynb"), as_version=4)
    for cell in theirs.cells:
        cell.metadata.setdefault("tags", [])
    theirs.metadata["papermill"] = {}
    execute.inject_parameters(ours, params)
    theirs = parameterize_notebook(theirs, params, kernel_name="python3", language="python")
    mine = [c for c in ours.cells if "injected-parameters" in c.metadata.get("tags", [])]
    papermills = [c for c in theirs.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(mine) == len(papermills) == 1
    assert mine[0].source.strip() == papermills[0].source.strip()
    # right after the parameters cell, as papermill puts it; injecting again replaces it
    assert "parameters" in ours.cells[0].metadata["tags"] and ours.cells[1] is mine[0]
    execute.inject_parameters(ours, {"month": "2025-09"})
    injected = [c for c in ours.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert [c.source for c in injected] == ['# Parameters\nmonth = "2025-09"\n']


# -- what a cell sees and gives --------------------------------------------------------------------------------
def test_outputs_are_a_kernels_outputs(tmp_path):
    nb = _notebook(
        "x = 41\nprint('one'); print('two')",
        "from IPython.display import HTML, display\ndisplay(HTML('<b>shown</b>'))\nx + 1",
        "import os, sys\nprint(os.getcwd()); print('warned', file=sys.stderr)",
        "",
    )
    execute.runner().run(nb, cwd=tmp_path)
    first, second, third, empty = nb.cells
    assert [(o.output_type, o.name, o.text) for o in first.outputs] == [("stream", "stdout", "one\ntwo\n")]
    assert [o.output_type for o in second.outputs] == ["display_data", "execute_result"]
    assert second.outputs[0].data["text/html"] == "<b>shown</b>"
    assert second.outputs[1].data["text/plain"] == "42" and second.outputs[1].execution_count == 2
    assert [(o.name, o.text) for o in third.outputs] == [("stdout", f"{tmp_path}\n"), ("stderr", "warned\n")]
    assert [c.execution_count for c in nb.cells] == [1, 2, 3, None] and empty.outputs == []
    assert os.getcwd() != str(tmp_path)  # the working folder is given back


def test_each_notebook_starts_in_an_empty_namespace():
    run = execute.runner()
    run.run(_notebook("left_behind = 'from the first report'"))
    nb = run.run(_notebook("print('left_behind' in dir())"))
    assert nb.cells[0].outputs[0].text == "False\n"


def test_a_failing_cell_stops_the_notebook_with_its_error_and_index():
    nb = _notebook("a = 1", "1 / 0", "print('never')")
    with pytest.raises(execute.CellError) as info:
        execute.runner().run(nb)
    e = info.value
    assert (e.cell_index, e.ename, e.evalue, e.source) == (1, "ZeroDivisionError", "division by zero", "1 / 0")
    assert [o.output_type for o in nb.cells[1].outputs] == ["error"]
    assert nb.cells[1].outputs[0].ename == "ZeroDivisionError"
    assert nb.cells[2].outputs == [] and nb.cells[2].execution_count is None
    with pytest.raises(execute.CellError) as info:  # a syntax error is a failing cell too
        execute.runner().run(_notebook("def (:"))
    assert info.value.ename == "SyntaxError" and info.value.cell_index == 0


# -- the report is the one a kernel renders ------------------------------------------------------------------------
def test_in_process_report_equals_the_papermill_kernels_report(db, tmp_path, monkeypatch):
    ours = render_report("monthly", MONTH, db, CONTRACT, tmp_path / "ours")
    monkeypatch.setattr(execute, "runner", lambda: None)  # as inside JupyterLab: papermill and a kernel
    theirs = render_report("monthly", MONTH, db, CONTRACT, tmp_path / "kernel")
    assert _compare_reports().compare(tmp_path / "kernel", tmp_path / "ours") == []
    a = nbformat.read(str(ours.with_suffix(".ipynb")), as_version=4)
    b = nbformat.read(str(theirs.with_suffix(".ipynb")), as_version=4)
    assert [c.source for c in a.cells] == [c.source for c in b.cells]
    outputs = [[(o.output_type, sorted(o.get("data", {}))) for o in c.get("outputs", [])] for c in a.cells]
    assert outputs == [[(o.output_type, sorted(o.get("data", {}))) for o in c.get("outputs", [])] for c in b.cells]
    nbformat.validate(a)


# -- many reports in one go -----------------------------------------------------------------------------------------
def test_batch_with_a_helper_process_renders_each_report_once_and_keeps_progress_out_of_them(db, tmp_path):
    seen = []
    jobs = [("monthly", MONTH), ("monthly", "2025-07"), ("monthly", "2025-06"), ("monthly", "2025-09")]
    outcomes = render_reports(jobs, db, CONTRACT, tmp_path / "reports", workers=2,
                              on_done=lambda o: (seen.append(o), print(f"progress {o.kind} {o.period}")))
    assert [(o.kind, o.period) for o in outcomes] == jobs
    assert all(o.error is None and o.path.exists() for o in outcomes), [o.error for o in outcomes]
    assert sorted((o.kind, o.period) for o in seen) == sorted((o.kind, o.period) for o in outcomes)
    for o in outcomes:  # no progress line of another thread ended up in a report's outputs
        text = o.path.with_suffix(".ipynb").read_text(encoding="utf-8")
        assert "progress " not in text
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert all(f"{m}/monthly-report.html" in index for _, m in jobs)


def test_when_the_helpers_can_take_no_report_this_process_renders_the_rest(db, tmp_path):
    """``sla report`` leaves the rendering to its helpers; when their pool can take no more (it
    broke: a helper killed, out of memory), the report it refused is named as failed and every
    other one is rendered here."""
    from sla_lib.publish.render import Helpers

    jobs = [("monthly", MONTH), ("monthly", "2025-07"), ("monthly", "2025-09")]
    with Helpers(1, here=False) as helpers:
        helpers.pool.shutdown(wait=True)  # from now on every submit raises, as on a broken pool
        outcomes = render_reports(jobs, db, CONTRACT, tmp_path / "reports", helpers=helpers)
    assert [(o.kind, o.period) for o in outcomes] == jobs
    failed = [o for o in outcomes if o.error]
    assert len(failed) == 1 and "no rendering process" in failed[0].error, [o.error for o in outcomes]
    assert sum(1 for o in outcomes if o.error is None and o.path.exists()) == 2


def test_a_failing_report_of_a_batch_is_named_and_the_others_are_rendered(db, tmp_path):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    broken = nbformat.read(str(NOTEBOOKS / "monthly_report.ipynb"), as_version=4)
    broken.cells.append(nbformat.v4.new_code_cell("if month == '2025-07':\n    raise RuntimeError('planted')"))
    nbformat.write(broken, str(nb_dir / "monthly_report.ipynb"))
    outcomes = render_reports([("monthly", "2025-07"), ("monthly", MONTH)], db, CONTRACT,
                              tmp_path / "reports", notebooks_dir=nb_dir, workers=1)
    failed, fine = outcomes
    assert fine.error is None and fine.path.exists()
    assert "RuntimeError: planted" in failed.error
    assert f"monthly_report.ipynb: cell {len(broken.cells)} failed" in failed.error
    assert (tmp_path / "reports" / "2025-07" / "monthly-report.failed.ipynb").exists()
    assert not (tmp_path / "reports" / "2025-07" / "monthly-report.html").exists()


def test_default_workers_one_per_core_only_when_there_is_enough_to_share():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert render.default_workers(1) == 1 and render.default_workers(2) == 1
    assert render.default_workers(24) == min(cores, 4, 8)


def test_the_cli_renders_every_kind_in_one_go(db, tmp_path, capsys):
    from sla_lib.cli import main
    from sla_lib.publish.kinds import REPORT_KINDS
    from sla_lib.store.db import connect

    con = connect(db, read_only=True)
    try:
        expected = sorted((k.name, p) for k in REPORT_KINDS.values() for p in k.available(con, load_contract(CONTRACT)))
    finally:
        con.close()
    code = main(["render", "all", "--db", str(db), "--contract", str(CONTRACT), "--out", str(tmp_path / "r"),
                 "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0 and expected and ("monthly", MONTH) in expected
    records = [json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "r").glob("*/report.json")]
    assert sorted((r["kind"], r["period"]) for r in records) == expected
    assert out.count("rendered ") == len(expected)


def test_sla_report_loads_then_renders_every_report_with_helpers_started_first(tmp_path, capsys):
    """`sla report` (what `make report` runs): the exports of data/raw/ loaded, then every report of
    every kind rendered, with one helper process started before the load; run again, nothing new
    is loaded and the demo is not written over the exports."""
    from sla_lib.cli import main
    from sla_lib.demo.write import write_demo

    contract = load_contract(CONTRACT)
    exports = write_demo(tmp_path / "raw", contract, seed=7, months=2)  # July and August 2025
    argv = ["report", "--demo-if-empty", "--raw-dir", str(tmp_path / "raw"), "--db", str(tmp_path / "sla.duckdb"),
            "--contract", str(CONTRACT), "--out", str(tmp_path / "r"), "--workers", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "already holds exports; demo data not written" in out
    assert f"{len(exports)} file(s) loaded, 0 already loaded, 0 failed" in out
    records = [json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "r").glob("*/report.json")]
    assert sorted((r["kind"], r["period"]) for r in records) == [
        ("monthly", "2025-07"), ("monthly", "2025-08"), ("quarterly", "2025-Q3"), ("year", "contract-year-1")]
    assert out.count("rendered ") == 4 and (tmp_path / "r" / "index.html").exists()
    assert main(argv) == 0
    assert f"0 file(s) loaded, {len(exports)} already loaded" in capsys.readouterr().out
