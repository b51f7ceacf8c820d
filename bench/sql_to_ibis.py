"""Benchmark: SQL -> Ibis on TPC-H (22) and TPC-DS (99), ibert's translator vs ibis.parse_sql.

For each query: ibert's `translate` (verified by the gate on seeds 0-2, 40 rows), and the
baseline `ibis.parse_sql` + `ibis.decompile`. Every printed answer of either system is then
checked independently on other seeds (10-12) and more rows (150): a printed answer that fails
there counts as *wrong*. Run: `.venv/bin/python bench/sql_to_ibis.py [--suite h|ds] [--limit N]`.
Writes bench/results/sql_to_ibis.json. The queries are read from the installed Ibis package and
are benchmark material only (never tests or training data).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

INDEPENDENT_SEEDS = (10, 11, 12)
INDEPENDENT_ROWS = 150
ORACLE_TIMEOUT_S = 20.0
ORACLE_SMALL_ROWS = 50


def query_files(suite: str) -> list[Path]:
    import ibis

    root = Path(ibis.__file__).parent / "backends/tests/tpc/queries/duckdb" / suite
    return sorted(root.glob("*.sql"))


def independent(sql: str, code: str, schemas: dict) -> tuple[bool, str, bool]:
    """Second opinion on other seeds and more rows: (ok, reason, non-empty on some seed)."""
    from ibert_lsp.validate.equivalence import check_sql_vs_ibis

    v = check_sql_vs_ibis(sql, code, schemas, seeds=INDEPENDENT_SEEDS, n_rows=INDEPENDENT_ROWS,
                          timeout_s=20.0)
    return v.ok, v.reason, bool(v.checks.get("nonempty"))


def baseline(sql: str, schemas: dict) -> str | None:
    """ibis.parse_sql + ibis.decompile: the program it would print, or None when it fails."""
    import ibis

    try:
        catalog = {n: ibis.schema(c) for n, c in schemas.items()}
        expr = ibis.parse_sql(sql, catalog, dialect="duckdb")
        code = ibis.decompile(expr)
    except Exception:  # noqa: BLE001 - any failure is an abstention
        return None
    return _as_snippet(code, schemas)


def _as_snippet(code: str, schemas: dict) -> str | None:
    """decompile writes `import ibis` + `t = ibis.table(...)` lines and `result = ...`: keep the
    rest, binding the tables by name, so the gate evaluates it like any snippet."""
    import ast

    lines = []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            f = stmt.value.func
            if isinstance(f, ast.Attribute) and f.attr == "table" and len(stmt.targets) == 1:
                name = stmt.targets[0].id if isinstance(stmt.targets[0], ast.Name) else None
                table = next((k.value.value for k in stmt.value.keywords
                              if k.arg == "name" and isinstance(k.value, ast.Constant)), None)
                if name and table in schemas:
                    if name != table:
                        lines.append(f"{name} = {table}")
                    continue
        lines.append(ast.unparse(stmt))
    if lines and lines[-1].startswith("result = "):
        lines.append("result")
    return "\n".join(lines)


def run_suite(suite: str, schemas: dict, limit: int | None) -> dict:
    from ibert_lsp.tasks.sql_to_ibis import translate
    from ibert_lsp.validate.equivalence import check_sql_vs_ibis

    rows = []
    for path in query_files(suite)[:limit]:
        sql = path.read_text()
        t0 = time.perf_counter()
        res = translate(sql, schemas)
        t_ibert = time.perf_counter() - t0
        row = {"query": path.stem, "ibert_s": round(t_ibert, 3), "verified": res.verified,
               "reason": res.reason[:300], "features": res.features}
        if res.verified:
            ok, why, nonempty = independent(sql, res.ibis, schemas)
            row.update(independent_ok=ok, independent_reason=why[:300],
                       nonempty=bool(res.checks.get("nonempty")) or nonempty)
        t0 = time.perf_counter()
        code = baseline(sql, schemas)
        row["baseline_s"] = round(time.perf_counter() - t0, 3)
        row["baseline_printed"] = code is not None
        if code is not None:
            v = check_sql_vs_ibis(sql, code, schemas, seeds=INDEPENDENT_SEEDS,
                                  n_rows=INDEPENDENT_ROWS, timeout_s=20.0)
            row["baseline_ok"], row["baseline_reason"] = v.ok, v.reason[:300]
        rows.append(row)
        status = "ok" if res.verified and row.get("independent_ok") else (
            "WRONG" if res.verified else "abstain")
        print(f"{suite}/{path.stem}: ibert {status} ({t_ibert:.2f}s)"
              f"{'' if res.verified else ' - ' + res.reason[:150]}; baseline "
              f"{'none' if code is None else ('ok' if row.get('baseline_ok') else 'wrong/fails')}",
              flush=True)
    return summarize(rows)


def summarize(rows: list[dict]) -> dict:
    verified = [r for r in rows if r["verified"]]
    correct = [r for r in verified if r.get("independent_ok")]
    return {
        "queries": len(rows),
        "ibert": {
            "verified_correct": len(correct),
            "verified_on_nonempty": sum(1 for r in correct if r.get("nonempty")),
            "abstained": len(rows) - len(verified),
            "wrong": len(verified) - len(correct),
            "median_s": round(statistics.median(r["ibert_s"] for r in rows), 3) if rows else None,
        },
        "baseline": {
            "printed": sum(r["baseline_printed"] for r in rows),
            "correct": sum(1 for r in rows if r.get("baseline_ok")),
            "wrong": sum(1 for r in rows if r["baseline_printed"] and not r.get("baseline_ok")),
            "abstained": sum(1 for r in rows if not r["baseline_printed"]),
            "median_s": round(statistics.median(r["baseline_s"] for r in rows), 3) if rows else None,
        },
        "rows": rows,
    }


# --- external suites: public text-to-SQL datasets in their own (SQLite) dialect ----------------

DEFAULT_EXTERNAL = HERE.parent.parent / "shared" / "corpora" / "text2sql-data" / "suite.json"


def _sqlite_value(v):
    """A value as SQLite stores it: dates and times as ISO text, decimals as reals."""
    import datetime as dt
    from decimal import Decimal

    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return str(v)
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, bool):
        return int(v)
    return v


def _sqlite_type(typ: str) -> str:
    return {"string": "TEXT", "float64": "REAL", "date": "TEXT", "timestamp": "TEXT"}.get(
        typ, "INTEGER" if typ.startswith("int") else "TEXT")


def sqlite_oracle(sql: str, code: str, schemas: dict, seeds=INDEPENDENT_SEEDS,
                  n_rows: int = INDEPENDENT_ROWS) -> tuple[str, str, bool]:
    """The independent check for a SQLite suite: the *original* SQLite text run by SQLite itself
    and the Ibis program run by Ibis on DuckDB, on the same synthetic rows (other seeds, more
    rows than the gate). ('ok' | 'wrong' | 'tie' | 'sql_fails', reason, non-empty)."""
    import sqlite3

    import ibis
    import sqlglot

    from ibert_lsp.validate.compare import compare_rows, norm
    from ibert_lsp.validate.ordering import sql_order
    from ibert_lsp.validate.safe_eval import evaluate
    from ibert_lsp.validate.synth import literals_from_code, literals_from_sql, synth_tables

    from ibert_lsp.validate.duck import check_query, quote
    from ibert_lsp.validate.errors import GateError

    duck_sql = sqlglot.transpile(sql, read="sqlite", write="duckdb")[0]
    try:  # the dataset's SQL is someone else's: one read-only query, or it does not run
        check_query(duck_sql)
    except GateError as exc:
        return "sql_fails", f"refused: {exc.message}", False
    literals = literals_from_sql(duck_sql) + literals_from_code(code)
    order = sql_order(duck_sql)
    nonempty = False
    for seed in seeds:
        tables = synth_tables(schemas, literals, seed, n_rows)
        lite = sqlite3.connect(":memory:")
        duck = ibis.duckdb.connect()
        for name, table in tables.items():
            cols = schemas[name]
            lite.execute(f"CREATE TABLE {quote(name)} (" + ", ".join(
                f"{quote(c)} {_sqlite_type(t)}" for c, t in cols.items()) + ")")
            rows = [tuple(_sqlite_value(v) for v in r.values()) for r in table.to_pylist()]
            if rows:
                lite.executemany(f'INSERT INTO {quote(name)} VALUES ({", ".join("?" * len(cols))})',
                                 rows)
            duck.create_table(name, table)
        deadline = time.monotonic() + ORACLE_TIMEOUT_S
        lite.set_progress_handler(lambda end=deadline: int(time.monotonic() > end), 10_000)
        try:
            want = [tuple(norm(_sqlite_value(v)) for v in r) for r in lite.execute(sql).fetchall()]
        except sqlite3.Error as exc:
            if time.monotonic() > deadline:
                return "timeout", f"seed {seed}: SQLite took over {ORACLE_TIMEOUT_S} s", nonempty
            return "sql_fails", f"seed {seed}: SQLite: {exc}", nonempty
        try:
            expr = evaluate(code, schemas, tables={n: duck.table(n) for n in tables})
            got_t = duck.to_pyarrow(expr)
        except Exception as exc:  # noqa: BLE001 - a printed program that fails is wrong
            return "wrong", f"seed {seed}: the Ibis program fails: {str(exc).splitlines()[0][:150]}", nonempty
        got = [tuple(norm(_sqlite_value(v)) for v in r.values()) for r in got_t.to_pylist()]
        nonempty |= bool(want)
        diff = compare_rows(want, got)  # multiset; order is the gate's job (same SQL order keys)
        if diff is not None and order.limited:
            verdict = top_k_verdict(lite, sql, got)
            if verdict is None:
                return "tie", f"seed {seed}: {diff} (ORDER BY ... LIMIT may cut through ties)", nonempty
            diff = verdict or None
        if diff is not None:
            return "wrong", f"seed {seed}: {diff}", nonempty
    return "ok", f"same results as SQLite on {len(seeds)} seeds, {n_rows} rows", nonempty


def top_k_verdict(lite, sql: str, got: list[tuple]) -> str | None:
    """For `ORDER BY k LIMIT n` whose rows differ from SQLite's: SQLite's full ordering with its
    sort keys says whether `got` is another valid top n (rows tied on the last key may be any of
    them). '' when it is, a reason when not, None when this cannot be decided here."""
    from collections import Counter

    import sqlglot
    from sqlglot import exp

    from ibert_lsp.validate.compare import norm

    tree = sqlglot.parse_one(sql, read="sqlite")
    order, limit = tree.args.get("order"), tree.args.get("limit")
    if not isinstance(tree, exp.Select) or tree.args.get("distinct") or tree.args.get("offset") \
            or order is None or limit is None or not isinstance(limit.expression, exp.Literal):
        return None
    n, width = int(limit.expression.this), len(tree.expressions)
    tree.set("limit", None)
    for i, o in enumerate(order.expressions):
        tree.append("expressions", exp.alias_(o.this.copy(), f"ibert_sort_key_{i}"))
    try:
        rows = lite.execute(tree.sql("sqlite")).fetchall()
    except Exception:  # noqa: BLE001 - e.g. an ordinal ORDER BY: undecided
        return None
    rows = [tuple(norm(_sqlite_value(v)) for v in r) for r in rows]
    if len(rows) <= n:
        return "fewer rows than the LIMIT, so no ties to cut: rows differ"
    keys = [r[width:] for r in rows]
    boundary = keys[n - 1]
    first = next(i for i, k in enumerate(keys) if k == boundary)
    must = Counter(r[:width] for r in rows[:first])
    may = Counter(r[:width] for r, k in zip(rows, keys) if k == boundary)
    have = Counter(got)
    if len(got) != n or any(have[r] < c for r, c in must.items()):
        return "a row that sorts before the LIMIT's last key is missing"
    rest = have - must
    if any(may[r] < c for r, c in rest.items()):
        return "a row that does not tie on the LIMIT's last key was chosen"
    return ""


def duckdb_accepts(sql: str, schemas: dict) -> str | None:
    """None when DuckDB binds and runs the query (transpiled from SQLite) on empty tables, else
    DuckDB's first line: the queries only SQLite accepts are reported apart."""
    import sqlglot

    from ibert_lsp.validate.duck import Sandbox, check_query, duck_type, quote

    box = Sandbox()  # no file or network access, configuration locked
    try:
        con = box.con
        for name, cols in schemas.items():
            con.execute(f"CREATE TABLE {quote(name)} (" + ", ".join(
                f"{quote(c)} {duck_type(t)}" for c, t in cols.items()) + ")")
        duck_sql = sqlglot.transpile(sql, read="sqlite", write="duckdb")[0]
        check_query(duck_sql)  # someone else's SQL: one read-only query
        con.execute(duck_sql).fetchall()
    except Exception as exc:  # noqa: BLE001 - any refusal
        return str(exc).strip().splitlines()[0][:200]
    finally:
        box.close()
    return None


