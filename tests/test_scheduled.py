"""`sla scheduled` over the demo year: a simulated year of daily runs through the real CLI (real
xlsx/csv exports, real DuckDB, real papermill for every render), new exports, late data,
concurrent runs, a failing notebook, and the job files in scheduled/."""

from __future__ import annotations

import configparser
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from sla_lib import __version__
from sla_lib.cli import main
from sla_lib.demo.write import write_demo
from sla_lib.publish.fingerprints import period_fingerprints
from sla_lib.publish.kinds import REPORT_KINDS
from sla_lib.publish.scheduled import (
    EXIT_BUSY,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_RENDER_FAILED,
    LOCK_NAME,
    RunLock,
    plan,
    run_scheduled,
)
from sla_lib.rules import periods
from sla_lib.rules.contract import load_contract
from sla_lib.store.db import connect

from .conftest import CONTRACT, ROOT
from .test_ingest import row, write_csv
from .test_render import FIGURES, assert_offline, parse

pytestmark = pytest.mark.long(34)  # the simulated year: started first (conftest)

MONTHS = [f"{y}-{m:02d}" for y, m in [(2025, m) for m in range(7, 13)] + [(2026, m) for m in range(1, 7)]]
QUARTERS = {"2025-Q3": dt.date(2025, 10, 1), "2025-Q4": dt.date(2026, 1, 1), "2026-Q1": dt.date(2026, 4, 1),
            "2026-Q2": dt.date(2026, 7, 1)}
MONTHLY = [REPORT_KINDS["monthly"]]
KIND_OF = {**{m: "monthly" for m in MONTHS}, **{q: "quarterly" for q in QUARTERS}, "contract-year-1": "year"}
FIRST_DAY, LAST_DAY = dt.date(2025, 7, 1), dt.date(2026, 7, 31)
RENDERED = re.compile(r"^rendered (\S+) (\S+) \((\w+)\)", re.M)


def project(base: Path) -> Path:
    """A project folder with its own copy of contract.yaml (the tests must not see edits made to the
    checkout's contract file while they run)."""
    base.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONTRACT, base / "contract.yaml")
    return base


def sla(base: Path, *args: str, kinds: str = "monthly") -> tuple[int, str, str]:
    """`sla scheduled ARGS` in this process, on the project under ``base``; (exit code, stdout, stderr).
    The tests of the scheduler's mechanics watch the monthly kind; the simulated year runs them all."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["scheduled", "--raw-dir", str(base / "raw"), "--db", str(base / "sla.duckdb"),
                     "--contract", str(base / "contract.yaml"), "--out", str(base / "reports"),
                     *(["--kinds", kinds] if kinds else []), *args])
    return code, out.getvalue(), err.getvalue()


def renders(text: str) -> list[tuple[str, str, str]]:
    return RENDERED.findall(text)


def records(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("*/report.json"))}


def snapshot(out: Path) -> dict[str, bytes]:
    """Bytes of every report file (not the logs, not the index)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("*/*")) if p.parent.name != "logs"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the simulated year, shared -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def year(tmp_path_factory):
    """Daily `sla scheduled --today D` from 2025-07-01 to 2026-07-31 with the one-year demo
    (``months=12``: four ticket exports and the other exports of year 1) in data/raw/ from the first day: the first run loads them, then each month must be rendered on the
    1st of the next month and never again."""
    base = project(tmp_path_factory.mktemp("year"))
    exports = write_demo(base / "raw", load_contract(base / "contract.yaml"), seed=7, months=12)
    runs = []
    day = FIRST_DAY
    while day <= LAST_DAY:
        code, out, err = sla(base, "--today", day.isoformat(), kinds="")  # every report kind
        runs.append({"day": day, "code": code, "out": out, "err": err})
        day += dt.timedelta(days=1)
    return {"base": base, "out": base / "reports", "runs": runs, "exports": len(exports)}


