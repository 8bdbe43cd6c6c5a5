"""Spreadsheet outputs the analyst sends on (rejects back to whoever keeps the register).

Every text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab / carriage return) is
written with a leading apostrophe-free quote character ``'`` so no spreadsheet program evaluates it
as a formula (formula injection). Free text has already been masked for patient identifiers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell value safe to open in Excel / WPS / LibreOffice: text never starts a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_xlsx(frames: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write sheets (name -> frame) to an .xlsx file with neutralised cells and readable widths."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in frames.items():
        ws = wb.create_sheet(title=name[:31])
        ws.append([str(c) for c in df.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in df.itertuples(index=False):
            ws.append([None if (not isinstance(v, str) and pd.isna(v)) else neutralise(v) for v in row])
        for i, col in enumerate(df.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)]) + 2
            ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, width * 1.6)
        ws.freeze_panes = "A2"
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path
