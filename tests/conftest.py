from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import pytest
import yaml

from sla_lib.rules.contract import load_contract

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contract.yaml"
SHARED = Path(os.environ.get("SLA_SHARED_DIR", ROOT.parent / "shared"))  # CI lays shared/ beside the clone


def pytest_collection_modifyitems(session, config, items):
    """Files marked ``long(seconds)`` (a module-level ``pytestmark``: about how long the file takes
    with `make test` on a 2-core machine) are collected first, longest first, then the others in
    their order. With ``pytest -n auto --dist loadfile --no-loadscope-reorder`` (make test) each
    worker takes the longest file left when it is free, so no long file starts last and runs alone
    at the end. The figures only order the files; nothing asserts on them."""
    def weight(item):
        mark = item.get_closest_marker("long")
        return -(mark.args[0] if mark and mark.args else 0)

    items.sort(key=weight)  # stable: the order within a file and among equals is kept


def query(db, sql, params=None):
    """All rows of a read-only query on the DuckDB file ``db`` (closed again at once), through
    sla_lib's own connection (the process's one DuckDB instance: no instance started per query)."""
    from sla_lib.store.db import connect

    con = connect(db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def contract():
    return load_contract(CONTRACT)


@pytest.fixture(scope="session")
def shared_demo(tmp_path_factory):
    """The default demo (seed 7, 16 months) as `sla demo` writes it and `sla ingest --raw-dir` loads
    it, made once per test run and shared by every worker (under a lock in the run's temporary
    folder, which the xdist workers have in common). Read only: ``demo_copy`` gives a test its own.

    {"raw": the exports, "db": the loaded database, "before": every export's bytes before the load}"""
    from sla_lib.cli import main
    from sla_lib.store.locks import FileLock

    base = tmp_path_factory.getbasetemp()
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    home = run / "shared-demo"
    lock = FileLock(run / "shared-demo.lock")
    assert lock.wait(600), f"{lock.path}: another worker held the demo lock for 10 minutes"
    try:
        if not (home / "done").exists():
            shutil.rmtree(home, ignore_errors=True)
            raw, db = home / "raw", home / "sla.duckdb"
            assert main(["demo", "--raw-dir", str(raw), "--contract", str(CONTRACT)]) == 0
            shutil.copytree(raw, home / "before")
            assert main(["ingest", "--raw-dir", str(raw), "--db", str(db), "--contract", str(CONTRACT)]) == 0
            (home / "done").touch()
    finally:
        lock.release()
    return {"raw": home / "raw", "db": home / "sla.duckdb",
            "before": {p.name: p.read_bytes() for p in (home / "before").iterdir()}}


def demo_copy(shared: dict, base: Path) -> dict:
    """A private copy of the shared demo under ``base``: {"raw", "db", "before"}."""
    base.mkdir(parents=True, exist_ok=True)
    raw, db = base / "raw", base / "sla.duckdb"
    shutil.copytree(shared["raw"], raw)
    shutil.copy2(shared["db"], db)
    return {"raw": raw, "db": db, "before": shared["before"]}


@pytest.fixture
def make_contract(tmp_path):
    """Write a modified copy of contract.yaml: make_contract(lambda raw: ...) -> Contract."""

    def make(edit):
        raw = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
        raw = copy.deepcopy(raw)
        edit(raw)
        p = tmp_path / "contract.yaml"
        p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        return load_contract(p)

    return make