@pytest.fixture
def archive(year, tmp_path):
    """A private copy of the project after the simulated year (database, exports, reports).

    The report pages (2 MB each, with the plotly bundle) are hard links, not copies: the renderer
    never writes into a page, it replaces it (render.py writes in a work folder, then os.replace),
    which leaves the shared year's page as it was. Everything else is copied, since the tests edit
    report.json and the database in place."""
    base = tmp_path / "project"

    def link_pages(src, dst):
        if src.endswith((".html", ".ipynb")) and os.path.getsize(src) > 2**20:
            os.link(src, dst)
            return dst
        return shutil.copy2(src, dst)

    shutil.copytree(year["base"], base, copy_function=link_pages)
    return base


def test_a_year_of_daily_runs_renders_each_month_once_on_the_first_run_after_it_closed(year):
    runs = year["runs"]
    assert len(runs) == (LAST_DAY - FIRST_DAY).days + 1 == 396
    assert [r["code"] for r in runs] == [EXIT_OK] * len(runs), [r["err"] for r in runs if r["code"]][:1]
    assert all(r["err"] == "" for r in runs)
    seen: dict[str, list[dt.date]] = {}
    for r in runs:
        for kind, period, reason in renders(r["out"]):
            assert reason == "new" and kind == KIND_OF[period]
            seen.setdefault(period, []).append(r["day"])
    # each month on the 1st of the next month; each quarter on the day after it ends; contract year 1
    # on the signing date one year on (2026-07-01); 2026-Q3 (contract year 2) has not closed by 31 July
    assert seen == {m: [periods.month(m).closes_on] for m in MONTHS} | {q: [d] for q, d in QUARTERS.items()} | {
        "contract-year-1": [dt.date(2026, 7, 1)]}
    # the first run loaded the exports; a run with nothing new did nothing and said so
    assert f"loading: {year['exports']} new export file(s)" in runs[0]["out"] and renders(runs[0]["out"]) == []
    quiet = [r for r in runs[1:] if r["day"].day != 1]
    assert all("nothing new:" in r["out"] and "no new export files" in r["out"] for r in quiet)
    assert "nothing new: 17 report(s) up to date; nothing rendered" in runs[-1]["out"]
    # what exists in the end: the twelve monthly reports, four quarterly reports and the review of
    # contract year 1, each rendered once
    recs = records(year["out"])
    assert sorted(recs) == sorted([*MONTHS, *QUARTERS, "contract-year-1"])
    assert all(r["kind"] == KIND_OF[p] and r["package_version"] == __version__ for p, r in recs.items())
    assert (year["out"] / "contract-year-1" / "contract-year-review.xlsx").exists()
    recs = {p: r for p, r in recs.items() if r["kind"] == "monthly"}
    for m in MONTHS:
        assert (year["out"] / m / "monthly-report.html").stat().st_size > 100_000
        assert not (year["out"] / m / "monthly-report.failed.ipynb").exists()
    assert {p.name for p in year["out"].iterdir()} == {*MONTHS, *QUARTERS, "contract-year-1", LOCK_NAME,
                                                        "index.html", "logs"}


def test_one_log_file_per_run_records_what_was_loaded_and_rendered(year):
    logs = sorted((year["out"] / "logs").iterdir())
    assert len(logs) == len(year["runs"])
    by_day = {re.search(r"_today-(\d{4}-\d{2}-\d{2})", p.name).group(1): p.read_text(encoding="utf-8") for p in logs}
    assert len(by_day) == len(logs)
    first = by_day["2025-07-01"]
    assert "工单登记_2025Q3.xlsx" in first and "read 1662, loaded 1662, rejected 0" in first
    assert renders(by_day["2025-12-01"]) == [("monthly", "2025-11", "new")]
    assert sum(len(renders(t)) for t in by_day.values()) == 17  # 12 months, 4 quarters, 1 contract year
    # the terminal saw the same lines as the log
    run = next(r for r in year["runs"] if r["day"] == dt.date(2025, 12, 1))
    assert run["out"].strip() == by_day["2025-12-01"].strip()


