"""End to end: the monthly notebook through real papermill on the hand-made database, the offline
HTML export, the archive index, and (when Chromium is installed) that the charts draw with no network."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

import nbformat
import pytest

from sla_lib.errors import SlaError
from sla_lib.publish.archive import write_index
from sla_lib.publish.render import RenderError, notebook_json, render_report
from sla_lib.rules.contract import load_contract
from sla_lib.store import db as sdb

from .test_report import CONTRACT, MONTH, ROOT, build_db

pytestmark = pytest.mark.long(10)  # seconds with `make test` here: started early (conftest)

NOTEBOOKS = ROOT / "notebooks"
FIGURES = ["summary", "clock-response", "clock-resolution", "clock-onsite_arrival", "clock-onsite_fix",
           "by-system", "by-channel", "by-hour", "by-engineer"]


class _Page(HTMLParser):
    """Collects URL attributes, scripts, stylesheets and the cells of tables with an id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []
        self.script_tags: list[dict] = []
        self.links: list[dict] = []
        self.ids: set[str] = set()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for k, v in attrs:
            if k in ("src", "href", "data", "poster", "action", "srcset") and v:
                self.urls.append((tag, k, v))
        if tag == "script":
            self.script_tags.append(a)
        if tag == "link":
            self.links.append(a)
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        if self._table and tag == "tr":
            self.tables[self._table].append([])
        if self._table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if self._table and tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    return p


def assert_offline(html: str) -> _Page:
    """Nothing in the page may reach a network: no remote URL in any attribute, no remote CSS import,
    no require.js / MathJax, plotly.js at most once and inline."""
    page = parse(html)
    remote = [u for u in page.urls if re.match(r"\s*(https?:)?//", u[2], re.I)]
    assert remote == [], f"remote URLs in attributes: {remote[:5]}"
    assert not re.search(r"@import\s+url\(\s*['\"]?(https?:)?//", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html.replace(_plotly_block(html), ""), re.I)
    assert [s for s in page.script_tags if s.get("src")] == [], "every script must be inline"
    assert [ln for ln in page.links if "stylesheet" in (ln.get("rel") or "")] == []
    assert "require.min.js" not in html and "requirejs" not in html.lower()
    assert "text/x-mathjax-config" not in html and "MathJax.Hub" not in html
    return page


def _plotly_block(html: str) -> str:
    i = html.find('id="plotly-js-inline"')
    return html[i:html.index("</script>", i)] if i >= 0 else ""


# -- charts and tables, no kernel -----------------------------------------------------------------------------
def test_clock_histogram_limit_line_overflow_and_empty():
    import pandas as pd

    from sla_lib.reports import charts

    contract = load_contract(CONTRACT)
    dist = pd.DataFrame({"工单号": ["a", "b", "c", "d"], "状态": ["达标", "达标", "超时", "未到期"],
                         "自然时长（分钟）": [0.0, 20.0, 35.0, 5000.0], "工作时长（分钟）": [0.0] * 4,
                         "暂定": [False] * 4})
    fig = charts.clock_histogram(dist, contract, "response", MONTH)
    assert [sh.x0 for sh in fig.layout.shapes] == [20.0]  # the limit, dashed
    assert fig.layout.shapes[0].line.dash == "dash"
    assert [t.marker.color for t in fig.data] == [charts.COLORS["达标"], charts.COLORS["超时"], charts.COLORS["未到期"]]
    assert "超过 60 分钟 的 1 项" in fig.layout.title.text  # 5000 min gathered in the overflow bar
    size = fig.data[0].xbins.size
    # bins read (a, b]: the clock stopped exactly at the limit is in the bin that ends at the limit
    assert (20.0 - fig.data[0].xbins.start) // size == 20.0 // size
    empty = charts.clock_histogram(dist.iloc[:0], contract, "response", MONTH)
    assert empty.layout.annotations[0].text == "本期无数据"


