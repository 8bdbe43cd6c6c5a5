"""The report page: an executed notebook written as one offline HTML page, without nbconvert.

What nbconvert's HTMLExporter wrote with its ``lab`` template (``exclude_input``, no prompts), the
``sla_report`` changes (plotly.js inlined once in the head, no require.js, MathJax, mermaid or
widget scripts, the report stylesheet and footer) and the BeautifulSoup pass it ran at the end
(input and output areas focusable, text as characters): the same elements, classes, stylesheets
and outputs, written directly. Importing nbconvert and compiling its Jinja templates cost more
per process than executing a monthly report, so the page is written here
(docs/decisions.md, "The report page without nbconvert").

The stylesheets are JupyterLab's own, read once per process from where nbconvert installs its
``lab`` template (``share/jupyter/nbconvert/templates/lab/static``), and the pygments stylesheet
of JupyterLab's code style; then ``templates/sla_report/report.css``. ``benchmarks/compare_reports.py``
checks that a page written here equals the page nbconvert wrote: the same markup, figures and tables.

Only what a report shows is written: markdown cells, and of code cells the outputs, each by the
first of :data:`DISPLAY_PRIORITY` it carries (plotly's own JSON stays in the ``.ipynb``).
"""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

__all__ = ["DISPLAY_PRIORITY", "REMOVED_CELL_TAGS", "notebook_page", "markdown_html"]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "sla_report"
REMOVED_CELL_TAGS = ("parameters", "injected-parameters", "remove-cell")
# nbconvert's HTMLExporter.display_data_priority
DISPLAY_PRIORITY = ("application/vnd.jupyter.widget-view+json", "application/javascript", "text/html",
                    "text/markdown", "image/svg+xml", "text/vnd.mermaid", "text/latex", "image/png", "image/jpeg",
                    "text/plain")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# -- the parts read once -----------------------------------------------------------------------------------
class PageError(Exception):
    """A part of the page (a stylesheet) could not be found."""


def _lab_static() -> Path:
    """The folder of JupyterLab's stylesheets that nbconvert installs with its ``lab`` template."""
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("nbconvert", "templates"):
        static = Path(base) / "lab" / "static"
        if (static / "index.css").is_file() and (static / "theme-light.css").is_file():
            return static
    raise PageError("JupyterLab's stylesheets (nbconvert templates/lab/static/index.css) not found on the Jupyter "
                    "path; reinstall nbconvert (`make install`)")


def _style(css: str, indent: str = "") -> str:
    return f'{indent}<style type="text/css">\n{css}\n</style>\n'


@functools.lru_cache(maxsize=1)
def _head_styles() -> str:
    """Every stylesheet of the page, in nbconvert's order: pygments (JupyterLab's code style),
    JupyterLab's index.css and light theme, the lab template's own rules, the report's."""
    from jupyterlab_pygments import JupyterStyle
    from pygments.formatters import HtmlFormatter

    static = _lab_static()
    pygments_css = HtmlFormatter(style=JupyterStyle).get_style_defs(".highlight")
    return "".join([
        f'<style type="text/css">\n    {pygments_css}\n  </style>\n\n',
        _style((static / "index.css").read_text(encoding="utf-8")),
        _style((static / "theme-light.css").read_text(encoding="utf-8"), "    "),
        _style((TEMPLATE_DIR / "lab.css").read_text(encoding="utf-8").strip("\n")),
        _style((TEMPLATE_DIR / "report.css").read_text(encoding="utf-8").strip("\n")).rstrip("\n"),
    ])


@functools.lru_cache(maxsize=1)
def _print_fit_script() -> str:
    return (TEMPLATE_DIR / "print-fit.html").read_text(encoding="utf-8").strip("\n")


@functools.lru_cache(maxsize=1)
def _markdown():
    """The markdown renderer of nbconvert's ``markdown2html`` (mistune, with the same plugins and
    headings carrying an id and a ¶ anchor), made once."""
    import mistune

    class Renderer(mistune.HTMLRenderer):
        def heading(self, text: str, level: int, **attrs) -> str:
            return _anchored(super().heading(text, level, **attrs))

        def escape_html(self, text: str) -> str:
            return html.escape(text, quote=False)

    return mistune.Markdown(renderer=Renderer(escape=False),
                            plugins=[mistune.import_plugin(p) for p in
                                     ("strikethrough", "table", "url", "task_lists", "def_list")])


def _anchored(heading: str) -> str:
    """``<h2 id="…">text<a class="anchor-link" href="#…">¶</a></h2>``, as nbconvert's add_anchor."""
    try:
        h = ElementTree.fromstring(heading)
    except ElementTree.ParseError:
        return heading
    link = quote("".join(h.itertext()).replace(" ", "-"), safe="?/:@!$&'()*+,;=")
    h.set("id", link)
    a = ElementTree.SubElement(h, "a", {"class": "anchor-link", "href": "#" + link})
    a.text = "¶"
    return ElementTree.tostring(h, encoding="unicode")


def markdown_html(source: str) -> str:
    """Markdown as the page shows it."""
    return _markdown()(source)


# -- cells -------------------------------------------------------------------------------------------------
def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _cell_id(cell) -> str:
    return f' id="{html.escape("cell-id=" + cell["id"])}"' if cell.get("id") else ""


def _celltags(cell) -> str:
    return "".join(html.escape(" celltag_" + t) for t in _tags(cell))