def test_report_json_records_input_files_and_the_fingerprint_the_scheduler_compares(year):
    base, recs = year["base"], records(year["out"])
    files = {p.name: sha256(p) for p in (base / "raw").iterdir()}
    con = connect(base / "sla.duckdb", read_only=True)
    try:
        fps = period_fingerprints(con, load_contract(base / "contract.yaml").sha256)
        per_month = dict(con.execute("SELECT month, count(DISTINCT ticket_id) FROM ticket_sla GROUP BY 1").fetchall())
        as_of = con.execute("SELECT value FROM meta WHERE key = 'as_of'").fetchall()[0][0]
    finally:
        con.close()
    for m in MONTHS:
        rec = recs[m]
        assert rec["input_fingerprint"] == fps[m]
        assert {Path(f["source_file"]).name: f["sha256"] for f in rec["inputs"]} == files
        assert [f["load_seq"] for f in rec["inputs"]] == list(range(1, year["exports"] + 1))
        assert sum(f["period_tickets"] for f in rec["inputs"]) == per_month[m]
        assert rec["as_of"] == as_of == "2026-07-03 11:28:00"
        assert rec["contract_sha256"] == sha256(base / "contract.yaml") == rec["findings_contract_sha256"]
        assert re.fullmatch(r"[0-9a-f]{64}", rec["notebook_sha256"]) and rec["contract_file"] == "contract.yaml"
    # a month's tickets come from its quarter's export
    oct_ = {Path(f["source_file"]).name: f["period_tickets"] for f in recs["2025-10"]["inputs"]}
    assert oct_["工单登记_2025Q4.csv"] == per_month["2025-10"] and oct_["工单登记_2025Q3.xlsx"] == 0


def test_index_is_the_archive_front_page(year):
    index = (year["out"] / "index.html").read_text(encoding="utf-8")
    page = assert_offline(index)
    assert '<html lang="zh">' in index and "运维服务报告归档" in index
    assert "共 17 份报告（月度报告 12 份，季度报告 4 份，合同年度评估 1 份）" in index
    for m in MONTHS:
        assert ("a", "href", f"{m}/monthly-report.html") in page.urls
    hrefs = [u[2] for u in page.urls if u[0] == "a" and u[2].endswith("monthly-report.html")]
    assert hrefs == [f"{m}/monthly-report.html" for m in reversed(MONTHS)]  # newest first
    assert ("a", "href", "2026-Q2/quarterly-report.html") in page.urls
    assert ("a", "href", "contract-year-1/contract-year-review.html") in page.urls
    recs = records(year["out"])
    for m in MONTHS:
        assert recs[m]["rendered_at"] in index and recs[m]["input_fingerprint"][:12] in index
    for p in (year["base"] / "raw").iterdir():
        digest = sha256(p)
        assert digest[:12] in index and digest in index  # short per report, in full in the file list
        assert p.name in index
    assert "2026-07-03 11:28:00" in index and __version__ in index
    assert sha256(year["base"] / "contract.yaml")[:12] in index
    assert "如何复现归档中的报告" in index and "输入文件清单" in index
    assert "@page" in index and "size: A4" in index


# -- after the year: what a new export, late data and a second run do -------------------------------------
def test_a_second_run_with_nothing_new_changes_nothing(archive):
    out = archive / "reports"
    before, index = snapshot(out), (out / "index.html").read_bytes()
    code, text, _ = sla(archive, "--today", "2026-08-15")
    assert code == EXIT_OK and "nothing new: 12 report(s) up to date; nothing rendered" in text
    assert snapshot(out) == before and (out / "index.html").read_bytes() == index


def test_a_new_export_rerenders_only_the_months_it_changes(archive, year):
    out = archive / "reports"
    before = snapshot(out)
    # a late-registered October ticket, answered two hours late; every time is before as_of
    write_csv(archive / "raw" / "补登工单_2025-10.csv", [
        row("GD2025109001", "2025-10-15 09:00", responded="2025-10-15 11:00", resolved="2025-10-15 15:00")])
    code, text, err = sla(archive, "--today", "2026-08-01")
    assert code == EXIT_OK, err
    assert "loading: 1 new export file(s)" in text
    assert renders(text) == [("monthly", "2025-10", "changed")]
    after = snapshot(out)
    changed = sorted(k for k in after if after[k] != before.get(k))
    assert changed == ["2025-10/monthly-print.html", "2025-10/monthly-report.html", "2025-10/monthly-report.ipynb",
                       "2025-10/report.json"]
    rec = records(out)["2025-10"]
    assert rec["as_of"] == "2026-07-03 11:28:00"
    new = [f for f in rec["inputs"] if f["source_file"].endswith("补登工单_2025-10.csv")]
    assert len(new) == 1 and new[0]["period_tickets"] == 1 and new[0]["load_seq"] == year["exports"] + 1
    html = (out / "2025-10" / "monthly-report.html").read_text(encoding="utf-8")
    breaches = parse(html).tables["sla-table-breaches"]
    assert any(r[0] == "GD2025109001" for r in breaches[1:])
    assert "补登工单_2025-10.csv" in (out / "index.html").read_text(encoding="utf-8")
    # and the next run has nothing to do again
    code, text, _ = sla(archive, "--today", "2026-08-02")
    assert code == EXIT_OK and "nothing new" in text and renders(text) == []


