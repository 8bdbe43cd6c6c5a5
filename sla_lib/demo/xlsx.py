"""A small, fast writer of one-sheet Excel workbooks for the demo's big ticket exports.

openpyxl builds an object per cell and serialises it through an XML tree: writing the demo's three
ticket workbooks (5,000 rows) took 1 s, more than half of ``sla demo`` and an eighth of ``make
report``. This writes the same kind of workbook directly as SpreadsheetML (ECMA-376): text as
inline strings, numbers, dates and times as serial numbers with a number format (``yyyy/m/d
h:mm``), column widths, a frozen header row, the document's creator and time. Excel, LibreOffice,
calamine and openpyxl read it (``tests/test_demo.py`` opens one with openpyxl and loads it).
The bytes depend on the data only (fixed entry times).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from xml.sax.saxutils import escape

from sla_lib.demo.files import zip_entry

__all__ = ["sheet_bytes"]

_EPOCH = dt.datetime(1899, 12, 30)
_INVALID_XML = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def _col(n: int) -> str:
    """Column letters of the 0-based column ``n``: A … Z, AA …"""
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _serial(v: dt.datetime | dt.date | dt.time) -> float:
    if isinstance(v, dt.datetime):
        return (v - _EPOCH).total_seconds() / 86400
    if isinstance(v, dt.date):
        return float((v - _EPOCH.date()).days)
    return (v.hour * 3600 + v.minute * 60 + v.second) / 86400


def _text(v: str) -> str:
    return escape(v.translate(_INVALID_XML))


def sheet_bytes(title: str, rows: list[list], formats: list[list[str | None]] | None = None,
                widths: list[float] | None = None, creator: str = "", when: dt.datetime | None = None) -> bytes:
    """An .xlsx of one sheet ``title`` holding ``rows`` (str, int, float, bool, datetime, date, time or
    None), the first row frozen. ``formats[r][c]``: the number format of a date or time cell
    (default ``yyyy-mm-dd hh:mm``, ``yyyy-mm-dd``, ``hh:mm``)."""
    when = when or dt.datetime(2000, 1, 1)
    fmt_ids: dict[str, int] = {}

    def style(v, r: int, c: int) -> int:
        f = formats[r][c] if formats is not None and formats[r] is not None else None
        if f is None:
            f = "yyyy-mm-dd hh:mm" if isinstance(v, dt.datetime) else "yyyy-mm-dd" if isinstance(v, dt.date) \
                else "hh:mm"
        return fmt_ids.setdefault(f, len(fmt_ids) + 1)

    out = []
    for r, row in enumerate(rows):
        cells = []
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            ref = f"{_col(c)}{r + 1}"
            if isinstance(v, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, int | float):
                cells.append(f'<c r="{ref}"><v>{v!r}</v></c>')
            elif isinstance(v, dt.datetime | dt.date | dt.time):
                cells.append(f'<c r="{ref}" s="{style(v, r, c)}"><v>{_serial(v)!r}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{_text(str(v))}</t></is></c>')
        out.append(f'<row r="{r + 1}">{"".join(cells)}</row>')
    width = max((len(r) for r in rows), default=1)
    dimension = f'<dimension ref="A1:{_col(width - 1)}{max(len(rows), 1)}"/>'
    cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths or []))
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'{dimension}<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
             'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
             f'<sheetFormatPr defaultRowHeight="15"/>{f"<cols>{cols}</cols>" if cols else ""}'
             f'<sheetData>{"".join(out)}</sheetData></worksheet>')
    num_fmts = "".join(f'<numFmt numFmtId="{163 + i}" formatCode="{escape(f, {chr(34): "&quot;"})}"/>'
                       for f, i in fmt_ids.items())
    xfs = "".join(f'<xf numFmtId="{163 + i}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
                  for i in fmt_ids.values())
    styles = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              f'<numFmts count="{len(fmt_ids)}">{num_fmts}</numFmts>'
              '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
              '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
              '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
              '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
              f'<cellXfs count="{len(fmt_ids) + 1}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
              f'{xfs}</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
              '</styleSheet>')
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'extended-properties" Target="docProps/app.xml"/></Relationships>'),
        "docProps/app.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            '<Application>Microsoft Excel</Application></Properties>'),
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dc:creator>{_text(creator)}</dc:creator>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{_text(title)}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": styles,
        "xl/worksheets/sheet1.xml": sheet,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(zip_entry(name, when), text.encode("utf-8"))
    return buf.getvalue()
