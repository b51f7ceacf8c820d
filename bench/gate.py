"""Gate overhead: safe evaluation + compile vs plain Ibis + to_sql, and the equivalence check.
Then the isolation cost: the same gate in a worker process (what the CLI and the language server
run: interpretation in `python -m ibert_lsp.validate.worker` under hard limits, the expression
sent back as checked data) against the in-process gate, interleaved in the same run.
With --mutations N: the gate's sensitivity, i.e. how many subtly wrong Ibis programs (one
mutation of a correct datagen pair: > to >=, sum to mean, dropped distinct, inner to left
join, ...) it flags, over N template pairs.

Run: .venv/bin/python bench/gate.py [--reps 200] [--mutations 400]
(prints tables, writes bench/results/gate.json)
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


MUTATIONS = [
    ("gt_ge", r" > ", " >= "), ("ge_gt", r" >= ", " > "), ("lt_le", r" < ", " <= "),
    ("eq_ne", r" == ", " != "), ("sum_mean", r"\.sum\(\)", ".mean()"),
    ("mean_sum", r"\.mean\(\)", ".sum()"), ("drop_distinct", r"\.distinct\(\)", ""),
    ("desc_asc", r"ibis\.desc\(", "ibis.asc("), ("count_nunique", r"\.nunique\(\)", ".count()"),
    ("max_min", r"\.max\(\)", ".min()"), ("and_or", r" & ", " | "),
    ("inner_left", r"\.join\(", ".left_join("),
    ("limit_plus", r"\.limit\((\d+)\)", lambda m: f".limit({int(m.group(1)) + 1})"),
]


def mutation_sweep(n: int) -> dict:
    """Mutate correct datagen pairs once each; count how many the gate rejects."""
    import random
    import re
    import sys

    here = Path(__file__).resolve().parent  # bench/datagen.py would shadow the package
    sys.path[:] = [str(here.parent)] + [p for p in sys.path if Path(p or ".").resolve() != here]
    from datagen.templates import expand, load_domains, load_templates
    from ibert_lsp.validate.equivalence import check_sql_vs_ibis

    rng = random.Random(0)
    cands = expand(load_templates(), load_domains(), per_domain=1, seed=0)
    rng.shuffle(cands)
    per: dict[str, dict[str, int]] = {}
    originals_ok = 0
    for c in cands[:n]:
        originals_ok += check_sql_vs_ibis(c.sql, c.ibis, c.schemas).ok
        usable = [m for m in MUTATIONS if re.search(m[1], c.ibis)]
        if not usable:
            continue
        name, pattern, repl = rng.choice(usable)
        v = check_sql_vs_ibis(c.sql, re.sub(pattern, repl, c.ibis, count=1), c.schemas)
        row = per.setdefault(name, {"applied": 0, "caught": 0, "caught_as_mismatch": 0})
        row["applied"] += 1
        row["caught"] += not v.ok
        row["caught_as_mismatch"] += v.checks.get("kind") == "mismatch"
    applied = sum(r["applied"] for r in per.values())
    caught = sum(r["caught"] for r in per.values())
    return {"pairs": min(n, len(cands)), "originals_ok": originals_ok, "applied": applied,
            "caught": caught, "rate": round(caught / max(applied, 1), 4), "per_mutation": per}


def stats(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {"median_ms": round(statistics.median(ms), 3),
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 3),
            "min_ms": round(ms[0], 3), "n": len(ms)}


def timed(fn, reps: int) -> list[float]:
    return timed_pair(fn, None, reps)[0]


def timed_pair(fa, fb, reps: int) -> tuple[list[float], list[float]]:
    """Interleaved timings (a, b, a, b, ...) so load drift on a shared machine hits both."""
    fa()
    if fb is not None:
        fb()
    out_a: list[float] = []
    out_b: list[float] = []
    for _ in range(reps):
        for fn, out in ((fa, out_a), (fb, out_b)):
            if fn is None:
                continue
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return out_a, out_b


def isolation_cost(reps: int, eq_reps: int) -> dict:
    """Worker-process gate vs in-process gate, call for call (IPC and result transfer)."""
    from ibert_lsp.validate import isolation
    from ibert_lsp.validate.equivalence import check_sql_vs_ibis
    from ibert_lsp.validate.safe_eval import compile_sql, evaluate

    local_eval = evaluate.__wrapped_local__
    local_check = check_sql_vs_ibis.__wrapped_local__
    isolation.enable(workers=1)
    try:
        evaluate("orders", SCHEMAS)  # start the worker outside the timings
        out: dict = {"expressions": {}, "equivalence": {}}
        print(f"\n{'isolated':<14} {'proc med':>9} {'proc p95':>9} {'in-proc med':>11} "
              f"{'in-proc p95':>11} {'ratio':>6} {'+ms':>6}")
        rows = [(n, (lambda c=c: compile_sql(evaluate(c, SCHEMAS))),
                 (lambda c=c: compile_sql(local_eval(c, SCHEMAS))), reps)
                for n, c in EXPRESSIONS.items()]
        rows += [(f"eq:{n}", (lambda q=q, c=c: check_sql_vs_ibis(q, c, SCHEMAS)),
                  (lambda q=q, c=c: local_check(q, c, SCHEMAS)), eq_reps)
                 for n, (q, c) in PAIRS.items()]
        for name, iso, local, n in rows:
            assert iso() == local() if not name.startswith("eq:") else iso().ok, name
            ti, tl = timed_pair(iso, local, n)
            a, b = stats(ti), stats(tl)
            row = {"isolated": a, "in_process": b,
                   "ratio": round(a["median_ms"] / b["median_ms"], 3),
                   "added_median_ms": round(a["median_ms"] - b["median_ms"], 3)}
            out["equivalence" if name.startswith("eq:") else "expressions"][name] = row
            print(f"{name:<14} {a['median_ms']:>9.2f} {a['p95_ms']:>9.2f} {b['median_ms']:>11.2f} "
                  f"{b['p95_ms']:>11.2f} {row['ratio']:>6.2f} {row['added_median_ms']:>6.2f}")
        p95 = max(r["isolated"]["p95_ms"] for r in out["expressions"].values())
        out["worst_isolated_gate_p95_ms"] = p95
        print(f"worst isolated gate p95: {p95:.2f} ms (target <= 20 ms)")
        return out
    finally:
        isolation.disable()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--eq-reps", type=int, default=20)
    ap.add_argument("--mutations", type=int, default=0, help="pairs for the sensitivity sweep")
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
        tg, tb = timed_pair(gate, base, args.reps)
        g, b = stats(tg), stats(tb)
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

    results["isolation"] = isolation_cost(args.reps, args.eq_reps)

    if args.mutations:
        sweep = mutation_sweep(args.mutations)
        results["mutations"] = sweep
        print(f"\nmutation sweep: {sweep['caught']}/{sweep['applied']} wrong programs caught "
              f"({sweep['rate']:.1%}); originals verified {sweep['originals_ok']}/{sweep['pairs']}")
        for name, row in sorted(sweep["per_mutation"].items()):
            print(f"  {name:<14} {row['caught']:>3}/{row['applied']:<3}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