def test_data_of_an_open_month_waits_until_the_month_closes(archive):
    write_csv(archive / "raw" / "工单_2026-07.csv", [
        row("GD2026079001", "2026-07-01 09:00", responded="2026-07-01 09:10", resolved="2026-07-01 10:00")])
    code, text, _ = sla(archive, "--today", "2026-07-31")
    assert code == EXIT_OK and renders(text) == []
    assert "no report affected: 12 report(s) up to date" in text and "1 not closed yet (2026-07 … 2026-07)" in text
    code, text, _ = sla(archive, "--today", "2026-08-01")
    assert code == EXIT_OK and renders(text) == [("monthly", "2026-07", "new")]
    assert sorted(p for p, r in records(archive / "reports").items() if r["kind"] == "monthly") == [*MONTHS, "2026-07"]


def test_a_failing_notebook_leaves_the_previous_report_and_names_the_cell(archive, tmp_path):
    out = archive / "reports"
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nb = nbformat.read(str(ROOT / "notebooks" / "monthly_report.ipynb"), as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])) + 2
    nb.cells.insert(at, nbformat.v4.new_code_cell("raise ValueError('boom: simulated failure')"))
    nbformat.write(nb, str(nb_dir / "monthly_report.ipynb"))
    write_csv(archive / "raw" / "补登工单_2025-10.csv", [
        row("GD2025109001", "2025-10-15 09:00", responded="2025-10-15 11:00", resolved="2025-10-15 15:00")])
    before = snapshot(out)

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()) as so, contextlib.redirect_stderr(err):
        code = run_scheduled(today="2026-08-01", raw_dir=archive / "raw", db_path=archive / "sla.duckdb",
                             contract_path=archive / "contract.yaml", out_dir=out, notebooks_dir=nb_dir)
    assert code == EXIT_RENDER_FAILED
    msg = err.getvalue()
    assert f"FAILED monthly 2025-10: {nb_dir / 'monthly_report.ipynb'}: cell {at + 1} failed" in msg
    assert "ValueError: boom: simulated failure" in msg and "previous report was left as it was" in msg
    after = snapshot(out)
    assert after.pop("2025-10/monthly-report.failed.ipynb")
    assert after == before  # every report, the failed month's included, is byte for byte the old one
    assert [p.name for p in out.iterdir() if p.name.startswith(".render")] == []
    log = sorted((out / "logs").iterdir())[-1].read_text(encoding="utf-8")
    assert "cell" in log and "ValueError: boom" in log and "rendered monthly" not in so.getvalue()

    # the next run (notebook fixed) tries again and succeeds
    code, text, _ = sla(archive, "--today", "2026-08-02")
    assert code == EXIT_OK and renders(text) == [("monthly", "2025-10", "changed")]
    assert not (out / "2025-10" / "monthly-report.failed.ipynb").exists()


