"""Load and validate the contract file (contract.yaml).

Every threshold, rule, system and calendar setting the product uses comes from here. A wrong or
missing setting raises :class:`ContractError` naming the file, the key and what was expected,
before any data is read.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sla_lib.errors import ContractError

TICKET_CLAUSES = ("response", "resolution", "onsite_arrival", "onsite_fix")
# Clauses of the resident engineers (issue 4): optional in the file; defaults fill what is missing.
STAFF_CLAUSES = ("resident_staffing", "leave_approval", "monthly_record")
STAFF_CLAUSE_TITLES = {"resident_staffing": "驻场人员考勤", "leave_approval": "请假报备",
                       "monthly_record": "驻场月度工作记录"}
DEFAULT_RECORD_TYPES = ("驻场月度工作记录",)
RESOLUTION_RULES = ("next_working_day", "end_of_next_working_day", "working_hours")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MMDD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


@dataclass(frozen=True)
class Season:
    name: str
    label: str
    start_mmdd: str  # "05-01"
    end_mmdd: str  # "09-30", inclusive; may wrap over the new year
    periods: tuple[tuple[int, int], ...]  # seconds of day, half-open [start, end)

    def covers(self, mmdd: str) -> bool:
        if self.start_mmdd <= self.end_mmdd:
            return self.start_mmdd <= mmdd <= self.end_mmdd
        return mmdd >= self.start_mmdd or mmdd <= self.end_mmdd


@dataclass(frozen=True)
class System:
    code: str
    name: str
    aliases: tuple[str, ...]
    service: str
    inspected: bool


@dataclass(frozen=True)
class RosterEntry:
    """One named resident engineer and the dates the contract file makes them effective."""

    name: str
    start: dt.date  # first day on the roster (``from``)
    end: dt.date | None  # last day on the roster, inclusive (``to``); None = still on it
    ids: tuple[str, ...] = ()  # the numbers attendance terminals know the person by (``ids``)

    def covers(self, d: dt.date) -> bool:
        return self.start <= d and (self.end is None or d <= self.end)


@dataclass(frozen=True)
class HolidayFile:
    """A published holiday notice as data (``calendar.files``): the years it covers, its holidays
    (``off``) and make-up working days (``work``)."""

    path: Path
    years: frozenset[int]
    off: frozenset[dt.date]
    work: frozenset[dt.date]
    sha256: str


@dataclass
class Contract:
    path: Path
    raw: dict[str, Any]
    hospital: str
    vendor: str
    signing_date: dt.date
    length_months: int
    timezone: str
    seasons: tuple[Season, ...]
    extra_working_days: frozenset[dt.date]
    extra_non_working_days: frozenset[dt.date]
    clauses: dict[str, dict[str, Any]]
    systems: tuple[System, ...]
    no_clock_categories: tuple[str, ...]
    roster: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""
    roster_staff: tuple[RosterEntry, ...] = ()
    holiday_files: tuple[HolidayFile, ...] = ()
    integrity: dict[str, Any] = field(default_factory=dict)
    dispute_window_working_days: int = 5

    # -- resident roster ---------------------------------------------------------------------
    def roster_on(self, d: dt.date) -> list[str]:
        """Names on the resident roster on date ``d`` (contract-file order, no duplicates)."""
        return list(dict.fromkeys(e.name for e in self.roster_staff if e.covers(d)))

    @property
    def required_staff(self) -> int:
        return int(self.roster.get("required_count", 2))

    @property
    def grace_minutes(self) -> int:
        return int(self.roster.get("grace_minutes", 0))

    def roster_ids(self) -> dict[str, str]:
        """Terminal user number (leading zeros dropped) -> the rostered person's name."""
        return {(x.lstrip("0") or "0"): e.name for e in self.roster_staff for x in e.ids}

    # -- derived helpers -------------------------------------------------------------------
    def system_lookup(self) -> dict[str, str]:
        """Normalised name or alias -> system code (normalisation: see ``norm_name``)."""
        out: dict[str, str] = {}
        for s in self.systems:
            for name in (s.code, s.name, *s.aliases):
                out[norm_name(name)] = s.code
        return out

    def system_names(self) -> dict[str, str]:
        return {s.code: s.name for s in self.systems}

    def contract_year_bounds(self, n: int) -> tuple[dt.date, dt.date]:
        """[start, end) dates of contract year n (1-based)."""
        start = add_months(self.signing_date, self.length_months * (n - 1))
        return start, add_months(start, self.length_months)

    def threshold_text(self, clause: str) -> str:
        c = self.clauses[clause]
        if clause == "response":
            return f"{c['limit_minutes']} 分钟（自然时间，7×24）"
        if clause == "resolution":
            rule = {
                "next_working_day": "次一工作日同一时刻",
                "end_of_next_working_day": "第 N 个工作日下班前",
                "working_hours": f"{c['hours_per_working_day']} 工作小时/工作日",
            }[c["rule"]]
            return f"{c['working_days']} 个工作日（规则 {c['rule']}：{rule}）"
        if clause in ("onsite_arrival", "onsite_fix"):
            return f"{c['limit_hours']} 小时（自然时间）"
        return ""


