"""as_of: the instant up to which the data is known to be complete (sla-rules.md, "Time").

One definition for every finding:

- the ticket clocks use :func:`tickets_as_of`: the ``sla ingest --as-of`` override when set, else the
  newest timestamp in the loaded tickets (an export cannot be older than its newest entry). It is
  stored as ``meta.as_of`` (with ``as_of_source``) and printed by every report;
- the findings of the other clauses (resident engineers, inspections, advice reports) use
  :func:`data_as_of`: the override when set, else the newest of the tickets' as_of and every
  attendance, punch, submission and inspection date, so a staffing or inspection export that is newer
  than the ticket register counts as far as it reaches. Never the wall clock: the same files always
  give the same figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sla_lib.store.db import get_meta


def override(con) -> str | None:
    """The ``sla ingest --as-of`` value in force, or None."""
    return get_meta(con, "as_of_override") or None


def tickets_as_of(con, newest_ticket_timestamp) -> np.datetime64 | None:
    """The override, else the newest ticket timestamp (None when there is none)."""
    fixed = override(con)
    if fixed:
        return np.datetime64(fixed, "s")
    return None if newest_ticket_timestamp is None else np.datetime64(newest_ticket_timestamp, "s")


def data_as_of(con) -> pd.Timestamp | None:
    """The override, else the newest of ``meta.as_of`` (the tickets') and every attendance, punch,
    submission and inspection timestamp; None when the database holds no dated row."""
    fixed = override(con)
    if fixed:
        return pd.Timestamp(fixed)
    ts = [get_meta(con, "as_of") or None]
    ts += list(con.execute("""SELECT (SELECT max(greatest(check_in, check_out, CAST(work_date AS TIMESTAMP)))
                                      FROM attendance),
                                     (SELECT max(punched_at) FROM punches),
                                     (SELECT max(submitted_at) FROM deliverables),
                                     (SELECT max(CAST(greatest(start_date, end_date) AS TIMESTAMP))
                                      FROM inspections)""").fetchall()[0])
    ts = [pd.Timestamp(t) for t in ts if t]
    return max(ts) if ts else None
