"""Every finding, recomputed after each ingest from the canonical tables, in one transaction.

The ticket clocks come first (they write ``meta.as_of``, which the other findings read through
:func:`sla_lib.findings.as_of.data_as_of`), then the resident engineers, the inspections and
advice reports, and the third-party costs (which read the ticket clocks). Either every findings
table is rebuilt or, on any error, none is: the file never holds a new ``ticket_sla`` beside stale
staffing tables. A new clause adds its module to :data:`STEPS`.
"""

from __future__ import annotations

from sla_lib.findings import costs, disputes, inspections, integrity, staffing, tickets
from sla_lib.rules.contract import Contract
from sla_lib.store.db import transaction
from sla_lib.store.frames import object_strings

# after the tickets, in this order: the disputes first (they change clocks the others read)
STEPS = (disputes.recompute, staffing.recompute, inspections.recompute, costs.recompute, integrity.recompute)


@object_strings()  # small frames: Python strings are cheaper (sla_lib.store.frames)
def recompute_findings(con, contract: Contract) -> tuple[str | None, int]:
    """Rebuild every findings table; returns (as_of text or None, number of current tickets)."""
    with transaction(con):
        as_of, n_tickets = tickets.recompute(con, contract)
        for step in STEPS:
            step(con, contract)
    return as_of, n_tickets