def norm_name(s: str) -> str:
    """Normalise a system name for matching: full-width to half-width, no spaces, upper case."""
    s = to_halfwidth(str(s))
    return re.sub(r"\s+", "", s).upper()


# full-width ASCII forms and the ideographic space, and their half-width twins (also sla_hw in SQL)
FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALFWIDTH = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + " "
_HALFWIDTH = str.maketrans(FULLWIDTH, HALFWIDTH)


def to_halfwidth(s: str) -> str:
    """Full-width ASCII (Ｂ, １, （) and the ideographic space as their half-width forms."""
    return s.translate(_HALFWIDTH)


def add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    import calendar as _cal

    day = min(d.day, _cal.monthrange(year, month)[1])
    return dt.date(year, month, day)


# -- validation ---------------------------------------------------------------------------------
class _V:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, expected: str, got: Any = None) -> None:
        extra = "" if got is None else f", got {got!r}"
        raise ContractError(f"{self.path}: key '{key}': expected {expected}{extra}")

    def get(self, d: Any, key: str, dotted: str, kind: type | tuple, required: bool = True, default=None):
        if not isinstance(d, dict):
            self.fail(dotted.rsplit(".", 1)[0], "a mapping")
        if key not in d or d[key] is None:
            if required:
                self.fail(dotted, f"a value of type {_tname(kind)} (the key is missing)")
            return default
        v = d[key]
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, kind) or (kind in (int, float) and isinstance(v, bool)):
            self.fail(dotted, _tname(kind), v)
        return v

    def positive(self, v: float, dotted: str) -> None:
        if v <= 0:
            self.fail(dotted, "a number greater than 0", v)

    def date(self, v: Any, dotted: str) -> dt.date:
        if isinstance(v, dt.datetime):
            return v.date()
        if isinstance(v, dt.date):
            return v
        try:
            return dt.date.fromisoformat(str(v))
        except ValueError:
            self.fail(dotted, "a date YYYY-MM-DD", v)
        raise AssertionError


