"""Broken input never crashes the loader and never loses a row silently: each file either loads
(rows read = loaded + rejected + merged) or fails alone with one message naming the file."""

from __future__ import annotations

import csv
import functools
import io
import tempfile
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla_lib.load.ingest import ingest
from sla_lib.store.db import connect

from .conftest import CONTRACT
from .test_ingest import HEADER, row

pytestmark = pytest.mark.long(18)  # seconds with `make test` here: started early (conftest)

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run(tmp_path, name: str, data: bytes):
    d = Path(tempfile.mkdtemp(prefix="case", dir=tmp_path))
    f = d / name
    f.write_bytes(data)
    res = ingest([f], d / "sla.duckdb", CONTRACT, echo=lambda *_: None)
    (fr,) = res.files
    if fr.status == "failed":
        assert fr.message.startswith(str(f)) or name in fr.message
        assert "\n" not in fr.message and "Traceback" not in fr.message
    else:
        assert fr.rows_read == fr.rows_loaded + fr.rows_rejected + fr.rows_merged
        con = connect(d / "sla.duckdb", read_only=True)
        try:
            n_rows, n_rej, n_sla, n_tickets = con.execute(
                "SELECT (SELECT count(*) FROM ticket_rows), (SELECT count(DISTINCT source_row) FROM rejects), "
                "(SELECT count(*) FROM ticket_sla), (SELECT count(*) FROM tickets)").fetchall()[0]
        finally:
            con.close()
        assert (n_rows, n_rej) == (fr.rows_loaded, fr.rows_rejected)
        assert n_sla == 4 * n_tickets
    return fr


def csv_bytes(rows, header=HEADER, encoding="utf-8", sep=","):
    out = io.StringIO()
    w = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return out.getvalue().encode(encoding, errors="replace")


@FUZZ
@given(st.binary(max_size=4000), st.sampled_from(["工单.csv", "工单.xlsx", "工单.txt"]))
def test_random_bytes(tmp_path, data, name):
    run(tmp_path, name, data)


cell = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(
    ["2026-02-30 08:00", "2026-13-01 00:00", "0000-00-00 00:00", "2026/3/5 25:61", "下午13:00", "9999999",
     "-1", "=1+1", "是", "否", "HIS", "LIS", "无", "?", "NULL", "４５６７８", "2026年3月5日 8:07"]))


@FUZZ
@given(st.lists(st.lists(cell, min_size=0, max_size=25), max_size=15))
def test_random_cells_under_the_real_header(tmp_path, rows):
    fr = run(tmp_path, "工单.csv", csv_bytes(rows))
    assert fr.status == "loaded"
    assert fr.rows_read <= len(rows)


@FUZZ
@given(st.permutations(HEADER), st.integers(0, len(HEADER)), st.sampled_from(["utf-8", "gb18030", "utf-16"]),
       st.sampled_from([",", ";", "\t"]))
def test_shuffled_and_missing_columns_any_encoding(tmp_path, header, drop, encoding, sep):
    header = list(header)
    del header[drop:drop + 3]
    good = dict(zip(HEADER, row("GD1", "2026-03-05 08:07", responded="2026-03-05 08:10"), strict=True))
    rows = [[good[h] for h in header]] * 3  # duplicate ids: the last row of the file wins
    fr = run(tmp_path, "工单.csv", csv_bytes(rows, header, encoding, sep))
    required = {"工单号", "报修时间", "系统名称"}
    if required <= set(header):
        assert (fr.status, fr.rows_read, fr.rows_loaded) == ("loaded", 3, 3)
    else:
        assert fr.status == "failed" and "missing required column" in fr.message


@functools.cache
def _whole_files() -> tuple[bytes, bytes]:
    """The CSV and the xlsx of the same 20 tickets, which every example cuts (made once)."""
    rows = [row(f"GD{i}", "2026-03-05 08:07", desc="打印失败" * 5) for i in range(20)]
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return csv_bytes(rows), buf.getvalue()


@FUZZ
@given(st.integers(0, 2000))
def test_truncated_files(tmp_path, cut):
    data, x = _whole_files()
    run(tmp_path, "工单.csv", data[:cut])
    run(tmp_path, "工单.xlsx", x[: cut * 3])


def test_wrong_encoding_declared_by_bom(tmp_path):
    data = b"\xef\xbb\xbf" + csv_bytes([row("GD1", "2026-03-05 08:07")], encoding="gb18030")
    fr = run(tmp_path, "工单.csv", data)
    assert fr.status == "failed" and "BOM" in fr.message


def test_impossible_dates_and_stop_before_start(tmp_path):
    rows = [row("GD1", "2026-02-30 08:00"), row("GD2", "2026-03-05 08:00", responded="2026-03-05 07:00"),
            row("GD3", "2026-03-05 08:00", resolved="2026-03-01 08:00")]
    fr = run(tmp_path, "工单.csv", csv_bytes(rows))
    assert (fr.rows_loaded, fr.rows_rejected) == (2, 1)


def test_one_megabyte_cell(tmp_path):
    big = "患者王小明 电话13912345678 " + "很长的描述" * 200_000
    fr = run(tmp_path, "工单.csv", csv_bytes([row("GD1", "2026-03-05 08:07", desc=big)]))
    assert fr.rows_loaded == 1
    con = duckdb.connect(str(next(tmp_path.glob("case*/sla.duckdb"))), read_only=True)
    desc = con.execute("SELECT description FROM tickets").fetchall()[0][0]
    con.close()
    assert len(desc) > 1_000_000 and "13912345678" not in desc and "王小明" not in desc


def test_xlsx_that_is_a_zip_of_something_else(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    fr = run(tmp_path, "工单.xlsx", buf.getvalue())
    assert fr.status == "failed" and "Excel" in fr.message
