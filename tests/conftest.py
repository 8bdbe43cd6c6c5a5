from __future__ import annotations

import copy
import os
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
    """All rows of a read-only query on the DuckDB file ``db`` (closed again at once)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def contract():
    return load_contract(CONTRACT)


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
