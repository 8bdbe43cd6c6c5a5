"""Read an export file (xlsx or csv in any common encoding) into a DuckDB table of text cells.

The result is a temporary table with columns ``c0 .. cN`` (VARCHAR) and ``_row``: the 1-based row
of the cell's record as the analyst sees it (the line of a csv, the row of a sheet). The header
row is found by the caller (``find_header``); nothing is parsed or dropped here, so every row of
the file can be accounted for.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sla_lib.errors import InputError
from sla_lib.store.db import scalar

MAX_HEADER_SCAN = 30


def drop_raw(con, table: str) -> None:
    """Drop what read_file made: a view over a ``_t`` table."""
    con.execute(f"DROP VIEW IF EXISTS {table}")
    con.execute(f"DROP TABLE IF EXISTS {table}_t")


@dataclass
class RawFile:
    path: Path
    table: str  # temp table name in the connection
    ncols: int
    encoding: str | None
    sheet: str | None
    head: list[list[str | None]]  # first rows, for header detection and kind inference
    nrows: int


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding label): UTF-8 with or without BOM, UTF-16 with BOM, else GB18030 (a superset
    of GBK, which is what Excel writes for "CSV" on a Chinese Windows)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            raise InputError(f"cannot decode the file as UTF-16 (byte {e.start})") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as e:
        raise InputError(
            f"cannot decode the file: not UTF-8, UTF-16 or GBK/GB18030 (byte {e.start}); "
            "save it from Excel as CSV UTF-8 or as .xlsx"
        ) from None


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_file(con, path: Path, table: str, sheet: str | None = None) -> RawFile:
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return _read_xlsx(con, path, table, sheet)
        if suffix in (".csv", ".txt", ".tsv"):
            return _read_csv(con, path, table)
    except InputError as e:
        raise InputError(f"{path}: {e}") from None
    raise InputError(f"{path}: unsupported file type '{suffix}'; expected .xlsx or .csv")


# -- csv ------------------------------------------------------------------------------------------
def _read_csv(con, path: Path, table: str) -> RawFile:
    data = path.read_bytes()
    if not data or data.isspace():  # (what `not data.strip()` tests, without copying the file)
        raise InputError("the file is empty")
    rows, encoding = None, None
    # Fast path: DuckDB's reader straight on the file when it is UTF-8 and every record is one
    # line, so that the record number is the line number (checked after reading). Checks run on
    # the bytes: a large file is never decoded into a Python string (nor copied) on this path.
    bom = 3 if data.startswith(codecs.BOM_UTF8) else 0
    carriage_returns = data.count(b"\r")
    one_line_records = b"\x00" not in data and (carriage_returns == 0 or carriage_returns == data.count(b"\r\n"))
    if one_line_records and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        end = data.find(b"\n", bom)
        first_line = data[bom:end if end >= 0 else len(data)].decode("utf-8", errors="replace").rstrip("\r")
        delim = sniff_delimiter(first_line)
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        rows = _duckdb_csv(con, path, table, _count_fields(first_line, delim), delim, lines)
        encoding = "utf-8-sig" if bom else "utf-8"
    if rows is None:  # not UTF-8 (GBK), UTF-16, multi-line cells, stray bytes: decode in Python
        try:
            text, encoding = decode(data)
        except UnicodeDecodeError as e:  # a BOM followed by bytes that are not UTF-8
            raise InputError(f"cannot decode the file: it starts with a UTF-8 BOM but byte {e.start + 3} "
                             "is not UTF-8") from None
        delim = sniff_delimiter(text.split("\n", 1)[0])
        if one_line_records and encoding not in ("utf-8", "utf-8-sig"):
            fd, tmp = tempfile.mkstemp(suffix=".csv")
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                    f.write(text)
                first_line = text.split("\n", 1)[0].rstrip("\r")
                lines = text.count("\n") + (0 if text.endswith("\n") else 1)
                rows = _duckdb_csv(con, Path(tmp), table, _count_fields(first_line, delim), delim, lines)
            finally:
                os.unlink(tmp)
        if rows is None:
            rows = _python_csv(con, text, table, delim)
    ncols, nrows = rows
    head = [list(r[1:]) for r in con.execute(
        f"SELECT * FROM {table} ORDER BY _row LIMIT {MAX_HEADER_SCAN}").fetchall()]
    return RawFile(path, table, ncols, encoding, None, head, nrows)


def _count_fields(line: str, delim: str) -> int:
    return len(next(csv.reader([line], delimiter=delim)))


def _duckdb_csv(con, path: Path, table: str, ncols: int, delim: str, lines: int) -> tuple[int, int] | None:
    if ncols < 1:
        return None
    cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncols)) + "}"
    d = delim.replace("'", "''")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_t AS SELECT * FROM read_csv(?, header=false, "
            f"auto_detect=false, columns={cols}, delim='{d}', quote='\"', escape='\"', "
            f"max_line_size=20000000)",
            [str(path)],
        )
    except Exception:
        con.execute(f"DROP TABLE IF EXISTS {table}_t")
        return None
    n = scalar(con, f"SELECT count(*) FROM {table}_t")
    if n != lines:  # blank lines skipped or quoted newlines: numbering would drift
        con.execute(f"DROP TABLE {table}_t")
        return None
    # rowid follows the file's order (insertion order is preserved); no second copy of the rows
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT rowid + 1 AS _row, * FROM {table}_t")
    return ncols, n


def _python_csv(con, text: str, table: str, delim: str) -> tuple[int, int]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    records, line_nos = [], []
    start = 1
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error:
            rec = ["\x00csv-error"]
        if rec:
            records.append(rec)
            line_nos.append(start)
        start = reader.line_num + 1
    return _store_rows(con, table, records, line_nos)


def _store_rows(con, table: str, records: list[list], line_nos: list[int]) -> tuple[int, int]:
    ncols = max((len(r) for r in records), default=0)
    if ncols == 0:
        raise InputError("no rows found")
    cols = {f"c{i}": [r[i] if i < len(r) else None for r in records] for i in range(ncols)}
    df = pd.DataFrame({"_row": pd.array(line_nos, dtype="int64"), **cols}).astype(
        {f"c{i}": "string" for i in range(ncols)})
    con.register(f"{table}_df", df)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_t AS SELECT * FROM {table}_df")
    con.unregister(f"{table}_df")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {table}_t")
    return ncols, len(records)


# -- xlsx -----------------------------------------------------------------------------------------
def _cell_text(v) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):  # calamine gives a date for a date-time cell at exactly 00:00
        return v.strftime("%Y-%m-%d 00:00:00")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, dt.timedelta):  # calamine gives durations for time-only cells
        secs = int(v.total_seconds())
        return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


def sheet_names(path: Path) -> list[str]:
    """The sheets of a workbook, in order (a broken workbook: none; read_file then says why)."""
    try:
        from python_calamine import CalamineWorkbook

        return list(CalamineWorkbook.from_path(str(path)).sheet_names)
    except Exception:
        return []


def _read_xlsx(con, path: Path, table: str, sheet: str | None) -> RawFile:
    try:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
    except Exception as e:  # calamine raises its own error types for broken files
        raise InputError(f"cannot open as an Excel workbook ({type(e).__name__}: {e})") from None
    names = wb.sheet_names
    if sheet is not None and sheet not in names:
        raise InputError(f"no sheet named '{sheet}'; sheets: {', '.join(names)}")
    chosen, rows = None, []
    for name in [sheet] if sheet else names:
        try:
            data = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as e:
            raise InputError(f"sheet '{name}': cannot read ({e})") from None
        if any(any(c not in (None, "") for c in r) for r in data):
            chosen, rows = name, data
            break
    if chosen is None:
        raise InputError("every sheet is empty")
    records, line_nos = [], []
    for i, r in enumerate(rows, start=1):
        cells = [_cell_text(c) for c in r]
        if any(c is not None for c in cells):
            records.append(cells)
            line_nos.append(i)
    ncols, nrows = _store_rows(con, table, records, line_nos)
    head = [list(r[1:]) for r in con.execute(
        f"SELECT * FROM {table} ORDER BY _row LIMIT {MAX_HEADER_SCAN}").fetchall()]
    return RawFile(path, table, ncols, None, chosen, head, nrows)
