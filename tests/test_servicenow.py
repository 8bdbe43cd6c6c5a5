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
    return _load_copy(tmp_path_factory.mktemp("sn"), SAMPLE)


def _load_copy(base, sample):
    """A copy of ``sample`` loaded into a new database under ``base``, the preset inferred."""
    f = base / sample.name
    shutil.copy(sample, f)
    res = ingest([f], base / "sla.duckdb", CONTRACT, echo=lambda *_: None)
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


# -- the original UCI spelling (issue 12): 29/2/2016 01:16, true/false -----------------------------------------------
ORIGINAL = __import__("pathlib").Path(__file__).parent / "data" / "servicenow" / "incident_event_log_head.csv"


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    return _load_copy(tmp_path_factory.mktemp("sn-original"), ORIGINAL)


def test_the_original_spelling_loads_every_row(original):
    (fr,) = original["res"].files
    assert fr.status == "loaded" and fr.preset == "servicenow-eventlog"
    # 198 event rows of 32 incidents: 32 tickets, the other 166 events merged into them, none rejected
    assert (fr.rows_read, fr.rows_loaded, fr.rows_rejected, fr.rows_merged) == (198, 32, 0, 166)
    row = q(original["db"], "SELECT reported_at, responded_at, resolved_at, status, upper(external_sla) "
                            "FROM tickets WHERE ticket_id = 'INC0000047'")[0]
    # opened 29/2/2016 04:40; first update after creation (sys_mod_count 1) 05:30; resolved 1/3/2016 09:52
    assert row == (dt.datetime(2016, 2, 29, 4, 40), dt.datetime(2016, 2, 29, 5, 30),
                   dt.datetime(2016, 3, 1, 9, 52), "Closed", "TRUE")
    # no zero padding: 5/3/2016 12:00 is the 5th of March (the last update of INC0000045)
    assert q(original["db"], "SELECT resolved_at FROM tickets WHERE ticket_id = 'INC0000045'") == [
        (dt.datetime(2016, 2, 29, 11, 29),)]


def test_both_spellings_of_the_log_give_the_same_tickets(original, sn):
    cols = "ticket_id, reported_at, responded_at, resolved_at, status, upper(external_sla), category, engineer"
    ours = q(original["db"], f"SELECT {cols} FROM tickets ORDER BY 1")
    ids = [r[0] for r in ours]
    theirs = q(sn["db"], f"SELECT {cols} FROM tickets WHERE ticket_id IN ({', '.join('?' * len(ids))}) ORDER BY 1",
               ids)
    # the slice stops inside the events of its last incident (INC0000101: Active, not yet Closed)
    assert len(ours) == len(theirs) == 32 and ours[:31] == theirs[:31]
    assert ours[31][:4] == theirs[31][:4] and (ours[31][4], theirs[31][4]) == ("Active", "Closed")


def test_a_status_map_stops_a_clock_at_the_first_event_in_a_status(tmp_path):
    preset = tmp_path / "servicenow-status.yaml"
    preset.write_text("""
name: servicenow-status
kind: tickets
required: [ticket_id, reported_at]
columns: {ticket_id: [number], reported_at: [opened_at], status: [incident_state]}
date_order: dmy
events:
  order: [sys_mod_count]
  time: sys_updated_at
  status: incident_state
  status_map: {responded_at: [Active, 处理中], resolved_at: [Resolved, 已解决]}
  aggregate: {default: last}
""", encoding="utf-8")
    f = tmp_path / ORIGINAL.name
    shutil.copy(ORIGINAL, f)
    ingest([f], tmp_path / "sla.duckdb", CONTRACT, preset=str(preset), echo=lambda *_: None)
    got = dict((r[0], r[1:]) for r in q(tmp_path / "sla.duckdb",
                                       "SELECT ticket_id, responded_at, resolved_at FROM tickets"))
    # INC0000047: first Active event 29/2 05:30, first Resolved 1/3 09:52
    assert got["INC0000047"] == (dt.datetime(2016, 2, 29, 5, 30), dt.datetime(2016, 3, 1, 9, 52))
    # INC0000057 never went Active (New ... Resolved): no response time; resolved 1/3 02:55
    assert got["INC0000057"] == (None, dt.datetime(2016, 3, 1, 2, 55))
