"""The report kinds, in one registry that ``sla render``, ``sla scheduled`` and the renderer all read.

A :class:`ReportKind` says which notebook renders the kind, what its files are called, which
periods have data, how a period is parsed and when it closes (:mod:`sla_lib.rules.periods`), the
input fingerprint of each period (:mod:`sla_lib.publish.fingerprints`) and any file written beside
the report. A new kind of report is one more entry in :data:`REPORT_KINDS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sla_lib.errors import SlaError
from sla_lib.publish import fingerprints
from sla_lib.reports import export, print_edition, quarterly, review
from sla_lib.reports.monthly import months_available
from sla_lib.rules import periods as P
from sla_lib.rules.contract import Contract


@dataclass(frozen=True)
class ReportKind:
    """One kind of report.

    - ``name``: ``monthly``, ``quarterly`` or ``year`` (``sla render NAME``, ``--kinds``);
    - ``label``: the Chinese name shown in titles and the index;
    - ``notebook`` and ``stem``: the report notebook in ``notebooks/`` and the name of the files it
      renders to (``<stem>.html``, ``<stem>.ipynb``) in ``reports/<period>/``;
    - ``parameter``: the notebook parameter that receives the period (a month and a quarter as
      their labels, a contract year as its number);
    - ``available(con, contract)``: the periods that have data, ascending;
    - ``fingerprints(con, contract)``: period -> input fingerprint, as stored in report.json;
    - ``extra(con, contract, period, folder)``: files written beside the report (names), or None.
    """

    name: str
    label: str
    notebook: str
    stem: str
    parameter: str
    available: Callable[[Any, Contract], list[str]]
    fingerprints: Callable[[Any, Contract], dict[str, str]]
    extra: Callable[[Any, Contract, str, Path], list[str]] | None = None

    def label_of(self, text: str | int) -> str:
        """``text`` as this kind's period label, checked (a clear error names the value): 'YYYY-MM',
        'YYYY-Qn' or 'Yn-Qm', 'contract-year-N' (also from N)."""
        if self.name == "monthly":
            return P.parse_month(text)
        if self.name == "quarterly":
            return P.parse_quarter(text)
        return P.year_label(P.parse_year(text))

    def period(self, text: str | int, contract: Contract) -> P.Period:
        """The period ``text`` of this kind, with its bounds and closing day."""
        return P.parse(self.name, self.label_of(text), contract)

    def closes_on(self, period: str, contract: Contract) -> dt.date:
        """The first day on which ``period`` is over (the scheduler renders it from that day on)."""
        return self.period(period, contract).closes_on

    def parameters(self, period: str) -> dict[str, Any]:
        """The notebook parameter of ``period``."""
        return {self.parameter: P.parse_year(period) if self.name == "year" else period}

    def shown(self, period: str) -> str:
        """The period as a report title shows it."""
        return f"第 {P.parse_year(period)} 合同年度" if self.name == "year" else period

    def record_path(self, out_dir: Path, period: str) -> Path:
        """The report.json of the period's report."""
        return Path(out_dir) / period / "report.json"


def _years_available(con, contract: Contract) -> list[str]:
    return [P.year_label(n) for n in review.years_available(con, contract)]


def _year_workbook(con, contract: Contract, period: str, folder: Path) -> list[str]:
    """The committee's workbook beside the contract-year review."""
    export.write_xlsx(review.workbook_frames(con, contract, P.parse_year(period)), folder / "contract-year-review.xlsx")
    return ["contract-year-review.xlsx"]


def _print_edition(con, contract: Contract, period: str, folder: Path) -> list[str]:
    """The few A4 pages to sign beside the monthly report (reports/print_edition.py)."""
    return [print_edition.write_print_edition(con, contract, period, folder)]


REPORT_KINDS: dict[str, ReportKind] = {k.name: k for k in (
    ReportKind("monthly", "月度报告", "monthly_report.ipynb", "monthly-report", "month",
               lambda con, contract: months_available(con), fingerprints.monthly_fingerprints,
               extra=_print_edition),
    ReportKind("quarterly", "季度报告", "quarterly_report.ipynb", "quarterly-report", "quarter",
               lambda con, contract: quarterly.quarters_available(con),
               lambda con, contract: fingerprints.kind_fingerprints(con, contract, "quarterly")),
    ReportKind("year", "合同年度评估", "contract_year_review.ipynb", "contract-year-review", "contract_year",
               _years_available, lambda con, contract: fingerprints.kind_fingerprints(con, contract, "year"),
               extra=_year_workbook),
)}


def kind(name: str) -> ReportKind:
    """The registered kind ``name``, or a clear error listing the kinds."""
    try:
        return REPORT_KINDS[name]
    except KeyError:
        raise SlaError(f"unknown report kind '{name}'; expected {', '.join(REPORT_KINDS)}") from None


def kinds(names: str | None) -> list[ReportKind] | None:
    """``--kinds monthly,year`` as registered kinds (None when not given)."""
    if not names:
        return None
    wanted = [k.strip() for k in names.split(",") if k.strip()]
    unknown = [k for k in wanted if k not in REPORT_KINDS]
    if unknown:
        raise SlaError(f"--kinds: unknown report kind(s) {', '.join(unknown)}; expected {', '.join(REPORT_KINDS)}")
    return [REPORT_KINDS[k] for k in wanted]