def test_concurrent_runs_one_renders_the_other_stops_with_a_message(archive, tmp_path):
    out = archive / "reports"
    shutil.rmtree(out / "2025-08")
    cmd = [sys.executable, "-m", "sla_lib", "scheduled", "--today", "2026-08-01", "--raw-dir", "raw",
           "--db", "sla.duckdb", "--contract", "contract.yaml", "--out", "reports"]
    # the first run's month waits in a cell of its notebook until the second run has finished, so
    # the second always meets the lock held (a first run that happened to finish before the second
    # started, once rendering got faster, made this test fail on a quiet machine); no clock decides
    nb_dir = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", nb_dir)
    release = tmp_path / "release"
    nb = nbformat.read(str(nb_dir / "monthly_report.ipynb"), as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])) + 2
    nb.cells.insert(at, nbformat.v4.new_code_cell(
        f"import pathlib as _p, time as _t\nfor _ in range(12000):\n    if _p.Path({str(release)!r}).exists():\n"
        "        break\n    _t.sleep(0.05)"))
    nbformat.write(nb, str(nb_dir / "monthly_report.ipynb"))
    first = subprocess.Popen(
        [sys.executable, "-c", "import sys; from sla_lib.publish.scheduled import run_scheduled; "
         "sys.exit(run_scheduled(today='2026-08-01', raw_dir='raw', db_path='sla.duckdb', "
         f"contract_path='contract.yaml', out_dir='reports', notebooks_dir={str(nb_dir)!r}))"],
        cwd=archive, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = out / LOCK_NAME
    for _ in range(1200):  # until it holds the lock (a cap by count, no clock: some minutes of 50 ms pauses)
        if f"pid {first.pid} " in (lock.read_text() if lock.exists() else ""):
            break
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    else:
        pytest.fail(f"the first run never took the lock {lock}")
    second = subprocess.run(cmd, cwd=archive, capture_output=True, text=True, timeout=120)
    release.touch()
    out1, err1 = first.communicate(timeout=300)
    assert first.returncode == EXIT_OK, err1
    assert renders(out1) == [("monthly", "2025-08", "new")]
    assert second.returncode == EXIT_BUSY
    assert "another `sla scheduled` run is in progress" in second.stderr and f"pid {first.pid}" in second.stderr
    assert renders(second.stdout) == []
    assert sorted(records(out)) == sorted([*MONTHS, *QUARTERS, "contract-year-1"])
    # both runs left a log; only one rendered
    logs = [p.read_text(encoding="utf-8") for p in (out / "logs").iterdir() if "2026-08-01" in p.name]
    assert len(logs) == 2 and sum(len(renders(t)) for t in logs) == 1
    # the lock is free again
    code, text, _ = sla(archive, "--today", "2026-08-01")
    assert code == EXIT_OK and "nothing new" in text


# -- cheap: no render -----------------------------------------------------------------------------------------
def test_a_held_lock_stops_the_run_before_it_touches_anything(tmp_path):
    project(tmp_path)
    lock = RunLock(tmp_path / "reports" / LOCK_NAME)
    assert lock.acquire()
    try:
        code, text, err = sla(tmp_path, "--today", "2026-07-01")
        assert code == EXIT_BUSY
        assert "another `sla scheduled` run is in progress" in err and "this run did nothing" in err
        assert not (tmp_path / "sla.duckdb").exists()
        assert RunLock(tmp_path / "reports" / LOCK_NAME).acquire() is False
    finally:
        lock.release()
    second = RunLock(tmp_path / "reports" / LOCK_NAME)
    assert second.acquire()
    second.release()


def test_months_close_at_the_end_of_their_last_day(archive):
    assert periods.month("2025-12").closes_on == dt.date(2026, 1, 1)
    assert periods.month("2026-02").closes_on == dt.date(2026, 3, 1)
    contract = load_contract(archive / "contract.yaml")
    con = connect(archive / "sla.duckdb", read_only=True)
    try:
        def closed(day):
            return plan(con, contract, archive / "reports", day, kinds=MONTHLY).closed["monthly"]

        assert closed(dt.date(2025, 7, 31)) == []
        assert closed(dt.date(2025, 8, 1)) == ["2025-07"]
        assert closed(dt.date(2025, 12, 31)) == MONTHS[:5]
        assert closed(dt.date(2026, 1, 1)) == MONTHS[:6]
        p = plan(con, contract, archive / "reports", dt.date(2026, 7, 1), kinds=MONTHLY)
        assert p.todo == [] and p.up_to_date == 12
        forced = plan(con, contract, archive / "reports", dt.date(2026, 7, 1), force=True, kinds=MONTHLY)
        assert [(t.period, t.reason) for t in forced.todo] == [(m, "forced") for m in MONTHS]
        # a report without a recorded fingerprint (older sla_lib) is rendered again
        rec_path = archive / "reports" / "2025-09" / "report.json"
        rec = json.loads(rec_path.read_text(encoding="utf-8"))
        del rec["input_fingerprint"]
        rec_path.write_text(json.dumps(rec), encoding="utf-8")
        (archive / "reports" / "2025-11" / "monthly-report.html").unlink()
        p = plan(con, contract, archive / "reports", dt.date(2026, 7, 1), kinds=MONTHLY)
        assert [(t.period, t.reason) for t in p.todo] == [("2025-09", "unrecorded"), ("2025-11", "new")]
    finally:
        con.close()
    assert list(REPORT_KINDS) == ["monthly", "quarterly", "year"]


def test_per_month_findings_of_other_kinds_are_part_of_the_fingerprint(archive):
    """A table with a `month` column (as the findings of resident-engineer attendance are kept) is
    part of the monthly fingerprint: a change in its October rows re-renders October only."""
    contract = load_contract(archive / "contract.yaml")
    con = connect(archive / "sla.duckdb")
    try:
        before = period_fingerprints(con, contract.sha256)
        con.execute("CREATE TABLE sla_test_monthly (month VARCHAR, person VARCHAR, late_minutes INTEGER)")
        con.execute("INSERT INTO sla_test_monthly VALUES ('2025-10', '李工', 12), ('2025-10', '王工', 0)")
        after = period_fingerprints(con, contract.sha256)
        assert [m for m in MONTHS if before[m] != after[m]] == ["2025-10"]
        con.execute("UPDATE sla_test_monthly SET late_minutes = 13 WHERE person = '李工'")
        again = period_fingerprints(con, contract.sha256)
        assert [m for m in MONTHS if again[m] != after[m]] == ["2025-10"]
        assert period_fingerprints(con, contract.sha256, only="2025-10") == {"2025-10": again["2025-10"]}
        p = plan(con, contract, archive / "reports", dt.date(2026, 8, 1), kinds=MONTHLY)
        assert [(t.period, t.reason) for t in p.todo] == [("2025-10", "changed")]
    finally:
        con.close()


def test_a_changed_contract_recomputes_and_marks_every_month_changed(archive, tmp_path):
    edited = tmp_path / "contract.yaml"
    edited.write_text((archive / "contract.yaml").read_text(encoding="utf-8") + "\n# renewed\n", encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = run_scheduled(today="2026-07-10", raw_dir=archive / "raw", db_path=archive / "sla.duckdb",
                             contract_path=edited, out_dir=archive / "reports", kinds=[])
    assert code == EXIT_OK
    assert "recomputing: the contract file contract.yaml changed since the findings were computed" in out.getvalue()
    con = connect(archive / "sla.duckdb", read_only=True)
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'contract_sha256'").fetchall()[0][0] == sha256(edited)
        p = plan(con, load_contract(edited), archive / "reports", dt.date(2026, 7, 10), kinds=MONTHLY)
    finally:
        con.close()
    assert [(t.period, t.reason) for t in p.todo] == [(m, "changed") for m in MONTHS]


def test_clear_errors_exit_2_and_are_logged(tmp_path):
    project(tmp_path)
    code, _, err = sla(tmp_path, "--today", "2026-13-01")
    assert code == EXIT_ERROR and "--today: cannot read '2026-13-01'; expected a date YYYY-MM-DD" in err
    code, _, err = sla(tmp_path, "--today", "2026-07-01")
    assert code == EXIT_ERROR and "raw: no such folder and no database" in err
    logs = sorted((tmp_path / "reports" / "logs").iterdir())
    assert len(logs) == 2 and "no such folder" in logs[1].read_text(encoding="utf-8")
    (tmp_path / "raw").mkdir()
    code, text, _ = sla(tmp_path, "--today", "2026-07-01")
    assert code == EXIT_OK and "nothing to do: no database yet" in text


def test_quarterly_exports_change_only_the_months_they_touch(tmp_path):
    """The fingerprint on real data: loading the four ticket exports of the one-year demo one by one adds their quarter's
    months and changes no earlier month, except 2026-02, whose one open clock (elapsed time up to
    as_of) moves when the last export moves as_of from 2026-04-15 to 2026-07-03."""
    from sla_lib.load.ingest import ingest

    contract_path = project(tmp_path) / "contract.yaml"
    contract = load_contract(contract_path)
    paths = [p for p in write_demo(tmp_path / "raw", contract, seed=7, months=12) if p.name.startswith("工单登记")]
    assert len(paths) == 4
    db = tmp_path / "sla.duckdb"
    steps, before = [], {}
    for path in paths:
        ingest([path], db, contract_path, echo=lambda *_: None)
        con = connect(db, read_only=True)
        try:
            fps = period_fingerprints(con, contract.sha256)
            open_clocks = dict(con.execute(
                "SELECT month, count(*) FROM ticket_sla WHERE stop_at IS NULL AND status IN ('pending', 'breached') "
                "GROUP BY 1").fetchall())
        finally:
            con.close()
        steps.append((sorted(set(fps) - set(before)), sorted(m for m in before if before[m] != fps[m])))
        before = fps
    assert steps == [(MONTHS[0:3], []), (MONTHS[3:6], []), (MONTHS[6:9], []), (MONTHS[9:12], ["2026-02"])]
    assert open_clocks.get("2026-02") == 1 and "2026-01" not in open_clocks and "2026-03" not in open_clocks


# -- the job files ----------------------------------------------------------------------------------------------
SCHEDULED = ROOT / "scheduled"


def test_cron_line_runs_the_job_daily_from_the_project_folder():
    lines = [ln for ln in (SCHEDULED / "sla.cron").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.lstrip().startswith("#") and "=" not in ln.split()[0]]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    assert fields[:5] == ["30", "6", "*", "*", "*"] and "cd " in fields[5] and "sla scheduled" in fields[5]
    assert "%" not in fields[5]  # cron would turn it into a newline


def test_systemd_service_and_timer():
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.optionxform = str
    service.read(SCHEDULED / "sla-scheduled.service", encoding="utf-8")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].endswith("/.venv/bin/sla scheduled")
    assert service["Service"]["WorkingDirectory"]
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.optionxform = str
    timer.read(SCHEDULED / "sla-scheduled.timer", encoding="utf-8")
    assert timer["Timer"]["Persistent"] == "true" and timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    for name in ("sla-scheduled.service", "sla-scheduled.timer"):
        text = (SCHEDULED / name).read_text(encoding="utf-8")
        # point the unit at this checkout so that verify can check the paths it names
        text = text.replace("/opt/sla", str(ROOT)).replace("User=sla\n", "").replace("Group=sla\n", "")
        (tmp_path / name).write_text(text, encoding="utf-8")
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "sla-scheduled.service"),
                           str(tmp_path / "sla-scheduled.timer")], capture_output=True, text=True, timeout=60)
    problems = [ln for ln in proc.stderr.splitlines() if "sla-scheduled" in ln]
    assert problems == [], proc.stderr


