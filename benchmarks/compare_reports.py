"""Compare two folders of rendered reports: the same pages, the same figures, the same tables.

    python benchmarks/compare_reports.py OLD_REPORTS_DIR NEW_REPORTS_DIR

Each ``*.html`` page under OLD is read beside the same page under NEW. Both are parsed with
BeautifulSoup and written out again, so that markup spelt differently but meaning the same
(attribute order, ``<br>`` or ``<br/>``, ``&#35199;`` or 西, blank lines) compares equal; then the
time of rendering (the footer, the index's "rendered at") is left out. What remains must be equal.
Each figure's data (the JSON given to ``Plotly.newPlot``) and each table are also compared on
their own, so a difference is named precisely. A figure's arrays compare by their values: plotly.py
writes a numpy array as a typed array (``{"dtype": "i2", "bdata": "pQGfAScA"}``), the report's
figure JSON (``sla_lib.reports.figures``) as a list of numbers; both draw the same. Exit status 1 when any page differs.

Used to check that a change to the renderer left every report as it was (docs/decisions.md,
"Rendering in one process").
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

VOLATILE = [
    re.compile(r"于 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 生成"),  # the footer's time of rendering
    re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?"),  # the index's rendered-at column
]


_DTYPES = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "i8": "q", "u8": "Q",
           "f4": "f", "f8": "d"}


def _values(value):
    """A figure's JSON with every typed array (plotly.py's ``{"dtype", "bdata"[, "shape"]}``) as a list
    (of lists, for a shape), and whole floats as ints (1.0 and 1 draw the same)."""
    if isinstance(value, dict):
        if set(value) in ({"dtype", "bdata"}, {"dtype", "bdata", "shape"}) and value["dtype"] in _DTYPES:
            import array
            import base64

            flat = array.array(_DTYPES[value["dtype"]], base64.b64decode(value["bdata"])).tolist()
            if "shape" in value:
                rows, cols = (int(n) for n in str(value["shape"]).split(","))
                flat = [flat[i * cols:(i + 1) * cols] for i in range(rows)]
            return _values(flat)
        return {k: _values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_values(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _plots(script: str) -> list:
    """The arguments of every ``Plotly.newPlot(id, data, layout, config)`` in a script, parsed."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := script.find("Plotly.newPlot(", at)) >= 0:
        at += len("Plotly.newPlot(")
        args = []
        for _ in range(4):
            while script[at] in " \t\r\n,":
                at += 1
            value, at = decoder.raw_decode(script, at)
            args.append(_values(value))
        found.append(args)
    return found


def normalised(path: Path) -> tuple[str, list, list[str]]:
    """The page as text (each figure's script replaced by a mark), its figures (parsed: the same
    figure with its keys in another order is the same), and its tables."""
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    figures = []
    for script in soup.find_all("script"):
        if "Plotly.newPlot" in script.get_text():
            figures += _plots(script.get_text())
            script.string = "<figure>"
    text = "\n".join(line for line in str(soup).splitlines() if line.strip())
    patterns = VOLATILE if path.name == "index.html" else VOLATILE[:1]
    for pattern in patterns:
        text = pattern.sub("<time>", text)
    tables = re.findall(r"<table.*?</table>", text, flags=re.S)
    return text, figures, tables


def compare(old: Path, new: Path) -> list[str]:
    problems = []
    pages = sorted(p.relative_to(old) for p in old.rglob("*.html"))
    for rel in pages:
        if not (new / rel).exists():
            problems.append(f"{rel}: missing under {new}")
            continue
        a, b = normalised(old / rel), normalised(new / rel)
        if a == b:
            continue
        what = []
        if a[1] != b[1]:
            what.append(f"figures differ ({len(a[1])} and {len(b[1])})")
        if a[2] != b[2]:
            what.append(f"tables differ ({len(a[2])} and {len(b[2])})")
        diff = list(difflib.unified_diff(a[0].splitlines(), b[0].splitlines(), lineterm="", n=0))
        first = next((d for d in diff[2:] if d.startswith(("-", "+"))), "")
        problems.append(f"{rel}: {'; '.join(what) or 'markup differs'}; first difference: {first[:200]}")
    extra = sorted(p.relative_to(new) for p in new.rglob("*.html") if not (old / p.relative_to(new)).exists())
    problems += [f"{rel}: only under {new}" for rel in extra]
    print(f"{len(pages)} page(s) compared; {len(problems)} difference(s)")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    problems = compare(Path(argv[0]), Path(argv[1]))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
