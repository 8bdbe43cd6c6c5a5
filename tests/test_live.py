"""Living beside the analyst (issue 15), with real processes, a real DuckDB file and a real small
disk (tmpfs): readers held open never stop the writer and never see half a load; a full or
read-only disk is one clear message and leaves the database as it was; an export still being
copied is skipped and loaded whole by the next run; kill -9 in the middle of a load loses only
that load."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import openpyxl
import pytest

import sla_lib
from sla_lib.load.ingest import ingest
from sla_lib.store import db as dbm

from .conftest import CONTRACT, ROOT
from .test_ingest import HEADER, row, write_csv

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_ingest import generate  # noqa: E402

SETTLED = 1_767_225_600  # 2026-01-01 00:00 UTC: a modification time far in the past (not still arriving)

pytestmark = pytest.mark.long(25)  # real processes and waits: started first (conftest)


def sla(*args, env=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sla_lib", *map(str, args)], capture_output=True, text=True,
                          cwd=kw.pop("cwd", ROOT), env={**os.environ, **(env or {})}, timeout=300, **kw)


def tickets(n: int, prefix: str, day: str = "2026-03-05") -> list[list]:
    return [row(f"{prefix}{i:04d}", f"{day} {8 + i % 9:02d}:{i % 60:02d}") for i in range(n)]


def settled(path: Path) -> Path:
    """An export written by the test is dated long ago, so that the job takes it as copied in whole
    at once (a file modified in the last second is checked for still being written: load/arrival.py)."""
    os.utime(path, (SETTLED, SETTLED))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_in(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [Path(r[0]).name for r in con.execute("SELECT source_file FROM ingest_log ORDER BY load_seq").fetchall()]
    finally:
        con.close()


# -- readers held open -------------------------------------------------------------------------------------------
READER = r"""
import sys, time, json, duckdb, sla_lib
db, out = sys.argv[1], sys.argv[2]
con = sla_lib.open_db(db)                       # the documented way (a notebook kernel holds it all day)
plain = duckdb.connect(db, read_only=True)      # a plain client, as DBeaver or the DuckDB CLI would
seen, plain_seen, errors = [], [], []
print("ready", flush=True)
import os
stop = sys.argv[3]
for _ in range(12000):  # a cap (some minutes of 20 ms pauses) in case the test never says stop
    if os.path.exists(stop):
        break
    try:
        # one statement, one state (two statements may see two states: the next one sees a new load)
        seen.append(list(con.execute("SELECT (SELECT count(*) FROM ingest_log), (SELECT count(*) FROM tickets), "
                                     "(SELECT count(*) FROM ticket_sla)").fetchall()[0]))
        plain_seen.append(plain.execute("SELECT count(*) FROM tickets").fetchall()[0][0])
    except Exception as e:
        errors.append(f"{type(e).__name__}: {e}")
    time.sleep(0.02)
