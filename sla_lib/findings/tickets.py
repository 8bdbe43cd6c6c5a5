"""The ticket clocks (clauses response, resolution, onsite_arrival, onsite_fix) as findings:
``ticket_sla`` and ``calendar_years`` rebuilt from the current tickets, and ``meta.as_of``."""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc

from sla_lib.findings.as_of import override, tickets_as_of
from sla_lib.rules.calendar import calendar_for
from sla_lib.rules.clocks import compute_clocks
from sla_lib.rules.contract import Contract
from sla_lib.store.db import set_meta
from sla_lib.store.schema import TIMESTAMP_COLUMNS

# the columns of ``tickets`` the clocks read
CLOCK_INPUTS = ["ticket_id", "onsite", "category", "exclusion", *TIMESTAMP_COLUMNS]


def recompute(con, contract: Contract) -> tuple[str | None, int]:
    """Rebuild ticket_sla, calendar_years and the as_of in meta from the current tickets (inside
    the caller's transaction); returns (as_of text or None, number of current tickets).

    The ``tickets`` table (the current rows, just rebuilt) is read once: the clock
    inputs hold every timestamp column, so the newest and oldest timestamps and the ticket count
    come from that one result instead of three more scans of it."""
    tbl = con.sql(f"SELECT {', '.join(CLOCK_INPUTS)} FROM tickets").to_arrow_table()
    n_tickets = tbl.num_rows
    # min(least(...)) / max(greatest(...)) over the table: NULLs are skipped, as pc.min_max does
    extremes = [pc.min_max(tbl[c]) for c in TIMESTAMP_COLUMNS]
    lows = [m["min"].as_py() for m in extremes if m["min"].is_valid]
    highs = [m["max"].as_py() for m in extremes if m["max"].is_valid]
    span = (min(lows, default=None), max(highs, default=None))
    as_of = tickets_as_of(con, span[1])
    con.execute("DELETE FROM ticket_sla")
    con.execute("DELETE FROM calendar_years")
    if as_of is None:
        set_meta(con, "as_of", "")
        return None, n_tickets
    cal = calendar_for(contract, *[v for v in span if v is not None], as_of)
    clocks = compute_clocks(tbl, contract, as_of, cal)
    con.register("sla_arrow", clocks.to_arrow())
    con.execute("INSERT INTO ticket_sla SELECT * FROM sla_arrow")
    con.unregister("sla_arrow")
    years = {int(y) for y in con.execute(
        "SELECT DISTINCT year(x) FROM (SELECT unnest([start_at, deadline_at]) AS x FROM ticket_sla "
        "WHERE clause = 'resolution') WHERE x IS NOT NULL").fetchall() for y in y}
    for y in cal.years:
        if y.year in years:
            con.execute("INSERT INTO calendar_years VALUES (?, ?, ?)", [y.year, y.source, y.provisional])
    as_of_text = str(as_of).replace("T", " ")
    set_meta(con, {"as_of": as_of_text, "as_of_source": "override" if override(con) else "data",
                   "contract_sha256": contract.sha256, "contract_path": str(contract.path),
                   "computed_at": dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")})
    return as_of_text, n_tickets