_DETAIL = [(re.compile(r"'(?:[^'\\]|\\.)*'"), "'…'"), (re.compile(r"\b\d+(\.\d+)?\b"), "N"),
           (re.compile(r'"[^"]*"'), '"…"')]


def reason_class(reason: str) -> str:
    """An abstention reason without its names and numbers, to count reasons."""
    text = reason.split("; no fallback")[0]
    if text.startswith("translation failed verification"):
        text = "translation failed verification: " + text.split(": ", 2)[-1].split(":")[0]
    for pat, rep in _DETAIL:
        text = pat.sub(rep, text)
    return text[:110]


def run_external(path: Path, limit: int | None, only: list[str] | None) -> dict:
    """Every suite of a built external file (see bench/suites/): raw SQLite text and its
    normalized form through ibert, the baseline on the normalized text, all checked by SQLite."""
    from ibert_lsp.tasks.sql_to_ibis import translate

    data = json.loads(path.read_text())
    results = {}
    for name, suite in data["suites"].items():
        if only and name not in only:
            continue
        schemas = suite["schemas"]
        rows = []
        for q in suite["queries"][:limit]:
            row = {"id": q["id"], "duckdb_rejects": duckdb_accepts(q["normalized"], schemas)}
            for form, sql in (("raw", q["sql"]), ("normalized", q["normalized"])):
                if form == "normalized" and sql == q["sql"]:
                    row[form] = dict(row["raw"], same_text=True)
                    continue
                t0 = time.perf_counter()
                res = translate(sql, schemas, dialect="sqlite")
                entry = {"s": round(time.perf_counter() - t0, 3), "verified": res.verified,
                         "reason": res.reason[:300]}
                if res.verified and form == "normalized" and res.ibis == row["raw"].get("ibis"):
                    entry.update({k: row["raw"][k] for k in ("check", "check_reason", "nonempty")})
                elif res.verified:
                    entry["check"], entry["check_reason"], entry["nonempty"] = sqlite_oracle(
                        q["sql"], res.ibis, schemas)
                    if entry["check"] == "timeout":  # SQLite's plan is slow there: fewer rows
                        entry["check"], why, entry["nonempty"] = sqlite_oracle(
                            q["sql"], res.ibis, schemas, n_rows=ORACLE_SMALL_ROWS)
                        entry["check_reason"] = f"{why} (150 rows took SQLite too long)"
                    entry["check_reason"] = entry["check_reason"][:300]
                entry["ibis"] = res.ibis
                row[form] = entry
            t0 = time.perf_counter()
            code = baseline_sqlite(q["normalized"], schemas)
            row["baseline_s"] = round(time.perf_counter() - t0, 3)
            row["baseline_printed"] = code is not None
            if code is not None:
                try:
                    row["baseline_check"] = sqlite_oracle(q["sql"], code, schemas)[0]
                except Exception as exc:  # noqa: BLE001 - its program fails: wrong
                    row["baseline_check"] = f"fails: {str(exc).splitlines()[0][:100]}"
            rows.append(row)
            raw = row["raw"]
            status = raw.get("check", "abstain") if raw["verified"] else "abstain"
            print(f"{q['id']}: raw {status}{'' if raw['verified'] else ' - ' + raw['reason'][:140]}"
                  f"{' [duckdb rejects]' if row['duckdb_rejects'] else ''}", flush=True)
        results[f"text2sql-{name}"] = summarize_external(rows, suite, data)
    return results