@pytest.mark.parametrize("grid", [
    {"rows": 2, "cols": 2, "subplot_titles": ["a", "b", "c", "d"], "shared_xaxes": True, "vertical_spacing": 0.12,
     "horizontal_spacing": 0.08},
    {"rows": 4, "cols": 1, "subplot_titles": ["a", "", "c"], "vertical_spacing": 0.075, "horizontal_spacing": 0.08},
    {"rows": 1, "cols": 4, "subplot_titles": ["a", "b", "c", "d"], "horizontal_spacing": 0.06},
    {"rows": 3, "cols": 2},
])
def test_figure_json_equals_plotlys_own(grid):
    """sla_lib.reports.figures builds what plotly's graph objects build, to the last digit."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from sla_lib.reports import figures

    def plain(fig):
        d = json.loads(figures.to_json(fig)) if isinstance(fig, figures.Figure) else json.loads(fig.to_json())
        d["layout"].pop("template", None)
        return d

    ours, theirs = figures.subplots(**grid), make_subplots(**grid)
    for fig, bar in ((ours, figures.Bar), (theirs, go.Bar)):
        fig.add_trace(bar(x=["甲", "乙"], y=[1, 2], marker_color="#c62828", name="超时"), row=grid["rows"], col=1)
        fig.update_layout(title_text="标题", legend_y=1.1, plot_bgcolor="#ffffff", margin={"t": 100})
        fig.update_xaxes(type="category")
        fig.update_yaxes(title_text="计时数", col=1)
        fig.update_annotations(yshift=-2)
    assert plain(ours) == plain(theirs)
    assert ours.layout.title.text == "标题" and ours.data[0].marker.color == "#c62828"
    # a limit line with its label, on a figure without subplots
    ours, theirs = figures.Figure(), go.Figure()
    for fig in (ours, theirs):
        for i, position in enumerate(["top right", "bottom right", "top left"]):
            fig.add_vline(x=20 + i, line_dash="dash", line_color="#37474f", line_width=2, annotation_text=f"{i} 分钟",
                          annotation_position=position, annotation_font_color="#37474f")
    assert plain(ours) == plain(theirs)


def test_every_figure_of_a_month_is_valid_plotly(rendered):
    """Each figure the report shows passes plotly's own schema check (go.Figure raises on any
    property plotly does not know), with the report template it carries."""
    import plotly.graph_objects as go

    nb = nbformat.read(str(rendered["out"] / MONTH / "monthly-report.ipynb"), as_version=4)
    bundles = [o.data["application/vnd.plotly.v1+json"] for c in nb.cells if c.cell_type == "code"
               for o in c.outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(bundles) == len(FIGURES)
    for b in bundles:
        fig = go.Figure({"data": b["data"], "layout": b["layout"]})
        assert fig.layout.template.layout.font.family.startswith('"Noto Sans CJK SC"')


def test_table_html_escapes_and_formats():
    import pandas as pd

    from sla_lib.reports import charts

    df = pd.DataFrame({"说明": ["<script>alert(1)</script>", None], "达标率": [0.5, float("nan")],
                       "时间": pd.to_datetime(["2025-08-01 10:00:05", None]), "暂定": [True, False]})
    html = charts.table_html(df, "t")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert ">50.0%<" in html and ">—<" in html and ">2025-08-01 10:00:05<" in html and ">是<" in html
    assert 'id="sla-table-t"' in html and "<th" in html and "index" not in html
    assert charts.table_html(df.iloc[:0], empty="无") == '<p class="sla-empty">无</p>'


# -- one real render, shared -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("render")
    contract = load_contract(CONTRACT)
    db = build_db(base / "sla.duckdb", contract.sha256)
    out = base / "reports"
    html_path = render_report("monthly", MONTH, db, CONTRACT, out)
    return {"db": db, "out": out, "html_path": html_path, "html": html_path.read_text(encoding="utf-8")}


def test_render_writes_report_files(rendered):
    target = rendered["out"] / MONTH
    assert rendered["html_path"] == target / "monthly-report.html"
    assert (target / "monthly-report.ipynb").exists()
    rec = json.loads((target / "report.json").read_text(encoding="utf-8"))
    assert (rec["kind"], rec["period"], rec["as_of"], rec["package_version"]) == (
        "monthly", MONTH, "2025-08-31 18:00:00", "0.1.0")
    assert rec["html"] == "monthly-report.html" and rec["rendered_at"]
    # nothing left behind from the temporary names
    assert [p.name for p in rendered["out"].iterdir() if p.name.startswith(".")] == []
    assert not (target / "monthly-report.failed.ipynb").exists()


def test_executed_notebook_keeps_plotly_bundle_and_parameters(rendered):
    nb = nbformat.read(str(rendered["out"] / MONTH / "monthly-report.ipynb"), as_version=4)
    nbformat.validate(nb)  # the renderer writes its outputs without validating each one; the file is valid
    # and it is the text nbformat writes
    assert (rendered["out"] / MONTH / "monthly-report.ipynb").read_text(encoding="utf-8") == nbformat.v4.writes(nb) + "\n"
    assert notebook_json(nb) == nbformat.v4.writes(nb)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and f'month = "{MONTH}"' in injected[0].source
    bundles = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "display_data"]
    plotly = [o for o in bundles if "application/vnd.plotly.v1+json" in o.data]
    assert len(plotly) == len(FIGURES)
    assert all("text/html" in o.data and "Plotly.newPlot" in o.data["text/html"] for o in plotly)
    assert not any("require" in o.data["text/html"] for o in plotly)


def test_html_figures_equal_direct_queries(rendered):
    page = parse(rendered["html"])
    con = sdb.connect(rendered["db"], read_only=True)
    try:
        def count(clause, status):
            return con.execute("SELECT count(*) FROM ticket_sla WHERE month = ? AND clause = ? AND status = ?",
                               [MONTH, clause, status]).fetchall()[0][0]

        summary = page.tables["sla-table-clause-summary"]
        header = summary[0]
        rows = {r[0]: dict(zip(header, r, strict=True)) for r in summary[1:]}
        for clause in ("response", "resolution", "onsite_arrival", "onsite_fix"):
            assert int(rows[clause]["超时"]) == count(clause, "breached")
            assert int(rows[clause]["达标"]) == count(clause, "met")
        assert rows["response"]["达标率"] == "60.0%"
        breaches = page.tables["sla-table-breaches"]
        n_breached = con.execute("SELECT count(*) FROM ticket_sla WHERE month = ? AND status = 'breached'",
                                 [MONTH]).fetchall()[0][0]
        assert len(breaches) - 1 == n_breached == 5
        quality = page.tables["sla-table-data-quality"]
        total = dict(zip(quality[0], quality[-1], strict=True))
        read = con.execute("SELECT sum(rows_read) FROM ingest_log").fetchall()[0][0]
        assert total["文件"] == "合计" and int(total["读取行数"]) == read == 17
    finally:
        con.close()
    assert "西安市精神卫生中心 运维服务月度报告 · 2025年8月" in rendered["html"]
    assert "方法说明" in rendered["html"] and "calendar.extra_working_days" in rendered["html"]


def test_html_is_offline_and_code_hidden(rendered):
    html = rendered["html"]
    page = assert_offline(html)
    assert html.count("* plotly.js (cartesian - minified) v") == 1, "plotly.js must be embedded exactly once"
    assert html.count('id="plotly-js-inline"') == 1
    assert "* plotly.js v" not in html  # not the full bundle as well
    for name in FIGURES:
        assert f"sla-fig-{name}" in page.ids, name
    assert html.count('class="plotly-graph-div"') == len(FIGURES)
    # code input, prompts and the parameters cells are not in the report
    code_cells = re.findall(r'class="jp-Cell jp-CodeCell[^"]*"', html)
    assert code_cells and all("jp-mod-noInput" in c for c in code_cells)
    assert not re.search(r'class="[^"]*(jp-CodeMirrorEditor|jp-InputPrompt)', html) and "In&nbsp;[" not in html
    assert "report.clause_summary(" not in html and "db_path" not in html
    assert '<html lang="zh">' in html
    assert "@page" in html and "size: A4" in html


def test_index_lists_report(rendered):
    index = (rendered["out"] / "index.html").read_text(encoding="utf-8")
    assert_offline(index)
    page = parse(index)
    assert ("a", "href", f"{MONTH}/monthly-report.html") in page.urls
    assert "月度报告" in index and "2025-08-31 18:00:00" in index and "0.1.0" in index
    # write_index skips reports whose HTML is missing and works on an empty folder
    empty = rendered["out"].parent / "empty"
    assert "尚无已生成的报告" in write_index(empty).read_text(encoding="utf-8")


# -- Chromium, network off ------------------------------------------------------------------------------------
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed")
def test_charts_draw_in_headless_chromium_without_network(rendered):
    profile = tempfile.mkdtemp(prefix="sla-chromium-")
    try:
        proc = subprocess.run(
            [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
             # every network request goes to a closed local port: the page must not need any
             "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--host-resolver-rules=MAP * ~NOTFOUND",
             f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--window-size=1280,4000",
             "--dump-dom", rendered["html_path"].resolve().as_uri()],
            capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    # plotly.js replaced every empty figure div with its drawing
    assert dom.count('class="plot-container plotly"') == len(FIGURES), proc.stderr[-2000:]
    assert len(re.findall(r'<svg[^>]*class="main-svg"', dom)) >= len(FIGURES)
    assert dom.count('class="xtick"') > 0 or "xtick" in dom


# -- failures ------------------------------------------------------------------------------------------------------------
def test_failed_cell_names_notebook_and_cell_and_keeps_old_report(rendered, tmp_path):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    params = nbformat.v4.new_code_cell('month = ""\ndb_path = ""\ncontract_path = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# x"), params,
                nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise ValueError('boom')")]
    nbformat.write(nb, str(nb_dir / "monthly_report.ipynb"))
    before = rendered["html_path"].read_bytes()
    with pytest.raises(RenderError) as info:
        render_report("monthly", MONTH, rendered["db"], CONTRACT, rendered["out"], notebooks_dir=nb_dir)
    msg = str(info.value)
    assert str(nb_dir / "monthly_report.ipynb") in msg
    assert "cell 4" in msg and "ValueError: boom" in msg and "raise ValueError" in msg
    assert rendered["html_path"].read_bytes() == before
    failed = rendered["out"] / MONTH / "monthly-report.failed.ipynb"
    assert failed.exists()
    failed.unlink()
    assert [p.name for p in rendered["out"].iterdir() if p.name.startswith(".")] == []


def test_bad_month_and_missing_db(tmp_path):
    with pytest.raises(SlaError, match="YYYY-MM"):
        render_report("monthly", "2025/08", tmp_path / "x.duckdb", CONTRACT, tmp_path / "reports")
    with pytest.raises(RenderError, match="no database"):
        render_report("monthly", MONTH, tmp_path / "x.duckdb", CONTRACT, tmp_path / "reports")


# -- the committed notebooks ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["monthly_report.ipynb", "explore.ipynb"])
def test_notebooks_committed_without_outputs(name):
    nb = nbformat.read(str(NOTEBOOKS / name), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assert 'db_path = "../data/processed/sla.duckdb"' in params[0].source
    assert 'contract_path = "../contract.yaml"' in params[0].source
    assert nb.metadata.kernelspec.name == "python3"


def test_explore_notebook_runs_with_its_default_parameters(rendered, tmp_path):
    """The defaults (../data/processed/sla.duckdb, ../contract.yaml) work from notebooks/, as in JupyterLab."""
    import papermill as pm

    from sla_lib.publish.render import _kernel_manager_class

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data" / "processed").mkdir(parents=True)
    shutil.copy(NOTEBOOKS / "explore.ipynb", tmp_path / "notebooks")
    shutil.copy(CONTRACT, tmp_path / "contract.yaml")
    shutil.copy(rendered["db"], tmp_path / "data" / "processed" / "sla.duckdb")
    out = tmp_path / "explore.out.ipynb"
    pm.execute_notebook(str(tmp_path / "notebooks" / "explore.ipynb"), str(out), kernel_name="python3",
                        cwd=str(tmp_path / "notebooks"), progress_bar=False,
                        kernel_manager_class=_kernel_manager_class())
    nb = nbformat.read(str(out), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)
    assert any("T1" in o.get("data", {}).get("text/plain", "") for o in outputs)


@pytest.mark.skipif(os.name != "posix", reason="unix sockets (ipc) only on posix")
def test_two_renders_started_from_one_folder_at_once_use_their_own_kernel_sockets(tmp_path):
    """The ipc socket files of a kernel are "<ip>-1" … "<ip>-5"; with jupyter_client's default ip
    ("kernel-ipc", relative to the working directory) two renders started from the same folder at the
    same moment could open each other's sockets (seen as "Invalid Signature"). Each kernel now gets
    a private absolute name; two real executions at once from one folder both succeed."""
    from sla_lib.publish.render import _kernel_manager_class

    a, b = _kernel_manager_class()(kernel_name="python3"), _kernel_manager_class()(kernel_name="python3")
    assert os.path.isabs(a.ip) and a.ip != b.ip
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("n = 6 * 7\nprint(n)")])
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    script = ("import sys, papermill as pm\n"
              "from sla_lib.publish.render import _kernel_manager_class\n"
              "pm.execute_notebook('tiny.ipynb', sys.argv[1], kernel_name='python3', progress_bar=False,\n"
              "                    kernel_manager_class=_kernel_manager_class())\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, f"out{i}.ipynb"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(3)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert [r[2] for r in results] == [0, 0, 0], [r[1][-500:] for r in results]
    for i in range(3):
        out = nbformat.read(tmp_path / f"out{i}.ipynb", as_version=4)
        assert out.cells[0].outputs[0]["text"] == "42\n"
    assert not list(tmp_path.glob("kernel-ipc*"))  # nothing in the working directory


# -- the print edition to sign (issue 13) ------------------------------------------------------------------------
def test_the_print_edition_beside_the_report_holds_every_breach_and_the_sign_off(rendered):
    path = rendered["out"] / MONTH / "monthly-print.html"
    html = path.read_text(encoding="utf-8")
    page = assert_offline(html)
    assert "<script" not in html and "plotly" not in html.lower()
    rec = json.loads((rendered["out"] / MONTH / "report.json").read_text(encoding="utf-8"))
    assert "monthly-print.html" in rec["files"]
    con = sdb.connect(rendered["db"], read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM ticket_sla WHERE month = ? AND status = 'breached'", [MONTH]).fetchall()[0][0]
    finally:
        con.close()
    assert f"二、超时清单（{n} 项）" in html and n == 5
    assert "信息科" in html and "服务商" in html and html.count("签字：") == 2 and html.count("日期：") == 2
    assert "size: A4" in html and page is not None


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed")
def test_the_print_edition_fits_on_a_few_a4_pages(rendered, tmp_path):
    pdf = tmp_path / "print.pdf"
    profile = tempfile.mkdtemp(prefix="sla-chromium-")
    try:
        proc = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                               f"--user-data-dir={profile}", f"--print-to-pdf={pdf}",
                               (rendered["out"] / MONTH / "monthly-print.html").resolve().as_uri()],
                              capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0 and pdf.exists(), proc.stderr[-2000:]
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 1 <= pages <= 4, pages


def test_report_facts_read_once_for_every_month_equal_those_of_each_month(rendered):
    """A batch reads the facts of every month of a state at once; each month's equal what one
    query of that month gives (report.json, the scheduler's fingerprint)."""
    from sla_lib.publish import fingerprints as fp

    contract = load_contract(CONTRACT)
    con = sdb.connect(rendered["db"], read_only=True)
    try:
        months = [r[0] for r in con.execute("SELECT DISTINCT month FROM ticket_sla ORDER BY 1").fetchall()]
        assert len(months) >= 2
        for m in months:
            assert fp._db_facts(rendered["db"], contract.sha256, m) == fp.report_inputs(con, contract.sha256, m)
    finally:
        con.close()


def test_the_pages_plotly_js_is_the_version_plotly_py_writes_figures_for(rendered):
    """The cartesian bundle (sla_lib/publish/templates/plotly/SOURCE.md) is the plotly.js release of
    the installed plotly.py, and registers every trace type the reports draw: those of the month's
    figures, and every graph object the report modules make."""
    from plotly.offline import get_plotlyjs_version

    from sla_lib.publish.render import _js_version, _plotly_js

    js = _plotly_js()  # the cartesian bundle when its version is plotly.py's, else plotly.py's own
    head = re.match(r"/\*\*\n\* plotly\.js \(cartesian - minified\) v(\S+)\n", js)
    assert head and head.group(1) == get_plotlyjs_version() == _js_version(js[:200])
    assert js.rstrip().endswith("window.Plotly = Plotly;\nreturn Plotly;\n}));")
    nb = nbformat.read(rendered["out"] / MONTH / "monthly-report.ipynb", as_version=4)
    drawn = {t.get("type", "scatter") for c in nb.cells if c.cell_type == "code" for o in c.outputs
             for t in o.get("data", {}).get("application/vnd.plotly.v1+json", {}).get("data", [])}
    made = {m.lower() for m in re.findall(r"\bgo\.([A-Z][a-z]+)\(", "".join(
        f.read_text(encoding="utf-8") for f in (ROOT / "sla_lib" / "reports").glob("*.py"))) if m != "Figure"}
    assert made == {"bar", "heatmap", "histogram", "scatter"} and {"bar", "histogram"} <= drawn <= made
    for trace in made:
        assert f'name:"{trace}"' in js, f"{trace}: not in the bundle"
