"""Register integrity (issue 13): the vendor's own engineers keep the ticket register (一.1.1:
对信息化系统故障及需求进行记录及处理，并定期交由信息科进行审核), so the party being measured writes the
timestamps. ``register_findings`` lists, with the source rows, what the successive exports show
about the register itself. None of it changes a clock; it is evidence for the analyst
(docs/integrity.md):

- ``edited``: a ticket's timestamp, system, 是否现场 or exclusion differs between two exports of
  the register (consecutive versions); ``after_close`` when the later export was made after the
  ticket's month had closed, ``favours_vendor`` when the change turns a breached clock into met;
- ``vanished``: a ticket of an earlier export missing from a later export that covers its day;
- ``number_gap``: a number missing from a sequence (``integrity.number_pattern``: prefix + date +
  serial); the gaps between the lowest and highest serial of each prefix + date;
- ``late_entry``: a ticket first exported more than ``integrity.late_entry_days`` days after its
  month closed;
- ``duplicate_suspect``: the same department, system and description reported within
  ``integrity.duplicate_minutes`` minutes under two numbers;
- ``threshold_heaping``: a clause with a limit in minutes whose stops bunch just under it: the
  stops in the last ``heaping_window_minutes`` before the limit against those in the window before,
  with the one-sided binomial probability of so many or more if both windows were alike;
- ``backfilled``: a punch or day the attendance export itself marks as a correction (补卡).

"An export was made" is its newest timestamp (``ingest_log.export_as_of``); a month closes at
00:00 on the first day of the next.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from sla_lib.rules.calendar import calendar_for
from sla_lib.rules.clocks import compute_clocks
from sla_lib.rules.contract import Contract
from sla_lib.store.schema import TIMESTAMP_COLUMNS

EDITED_COLUMNS = [*TIMESTAMP_COLUMNS, "system", "onsite", "exclusion"]
COLUMN_LABELS = {
    "reported_at": "报修时间", "responded_at": "响应时间", "plan_at": "方案时间", "resolved_at": "解决时间",
    "onsite_requested_at": "现场通知时间", "arrived_at": "到场时间", "fixed_at": "现场排除时间",
    "system": "系统", "onsite": "是否现场", "exclusion": "除外原因",
}
COLUMNS = ["finding", "month", "ticket_id", "clause", "column_name", "old_value", "new_value", "old_file", "old_row",
           "new_file", "new_row", "after_close", "favours_vendor", "detail"]


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, bool | np.bool_):
        return "是" if v else "否"
    return str(v)


def _month_close(ts: pd.Series) -> pd.Series:
    return (ts.dt.to_period("M") + 1).dt.to_timestamp()


def _edited(con, contract: Contract, as_of) -> list[dict]:
    rows = con.execute(f"""
        SELECT ticket_id, {", ".join(EDITED_COLUMNS)}, category, file_id, source_file, source_row, load_seq,
               export_as_of
        FROM ticket_rows
        WHERE ticket_id IN (SELECT ticket_id FROM ticket_rows GROUP BY 1 HAVING count(DISTINCT file_id) > 1)
        ORDER BY ticket_id, export_as_of NULLS FIRST, load_seq, source_row""").df()
    if rows.empty:
        return []
    nxt = rows.groupby("ticket_id", sort=False).shift(-1)
    pair = nxt["file_id"].notna() & (nxt["file_id"] != rows["file_id"])
    old, new = rows[pair].reset_index(drop=True), nxt[pair].reset_index(drop=True)
    new["ticket_id"] = old["ticket_id"]
    if old.empty:
        return []
    changed = {c: (~((old[c] == new[c]) | (old[c].isna() & new[c].isna()))).to_numpy(dtype=bool) for c in EDITED_COLUMNS}
    any_change = np.logical_or.reduce(list(changed.values()))
    old, new = old[any_change].reset_index(drop=True), new[any_change].reset_index(drop=True)
    changed = {c: m[any_change] for c, m in changed.items()}
    if old.empty:
        return []
    # which clocks the edit turned from breached to met (the two versions' clocks, same as_of)
    inputs = ["ticket_id", "onsite", "category", "exclusion", *TIMESTAMP_COLUMNS]
    spans = [x for x in (old["reported_at"].min(), new["reported_at"].max()) if pd.notna(x)]
    cal = calendar_for(contract, *spans, as_of)
    before = compute_clocks(old[inputs].assign(ticket_id=old.index.astype(str)), contract, as_of, cal).to_pandas()
    after = compute_clocks(new[inputs].assign(ticket_id=new.index.astype(str)), contract, as_of, cal).to_pandas()
    flips = before.merge(after, on=["ticket_id", "clause"], suffixes=("_old", "_new"))
    flips = flips[(flips["status_old"] == "breached") & flips["status_new"].isin(["met", "excluded"])]
    favoured = flips.groupby("ticket_id")["clause"].agg(lambda s: ",".join(s)).to_dict()
    # the month and whether the later export came after the month closed, column-wise (a missing
    # time: no month, not after the close); then one finding per changed cell
    months = [m if isinstance(m, str) else None for m in old["reported_at"].dt.strftime("%Y-%m").tolist()]
    closes = _month_close(old["reported_at"])
    after = (new["export_as_of"].notna() & closes.notna() & (new["export_as_of"] >= closes)).tolist()
    ids, old_files, new_files = old["ticket_id"].tolist(), old["source_file"].tolist(), new["source_file"].tolist()
    old_rows, new_rows = old["source_row"].tolist(), new["source_row"].tolist()
    out = []
    for i in range(len(old)):
        after_close = bool(after[i])
        clauses = favoured.get(str(i))
        for c in EDITED_COLUMNS:
            if not changed[c][i]:
                continue
            a, b = _text(old[c].iloc[i]), _text(new[c].iloc[i])
            detail = (f"工单 {ids[i]} 的{COLUMN_LABELS[c]}在两次导出之间被改动：{a or '空'} → {b or '空'}"
                      + ("（月份结束后的导出中改动）" if after_close else "")
                      + (f"；改动使{'、'.join(contract.clauses[x]['title'] for x in clauses.split(','))}由超时变为达标"
                         if clauses else "") + "。")
            out.append(dict(finding="edited", month=months[i], ticket_id=ids[i], clause=clauses,
                            column_name=c, old_value=a, new_value=b, old_file=old_files[i],
                            old_row=int(old_rows[i]), new_file=new_files[i],
                            new_row=int(new_rows[i]), after_close=after_close,
                            favours_vendor=clauses is not None, detail=detail))
    return out


def _vanished(con) -> list[dict]:
    df = con.execute("""
        WITH files AS (
            SELECT file_id, any_value(source_file) AS source_file, any_value(export_as_of) AS export_as_of,
                   any_value(load_seq) AS load_seq, min(reported_at) AS lo, max(reported_at) AS hi
            FROM ticket_rows GROUP BY file_id
        ), seen AS (
            SELECT ticket_id, file_id, any_value(reported_at) AS reported_at, any_value(source_file) AS source_file,
                   any_value(source_row) AS source_row, any_value(export_as_of) AS export_as_of,
                   any_value(load_seq) AS load_seq
            FROM ticket_rows GROUP BY ticket_id, file_id
        )
        SELECT s.ticket_id, s.reported_at, s.source_file AS old_file, s.source_row AS old_row,
               f.source_file AS new_file
        FROM seen s JOIN files f
          ON (f.export_as_of, f.load_seq) > (s.export_as_of, s.load_seq)
         AND s.reported_at BETWEEN f.lo AND f.hi
        WHERE NOT EXISTS (SELECT 1 FROM ticket_rows r WHERE r.file_id = f.file_id AND r.ticket_id = s.ticket_id)
          AND NOT EXISTS (SELECT 1 FROM seen later WHERE later.ticket_id = s.ticket_id
                          AND (later.export_as_of, later.load_seq) > (f.export_as_of, f.load_seq))
        ORDER BY s.reported_at, s.ticket_id""").df()
    return [dict(finding="vanished", month=r.reported_at.strftime("%Y-%m"), ticket_id=r.ticket_id,
                 old_file=r.old_file, old_row=int(r.old_row), new_file=r.new_file,
                 detail=f"工单 {r.ticket_id} 在 {r.old_file} 中有，在其后覆盖同一时段的 {r.new_file} 中不见了。")
            for r in df.itertuples()]


def _number_gaps(con, contract: Contract) -> list[dict]:
    pattern = re.compile(contract.integrity["number_pattern"])
    # only the sequences with a hole are read into Python: per prefix and date (every group of the
    # pattern but the serial), fewer distinct serials than the span from the lowest to the highest
    by_number = {i: name for name, i in pattern.groupindex.items()}
    names = [by_number.get(i, f"_g{i}") for i in range(1, pattern.groups + 1)]  # DuckDB names groups by position
    rx = contract.integrity["number_pattern"].replace("'", "''")
    listed = "[" + ", ".join(f"'{n}'" for n in names) + "]"
    key = ", ".join(f"m.{n}" for n in names if n != "serial") or "''"
    ids = [r[0] for r in con.execute(f"""
        WITH n AS (
            SELECT ticket_id, [{key}] AS k, TRY_CAST(nullif(m.serial, '') AS BIGINT) AS serial
            FROM (SELECT DISTINCT ticket_id, regexp_extract(ticket_id, '^(?:{rx})$', {listed}) AS m FROM ticket_rows)
        ), holed AS (
            SELECT k FROM n WHERE serial IS NOT NULL GROUP BY k
            HAVING max(serial) - min(serial) + 1 > count(DISTINCT serial)
        )
        SELECT ticket_id FROM n WHERE serial IS NOT NULL AND k IN (SELECT k FROM holed)""").fetchall()]
    seqs: dict[tuple, dict[int, str]] = {}
    for t in ids:
        m = pattern.fullmatch(str(t))
        if not m:
            continue
        key = tuple(v for k, v in m.groupdict().items() if k != "serial")
        seqs.setdefault(key, {})[int(m.group("serial"))] = t
    out = []
    for _key, serials in sorted(seqs.items()):
        lo, hi = min(serials), max(serials)
        sample = serials[lo]
        m = pattern.fullmatch(sample)
        width = len(m.group("serial"))
        start, end = m.span("serial")
        month = _month_of_number(m)
        for n in range(lo + 1, hi):
            if n not in serials:
                missing = sample[:start] + str(n).zfill(width) + sample[end:]
                out.append(dict(finding="number_gap", month=month, ticket_id=missing,
                                detail=f"编号 {missing} 缺失：{serials[lo]} 至 {serials[hi]} 之间没有这一号。"))
    return out


def _month_of_number(m: re.Match) -> str | None:
    d = m.groupdict().get("date") or ""
    return f"{d[:4]}-{d[4:6]}" if len(d) >= 6 and d[:4].isdigit() else None


def _late_entries(con, contract: Contract) -> list[dict]:
    """Tickets dated inside the span of an earlier export that did not hold them, first exported
    more than N days after their month closed (the first export of a period is the baseline: a
    ticket cannot be late for it)."""
    days = contract.integrity["late_entry_days"]
    df = con.execute("""
        WITH files AS (
            SELECT file_id, any_value(export_as_of) AS export_as_of, any_value(load_seq) AS load_seq,
                   min(reported_at) AS lo, max(reported_at) AS hi
            FROM ticket_rows GROUP BY file_id
        ), first AS (
            SELECT ticket_id, arg_min(reported_at, (export_as_of, load_seq)) AS reported_at,
                   min((export_as_of, load_seq)) AS seen, arg_min(file_id, (export_as_of, load_seq)) AS file_id,
                   arg_min(source_file, (export_as_of, load_seq)) AS file,
                   arg_min(source_row, (export_as_of, load_seq)) AS row,
                   min(export_as_of) AS first_export
            FROM ticket_rows GROUP BY ticket_id
        )
        SELECT f.ticket_id, f.reported_at, f.first_export, f.file, f.row FROM first f
        WHERE EXISTS (SELECT 1 FROM files e WHERE (e.export_as_of, e.load_seq) < f.seen
                      AND f.reported_at BETWEEN e.lo AND e.hi)
        ORDER BY f.reported_at, f.ticket_id""").df()
    if df.empty:
        return []
    df = df[df["reported_at"].notna() & df["first_export"].notna()]
    close = _month_close(df["reported_at"])
    late = df[df["first_export"] > close + pd.Timedelta(days=days)]
    return [dict(finding="late_entry", month=r.reported_at.strftime("%Y-%m"), ticket_id=r.ticket_id,
                 new_file=r.file, new_row=int(r.row),
                 detail=f"工单 {r.ticket_id}（{r.reported_at:%Y-%m-%d}）不在之前覆盖这一天的导出中，首次出现在 "
                        f"{r.first_export:%Y-%m-%d} 的导出，晚于该月结束 {days} 天以上：疑为事后补登。")
            for r in late.itertuples()]


def _duplicates(con, contract: Contract) -> pd.DataFrame:
    """Each ticket with the one before it of the same department, system and description (spaces
    ignored) when that one was reported within M minutes: one finding per such pair, built in SQL
    (a register may hold many)."""
    minutes = contract.integrity["duplicate_minutes"]
    return con.execute(f"""
        WITH t AS (
            SELECT ticket_id, reported_at, department, system, source_file, source_row,
                   lag(ticket_id) OVER w AS prev_id, lag(reported_at) OVER w AS prev_at,
                   lag(source_file) OVER w AS prev_file, lag(source_row) OVER w AS prev_row
            FROM tickets
            WHERE department IS NOT NULL AND system IS NOT NULL AND description IS NOT NULL AND reported_at IS NOT NULL
            WINDOW w AS (PARTITION BY department, system, regexp_replace(description, '\\s+', '', 'g')
                         ORDER BY reported_at, ticket_id)
        )
        SELECT 'duplicate_suspect' AS finding, strftime(prev_at, '%Y-%m') AS month, prev_id AS ticket_id,
               NULL AS clause, NULL AS column_name, NULL AS old_value, NULL AS new_value,
               prev_file AS old_file, prev_row AS old_row, source_file AS new_file, source_row AS new_row,
               CAST(NULL AS BOOLEAN) AS after_close, CAST(NULL AS BOOLEAN) AS favours_vendor,
               '工单 ' || prev_id || ' 与 ' || ticket_id || '：同一科室（' || department || '）、同一系统、同样的描述，相隔 '
               || CAST(round(epoch(reported_at - prev_at) / 60) AS BIGINT) || ' 分钟，疑为重复登记。' AS detail
        FROM t WHERE prev_id IS NOT NULL AND prev_id <> ticket_id
          AND epoch(reported_at - prev_at) <= {minutes * 60}
        ORDER BY prev_at, prev_id""").df()


def binomial_tail(k: int, n: int, p: float = 0.5) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (n may be in the hundred thousands)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
            + (n - i) * math.log1p(-p) for i in range(k, n + 1)]
    top = max(logs)
    return float(math.exp(top) * sum(math.exp(x - top) for x in logs))


def _heaping(con, contract: Contract) -> list[dict]:
    cfg = contract.integrity
    w = cfg["heaping_window_minutes"]
    out = []
    for clause, key in (("response", "limit_minutes"),):
        limit = float(contract.clauses[clause][key])
        df = con.execute("""
            SELECT month, count(*) FILTER (WHERE elapsed_minutes > ? AND elapsed_minutes <= ?) AS near,
                          count(*) FILTER (WHERE elapsed_minutes > ? AND elapsed_minutes <= ?) AS before
            FROM ticket_sla WHERE clause = ? AND stop_at IS NOT NULL GROUP BY month ORDER BY month""",
                         [limit - w, limit, limit - 2 * w, limit - w, clause]).fetchall()
        for month, near, before in df:
            n = near + before
            if n < cfg["heaping_min_count"] or near <= before:
                continue
            p = binomial_tail(near, n)
            if p < cfg["heaping_p_value"]:
                title = contract.clauses[clause]["title"]
                out.append(dict(finding="threshold_heaping", month=month, clause=clause,
                                old_value=str(before), new_value=str(near),
                                detail=f"{title}：{limit - w:g}–{limit:g} 分钟内结束 {near} 项，{limit - 2 * w:g}–{limit - w:g} "
                                       f"分钟内 {before} 项；若两段机会均等，出现这样或更集中的概率为 {p:.2g}，"
                                       "结束时间扎堆于时限之前。"))
    return out


def _backfilled(con) -> list[dict]:
    out = []
    # (inside the writer's transaction: the schema's tables exist) most databases hold no attendance
    if not con.execute("SELECT (SELECT count(*) FROM punch_rows) + (SELECT count(*) FROM attendance_rows)"
                       ).fetchall()[0][0]:
        return out
    for table, when, kind in (("punches", "punched_at", "打卡"), ("attendance", "work_date", "考勤")):
        df = con.execute(f"""SELECT person, {when} AS at, result, source_file, source_row FROM {table}
                             WHERE regexp_matches(result, '补卡') AND NOT regexp_matches(result, '补卡申请')
                             ORDER BY {when}, person""").df()
        for r in df.itertuples():
            at = pd.Timestamp(r.at)
            out.append(dict(finding="backfilled", month=at.strftime("%Y-%m"), ticket_id=r.person,
                            new_value=r.result, new_file=r.source_file, new_row=int(r.source_row),
                            detail=f"{r.person} {at:%Y-%m-%d}{'' if kind == '考勤' else f' {at:%H:%M}'} 的{kind}"
                                   f"由导出文件标为补卡（{r.result}），属事后更正。"))
    return out


def recompute(con, contract: Contract) -> None:
    """Rebuild ``register_findings`` (inside the caller's transaction)."""
    con.execute("DELETE FROM register_findings")
    as_of_text = con.execute("SELECT value FROM meta WHERE key = 'as_of'").fetchall()
    as_of = np.datetime64(as_of_text[0][0]) if as_of_text and as_of_text[0][0] else None
    found = []
    # an edit, a vanished ticket or a late entry needs two exports of the register (most databases
    # hold one at first; a late entry is one missing from an earlier export)
    several = con.execute("SELECT count(DISTINCT file_id) > 1 FROM ticket_rows").fetchall()[0][0]
    if as_of is not None and several:
        found += _edited(con, contract, as_of)
    found += (_vanished(con) if several else []) + _number_gaps(con, contract)
    found += _late_entries(con, contract) if several else []
    found += _heaping(con, contract) + _backfilled(con)
    frames = [f for f in (pd.DataFrame(found).reindex(columns=COLUMNS) if found else None,
                          _duplicates(con, contract)) if f is not None and len(f)]
    if not frames:
        return
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    df = df.reindex(columns=COLUMNS)
    for c in ("old_row", "new_row"):
        df[c] = df[c].astype("Int64")
    for c in ("after_close", "favours_vendor"):
        df[c] = df[c].astype("boolean")
    con.register("sla_integrity", df)
    con.execute(f"INSERT INTO register_findings SELECT {', '.join(COLUMNS)} FROM sla_integrity")
    con.unregister("sla_integrity")
