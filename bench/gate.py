"""Gate overhead: safe evaluation + compile vs plain Ibis + to_sql, and the equivalence check.

Run: .venv/bin/python bench/gate.py [--reps 200]   (prints a table, writes bench/results/gate.json)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

SCHEMAS = {
    "orders": {"order_id": "int64", "customer_id": "int64", "amount": "float64",
               "status": "string", "ts": "timestamp"},
    "customers": {"customer_id": "int64", "name": "string", "region": "string"},
}
EXPRESSIONS = {
    "filter_select": "orders.filter(orders.amount > 100).select('order_id', 'amount')",
    "group_agg": ("orders.group_by('status').agg(total=_.amount.sum(), n=_.count())"
                  ".order_by(ibis.desc('total')).limit(5)"),
    "join": ("orders.join(customers, 'customer_id').filter(_.region == 'EU')"
             ".select('name', 'amount')"),
    "window": ("orders.mutate(rn=ibis.row_number().over(group_by='customer_id', "
               "order_by=ibis.desc('ts')))"),
    "case_cast": ("orders.mutate(size=ibis.cases((_.amount > 100, 'big'), else_='small'), "
                  "a=_.amount.cast('int32'))"),
    "multi_stmt": ("big = orders.filter(orders.amount >= 50)\n"
                   "per = big.group_by('customer_id').agg(m=_.amount.mean())\n"
                   "per.join(customers, 'customer_id').order_by('m')"),
}
PAIRS = {
    "filter": ("SELECT order_id FROM orders WHERE amount > 100",
               "orders.filter(orders.amount > 100).select('order_id')"),
    "group_having": (("SELECT status, SUM(amount) AS t FROM orders GROUP BY status"
                      " HAVING SUM(amount) > 500"),
                     "orders.group_by('status').agg(t=_.amount.sum()).filter(_.t > 500)"),
    "join_order": (("SELECT c.name, o.amount FROM orders o JOIN customers c "
                    "ON o.customer_id = c.customer_id ORDER BY o.amount DESC LIMIT 5"),
                   ("orders.join(customers, 'customer_id').select('name', 'amount')"
                    ".order_by(ibis.desc('amount')).limit(5)")),
}


def stats(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {"median_ms": round(statistics.median(ms), 3),
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 3),
            "min_ms": round(ms[0], 3), "n": len(ms)}


def timed(fn, reps: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--eq-reps", type=int, default=20)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "gate.json"))
    args = ap.parse_args()

    import ibis

    from ibert_lsp.schema.types import to_ibis_tables
    from ibert_lsp.validate.equivalence import check_sql_vs_ibis
    from ibert_lsp.validate.safe_eval import compile_sql, evaluate

    tables = to_ibis_tables(SCHEMAS)
    results: dict = {"python": platform.python_version(), "ibis": ibis.__version__,
                     "reps": args.reps, "load_avg": list(os.getloadavg()),
                     "cpus": os.cpu_count(), "expressions": {}, "equivalence": {}}
    print(f"{'expression':<14} {'gate med':>9} {'gate p95':>9} {'base med':>9} {'base p95':>9} "
          f"{'ratio':>6}")
    for name, code in EXPRESSIONS.items():
        def gate(code: str = code) -> str:
            return compile_sql(evaluate(code, SCHEMAS))

        def base(code: str = code) -> str:  # trusted: plain Python + Ibis, no checks
            env = {"ibis": ibis, "_": ibis._, **tables}
            *stmts, last = code.split("\n")
            for stmt in stmts:
                exec(stmt, env)  # noqa: S102 - benchmark baseline on our own constant code
            return ibis.to_sql(eval(last, env))

        assert gate() == base(), name
        g, b = stats(timed(gate, args.reps)), stats(timed(base, args.reps))
        ratio = round(g["median_ms"] / b["median_ms"], 3)
        results["expressions"][name] = {"gate": g, "baseline": b, "ratio": ratio}
        print(f"{name:<14} {g['median_ms']:>9.2f} {g['p95_ms']:>9.2f} {b['median_ms']:>9.2f} "
              f"{b['p95_ms']:>9.2f} {ratio:>6.2f}")

    print(f"\n{'pair':<14} {'check med':>10} {'check p95':>10} {'check min':>10} {'per seed':>9} "
          f"{'ok':>4}")
    for name, (sql, code) in PAIRS.items():
        verdicts: list = []

        def check(sql: str = sql, code: str = code, verdicts: list = verdicts) -> None:
            verdicts.append(check_sql_vs_ibis(sql, code, SCHEMAS))

        s = stats(timed(check, args.eq_reps))
        ok = all(v.ok for v in verdicts)
        per_seed = round(s["median_ms"] / 3, 3)
        results["equivalence"][name] = {**s, "per_seed_ms": per_seed, "ok": ok}
        print(f"{name:<14} {s['median_ms']:>10.2f} {s['p95_ms']:>10.2f} {s['min_ms']:>10.2f} "
              f"{per_seed:>9.2f} {ok!s:>4}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