def test_windows_task_and_utf8_wrapper():
    cmd = (SCHEDULED / "sla-scheduled.cmd").read_bytes()
    assert b"\r\n" in cmd and b"\n" not in cmd.replace(b"\r\n", b"")  # CRLF, as cmd.exe expects
    text = cmd.decode("ascii")
    assert "chcp 65001" in text and "PYTHONUTF8=1" in text and "scheduled" in text and "exit /b" in text
    xml = (SCHEDULED / "sla-scheduled.xml").read_bytes()
    xml.decode("ascii")  # no encoding question for schtasks /XML
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    task = ET.fromstring(xml)
    assert task.find("t:Settings/t:StartWhenAvailable", ns).text == "true"  # Persistent=true of Windows
    assert task.find("t:Settings/t:MultipleInstancesPolicy", ns).text == "IgnoreNew"
    assert task.find("t:Actions/t:Exec/t:Command", ns).text.endswith("sla-scheduled.cmd")
    assert task.find("t:Triggers/t:CalendarTrigger/t:ScheduleByDay/t:DaysInterval", ns).text == "1"


def test_scheduled_readme_documents_the_three_installs():
    readme = (SCHEDULED / "README.md").read_text(encoding="utf-8")
    for needle in ("crontab", "systemctl enable --now sla-scheduled.timer", "schtasks /Create", "reports/logs/",
                   "sla-scheduled.cmd", "Persistent=true"):
        assert needle in readme, needle
    assert "## Scheduled jobs" in (ROOT / "README.md").read_text(encoding="utf-8")


