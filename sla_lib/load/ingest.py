"""`sla ingest`: exports in data/raw/ -> canonical tables -> findings, nothing lost.

For every file: rows read = rows loaded + rows rejected. Each file loads in one transaction and
is recognised by the sha256 of its bytes, so loading it again changes nothing. After loading,
the findings (ticket_sla, calendar_years, meta) are recomputed from the current tickets.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from sla_lib import config
from sla_lib.errors import InputError, SlaError
from sla_lib.findings.recompute import recompute_findings
from sla_lib.load.arrival import MESSAGE, still_arriving
from sla_lib.load.presets import ORDER_FIELDS, HeaderRows, Preset, builtin_presets, get_preset, match_header
from sla_lib.load.readers import RawFile, drop_raw, read_file, sheet_names
from sla_lib.rules.contract import FULLWIDTH, HALFWIDTH, Contract, load_contract
from sla_lib.store import db as dbm
from sla_lib.store import schema
from sla_lib.store.db import scalar

MISSING = ("", "-", "--", "/", "无", "?", "？", "－", "／", "null", "none", "n/a", "na", "—", "——", "nan", "ｎｕｌｌ", "\u3000")
BUILTIN_TS_FORMATS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M:%S", "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H时%M分", "%Y年%m月%d日%H时%M分",
]
TS_EXAMPLE = "2026-03-05 08:07、2026/3/5 8:07、2026年3月5日 8:07、下午3:07 或 Excel 日期"
YEAR_RANGE = (2000, 2100)
# Timestamps of things that have happened (not leave, which is planned ahead): one later than the
# moment of loading (plus a day for clock and time-zone slack) is a typing error (2062 for 2026);
# loaded, it would become as_of and turn every open clock into a breach. docs/decisions.md.
HAPPENED = {"tickets": None, "punches": ("punched_at",), "deliverables": ("submitted_at",)}  # None: all
FUTURE_SLACK = dt.timedelta(days=1)
SKIP_NAMES = {".gitkeep", ".DS_Store", "desktop.ini", "Thumbs.db"}
TEXT_MASKED = ("description", "reporter", "department", "exclusion", "status", "note", "content", "findings",
               "result", "title", "leave_type")


@functools.cache
def _plain_initials_sql(x: str) -> str:
    """SQL true when the first character of x shows that x is no missing marker: an ASCII digit or
    letter, or a common CJK ideograph, that no marker begins with (in any case). trim() never
    removes such a character, so it is also the first character of lower(trim(x)), which
    sla_txt compares with the markers. Most cells start so and skip that comparison.

    One anchored character class (RE2), not a test of unicode(x) per range: as fast to run (a
    150,000-ticket file's 19 columns 353 ms against 355 ms) and half the planning (a file's 19
    columns 23.5 ms against 11.5 ms, paid by every file however small)."""
    initials = {m[0] for m in MISSING if m}
    ranges = []
    for a, b in ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0x4E00, 0x9FFF)):
        # the characters of the block that are not plain: few, so the block is not walked whole
        # (an ideograph is its own lower case and never a space)
        cjk = a >= 0x4E00
        candidates = sorted(ord(i) for i in initials if a <= ord(i) <= b) if cjk else range(a, b + 1)
        out = [c for c in candidates if chr(c).lower()[:1] in initials or chr(c).isspace()]
        lo = a
        for c in out:
            if c > lo:
                ranges.append((lo, c - 1))
            lo = c + 1
        if lo <= b:
            ranges.append((lo, b))
    cls = "".join(rf"\x{{{a:X}}}-\x{{{b:X}}}" for a, b in ranges)
    return f"regexp_matches({x}, '^[{cls}]')"


@dataclass
class FileResult:
    path: Path
    status: str  # loaded | skipped | failed | incomplete (still being copied: loaded by the next run)
    message: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    kind: str = ""
    preset: str = ""
    rows_merged: int = 0


@dataclass
class IngestResult:
    files: list[FileResult] = field(default_factory=list)
    as_of: str | None = None
    tickets: int = 0

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]


class SqlReason(str):
    """A reject reason computed per row (an SQL expression over the parsed row), not a constant."""


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


# a date with its fields in a declared order (date_order): any of - / . 年 月 between them, no zero
# padding needed, a weekday anywhere (星期六, 周六, Sat) ignored, an optional time H:MM[:SS]
ORDERED_TS = (r"^(\d{1,4})[-/.年](\d{1,2})[-/.月](\d{1,4})日?"
              r"(?:[ T]+(\d{1,2})[:时](\d{1,2})(?:分|[:分](\d{1,2})秒?)?(?:\.\d+)?)?$")
WEEKDAY = r"(星期|礼拜|周)[一二三四五六日天]|\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
# day and month both 1-12 and no order declared: never guessed
AMBIGUOUS_TS = r"^\s*(0?[1-9]|1[0-2])[-/.](0?[1-9]|1[0-2])[-/.](\d{2}|\d{4})(\s|$)"


def _ordered_sql(order: str) -> str:
    y, mo, d = ORDER_FIELDS[order]

    def part(k, default="0"):
        return f"coalesce(TRY_CAST(nullif(p.{k}, '') AS INTEGER), {default})"

    year = f"CASE WHEN strlen(p.{y}) = 2 THEN 2000 + {part(y)} WHEN strlen(p.{y}) = 4 THEN {part(y)} END"
    # a lambda over the one-element list of the fields (not a subquery): bound once, not per use
    return (f"list_transform([regexp_extract("
            f"trim(regexp_replace(regexp_replace(sla_ts_clean(x), {sql_str(WEEKDAY)}, ' ', 'gi'), '\\s+', ' ', 'g')), "
            f"{sql_str(ORDERED_TS)}, ['a', 'b', 'c', 'h', 'mi', 's'])], lambda p: "
            f"try_strptime(printf('%04d-%02d-%02d %02d:%02d:%02d', {year}, {part(mo)}, {part(d)}, "
            f"{part('h')}, {part('mi')}, {part('s')}), '%Y-%m-%d %H:%M:%S'))[1]")


def _first_formats(extra_formats: list[str] | None, fast: bool) -> str:
    """The spellings sla_ts tries first, as an SQL list: ISO (fast), or the preset's and the built-in ones."""
    if fast:
        return "['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M']"
    return "[" + ", ".join(sql_str(f) for f in [*(extra_formats or []), *BUILTIN_TS_FORMATS]) + "]"