def baseline_sqlite(sql: str, schemas: dict) -> str | None:
    import ibis

    try:
        catalog = {n: ibis.schema(c) for n, c in schemas.items()}
        code = ibis.decompile(ibis.parse_sql(sql, catalog, dialect="sqlite"))
    except Exception:  # noqa: BLE001 - any failure is an abstention
        return None
    return _as_snippet(code, schemas)


def summarize_external(rows: list[dict], suite: dict, data: dict) -> dict:
    from collections import Counter

    accepted = [r for r in rows if not r["duckdb_rejects"]]
    out: dict = {"source": {"repo": data["repo"], "commit": data["commit"], "path": suite["path"],
                            "schema_path": suite["schema_path"], "license": suite["license"]},
                 "queries": len(rows), "duckdb_accepts": len(accepted)}
    for form in ("raw", "normalized"):
        def count(rs, form=form):
            ok = [r for r in rs if r[form]["verified"] and r[form].get("check") == "ok"]
            tie = [r for r in rs if r[form]["verified"] and r[form].get("check") == "tie"]
            slow = [r for r in rs if r[form]["verified"] and r[form].get("check") == "timeout"]
            wrong = [r for r in rs if r[form]["verified"]
                     and r[form].get("check") not in ("ok", "tie", "timeout")]
            abstain = [r for r in rs if not r[form]["verified"]]
            return {"verified": len(ok) + len(tie) + len(slow), "verified_check_ok": len(ok),
                    "verified_tie_under_limit": len(tie), "verified_oracle_timeout": len(slow),
                    "wrong": len(wrong),
                    "abstained": len(abstain),
                    "abstain_reasons": dict(Counter(reason_class(r[form]["reason"]) for r in abstain)
                                            .most_common()),
                    "median_s": round(statistics.median(r[form]["s"] for r in rs), 3) if rs else None}
        out[form] = {"accepted": count(accepted), "all": count(rows)}
    out["baseline"] = {
        "printed": sum(r["baseline_printed"] for r in accepted),
        "correct": sum(1 for r in accepted if r.get("baseline_check") == "ok"),
        "wrong": sum(1 for r in accepted if r["baseline_printed"] and r.get("baseline_check") != "ok"),
        "abstained": sum(1 for r in accepted if not r["baseline_printed"]),
    }
    out["rows"] = [strip_programs(r) for r in rows]
    return out


