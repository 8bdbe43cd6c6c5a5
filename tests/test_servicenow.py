"""The real ServiceNow event log (shared/data) through its preset: every event row accounted for,
one ticket per incident, ServiceNow's made_sla shown beside our verdict in the report."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from sla_lib.load.ingest import ingest
from sla_lib.publish.render import render_report

from .conftest import CONTRACT, SHARED
from .conftest import query as q
from .test_render import assert_offline, parse

SAMPLE = SHARED / "data" / "servicenow-incident-events.csv"


@pytest.fixture(scope="module")
def sn(tmp_path_factory):
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} not found: set SLA_SHARED_DIR to the folder holding data/ (CI lays shared/ beside "
                    "the clone)")
    base = tmp_path_factory.mktemp("sn")
    f = base / SAMPLE.name
    shutil.copy(SAMPLE, f)
    res = ingest([f], base / "sla.duckdb", CONTRACT, echo=lambda *_: None)  # preset inferred
    return {"base": base, "db": base / "sla.duckdb", "res": res}


def test_every_event_row_is_accounted_for(sn):
    fr = sn["res"].files[0]
    assert fr.preset == "servicenow-eventlog"
    with open(SAMPLE, encoding="utf-8") as fh:
        lines = sum(1 for _ in fh) - 1
    incidents = len({line.split(",", 1)[0] for line in SAMPLE.read_text(encoding="utf-8").splitlines()[1:]})
    assert (fr.rows_read, fr.rows_loaded, fr.rows_rejected, fr.rows_merged) == (lines, incidents, 0, lines - incidents)
    assert q(sn["db"], "SELECT rows_read, rows_loaded, rows_rejected, rows_merged FROM ingest_log") == [
        (5998, 890, 0, 5108)]
    assert q(sn["db"], "SELECT count(*), count(DISTINCT ticket_id) FROM tickets") == [(890, 890)]


def test_fold_follows_the_documented_choices(sn):
    row = q(sn["db"], "SELECT reported_at, responded_at, resolved_at, status, external_sla, system, source_row "
                      "FROM tickets WHERE ticket_id = 'INC0000047'")[0]
    # opened 04:40; first update after creation (sys_mod_count 1) 05:30; resolved 1 March 09:52
    assert row[:3] == (dt.datetime(2016, 2, 29, 4, 40), dt.datetime(2016, 2, 29, 5, 30),
                       dt.datetime(2016, 3, 1, 9, 52))
    assert row[3:] == ("Closed", "TRUE", None, 6)  # last state; made_sla of the last event; first line
    # response: 50 min > 20 -> breached; resolution: 2016-02-29 (Mon) 05:30 -> s 08:00 -> Tue 08:00 -> breached
    st = dict(q(sn["db"], "SELECT clause, status FROM ticket_sla WHERE ticket_id = 'INC0000047'"))
    assert st == {"response": "breached", "resolution": "breached", "onsite_arrival": "not_applicable",
                  "onsite_fix": "not_applicable"}


def test_report_shows_made_sla_beside_our_verdict(sn):
    html_path = render_report("monthly", "2016-03", sn["db"], CONTRACT, sn["base"] / "reports")
    html = html_path.read_text(encoding="utf-8")
    assert_offline(html)
    table = parse(html).tables["sla-table-external-verdicts"]
    rows = {r[0]: [int(x) for x in r[1:]] for r in table[1:]}
    direct = dict(q(sn["db"], """
        SELECT t.external_sla, count(*) FROM tickets t
        WHERE strftime(t.reported_at, '%Y-%m') = '2016-03' GROUP BY ALL"""))
    assert rows["达标（made_sla = TRUE）"][-1] == direct["TRUE"]
    assert rows["未达标（made_sla = FALSE）"][-1] == direct["FALSE"]
    assert "servicenow-incident-events.csv" in html and "5998" in html
