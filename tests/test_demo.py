"""The demo exports: real files in tmp_path, read back the way an analyst's tool would see them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from sla_lib.demo.tickets import HEADERS, generate_demo, generate_tickets, planted_identifiers
from sla_lib.demo.write import write_demo
from sla_lib.rules.contract import load_contract, norm_name

pytestmark = pytest.mark.long(5)  # seconds with `make test` here: started early (conftest)

CONTRACT = Path(__file__).resolve().parents[1] / "contract.yaml"
NAMES = ["工单登记_2025Q3.xlsx", "工单登记_2025Q4.csv", "工单登记_2026Q1.csv", "工单登记_2026Q2.xlsx",
         "工单登记_2026Q3.xlsx", "工单登记_2026Q4.csv"]  # contract year 1, then year 2 up to October
STAFF_NAMES = ["考勤日汇总_2025下半年.xlsx", "考勤打卡原始记录_2025-10.csv", "考勤打卡原始记录_2026上半年.csv",
               "考勤打卡原始记录_2026下半年.csv", "请假登记_2025-2026.csv", "成果交付登记_驻场月度工作记录.xlsx"]
INSPECTION_NAMES = ["巡检单登记_2025-2026.xlsx", "信息化建设建议登记.csv", "第三方维修费用登记.csv"]
ALL_NAMES = NAMES + STAFF_NAMES + INSPECTION_NAMES
MISSING = {"", "-", "无"}
_DATE = re.compile(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?")


@pytest.fixture(scope="module")
def contract():
    return load_contract(CONTRACT)


@pytest.fixture(scope="module")
def written(tmp_path_factory, contract):
    raw = tmp_path_factory.mktemp("raw") / "nested" / "raw"  # created by write_demo
    paths = write_demo(raw, contract, seed=7)
    return raw, paths


def _parse(v):
    if isinstance(v, dt.datetime):
        return v
    if v is None or str(v).strip() in MISSING:
        return None
    m = _DATE.fullmatch(str(v).strip())
    if not m:
        return "unparseable"
    y, mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    try:
        return dt.datetime(y, mo, d, h, mi, s)
    except ValueError:
        return "unparseable"


def _rows(path: Path) -> list[dict]:
    """Every data row of one export as {header: cell}, cells as the file holds them."""
    if path.suffix == ".xlsx":
        wb = load_workbook(path, read_only=True)
        values = list(wb.active.iter_rows(values_only=True))
        wb.close()
        header, body = values[0], values[1:]
    else:
        data = path.read_bytes()
        text = data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else data.decode("gb18030")
        table = list(csv.reader(io.StringIO(text)))
        header, body = table[0], table[1:]
    assert list(header) == list(HEADERS.values())
    return [dict(zip(header, r, strict=True)) for r in body]


@pytest.fixture(scope="module")
def rows(written):
    raw, _ = written
    return {name: _rows(raw / name) for name in NAMES}


@pytest.fixture(scope="module")
def tickets(rows, contract):
    """The rows a loader would accept: an id, a readable report time, a known system."""
    lookup = contract.system_lookup()
    out = []
    for file_rows in rows.values():
        for r in file_rows:
            rep = _parse(r["报修时间"])
            code = lookup.get(norm_name(r["系统名称"] or ""))
            if r["工单号"] and isinstance(rep, dt.datetime) and code:
                out.append({**r, "_reported": rep, "_responded": _parse(r["响应时间"]), "_code": code})
    return out


def test_same_seed_same_bytes(tmp_path, contract, written):
    _, a = written  # the module's demo, seed 7 (read only here)
    b = write_demo(tmp_path / "b", contract, seed=7)
    assert [p.name for p in a] == [p.name for p in b] == ALL_NAMES
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    c = write_demo(tmp_path / "c", contract, seed=8)
    assert all(pa.read_bytes() != pc.read_bytes() for pa, pc in zip(a, c, strict=True))


def test_other_files_are_left_alone(tmp_path, contract):
    keep = tmp_path / "说明.txt"
    keep.write_text("analyst's own notes", encoding="utf-8")
    paths = write_demo(tmp_path, contract)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*ALL_NAMES, "说明.txt"])
    assert keep.read_text(encoding="utf-8") == "analyst's own notes"
    assert all(p.parent == tmp_path and p.exists() for p in paths)


def test_file_set_and_encodings(written):
    raw, paths = written
    assert raw.is_dir()
    assert [p.name for p in paths] == ALL_NAMES
    assert sorted(p.name for p in raw.iterdir()) == sorted(ALL_NAMES)
    gbk = (raw / "工单登记_2025Q4.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    assert gbk.decode("gb18030").startswith("工单号,报修时间,")
    assert b"\r\n" in gbk  # saved by Excel
    bom = (raw / "工单登记_2026Q1.csv").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf")
    assert bom[3:].decode("utf-8").startswith("工单号,报修时间,")
    for name in ("工单登记_2025Q3.xlsx", "工单登记_2026Q2.xlsx", "工单登记_2026Q3.xlsx"):
        assert (raw / name).read_bytes()[:2] == b"PK"
    assert (raw / "工单登记_2026Q4.csv").read_bytes().decode("gb18030").startswith("工单号,报修时间,")


def test_date_spellings_per_file(rows):
    q3 = [r["报修时间"] for r in rows["工单登记_2025Q3.xlsx"]]
    assert all(isinstance(v, dt.datetime) for v in q3)
    q4 = [r["报修时间"] for r in rows["工单登记_2025Q4.csv"]]
    assert sum(bool(re.fullmatch(r"2025/1[0-2]/\d{1,2} \d{1,2}:\d{2}", v)) for v in q4) == len(q4) - 2  # 2 bad rows
    assert any(re.fullmatch(r"2025/10/\d \d:\d{2}", v) for v in q4)  # Excel style: no zero padding
    q1 = [r["报修时间"] for r in rows["工单登记_2026Q1.csv"]]
    assert all(re.fullmatch(r"2026-0[1-3]-\d{2} \d{2}:\d{2}:\d{2}", v) for v in q1)
    q2 = [r["报修时间"] for r in rows["工单登记_2026Q2.xlsx"]]
    text = [v for v in q2 if isinstance(v, str)]
    cells = [v for v in q2 if isinstance(v, dt.datetime)]
    assert text and cells
    assert all(re.fullmatch(r"2026年[4-6]月\d{1,2}日 \d{1,2}:\d{2}", v) for v in text)
    # year 2: the styles start again; the last export holds October only (the span ends 2026-11-01)
    assert all(isinstance(r["报修时间"], dt.datetime) and 7 <= r["报修时间"].month <= 9
               for r in rows["工单登记_2026Q3.xlsx"])
    assert all(re.fullmatch(r"2026/10/\d{1,2} \d{1,2}:\d{2}", r["报修时间"]) for r in rows["工单登记_2026Q4.csv"])
    # missing cells: blank in xlsx and in the BOM csv; blank, '-' or '无' in the GBK csv
    gbk_plan = Counter(r["方案提供时间"] for r in rows["工单登记_2025Q4.csv"] if not _DATE.match(r["方案提供时间"]))
    assert {"", "-", "无"} <= set(gbk_plan)
    assert {r["方案提供时间"] for r in rows["工单登记_2026Q1.csv"] if not _DATE.match(r["方案提供时间"])} == {""}
    assert {r["是否现场"] for f in rows.values() for r in f} == {"是", "否"}


def test_ticket_count_ids_and_quarters(tickets):
    year1 = [t for t in tickets if t["_reported"] < dt.datetime(2026, 7, 1)]
    assert 5500 <= len(year1) <= 6500  # ~6,000 a year
    assert 1700 <= len(tickets) - len(year1) <= 2300  # four months of year 2
    ids = [t["工单号"] for t in tickets]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"GD20(25|26)\d{2}\d{4}", i) for i in ids)
    reported = [t["_reported"] for t in tickets]
    assert min(reported) >= dt.datetime(2025, 7, 1) and max(reported) < dt.datetime(2026, 11, 1)
    assert max(reported) >= dt.datetime(2026, 10, 31)
    normal = [t for t in tickets if not t["工单号"][8:].startswith("99")]
    assert [t["_reported"] for t in normal] == sorted(t["_reported"] for t in normal)
    assert all(t["工单号"][2:8] == t["_reported"].strftime("%Y%m") for t in tickets)


def test_systems_as_a_hospital_writes_them(tickets):
    codes = Counter(t["_code"] for t in tickets)
    top, n_top = codes.most_common(1)[0]
    assert top == "HIS"
    assert 0.38 <= n_top / len(tickets) <= 0.52
    assert len(codes) == 8 and min(codes.values()) > 100
    spellings = Counter(t["系统名称"] for t in tickets)
    for name in ("LIS", "检验信息系统", "EMR", "电子病历", "HIS", "HIS系统"):
        assert spellings[name] > 0, name


def test_response_breaches_and_rhythm(tickets):
    delays = [(t["_responded"] - t["_reported"]).total_seconds() / 60 for t in tickets
              if isinstance(t["_responded"], dt.datetime)]
    breach = sum(d > 20 for d in delays) / len(delays)
    assert 0.01 <= breach <= 0.06
    assert sum(1 <= d <= 15 for d in delays) / len(delays) > 0.85
    assert max(delays) > 60  # some breaches last hours
    hours = Counter(t["_reported"].hour for t in tickets)
    in_day = sum(v for h, v in hours.items() if 8 <= h < 17)
    assert in_day / len(tickets) > 0.7
    assert hours[10] > hours[12] and hours[15] > hours[13]  # mid-morning and afternoon peaks
    assert sum(hours[h] for h in (0, 1, 2, 3, 4, 5)) > 20  # nights


def test_weekends_holidays_and_makeup_days(tickets):
    per_day = Counter(t["_reported"].date() for t in tickets)
    national_day = [dt.date(2025, 10, d) for d in range(1, 9)]
    assert sum(per_day[d] for d in national_day) > 0
    assert max(per_day[d] for d in national_day) < 15
    makeup = [dt.date(2025, 9, 28), dt.date(2025, 10, 11), dt.date(2026, 1, 4), dt.date(2026, 2, 14),
              dt.date(2026, 2, 28), dt.date(2026, 5, 9), dt.date(2026, 9, 20), dt.date(2026, 10, 10)]
    ordinary_weekend = [d for d in per_day if d.weekday() >= 5 and d not in makeup
                        and not dt.date(2025, 10, 1) <= d <= dt.date(2025, 10, 8)
                        and not dt.date(2026, 10, 1) <= d <= dt.date(2026, 10, 7)]
    national_day_2026 = [dt.date(2026, 10, d) for d in range(1, 8)]
    assert 0 < sum(per_day[d] for d in national_day_2026) and max(per_day[d] for d in national_day_2026) < 15
    avg_weekend = sum(per_day[d] for d in ordinary_weekend) / len(ordinary_weekend)
    # make-up Saturdays and Sundays (2026-09-20, 2026-10-10 in year 2) behave like working days
    assert all(per_day[d] > 2 * avg_weekend for d in makeup), [(d, per_day[d]) for d in makeup]
    assert per_day[dt.date(2025, 10, 11)] > 0 and per_day[dt.date(2025, 9, 28)] > 0


def test_onsite_open_and_excluded(tickets):
    onsite = [t for t in tickets if t["是否现场"] == "是"]
    assert 0.05 <= len(onsite) / len(tickets) <= 0.11
    arrivals = [(_parse(t["到场时间"]), _parse(t["现场通知时间"])) for t in onsite]
    late = [a for a, n in arrivals if a and n and (a - n) > dt.timedelta(hours=4)]
    assert 0.02 <= len(late) / len(onsite) <= 0.09
    assert 1 <= sum(a is None for a, _ in arrivals) <= 3
    open_ = [t for t in tickets if t["状态"] == "处理中"]
    assert 3 <= len(open_) <= 30
    assert all(_parse(t["解决时间"]) is None for t in open_)
    assert sum(t["_reported"] >= dt.datetime(2026, 10, 28) for t in open_) >= 3  # the end of the span
    assert {t["状态"] for t in tickets} == {"已解决", "已关闭", "处理中"}
    excluded = Counter(t["排除原因"] for t in tickets if t["排除原因"] not in (None, "", "-", "无"))
    assert set(excluded) == {"不可抗力", "第三方接口", "院方原因"}
    assert 0.005 <= sum(excluded.values()) / len(tickets) <= 0.02
    change = [t for t in tickets if t["问题类型"] == "改造需求" and _parse(t["解决时间"])]
    slow = [t for t in change if _parse(t["解决时间"]) - t["_reported"] > dt.timedelta(days=2)]
    assert len(slow) == len(change) > 50


def test_bad_and_contradicting_rows(rows, contract):
    gbk = rows["工单登记_2025Q4.csv"]
    assert sum(r["工单号"] == "" for r in gbk) == 1
    assert [r["工单号"] for r in gbk if r["报修时间"] == "2025-13-45 25:00"] == ["GD2025119902"]
    assert [r["工单号"] for r in gbk if r["系统名称"] == "OA办公系统"] == ["GD2025119903"]
    lookup = contract.system_lookup()
    assert sum(lookup.get(norm_name(r["系统名称"])) is None for r in gbk) == 2  # OA and a blank one
    assert sum(r["报修时间"] == "" for r in gbk) == 1
    for other in ("工单登记_2025Q3.xlsx", "工单登记_2026Q1.csv", "工单登记_2026Q2.xlsx", "工单登记_2026Q3.xlsx",
                  "工单登记_2026Q4.csv"):
        assert all(r["工单号"] and r["工单号"].startswith("GD") is not False for r in rows[other])
        assert all(isinstance(_parse(r["报修时间"]), dt.datetime) for r in rows[other])
    by_id = {r["工单号"]: r for r in gbk}
    demo = generate_demo(contract, 7)
    assert len(demo.contradictions) == 3
    kinds = set()
    for tid in demo.contradictions:
        r = by_id[tid]
        rep, resp, res = _parse(r["报修时间"]), _parse(r["响应时间"]), _parse(r["解决时间"])
        if resp and resp < rep:
            kinds.add("response")
        if res and res < rep:
            kinds.add("resolved")
        arr, note = _parse(r["到场时间"]), _parse(r["现场通知时间"])
        if arr and note and arr < note:
            kinds.add("arrival")
    assert kinds == {"response", "resolved", "arrival"}


def test_planted_identifiers_are_in_the_raw_files(written, rows, contract):
    planted = planted_identifiers(contract, seed=7)
    assert planted == planted_identifiers(contract, seed=7)
    assert len(planted) == len(set(planted)) > 100
    ids = [v for v in planted if re.fullmatch(r"\d{17}[\dX]", v)]
    mobiles = [v for v in planted if re.fullmatch(r"1[3-9]\d{9}", v)]
    inpatient = [v for v in planted if re.fullmatch(r"ZY\d{10}|\d{8}", v)]
    names = [v for v in planted if re.fullmatch(r"[\u4e00-\u9fff]{2,3}", v)]
    assert ids and mobiles and inpatient and names
    assert len(ids) + len(mobiles) + len(inpatient) + len(names) == len(planted)
    assert any(v.endswith("X") for v in ids)
    assert any(v.startswith("ZY") for v in inpatient) and any(len(v) == 8 for v in inpatient)
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    for v in ids:  # valid-looking: GB 11643 check character
        assert "10X98765432"[sum(int(c) * w for c, w in zip(v[:17], weights, strict=True)) % 11] == v[17]
    descriptions = [r["问题描述"] or "" for f in rows.values() for r in f]
    text = "\n".join(descriptions)
    missing = [v for v in planted if v not in text]
    assert not missing
    with_ids = sum(any(v in d for v in planted) for d in descriptions)
    assert 0.02 <= with_ids / len(descriptions) <= 0.045
    # each name follows 患者/病人/姓名 somewhere
    assert all(re.search(rf"(患者|病人|姓名[:：]){n}", text) for n in names)
    # identifiers appear in descriptions only, never in another column
    other = "\n".join(str(v) for f in rows.values() for r in f for k, v in r.items() if k != "问题描述")
    assert not [v for v in planted if v in other]


def test_generation_is_shared(contract):
    df = generate_tickets(contract, seed=7)
    assert list(HEADERS) == [c for c in df.columns if c in HEADERS]
    assert df["ticket_id"].is_unique and df["reported_at"].is_monotonic_increasing
    assert set(df["system"]) == {s.code for s in contract.systems}


def test_year_two_differs_from_year_one(contract):
    """Same draws, other probabilities: in year 2 the vendor answers faster in working hours and
    arrives on site late more often (so the review's year comparison has something to show)."""
    df = generate_tickets(contract, seed=7)
    y2 = df["reported_at"] >= "2026-07-01"
    late_resp = (df["responded_at"] - df["reported_at"]) > pd.Timedelta(minutes=20)
    onsite = df["onsite"] & df["arrived_at"].notna()
    late_arr = (df["arrived_at"] - df["onsite_requested_at"]) > pd.Timedelta(hours=4)
    day = df["reported_at"].dt.day_of_week.lt(5) & df["reported_at"].dt.hour.between(9, 11)
    assert late_resp[day & y2].mean() < late_resp[day & ~y2].mean()
    assert late_arr[onsite & y2].mean() > late_arr[onsite & ~y2].mean()


def test_twelve_months_is_the_one_year_demo(tmp_path, contract):
    paths = write_demo(tmp_path, contract, seed=7, months=12)
    names = [p.name for p in paths]
    assert [n for n in names if n.startswith("工单登记")] == NAMES[:4]
    one = generate_tickets(contract, seed=7, months=12)
    assert one["reported_at"].max() < pd.Timestamp("2026-07-01") <= one["reported_at"].max() + pd.Timedelta(days=1)
    assert 5500 <= len(one) <= 6500 and one["status"].eq("处理中").sum() >= 3  # open at the end of year 1
    with pytest.raises(ValueError, match="at least 1"):
        generate_tickets(contract, seed=7, months=0)


def test_ticket_workbooks_as_excel_shows_them(written, rows):
    """The demo's ticket workbooks (written by sla_lib.demo.xlsx, not openpyxl) open in openpyxl as
    an export looks in Excel: the sheet 工单登记, the header frozen, the column widths, the document's
    creator, and times that read back to the minute with the export's number format."""
    raw, _ = written
    wb = load_workbook(raw / "工单登记_2025Q3.xlsx")  # not read-only: formats, panes and widths
    ws = wb.active
    assert wb.sheetnames == ["工单登记"] and ws.freeze_panes == "A2" and wb.properties.creator == "工单系统"
    n = len(rows["工单登记_2025Q3.xlsx"])
    assert ws.column_dimensions["I"].width == 48 and ws.max_row == 1 + n > 1000 and ws.max_column == len(HEADERS)
    cell = ws["B2"]
    assert cell.value == dt.datetime(2025, 7, 1, 8, 21) and cell.number_format == "yyyy-mm-dd hh:mm"
    times = [c.value for c in ws["B"][1:] if isinstance(c.value, dt.datetime)]
    assert len(times) == n and all(t.second == 0 and t.microsecond == 0 for t in times)
    wb.close()