def strip_programs(row: dict) -> dict:
    """Results keep ids, outcomes and reasons, not the translated programs: the datasets' own
    licences decide where their derived text may go (see bench/suites/text2sql_data.py)."""
    return {k: ({kk: vv for kk, vv in v.items() if kk != "ibis"} if isinstance(v, dict) else v)
            for k, v in row.items()}


def print_external(results: dict) -> None:
    print()
    print(f"{'suite':22} {'n':>3} {'duck':>4} | {'raw ver':>7} {'wrong':>5} {'abst':>4} | "
          f"{'norm ver':>8} {'wrong':>5} {'abst':>4} | {'base ok':>7} {'b.wrong':>7} {'b.none':>6}")
    for s, r in results.items():
        a, n, b = r["raw"]["accepted"], r["normalized"]["accepted"], r["baseline"]
        print(f"{s:22} {r['queries']:>3} {r['duckdb_accepts']:>4} | {a['verified']:>7} {a['wrong']:>5} "
              f"{a['abstained']:>4} | {n['verified']:>8} {n['wrong']:>5} {n['abstained']:>4} | "
              f"{b['correct']:>7} {b['wrong']:>7} {b['abstained']:>6}")


def main() -> int:
    from tpc_schemas import TPCDS, TPCH

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=["h", "ds", "tpc", "external", "all"], default="all")
    ap.add_argument("--external", type=Path, default=DEFAULT_EXTERNAL,
                    help="suite file built by bench/suites/text2sql_data.py (skipped if missing)")
    ap.add_argument("--only", nargs="*", help="external suite names (advising, atis, ...)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", default=str(HERE / "results" / "sql_to_ibis.json"))
    args = ap.parse_args()
    suites = {"h": TPCH, "ds": TPCDS}
    chosen = {"all": ["h", "ds"], "tpc": ["h", "ds"], "external": []}.get(args.suite, [args.suite])
    results = {s: run_suite(s, suites[s], args.limit) for s in chosen}
    external: dict = {}
    if args.suite in ("all", "external"):
        if args.external.exists():
            external = run_external(args.external, args.limit, args.only)
        else:
            print(f"external suites skipped: {args.external} missing (build it with "
                  "bench/suites/text2sql_data.py)")
    print()
    print(f"{'suite':6} {'n':>3} | {'ibert ok':>8} {'nonempty':>8} {'abstain':>7} {'wrong':>5} "
          f"{'med s':>6} | {'base ok':>7} {'b.wrong':>7} {'b.none':>6} {'med s':>6}")
    for s, r in results.items():
        i, b = r["ibert"], r["baseline"]
        print(f"{s:6} {r['queries']:>3} | {i['verified_correct']:>8} {i['verified_on_nonempty']:>8} "
              f"{i['abstained']:>7} {i['wrong']:>5} {i['median_s']:>6} | {b['correct']:>7} "
              f"{b['wrong']:>7} {b['abstained']:>6} {b['median_s']:>6}")
    if external:
        print_external(external)
    results.update(external)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing.update(results)
    out.write_text(json.dumps(existing, indent=1, default=str))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