def install_macros(con, contract: Contract, extra_formats: list[str] | None = None, fast: bool = True,
                   date_order: str | None = None) -> None:
    """SQL macros that clean text, parse timestamps and mask identifiers, column-wide.

    A preset's own timestamp spellings are tried first, and then the built-in ones; the ISO fast
    path is used only when the preset names none (so dd-mm-yyyy is never read as yyyy-mm-dd). With
    ``date_order`` (dmy, mdy, ymd), any spelling with the fields in that order is read
    (``29/2/2016 01:16``, ``26-02-28 星期六``); ISO with an offset is converted to hospital time."""
    fmts = _first_formats(extra_formats, fast=False)
    first = _first_formats(extra_formats, fast)
    ordered = _ordered_sql(date_order) if date_order else "CAST(NULL AS TIMESTAMP)"
    offset = (f"CASE WHEN regexp_matches(x, '[0-9]T[0-9].*([+-][0-9]{{2}}:?[0-9]{{2}}|Z)$') THEN "
              f"timezone({sql_str(contract.timezone)}, coalesce(try_strptime(x, '%Y-%m-%dT%H:%M:%S%z'), "
              f"try_strptime(x, '%Y-%m-%dT%H:%M:%S.%f%z'), try_strptime(replace(x, 'Z', '+00:00'), "
              f"'%Y-%m-%dT%H:%M:%S%z'))) END")
    missing = ", ".join(sql_str(m) for m in MISSING)
    macros = f"""
    CREATE OR REPLACE TEMP MACRO sla_hw(x) AS translate(x, {sql_str(FULLWIDTH)}, {sql_str(HALFWIDTH)});
    -- a missing marker -> NULL, else the trimmed text; markers are short, and the first
    -- character of most cells rules them out before the costlier lower(trim(x)) comparison
    CREATE OR REPLACE TEMP MACRO sla_txt(x) AS
        CASE WHEN strlen(x) > 12 OR {_plain_initials_sql("x")} THEN trim(x)
             WHEN list_contains([{missing}], lower(trim(x))) THEN NULL ELSE trim(x) END;
    CREATE OR REPLACE TEMP MACRO sla_ts_clean(x) AS
        trim(regexp_replace(regexp_replace(sla_hw(x), '(上午|下午|中午|晚上|凌晨|早上|AM|PM|am|pm)', ' ', 'g'),
                            '\\s+', ' ', 'g'));
    -- (t once, in a lambda: a macro argument used three times is planned three times)
    CREATE OR REPLACE TEMP MACRO sla_ts_pm(x, t) AS
        list_transform([t], lambda u: u + CASE WHEN regexp_matches(x, '下午|晚上|PM|pm') AND hour(u) < 12
                                               THEN INTERVAL 12 HOUR
                                               WHEN regexp_matches(x, '凌晨|上午|AM|am') AND hour(u) = 12
                                               THEN -INTERVAL 12 HOUR ELSE INTERVAL 0 HOUR END)[1];
    CREATE OR REPLACE TEMP MACRO sla_ts_text(x) AS
        coalesce({offset}, sla_ts_pm(x, coalesce({ordered}, try_strptime(sla_ts_clean(x), {fmts}))));
    CREATE OR REPLACE TEMP MACRO sla_ts_slow(x) AS
        CASE WHEN regexp_full_match(x, '[0-9]{{5}}(\\.[0-9]+)?')
                  THEN TIMESTAMP '1899-12-30' + to_seconds(CAST(round(CAST(x AS DOUBLE) * 86400) AS BIGINT))
             -- DingTalk writes a punch after midnight of the row's day as "次日 00:07": the next day
             ELSE sla_ts_text(trim(replace(x, '次日', ' ')))
                  + CASE WHEN contains(x, '次日') THEN INTERVAL 1 DAY ELSE INTERVAL 0 DAY END END;
    -- ISO spellings first (most exports); everything else only for the rows that need it
    CREATE OR REPLACE TEMP MACRO sla_ts(x) AS
        coalesce(try_strptime(x, {first}), sla_ts_slow(x));
    CREATE OR REPLACE TEMP MACRO sla_date(x) AS
        coalesce(CAST(try_strptime(trim(sla_hw(x)), ['%Y-%m-%d', '%Y/%m/%d', '%Y.%m.%d', '%Y年%m月%d日', '%Y%m%d'])
                      AS DATE),
                 CAST(sla_ts(x) AS DATE));
    -- a date column plus a time column; a time cell that already holds a full date-time wins
    CREATE OR REPLACE TEMP MACRO sla_join_dt(d, t) AS
        CASE WHEN t IS NULL OR d IS NULL THEN NULL
             WHEN regexp_matches(t, '^\\s*[0-9]{{4}}[-/年.]') THEN t
             ELSE regexp_replace(d, ' 00:00:00$', '') || ' ' || t END;
    CREATE OR REPLACE TEMP MACRO sla_num(x) AS
        TRY_CAST(regexp_replace(sla_hw(x), '[,，\\s元¥￥]', '', 'g') AS DOUBLE);
    CREATE OR REPLACE TEMP MACRO sla_period(x) AS
        CASE WHEN regexp_full_match(sla_hw(x), '\\s*([0-9]{{4}})\\s*[-/年.]?\\s*[Qq第]\\s*([1-4])\\s*(季度)?\\s*')
                  THEN regexp_extract(sla_hw(x), '([0-9]{{4}})', 1) || '-Q'
                       || regexp_extract(sla_hw(x), '[Qq第]\\s*([1-4])', 1)
             WHEN regexp_full_match(sla_hw(x), '\\s*([0-9]{{4}})\\s*[-/年.]\\s*(0?[1-9]|1[0-2])\\s*月?\\s*')
                  THEN regexp_extract(sla_hw(x), '([0-9]{{4}})', 1) || '-'
                       || lpad(regexp_extract(sla_hw(x), '[-/年.]\\s*(1[0-2]|0?[1-9])', 1), 2, '0') END;
    CREATE OR REPLACE TEMP MACRO sla_mask(x) AS
        CASE WHEN NOT regexp_matches(x, '[0-9]|患者|病人|患儿|姓名') THEN x ELSE regexp_replace(regexp_replace(regexp_replace(regexp_replace(x,
            '(患者|病人|患儿|姓名)([:：]?\\s*)\\p{{Han}}{{2,3}}', '\\1\\2[姓名已隐藏]', 'g'),
            '(住院号|病案号|门诊号|病历号|就诊号)([:：]?\\s*)[A-Za-z0-9-]+', '\\1\\2[已隐藏]', 'g'),
            '(^|[^0-9])[1-9][0-9]{{16}}[0-9Xx]', '\\1[身份证号已隐藏]', 'g'),
            '(^|[^0-9])1[3-9][0-9]{{9}}', '\\1[手机号已隐藏]', 'g') END;
    CREATE OR REPLACE TEMP MACRO sla_bool(x) AS
        CASE WHEN x IS NULL THEN NULL
             WHEN x = '是' THEN TRUE
             WHEN x = '否' THEN FALSE
             WHEN upper(sla_hw(x)) IN ('是', 'Y', 'YES', 'TRUE', '1', '需要', '现场') THEN TRUE
             WHEN upper(sla_hw(x)) IN ('否', 'N', 'NO', 'FALSE', '0', '不需要', '远程') THEN FALSE END;
    CREATE OR REPLACE TEMP MACRO sla_norm(x) AS upper(regexp_replace(sla_hw(x), '\\s+', '', 'g'));
    """
    systems = list(contract.system_lookup().items())
    # the files of one load mostly need the same macros (a preset with no spellings of its own):
    # installed again only when they differ from the ones this connection has (~15 ms a file)
    key = hashlib.sha256(repr((macros, systems)).encode("utf-8")).hexdigest()
    # (a temp table is looked up in the temp catalog only: listing every table of a connection's
    # database the first time, as table_exists does, costs ~12 ms)
    if scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'temp' AND table_name = 'sla_macros'") \
            and scalar(con, "SELECT key FROM sla_macros") == key:
        return
    con.execute(macros)
    con.execute("CREATE OR REPLACE TEMP TABLE sla_systems (norm VARCHAR, code VARCHAR)")
    con.executemany("INSERT INTO sla_systems VALUES (?, ?)", systems)
    con.execute("CREATE OR REPLACE TEMP TABLE sla_macros AS SELECT ? AS key", [key])


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def expand_paths(paths: list[Path], raw_dir: Path) -> list[Path]:
    if not paths:
        paths = [raw_dir]
    out = []
    for p in paths:
        if p.is_dir():
            out += sorted(q for q in p.iterdir()
                          if q.is_file() and q.name not in SKIP_NAMES and not q.name.startswith((".", "~$")))
        elif p.exists():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return out


