"""How fast datagen validates: examples per second through the gate, per kind of check.

    .venv/bin/python bench/datagen.py [--pairs 300] [--records 150] [--workers N]

Measures (1) template pairs checked by execution (SQL vs Ibis on DuckDB), with 1 worker and with
all cores; (2) the per-record check of each task on records from data/generated (or
data/sample); and reports the last `ibert datagen all` wall time found in
data/generated/stats.json. Prints a table and writes bench/results/datagen.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datagen import gate, pipeline  # noqa: E402
from datagen.records import read_jsonl, write_json  # noqa: E402
from datagen.templates import expand, load_domains, load_templates  # noqa: E402


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def bench_pairs(n: int, workers: int) -> dict:
    cands = [dict(c.to_dict(), dialect="duckdb")
             for c in expand(load_templates(), load_domains(), per_domain=2, seed=123)]
    random.Random(0).shuffle(cands)
    cands = cands[:n]
    t0 = time.perf_counter()
    res = gate.run_parallel(pipeline._job_pair, cands, workers=workers, progress=False)
    dt = time.perf_counter() - t0
    ok = sum(1 for r in res if r[0])
    return {"check": f"pairs (execution), {workers} worker(s)", "n": len(cands), "ok": ok,
            "seconds": round(dt, 2), "per_s": _rate(len(cands), dt),
            "ms_per_item_per_worker": round(1000 * dt * workers / max(1, len(cands)), 1)}


def bench_records(path: Path, per_task: int, workers: int) -> list[dict]:
    recs = read_jsonl(path)
    by: dict[str, list] = {}
    for r in recs:
        by.setdefault(r["task"], []).append(r)
    rows = []
    rng = random.Random(0)
    for task in sorted(by):
        sample = by[task]
        rng.shuffle(sample)
        sample = sample[:per_task]
        t0 = time.perf_counter()
        res = gate.run_parallel(pipeline._job_check, sample, workers=workers, progress=False)
        dt = time.perf_counter() - t0
        rows.append({"check": f"record: {task}", "n": len(sample),
                     "ok": sum(1 for r in res if r[0]), "seconds": round(dt, 2),
                     "per_s": _rate(len(sample), dt),
                     "ms_per_item_per_worker": round(1000 * dt * workers / max(1, len(sample)), 1)})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--records", type=int, default=150, help="records per task")
    ap.add_argument("--workers", type=int, default=gate.default_workers())
    ap.add_argument("--data", default=None, help="JSONL to sample records from")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "datagen.json"))
    args = ap.parse_args(argv)

    rows = [bench_pairs(min(args.pairs, 80), 1), bench_pairs(args.pairs, args.workers)]
    data = Path(args.data) if args.data else None
    if data is None:
        for cand in (ROOT / "data" / "generated" / "train.jsonl",
                     ROOT / "data" / "sample" / "train.jsonl"):
            if cand.exists():
                data = cand
                break
    if data is not None:
        rows += bench_records(data, args.records, args.workers)
    stats_file = ROOT / "data" / "generated" / "stats.json"
    run_all = None
    if stats_file.exists():
        st = json.loads(stats_file.read_text())
        run_all = {"wall_s": st.get("run_all", {}).get("wall_s"),
                   "timings": st.get("run_all", {}).get("timings"),
                   "records": st.get("total"), "task": st.get("task")}
    print(f"{'check':<46} {'n':>6} {'ok':>6} {'sec':>8} {'per s':>8} {'ms/item/worker':>15}")
    for r in rows:
        print(f"{r['check']:<46} {r['n']:>6} {r['ok']:>6} {r['seconds']:>8} {r['per_s']:>8} "
              f"{r['ms_per_item_per_worker']:>15}")
    if run_all and run_all.get("wall_s"):
        print(f"\nlast `ibert datagen all`: {run_all['wall_s']} s for {run_all['records']} records "
              f"(steps: {run_all['timings']})")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    result = {"rows": rows, "workers": args.workers, "cpus": os.cpu_count(),
              "load_avg": load, "python": platform.python_version(), "data": str(data),
              "generate_all": run_all, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write_json(args.out, result)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
