"""Compare two sla databases table by table, row by row and column by column (not a test).

    python benchmarks/compare_databases.py BEFORE.duckdb AFTER.duckdb

Used to show that a change that should not change outputs (a refactor, a speed-up) did not: every
table and view of the two files must have the same columns, the same number of rows and the same
rows (compared as sorted multisets, so row order does not matter). Columns that record the moment
of a run are left out: `ingest_log.loaded_at`, the `meta` keys `computed_at` and `loaded_at`, and the
load instant quoted in the "later than loading" reject reason. Exit 0 when equal, 1 otherwise.
"""

from __future__ import annotations

import re
import sys

import duckdb

TIME_OF_RUN = {"ingest_log": {"loaded_at"}}
META_TIME_KEYS = ("computed_at", "loaded_at")
LOAD_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?")


def relations(con) -> dict[str, list[str]]:
    rows = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                       "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position").fetchall()
    out: dict[str, list[str]] = {}
    for t, c in rows:
        out.setdefault(t, []).append(c)
    return out


def rows_of(con, table: str, cols: list[str]) -> list[tuple]:
    keep = [c for c in cols if c not in TIME_OF_RUN.get(table, set())]
    quoted = ", ".join(f'"{c}"' for c in keep)
    sql = f'SELECT {quoted} FROM "{table}"'
    if table == "meta":
        sql += f" WHERE key NOT IN ({', '.join(repr(k) for k in META_TIME_KEYS)})"
    rows = con.execute(sql).fetchall()
    if table == "rejects" and "reason" in keep:
        i = keep.index("reason")
        rows = [tuple(LOAD_INSTANT.sub("<t>", v) if j == i and isinstance(v, str) and "载入" in v else v
                      for j, v in enumerate(r)) for r in rows]
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


def compare(a_path: str, b_path: str) -> list[str]:
    a, b = duckdb.connect(a_path, read_only=True), duckdb.connect(b_path, read_only=True)
    try:
        ra, rb = relations(a), relations(b)
        problems = [f"only in {a_path}: {t}" for t in sorted(set(ra) - set(rb))]
        problems += [f"only in {b_path}: {t}" for t in sorted(set(rb) - set(ra))]
        for t in sorted(set(ra) & set(rb)):
            if ra[t] != rb[t]:
                problems.append(f"{t}: columns differ: {ra[t]} vs {rb[t]}")
                continue
            x, y = rows_of(a, t, ra[t]), rows_of(b, t, rb[t])
            if len(x) != len(y):
                problems.append(f"{t}: {len(x)} rows vs {len(y)} rows")
            elif x != y:
                first = next(i for i, (p, q) in enumerate(zip(x, y, strict=True)) if p != q)
                problems.append(f"{t}: rows differ, first at sorted row {first}: {x[first]} vs {y[first]}")
            else:
                print(f"equal  {t}: {len(x):,} rows x {len(ra[t])} columns")
        return problems
    finally:
        a.close()
        b.close()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems = compare(*argv)
    for p in problems:
        print("DIFFERS", p)
    print("equal" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
