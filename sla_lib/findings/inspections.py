"""Quarterly inspections (clause `inspection`) and advice reports (clause `advice_report`).

sla-rules.md: for each inspected system and each quarter the contract year touches, one
inspection whose start falls in the quarter, lasting at least N working days counted inclusively
from start date to end date (hospital calendar), with time, content and result filled in.
Status per (system, quarter): done / too_short / incomplete_sheet / missing / not_yet_due.
Advice reports: at least one per quarter, due by the Nth working day after the quarter ends:
on_time / late (by N working days) / missing / not_yet_due.

Settings (contract file, all optional): ``clauses.inspection.min_working_days`` (3),
``clauses.inspection.quarters`` (``calendar`` | ``contract``), ``clauses.advice_report.per``
(``quarter``), ``clauses.advice_report.due_working_day`` (5), ``clauses.advice_report.types``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sla_lib.findings.as_of import data_as_of
from sla_lib.rules.calendar import WorkCalendar, calendar_for
from sla_lib.rules.contract import Contract
from sla_lib.rules.periods import calendar_quarter_label, contract_years, quarter_scheme, quarters

INSPECTION_STATUSES = ["done", "too_short", "incomplete_sheet", "missing", "not_yet_due"]
DEFAULT_ADVICE_TYPES = ["信息化建设建议", "信息化建设建议方案"]


def settings(contract: Contract) -> dict:
    ins = contract.clauses.get("inspection", {})
    adv = contract.clauses.get("advice_report", {})
    return {
        "min_working_days": int(ins.get("min_working_days", 3)),
        "quarters": quarter_scheme(contract),
        "advice_due_working_day": int(adv.get("due_working_day", 5)),
        "advice_types": list(adv.get("types", DEFAULT_ADVICE_TYPES)),
    }


def _as_of_date(con) -> dt.date:
    """The day of the data's as_of (:func:`sla_lib.findings.as_of.data_as_of`). With no dated row
    at all, the earliest date, so that nothing is due yet; never today's date (the same files
    always give the same figures)."""
    ts = data_as_of(con)
    return ts.date() if ts is not None else dt.date.min


def coverage(con, contract: Contract, cal: WorkCalendar | None = None, as_of: dt.date | None = None) -> pd.DataFrame:
    """inspection_coverage rows for every inspected system x every quarter of every started year
    (``as_of``: the day of the data's as_of, read from the database when not given)."""
    cfg = settings(contract)
    as_of = _as_of_date(con) if as_of is None else as_of
    years = contract_years(contract, as_of)
    qs = [q for y in years for q in quarters(contract, y)]
    systems = [s.code for s in contract.systems if s.inspected]
    ins = con.execute("""
        SELECT inspection_id, system, start_date, end_date, content, result, source_file, source_row
        FROM inspections WHERE system IS NOT NULL AND start_date IS NOT NULL""").df()
    for c in ("start_date", "end_date"):
        ins[c] = pd.to_datetime(ins[c])
    if cal is None:
        cal = calendar_for(contract, qs[0].start, qs[-1].end, ins["start_date"], ins["end_date"])
    if len(ins):
        start = ins["start_date"].to_numpy(dtype="datetime64[D]")
        end = ins["end_date"].to_numpy(dtype="datetime64[D]")
        ins["working_days"] = np.where(np.isnat(end), 0, cal.working_days_between(start, np.where(np.isnat(end),
                                                                                                     start, end)))
        ins["provisional"] = cal.is_provisional(start.astype("datetime64[s]"),
                                                np.where(np.isnat(end), start, end).astype("datetime64[s]"))
        blank = {"结束日期": ins["end_date"].isna(), "巡检内容": _blank(ins["content"]),
                 "巡检结果": _blank(ins["result"])}
        ins["missing_fields"] = [
            "、".join(k for k, v in blank.items() if v.iloc[i]) for i in range(len(ins))]
    # each (quarter, system) picks from that system's rows, in the export's order (plain rows: a
    # pandas filter per pair cost ~4 ms each, 56 pairs a contract year)
    by_system: dict[str, list[dict]] = {code: [] for code in systems}
    for r in ins.to_dict("records"):
        if r["system"] in by_system:
            by_system[r["system"]].append(r)
    need = cfg["min_working_days"]
    rows = []
    for q in qs:
        lo, hi = pd.Timestamp(q.covered_start), pd.Timestamp(q.covered_end)
        for code in systems:
            sel = [r for r in by_system[code] if lo <= r["start_date"] <= hi]
            base = dict(contract_year=q.contract_year, quarter=q.label, quarter_start=q.start, quarter_end=q.end,
                        covered_start=q.covered_start, covered_end=q.covered_end, partial=q.partial, system=code,
                        inspections_in_quarter=len(sel))
            if not sel:
                status = "not_yet_due" if q.covered_end >= as_of else "missing"
                rows.append(base | dict(status=status, provisional=False))
                continue
            # the best: complete and long enough, else long enough, then the most working days, then
            # the earliest start; the first in the export's order among equals
            best = min(sel, key=lambda r: (not (r["working_days"] >= need and r["missing_fields"] == ""),
                                           not r["working_days"] >= need, -r["working_days"], r["start_date"]))
            if best["working_days"] >= need and best["missing_fields"] == "":
                status = "done"
            elif best["working_days"] >= need or pd.isna(best["end_date"]):
                status = "incomplete_sheet"  # an empty end date: the time is not filled in (docs/inspections.md)
            else:
                status = "too_short"
            rows.append(base | dict(
                status=status, inspection_id=best["inspection_id"], start_date=best["start_date"],
                end_date=best["end_date"], working_days=int(best["working_days"]),
                missing_fields=best["missing_fields"] or None, provisional=bool(best["provisional"]),
                source_file=best["source_file"], source_row=int(best["source_row"])))
    cols = ["contract_year", "quarter", "quarter_start", "quarter_end", "covered_start", "covered_end", "partial",
            "system", "status", "inspection_id", "start_date", "end_date", "working_days", "missing_fields",
            "inspections_in_quarter", "provisional", "source_file", "source_row"]
    return pd.DataFrame(rows).reindex(columns=cols)


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip() == "")


