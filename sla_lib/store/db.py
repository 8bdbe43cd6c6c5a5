"""The one DuckDB file every layer lives in. Table names are a public interface (docs/tables.md)."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from sla_lib import config
from sla_lib.errors import DatabaseBusy
from sla_lib.store.schema import FINDINGS_TABLES, SCHEMA, VIEWS


def connect(path: str | Path = config.DB_PATH, read_only: bool = False, wait_seconds: float | None = None):
    """Open the database, creating it and its tables when new.

    DuckDB lets one process write a file at a time. A second ``sla`` process waits up to
    ``wait_seconds`` for the first, then stops with a clear message.
    """
    path = Path(path)
    if wait_seconds is None:  # SLA_DB_WAIT_SECONDS overrides the default 30 s (tests, impatient jobs)
        wait_seconds = float(os.environ.get("SLA_DB_WAIT_SECONDS", "30"))
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise FileNotFoundError(f"{path}: no database yet; run `sla ingest` first")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusy(
                    f"{path}: the database is in use by another sla process; waited {wait_seconds:.0f} s. "
                    "Try again when it has finished."
                ) from None
            time.sleep(0.25)
    try:  # no progress bar on the terminal; inside a Jupyter kernel DuckDB refuses the setting
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:
        pass
    if not read_only:
        con.execute(SCHEMA)
        con.execute("ALTER TABLE ingest_log ADD COLUMN IF NOT EXISTS rows_merged INTEGER DEFAULT 0")
        con.execute(FINDINGS_TABLES)
        con.execute(VIEWS)
    return con


def open_db(path: str | Path | None = None, wait_seconds: float | None = None):
    """A read-only connection to the project database (default ``data/processed/sla.duckdb``), for
    notebooks, reports and analysts; waits while another sla process writes (see :func:`connect`).
    Also ``sla_lib.open_db``."""
    return connect(config.DB_PATH if path is None else path, read_only=True, wait_seconds=wait_seconds)


def scalar(con, sql: str, params: list | None = None):
    """First column of the first row, or None. Reads the whole (small) result, which DuckDB 2
    requires before the connection can run anything else."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def get_meta(con, key: str, default: str | None = None) -> str | None:
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else default


def set_meta(con, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


@contextmanager
def transaction(con):
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


def project_relative(p: Path) -> str:
    """The path relative to the working folder when inside it, else absolute."""
    try:
        rel = os.path.relpath(p.resolve(), Path.cwd().resolve())
    except ValueError:  # another drive on Windows
        return str(p.resolve())
    return str(p.resolve()) if rel.startswith("..") else rel.replace(os.sep, "/")
