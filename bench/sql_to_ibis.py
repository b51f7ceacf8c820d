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
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

INDEPENDENT_SEEDS = (10, 11, 12)
INDEPENDENT_ROWS = 150


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


def main() -> int:
    from tpc_schemas import TPCDS, TPCH

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=["h", "ds", "all"], default="all")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", default=str(HERE / "results" / "sql_to_ibis.json"))
    args = ap.parse_args()
    suites = {"h": TPCH, "ds": TPCDS}
    chosen = ["h", "ds"] if args.suite == "all" else [args.suite]
    results = {s: run_suite(s, suites[s], args.limit) for s in chosen}
    print()
    print(f"{'suite':6} {'n':>3} | {'ibert ok':>8} {'nonempty':>8} {'abstain':>7} {'wrong':>5} "
          f"{'med s':>6} | {'base ok':>7} {'b.wrong':>7} {'b.none':>6} {'med s':>6}")
    for s, r in results.items():
        i, b = r["ibert"], r["baseline"]
        print(f"{s:6} {r['queries']:>3} | {i['verified_correct']:>8} {i['verified_on_nonempty']:>8} "
              f"{i['abstained']:>7} {i['wrong']:>5} {i['median_s']:>6} | {b['correct']:>7} "
              f"{b['wrong']:>7} {b['abstained']:>6} {b['median_s']:>6}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing.update(results)
    out.write_text(json.dumps(existing, indent=1, default=str))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
