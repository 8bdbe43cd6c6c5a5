"""Every finding, recomputed after each ingest from the canonical tables, in one transaction.

The ticket clocks come first (they write ``meta.as_of``, which the other findings read through
:func:`sla_lib.findings.as_of.data_as_of`), then the resident engineers, the inspections and
advice reports, and the third-party costs (which read the ticket clocks). Either every findings
table is rebuilt or, on any error, none is: the file never holds a new ``ticket_sla`` beside stale
staffing tables. A new clause adds its module to :func:`_steps`.

The findings are a function of the loads (``ingest_log``), the ``--as-of`` override, the contract
(its file and the holiday files it names) and this code: never the wall clock. So a run whose
inputs are those of the last computation (``meta.findings_key``) keeps the findings as they are
instead of computing the same tables again (docs/decisions.md, "Findings computed once per input").
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from pathlib import Path

from sla_lib.rules.contract import Contract
from sla_lib.store.db import get_meta, scalar, set_meta, transaction
from sla_lib.store.schema import REBUILD_TICKETS


def _steps():
    """The findings steps after the tickets, in this order: the disputes first (they change clocks
    the others read). Imported when findings are computed (pandas; not for a load that keeps them)."""
    from sla_lib.findings import costs, disputes, inspections, integrity, staffing

    return (disputes.recompute, staffing.recompute, inspections.recompute, costs.recompute, integrity.recompute)


@functools.cache
def code_fingerprint() -> str:
    """sha256 of this package's source and data files and the holiday data of chinese_calendar:
    the findings of a newer version (or of an edited checkout) are computed again."""
    import importlib.metadata

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".yaml", ".yml") and "__pycache__" not in p.parts):
        h.update(f"{f.relative_to(root).as_posix()}\0".encode())
        h.update(f.read_bytes())
    try:
        h.update(importlib.metadata.version("chinesecalendar").encode())
    except importlib.metadata.PackageNotFoundError:
        h.update(b"no chinesecalendar")
    return h.hexdigest()


def findings_key(con, contract: Contract) -> str:
    """What the findings depend on: the loads in order, the override, the contract (content and
    path: meta.contract_path) and the code."""
    loads = con.execute("SELECT count(*), coalesce(string_agg(file_id || '@' || load_seq, ',' ORDER BY load_seq), '') "
                        "FROM ingest_log").fetchall()[0]
    parts = [code_fingerprint(), contract.sha256, str(contract.path), get_meta(con, "as_of_override") or "",
             str(loads[0]), loads[1]]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def recompute_findings(con, contract: Contract) -> tuple[str | None, int]:
    """Rebuild every findings table, unless its inputs are those of the last computation; returns
    (as_of text or None, number of current tickets)."""
    with transaction(con):
        key = findings_key(con, contract)
        if get_meta(con, "findings_key") == key:
            return get_meta(con, "as_of") or None, scalar(con, "SELECT count(*) FROM tickets")
        as_of, n_tickets = compute_findings(con, contract)
        set_meta(con, "findings_key", key)
    return as_of, n_tickets


def compute_findings(con, contract: Contract, python_strings: bool = True) -> tuple[str | None, int]:
    """Rebuild every findings table now (inside the caller's transaction); returns (as_of text or
    None, number of current tickets). ``python_strings``: as a load does (sla_lib.store.frames);
    False computes with pandas' default (Arrow) strings."""
    from sla_lib.findings import tickets
    from sla_lib.store.frames import object_strings

    con.execute(REBUILD_TICKETS)  # the current version of each ticket, which every finding reads
    with object_strings() if python_strings else contextlib.nullcontext():
        as_of, n_tickets = tickets.recompute(con, contract)
        for step in _steps():
            step(con, contract)
    return as_of, n_tickets