# -- printing the archive ---------------------------------------------------------------------------------------
def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
                 if shutil.which(n)), None)


def _printable() -> bool:
    """A browser, pdftotext and a Chinese font: without the font the PDF holds no Chinese text to
    check (the browser draws boxes)."""
    if _chromium() is None or shutil.which("pdftotext") is None or shutil.which("fc-list") is None:
        return False
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    return bool(fonts.strip())


PRINTABLE = pytest.mark.skipif(not _printable(), reason="needs chromium, poppler-utils (pdftotext) and a Chinese font")


def print_to_pdf(page: Path, pdf: Path, window: str) -> None:
    """Print a page to PDF as a browser does, with the network shut off (--virtual-time-budget lets
    the inline scripts draw the figures first)."""
    profile = pdf.parent / f"profile-{pdf.stem}"
    proc = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
         f"--user-data-dir={profile}", f"--window-size={window}", "--virtual-time-budget=15000",
         "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and pdf.exists(), proc.stderr[-2000:]


def pdf_pages(pdf: Path) -> list[tuple[float, float, str]]:
    """(width pt, height pt, text without white space) of every page, from poppler's pdftotext -bbox."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    out = []
    for w, h, body in re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', xml, re.S):
        words = re.findall(r"<word [^>]*>(.*?)</word>", body)
        out.append((float(w), float(h), "".join(words)))
    return out


def figure_texts(html: str) -> dict[str, list[str]]:
    """Per figure of a report: its title, subplot titles and legend entries (the texts at its edges)."""
    import html as _html

    out = {}
    dec = json.JSONDecoder()
    for m in re.finditer(r'Plotly\.newPlot\(\s*"(sla-fig-[^"]+)",\s*', html):
        data, end = dec.raw_decode(html, m.end())
        layout, _ = dec.raw_decode(html, re.compile(r",\s*").match(html, end).end())
        texts = [(layout.get("title") or {}).get("text", "")]
        texts += [a.get("text", "") for a in layout.get("annotations", []) if a.get("text")]
        texts += [t["name"] for t in data if t.get("name") and t.get("showlegend", True) is not False]
        clean = [re.sub(r"<[^>]+>", "", _html.unescape(t)) for t in texts]
        out[m.group(1)] = [re.sub(r"\s+", "", t) for t in clean if t.strip()]
    return out


@PRINTABLE
@pytest.mark.parametrize("window", ["1920,1080", "800,600"])
def test_a_report_prints_on_a4_with_every_chart_whole(year, tmp_path, window):
    """Printed from a browser window of a desktop's width (figures drawn wider than the page) or a
    narrow one: every page A4 landscape, no empty page, every figure's title, subplot titles and
    legend (its right edge) on paper, and no mode bar."""
    page = year["out"] / "2025-10" / "monthly-report.html"
    html = page.read_text(encoding="utf-8")
    figures = figure_texts(html)
    assert {f"sla-fig-{n}" for n in FIGURES} <= set(figures)
    pdf = tmp_path / "report.pdf"
    print_to_pdf(page, pdf, window)
    pages = pdf_pages(pdf)
    assert 8 <= len(pages) <= 30
    for w, h, text in pages:
        assert (round(w), round(h)) == (842, 595), "A4 landscape"  # 297 x 210 mm
        assert text, "no empty page"
    text = "".join(t for _, _, t in pages)
    for fig, texts in figures.items():
        missing = [t for t in texts if t not in text]
        assert missing == [], f"{fig}: not printed (cut off?): {missing}"
    assert "Produced with Plotly" not in text and "Download plot as a png" not in text
    assert "西安市精神卫生中心运维服务月度报告·2025年10月" in text


@PRINTABLE
def test_the_archive_index_prints_on_a4(year, tmp_path):
    pdf = tmp_path / "index.pdf"
    print_to_pdf(year["out"] / "index.html", pdf, "1280,900")
    pages = pdf_pages(pdf)
    assert all((round(w), round(h)) == (595, 842) for w, h, _ in pages), "A4 portrait"
    text = "".join(t for _, _, t in pages)
    assert all(f"{m}" in text for m in MONTHS) and "输入文件清单" in text