def _fit(raw: RawFile, rows: HeaderRows, p: Preset):
    """How well preset ``p`` fits the file whose first rows are ``rows``: (its header match, (every
    required column found, columns mapped, the file name carries one of its hints)), the order
    presets are chosen by."""
    m = match_header(rows, p)
    hint = any(h.lower() in raw.path.name.lower() for h in p.file_name_hints)
    return m, (not m.missing_required, len(m.mapping), hint)


def choose_preset(raw: RawFile, kind: str | None, preset: str | None) -> tuple[Preset, object]:
    """The preset named, else the one whose headers the file matches (file name hints break ties)."""
    if preset:
        p = get_preset(preset)
        return p, match_header(raw.head, p)
    candidates = [p for p in builtin_presets().values() if kind in (None, p.kind)]
    if not candidates:
        raise InputError(f"no preset for kind '{kind}'")
    rows = HeaderRows(raw.head)  # normalised once for every preset
    scored = [(*score, p, m) for p in candidates for m, score in [_fit(raw, rows, p)]]
    scored.sort(key=lambda t: t[:3], reverse=True)
    if not scored[0][0]:  # nothing fits: explain against the preset the file name points to
        scored.sort(key=lambda t: (t[2], t[1]), reverse=True)
        if not scored[0][2] and len(candidates) > 1:
            kinds = "; ".join(f"{p.kind} ({', '.join(p.columns[c][0] for c in p.required if c in p.columns)})"
                              for p in candidates)
            raise InputError(f"{raw.path}: no preset recognises the header row; expected the headers of one of: "
                             f"{kinds} (or name one with --preset / --kind; to draft a preset for this export: "
                             f"sla presets suggest {raw.path})")
    return scored[0][3], scored[0][4]


