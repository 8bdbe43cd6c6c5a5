"""``sla presets suggest FILE``: a first preset for an export no built-in preset knows.

It reads the file as ``sla ingest`` would (any encoding, xlsx/xls/csv, the chosen sheet), finds
the header row under title rows and merged cells (the row, or two-row merged header, whose cells
look most like headers the built-in presets know), and proposes for each canonical column of the
kind the header that stands for it, judged against every built-in preset's synonyms: the same
name, a name that contains a synonym (``故障报修时间`` contains ``报修时间``), or a close spelling
(``首次响应时刻``). Each proposal says why; every header left over is listed as unmapped; the
``date_order`` is guessed from the values (a first field above 12 is a day). The YAML is written
for the analyst to read and confirm, then used with ``sla ingest FILE --preset presets/NAME.yaml``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from sla_lib.errors import InputError
from sla_lib.load.presets import ORDER_FIELDS, _two_level, builtin_presets, norm_header
from sla_lib.load.readers import MAX_HEADER_SCAN, read_file
from sla_lib.store.schema import KIND_COLUMNS

CLOSE = 0.66  # difflib ratio from which a spelling counts as close (处理结束时间 ~ 处理完成时间: 0.67)


@dataclass
class Suggestion:
    kind: str
    header_row: int  # 1-based row of the (last) header row as the analyst sees it
    headers: list[str]
    mapping: dict[str, tuple[str, str]] = field(default_factory=dict)  # canonical -> (header, why)
    unmapped: list[str] = field(default_factory=list)
    date_order: str | None = None
    date_note: str = ""
    required: list[str] = field(default_factory=list)
    split: dict[str, tuple[str, str]] = field(default_factory=dict)  # canonical -> (date header, time header)


def _synonyms(kind: str | None) -> dict[str, dict[str, str]]:
    """kind -> normalised synonym -> canonical column, from every built-in preset."""
    out: dict[str, dict[str, str]] = {}
    for p in builtin_presets().values():
        if kind in (None, p.kind):
            for canon, names in p.columns.items():
                for n in names:
                    out.setdefault(p.kind, {}).setdefault(norm_header(n), canon)
            for canon, spec in p.split_columns.items():  # the time half (上班1打卡时间), not a bare 时间
                for n in spec["time"]:
                    if len(norm_header(n)) >= 4:
                        out.setdefault(p.kind, {}).setdefault(norm_header(n), canon)
    return out


def _judge(header: str, synonyms: dict[str, str]) -> tuple[str, str] | None:
    """(canonical, why) for one header, or None."""
    h = norm_header(header)
    if not h:
        return None
    if h in synonyms:
        return synonyms[h], f"same name as a built-in synonym ({header})"
    close = difflib.get_close_matches(h, list(synonyms), n=1, cutoff=CLOSE)
    if close:
        return synonyms[close[0]], f"close to the synonym {close[0]}"
    # a synonym inside the header: three characters or more, or a two-character one (科室, 系统)
    # that is half the header; a short generic word inside a long header says little
    within = sorted((s for s in synonyms if s in h and (len(s) >= 3 or 2 * len(s) >= len(h))), key=len, reverse=True)
    if within:
        return synonyms[within[0]], f"contains the synonym {within[0]}"
    return None


def _header_candidates(head: list[list]) -> list[tuple[int, list[str]]]:
    """(index into head, one name per column): every row, and every two-row merged header."""
    out = []
    for i, row in enumerate(head):
        out.append((i, ["" if c is None else str(c).strip() for c in row]))
        if i + 1 < len(head):
            joined = _two_level(row, head[i + 1])
            out.append((i + 1, [cs[0] if cs else "" for cs in joined]))
    return out


def _guess_order(values: list[str], today: dt.date | None = None) -> tuple[str | None, str]:
    """The field order under which every date value is a real date in a plausible year (2000 to
    next year), when exactly one order does that; else None with the reason."""
    today = today or dt.date.today()
    triples = []
    for v in values:
        m = re.match(r"^\s*(\d{1,4})[-/.年](\d{1,2})[-/.月](\d{1,4})", str(v))
        if m:
            triples.append(tuple(m.groups()))
    if not triples:
        return None, "no date values seen"

    def fits(order: str) -> bool:
        for a, b, c in triples:
            fields = {"a": a, "b": b, "c": c}
            y, mo, d = (fields[k] for k in ORDER_FIELDS[order])
            if len(y) not in (2, 4):
                return False
            year = int(y) + (2000 if len(y) == 2 else 0)
            try:
                day = dt.date(year, int(mo), int(d))
            except ValueError:
                return False
            if not 2000 <= day.year <= today.year + 1:
                return False
        return True

    orders = [o for o in ("ymd", "dmy", "mdy") if fits(o)]
    if len(orders) == 1:
        return orders[0], f"the only order that gives real dates in a plausible year ({len(triples)} values)"
    if not orders:
        return None, "no order reads every date value: check the values"
    return None, (f"the values fit {' and '.join(orders)} alike (e.g. {'-'.join(triples[0])}): "
                  f"fill in date_order yourself")


def suggest(path: Path, kind: str | None = None, sheet: str | None = None) -> Suggestion:
    con = duckdb.connect()
    try:
        raw = read_file(con, Path(path), "sla_raw", sheet)
        kinds = _synonyms(kind)
        if not kinds:
            raise InputError(f"no built-in preset of kind '{kind}'")
        best = None
        for i, names in _header_candidates(raw.head[:MAX_HEADER_SCAN]):
            for k, syn in kinds.items():
                hits = {}
                for n in names:
                    j = _judge(n, syn)
                    if j and j[0] not in hits:
                        hits[j[0]] = (n, j[1])
                score = (len(hits), -i)
                if best is None or score > best[0]:
                    best = (score, i, k, names, hits)
        if best is None or best[0][0] < 2:
            raise InputError(f"{path}: no row looks like a header (fewer than two columns resemble any built-in "
                             "preset's headers); write the preset by hand (docs/presets.md)")
        _, i, k, names, hits = best
        header_row = con.execute(f"SELECT _row FROM sla_raw ORDER BY _row LIMIT 1 OFFSET {i}").fetchall()[0][0]
        ts_cols = [c for c, t in KIND_COLUMNS[k].items() if t in ("TIMESTAMP", "DATE") and c in hits]
        values: list[str] = []
        for c in ts_cols:
            j = names.index(hits[c][0])
            values += [r[0] for r in con.execute(
                f"SELECT c{j} FROM sla_raw WHERE _row > ? AND c{j} IS NOT NULL LIMIT 200", [header_row]).fetchall()]
        order, note = _guess_order(values)
        # a timestamp column holding times of day only, beside a date column: a split column
        split = {}
        date_col = next((c for c, t in KIND_COLUMNS[k].items() if t == "DATE" and c in hits), None)
        for c in ts_cols:
            if KIND_COLUMNS[k][c] != "TIMESTAMP" or date_col is None:
                continue
            j = names.index(hits[c][0])
            sample = [r[0] for r in con.execute(
                f"SELECT c{j} FROM sla_raw WHERE _row > ? AND c{j} IS NOT NULL LIMIT 50", [header_row]).fetchall()]
            if sample and all(re.fullmatch(r"\s*\d{1,2}:\d{2}(:\d{2})?\s*", str(v)) or str(v).strip() in ("--", "-", "")
                              for v in sample):
                split[c] = (hits[date_col][0], hits[c][0])
        required = next((p.required for p in builtin_presets().values() if p.kind == k and p.name.startswith("cn-")),
                        [])
        mapped_headers = {h for h, _ in hits.values()}
        return Suggestion(k, header_row, names, hits, [n for n in names if n and n not in mapped_headers],
                          order, note, [r for r in required if r in hits], split)
    finally:
        con.close()


def to_yaml(s: Suggestion, name: str, source: Path) -> str:
    lines = [
        f"# Proposed by `sla presets suggest` for {source.name}: read it, correct it, then",
        f"#   sla ingest {source.name} --preset presets/{name}.yaml",
        f"# Header row: {s.header_row}. Each column says why it was mapped; check the guesses.",
        f"name: {name}",
        f"kind: {s.kind}",
        f"description: {source.stem}（由 sla presets suggest 生成，待确认）",
        f"required: [{', '.join(s.required)}]",
        "columns:",
    ]
    for canon in KIND_COLUMNS[s.kind]:
        if canon in s.mapping and canon not in s.split:
            header, why = s.mapping[canon]
            lines.append(f"  {canon}: [{_quote(header)}]   # {why}")
    missing = [c for c in KIND_COLUMNS[s.kind] if c not in s.mapping and c != "system_raw"]
    if missing:
        lines.append(f"  # not found in this export: {', '.join(missing)}")
    if s.split:
        lines.append("split_columns:   # times of day beside a date column: joined")
        for canon, (d, t) in s.split.items():
            lines.append(f"  {canon}: {{date: [{_quote(d)}], time: [{_quote(t)}]}}   # {s.mapping[canon][1]}")
    if s.date_order:
        lines.append(f"date_order: {s.date_order}   # guessed: {s.date_note}")
    else:
        lines.append(f"# date_order: dmy | mdy | ymd   # {s.date_note}")
    if s.unmapped:
        lines.append("# unmapped headers (not loaded): " + ", ".join(s.unmapped))
    return "\n".join(lines) + "\n"


def _quote(h: str) -> str:
    return h if re.fullmatch(r"[\w\u4e00-\u9fff()（）·]+", h) else '"' + h.replace('"', '\\"') + '"'


def write_suggestion(path: Path, out_dir: Path, name: str | None = None, kind: str | None = None,
                     sheet: str | None = None, force: bool = False) -> tuple[Path, Suggestion]:
    s = suggest(path, kind, sheet)
    name = name or re.sub(r"[^\w-]+", "-", Path(path).stem).strip("-").lower() or "my-export"
    target = Path(out_dir) / f"{name}.yaml"
    if target.exists() and not force:
        raise InputError(f"{target}: exists already; pass --force to replace it or --name for another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_yaml(s, name, Path(path)), encoding="utf-8")
    return target, s
