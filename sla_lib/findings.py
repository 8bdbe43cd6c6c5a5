"""Findings beyond the ticket clocks (resident staffing, inspections, costs, ...), recomputed after
every ingest from the canonical tables, exactly like ``ticket_sla``.

Each findings module ``sla_lib/<name>.py`` listed in MODULES provides
``recompute(con, contract) -> None`` that rebuilds its tables inside the caller's connection. A
module not written yet is skipped; an error inside one is not hidden.
"""

from __future__ import annotations

import importlib
import importlib.util

MODULES = ("staffing", "inspections", "costs")


def recompute_all(con, contract) -> list[str]:
    """Run every findings module that exists; returns the names that ran."""
    ran = []
    for name in MODULES:
        if importlib.util.find_spec(f"sla_lib.{name}") is None:
            continue
        importlib.import_module(f"sla_lib.{name}").recompute(con, contract)
        ran.append(name)
    return ran