def _tname(kind) -> str:
    names = {str: "text", int: "a whole number", float: "a number", bool: "true/false", list: "a list",
             dict: "a mapping", dt.date: "a date YYYY-MM-DD"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def _hhmm(v: _V, s: Any, dotted: str) -> int:
    if not isinstance(s, str) or not _HHMM.match(s):
        v.fail(dotted, "a time HH:MM (quoted)", s)
    h, m = s.split(":")
    return int(h) * 3600 + int(m) * 60


_PARSED: dict[tuple[str, str], tuple[Contract, list]] = {}


def load_contract(path: str | Path = "contract.yaml") -> Contract:
    """The contract file ``path``, validated (a clear error names the key). A file read before in
    this process with the same bytes is not parsed again (the caller gets its own copy)."""
    path = Path(path)
    if not path.exists():
        raise ContractError(f"{path}: contract file not found (expected a YAML file; see docs/contract-file.md)")
    text = path.read_bytes()
    key = (str(path), hashlib.sha256(text).hexdigest())
    hit = _PARSED.get(key)
    if hit is not None and all(_stamp(hf.path) == stamp for hf, stamp in hit[1]):
        return copy.copy(hit[0])
    if len(_PARSED) > 32:
        _PARSED.clear()
    contract = _parse_contract(path, text)
    _PARSED[key] = (contract, [(hf, _stamp(hf.path)) for hf in contract.holiday_files])
    return copy.copy(contract)


def _stamp(p: Path):
    try:
        st = p.stat()
        return (st.st_mtime_ns, st.st_size)
    except OSError:
        return None


def _parse_contract(path: Path, text: bytes) -> Contract:
    try:
        raw = yaml.load(text.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ContractError(f"{path}: not valid UTF-8 YAML: {e}") from None
    v = _V(path)
    if not isinstance(raw, dict):
        v.fail("(top level)", "a mapping of settings")

    hospital = v.get(raw, "hospital", "hospital", str)
    vendor = v.get(raw, "vendor", "vendor", str, required=False, default="")
    period = v.get(raw, "period", "period", dict)
    signing = v.date(v.get(period, "signing_date", "period.signing_date", (str, dt.date)), "period.signing_date")
    length = v.get(period, "length_months", "period.length_months", int, required=False, default=12)
    v.positive(length, "period.length_months")
    tz = v.get(period, "timezone", "period.timezone", str, required=False, default="Asia/Shanghai")

    cal = v.get(raw, "calendar", "calendar", dict)
    extra_w = v.get(cal, "extra_working_days", "calendar.extra_working_days", list, required=False, default=[])
    extra_n = v.get(cal, "extra_non_working_days", "calendar.extra_non_working_days", list, required=False,
                    default=[])
    extra_w_d = frozenset(v.date(x, f"calendar.extra_working_days[{i}]") for i, x in enumerate(extra_w))
    extra_n_d = frozenset(v.date(x, f"calendar.extra_non_working_days[{i}]") for i, x in enumerate(extra_n))
    both = extra_w_d & extra_n_d
    if both:
        v.fail("calendar.extra_working_days", "dates not also listed in calendar.extra_non_working_days",
               sorted(str(d) for d in both))
    unknown = sorted(set(cal) - {"extra_working_days", "extra_non_working_days", "seasons", "files"})
    if unknown:
        v.fail(f"calendar.{unknown[0]}", "only the keys extra_working_days, extra_non_working_days, seasons, files")
    files_raw = v.get(cal, "files", "calendar.files", list, required=False, default=[])
    holiday_files = tuple(_holiday_file(v, path.parent, f, f"calendar.files[{i}]") for i, f in enumerate(files_raw))
    seen: dict[int, Path] = {}
    for hf in holiday_files:
        for y in sorted(hf.years):
            if y in seen:
                v.fail("calendar.files", f"one file per year ({y} is in {seen[y].name} and {hf.path.name})")
            seen[y] = hf.path
    seasons_raw = v.get(cal, "seasons", "calendar.seasons", list)
    if not seasons_raw:
        v.fail("calendar.seasons", "at least one season with working periods")
    seasons = []
    for i, s in enumerate(seasons_raw):
        k = f"calendar.seasons[{i}]"
        name = v.get(s, "name", f"{k}.name", str)
        label = v.get(s, "label", f"{k}.label", str, required=False, default=name)
        frm = str(v.get(s, "from", f"{k}.from", str))
        to = str(v.get(s, "to", f"{k}.to", str))
        for key, val in (("from", frm), ("to", to)):
            if not _MMDD.match(val):
                v.fail(f"{k}.{key}", "a month-day MM-DD in quotes, e.g. \"05-01\"", val)
        periods_raw = v.get(s, "periods", f"{k}.periods", list)
        periods = []
        for j, p in enumerate(periods_raw):
            pk = f"{k}.periods[{j}]"
            if not isinstance(p, list) or len(p) != 2:
                v.fail(pk, "a pair [\"HH:MM\", \"HH:MM\"]", p)
            a, b = _hhmm(v, p[0], pk), _hhmm(v, p[1], pk)
            if b <= a:
                v.fail(pk, "an end after its start", p)
            if periods and a < periods[-1][1]:
                v.fail(pk, "periods in order, not overlapping", p)
            periods.append((a, b))
        if not periods:
            v.fail(f"{k}.periods", "at least one working period")
        seasons.append(Season(name, label, frm, to, tuple(periods)))
    # every month-day of a leap year must be covered by exactly one season
    d = dt.date(2024, 1, 1)
    while d.year == 2024:
        mmdd = d.strftime("%m-%d")
        n = sum(s.covers(mmdd) for s in seasons)
        if n != 1:
            v.fail("calendar.seasons", f"seasons that cover every day exactly once ({mmdd} is covered {n} times)")
        d += dt.timedelta(days=1)

    clauses_raw = v.get(raw, "clauses", "clauses", dict)
    clauses: dict[str, dict[str, Any]] = {}
    for cid in TICKET_CLAUSES:
        c = v.get(clauses_raw, cid, f"clauses.{cid}", dict)
        for key in ("title", "section", "text"):
            v.get(c, key, f"clauses.{cid}.{key}", str)
        clauses[cid] = dict(c)
    lim = v.get(clauses["response"], "limit_minutes", "clauses.response.limit_minutes", float)
    v.positive(lim, "clauses.response.limit_minutes")
    res = clauses["resolution"]
    rule = v.get(res, "rule", "clauses.resolution.rule", str, required=False, default="next_working_day")
    if rule not in RESOLUTION_RULES:
        v.fail("clauses.resolution.rule", "one of " + ", ".join(RESOLUTION_RULES), rule)
    res["rule"] = rule
    res["working_days"] = v.get(res, "working_days", "clauses.resolution.working_days", int, required=False,
                                default=1)
    v.positive(res["working_days"], "clauses.resolution.working_days")
    res["hours_per_working_day"] = v.get(res, "hours_per_working_day", "clauses.resolution.hours_per_working_day",
                                         float, required=rule == "working_hours", default=None)
    if res["hours_per_working_day"] is not None:
        v.positive(res["hours_per_working_day"], "clauses.resolution.hours_per_working_day")
    res["applies_to"] = v.get(res, "applies_to", "clauses.resolution.applies_to", str, required=False,
                              default="all")
    if res["applies_to"] not in ("all", "remote"):
        v.fail("clauses.resolution.applies_to", "all or remote", res["applies_to"])
    for cid in ("onsite_arrival", "onsite_fix"):
        h = v.get(clauses[cid], "limit_hours", f"clauses.{cid}.limit_hours", float)
        v.positive(h, f"clauses.{cid}.limit_hours")
    anchor = v.get(clauses["onsite_fix"], "anchor", "clauses.onsite_fix.anchor", str, required=False,
                   default="arrival")
    if anchor not in ("arrival", "notification"):
        v.fail("clauses.onsite_fix.anchor", "arrival or notification", anchor)
    clauses["onsite_fix"]["anchor"] = anchor
    for cid, c in clauses_raw.items():
        if cid not in clauses:
            if not isinstance(c, dict):
                v.fail(f"clauses.{cid}", "a mapping")
            clauses[cid] = dict(c)

    systems_raw = v.get(raw, "systems", "systems", list)
    if not systems_raw:
        v.fail("systems", "at least one system")
    systems = []
    seen: dict[str, str] = {}
    for i, s in enumerate(systems_raw):
        k = f"systems[{i}]"
        code = v.get(s, "code", f"{k}.code", str)
        name = v.get(s, "name", f"{k}.name", str)
        aliases = v.get(s, "aliases", f"{k}.aliases", list, required=False, default=[])
        service = v.get(s, "service", f"{k}.service", str, required=False, default="remote")
        if service not in ("resident", "remote"):
            v.fail(f"{k}.service", "resident or remote", service)
        inspected = v.get(s, "inspected", f"{k}.inspected", bool, required=False, default=True)
        for a in (code, name, *aliases):
            key = norm_name(str(a))
            if key in seen and seen[key] != code:
                v.fail(f"{k}.aliases", f"names unique across systems ('{a}' is also used by {seen[key]})")
            seen[key] = code
        systems.append(System(code, name, tuple(str(a) for a in aliases), service, inspected))

    _staff_clauses(v, clauses)

    for cid, key, kind, default, allowed in (
        ("inspection", "min_working_days", int, 3, None), ("inspection", "quarters", str, "calendar",
                                                            ("calendar", "contract")),
        ("advice_report", "due_working_day", int, 5, None), ("advice_report", "types", list, None, None),
    ):
        if cid in clauses:
            val = v.get(clauses[cid], key, f"clauses.{cid}.{key}", kind, required=False, default=default)
            if kind is int and val is not None:
                v.positive(val, f"clauses.{cid}.{key}")
            if allowed and val not in allowed:
                v.fail(f"clauses.{cid}.{key}", " or ".join(allowed), val)
    sc = v.get(raw, "scorecard", "scorecard", dict, required=False, default={})
    for key in ("kept", "partly_kept"):
        val = v.get(sc, key, f"scorecard.{key}", float, required=False, default=None)
        if val is not None and not 0 < val <= 1:
            v.fail(f"scorecard.{key}", "a share between 0 and 1, e.g. 0.98", val)
    if sc.get("kept") is not None and sc.get("partly_kept") is not None and sc["partly_kept"] > sc["kept"]:
        v.fail("scorecard.partly_kept", "a value not above scorecard.kept", sc["partly_kept"])
    ncc = v.get(raw, "no_clock_categories", "no_clock_categories", list, required=False, default=[])
    roster, roster_staff = _roster(v, raw, signing)

    integrity = _integrity(v, raw)
    d = v.get(raw, "disputes", "disputes", dict, required=False, default={})
    unknown = sorted(set(d) - {"window_working_days"})
    if unknown:
        v.fail(f"disputes.{unknown[0]}", "only the key window_working_days")
    window = v.get(d, "window_working_days", "disputes.window_working_days", int, required=False, default=5)
    v.positive(window, "disputes.window_working_days")
    return Contract(
        path=path, raw=raw, hospital=hospital, vendor=vendor, signing_date=signing, length_months=length,
        timezone=tz, seasons=tuple(seasons), extra_working_days=extra_w_d, extra_non_working_days=extra_n_d,
        clauses=clauses, systems=tuple(systems), no_clock_categories=tuple(str(c) for c in ncc),
        roster=roster, sha256=_sha256(text, holiday_files), roster_staff=roster_staff,
        holiday_files=holiday_files, integrity=integrity, dispute_window_working_days=window,
    )


INTEGRITY_DEFAULTS = {
    # prefix + date + serial, as the register numbers tickets (GD2025070001 = GD, 202507, 0001)
    "number_pattern": r"(?P<prefix>[A-Za-z]*)(?P<date>\d{6}|\d{8})(?P<serial>\d{3,5})",
    "late_entry_days": 10,       # a ticket first exported more than this many days after its month closed
    "duplicate_minutes": 30,     # same department, system and description within this many minutes
    "heaping_window_minutes": 2,  # the last N minutes before a limit against the N minutes before those
    "heaping_min_count": 10,     # fewer stops than this in the two windows: no judgement
    "heaping_p_value": 0.01,     # flagged when bunching this strong or stronger is this unlikely by chance
}


def _integrity(v: _V, raw: dict[str, Any]) -> dict[str, Any]:
    """The ``integrity`` settings of the register checks (docs/contract-file.md), with defaults."""
    r = v.get(raw, "integrity", "integrity", dict, required=False, default={})
    unknown = sorted(set(r) - set(INTEGRITY_DEFAULTS))
    if unknown:
        v.fail(f"integrity.{unknown[0]}", "only the keys " + ", ".join(INTEGRITY_DEFAULTS))
    out = dict(INTEGRITY_DEFAULTS)
    pattern = v.get(r, "number_pattern", "integrity.number_pattern", str, required=False,
                    default=INTEGRITY_DEFAULTS["number_pattern"])
    try:
        compiled = re.compile(pattern)
    except re.error as e:
        v.fail("integrity.number_pattern", f"a regular expression ({e})", pattern)
    if "serial" not in compiled.groupindex:
        v.fail("integrity.number_pattern", "a regular expression with a group (?P<serial>...) for the serial number",
               pattern)
    out["number_pattern"] = pattern
    for key in ("late_entry_days", "duplicate_minutes", "heaping_window_minutes", "heaping_min_count"):
        val = v.get(r, key, f"integrity.{key}", int, required=False, default=INTEGRITY_DEFAULTS[key])
        v.positive(val, f"integrity.{key}")
        out[key] = val
    pv = v.get(r, "heaping_p_value", "integrity.heaping_p_value", float, required=False,
               default=INTEGRITY_DEFAULTS["heaping_p_value"])
    if not 0 < pv < 1:
        v.fail("integrity.heaping_p_value", "a probability between 0 and 1", pv)
    out["heaping_p_value"] = pv
    return out


def _sha256(text: bytes, holiday_files: tuple[HolidayFile, ...]) -> str:
    """The contract file's sha256; with ``calendar.files``, of the file and the files it names
    (a corrected notice recomputes the findings like an edited contract)."""
    if not holiday_files:
        return hashlib.sha256(text).hexdigest()
    h = hashlib.sha256(text)
    for hf in holiday_files:
        h.update(f"\n{hf.path.name}:{hf.sha256}".encode())
    return h.hexdigest()


_OFF_WORDS = {"放假", "休息", "假日", "节假日", "休", "off", "holiday", "true", "1"}
_WORK_WORDS = {"上班", "补班", "调休上班", "工作日", "班", "work", "workday", "false", "0"}


def _holiday_file(v: _V, base: Path, item: Any, key: str) -> HolidayFile:
    """Read one ``calendar.files`` entry: holiday-cn JSON (``{"year", "days": [{"date", "isOffDay"}]}``)
    or a CSV ``日期,类型`` with 放假 / 上班 per line; paths relative to the contract file."""
    if not isinstance(item, str) or not item.strip():
        v.fail(key, "a file path (holiday-cn JSON or a CSV 日期,类型), relative to the contract file", item)
    path = (base / item).resolve() if not Path(item).is_absolute() else Path(item)
    try:
        data = path.read_bytes()
    except OSError as e:
        v.fail(key, f"a readable file ({path}: {e.strerror or e})", item)
    off: set[dt.date] = set()
    work: set[dt.date] = set()
    years: set[int] = set()
    if path.suffix.lower() == ".json":
        import json

        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as e:
            v.fail(key, f"holiday-cn JSON ({path.name}: {e})")
        if not isinstance(doc, dict) or not isinstance(doc.get("days"), list):
            v.fail(key, f"holiday-cn JSON with a list \"days\" ({path.name})")
        for i, d in enumerate(doc["days"]):
            where = f"{path.name} days[{i}]"
            if not isinstance(d, dict) or "date" not in d or not isinstance(d.get("isOffDay"), bool):
                v.fail(key, f"{{\"date\": \"YYYY-MM-DD\", \"isOffDay\": true|false}} in {where}", d)
            day = v.date(d["date"], f"{key} ({where}.date)")
            (off if d["isOffDay"] else work).add(day)
        if isinstance(doc.get("year"), int) and doc["days"]:
            years.add(doc["year"])
    else:
        try:
            lines = data.decode("utf-8-sig").splitlines()
        except UnicodeDecodeError:
            lines = data.decode("gb18030", errors="replace").splitlines()
        for n, line in enumerate(lines, start=1):
            cells = [c.strip() for c in line.replace("\t", ",").split(",")]
            if not cells or not cells[0] or cells[0] in ("日期", "date"):
                continue
            if len(cells) < 2:
                v.fail(key, f"two columns 日期,类型 ({path.name} line {n})", line)
            day = v.date(cells[0].replace("/", "-"), f"{key} ({path.name} line {n})")
            kind = cells[1].lower()
            if kind in _OFF_WORDS:
                off.add(day)
            elif kind in _WORK_WORDS:
                work.add(day)
            else:
                v.fail(key, f"类型 放假 or 上班 ({path.name} line {n})", cells[1])
    both = off & work
    if both:
        v.fail(key, f"each date once, a holiday or a working day ({path.name})", sorted(str(d) for d in both)[:3])
    years |= {d.year for d in off | work}
    if not years:
        v.fail(key, f"a file listing the year's holidays ({path.name} lists no day: the notice is not out yet?)")
    return HolidayFile(path, frozenset(years), frozenset(off), frozenset(work), hashlib.sha256(data).hexdigest())


def _staff_clauses(v: _V, clauses: dict[str, dict[str, Any]]) -> None:
    """clauses.resident_staffing / leave_approval / monthly_record: optional; when present, title,
    section and text are text; monthly_record.due_working_day is a whole number 1-23 (default 5)."""
    for cid in STAFF_CLAUSES:
        if cid not in clauses:
            clauses[cid] = {"title": STAFF_CLAUSE_TITLES[cid], "section": "", "text": ""}
            continue
        for key in ("title", "section", "text"):
            v.get(clauses[cid], key, f"clauses.{cid}.{key}", str)
    rec = clauses["monthly_record"]
    n = v.get(rec, "due_working_day", "clauses.monthly_record.due_working_day", int, required=False, default=5)
    if not 1 <= n <= 23:
        v.fail("clauses.monthly_record.due_working_day", "a whole number from 1 to 23 (working days of a month)", n)
    rec["due_working_day"] = n
    types = v.get(rec, "deliverable_types", "clauses.monthly_record.deliverable_types", list, required=False,
                  default=list(DEFAULT_RECORD_TYPES))
    if not types or not all(isinstance(t, str) and t.strip() for t in types):
        v.fail("clauses.monthly_record.deliverable_types", "a list of 类型 names from the deliverables register",
               types)
    rec["deliverable_types"] = [t.strip() for t in types]


def _roster(v: _V, raw: dict[str, Any], signing: dt.date) -> tuple[dict[str, Any], tuple[RosterEntry, ...]]:
    """roster.required_count (>= 1, default 2), roster.grace_minutes (>= 0, default 0) and
    roster.staff: a list of {name, from, to}; ``from`` defaults to the signing date, ``to`` (inclusive)
    may be null. One person's periods must not overlap."""
    r = v.get(raw, "roster", "roster", dict, required=False, default={})
    required = v.get(r, "required_count", "roster.required_count", int, required=False, default=2)
    if required < 1:
        v.fail("roster.required_count", "a whole number of at least 1", required)
    grace = v.get(r, "grace_minutes", "roster.grace_minutes", int, required=False, default=0)
    if grace < 0:
        v.fail("roster.grace_minutes", "a whole number of minutes, 0 or more", grace)
    staff_raw = v.get(r, "staff", "roster.staff", list, required=False, default=[])
    entries: list[RosterEntry] = []
    for i, s in enumerate(staff_raw):
        k = f"roster.staff[{i}]"
        if not isinstance(s, dict):
            v.fail(k, "a mapping {name: 李工, from: YYYY-MM-DD, to: YYYY-MM-DD or null}", s)
        name = v.get(s, "name", f"{k}.name", str).strip()
        if not name:
            v.fail(f"{k}.name", "a person's name (not empty)", s["name"])
        unknown = sorted(set(s) - {"name", "from", "to", "role", "note", "ids"})
        if unknown:
            v.fail(f"{k}.{unknown[0]}", "only the keys name, from, to, role, note, ids")
        ids_raw = s.get("ids") or []
        if not isinstance(ids_raw, list) or not all(isinstance(x, str | int) and str(x).strip() for x in ids_raw):
            v.fail(f"{k}.ids", "a list of the numbers a terminal knows the person by, in quotes: [\"00123\"]",
                   ids_raw)
        ids = tuple(str(x).strip() for x in ids_raw)
        start = v.date(s["from"], f"{k}.from") if s.get("from") is not None else signing
        end = v.date(s["to"], f"{k}.to") if s.get("to") is not None else None
        if end is not None and end < start:
            v.fail(f"{k}.to", f"a date on or after {k}.from ({start})", str(end))
        for j, e in enumerate(entries):
            if e.name == name and e.start <= (end or dt.date.max) and start <= (e.end or dt.date.max):
                v.fail(f"{k}.from", f"dates that do not overlap roster.staff[{j}] for the same person ({name})",
                       str(start))
        entries.append(RosterEntry(name, start, end, ids))
    owners: dict[str, str] = {}
    for i, e in enumerate(entries):
        for x in e.ids:
            key = x.lstrip("0") or "0"
            if owners.get(key, e.name) != e.name:
                v.fail(f"roster.staff[{i}].ids", f"numbers of one person only ({x} is also {owners[key]}'s)", x)
            owners[key] = e.name
    roster = {"required_count": required, "grace_minutes": grace,
              "staff": [{"name": e.name, "from": e.start, "to": e.end} for e in entries]}
    return roster, tuple(entries)
