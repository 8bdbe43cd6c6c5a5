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
    """Files marked ``long`` (a module-level ``pytestmark``) are collected first, so that with
    ``pytest -n`` (make test) they start at once on a worker while the others share the rest,
    instead of starting last and running alone at the end."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("long") else 1)


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