def advice(con, contract: Contract, cal: WorkCalendar | None = None, as_of: dt.date | None = None) -> pd.DataFrame:
    """advice_reports rows: one per quarter of every started contract year."""
    cfg = settings(contract)
    as_of = _as_of_date(con) if as_of is None else as_of
    qs = [q for y in contract_years(contract, as_of) for q in quarters(contract, y)]
    types = cfg["advice_types"]
    dl = con.execute(f"""
        SELECT period, submitted_at, title, source_file, source_row FROM deliverables
        WHERE deliverable_type IN ({", ".join("?" for _ in types)})""", types).df()
    if cal is None:
        cal = calendar_for(contract, qs[0].start, qs[-1].end)
    n = cfg["advice_due_working_day"]
    rows = []
    for q in qs:
        due = cal.nth_working_date_after(q.covered_end, n)
        months = {f"{m.year}-{m.month:02d}" for m in pd.date_range(q.covered_start, q.covered_end, freq="MS")}
        months.add(f"{q.covered_start.year}-{q.covered_start.month:02d}")
        sel = dl[dl["period"].isin({q.label, *months, calendar_quarter_label(q.start)})] if len(dl) else dl
        base = dict(contract_year=q.contract_year, period=q.label, period_start=q.covered_start,
                    period_end=q.covered_end, due_date=due, reports_in_period=len(sel))
        sub = sel.dropna(subset=["submitted_at"]).sort_values("submitted_at") if len(sel) else sel
        if not len(sub):
            status = "not_yet_due" if due >= as_of else "missing"
            rows.append(base | dict(status=status))
            continue
        first = sub.iloc[0]
        day = pd.Timestamp(first["submitted_at"]).date()
        late = cal.working_days_late(due, day)
        rows.append(base | dict(status="on_time" if day <= due else "late", submitted_at=first["submitted_at"],
                                late_working_days=late, title=first["title"], source_file=first["source_file"],
                                source_row=int(first["source_row"])))
    cols = ["contract_year", "period", "period_start", "period_end", "due_date", "status", "submitted_at",
            "late_working_days", "title", "reports_in_period", "source_file", "source_row"]
    return pd.DataFrame(rows).reindex(columns=cols)


def recompute(con, contract: Contract) -> None:
    """Rebuild inspection_coverage and advice_reports (called after every ingest)."""
    con.execute("DELETE FROM inspection_coverage")
    con.execute("DELETE FROM advice_reports")
    has_any = con.execute("SELECT (SELECT count(*) FROM inspection_rows) + (SELECT count(*) FROM deliverable_rows) "
                          "+ (SELECT count(*) FROM ticket_rows)").fetchall()[0][0]
    if not has_any:
        return
    as_of = _as_of_date(con)
    for table, df in (("inspection_coverage", coverage(con, contract, as_of=as_of)),
                      ("advice_reports", advice(con, contract, as_of=as_of))):
        if len(df):
            con.register("sla_cov_df", df)
            con.execute(f"INSERT INTO {table} SELECT * FROM sla_cov_df")
            con.unregister("sla_cov_df")