json.dump({"seen": seen, "plain": plain_seen, "errors": errors}, open(out, "w"))
"""


def first_load(tmp_path: Path, rows: list[list]) -> tuple[Path, Path, Path]:
    """A project under ``tmp_path`` whose first export is loaded: (exports folder, database, reports)."""
    raw, db, out = tmp_path / "raw", tmp_path / "sla.duckdb", tmp_path / "reports"
    raw.mkdir()
    write_csv(raw / "工单_1.csv", rows)
    # in this process (the same ingest as `sla ingest`); the loads the tests watch are real processes
    first = ingest([], db, CONTRACT, raw_dir=raw, echo=lambda *_: None)
    assert [f.status for f in first.files] == ["loaded"], [f.message for f in first.files]
    return raw, db, out


class Watcher:
    """A process that holds the database open both ways and queries it in a loop until stopped."""

    def __init__(self, tmp_path: Path, db: Path):
        script = tmp_path / "reader.py"
        script.write_text(READER, encoding="utf-8")
        self.out = tmp_path / f"reader-{uuid.uuid4().hex}.json"
        self.stop_file = tmp_path / f"stop-{uuid.uuid4().hex}"
        self.proc = subprocess.Popen([sys.executable, str(script), str(db), str(self.out), str(self.stop_file)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout.readline().strip() == "ready", self.proc.stderr.read()

    def result(self) -> dict:
        time.sleep(0.3)  # a few queries of the last state
        self.stop_file.touch()
        self.proc.wait(60)
        return json.loads(self.out.read_text(encoding="utf-8"))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()


def test_readers_held_open_never_stop_ingest_or_scheduled_and_the_documented_one_sees_new_data(tmp_path):
    raw, db, out = first_load(tmp_path, tickets(30, "A"))
    watcher = Watcher(tmp_path, db)
    try:
        time.sleep(0.5)
        settled(write_csv(raw / "工单_2.csv", tickets(20, "B")))  # copied long ago: loaded at once
        second = sla("ingest", "--raw-dir", raw, "--db", db, "--contract", CONTRACT, env={"SLA_DB_WAIT_SECONDS": "2"})
        assert second.returncode == 0, second.stderr
        assert "1 file(s) loaded" in second.stdout
        settled(write_csv(raw / "工单_3.csv", tickets(10, "C", day="2026-03-06")))
        job = sla("scheduled", "--today", "2026-04-02", "--raw-dir", raw, "--db", db, "--contract", CONTRACT,
                  "--out", out, "--kinds", "monthly", env={"SLA_DB_WAIT_SECONDS": "2"})
        assert job.returncode == 0, job.stdout + job.stderr
        assert (out / "2026-03" / "monthly-report.html").exists()
        r = watcher.result()
    finally:
        watcher.kill()
    assert r["errors"] == []
    # the documented reader: each query one whole state (4 clocks a ticket), and the newest at the end
    states = [tuple(s) for s in r["seen"]]
    assert set(states) <= {(1, 30, 120), (2, 50, 200), (3, 60, 240)}
    assert states[0] == (1, 30, 120) and states[-1] == (3, 60, 240)
    assert states == sorted(states)  # never back to an older state
    # the plain client: the state it opened, all along, and no failure
    assert set(r["plain"]) == {30}
    assert files_in(db) == ["工单_1.csv", "工单_2.csv", "工单_3.csv"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".sla")] == []


def test_open_db_follows_publications_within_one_process(tmp_path):
    db = tmp_path / "sla.duckdb"
    ingest([write_csv(tmp_path / "a.csv", tickets(3, "A"))], db, CONTRACT, echo=lambda *_: None)
    con = sla_lib.open_db(db)
    rel = con.sql("SELECT count(*) FROM tickets")
    assert con.execute("SELECT count(*) FROM tickets").fetchall() == [(3,)]
    ingest([write_csv(tmp_path / "b.csv", tickets(2, "B"))], db, CONTRACT, echo=lambda *_: None)
    assert con.execute("SELECT count(*) FROM tickets").fetchall() == [(5,)]
    assert rel.fetchall() == [(3,)]  # a relation made before reads the state it was made from
    con.close()
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")


def test_a_pinned_state_answers_a_report_question_once_and_each_caller_gets_its_own_copy(tmp_path):
    """store.db.per_state: within a snapshot (a report being rendered) the same question of the same
    state is asked of DuckDB once; a caller changing its frame changes no one else's; outside a
    snapshot every call reads the database again."""
    from sla_lib.reports import monthly
    from sla_lib.rules.contract import load_contract

    db = tmp_path / "sla.duckdb"
    ingest([write_csv(tmp_path / "a.csv", tickets(3, "A"))], db, CONTRACT, echo=lambda *_: None)
    contract = load_contract(CONTRACT)
    calls = []
    counted = dbm.per_state(lambda con, c, m: calls.append(m) or monthly.clause_summary.__wrapped__(con, c, m))
    with dbm.snapshot(db):
        con = sla_lib.open_db(db)
        first = counted(con, contract, "2026-03")
        first.loc[0, "达标"] = 999
        again = counted(con, contract, "2026-03")
        other = sla_lib.open_db(db)  # a second reader of the same pinned state (the print edition's)
        third = counted(other, contract, "2026-03")
        assert calls == ["2026-03"]
        assert again.loc[0, "达标"] == third.loc[0, "达标"] != 999
        assert counted(con, contract, "2026-04") is not None and calls == ["2026-03", "2026-04"]
        con.close()
        other.close()
        assert dbm.state_memo(other) is None  # a closed reader keeps nothing
    assert dbm._MEMOS == {}  # dropped with the snapshot
    con = sla_lib.open_db(db)  # not pinned: asked every time
    counted(con, contract, "2026-03")
    counted(con, contract, "2026-03")
    con.close()
    assert calls == ["2026-03", "2026-04", "2026-03", "2026-03"]


# -- a real small disk -------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def small_disk(tmp_path: Path, mib: int):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if not shutil.which("mount") or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(mnt)],
                                                   capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not allowed here (needs root or CAP_SYS_ADMIN)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(mnt: Path, leave_bytes: int) -> Path:
    """Fill the disk until only about ``leave_bytes`` are free."""
    filler = mnt / "filler.bin"
    free = shutil.disk_usage(mnt).free
    with open(filler, "wb") as f:
        f.truncate(0)
        chunk = b"\0" * 2**20
        todo = max(0, free - leave_bytes)
        while todo > 0:
            n = min(len(chunk), todo)
            try:
                f.write(chunk[:n])
                f.flush()
            except OSError:
                break
            todo -= n
    return filler


def assert_clear_disk_message(p: subprocess.CompletedProcess, mnt: Path, full: bool = True):
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr and p.stderr.count("\n") <= 2, p.stderr
    if full:
        assert "the disk is full" in p.stderr and "MiB needed" in p.stderr and "MiB free" in p.stderr, p.stderr
    assert str(mnt) in p.stderr and "as it was before this run" in p.stderr


def test_a_full_disk_at_the_first_and_at_a_later_load_is_one_clear_message_and_changes_nothing(tmp_path):
    big = tmp_path / "工单_big.csv"
    generate(big, 40_000)  # ~7 MiB of CSV: its database does not fit in what is left
    small = write_csv(tmp_path / "工单_small.csv", tickets(5, "S"))
    with small_disk(tmp_path, 48) as mnt:
        db = mnt / "processed" / "sla.duckdb"
        # 1. the first load meets a full disk: a message, no database file left to trip over
        filler = fill(mnt, 3 * 2**20)
        p = sla("ingest", big, "--db", db, "--contract", CONTRACT)
        assert_clear_disk_message(p, mnt)
        assert not db.exists() and [f.name for f in db.parent.iterdir()] in ([], ["sla.duckdb.lock"])
        filler.unlink()  # space again: the next run works (in this process: the same ingest)
        assert not ingest([small], db, CONTRACT, echo=lambda *_: None).failed
        before = sha256(db)
        # 2. a later load meets a full disk: the database is exactly as before, the next run works
        filler = fill(mnt, 3 * 2**20)
        p = sla("ingest", big, "--db", db, "--contract", CONTRACT)
        assert_clear_disk_message(p, mnt)
        assert sha256(db) == before and files_in(db) == ["工单_small.csv"]
        assert [f.name for f in db.parent.iterdir() if f.name.startswith(".")] == []
        filler.unlink()
        assert not ingest([big], db, CONTRACT, echo=lambda *_: None).failed
        assert files_in(db) == ["工单_small.csv", "工单_big.csv"]


def test_a_read_only_disk_is_a_clear_message(tmp_path):
    small = write_csv(tmp_path / "工单_small.csv", tickets(5, "S"))
    with small_disk(tmp_path, 16) as mnt:
        db = mnt / "sla.duckdb"
        assert not ingest([small], db, CONTRACT, echo=lambda *_: None).failed
        before = sha256(db)
        assert subprocess.run(["mount", "-o", "remount,ro", str(mnt)], capture_output=True).returncode == 0
        p = sla("ingest", write_csv(tmp_path / "工单_more.csv", tickets(3, "M")), "--db", db, "--contract", CONTRACT)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        assert "read-only disk" in p.stderr and str(mnt) in p.stderr
        assert sha256(db) == before
        # reading still works
        assert sla("status", "--db", db, "--contract", CONTRACT).returncode == 0


def test_an_empty_database_left_by_an_older_version_is_set_aside(tmp_path):
    db = tmp_path / "processed" / "sla.duckdb"
    db.parent.mkdir()
    db.write_bytes(b"")  # what a full disk left behind before
    p = sla("status", "--db", db, "--contract", CONTRACT)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "not a DuckDB database (0 bytes" in p.stderr
    p = sla("ingest", write_csv(tmp_path / "工单.csv", tickets(4, "T")), "--db", db, "--contract", CONTRACT)
    assert p.returncode == 0, p.stderr
    assert "set aside as sla.duckdb.broken-" in p.stdout + p.stderr
    assert files_in(db) == ["工单.csv"] and len(list(db.parent.glob("sla.duckdb.broken-*"))) == 1


# -- exports still being copied ---------------------------------------------------------------------------------------
def test_a_half_copied_export_is_skipped_then_loaded_whole(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "sla.duckdb"
    raw.mkdir()
    whole = write_csv(tmp_path / "whole.csv", tickets(40, "H")).read_bytes()
    target = raw / "工单_copy.csv"
    cut = whole.index(b"\r\nH0020") + 20
    target.write_bytes(whole[:cut])  # cut in the middle of record H0020
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    for r in tickets(12, "X"):
        wb.active.append(r)
    wb.save(tmp_path / "whole.xlsx")
    book = (tmp_path / "whole.xlsx").read_bytes()
    (raw / "工单_copy.xlsx").write_bytes(book[: len(book) * 2 // 3])
    for f in raw.iterdir():
        settled(f)
    p = sla("ingest", "--raw-dir", raw, "--db", db, "--contract", CONTRACT)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("正在写入，下次再载入") >= 2 and "2 file(s) still being written" in p.stdout
    assert "0 file(s) loaded" in p.stdout
    target.write_bytes(whole)  # the copy finished
    (raw / "工单_copy.xlsx").write_bytes(book)
    for f in raw.iterdir():
        settled(f)
    p = sla("ingest", "--raw-dir", raw, "--db", db, "--contract", CONTRACT)
    assert p.returncode == 0 and "2 file(s) loaded" in p.stdout, p.stdout + p.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT sum(rows_read), sum(rows_loaded) FROM ingest_log").fetchall() == [(52, 52)]
    finally:
        con.close()


def test_a_file_whose_size_still_changes_is_skipped(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    data = write_csv(tmp_path / "w.csv", tickets(2000, "G")).read_bytes()
    target = raw / "工单_growing.csv"
    writer = subprocess.Popen([sys.executable, "-c",
                               "import sys, time\n"
                               "data = open(sys.argv[1], 'rb').read()\n"
                               "with open(sys.argv[2], 'wb') as f:\n"
                               "    for i in range(0, len(data), 4096):\n"
                               "        f.write(data[i:i + 4096]); f.flush(); time.sleep(0.02)\n",
                               str(tmp_path / "w.csv"), str(target)])
    try:
        # the writer has begun (its Python may take a while to start on a busy machine), and writes
        # for over a second more (59 chunks of 4 KB, 20 ms apart)
        deadline = time.monotonic() + 60
        while not (target.exists() and target.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.02)
        res = ingest([], tmp_path / "sla.duckdb", CONTRACT, raw_dir=raw, echo=lambda *_: None)
        (fr,) = res.files
        assert fr.status == "incomplete" and "正在写入" in fr.message
    finally:
        writer.wait(60)
    res = ingest([], tmp_path / "sla.duckdb", CONTRACT, raw_dir=raw, echo=lambda *_: None)
    assert [(f.status, f.rows_loaded) for f in res.files] == [("loaded", 2000)]
    assert len(data) == target.stat().st_size


# -- kill -9 in the middle of a load, readers watching -------------------------------------------------------------
def test_kill_9_during_one_of_three_scheduled_loads_while_readers_watch(tmp_path):
    raw, db, out = first_load(tmp_path, tickets(25, "K"))
    watcher = Watcher(tmp_path, db)
    job = [sys.executable, "-m", "sla_lib", "scheduled", "--today", "2026-04-02", "--raw-dir", str(raw),
           "--db", str(db), "--contract", str(CONTRACT), "--out", str(out), "--kinds", "monthly"]
    try:
        # export 2 arrives and loads
        settled(write_csv(raw / "工单_2.csv", tickets(15, "L")))
        assert subprocess.run(job, capture_output=True, text=True, cwd=ROOT, timeout=300).returncode == 0
        # export 3 (large) arrives; its run is killed in the middle of the load
        generate(raw / "工单_3.csv", 150_000)
        settled(raw / "工单_3.csv")
        p = subprocess.Popen(job, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        for _ in range(1200):  # the load has begun when its private copy appears
            if list(tmp_path.glob(".sla.duckdb.*.new")):
                break
            time.sleep(0.05)
        time.sleep(0.8)  # well inside the load
        os.kill(p.pid, signal.SIGKILL)
        p.wait(30)
        assert p.returncode == -signal.SIGKILL
        assert files_in(db) == ["工单_1.csv", "工单_2.csv"]  # exactly the exports that finished
        # export 3 is taken away again; export 4 arrives; the next run loads it (and cleans up)
        (raw / "工单_3.csv").unlink()
        settled(write_csv(raw / "工单_4.csv", tickets(5, "M", day="2026-03-07")))
        done = subprocess.run(job, capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        r = watcher.result()
    finally:
        watcher.kill()
    assert r["errors"] == []
    states = [tuple(s) for s in r["seen"]]
    assert set(states) <= {(1, 25, 100), (2, 40, 160), (3, 45, 180)}, set(states)
    assert states[-1] == (3, 45, 180) and states == sorted(states)
    assert set(r["plain"]) == {25}
    assert files_in(db) == ["工单_1.csv", "工单_2.csv", "工单_4.csv"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".sla.duckdb.")] == []
    assert dbm.current_file(db) == db


def test_where_an_open_file_cannot_be_replaced_new_states_wait_under_names_of_their_own(tmp_path):
    """The Windows case, simulated on this Linux machine: the rename over the published file fails
    as Windows fails it while a reader holds the file (PermissionError). Each new state then waits
    under a new name (never replacing a file a reader may hold), every reader reads the newest, and
    the first rename that succeeds puts it in place and removes the waiting ones."""
    db = tmp_path / "sla.duckdb"
    ingest([write_csv(tmp_path / "a.csv", tickets(3, "A"))], db, CONTRACT, echo=lambda *_: None)
    reader = sla_lib.open_db(db)
    assert reader.execute("SELECT count(*) FROM tickets").fetchall() == [(3,)]

    def held_open(src, dst):
        if Path(dst) == db:
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        os.replace(src, dst)

    said = []
    for n, rows in ((1, 5), (2, 7)):
        new = tmp_path / f".sla.duckdb.test{n}.new"
        shutil.copyfile(dbm.current_file(db), new)
        con = duckdb.connect(str(new))
        con.execute("INSERT INTO meta VALUES (?, ?)", [f"state{n}", str(rows)])
        con.close()
        got = dbm._publish(new, db, said.append, replace=held_open, retries=1)
        assert got == tmp_path / f"sla.duckdb.pending-{n}" and dbm.current_file(db) == got
        assert reader.execute(f"SELECT value FROM meta WHERE key = 'state{n}'").fetchall() == [(str(rows),)]
    assert "held open by a reader" in said[0] and sorted(p.name for p in dbm.pending_paths(db)) == [
        "sla.duckdb.pending-1", "sla.duckdb.pending-2"]
    # the reader lets go; the next run's rename succeeds: the newest state is in place, nothing waits
    new = tmp_path / ".sla.duckdb.test3.new"
    shutil.copyfile(dbm.current_file(db), new)
    assert dbm._publish(new, db, said.append, retries=1) == db
    assert dbm.pending_paths(db) == [] and dbm.current_file(db) == db
    assert reader.execute("SELECT value FROM meta WHERE key IN ('state1', 'state2') ORDER BY 1").fetchall() == [
        ("5",), ("7",)]
    reader.close()
