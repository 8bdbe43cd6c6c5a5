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
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

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
        if suffix in (".dat", ".txt") and _is_attlog(path):
            return _read_attlog(con, path, table)
        if suffix in (".csv", ".txt", ".tsv", ".dat"):
            return _read_csv(con, path, table)
    except InputError as e:
        raise InputError(f"{path}: {e}") from None
    raise InputError(f"{path}: unsupported file type '{suffix}'; expected .xlsx, .xls, .csv, .txt or .dat")


# -- ZKTeco attlog.dat -------------------------------------------------------------------------------
ATTLOG_HEADER = ["用户号", "打卡时间", "设备号", "出入状态", "验证方式", "工作码"]
_ATTLOG_LINE = re.compile(rb"^[ \x00]*[^\t\r\n]{1,40}\t\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}(:\d{2})?\t")


def _is_attlog(path: Path) -> bool:
    """A ZKTeco terminal's attendance log as written to a USB stick: no header, tab-separated
    ``user id, YYYY-MM-DD HH:MM:SS, device, in/out, verify, workcode`` on every line."""
    with open(path, "rb") as f:
        head = f.read(8192)
    lines = [ln for ln in head.replace(b"\x00", b"").splitlines() if ln.strip()][:20]
    return bool(lines) and sum(bool(_ATTLOG_LINE.match(ln)) for ln in lines) >= max(1, len(lines) * 3 // 4)


def _read_attlog(con, path: Path, table: str) -> RawFile:
    """An attlog.dat: each non-empty line one record (its line number kept), the fields trimmed of
    the terminal's space padding; NUL padding is not a record. A header is supplied (row 0) so that
    the ``zkteco-attlog`` preset maps the fields by name. Undecodable bytes stay visible (U+FFFD)
    and fail the preset's checks, with the line."""
    data = path.read_bytes()
    if not data.replace(b"\x00", b"").strip():
        raise InputError("the file is empty")
    text = data.decode("utf-8", errors="replace")
    records, line_nos = [ATTLOG_HEADER], [0]
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.replace("\x00", "").rstrip("\r")
        if not line.strip():
            continue
        records.append([f.strip() for f in line.split("\t")])
        line_nos.append(n)
    ncols, nrows = _store_rows(con, table, records, line_nos)
    head = [list(r[1:]) for r in con.execute(
        f"SELECT * FROM {table} ORDER BY _row LIMIT {MAX_HEADER_SCAN}").fetchall()]
    return RawFile(path, table, ncols, "utf-8", None, head, nrows)


# -- ZKTeco KQ803 考 勤 记 录 表 -------------------------------------------------------------------------
KQ803_HEADER = ["工号(KQ803)", "姓名(KQ803)", "打卡时间(KQ803)"]  # names only the kq803 preset knows
_PERIOD = re.compile(r"(\d{4}-\d{1,2}-\d{1,2})\s*[~～至-]+\s*(\d{4}-\d{1,2}-\d{1,2})")
_HHMM = re.compile(r"\d{1,2}:\d{2}")


def _squeeze(v) -> str:
    return re.sub(r"\s+", "", str(v or ""))


def _is_kq803(records: list[list]) -> bool:
    top = [_squeeze(c) for r in records[:4] for c in r if c]
    return "考勤记录表" in top and any(_squeeze(r[0]).startswith("工号") for r in records if r and r[0])


def _kq803_punches(records: list[list], line_nos: list[int]) -> tuple[list[list], list[int]]:
    """The KQ803 sheet as one record per punch: a ``工 号: … 姓 名: …`` row per person, then a row
    with one cell per day of the ``考勤时间 YYYY-MM-DD ~ YYYY-MM-DD`` period holding that day's
    punches run together (``08:1217:41`` is 08:12 and 17:41). The record's row number is
    sheet row × 1000 + day × 10 + the punch's place in the cell (row 6, second day: 6020 and
    6021), so that each punch has its own; a cell with anything but punches gives one record with
    that text (number … 9), which is then rejected."""
    import datetime as _dt

    start = None
    for r in records[:6]:
        m = _PERIOD.search(" ".join(str(c) for c in r if c))
        if m:
            start = _dt.date.fromisoformat("-".join(f"{int(x):02d}" if len(x) < 3 else x for x in m.group(1).split("-")))
            break
    if start is None:
        raise InputError("a KQ803 考勤记录表 without its 考勤时间 period (YYYY-MM-DD ~ YYYY-MM-DD) in the first rows")
    out, nos = [KQ803_HEADER], [0]
    person = None
    for r, n in zip(records, line_nos, strict=True):
        first = _squeeze(r[0]) if r and r[0] else ""
        if first.startswith("工号"):
            cells = [c for c in r if c not in (None, "")]
            texts = [_squeeze(c) for c in cells]
            ident = next((cells[i + 1] for i, t in enumerate(texts) if t.startswith("工号") and i + 1 < len(cells)), None)
            name = next((cells[i + 1] for i, t in enumerate(texts) if t.startswith("姓名") and i + 1 < len(cells)), None)
            person = (str(ident).strip() if ident else None, str(name).strip() if name else None)
            continue
        if person is None:
            continue  # the title, the period and the day numbers above the first person
        for j, cell in enumerate(r):
            text = (cell or "").strip()
            if not text:
                continue
            day = (start + _dt.timedelta(days=j)).isoformat()
            punches = _HHMM.findall(text)
            rest = _HHMM.sub("", text).strip()
            for k, hhmm in enumerate(punches[:10] if not rest else []):
                out.append([person[0], person[1], f"{day} {hhmm}"])
                nos.append(n * 1000 + (j + 1) * 10 + k)
            if rest or len(punches) > 10:
                out.append([person[0], person[1], f"{day} {text}"])
                nos.append(n * 1000 + (j + 1) * 10 + 9)
    return out, nos


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
    import pandas as pd  # here, not with the module: a load with nothing new never needs pandas

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
    if _is_kq803(records):
        records, line_nos = _kq803_punches(records, line_nos)
    ncols, nrows = _store_rows(con, table, records, line_nos)
    head = [list(r[1:]) for r in con.execute(
        f"SELECT * FROM {table} ORDER BY _row LIMIT {MAX_HEADER_SCAN}").fetchall()]
    return RawFile(path, table, ncols, None, chosen, head, nrows)