def load_file(con, raw: RawFile, contract: Contract, kind: str | None, preset: str | None,
              file_id: str, load_seq: int) -> FileResult:
    """Map, validate and load one file already read into ``sla_raw``, inside the caller's transaction."""
    path = raw.path
    src = dbm.project_relative(path)
    p, m = choose_preset(raw, kind, preset)
    if m.missing_required:
        want = "; ".join(f"{c} ({' / '.join(p.columns[c])})" if c in p.columns else c for c in m.missing_required)
        found = ", ".join(str(c) for c in (raw.head[m.row_index] if raw.head else []) if c)
        raise InputError(f"{src}: header row not recognised for preset '{p.name}': missing required "
                         f"column(s) {want}; the closest row ({_row_label(raw, m.row_index)}) has: {found}. "
                         f"To draft a preset for this export: sla presets suggest {src}")
    fast = not p.timestamp_formats  # the ISO fast path only when the preset names no spelling of its own
    install_macros(con, contract, p.timestamp_formats, fast=fast, date_order=p.date_order)
    header_row = scalar(con, f"SELECT _row FROM sla_raw ORDER BY _row LIMIT 1 OFFSET {m.row_index}")

    ts_cols = set(schema.KIND_TIMESTAMPS[p.kind])
    now = dt.datetime.now().replace(microsecond=0)  # the load instant (future-dated values, ingest_log)
    # Stage 1: cleaned text of each mapped column (missing markers -> NULL). Not materialised: it
    # is the subquery under stage 2, which keeps the cleaned text beside the typed values.
    mapped = [c for c in schema.KIND_COLUMNS[p.kind] if (c in m.mapping or c in m.split) and c != "system_raw"]
    clean = [f"sla_txt(c{m.mapping[c]}) AS raw_{c}" if c in m.mapping else
             f"sla_join_dt(sla_txt(c{m.split[c][0]}), sla_txt(c{m.split[c][1]})) AS raw_{c}" for c in mapped]
    extra = {h: f"x{i}" for i, h in enumerate(m.extra)}
    clean += [f"sla_txt(c{m.extra[h]}) AS {x}" for h, x in extra.items()]
    data_rows = f"FROM sla_raw WHERE _row > {header_row}"
    sla_clean = f"(SELECT _row{''.join(', ' + c for c in clean)} {data_rows})"
    # Stage 2: typed values, column by column. The cleaned text is kept beside the value only for
    # typed columns (checks and rejects quote it); a text column's value is its cleaned text, or
    # sla_mask of it, NULL exactly when the text is, so a second copy would only cost memory.
    types = schema.KIND_COLUMNS[p.kind]
    # (and a text column checked against a pattern, or mapped through the roster's terminal ids)
    typed = [c for c in mapped if types[c] != "VARCHAR" or c in ("period", "system") or c in p.patterns
             or (c == "person" and contract.roster_ids())]
    text_of = {c: f"raw_{c}" if c in typed else c for c in mapped}  # where the cleaned text is
    sel = ["c._row"] + [f"c.raw_{c}" for c in typed]
    if p.events:
        order = [extra[h] for h in p.events.get("order", [])]
        sel.append(f"({' + '.join(f'coalesce(TRY_CAST(c.{x} AS DOUBLE), 0)' for x in order) or '0'}) AS _ord")
        sel += [f"sla_ts(c.{x}) AS _t_{x}" for x in extra.values()]
        if p.events.get("status_map"):
            sel.append(f"c.{extra[p.events['status']]} AS _s_status")
    checks = []  # (canonical, condition SQL over sla_parsed, reason)
    join = ""
    # timestamp columns whose every cell is spelt as sla_ts tries first: parsed by that alone. The
    # whole sla_ts (Excel serials, 下午, 次日, offsets, other spellings) costs ~2 ms of planning a
    # column, and an export's columns are mostly of one spelling. The cells are read as written (not
    # trimmed, markers not removed): a cell that would need cleaning keeps its column on sla_ts.
    first = _first_formats(p.timestamp_formats, fast)
    plain_ts = [c for c in mapped if types[c] == "TIMESTAMP" and c in m.mapping and c not in p.date_only]
    simple: set[str] = set()
    if plain_ts:
        counts = con.execute("SELECT " + ", ".join(
            f"count(*) FILTER (WHERE c{m.mapping[c]} IS NOT NULL AND try_strptime(c{m.mapping[c]}, {first}) IS NULL)"
            for c in plain_ts) + f" {data_rows}").fetchall()[0]
        simple = {c for c, n in zip(plain_ts, counts, strict=True) if n == 0}
    masked_cols = [m.mapping[c] for c in mapped if c in TEXT_MASKED and c in m.mapping]
    # a small file masks every row: sampling its columns and planning the joins cost more (~10 ms)
    repetitive = (_repetitive(con, masked_cols, data_rows) if raw.nrows > SMALL_FILE_ROWS
                  else dict.fromkeys(masked_cols, False))
    for canon, typ in schema.KIND_COLUMNS[p.kind].items():
        if canon == "system_raw":
            continue
        if canon not in mapped:
            sel.append(f"CAST(NULL AS {typ}) AS {canon}")
            continue
        rawc = f"c.raw_{canon}"
        if typ in ("TIMESTAMP", "DATE"):
            if typ == "DATE":
                sel.append(f"sla_date({rawc}) AS {canon}")
                expected = "应为日期，如 2026-03-05、2026/3/5、2026年3月5日"
            elif canon in p.date_only:  # a date alone: the start (00:00) or the end (23:59:59) of that day
                end = " + INTERVAL 86399 SECOND" if p.date_only[canon] == "end" else ""
                sel.append(f"coalesce(sla_ts({rawc}), CAST(sla_date({rawc}) AS TIMESTAMP){end}) AS {canon}")
                expected = f"无法识别的日期或日期时间，应为 {TS_EXAMPLE}"
            elif canon in simple:
                sel.append(f"try_strptime({rawc}, {first}) AS {canon}")
                expected = f"无法识别的日期时间，应为 {TS_EXAMPLE}"
            else:
                sel.append(f"sla_ts({rawc}) AS {canon}")
                expected = f"无法识别的日期时间，应为 {TS_EXAMPLE}"
            if p.date_order is None:
                amb = f"regexp_matches(raw_{canon}, {sql_str(AMBIGUOUS_TS)})"
                checks.append((canon, f"raw_{canon} IS NOT NULL AND {canon} IS NULL AND {amb}",
                               "日月顺序不明（如 05/03/2026 可能是 5 月 3 日，也可能是 3 月 5 日），不作猜测："
                               "请在预设中写明 date_order: dmy、mdy 或 ymd"))
                checks.append((canon, f"raw_{canon} IS NOT NULL AND {canon} IS NULL AND NOT {amb}", expected))
            else:
                checks.append((canon, f"raw_{canon} IS NOT NULL AND {canon} IS NULL",
                               f"无法按日期顺序 {p.date_order} 读出的日期时间"))
            checks.append((canon, f"year({canon}) NOT BETWEEN {YEAR_RANGE[0]} AND {YEAR_RANGE[1]}",
                           f"日期超出合理范围（应在 {YEAR_RANGE[0]}–{YEAR_RANGE[1]} 年之间）"))
            if typ == "TIMESTAMP" and p.kind in HAPPENED and (HAPPENED[p.kind] is None or canon in HAPPENED[p.kind]):
                checks.append((canon, f"{canon} > TIMESTAMP '{now + FUTURE_SLACK}' AND year({canon}) <= {YEAR_RANGE[1]}",
                               f"时间晚于导入时刻（{now:%Y-%m-%d %H:%M}），不可能已发生，疑为日期笔误"))
        elif typ == "DOUBLE":
            sel.append(f"sla_num({rawc}) AS {canon}")
            checks.append((canon, f"raw_{canon} IS NOT NULL AND {canon} IS NULL", "应为数字，如 1200 或 1,200.50"))
        elif canon == "period":
            sel.append(f"sla_period({rawc}) AS {canon}")
            checks.append((canon, f"raw_{canon} IS NOT NULL AND {canon} IS NULL",
                           "应为月份 2026-03 或季度 2026-Q1"))
        elif typ == "BOOLEAN":
            sel.append(f"sla_bool({rawc}) AS {canon}")
            checks.append((canon, f"raw_{canon} IS NOT NULL AND {canon} IS NULL", "应为 是 或 否"))
        elif canon == "system":
            sel.append("s.code AS system")
            # normalise each distinct spelling once, then join on the text as written
            # (the distinct cleaned spellings: the distinct cells, cleaned)
            spellings = f"SELECT DISTINCT sla_txt(x) AS raw FROM (SELECT DISTINCT c{m.mapping['system']} AS x {data_rows})"
            join += (f" LEFT JOIN (SELECT d.raw, y.code FROM ({spellings}) d "
                     "JOIN sla_systems y ON y.norm = sla_norm(d.raw)) s ON s.raw = c.raw_system")
            names = "、".join(s.name for s in contract.systems)
            checks.append((canon, f"raw_{canon} IS NOT NULL AND system IS NULL",
                           f"合同文件中没有该系统（contract.yaml systems），应为：{names} 或其别名"))
        elif canon in TEXT_MASKED and canon in m.mapping and repetitive[m.mapping[canon]]:
            # mask each distinct text once and join (a missing text finds no match: NULL, as
            # sla_mask(NULL) is); the regular expressions cost far more than the join
            spellings = f"SELECT DISTINCT sla_txt(x) AS raw FROM (SELECT DISTINCT c{m.mapping[canon]} AS x {data_rows})"
            join += (f" LEFT JOIN (SELECT raw, sla_mask(raw) AS masked FROM ({spellings})) mask_{canon} "
                     f"ON mask_{canon}.raw = {rawc}")
            sel.append(f"mask_{canon}.masked AS {canon}")
        elif canon in TEXT_MASKED:
            sel.append(f"sla_mask({rawc}) AS {canon}")
        elif canon == "person" and contract.roster_ids():
            # a terminal's user number on the roster (roster.staff[].ids) is that person; any other
            # value is kept as written
            con.execute("CREATE OR REPLACE TEMP TABLE sla_roster_ids (id VARCHAR, name VARCHAR)")
            con.executemany("INSERT INTO sla_roster_ids VALUES (?, ?)", list(contract.roster_ids().items()))
            key = (f"CASE WHEN regexp_full_match({rawc}, '[0-9]+') THEN coalesce(nullif(ltrim({rawc}, '0'), ''), '0') "
                   f"ELSE {rawc} END")
            join += f" LEFT JOIN sla_roster_ids rid ON rid.id = {key}"
            sel.append(f"coalesce(rid.name, {rawc}) AS {canon}")
        else:
            sel.append(f"{rawc} AS {canon}")
        if canon in p.patterns:
            checks.append((canon, f"raw_{canon} IS NOT NULL AND NOT regexp_full_match(raw_{canon}, "
                                  f"{sql_str(p.patterns[canon])})",
                           f"格式不符：应为 {p.patterns[canon]}（导出文件中的记录已损坏？）"))
        if canon in p.required and canon in p.missing_reason and p.missing_reason[canon] in mapped:
            # the export says why (WeCom: 缺卡（09:00）, 无需打卡（请假）): that is the reason
            quoted = text_of[p.missing_reason[canon]]
            checks.append((canon, f"{text_of[canon]} IS NULL", SqlReason(
                f"CASE WHEN {quoted} IS NULL THEN '必填项为空' ELSE '无此项（导出文件记为：' || {quoted} || '）' END")))
        elif canon in p.required:
            checks.append((canon, f"{text_of[canon]} IS NULL", "必填项为空"))
    con.execute(f"CREATE OR REPLACE TEMP TABLE sla_parsed AS SELECT {', '.join(sel)} FROM {sla_clean} c {join}")
    if raw.ncols and scalar(con, "SELECT count(*) FROM sla_raw WHERE c0 = '\x00csv-error'"):
        checks.append(("", "_row IN (SELECT _row FROM sla_raw WHERE c0 = '\x00csv-error')", "CSV 记录格式错误"))

    # every check in one scan of sla_parsed: a list of the failed checks of each row (a struct per
    # failed check, NULL for a passed one), unnested; one branch per check of a UNION ALL cost a
    # plan and a scan each (19 ms of planning for a small file)
    failed = []
    for canon, cond, reason in checks:
        col_name = sql_str(m.headers.get(canon, canon)) if canon else "NULL"
        if not canon:
            orig = "NULL"
        elif canon in TEXT_MASKED and canon in typed:
            orig = f"sla_mask(raw_{canon})"
        else:  # a masked text column's value is sla_mask of its text already
            orig = text_of[canon]
        why = str(reason) if isinstance(reason, SqlReason) else sql_str(reason)
        failed.append(f"CASE WHEN {cond} THEN {{'i': {len(failed)}, 'c': CAST({col_name} AS VARCHAR), "
                      f"'w': CAST({why} AS VARCHAR), 'o': CAST({orig} AS VARCHAR)}} END")
    # (rows in the order the checks were listed, then the file's: as the UNION ALL stored them)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE sla_rej AS
        SELECT {sql_str(file_id)}, {sql_str(src)}, _row, f.c, f.w, f.o
        FROM (SELECT _row, unnest(list_filter([{', '.join(failed)}], lambda x: x IS NOT NULL)) AS f FROM sla_parsed)
        ORDER BY f.i, _row""")
    con.execute("INSERT INTO rejects SELECT * FROM sla_rej")

    rows_read = scalar(con, "SELECT count(*) FROM sla_parsed")
    cols = list(schema.KIND_COLUMNS[p.kind])
    source = "(SELECT * FROM sla_parsed WHERE _row NOT IN (SELECT _row FROM sla_rej))"
    if p.events:  # an event log: fold the usable event rows into one row per ticket
        _fold(con, p, cols, extra, source, has_system="system" in mapped)
        source = "sla_folded"
    value_cols = ", ".join("raw_system AS system_raw" if c == "system_raw" and "system" in mapped
                           else ("CAST(NULL AS VARCHAR) AS system_raw" if c == "system_raw" else c) for c in cols)
    ts_list = [c for c in cols if c in ts_cols]
    export_as_of = scalar(con, f"SELECT max(greatest({', '.join(ts_list)})) FROM {source}") if ts_list else None
    con.execute(
        f"INSERT INTO {schema.KIND_TABLES[p.kind]} SELECT {value_cols}, ?, ?, _row, ?, ? FROM {source} ORDER BY _row",
        [file_id, src, load_seq, export_as_of],
    )
    rows_rejected = scalar(con, "SELECT count(DISTINCT _row) FROM sla_rej")
    rows_loaded = scalar(con, f"SELECT count(*) FROM {source}")
    rows_merged = rows_read - rows_rejected - rows_loaded
    if rows_merged < 0 or (rows_merged and not p.events):  # the accounting must close, or nothing loads
        raise AssertionError(f"{src}: rows read {rows_read} != loaded {rows_loaded} + rejected {rows_rejected}")
    con.execute(
        "INSERT INTO ingest_log (file_id, source_file, kind, preset, encoding, sheet, header_row, loaded_at, "
        "load_seq, export_as_of, rows_read, rows_loaded, rows_rejected, rows_merged) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [file_id, src, p.kind, p.name, raw.encoding, raw.sheet, header_row, now,
         load_seq, export_as_of, rows_read, rows_loaded, rows_rejected, rows_merged],
    )
    for t in ("sla_parsed", "sla_rej", "sla_folded"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return FileResult(path, "loaded", "", rows_read, rows_loaded, rows_rejected, p.kind, p.name, rows_merged)


REPETITIVE_SAMPLE = 10_000
SMALL_FILE_ROWS = 200  # rows of a file (header included) up to which every row is masked on its own


def _repetitive(con, cols: list[int], data_rows: str) -> dict[int, bool]:
    """Which of the columns ``cols`` (numbers of sla_raw's c0, c1, ...) repeat their values (at most
    one distinct value in ten among the first rows), so that masking each distinct value once beats
    masking every row. One scan of the sample for all of them."""
    if not cols:
        return {}
    cols = list(dict.fromkeys(cols))
    row = con.execute(f"SELECT count(*), {', '.join(f'count(DISTINCT c{c})' for c in cols)} FROM "
                      f"(SELECT {', '.join(f'c{c}' for c in cols)} {data_rows} LIMIT {REPETITIVE_SAMPLE})").fetchall()[0]
    return {c: distinct * 10 <= row[0] for c, distinct in zip(cols, row[1:], strict=True)}


def _fold(con, p: Preset, cols: list[str], extra: dict[str, str], source: str, has_system: bool) -> None:
    """Events -> one row per ticket (``sla_folded``), by the preset's ``events.aggregate`` rules:
    first / last (by the event order, then row), min / max, or the earliest of another timestamp
    column over the events whose order is above a number (e.g. the first update after creation)."""
    agg = p.events.get("aggregate", {})
    default = agg.get("default", "last")
    status_map = p.events.get("status_map") or {}
    exprs = []
    for c in cols:
        if c == "ticket_id" or (c == "system_raw" and not has_system):
            continue
        col = "raw_system" if c == "system_raw" else c
        spec = agg.get(c, default)
        if c in status_map:  # the first event whose status is one of the list
            t = extra[p.events["time"]]
            wanted = ", ".join(sql_str(norm) for norm in sorted({str(v).strip().lower() for v in status_map[c]}))
            exprs.append(f"min(_t_{t}) FILTER (WHERE lower(trim(_s_status)) IN ({wanted})) AS {col}")
        elif isinstance(spec, dict):
            x = extra[spec["min_of"]]
            exprs.append(f"min(_t_{x}) FILTER (WHERE _ord > {float(spec.get('where_order_above', 0))}) AS {col}")
        elif spec in ("first", "last"):
            exprs.append(f"{spec}({col} ORDER BY _ord, _row) AS {col}")
        else:
            exprs.append(f"{spec}({col}) AS {col}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE sla_folded AS SELECT ticket_id, min(_row) AS _row, "
                f"{', '.join(exprs)} FROM {source} GROUP BY ticket_id")


def _row_label(raw: RawFile, i: int) -> str:
    return f"sheet '{raw.sheet}' row {i + 1}" if raw.sheet else f"line {i + 1}"


def parse_as_of(text: str | None) -> str | None:
    if text is None or text.lower() in ("auto", "data"):
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            pass
    raise SlaError(f"--as-of: cannot read '{text}'; expected YYYY-MM-DD HH:MM[:SS], YYYY-MM-DD or 'auto'")


def _failed(result: IngestResult, echo, path: Path, e: BaseException, db_path, needed: int) -> None:
    """One clear line for a file (or sheet) that cannot be loaded; its transaction rolled back,
    the other files go on. A full (or read-only) disk stops the run instead: nothing of it is
    published; an export we may not read is that file's failure only."""
    disk = None if isinstance(e, SlaError) else dbm.disk_error(e, Path(db_path), needed, denied=False)
    if disk is not None:
        raise disk from None
    msg = str(e) if isinstance(e, SlaError) else f"cannot load ({type(e).__name__}: {e})".strip()
    msg = msg.splitlines()[0] if not isinstance(e, SlaError) else msg
    if not msg.startswith(str(dbm.project_relative(path))) and not msg.startswith(str(path)):
        msg = f"{dbm.project_relative(path)}: {msg}"
    result.files.append(FileResult(path, "failed", msg))
    echo(f"  ! {msg}")


