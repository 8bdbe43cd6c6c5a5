"""Report figures as plotly's own JSON, built without ``plotly.graph_objects``.

A figure of the reports is a plotly.js figure: ``{"data": [traces], "layout": {…}}``. plotly.py's
graph objects check every property against plotly's schema as it is set; for the dozen figures of
a monthly report that cost more than the report's queries, and importing them cost as much again
(docs/decisions.md, "Figures as plotly JSON"). This module builds the same JSON directly, with the
part of plotly's figure API that the reports use, and the same results:

- :class:`Figure`: ``add_trace(trace, row, col)``, ``update_layout``, ``update_xaxes`` /
  ``update_yaxes`` (all axes, or those of a row / column of a grid), ``update_annotations``,
  ``add_annotation``, ``add_vline``; properties read as attributes (``fig.layout.title.text``,
  ``fig.data[0].marker.color``; an unset one reads as None, as in plotly);
- :func:`subplots`: plotly's ``make_subplots`` grid (domains, subplot titles, shared x axes) for a
  plain grid of xy subplots;
- traces :func:`Bar`, :func:`Scatter`, :func:`Histogram`, :func:`Heatmap`: a dict with its ``type``;
- keyword names with underscores are paths, as in plotly (``marker_color=`` is
  ``{"marker": {"color": …}}``, ``title_text=``; not ``plot_bgcolor``), a title given as text is
  ``{"text": …}``, and a property set to None is unset.

The figure carries the report template (:data:`TEMPLATE`: plotly's ``plotly_white`` with the
report's fonts, colours and margins) as ``layout.template``, as a plotly figure carries its default
template. :func:`to_json` writes it as plotly.io does (arrays as lists, NaN as null, dates in ISO
form, ``<``, ``>`` and ``/`` escaped for HTML); :func:`to_html` writes the ``<div>`` and script that
``plotly.io.to_html(full_html=False, include_plotlyjs=False)`` writes. ``go.Figure(fig.to_dict())``
gives a plotly figure of it (checked against plotly's schema in ``tests/test_render.py``).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import math
import pkgutil
from typing import Any

__all__ = ["Node", "Figure", "subplots", "Bar", "Scatter", "Histogram", "Heatmap", "to_json", "to_html",
           "plotly_template", "template_json"]

# plotly property names that do contain an underscore (every other underscore is a path)
_UNDERSCORED = {"error_x", "error_y", "error_z", "plot_bgcolor", "paper_bgcolor"}


class Node(dict):
    """A dict whose keys read as attributes; a missing key reads as None (plotly's unset property)."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        value = self.get(name)
        if isinstance(value, dict) and not isinstance(value, Node):
            value = self[name] = Node(value)
        return value

    def __deepcopy__(self, memo):
        return Node({k: copy.deepcopy(v, memo) for k, v in self.items()})


def _node(value):
    if isinstance(value, dict):
        return Node({k: _node(v) for k, v in value.items()})
    return value


def _set(target: dict, key: str, value) -> None:
    """``target[key] = value`` with plotly's magic underscores and merging of nested properties."""
    if "_" in key and key not in _UNDERSCORED:
        head, rest = key.split("_", 1)
        child = target.get(head)
        if not isinstance(child, dict):
            child = target[head] = Node()
        _set(child, rest, value)
        return
    if value is None:  # as in plotly: a property set to None is unset
        target.pop(key, None)
        return
    if key == "title" and isinstance(value, str):
        value = {"text": value}
    if isinstance(value, dict):
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = Node()
        for k, v in value.items():
            _set(child, k, v)
        return
    target[key] = _node(value)


def _update(target: dict, updates: dict | None, kwargs: dict) -> None:
    for key, value in {**(updates or {}), **kwargs}.items():
        _set(target, key, value)


def _trace(kind: str, arg: dict | None = None, **kwargs) -> Node:
    trace = Node()
    _update(trace, arg, kwargs)
    trace["type"] = kind
    return trace


def Bar(arg: dict | None = None, **kwargs) -> Node:  # noqa: N802 (plotly's names)
    return _trace("bar", arg, **kwargs)


def Scatter(arg: dict | None = None, **kwargs) -> Node:  # noqa: N802
    return _trace("scatter", arg, **kwargs)


def Histogram(arg: dict | None = None, **kwargs) -> Node:  # noqa: N802
    return _trace("histogram", arg, **kwargs)


def Heatmap(arg: dict | None = None, **kwargs) -> Node:  # noqa: N802
    return _trace("heatmap", arg, **kwargs)


# -- the template --------------------------------------------------------------------------------------------
@functools.cache
def plotly_template(name: str) -> str:
    """One of plotly's own templates (``plotly_white``), as the JSON text plotly ships."""
    data = pkgutil.get_data("plotly", f"package_data/templates/{name}.json")
    if data is None:
        raise FileNotFoundError(f"plotly/package_data/templates/{name}.json")
    return data.decode("utf-8")


TEMPLATE: dict = {}  # set by sla_lib.reports.charts (the report's look), as plotly's default template


def template_json(base: str, layout: dict) -> dict:
    """plotly template ``base`` with ``layout`` merged into its layout (as ``Template.layout.update``)."""
    template = Node(_node(json.loads(plotly_template(base))))
    _update(template.setdefault("layout", Node()), layout, {})
    return template


# -- figures ------------------------------------------------------------------------------------------------
class Figure:
    """A plotly.js figure as JSON, with the part of plotly's figure API the reports use."""

    def __init__(self, data=None, layout: dict | None = None, **layout_kwargs):
        self._data: list[Node] = []
        self._layout = Node()
        self._grid: list[list[tuple[str, str]]] | None = None
        if data is not None:
            for trace in data if isinstance(data, list | tuple) else [data]:
                self.add_trace(trace)
        _update(self._layout, layout, layout_kwargs)

    @property
    def data(self) -> tuple[Node, ...]:
        return tuple(self._data)

    @property
    def layout(self) -> Node:
        return self._layout

    # traces
    def add_trace(self, trace: dict, row: int | None = None, col: int | None = None) -> Figure:
        trace = _node(dict(trace))
        if row is not None or col is not None:
            x, y = self._cell(row or 1, col or 1)
            trace["xaxis"], trace["yaxis"] = x.replace("axis", ""), y.replace("axis", "")
        self._data.append(trace)
        return self

    def _cell(self, row: int, col: int) -> tuple[str, str]:
        if self._grid is None:
            raise ValueError("row and col are for a figure made with subplots()")
        return self._grid[row - 1][col - 1]

    # layout
    def update_layout(self, arg: dict | None = None, **kwargs) -> Figure:
        _update(self._layout, arg, kwargs)
        return self

    def _axes(self, letter: str, row: int | None, col: int | None) -> list[str]:
        if self._grid is None:
            keys = sorted((k for k in self._layout if k.startswith(f"{letter}axis")), key=_axis_number)
            return keys or [f"{letter}axis"]
        i = 0 if letter == "x" else 1
        return [cell[i] for r, cells in enumerate(self._grid, start=1) for c, cell in enumerate(cells, start=1)
                if (row is None or r == row) and (col is None or c == col)]

    def update_xaxes(self, arg: dict | None = None, row: int | None = None, col: int | None = None, **kwargs) -> Figure:
        for key in self._axes("x", row, col):
            _update(self._layout.setdefault(key, Node()), arg, kwargs)
        return self

    def update_yaxes(self, arg: dict | None = None, row: int | None = None, col: int | None = None, **kwargs) -> Figure:
        for key in self._axes("y", row, col):
            _update(self._layout.setdefault(key, Node()), arg, kwargs)
        return self

    def add_annotation(self, arg: dict | None = None, **kwargs) -> Figure:
        note = Node()
        _update(note, arg, kwargs)
        self._layout.setdefault("annotations", []).append(note)
        return self

    def update_annotations(self, arg: dict | None = None, **kwargs) -> Figure:
        for note in self._layout.get("annotations", []):
            _update(note, arg, kwargs)
        return self

    def add_vline(self, x, annotation_text: str | None = None, annotation_position: str = "top right",
                  annotation_font_color: str | None = None, **line) -> Figure:
        """A vertical line across the plot at ``x`` (``line_dash=``, ``line_color=``, ``line_width=``),
        with its label at the top or bottom, right or left of it, as plotly's add_vline; on a figure
        without subplots (plotly would draw it on every subplot holding data)."""
        if self._grid is not None:
            raise ValueError("add_vline is for a figure without subplots")
        shape = Node()
        _update(shape, None, line)
        shape.update({"type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain"})
        self._layout.setdefault("shapes", []).append(shape)
        if annotation_text is not None:
            top = "top" in annotation_position
            right = "left" not in annotation_position
            note = {"showarrow": False, "text": annotation_text, "x": x, "xanchor": "left" if right else "right",
                    "xref": "x", "y": 1 if top else 0, "yanchor": "top" if top else "bottom", "yref": "y domain"}
            if annotation_font_color is not None:
                note["font"] = {"color": annotation_font_color}
            self.add_annotation(note)
        return self

    def to_dict(self) -> dict:
        """``{"data": […], "layout": {…, "template": …}}``, as plotly's ``to_plotly_json``."""
        layout = dict(self._layout)
        if TEMPLATE and "template" not in layout:
            layout["template"] = TEMPLATE
        return {"data": [dict(t) for t in self._data], "layout": layout}

    to_plotly_json = to_dict


def _axis_number(key: str) -> int:
    digits = key[5:]
    return int(digits) if digits else 1


def subplots(rows: int = 1, cols: int = 1, subplot_titles: list[str] | None = None, shared_xaxes: bool = False,
             vertical_spacing: float | None = None, horizontal_spacing: float | None = None) -> Figure:
    """plotly's ``make_subplots`` for a grid of xy subplots, started at the top left: the same axis
    domains (to the last digit), subplot titles and, with ``shared_xaxes``, each column's x axes
    matching the bottom one, tick labels only at the bottom."""
    horizontal_spacing = 0.2 / cols if horizontal_spacing is None else horizontal_spacing
    vertical_spacing = 0.3 / rows if vertical_spacing is None else vertical_spacing
    widths = [(1.0 - horizontal_spacing * (cols - 1)) / cols] * cols
    heights = [(1.0 - vertical_spacing * (rows - 1)) / rows] * rows
    # as plotly: rows counted from the bottom ("top-left" start cell: row_dir -1)
    grid = [[(sum(widths[:c]) + c * horizontal_spacing, sum(heights[:r]) + r * vertical_spacing)
             for c in range(cols)] for r in range(rows)[::-1]]
    fig = Figure()
    fig._grid = []
    domains = []
    n = 0
    for r in range(rows):
        cells = []
        for c in range(cols):
            n += 1
            x_s = grid[r][c][0] + 0.0
            x_e = grid[r][c][0] + widths[c] - 0.0
            y_s = min(max(grid[r][c][1] + 0.0, 0.0), 1.0)
            y_e = min(max(grid[r][c][1] + heights[-1 - r] - 0.0, 0.0), 1.0)
            suffix = "" if n == 1 else str(n)
            fig._layout[f"xaxis{suffix}"] = Node(anchor=f"y{suffix}", domain=[x_s, x_e])
            fig._layout[f"yaxis{suffix}"] = Node(anchor=f"x{suffix}", domain=[y_s, y_e])
            cells.append((f"xaxis{suffix}", f"yaxis{suffix}"))
            domains.append(([x_s, x_e], [y_s, y_e]))
        fig._grid.append(cells)
    if shared_xaxes:
        for c in range(cols):
            first = None
            for r in range(rows - 1, -1, -1):
                key = fig._grid[r][c][0]
                if first is None:
                    first = key.replace("axis", "")
                else:
                    fig._layout[key]["matches"] = first
                    fig._layout[key]["showticklabels"] = False
    titles = subplot_titles or []
    notes = [Node(y=y[1], xref="paper", x=sum(x) / 2.0, yref="paper", text=t, showarrow=False, font={"size": 16},
                  xanchor="center", yanchor="bottom")
             for t, (x, y) in zip(titles, domains, strict=False) if t]
    if notes:
        fig._layout["annotations"] = notes
    return fig


# -- writing -------------------------------------------------------------------------------------------------
def _plain(value: Any):
    """A JSON value of a figure property, as plotly's encoder writes it."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    if hasattr(value, "tolist"):  # numpy arrays and scalars, pandas Series and Index
        return _plain(value.tolist())
    if isinstance(value, dt.datetime | dt.date):  # pandas Timestamps too
        return None if value != value else value.isoformat()  # NaT
    if value != value:  # pd.NA, NaT
        return None
    return value


@functools.cache
def _template_text() -> str:
    """:data:`TEMPLATE` as JSON, once per process (it is set once, by sla_lib.reports.charts)."""
    return json.dumps(_plain(TEMPLATE), separators=(",", ":"))


def _layout_text(layout: dict) -> str:
    """The layout's JSON; the report template (the same on every figure, and most of the text)
    is written once per process."""
    if layout.get("template") is TEMPLATE and TEMPLATE:
        rest = {k: v for k, v in layout.items() if k != "template"}
        head = json.dumps(_plain(rest), separators=(",", ":"))
        return head[:-1] + ("," if rest else "") + '"template":' + _template_text() + "}"
    return json.dumps(_plain(layout), separators=(",", ":"))


def _parts(fig: Figure | dict) -> tuple[str, str]:
    d = fig.to_dict() if isinstance(fig, Figure) else fig
    return json.dumps(_plain(d.get("data", [])), separators=(",", ":")), _layout_text(d.get("layout", {}))


def to_json(fig: Figure | dict, **extra) -> str:
    """The figure's JSON (``extra`` keys added at the top level, e.g. ``config``), safe inside HTML."""
    jdata, jlayout = _parts(fig)
    more = "".join(f',"{k}":' + json.dumps(_plain(v), separators=(",", ":")) for k, v in extra.items())
    return _escape(f'{{"data":{jdata},"layout":{jlayout}{more}}}')


def _escape(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("/", "\\u002f")


def to_html(fig: Figure, div_id: str, config: dict, default_height: str = "100%", default_width: str = "100%") -> str:
    """The ``text/html`` of a figure, as ``plotly.io.to_html(fig, full_html=False,
    include_plotlyjs=False, div_id=…, config=…)`` writes it: the page must provide ``Plotly``."""
    d = fig.to_dict()
    layout = d.get("layout", {})
    template_layout = layout.get("template", {}).get("layout", {})
    width = layout.get("width", template_layout.get("width", default_width))
    height = layout.get("height", template_layout.get("height", default_height))
    width, height = (f"{v}px" if isinstance(v, int | float) else v for v in (width, height))
    jdata, jlayout = (_escape(t) for t in _parts(d))
    jconfig = json.dumps({**config, "responsive": config.get("responsive", True)})
    script = (f'                if (document.getElementById("{div_id}")) {{                    Plotly.newPlot('
              f'                        "{div_id}",                        {jdata},                        {jlayout},'
              f'                        {jconfig}                    )                }}')
    return (f'<div style="height:{height}; width:{width};">                            <div id="{div_id}" '
            f'class="plotly-graph-div" style="height:100%; width:100%;"></div>            <script>                '
            f"window.PLOTLYENV=window.PLOTLYENV || {{}};{script};            </script>        </div>")
