"""Periods: a month, a quarter and a contract year, in one vocabulary.

Every report covers one period, and every rule that asks "which month (quarter, contract year) is
this in, and when is it over?" asks here. A :class:`Period` has a label as the reports and folders
spell it (``2025-08``, ``2026-Q1`` or ``Y1-Q2``, ``contract-year-1``), its calendar bounds, and the
first day on which it is closed (the scheduler renders a period from that day on). Labels are
parsed with :func:`parse_month`, :func:`parse_quarter` and :func:`parse_year`, which raise a
:class:`~sla_lib.errors.SlaError` naming the value and the expected form.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sla_lib.errors import SlaError
from sla_lib.rules.contract import Contract, add_months

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
QUARTER_RE = re.compile(r"^(\d{4}-Q[1-4]|Y\d+-Q\d+)$")
YEAR_PREFIX = "contract-year-"
KINDS = ("monthly", "quarterly", "year")


@dataclass(frozen=True)
class Period:
    """One period of one report kind: ``kind`` is ``monthly``, ``quarterly`` or ``year``;
    ``start`` is its first day and ``end`` the day after its last; ``closes_on`` is the first day
    on which it is over (for a quarter that two contract years share, the end of its later part)."""

    kind: str
    label: str
    start: dt.date
    end: dt.date
    closes_on: dt.date

    @property
    def months(self) -> list[str]:
        """The months ('YYYY-MM') the period touches, in order."""
        out, d = [], dt.date(self.start.year, self.start.month, 1)
        while d < self.end:
            out.append(f"{d.year:04d}-{d.month:02d}")
            d = add_months(d, 1)
        return out


@dataclass(frozen=True)
class Quarter:
    """A quarter as one contract year sees it: the whole quarter (``start`` .. ``end``, last day
    included) and the part inside the contract year (``covered_start`` .. ``covered_end``)."""

    contract_year: int
    label: str
    start: dt.date
    end: dt.date  # last day
    covered_start: dt.date
    covered_end: dt.date

    @property
    def partial(self) -> bool:
        return (self.covered_start, self.covered_end) != (self.start, self.end)


# -- months -----------------------------------------------------------------------------------------------
def parse_month(text: str) -> str:
    """``text`` when it is a month ``YYYY-MM``, else a clear error."""
    if not isinstance(text, str) or not MONTH_RE.match(text):
        raise SlaError(f"month {text!r}: expected a month YYYY-MM, e.g. 2025-08")
    return text


def month(text: str) -> Period:
    y, m = (int(x) for x in parse_month(text).split("-"))
    start = dt.date(y, m, 1)
    end = add_months(start, 1)
    return Period("monthly", text, start, end, end)


def month_label_zh(text: str) -> str:
    y, m = parse_month(text).split("-")
    return f"{y}年{int(m)}月"


# -- quarters -----------------------------------------------------------------------------------------------
def parse_quarter(text: str) -> str:
    """``text`` when it is a calendar quarter ``YYYY-Qn`` or a contract quarter ``Yn-Qm``."""
    if not isinstance(text, str) or not QUARTER_RE.match(text):
        raise SlaError(f"quarter '{text}': expected YYYY-Qn (calendar quarter, e.g. 2026-Q1) or Yn-Qm "
                       "(contract quarters)")
    return text


def quarter_scheme(contract: Contract) -> str:
    """``calendar`` (default) or ``contract`` (``clauses.inspection.quarters``)."""
    return contract.clauses.get("inspection", {}).get("quarters", "calendar")


def quarters(contract: Contract, year: int) -> list[Quarter]:
    """The quarters contract year ``year`` touches: calendar quarters (default) or quarters counted
    from the signing date (``clauses.inspection.quarters: contract``)."""
    start, end_excl = contract.contract_year_bounds(year)
    last = end_excl - dt.timedelta(days=1)
    out = []
    if quarter_scheme(contract) == "contract":
        q_start, i = start, 1
        while q_start < end_excl:
            q_end = min(add_months(q_start, 3), end_excl) - dt.timedelta(days=1)
            out.append(Quarter(year, f"Y{year}-Q{i}", q_start, q_end, q_start, q_end))
            q_start, i = q_end + dt.timedelta(days=1), i + 1
        return out
    q_start = dt.date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    while q_start <= last:
        q_end = add_months(q_start, 3) - dt.timedelta(days=1)
        out.append(Quarter(year, calendar_quarter_label(q_start), q_start, q_end, max(q_start, start),
                           min(q_end, last)))
        q_start = add_months(q_start, 3)
    return out


def calendar_quarter_label(d: dt.date) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def quarter(text: str, contract: Contract) -> Period:
    """The quarter ``text``; it closes on the day after its last day inside its contract year(s)
    (2026-Q1 -> 2026-04-01). A calendar quarter that two contract years share closes with its
    later part."""
    parse_quarter(text)
    if text.startswith("Y"):  # contract quarters: Yn-Qm
        years = [int(text[1:].split("-")[0])]
    else:
        qyear = int(text[:4])
        years = []
        for n in range(1, 200):  # contract years start later and later: stop at the first one too late
            start, end = contract.contract_year_bounds(n)
            if start.year > qyear + 1:
                break
            if end.year >= qyear:
                years.append(n)
    parts = [q for n in years for q in quarters(contract, n) if q.label == text]
    if not parts:
        raise SlaError(f"quarter '{text}' is in no contract year")
    return Period("quarterly", text, min(q.start for q in parts), max(q.end for q in parts) + dt.timedelta(days=1),
                  max(q.covered_end for q in parts) + dt.timedelta(days=1))


# -- contract years -------------------------------------------------------------------------------------------
def year_label(n: int) -> str:
    return f"{YEAR_PREFIX}{int(n)}"


def parse_year(text: str | int) -> int:
    """The contract year's number from ``3``, ``'3'`` or ``'contract-year-3'``."""
    s = str(text)
    s = s[len(YEAR_PREFIX):] if s.startswith(YEAR_PREFIX) else s
    if not s.isdigit() or int(s) < 1:
        raise SlaError(f"contract year {text!r}: expected 1, 2, … or contract-year-N")
    return int(s)


def contract_year(n: int | str, contract: Contract) -> Period:
    n = parse_year(n)
    start, end = contract.contract_year_bounds(n)
    return Period("year", year_label(n), start, end, end)


def contract_years(contract: Contract, up_to: dt.date) -> list[int]:
    """Contract years that have started by ``up_to`` (at least year 1)."""
    n = 1
    while contract.contract_year_bounds(n + 1)[0] <= up_to:
        n += 1
    return list(range(1, n + 1))


def year_months(contract: Contract, n: int) -> list[str]:
    """The months ('YYYY-MM') of contract year ``n``."""
    return contract_year(n, contract).months


# -- any kind -------------------------------------------------------------------------------------------------
def parse(kind: str, text: str, contract: Contract) -> Period:
    """The period ``text`` of report kind ``kind`` (``monthly``, ``quarterly`` or ``year``)."""
    if kind == "monthly":
        return month(text)
    if kind == "quarterly":
        return quarter(text, contract)
    if kind == "year":
        return contract_year(text, contract)
    raise SlaError(f"report kind '{kind}': expected one of {', '.join(KINDS)}")
