"""Column-mapping presets: YAML files that map an export's headers onto a canonical table.

A new hospital's format is a new preset file (docs/presets.md), not new code. Built-in presets
live in ``sla_lib/presets/``; ``--preset`` also accepts a path to a YAML file.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sla_lib.errors import InputError
from sla_lib.rules.contract import to_halfwidth
from sla_lib.store.schema import KIND_COLUMNS

PRESET_DIR = Path(__file__).with_name("presets")
# date_order: where the year, month and day stand among a date's three fields a, b, c
ORDER_FIELDS = {"dmy": ("c", "b", "a"), "mdy": ("c", "a", "b"), "ymd": ("a", "b", "c")}
DATE_ORDERS = tuple(ORDER_FIELDS)


@dataclass
class Preset:
    name: str
    kind: str
    description: str
    columns: dict[str, list[str]]  # canonical -> header synonyms
    required: list[str]
    file_name_hints: list[str]
    timestamp_formats: list[str]
    path: Path
    split_columns: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    events: dict | None = None
    sheet: str | None = None
    date_only: dict[str, str] = field(default_factory=dict)  # timestamp column -> start | end
    date_order: str | None = None  # dmy | mdy | ymd: how the export writes day, month and year
    missing_reason: dict[str, str] = field(default_factory=dict)  # empty required column -> column quoted
    patterns: dict[str, str] = field(default_factory=dict)  # text column -> regular expression it must match

    def extra_headers(self) -> list[str]:
        """Headers outside ``columns`` that the preset reads (event order, aggregate sources)."""
        if not self.events:
            return []
        out = list(self.events.get("order", []))
        for spec in self.events.get("aggregate", {}).values():
            if isinstance(spec, dict) and "min_of" in spec:
                out.append(spec["min_of"])
        if self.events.get("status_map"):
            out += [self.events["time"], self.events["status"]]
        return list(dict.fromkeys(out))


# no column name is this long; a longer cell (a 1 MB description under the header rows that are
# searched) is not normalised at all, so that a search for the header costs the same for any file
_LONGEST_HEADER = 200


def norm_header(h: str | None) -> str:
    if h is None:
        return ""
    h = str(h)
    return _norm_header(h) if len(h) <= _LONGEST_HEADER else "\0"


@functools.lru_cache(maxsize=4096)
def _norm_header(h: str) -> str:
    return re.sub(r"\s+", "", to_halfwidth(h)).lower()


_PARSED: dict[tuple[str, int, int], Preset] = {}


def load_preset_file(path: Path) -> Preset:
    """The preset of a YAML file (parsed once per process while the file is unchanged; a copy)."""
    try:
        st = Path(path).stat()
        key = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    if key is not None and key in _PARSED:
        return copy.deepcopy(_PARSED[key])
    preset = _load_preset_file(Path(path))
    if key is not None:
        _PARSED[key] = copy.deepcopy(preset)
    return preset


def _load_preset_file(path: Path) -> Preset:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the preset ({e})") from None

    def need(key, kind):
        if not isinstance(raw, dict) or not isinstance(raw.get(key), kind):
            raise InputError(f"{path}: key '{key}': expected {kind.__name__}")
        return raw[key]

    kind = need("kind", str)
    if kind not in KIND_COLUMNS:
        raise InputError(f"{path}: key 'kind': expected one of {', '.join(KIND_COLUMNS)}, got {kind!r}")
    columns = need("columns", dict)
    for canon, headers in columns.items():
        if canon not in KIND_COLUMNS[kind]:
            raise InputError(f"{path}: key 'columns.{canon}': not a column of {kind} "
                             f"(expected one of {', '.join(KIND_COLUMNS[kind])})")
        if isinstance(headers, str):
            columns[canon] = [headers]
        elif not isinstance(headers, list) or not headers:
            raise InputError(f"{path}: key 'columns.{canon}': expected a list of header names")
    split = raw.get("split_columns") or {}
    if not isinstance(split, dict):
        raise InputError(f"{path}: key 'split_columns': expected a mapping of column: {{date: [...], time: [...]}}")
    for canon, spec in split.items():
        if canon not in KIND_COLUMNS[kind] or not isinstance(spec, dict) or set(spec) != {"date", "time"}:
            raise InputError(f"{path}: key 'split_columns.{canon}': expected a timestamp column of {kind} with "
                             "'date' and 'time' header lists")
    required = raw.get("required", [])
    for r in required:
        if r not in columns and r not in split:
            raise InputError(f"{path}: key 'required': '{r}' has no entry under columns")
    events = raw.get("events")
    if events is not None:
        if not isinstance(events, dict) or not isinstance(events.get("order", []), list):
            raise InputError(f"{path}: key 'events': expected a mapping with 'order' (list of headers) and "
                             "'aggregate'")
        status_map = events.get("status_map")
        if status_map is not None:
            if not isinstance(status_map, dict) or not all(
                    c in KIND_COLUMNS[kind] and "TIMESTAMP" in KIND_COLUMNS[kind][c] and isinstance(v, list) and v
                    for c, v in status_map.items()):
                raise InputError(f"{path}: key 'events.status_map': expected timestamp columns of {kind} each with "
                                 "a list of statuses, e.g. {responded_at: [Active, 处理中], resolved_at: [Resolved]}")
            for key in ("time", "status"):
                if not isinstance(events.get(key), str):
                    raise InputError(f"{path}: key 'events.{key}': with events.status_map, the header of the "
                                     f"event's {'timestamp' if key == 'time' else 'status'} (e.g. sys_updated_at)")
        for canon, spec in (events.get("aggregate") or {}).items():
            ok = spec in ("first", "last", "min", "max") or (isinstance(spec, dict) and "min_of" in spec)
            if canon != "default" and canon not in KIND_COLUMNS[kind] or not ok:
                raise InputError(f"{path}: key 'events.aggregate.{canon}': expected first, last, min, max or "
                                 "{min_of: header, where_order_above: N}")
    date_order = raw.get("date_order")
    if date_order is not None and date_order not in DATE_ORDERS:
        raise InputError(f"{path}: key 'date_order': expected one of {', '.join(DATE_ORDERS)}, got {date_order!r}")
    known = {"name", "kind", "description", "columns", "required", "file_name_hints", "timestamp_formats",
             "split_columns", "events", "sheet", "date_only", "date_order", "missing_reason", "patterns"}
    missing_reason = raw.get("missing_reason") or {}
    if not isinstance(missing_reason, dict) or not all(
            a in required and b in KIND_COLUMNS[kind] for a, b in missing_reason.items()):
        raise InputError(f"{path}: key 'missing_reason': expected required column: the column whose text is the "
                         "reason when it is empty (e.g. {punched_at: result})")
    patterns = raw.get("patterns") or {}
    if not isinstance(patterns, dict) or not all(c in KIND_COLUMNS[kind] and isinstance(r, str) for c, r in patterns.items()):
        raise InputError(f"{path}: key 'patterns': expected column: regular expression, e.g. {{person: '[0-9]{{1,9}}'}}")
    for c, r in patterns.items():
        try:
            re.compile(r)
        except re.error as e:
            raise InputError(f"{path}: key 'patterns.{c}': not a regular expression ({e})") from None
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(f"{path}: key '{unknown[0]}': not a preset key (expected {', '.join(sorted(known))})")
    return Preset(
        name=need("name", str), kind=kind, description=str(raw.get("description", "")),
        columns={k: [str(h) for h in v] for k, v in columns.items()}, required=list(required),
        file_name_hints=[str(h) for h in raw.get("file_name_hints", [])],
        timestamp_formats=[str(f) for f in raw.get("timestamp_formats", [])], path=path,
        split_columns=split, events=events, sheet=raw.get("sheet"), date_only=dict(raw.get("date_only") or {}),
        date_order=date_order, missing_reason=dict(missing_reason), patterns=dict(patterns),
    )


def builtin_presets() -> dict[str, Preset]:
    out = {}
    for p in sorted(PRESET_DIR.glob("*.yaml")):
        preset = load_preset_file(p)
        out[preset.name] = preset
    return out


def get_preset(name_or_path: str) -> Preset:
    presets = builtin_presets()
    if name_or_path in presets:
        return presets[name_or_path]
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return load_preset_file(p)
    raise InputError(f"unknown preset '{name_or_path}'; expected one of {', '.join(presets)} or a .yaml path")


@dataclass
class HeaderMatch:
    row_index: int  # index into RawFile.head
    mapping: dict[str, int]  # canonical -> column index
    headers: dict[str, str]  # canonical -> header as written
    missing_required: list[str]
    split: dict[str, tuple[int, int]] = field(default_factory=dict)  # canonical -> (date col, time col)
    extra: dict[str, int] = field(default_factory=dict)  # extra header -> column index

    @property
    def size(self) -> int:
        """Columns found: mapped alone or joined from a date and a time column."""
        return len(self.mapping) + len(self.split)


def _two_level(top: list, sub: list) -> list[list[str]]:
    """Header candidates of each column under a two-row merged header (WeCom, DingTalk): the
    group of the top row (carried right across its merged cells) joined to the row below
    (上班1 + 打卡时间), the lower cell alone, the top cell alone."""
    out, group = [], ""
    for j in range(max(len(top), len(sub))):
        t = str(top[j]).strip() if j < len(top) and top[j] not in (None, "") else ""
        b = str(sub[j]).strip() if j < len(sub) and sub[j] not in (None, "") else ""
        if t:
            group = t
        elif not b:
            group = ""
        cands = [group + b, b] if b and group else [b or t]
        out.append([c for c in cands if c])
    return out


class HeaderRows:
    """The first rows of a file as header candidates, every cell normalised once: row ``i`` alone
    (``single[i]``) and rows ``i`` and ``i + 1`` read as a two-level merged header (``two[i]``).
    Each is ``(candidates as written, normalised, the set of normalised names)``. Made once per
    file and shared by every preset the file is scored against."""

    def __init__(self, head: list[list[str | None]]):
        self.head = head
        self.single = [_normed([[str(c)] if c not in (None, "") else [] for c in r]) for r in head]
        self.two = [_normed(_two_level(head[i], head[i + 1])) for i in range(len(head) - 1)]


def _normed(cands: list[list[str]]) -> tuple[list[list[str]], list[list[str]], frozenset[str]]:
    ncands = [[norm_header(c) for c in cs] for cs in cands]
    return cands, ncands, frozenset(n for ns in ncands for n in ns)


def match_header(head: list[list[str | None]] | HeaderRows, preset: Preset) -> HeaderMatch:
    """Find the header row: the first row holding every required column (or two rows of a merged
    two-level header), else the best row. ``head`` is the file's first rows, or their
    ``HeaderRows`` when several presets are tried on one file."""
    rows = head if isinstance(head, HeaderRows) else HeaderRows(head)
    lookup = {norm_header(h): canon for canon, hs in preset.columns.items() for h in hs}
    splits = [(canon, {norm_header(n) for n in spec["date"]}, {norm_header(n) for n in spec["time"]})
              for canon, spec in preset.split_columns.items()]
    extras = [(h, {norm_header(h)}) for h in preset.extra_headers()]
    known = set(lookup).union(*(d | t for _, d, t in splits), *(w for _, w in extras))
    best = None

    def attempt(i: int, row: tuple[list[list[str]], list[list[str]], frozenset[str]]) -> HeaderMatch:
        cands, ncands, names = row
        if names.isdisjoint(known):  # no cell names a column of this preset
            return HeaderMatch(i, {}, {}, list(preset.required) + [h for h, _ in extras], {}, {})
        mapping, headers = {}, {}
        for j, (cs, ns) in enumerate(zip(cands, ncands, strict=True)):
            normed = next((n for n in ns if n in lookup), ns[0] if ns else "")
            canon = lookup.get(normed)
            if canon and canon not in mapping:
                mapping[canon] = j
                headers[canon] = cs[ns.index(normed)]
        split = {}
        for canon, dates, times in splits:
            dj, tj = _find_normed(ncands, dates), _find_normed(ncands, times)
            if dj is not None and tj is not None:
                split[canon] = (dj, tj)
                mapping.pop(canon, None)
                headers[canon] = f"{_named(cands[dj], ncands[dj], dates)} + {_named(cands[tj], ncands[tj], times)}"
        extra = {h: j for h, wanted in extras if (j := _find_normed(ncands, wanted)) is not None}
        missing = [r for r in preset.required if r not in mapping and r not in split]
        missing += [h for h, _ in extras if h not in extra]
        return HeaderMatch(i, mapping, headers, missing, split, extra)

    singles: dict[int, HeaderMatch] = {}

    def single(i: int) -> HeaderMatch:
        if i not in singles:
            singles[i] = attempt(i, rows.single[i])
        return singles[i]

    n = len(rows.head)
    for i in range(n):
        tries = [single(i)]
        if i + 1 < n:
            # two rows only when they name more columns than either row alone (a title row above
            # a plain header is not a group; nor is a header above its first data row)
            two, lower = attempt(i + 1, rows.two[i]), single(i + 1)
            if two.size > max(lower.size, tries[0].size):
                tries.insert(0, two)
        for m in tries:
            if not m.missing_required and m.size >= 2:
                return m
            if best is None or len(m.mapping) > len(best.mapping):
                best = m
    return best or HeaderMatch(0, {}, {}, list(preset.required))


def _named(cands: list[str], normed: list[str], wanted: set[str]) -> str:
    """The header as written of the first candidate whose normalised name is wanted."""
    return next((c for c, n in zip(cands, normed, strict=True) if n in wanted), cands[0] if cands else "")


def _find_normed(ncands: list[list[str]], wanted: set[str]) -> int | None:
    """The column whose (normalised) header candidate is wanted: the joined header first, then the
    lower or single cell."""
    for k in range(2):
        for j, ns in enumerate(ncands):
            if len(ns) > k and ns[k] in wanted:
                return j
    return None
