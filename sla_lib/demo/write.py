"""``sla demo``: every demo export of the demo span into one folder."""

from __future__ import annotations

from pathlib import Path

from sla_lib.demo.inspections import write_cost_demo, write_inspection_demo
from sla_lib.demo.staff import write_staff_demo
from sla_lib.demo.tickets import write_ticket_demo
from sla_lib.rules.contract import Contract
from sla_lib.store.frames import object_strings


@object_strings()  # the generators' frames iterate text cell by cell: Python strings are cheaper
def write_demo(raw_dir: Path, contract: Contract, seed: int = 7, months: int | None = None) -> list[Path]:
    """Write ``months`` months of demo exports (default :data:`sla_lib.demo.tickets.DEMO_MONTHS`:
    contract year 1 and part of year 2) into raw_dir: ticket registers, resident staff (attendance,
    leave, work records), inspections, advice reports, third-party costs; return the paths written.

    Only the demo's own file names are written (an existing file of the same name is replaced;
    no other file is touched). Same seed and months, same bytes; ``months=12`` gives exactly the
    one-year demo of earlier versions."""
    raw_dir = Path(raw_dir)
    paths = write_ticket_demo(raw_dir, contract, seed, months)
    paths += write_staff_demo(raw_dir, contract, seed, months)
    paths += write_inspection_demo(raw_dir, contract, seed, months)
    paths += write_cost_demo(raw_dir, contract, seed, months)
    return paths
