"""Inline-completion latency through the remote backend vs the local model, same requests.

    .venv/bin/python bench/remote_latency.py [--model DIR] [--n 30]

`--model` is an ibert model directory with a `merged/` copy (default: the installed default
model, else the micro recipe trained here in a few seconds). The bench starts
`transformers serve DIR/merged` on 127.0.0.1, then runs the inline-completion task the server
runs (`tasks.continuations.continuations`: FIM prompt, 3 candidates, 48 tokens, every candidate
through the gate) on the same cursor positions with (a) `HFGenerator` in this process — the
baseline — and (b) `RemoteGenerator` over HTTP, interleaved, request by request. Prints a table
(median, p95, ratio) and writes JSON to bench/results/remote_latency.json.

Note: `transformers serve` ignores `n` (one candidate per request), the local model returns up to
3 beams; the table shows the candidates each side produced.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOC = '''import ibis
from ibis import _

events = ibis.table({"user_id": "int64", "amount": "float64", "country": "string",
                     "kind": "string"}, name="events")
users = ibis.table({"user_id": "int64", "name": "string", "age": "int64"}, name="users")

'''
CURSORS = ["expr = events.", "expr = events.filter(events.amount > 10).",
           "expr = events.group_by('country').", "expr = users.filter(users.age > 30).",
           "expr = events.select(", "expr = events.filter(_.kind == 'a').select(",
           "expr = users.", "expr = events.mutate(total=_.amount * 2)."]


def pct(values: list[float], q: float) -> float | None:
    values = sorted(values)
    if not values:
        return None
    return values[min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))]


def model_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    from ibert_lsp.model.default import default_model_dir, is_installed

    if is_installed():
        return default_model_dir()
    from tests.test_model_support import micro_run

    print("[bench] no default model installed: training the micro recipe", flush=True)
    return micro_run()[0] / "model"


def serve(merged: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", ("import sys; from transformers.cli.transformers import main; "
                                "sys.argv[0] = 'transformers'; sys.exit(main())"), "serve",
         str(merged), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    end = time.monotonic() + 180
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("transformers serve did not start")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="ibert model directory (with merged/)")
    ap.add_argument("--n", type=int, default=30, help="requests per backend")
    args = ap.parse_args()
    from ibert_lsp.model.hf import HFGenerator
    from ibert_lsp.model.remote import RemoteGenerator
    from ibert_lsp.schema.sources import from_python_source
    from ibert_lsp.tasks.analysis import analyze
    from ibert_lsp.tasks.continuations import continuations

    mdir = model_dir(args.model)
    if not (mdir / "merged" / "config.json").exists():
        raise SystemExit(f"{mdir} has no merged/ model to serve")
    proc, port = serve(mdir / "merged")
    try:
        local = HFGenerator.load(mdir)
        remote = RemoteGenerator.load(f"openai+http://127.0.0.1:{port}/v1#{mdir / 'merged'}",
                                      require_reachable=True)
        docs = []
        for cur in CURSORS:
            code = DOC + cur
            schemas = from_python_source(code)
            an = analyze(code, schemas)
            line = code.count("\n")
            docs.append((code, line, len(code.split("\n")[-1]), schemas,
                         an.env_before(line)))
        for g in (local, remote):  # warm-up, not measured
            continuations(*docs[0][:4], g, env=docs[0][4], n=3, max_new_tokens=48)
        rows = {"local": [], "remote": []}
        cands = {"local": [], "remote": []}
        for i in range(args.n):
            code, line, ch, schemas, env = docs[i % len(docs)]
            for name, g in (("local", local), ("remote", remote)):
                if hasattr(g, "cache_clear"):
                    g.cache_clear()
                t0 = time.perf_counter()
                out = continuations(code, line, ch, schemas, g, env=env, n=3, max_new_tokens=48,
                                    deadline_s=5.0)
                rows[name].append((time.perf_counter() - t0) * 1000)
                cands[name].append(len(out))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    res = {}
    for name in rows:
        res[name] = {"median_ms": round(statistics.median(rows[name]), 1),
                     "p95_ms": round(pct(rows[name], 95), 1),
                     "mean_candidates": round(statistics.mean(cands[name]), 2)}
    ratio_med = res["remote"]["median_ms"] / res["local"]["median_ms"]
    ratio_p95 = res["remote"]["p95_ms"] / res["local"]["p95_ms"]
    print(f"\ninline completion (continuations: 3 candidates, 48 tokens, gate), n = {args.n}, "
          f"model {mdir}")
    print("| backend | median ms | p95 ms | candidates passing the gate (mean) |")
    print("|---|---|---|---|")
    for name in ("local", "remote"):
        r = res[name]
        print(f"| {name} | {r['median_ms']} | {r['p95_ms']} | {r['mean_candidates']} |")
    print(f"| ratio remote/local | {ratio_med:.2f} | {ratio_p95:.2f} | |")
    out = {"n": args.n, "model": str(mdir), "results": res,
           "ratio_median": round(ratio_med, 3), "ratio_p95": round(ratio_p95, 3),
           "remote_status": remote.status(), "machine": platform.platform(),
           "cpus": os.cpu_count(), "raw_ms": rows}
    path = ROOT / "bench" / "results" / "remote_latency.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(f"JSON: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