def _text(text) -> str:
    text = "".join(text) if isinstance(text, list) else str(text)
    return html.escape(_ANSI.sub("", text), quote=False)


def _data(output, extra: str) -> str:
    data = output.get("data", {})
    kind = next((k for k in DISPLAY_PRIORITY if k in data), None)
    value = data.get(kind)
    if isinstance(value, list):
        value = "".join(value)
    if kind == "text/html":
        return (f'<div class="jp-RenderedHTMLCommon jp-RenderedHTML jp-OutputArea-output {extra}" '
                f'data-mime-type="text/html" tabindex="0">\n{value}\n</div>')
    if kind == "text/markdown":
        return (f'<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-OutputArea-output {extra}" '
                f'data-mime-type="text/markdown" tabindex="0">\n{markdown_html(value)}\n</div>')
    if kind == "text/plain":
        return (f'<div class="jp-RenderedText jp-OutputArea-output {extra}" data-mime-type="text/plain" '
                f'tabindex="0">\n<pre>{_text(value)}</pre>\n</div>')
    if kind in ("image/png", "image/jpeg"):
        return (f'<div class="jp-RenderedImage jp-OutputArea-output {extra}" tabindex="0">\n'
                f'<img src="data:{kind};base64,{html.escape(value.strip())}"\nclass=""\n>\n</div>')
    if kind == "image/svg+xml":
        import base64

        return (f'<div class="jp-RenderedSVG jp-OutputArea-output {extra}" data-mime-type="image/svg+xml" '
                f'tabindex="0">\n<img src="data:image/svg+xml;base64,'
                f'{base64.b64encode(value.encode()).decode()}">\n</div>')
    if kind == "text/latex":
        return (f'<div class="jp-RenderedLatex jp-OutputArea-output {extra}" data-mime-type="text/latex" '
                f'tabindex="0">\n{html.escape(value)}\n</div>')
    return ""  # scripts and widgets are never written to an offline page


def _output(output) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        mime = "text/plain" if output.get("name") == "stdout" else "application/vnd.jupyter.stderr"
        body = (f'<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="{mime}" tabindex="0">\n'
                f'<pre>{_text(output.get("text", ""))}</pre>\n</div>')
    elif kind == "error":
        lines = "".join("\n" + _text(line) for line in output.get("traceback", []))
        body = (f'<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="application/vnd.jupyter.stderr" '
                f'tabindex="0">\n<pre>{lines}</pre>\n</div>')
    elif kind in ("display_data", "execute_result"):
        extra = "jp-OutputArea-executeResult" if kind == "execute_result" else ""
        body = _data(output, extra)
    else:
        body = ""
    child = "jp-OutputArea-child jp-OutputArea-executeResult" if kind == "execute_result" else "jp-OutputArea-child"
    return f'<div class="{child}">\n\n{body}\n\n</div>\n'


def _code_cell(cell) -> str:
    outputs = cell.get("outputs", [])
    no_outputs = "" if outputs else "jp-mod-noOutputs"
    head = f'<div{_cell_id(cell)} class="jp-Cell jp-CodeCell jp-Notebook-cell {no_outputs} jp-mod-noInput {_celltags(cell)}">\n'
    if not outputs:
        return head + "\n</div>"
    area = "".join(_output(o) for o in outputs)
    return (head + '\n<div class="jp-Cell-outputWrapper">\n'
            '<div class="jp-Collapser jp-OutputCollapser jp-Cell-outputCollapser">\n</div>\n\n'
            f'<div class="jp-OutputArea jp-Cell-outputArea">\n{area}\n</div>\n\n</div>\n\n</div>')


def _markdown_cell(cell) -> str:
    return (f'\n<div{_cell_id(cell)} class="jp-Cell jp-MarkdownCell jp-Notebook-cell">\n'
            '<div class="jp-Cell-inputWrapper" tabindex="0">\n'
            '<div class="jp-Collapser jp-InputCollapser jp-Cell-inputCollapser">\n</div>\n'
            '<div class="jp-InputArea jp-Cell-inputArea">'
            f'<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput {_celltags(cell)}" '
            f'data-mime-type="text/markdown">\n{markdown_html(cell.get("source", ""))}\n</div>\n</div>\n</div>\n</div>')


def _cell(cell) -> str:
    if set(_tags(cell)) & set(REMOVED_CELL_TAGS):
        return ""
    kind = cell.get("cell_type")
    if kind == "code":
        return _code_cell(cell)
    if kind == "markdown":
        return _markdown_cell(cell)
    return ""  # raw cells are not shown (nbconvert shows only raw cells of an HTML mime type: none here)


# -- the page ------------------------------------------------------------------------------------------------
def notebook_page(nb, title: str, plotly_js: str, footer: str = "") -> str:
    """The offline HTML page of an executed notebook (a NotebookNode or a plain dict)."""
    head = ('<!DOCTYPE html>\n<html lang="zh">\n<head><meta charset="utf-8" />\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n\n'
            f"<title>{html.escape(title, quote=False)}</title>\n"
            "<script type=\"text/javascript\">window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
            f'<script type="text/javascript" id="plotly-js-inline">\n{plotly_js}\n</script>\n\n'
            f"{_head_styles()}</head>")
    body = "".join(_cell(c) for c in nb["cells"])
    return (f'{head}\n<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">\n'
            f'<main>{body}\n<footer class="sla-report-footer">{html.escape(footer)}</footer>\n'
            f'{_print_fit_script()}\n\n</main>\n</body>\n\n</html>\n')
