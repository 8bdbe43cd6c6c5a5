"""Crash safety and concurrency with real processes: kill -9 during a load leaves the database as
it was before that file; two sla processes on one database never corrupt it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from sla_lib.load.ingest import ingest

from .conftest import CONTRACT, ROOT
from .test_ingest import row, write_csv

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_ingest import generate  # noqa: E402

pytestmark = pytest.mark.long(21)  # seconds with `make test` here: started early (conftest)


def sla(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "sla_lib", *map(str, args), "--contract", str(CONTRACT)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, **kw)


def state(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute("SELECT source_file, rows_loaded FROM ingest_log ORDER BY load_seq").fetchall(),
                con.execute("SELECT count(*) FROM ticket_rows").fetchall()[0][0])
    finally:
        con.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    f = d / "工单_big.csv"
    generate(f, 150_000)
    return f


@pytest.mark.parametrize("delay", [0.8, 1.6, 2.4])
def test_kill_9_during_a_load_leaves_the_state_before_that_file(tmp_path, big, delay):
    db = tmp_path / "sla.duckdb"
    small = write_csv(tmp_path / "工单_small.csv", [row("S1", "2026-03-05 08:07"), row("S2", "2026-03-05 09:00")])
    # the loads before and after the killed one run in this process (the same ingest as `sla ingest`,
    # without a second Python start); the killed one is a real process
    assert [f.status for f in ingest([small], db, CONTRACT, echo=lambda *_: None).files] == ["loaded"]
    before = state(db)
    p = sla("ingest", big, "--db", db)
    time.sleep(delay)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(30)
    after = state(db)  # opens: not corrupt
    loaded_whole = after[0][-1][1] == 150_000 and after[1] == before[1] + 150_000
    assert after == before or loaded_whole
    again = ingest([big], db, CONTRACT, echo=lambda *_: None)
    # loaded now, or skipped when the killed run had published it whole just before the kill
    assert [f.status for f in again.files] == ["skipped" if loaded_whole else "loaded"], [
        f.message for f in again.files]
    files, rows = state(db)
    assert [f[1] for f in files] == [2, 150_000] and rows == 150_002


def test_two_processes_on_one_database(tmp_path):
    db = tmp_path / "sla.duckdb"
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(3):
        write_csv(raw / f"工单_{i}.csv", [row(f"T{i}-{j}", "2026-03-05 08:07") for j in range(50)])
    procs = [sla("ingest", "--raw-dir", raw, "--db", db) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    files, rows = state(db)
    assert sorted(f[0].rsplit("/", 1)[-1] for f in files) == ["工单_0.csv", "工单_1.csv", "工单_2.csv"]
    assert rows == 150
    # the one that waited found every file already loaded
    assert any("3 already loaded" in o[0] for o in outs)


def test_a_busy_database_gives_a_clear_message(tmp_path):
    db = tmp_path / "sla.duckdb"
    write_csv(tmp_path / "a.csv", [row("T1", "2026-03-05 08:07")])
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ok', flush=True); time.sleep(20)", str(db)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ok"
    try:
        env = {**os.environ, "SLA_DB_WAIT_SECONDS": "1"}
        p = sla("ingest", tmp_path / "a.csv", "--db", db, env=env)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 2
        assert "held for writing by another process" in err and "Traceback" not in err
        assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == []  # no copy left behind
    finally:
        holder.kill()
