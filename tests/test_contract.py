"""The contract file is validated on load, with messages that name the key."""

import pytest

from sla_lib.errors import ContractError
from sla_lib.rules.contract import load_contract


def test_repository_contract_loads(contract):
    assert contract.clauses["response"]["limit_minutes"] == 20
    assert contract.clauses["resolution"]["rule"] == "next_working_day"
    assert [s.code for s in contract.systems] == ["HIS", "PASS", "CP", "EMR", "FOLLOWUP", "LIS", "AE", "CRITICAL"]
    assert sum(s.inspected for s in contract.systems) == 7
    assert contract.system_lookup()["检验信息系统"] == "LIS"
    assert contract.contract_year_bounds(1)[0].isoformat() == "2025-07-01"
    assert contract.contract_year_bounds(1)[1].isoformat() == "2026-07-01"


@pytest.mark.parametrize("edit, key", [
    (lambda r: r["clauses"]["response"].pop("limit_minutes"), "clauses.response.limit_minutes"),
    (lambda r: r["clauses"]["response"].update(limit_minutes="twenty"), "clauses.response.limit_minutes"),
    (lambda r: r["clauses"]["response"].update(limit_minutes=0), "clauses.response.limit_minutes"),
    (lambda r: r["clauses"]["resolution"].update(rule="eventually"), "clauses.resolution.rule"),
    (lambda r: r["clauses"]["onsite_fix"].update(anchor="dawn"), "clauses.onsite_fix.anchor"),
    (lambda r: r["period"].update(signing_date="2025-13-01"), "period.signing_date"),
    (lambda r: r["calendar"]["seasons"][0].update(periods=[["8:00", "12:00"]]), "calendar.seasons[0].periods[0]"),
    (lambda r: r["calendar"]["seasons"][1].update(**{"from": "11-01"}), "calendar.seasons"),
    (lambda r: r["systems"][1].update(aliases=["HIS"]), "systems[1].aliases"),
    (lambda r: r.pop("systems"), "systems"),
    (lambda r: r["clauses"]["inspection"].update(min_working_days=0), "clauses.inspection.min_working_days"),
    (lambda r: r["clauses"]["inspection"].update(quarters="fiscal"), "clauses.inspection.quarters"),
    (lambda r: r["clauses"]["advice_report"].update(due_working_day="5th"), "clauses.advice_report.due_working_day"),
    (lambda r: r["scorecard"].update(kept=98), "scorecard.kept"),
    (lambda r: r["scorecard"].update(partly_kept=0.99), "scorecard.partly_kept"),
])
def test_a_wrong_setting_names_file_and_key(make_contract, edit, key):
    with pytest.raises(ContractError) as e:
        make_contract(edit)
    assert f"key '{key}'" in str(e.value) and "contract.yaml" in str(e.value)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ContractError, match="not found"):
        load_contract(tmp_path / "nope.yaml")
    p = tmp_path / "c.yaml"
    p.write_text("hospital: [unclosed", encoding="utf-8")
    with pytest.raises(ContractError, match="not valid UTF-8 YAML"):
        load_contract(p)
