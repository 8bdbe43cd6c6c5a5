"""store.db.connect: every file is attached to the process's one DuckDB instance. What a connection
sees is still its own file: its tables, its temporary objects, its lock (released on close)."""

import subprocess
import sys

import duckdb
import pytest

from sla_lib.store import db as sdb

from .test_ingest import load, row, write_csv


def test_two_files_open_at_once_each_see_only_their_own_tables(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    load(full, write_csv(full / "工单.csv", [row("GD1", "2026-03-05 08:07"), row("GD2", "2026-03-05 09:00")]))
    old = tmp_path / "old.duckdb"  # a file of an older layout: only ticket_rows, no findings tables
    plain = duckdb.connect(str(old))
    plain.execute("CREATE TABLE ticket_rows (ticket_id VARCHAR); INSERT INTO ticket_rows VALUES ('X1')")
    plain.close()
    a = sdb.connect(full / "sla.duckdb", read_only=True)
    b = sdb.connect(old, read_only=True)
    try:
        assert a.execute("SELECT count(*) FROM ticket_rows").fetchall() == [(2,)]
        assert b.execute("SELECT count(*) FROM ticket_rows").fetchall() == [(1,)]
        assert sdb.table_exists(a, "staffing_days") and sdb.table_exists(a, "tickets")  # a table, a view
        assert not sdb.table_exists(b, "staffing_days") and not sdb.table_exists(b, "tickets")
        with pytest.raises(duckdb.CatalogException):
            b.execute("SELECT count(*) FROM ticket_sla")
    finally:
        a.close()
        b.close()
    reader = sdb.open_db(old)
    try:
        assert "staffing_days" not in reader.table_names() and "ticket_rows" in reader.table_names()
    finally:
        reader.close()


def test_temporary_objects_are_the_connections_own_and_the_lock_goes_with_the_last_close(tmp_path):
    f = tmp_path / "x.duckdb"
    a = sdb.connect(f)
    b = sdb.connect(f)  # the same file again in this process: shared, as DuckDB shares an instance
    a.execute("CREATE TEMP TABLE sla_mine AS SELECT 42 AS v")
    assert a.execute("SELECT v FROM sla_mine").fetchall() == [(42,)]
    with pytest.raises(duckdb.CatalogException):
        b.execute("SELECT v FROM sla_mine")
    a.execute("INSERT INTO meta VALUES ('k', 'from a')")
    assert sdb.get_meta(b, "k") == "from a"

    def writable_elsewhere() -> bool:
        p = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(f)],
                           capture_output=True, text=True, timeout=60)
        return p.returncode == 0
    a.close()
    assert not writable_elsewhere()  # b still holds the file (and its lock)
    b.close()
    assert writable_elsewhere()  # the last close detached it: another process may write it
    again = sdb.connect(f, read_only=True)
    try:
        assert sdb.get_meta(again, "k") == "from a"  # written, checkpointed and kept
        # one file, one mode per process (as DuckDB refuses a second configuration of an instance)
        with pytest.raises(duckdb.ConnectionException, match="already open in this process read-only"):
            sdb.connect(f)
    finally:
        again.close()


def test_a_connection_asking_for_fewer_threads_sets_them_while_it_is_open(tmp_path):
    f = tmp_path / "x.duckdb"
    wide = sdb.connect(f)
    default = wide.execute("SELECT current_setting('threads')").fetchall()[0][0]
    narrow = sdb.connect(f, threads=1)
    assert wide.execute("SELECT current_setting('threads')").fetchall() == [(1,)]
    narrow.close()
    assert wide.execute("SELECT current_setting('threads')").fetchall() == [(default,)]
    wide.close()


def test_a_file_whose_tickets_are_a_view_gets_the_table_with_the_same_rows(tmp_path):
    """Files of earlier versions hold ``tickets`` as a view over ticket_rows; the first writer of
    this version makes it the table, holding exactly the rows the view showed."""
    from sla_lib.store.schema import CURRENT_TICKETS

    base = tmp_path / "p"
    base.mkdir()
    load(base, write_csv(base / "工单_1.csv", [row("GD1", "2026-03-05 08:07"), row("GD2", "2026-03-05 09:00")]))
    load(base, write_csv(base / "工单_2.csv", [row("GD1", "2026-03-05 08:07", responded="2026-03-05 08:15",
                                                                resolved="2026-03-05 10:00")]))
    db = base / "sla.duckdb"
    plain = duckdb.connect(str(db))  # made as an earlier version left it
    plain.execute(f"DROP VIEW ticket_conflicts; DROP TABLE tickets; CREATE VIEW tickets AS {CURRENT_TICKETS}; "
                  "DELETE FROM meta WHERE key = 'schema_version'")
    shown = plain.execute("SELECT ticket_id, responded_at, source_file FROM tickets ORDER BY 1").fetchall()
    plain.close()
    assert [(t, r is not None, f.rsplit("/", 1)[-1]) for t, r, f in shown] == [
        ("GD1", True, "工单_2.csv"), ("GD2", False, "工单_1.csv")]
    con = sdb.connect(db)
    try:
        assert con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'tickets' "
                           "AND table_catalog = current_database()").fetchall() == [("BASE TABLE",)]
        assert con.execute("SELECT ticket_id, responded_at, source_file FROM tickets ORDER BY 1").fetchall() == shown
        assert con.execute("SELECT ticket_id, changed_columns FROM ticket_conflicts").fetchall() == [
            ("GD1", ["responded_at", "resolved_at"])]
    finally:
        con.close()