def _targets(con, path: Path, kind: str | None, preset: str | None, sheet: str | None) -> list[tuple]:
    """What to load from ``path``: ``(sheet, preset)`` pairs. A csv, a named sheet or a one-sheet
    workbook: itself. A workbook of several sheets: each sheet some preset (of ``kind``) recognises,
    with that preset; with ``kind`` or ``preset`` given, only the sheet it fits best (WeCom's
    日报 holds the daily summary and the punches in two sheets)."""
    if sheet or path.suffix.lower() not in (".xlsx", ".xlsm", ".xls"):
        return [(sheet or (get_preset(preset).sheet if preset else None), preset)]
    names = sheet_names(path)
    if preset and get_preset(preset).sheet in names:
        return [(get_preset(preset).sheet, preset)]
    if len(names) <= 1:
        return [(None, preset)]
    found = []
    candidates = [get_preset(preset)] if preset else [p for p in builtin_presets().values() if kind in (None, p.kind)]
    for name in names:
        try:
            raw = read_file(con, path, "sla_raw", name)
        except InputError:
            continue  # an empty or unreadable sheet (a cover, notes)
        try:
            rows = HeaderRows(raw.head)
            for p in candidates:
                m, (complete, _, hint) = _fit(raw, rows, p)
                if complete:  # a sheet is scored by every column found, joined ones included
                    found.append(((p.sheet == name, m.size, hint), name, p.name))
        finally:
            drop_raw(con, "sla_raw")
    if not found:
        return [(None, preset)]  # the first non-empty sheet, which then says why it does not fit
    best: dict[str, tuple] = {}
    for score, name, pname in found:
        if name not in best or score > best[name][0]:
            best[name] = (score, pname)
    if kind or preset:
        name, (_, pname) = max(best.items(), key=lambda kv: kv[1][0])
        return [(name, pname)]
    return [(name, pname) for name, (_, pname) in best.items()]


