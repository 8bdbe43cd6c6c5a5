"""`sla ingest` on real files: encodings, xlsx, date spellings, rejects, masking, idempotency."""

import datetime as dt
import hashlib

import openpyxl
import pytest

from sla_lib.cli import main
from sla_lib.load.ingest import ingest
from sla_lib.store.db import connect

from .conftest import CONTRACT, ROOT

pytestmark = pytest.mark.long(12)  # seconds with `make test` here: started early (conftest)

HEADER = ["工单号", "报修时间", "报修方式", "报修科室", "报修人", "系统名称", "问题类型", "紧急程度", "问题描述",
          "响应时间", "方案提供时间", "解决时间", "是否现场", "现场通知时间", "到场时间", "现场排除时间", "处理人",
          "状态", "排除原因"]


def row(tid, reported, system="HIS", desc="打印机无法打印", responded=None, resolved=None, onsite="否",
        arrived=None, exclusion=None, **kw):
    vals = dict(zip(HEADER, [tid, reported, "电话", "门诊部", "张护士", system, "故障", "一般", desc, responded,
                             None, resolved, onsite, None, arrived, None, "李工", "已解决", exclusion], strict=True))
    vals.update(kw)
    return [vals[h] for h in HEADER]


def write_csv(path, rows, encoding="utf-8", sep=","):
    lines = [sep.join(HEADER)] + [sep.join("" if v is None else str(v) for v in r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def q(db, sql):
    con = connect(db, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def load(tmp_path, *paths, **kw):
    return ingest(list(paths), tmp_path / "sla.duckdb", CONTRACT, echo=lambda *_: None, **kw)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings_and_date_spellings(tmp_path, encoding):
    rows = [
        row("GD1", "2026-03-05 08:07", responded="2026-03-05 08:10:30"),
        row("GD2", "2026/3/5 8:07", responded="2026/3/5 8:27"),
        row("GD3", "2026年3月5日 8:07", responded="2026年3月5日 下午3:07"),
        row("GD4", "46086.33819444444", system="检验信息系统"),  # Excel serial of 2026-03-05 08:07
        row("GD5", "２０２６－０３－０５　０８：０７", system="ＬＩＳ"),  # full-width digits
    ]
    f = write_csv(tmp_path / "工单.csv", rows, encoding)
    res = load(tmp_path, f)
    assert [(x.rows_read, x.rows_loaded, x.rows_rejected) for x in res.files] == [(5, 5, 0)]
    got = dict(q(tmp_path / "sla.duckdb", "SELECT ticket_id, reported_at FROM tickets"))
    assert set(got.values()) == {dt.datetime(2026, 3, 5, 8, 7)}
    resp = dict(q(tmp_path / "sla.duckdb", "SELECT ticket_id, responded_at FROM tickets"))
    assert resp["GD1"] == dt.datetime(2026, 3, 5, 8, 10, 30)
    assert resp["GD3"] == dt.datetime(2026, 3, 5, 15, 7)
    assert dict(q(tmp_path / "sla.duckdb", "SELECT ticket_id, system FROM tickets"))["GD5"] == "LIS"


def test_semicolon_and_tab_separators(tmp_path):
    for sep, name in ((";", "a.csv"), ("\t", "b.csv")):
        write_csv(tmp_path / name, [row(f"T{name}", "2026-03-05 08:07")], sep=sep)
    res = load(tmp_path, tmp_path / "a.csv", tmp_path / "b.csv")
    assert [x.rows_loaded for x in res.files] == [1, 1]


def test_xlsx_with_title_row_and_datetime_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "工单"
    ws.append(["2026年3月 报修登记表"])  # a title row above the header
    ws.append(HEADER)
    ws.append(row("X1", dt.datetime(2026, 3, 5, 8, 7), responded=dt.datetime(2026, 3, 5, 8, 30)))
    ws.append(row("X2", "2026/3/6 9:00", responded="2026/3/6 9:05"))
    ws.append(row("X3", dt.datetime(2026, 3, 7, 0, 0), responded=dt.datetime(2026, 3, 7, 0, 5)))  # midnight
    f = tmp_path / "工单登记.xlsx"
    wb.save(f)
    res = load(tmp_path, f)
    assert res.files[0].rows_loaded == 3
    assert q(tmp_path / "sla.duckdb", "SELECT sheet, header_row FROM ingest_log") == [("工单", 2)]
    rows = q(tmp_path / "sla.duckdb", "SELECT ticket_id, source_row, reported_at FROM tickets ORDER BY 1")
    assert rows == [("X1", 3, dt.datetime(2026, 3, 5, 8, 7)), ("X2", 4, dt.datetime(2026, 3, 6, 9)),
                    ("X3", 5, dt.datetime(2026, 3, 7))]
    st = dict(q(tmp_path / "sla.duckdb", "SELECT ticket_id, status FROM ticket_sla WHERE clause='response'"))
    assert st == {"X1": "breached", "X2": "met", "X3": "met"}


def test_rejects_name_row_column_reason_and_keep_the_rest(tmp_path):
    rows = [
        row("GD1", "2026-03-05 08:07"),
        row(None, "2026-03-05 08:07"),
        row("GD3", "2025-13-45 25:00", system="OA办公系统"),
        row("GD4", "2026-03-05 08:07", onsite="也许"),
        row("GD5", "1899-01-01 08:00"),
        row("GD6", "-", responded="2026-03-05 08:09"),
    ]
    f = write_csv(tmp_path / "工单.csv", rows)
    res = load(tmp_path, f)
    fr = res.files[0]
    assert (fr.rows_read, fr.rows_loaded, fr.rows_rejected) == (6, 1, 5)
    rej = q(tmp_path / "sla.duckdb", "SELECT source_row, column_name, reason, original_text FROM rejects ORDER BY 1, 2")
    by_row = {}
    for r, col, reason, orig in rej:
        by_row.setdefault(r, []).append((col, reason, orig))
    assert by_row[3] == [("工单号", "必填项为空", None)]
    assert {c for c, _, _ in by_row[4]} == {"报修时间", "系统名称"}
    assert any("无法识别的日期时间" in reason and orig == "2025-13-45 25:00" for _, reason, orig in by_row[4])
    assert by_row[5][0][:2] == ("是否现场", "应为 是 或 否")
    assert "日期超出合理范围" in by_row[6][0][1]
    assert by_row[7] == [("报修时间", "必填项为空", None)]
    log = q(tmp_path / "sla.duckdb", "SELECT rows_read, rows_loaded, rows_rejected FROM ingest_log")
    assert log == [(6, 1, 5)]


def test_loading_twice_changes_nothing_and_raw_files_are_untouched(tmp_path):
    f = write_csv(tmp_path / "工单.csv", [row("GD1", "2026-03-05 08:07"), row(None, "2026-03-05 08:07")])
    before = hashlib.sha256(f.read_bytes()).hexdigest()
    load(tmp_path, f)
    tables = ["ticket_rows", "rejects", "ingest_log", "ticket_sla"]
    counts = [q(tmp_path / "sla.duckdb", f"SELECT count(*) FROM {t}")[0][0] for t in tables]
    copy = tmp_path / "copy_of_same.csv"
    copy.write_bytes(f.read_bytes())
    res = load(tmp_path, f, copy)
    assert [x.status for x in res.files] == ["skipped", "skipped"]
    assert [q(tmp_path / "sla.duckdb", f"SELECT count(*) FROM {t}")[0][0] for t in tables] == counts
    assert hashlib.sha256(f.read_bytes()).hexdigest() == before


def test_findings_are_kept_while_their_inputs_are_the_same_and_computed_again_when_one_changes(tmp_path):
    """The findings depend on the loads, the --as-of override and the contract, never on the wall
    clock: a run with nothing new keeps them (a row edited by hand after the load shows it), a new
    export, an override or another contract file computes them again."""
    import shutil

    from sla_lib.store.db import connect

    db = tmp_path / "sla.duckdb"
    f = write_csv(tmp_path / "工单.csv", [row("GD1", "2026-03-05 08:07", responded="2026-03-05 08:10")])
    load(tmp_path, f)

    def mark():  # a finding changed by hand: only a new computation puts it back
        con = connect(db)
        try:
            con.execute("UPDATE ticket_sla SET note = 'edited' WHERE ticket_id = 'GD1' AND clause = 'response'")
        finally:
            con.close()

    def response():
        return q(db, "SELECT status, note FROM ticket_sla WHERE ticket_id = 'GD1' AND clause = 'response'")[0]

    mark()
    empty = tmp_path / "raw"
    empty.mkdir()
    res = load(tmp_path, f, raw_dir=empty)  # the same file again: nothing new
    assert [x.status for x in res.files] == ["skipped"] and (res.as_of, res.tickets) == ("2026-03-05 08:10:00", 1)
    assert response() == ("met", "edited")  # kept
    load(tmp_path, write_csv(tmp_path / "工单_2.csv", [row("GD2", "2026-03-06 09:00")]))
    assert response()[1] != "edited"  # a new export: computed again
    mark()
    load(tmp_path, as_of="2026-03-06 09:30", raw_dir=empty)
    assert response()[1] != "edited" and q(db, "SELECT value FROM meta WHERE key = 'as_of'") == [("2026-03-06 09:30:00",)]
    mark()
    load(tmp_path, raw_dir=empty)
    assert response() == ("met", "edited")  # the override still in force: nothing new
    other = tmp_path / "contract.yaml"
    shutil.copy(CONTRACT, other)
    res = ingest([], db, other, raw_dir=empty, echo=lambda *_: None)
    assert response()[1] != "edited"  # another contract file: computed again
    assert q(db, "SELECT value FROM meta WHERE key = 'contract_path'") == [(str(other),)]


def test_newer_export_supersedes_older_version(tmp_path):
    old = write_csv(tmp_path / "工单_03.csv", [row("GD1", "2026-03-05 08:07", responded="2026-03-05 08:10"),
                                                row("GD2", "2026-03-05 09:00", responded="2026-03-05 09:01")])
    new = write_csv(tmp_path / "工单_04.csv", [row("GD1", "2026-03-05 08:07", responded="2026-03-05 08:10",
                                                   resolved="2026-03-06 08:00")])
    load(tmp_path, new)
    load(tmp_path, old)  # loaded later, but the older export: it must not win
    cur = dict(q(tmp_path / "sla.duckdb", "SELECT ticket_id, resolved_at FROM tickets"))
    assert cur == {"GD1": dt.datetime(2026, 3, 6, 8), "GD2": None}
    assert q(tmp_path / "sla.duckdb", "SELECT count(*) FROM ticket_rows")[0][0] == 3
    assert q(tmp_path / "sla.duckdb", "SELECT count(*) FROM ticket_sla")[0][0] == 8
    conflicts = q(tmp_path / "sla.duckdb", "SELECT ticket_id, superseded_file, current_file, changed_columns "
                                           "FROM ticket_conflicts")
    assert [(c[0], c[1].rsplit("/", 1)[-1], c[2].rsplit("/", 1)[-1], c[3]) for c in conflicts] == [
        ("GD1", "工单_03.csv", "工单_04.csv", ["resolved_at"])]


def test_patient_identifiers_are_masked_in_tickets_and_rejects(tmp_path):
    desc = "患者刘晓梅 身份证61010219900101123X 电话13912345678 住院号：ZY2025081234 打印腕带失败"
    f = write_csv(tmp_path / "工单.csv", [row("GD1", "2026-03-05 08:07", desc=desc),
                                         row("GD2", "bad date", desc="病人王建国 手机 15800001111")])
    load(tmp_path, f)
    db = tmp_path / "sla.duckdb"
    text = " ".join(str(v) for r in q(db, "SELECT * FROM tickets") + q(db, "SELECT * FROM rejects") for v in r)
    for secret in ("刘晓梅", "61010219900101123X", "13912345678", "ZY2025081234", "王建国", "15800001111"):
        assert secret not in text
    assert q(db, "SELECT description FROM tickets")[0][0] == (
        "患者[姓名已隐藏] 身份证[身份证号已隐藏] 电话[手机号已隐藏] 住院号：[已隐藏] 打印腕带失败")


def test_unknown_headers_fail_one_file_and_the_rest_load(tmp_path, capsys):
    bad = tmp_path / "a_other.csv"
    bad.write_text("设备,数量,单价\n打印机,2,10\n", encoding="utf-8")
    good = write_csv(tmp_path / "b_工单.csv", [row("GD1", "2026-03-05 08:07")])
    rc = main(["ingest", str(bad), str(good), "--db", str(tmp_path / "sla.duckdb"), "--contract", str(CONTRACT)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "a_other.csv: no preset recognises the header row" in out and "tickets (工单号, 报修时间, 系统名称)" in out
    assert "b_工单.csv" in out and "loaded 1" in out


def test_undecodable_and_empty_files_give_one_clear_message(tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(128, 256)) * 4)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    notxl = tmp_path / "fake.xlsx"
    notxl.write_bytes(b"not a zip")
    res = load(tmp_path, junk, empty, notxl)
    msgs = [f.message for f in res.files]
    assert all(f.status == "failed" for f in res.files)
    assert "junk.csv" in msgs[0] and "cannot decode" in msgs[0]
    assert "empty.csv" in msgs[1] and "empty" in msgs[1]
    assert "fake.xlsx" in msgs[2] and "Excel" in msgs[2]


def test_quoted_newlines_keep_line_numbers(tmp_path):
    f = tmp_path / "工单.csv"
    lines = [",".join(HEADER),
             ",".join(str(v or "") for v in row("GD1", "2026-03-05 08:07", desc='"第一行\n第二行"')),
             "",
             ",".join(str(v or "") for v in row(None, "2026-03-05 08:07"))]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load(tmp_path, f)
    assert q(tmp_path / "sla.duckdb", "SELECT description FROM tickets") == [("第一行\n第二行",)]
    assert q(tmp_path / "sla.duckdb", "SELECT source_row FROM rejects") == [(5,)]


def test_as_of_override_and_back_to_auto(tmp_path):
    f = write_csv(tmp_path / "工单.csv", [row("GD1", "2026-03-05 08:07"), row("GD2", "2026-03-09 08:00",
                                                                            responded="2026-03-09 08:01")])
    db = tmp_path / "sla.duckdb"
    load(tmp_path, f)
    assert q(db, "SELECT value FROM meta WHERE key='as_of'") == [("2026-03-09 08:01:00",)]
    empty = tmp_path / "raw"  # no file named: the exports folder is scanned (an empty one, not the checkout's data/raw)
    empty.mkdir()
    assert load(tmp_path, as_of="2026-03-05 08:20", raw_dir=empty).files == []
    assert q(db, "SELECT status FROM ticket_sla WHERE ticket_id='GD1' AND clause='response'") == [("pending",)]
    assert q(db, "SELECT value FROM meta WHERE key='as_of_source'") == [("override",)]
    assert load(tmp_path, as_of="auto", raw_dir=empty).files == []
    assert q(db, "SELECT status FROM ticket_sla WHERE ticket_id='GD1' AND clause='response'") == [("breached",)]


def test_a_time_after_the_load_is_a_typing_error_and_does_not_move_as_of(tmp_path):
    """2062 for 2026: the row is rejected naming the column (loaded, it would become as_of and turn
    every open clock into a breach); a leave request ahead of time is not an error."""
    db = tmp_path / "sla.duckdb"
    f = write_csv(tmp_path / "工单.csv", [
        row("GD1", "2026-03-05 08:07"),  # open: pending or breached depends on as_of
        row("GD2", "2026-03-09 08:00", responded="2026-03-09 08:01", resolved="2062-03-09 10:00"),
    ])
    res = load(tmp_path, f)
    assert (res.files[0].rows_loaded, res.files[0].rows_rejected) == (1, 1)
    rej = q(db, "SELECT source_row, column_name, reason, original_text FROM rejects")
    assert len(rej) == 1 and rej[0][:2] == (3, "解决时间") and rej[0][3] == "2062-03-09 10:00"
    assert "晚于导入时刻" in rej[0][2] and "笔误" in rej[0][2]
    assert q(db, "SELECT value FROM meta WHERE key='as_of'") == [("2026-03-05 08:07:00",)]
    leave = tmp_path / "请假登记.csv"
    leave.write_text("姓名,开始时间,结束时间,请假类型,审批时间,审批人,交接人\r\n"
                     "李工,2099-01-05,2099-01-06,年假,2026-03-01 09:00,信息科主任,王工\r\n", encoding="utf-8")
    res = load(tmp_path, leave, kind="leave")
    assert (res.files[0].rows_loaded, res.files[0].rows_rejected) == (1, 0)


def test_rejects_command_lists_and_writes_a_safe_workbook(tmp_path, capsys):
    rows = [row("GD1", "2026-03-05 08:07"), row("=HYPERLINK(\"http://x\")", "bad", system="=1+1"),
            row("GD3", "@SUM(A1)", desc="-2+3")]
    f = write_csv(tmp_path / "工单.csv", rows)
    db = tmp_path / "sla.duckdb"
    load(tmp_path, f)
    out = tmp_path / "rejects.xlsx"
    assert main(["rejects", "--file", "工单.csv", "--db", str(db), "--xlsx", str(out)]) == 0
    assert "3 rejected cell(s)" in capsys.readouterr().out
    ws = openpyxl.load_workbook(out).active
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[0] == ["文件", "行号", "列", "原因", "原文"]
    originals = sorted(str(r[4]) for r in values[1:])
    assert originals == sorted(["'=1+1", "bad", "'@SUM(A1)"])
    assert all(not str(c).startswith(("=", "+", "-", "@")) for r in values for c in r if c is not None)


def test_split_date_and_time_columns_hidden_columns_and_merged_title(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["报修登记（合并标题）"])
    ws.merge_cells("A1:F1")
    ws.append(["工单号", "报修日期", "报修时刻", "系统名称", "响应时间", "内部备注"])
    ws.append(["S1", dt.date(2026, 3, 5), dt.time(8, 7), "HIS", "2026-03-05 08:30"])
    ws.append(["S2", "2026/3/6", "下午2:15", "LIS", None])
    ws.append(["合计", None, None, None, None])  # a trailing total row
    ws.column_dimensions["F"].hidden = True
    other = wb.create_sheet("说明")
    other.append(["本表由信息科维护"])
    f = tmp_path / "工单登记.xlsx"
    wb.save(f)
    res = load(tmp_path, f)
    fr = res.files[0]
    assert (fr.rows_read, fr.rows_loaded, fr.rows_rejected) == (3, 2, 1)
    got = q(tmp_path / "sla.duckdb", "SELECT ticket_id, reported_at FROM tickets ORDER BY 1")
    assert got == [("S1", dt.datetime(2026, 3, 5, 8, 7)), ("S2", dt.datetime(2026, 3, 6, 14, 15))]
    assert q(tmp_path / "sla.duckdb", "SELECT column_name, reason FROM rejects") == [("报修日期 + 报修时刻", "必填项为空"),
                                                                                   ("系统名称", "必填项为空")]


def test_sheet_by_name_and_clear_cli_errors(tmp_path, capsys):
    wb = openpyxl.Workbook()
    wb.active.title = "封面"
    wb.active.append(["2026年3月报修登记"])
    ws = wb.create_sheet("工单")
    ws.append(HEADER)
    ws.append(row("W1", "2026-03-05 08:07"))
    f = tmp_path / "工单登记.xlsx"
    wb.save(f)
    db = tmp_path / "sla.duckdb"
    assert main(["ingest", str(f), "--sheet", "工单", "--db", str(db), "--contract", str(CONTRACT)]) == 0
    assert q(db, "SELECT sheet, rows_loaded FROM ingest_log") == [("工单", 1)]
    capsys.readouterr()
    f2 = tmp_path / "other.xlsx"
    ws.append(row("W2", "2026-03-06 08:07"))  # other content: not skipped as already loaded
    wb.save(f2)
    assert main(["ingest", str(f2), "--sheet", "没有这张表", "--db", str(db), "--contract", str(CONTRACT)]) == 1
    assert "no sheet named '没有这张表'; sheets: 封面, 工单" in capsys.readouterr().out
    bad = tmp_path / "contract.yaml"
    bad.write_text(CONTRACT.read_text(encoding="utf-8").replace("limit_minutes: 20", "limit_minutes: soon"),
                   encoding="utf-8")
    assert main(["ingest", str(f), "--db", str(db), "--contract", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "key 'clauses.response.limit_minutes'" in err and "Traceback" not in err
    assert main(["--debug", "ingest", str(f), "--db", str(db), "--contract", str(bad)]) == 2
    assert "Traceback" in capsys.readouterr().err


# -- dates as exports spell them (issue 12) ------------------------------------------------------------------------
def _register_preset(tmp_path, order: str | None):
    base = (ROOT / "sla_lib" / "load" / "presets" / "cn-register.yaml").read_text(encoding="utf-8")
    text = base.replace("name: cn-register", f"name: cn-register-{order or 'none'}")
    if order:
        text += f"date_order: {order}\n"
    p = tmp_path / f"register-{order or 'none'}.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("order, written, expected", [
    ("dmy", "29/2/2016 01:16", "2016-02-29 01:16:00"),      # UCI ServiceNow: no zero padding
    ("dmy", "05/03/2026 08:07", "2026-03-05 08:07:00"),
    ("mdy", "05/03/2026 08:07", "2026-05-03 08:07:00"),
    ("ymd", "26-02-28 星期六 08:30", "2026-02-28 08:30:00"),   # DingTalk: two-digit year and a weekday
    ("ymd", "2026/02/28 星期六 08:30", "2026-02-28 08:30:00"),  # WeCom
    ("dmy", "Sat 28.02.2026 8:30:15", "2026-02-28 08:30:15"),
    ("ymd", "2026年2月28日 周六 8时30分", "2026-02-28 08:30:00"),
    ("dmy", "2026-02-28 08:30", "2026-02-28 08:30:00"),      # ISO stays ISO under any order
    ("dmy", "2010-03-31T15:59:42+01:00", "2010-03-31 22:59:42"),  # an offset: converted to hospital time
    ("ymd", "2026-02-28T00:30:00Z", "2026-02-28 08:30:00"),
])
def test_date_order_reads_every_spelling_of_that_order(tmp_path, order, written, expected):
    f = write_csv(tmp_path / "工单.csv", [row("D1", written)])
    res = ingest([f], tmp_path / "sla.duckdb", CONTRACT, preset=str(_register_preset(tmp_path, order)),
                 echo=lambda *_: None)
    (fr,) = res.files
    assert (fr.rows_loaded, fr.rows_rejected) == (1, 0), q(tmp_path / "sla.duckdb", "SELECT reason FROM rejects")
    assert [str(r[0]) for r in q(tmp_path / "sla.duckdb", "SELECT reported_at FROM tickets")] == [expected]


def test_an_ambiguous_date_is_never_guessed(tmp_path):
    f = write_csv(tmp_path / "工单.csv", [row("D1", "05/03/2026 08:07"), row("D2", "2026-03-05 08:07"),
                                          row("D3", "30/02/2026 08:07")])
    res = ingest([f], tmp_path / "sla.duckdb", CONTRACT, echo=lambda *_: None)  # cn-register: no date_order
    (fr,) = res.files
    assert (fr.rows_read, fr.rows_loaded, fr.rows_rejected) == (3, 1, 2)
    reasons = dict(q(tmp_path / "sla.duckdb", "SELECT source_row, reason FROM rejects ORDER BY 1"))
    assert "日月顺序不明" in reasons[2] and "date_order" in reasons[2]
    assert "日月顺序不明" not in reasons[4]  # 30 cannot be a month: not ambiguous, just unreadable
    # declared, an impossible date is still rejected, never moved to another day
    res = ingest([write_csv(tmp_path / "工单2.csv", [row("D4", "30/02/2026 08:07")])], tmp_path / "b.duckdb",
                 CONTRACT, preset=str(_register_preset(tmp_path, "dmy")), echo=lambda *_: None)
    assert (res.files[0].rows_loaded, res.files[0].rows_rejected) == (0, 1)


def test_a_preset_with_an_unknown_key_or_order_is_named(tmp_path):
    from sla_lib.errors import InputError
    from sla_lib.load.presets import load_preset_file

    p = _register_preset(tmp_path, None)
    p.write_text(p.read_text(encoding="utf-8") + "date_order: dym\n", encoding="utf-8")
    with pytest.raises(InputError, match="key 'date_order': expected one of dmy, mdy, ymd"):
        load_preset_file(p)
    p.write_text(p.read_text(encoding="utf-8").replace("date_order: dym", "date_ordr: dmy"), encoding="utf-8")
    with pytest.raises(InputError, match="key 'date_ordr': not a preset key"):
        load_preset_file(p)


# -- sla presets suggest (issue 12) -----------------------------------------------------------------------------
def test_presets_suggest_writes_a_preset_that_loads_a_register_no_builtin_preset_knows(tmp_path, capsys):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["信息科报障台账（2026年3月）"])
    ws.merge_cells("A1:H1")
    ws.append(["单据编号", "故障报修时间", "应用系统", "报障科室", "首次响应时刻", "处理结束时间", "处置人员", "是否需要上门"])
    ws.append(["BZ-001", "05/03/2026 08:07", "HIS", "门诊部", "05/03/2026 08:20", "05/03/2026 15:00", "李工", "否"])
    ws.append(["BZ-002", "14/03/2026 09:00", "LIS", "检验科", "14/03/2026 09:45", None, "王工", "否"])
    ws.append(["BZ-003", "31/03/2026 22:10", "HIS", "住院部", "31/03/2026 22:25", "01/04/2026 09:00", "李工", "否"])
    f = tmp_path / "报障台账.xlsx"
    wb.save(f)
    db = tmp_path / "sla.duckdb"
    before = ingest([f], db, CONTRACT, kind="tickets", echo=lambda *_: None)
    assert before.files[0].status == "failed" and "sla presets suggest" in before.files[0].message

    assert main(["presets", "suggest", str(f), "--out", str(tmp_path / "presets"), "--name", "baozhang"]) == 0
    out = capsys.readouterr().out
    preset = tmp_path / "presets" / "baozhang.yaml"
    text = preset.read_text(encoding="utf-8")
    assert "header row 2; kind tickets" in out and "date_order: dmy" in out
    for line in ("ticket_id: [单据编号]", "reported_at: [故障报修时间]", "system: [应用系统]", "department: [报障科室]",
                 "responded_at: [首次响应时刻]", "resolved_at: [处理结束时间]", "date_order: dmy"):
        assert line in text, line
    assert "# unmapped headers (not loaded): 处置人员, 是否需要上门" in text
    assert main(["presets", "suggest", str(f), "--out", str(tmp_path / "presets"), "--name", "baozhang"]) == 2

    res = ingest([f], db, CONTRACT, preset=str(preset), echo=lambda *_: None)
    (fr,) = res.files
    assert (fr.status, fr.rows_read, fr.rows_loaded, fr.rows_rejected) == ("loaded", 3, 3, 0)
    assert q(db, "SELECT ticket_id, reported_at, responded_at, resolved_at FROM tickets ORDER BY 1") == [
        ("BZ-001", dt.datetime(2026, 3, 5, 8, 7), dt.datetime(2026, 3, 5, 8, 20), dt.datetime(2026, 3, 5, 15, 0)),
        ("BZ-002", dt.datetime(2026, 3, 14, 9, 0), dt.datetime(2026, 3, 14, 9, 45), None),
        ("BZ-003", dt.datetime(2026, 3, 31, 22, 10), dt.datetime(2026, 3, 31, 22, 25), dt.datetime(2026, 4, 1, 9, 0))]


@pytest.mark.parametrize("values, expected", [
    (["20-09-29 星期二", "20-09-30 星期三"], "ymd"),  # DingTalk: a two-digit year first (2029-09-20 would be ahead)
    (["2026/02/28 星期六"], "ymd"),
    (["14/03/2026 09:00", "05/03/2026 08:07"], "dmy"),
    (["03/14/2026"], "mdy"),
    (["05/03/2026 08:07"], None),  # 5 March or 3 May: left to the analyst
])
def test_presets_suggest_guesses_the_date_order_only_when_one_order_fits(values, expected):
    import datetime as dt

    from sla_lib.load.suggest import _guess_order

    assert _guess_order(values, today=dt.date(2026, 12, 1))[0] == expected


def test_presets_suggest_joins_a_time_column_to_its_date_under_a_two_level_header(tmp_path):
    from sla_lib.load.suggest import write_suggestion

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["每日统计表 统计日期：2026-03-30 至 2026-03-31"])
    ws.append(["报表生成时间：2026-03-04 20:47"])
    ws.append(["姓名", "考勤组", "日期", "上班1", None, "下班1", None])
    ws.append([None, None, None, "打卡时间", "打卡结果", "打卡时间", "打卡结果"])
    # two-digit years first: 26-03-30 read day first would be 2030-03-26, not yet come
    ws.append(["李工", "驻场", "26-03-30 星期一", "08:24", "正常", "17:41", "正常"])
    ws.append(["王工", "驻场", "26-03-30 星期一", "08:35", "迟到5分钟", None, "缺卡"])
    f = tmp_path / "考勤报表.xlsx"
    wb.save(f)
    target, sug = write_suggestion(f, tmp_path / "presets", "daily", kind="attendance")
    assert sug.header_row == 4 and sug.date_order == "ymd"
    assert sug.split == {"check_in": ("日期", "上班1打卡时间"), "check_out": ("日期", "下班1打卡时间")}
    res = ingest([f], tmp_path / "sla.duckdb", CONTRACT, preset=str(target), echo=lambda *_: None)
    assert (res.files[0].rows_read, res.files[0].rows_loaded, res.files[0].rows_rejected) == (2, 2, 0)
    assert q(tmp_path / "sla.duckdb", "SELECT person, work_date, check_in, check_out FROM attendance_rows ORDER BY 1") == [
        ("李工", dt.date(2026, 3, 30), dt.datetime(2026, 3, 30, 8, 24), dt.datetime(2026, 3, 30, 17, 41)),
        ("王工", dt.date(2026, 3, 30), dt.datetime(2026, 3, 30, 8, 35), None)]