def ingest(paths: list[Path], db_path: Path = config.DB_PATH, contract_path: Path = config.CONTRACT_PATH,
           kind: str | None = None, preset: str | None = None, as_of: str | None = None,
           raw_dir: Path = config.RAW_DIR, echo=print, sheet: str | None = None) -> IngestResult:
    contract = load_contract(contract_path)  # validated before any data is read
    as_of_value = parse_as_of(as_of) if as_of is not None else None
    files = expand_paths(paths, raw_dir)
    result = IngestResult()
    scanned = [f for f in files if not paths or f not in paths]  # found in a folder, not named
    arriving = still_arriving(scanned)
    for path, why in arriving.items():
        result.files.append(FileResult(path, "incomplete", f"{MESSAGE}: {why}"))
        echo(f"  … {dbm.project_relative(path)}: {MESSAGE} ({why})")
    files = [f for f in files if f not in arriving]
    size = sum(f.stat().st_size for f in files if f.exists())
    needed = 3 * size  # rough: raw tables, rows, indexes
    with dbm.writing(db_path, needed_bytes=needed, echo=echo, input_bytes=size) as con:
        for path in files:
            fid = file_sha256(path)
            loaded = {r[0] or "": r[1] for r in con.execute(
                "SELECT sheet, source_file FROM ingest_log WHERE file_id = ? OR file_id LIKE ? || '#%'",
                [fid, fid]).fetchall()}
            try:
                targets = _targets(con, path, kind, preset, sheet)
            except (SlaError, duckdb.Error, ValueError, OSError) as e:
                _failed(result, echo, path, e, db_path, needed)
                continue
            for sheet_name, preset_name in targets:
                if loaded and (sheet_name is None or sheet_name in loaded):
                    known = loaded.get(sheet_name or "") or next(iter(loaded.values()))
                    where = f" (sheet {sheet_name})" if sheet_name else ""
                    result.files.append(FileResult(path, "skipped", f"already loaded as {known}{where}"))
                    echo(f"  = {dbm.project_relative(path)}{where}: already loaded (same content as {known}), skipped")
                    continue
                load_id = fid if not loaded else f"{fid}#{sheet_name}"
                seq = scalar(con, "SELECT coalesce(max(load_seq), 0) + 1 FROM ingest_log")
                try:
                    raw = read_file(con, path, "sla_raw", sheet_name)  # temp tables, outside the load transaction
                    with dbm.transaction(con):
                        fr = load_file(con, raw, contract, kind, preset_name, load_id, seq)
                    drop_raw(con, "sla_raw")
                except (SlaError, duckdb.Error, ValueError, OSError) as e:
                    _failed(result, echo, path, e, db_path, needed)
                    continue
                loaded[sheet_name or ""] = dbm.project_relative(path)
                result.files.append(fr)
                folded = f", merged {fr.rows_merged} (events folded into their ticket)" if fr.rows_merged else ""
                where = f" sheet {raw.sheet}" if raw.sheet and len(targets) > 1 else ""
                echo(f"  + {dbm.project_relative(path)}{where} [{fr.kind}, preset {fr.preset}]: read {fr.rows_read}, "
                     f"loaded {fr.rows_loaded}, rejected {fr.rows_rejected}{folded}")
        if as_of is not None:
            with dbm.transaction(con):
                if as_of_value:
                    dbm.set_meta(con, "as_of_override", as_of_value)
                else:
                    con.execute("DELETE FROM meta WHERE key = 'as_of_override'")
        result.as_of, result.tickets = recompute_findings(con, contract)  # one transaction
    return result
